//! The API server's writes: `create`, `apply`, `update` and `update_status`.
//!
//! Every write validates the request as written, computes the object to store (see
//! [`crate::merge`]), validates that too (an update also against what it replaces: a Pod's
//! spec is immutable but for images), and stores it with create-if-absent or a
//! compare-and-swap on the key's mod revision; a failure at any step stores nothing. A
//! namespaced object can only be created in a Namespace that exists and is not being deleted;
//! `default` is created on first use. A write whose result equals the stored object writes
//! nothing (the revision stays).

use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::validate::validate_update;
use podnet_model::{
    resource_version, set_resource_version, validate, FieldError, FieldErrorKind, Kind, Namespace,
    NamespacePhase, Object, ObjectKey, ValidationErrors,
};
use podnet_store::Datastore;

use crate::alloc::Claims;
use crate::api::{decode, not_found, Api};
use crate::error::ApiError;
use crate::merge::{
    has_status, merge, prepare_create, set_generation, with_status_of, without_version,
};
use crate::stored::encode;

/// How often `apply` re-reads and retries when the object changes under it.
const APPLY_ATTEMPTS: usize = 5;
/// How often `update_status` re-reads and retries (controllers race with each other).
const STATUS_ATTEMPTS: usize = 10;

/// What [`Api::apply`] did, as kubectl reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The object did not exist and was created.
    Created,
    /// The object existed and was changed.
    Configured,
    /// The object already was what the manifest says; nothing was written.
    Unchanged,
}

impl Applied {
    /// kubectl's word for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Applied::Created => "created",
            Applied::Configured => "configured",
            Applied::Unchanged => "unchanged",
        }
    }
}

impl<D: Datastore> Api<D> {
    /// Creates an object; [`ApiError::AlreadyExists`] if its key is taken. The server's fields
    /// (uid, creationTimestamp, generation, status) are set whatever the object says.
    pub async fn create(&self, object: Object) -> Result<Object, ApiError> {
        let key = request_key(&object)?;
        self.try_create(&key, object)
            .await?
            .ok_or_else(|| ApiError::AlreadyExists {
                kind: key.kind,
                name: key.name.clone(),
            })
    }

    /// `kubectl apply`, simplified: creates the object, or replaces the stored labels,
    /// annotations and spec with the manifest's (keeping status, uid, creationTimestamp), or
    /// does nothing when that changes nothing. The manifest's `resourceVersion` is ignored; a
    /// concurrent change is retried on the new version.
    pub async fn apply(&self, manifest: Object) -> Result<(Applied, Object), ApiError> {
        let key = request_key(&manifest)?;
        let k = key.to_string();
        for _ in 0..APPLY_ATTEMPTS {
            let Some(kv) = self.store.get(&k).await? else {
                match self.try_create(&key, manifest.clone()).await? {
                    Some(object) => return Ok((Applied::Created, object)),
                    None => continue,
                }
            };
            let stored = decode(&kv)?;
            let mut merged = merge(&stored, manifest.clone(), &mut || self.new_uid());
            let claims = self.allocate_for(&key, Some(&stored), &mut merged).await?;
            if merged == without_version(&stored) {
                self.release(&claims.made).await;
                return Ok((Applied::Unchanged, stored));
            }
            let stored_rev = self
                .store_checked(&k, &stored, &merged, kv.mod_revision, kv.lease, &claims)
                .await?;
            if let Some(rev) = stored_rev {
                return Ok((Applied::Configured, versioned(merged, rev)));
            }
        }
        Err(conflict(&key))
    }

    /// Replaces the stored labels, annotations and spec with the object's, if the object's
    /// `metadata.resourceVersion` (required) is still the stored one; otherwise
    /// [`ApiError::Conflict`]. Status, uid and creationTimestamp are kept.
    pub async fn update(&self, object: Object) -> Result<Object, ApiError> {
        let key = request_key(&object)?;
        let expected = required_version(&object)?;
        let k = key.to_string();
        let kv = self.store.get(&k).await?.ok_or_else(|| not_found(&key))?;
        if kv.mod_revision != expected {
            return Err(conflict(&key));
        }
        let stored = decode(&kv)?;
        let mut merged = merge(&stored, object, &mut || self.new_uid());
        let claims = self.allocate_for(&key, Some(&stored), &mut merged).await?;
        if merged == without_version(&stored) {
            self.release(&claims.made).await;
            return Ok(stored);
        }
        let rev = self
            .store_checked(&k, &stored, &merged, expected, kv.lease, &claims)
            .await?
            .ok_or_else(|| conflict(&key))?;
        Ok(versioned(merged, rev))
    }

    /// Changes an object's status (Namespaces and Pods), for controllers: reads the object,
    /// lets `change` edit a copy, stores the copy's status with a compare-and-swap, and on a
    /// concurrent change reads again and calls `change` again. Edits outside the status are
    /// ignored. A status that does not change writes nothing.
    pub async fn update_status<F>(&self, key: &ObjectKey, mut change: F) -> Result<Object, ApiError>
    where
        F: FnMut(&mut Object) + Send,
    {
        let k = key.to_string();
        for _ in 0..STATUS_ATTEMPTS {
            let kv = self.store.get(&k).await?.ok_or_else(|| not_found(key))?;
            let stored = decode(&kv)?;
            if !has_status(&stored) {
                return Err(ApiError::NoStatus { kind: key.kind });
            }
            let mut changed = stored.clone();
            change(&mut changed);
            let current = without_version(&stored);
            let updated = with_status_of(&current, &changed);
            if updated == current {
                return Ok(stored);
            }
            check(&updated)?;
            if let Some(rev) = self
                .store
                .compare_and_swap(&k, kv.mod_revision, &encode(&updated), kv.lease)
                .await?
            {
                return Ok(versioned(updated, rev));
            }
        }
        Err(conflict(key))
    }

    /// Stores a new object at `key` unless the key exists (`Ok(None)`).
    async fn try_create(
        &self,
        key: &ObjectKey,
        mut object: Object,
    ) -> Result<Option<Object>, ApiError> {
        prepare_create(&mut object, &self.now(), &mut || self.new_uid());
        check(&object)?;
        if let Some(namespace) = &key.namespace {
            self.require_namespace(namespace, key).await?;
        }
        let claims = self.allocate_for(key, None, &mut object).await?;
        let rev = match self
            .store
            .create(&key.to_string(), &encode(&object), None)
            .await
        {
            Ok(Some(rev)) => rev,
            Ok(None) => {
                self.release(&claims.made).await;
                return Ok(None);
            }
            Err(e) => {
                self.release(&claims.made).await;
                return Err(e.into());
            }
        };
        Ok(Some(versioned(object, rev)))
    }

    /// A Service's allocations (see [`crate::alloc`]); nothing for other kinds.
    async fn allocate_for(
        &self,
        key: &ObjectKey,
        stored: Option<&Object>,
        object: &mut Object,
    ) -> Result<Claims, ApiError> {
        let Object::Service(svc) = object else {
            return Ok(Claims::default());
        };
        let stored_svc = match stored {
            Some(Object::Service(s)) => Some(s),
            _ => None,
        };
        let namespace = key.namespace.as_deref().unwrap_or(DEFAULT_NAMESPACE);
        let claims = self.allocate(namespace, stored_svc, svc).await?;
        if let Some(stored) = stored {
            set_generation(stored, object);
        }
        Ok(claims)
    }

    /// Validates the update and swaps it in at `expected`: `Ok(None)` when the key changed
    /// meanwhile. The claims the update made are released unless it is stored; those it gave
    /// up are released once it is.
    async fn store_checked(
        &self,
        k: &str,
        stored: &Object,
        merged: &Object,
        expected: i64,
        lease: Option<podnet_store::LeaseId>,
        claims: &Claims,
    ) -> Result<Option<i64>, ApiError> {
        let result = match check_update(stored, merged) {
            Ok(()) => self
                .store
                .compare_and_swap(k, expected, &encode(merged), lease)
                .await
                .map_err(ApiError::from),
            Err(e) => Err(e),
        };
        match &result {
            Ok(Some(_)) => self.release(&claims.released).await,
            _ => self.release(&claims.made).await,
        }
        result
    }

    /// Checks that `namespace` can take new objects, creating `default` if it is missing.
    async fn require_namespace(&self, namespace: &str, key: &ObjectKey) -> Result<(), ApiError> {
        let ns_key =
            ObjectKey::new(Kind::Namespace, None, namespace).map_err(ApiError::BadRequest)?;
        let k = ns_key.to_string();
        match self.store.get(&k).await? {
            Some(kv) => match decode(&kv) {
                Ok(Object::Namespace(ns)) if is_terminating(&ns) => {
                    Err(ApiError::NamespaceTerminating {
                        kind: key.kind,
                        name: key.name.clone(),
                        namespace: namespace.to_owned(),
                    })
                }
                // A namespace whose stored value is unreadable still exists.
                _ => Ok(()),
            },
            None if namespace == DEFAULT_NAMESPACE => {
                let mut ns = Object::Namespace(Namespace::new(namespace));
                prepare_create(&mut ns, &self.now(), &mut || self.new_uid());
                // Someone else creating it at the same time is just as good.
                self.store.create(&k, &encode(&ns), None).await?;
                Ok(())
            }
            None => Err(not_found(&ns_key)),
        }
    }
}

/// Whether a Namespace is being deleted.
pub(crate) fn is_terminating(ns: &Namespace) -> bool {
    ns.metadata.deletion_timestamp.is_some()
        || ns
            .status
            .as_ref()
            .and_then(|s| s.phase.as_ref())
            .is_some_and(|p| *p == NamespacePhase::Terminating)
}

/// Validates the request as written, then names its key (a namespaced object without a
/// namespace is in `default`).
fn request_key(object: &Object) -> Result<ObjectKey, ApiError> {
    check(object)?;
    let kind = object.kind();
    let namespace = kind
        .namespaced()
        .then(|| object.namespace().unwrap_or(DEFAULT_NAMESPACE));
    ObjectKey::new(kind, namespace, object.name()).map_err(ApiError::BadRequest)
}

fn check(object: &Object) -> Result<(), ApiError> {
    validate(object).map_err(|errors| invalid(object, errors))
}

/// The create rules on the result, then what an update may not change
/// ([`validate_update`]: a Pod's spec).
fn check_update(stored: &Object, merged: &Object) -> Result<(), ApiError> {
    check(merged)?;
    validate_update(stored, merged).map_err(|errors| invalid(merged, errors))
}

fn invalid(object: &Object, errors: ValidationErrors) -> ApiError {
    ApiError::Invalid {
        kind: object.kind(),
        name: object.name().to_owned(),
        errors,
    }
}

/// The `resourceVersion` an update must carry.
fn required_version(object: &Object) -> Result<i64, ApiError> {
    let text = object.meta().resource_version.clone().unwrap_or_default();
    let detail = match resource_version(object) {
        Ok(Some(rev)) => return Ok(rev),
        Ok(None) => "must be specified for an update",
        Err(_) => "must be a store revision (a positive decimal integer)",
    };
    let error = FieldError {
        path: "metadata.resourceVersion".into(),
        kind: FieldErrorKind::Invalid,
        message: format!("Invalid value: {text:?}: {detail}"),
    };
    Err(invalid(object, ValidationErrors(vec![error])))
}

fn conflict(key: &ObjectKey) -> ApiError {
    ApiError::Conflict {
        kind: key.kind,
        name: key.name.clone(),
    }
}

fn versioned(mut object: Object, revision: i64) -> Object {
    set_resource_version(&mut object, revision);
    object
}
