//! `delete` (a Service's cluster IP and node ports are released with it), and the namespace
//! cascade Kubernetes' namespace controller performs.
//!
//! Deleting a Namespace first marks it `Terminating` (with a `deletionTimestamp`), so creates
//! in it are refused from then on; then deletes every namespaced object in it, whatever its
//! kind and whether or not its stored value is valid; then the Namespace itself. If a step
//! fails the Namespace stays `Terminating`, and deleting it again finishes the job. Unlike the
//! API server the cascade is synchronous: when `delete` returns, the objects are gone.

use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::{
    namespace_prefix, parse_object_key, Kind, NamespacePhase, NamespaceStatus, Object, ObjectKey,
};
use podnet_store::Datastore;

use crate::alloc::claim_keys;
use crate::api::{not_found, Api};
use crate::error::ApiError;
use crate::stored::{self, encode};
use crate::write::is_terminating;
use podnet_model::allocation::holder;

/// How often marking a Namespace `Terminating` is retried when it changes under us.
const MARK_ATTEMPTS: usize = 5;

/// One deleted key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deleted {
    pub key: ObjectKey,
    /// The object as it was stored; `None` when the stored value was not a valid object.
    pub object: Option<Object>,
}

/// What [`Api::delete`] removed: the object asked for, and what went with it (the objects of
/// a deleted Namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub deleted: Deleted,
    pub cascaded: Vec<Deleted>,
}

impl<D: Datastore> Api<D> {
    /// Deletes one object; [`ApiError::NotFound`] if it is not there. A Namespace takes every
    /// object in it along (see the module doc); `default` may not be deleted. With
    /// [`Api::with_graceful_pod_deletion`] a Pod is only marked (`deletionTimestamp`) and stays
    /// until [`Api::delete_now`].
    pub async fn delete(&self, key: &ObjectKey) -> Result<Deletion, ApiError> {
        if self.graceful_pods && key.kind == Kind::Pod {
            // An unreadable value cannot be marked: it goes at once.
            let Some(object) = self.mark_pod_deleting(key).await? else {
                return self.delete_now(key).await;
            };
            return Ok(Deletion {
                deleted: Deleted {
                    key: key.clone(),
                    object: Some(object),
                },
                cascaded: Vec::new(),
            });
        }
        self.delete_now(key).await
    }

    /// Sets a Pod's `deletionTimestamp` (once: a second delete keeps the first time); `None`
    /// when the stored value is not a valid object.
    async fn mark_pod_deleting(&self, key: &ObjectKey) -> Result<Option<Object>, ApiError> {
        let k = key.to_string();
        for _ in 0..MARK_ATTEMPTS {
            let kv = self.store.get(&k).await?.ok_or_else(|| not_found(key))?;
            let Ok((_, mut object)) = stored::decode(&kv) else {
                return Ok(None);
            };
            if object.meta().deletion_timestamp.is_some() {
                return Ok(Some(object));
            }
            object.meta_mut().deletion_timestamp = Some(self.now());
            if self
                .store
                .compare_and_swap(&k, kv.mod_revision, &encode(&object), kv.lease)
                .await?
                .is_some()
            {
                return Ok(Some(object));
            }
        }
        Err(ApiError::Conflict {
            kind: key.kind,
            name: key.name.clone(),
        })
    }

    /// Deletes one object now, whatever its kind (the kubelet's final delete of a Pod).
    pub async fn delete_now(&self, key: &ObjectKey) -> Result<Deletion, ApiError> {
        if key.kind == Kind::Namespace && key.name == DEFAULT_NAMESPACE {
            return Err(ApiError::UndeletableNamespace {
                name: key.name.clone(),
            });
        }
        let k = key.to_string();
        let kv = self.store.get(&k).await?.ok_or_else(|| not_found(key))?;
        let object = stored::decode(&kv).ok().map(|(_, o)| o);
        let mut cascaded = Vec::new();
        if key.kind == Kind::Namespace {
            self.mark_terminating(key).await?;
            for kind in Kind::ALL.into_iter().filter(|k| k.namespaced()) {
                let prefix = namespace_prefix(kind, &key.name).map_err(ApiError::BadRequest)?;
                let (kvs, _) = self.store.list(&prefix).await?;
                for kv in kvs {
                    let object = stored::decode(&kv).ok().map(|(_, o)| o);
                    // Keys under the prefix that are not object keys go too: nothing else
                    // could ever remove them, and a later namespace of this name must not
                    // inherit them.
                    let gone = self.store.delete(&kv.key).await?;
                    if let (true, Some(key)) = (gone, parse_object_key(&kv.key)) {
                        self.release_object(&key, object.as_ref()).await;
                        cascaded.push(Deleted { key, object });
                    }
                }
            }
        }
        if !self.store.delete(&k).await? {
            return Err(not_found(key));
        }
        self.release_object(key, object.as_ref()).await;
        Ok(Deletion {
            deleted: Deleted {
                key: key.clone(),
                object,
            },
            cascaded,
        })
    }

    /// Releases what a deleted Service held (its cluster IP and node ports), where the claim
    /// is still its own.
    async fn release_object(&self, key: &ObjectKey, object: Option<&Object>) {
        let Some(Object::Service(svc)) = object else {
            return;
        };
        let who = holder(key.namespace.as_deref().unwrap_or_default(), &key.name);
        for claim in claim_keys(svc) {
            if let Ok(Some(kv)) = self.store.get(&claim).await {
                if kv.value == who {
                    let _ = self.store.delete(&claim).await;
                }
            }
        }
    }

    /// Sets `deletionTimestamp` and phase `Terminating` on a Namespace (skipped when its stored
    /// value is unreadable: it is deleted all the same).
    async fn mark_terminating(&self, key: &ObjectKey) -> Result<(), ApiError> {
        let k = key.to_string();
        for _ in 0..MARK_ATTEMPTS {
            let kv = self.store.get(&k).await?.ok_or_else(|| not_found(key))?;
            let Ok((_, Object::Namespace(mut ns))) = stored::decode(&kv) else {
                return Ok(());
            };
            if is_terminating(&ns) {
                return Ok(());
            }
            ns.metadata.deletion_timestamp = Some(self.now());
            ns.status = Some(NamespaceStatus {
                phase: Some(NamespacePhase::Terminating),
            });
            let value = encode(&Object::Namespace(ns));
            if self
                .store
                .compare_and_swap(&k, kv.mod_revision, &value, kv.lease)
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        Err(ApiError::Conflict {
            kind: key.kind,
            name: key.name.clone(),
        })
    }
}
