//! [`Api`]: the API server's requests over a [`Datastore`], and its read side (`get`, `list`).
//! The writes are in [`crate::write`] and [`crate::delete`].
//!
//! The clock (for `creationTimestamp`) and the uid source are injected, so tests are
//! deterministic; [`Api::new`] uses the system clock and the kernel's random UUIDs.

use std::sync::Arc;

use ipnet::Ipv4Net;
use podnet_model::allocation::DEFAULT_SERVICE_CIDR;
use podnet_model::{kind_prefix, namespace_prefix, Kind, Object, ObjectKey};
use podnet_store::{Clock, Datastore, KeyValue, Revision, SystemClock};

use crate::error::ApiError;
use crate::stored::{self, StoredError};
use crate::time::format_rfc3339;

/// The API server over one datastore. Cheap to clone.
#[derive(Clone)]
pub struct Api<D: Datastore> {
    pub(crate) store: D,
    /// Where Services' cluster IPs come from ([`podnet_model::allocation::DEFAULT_SERVICE_CIDR`]
    /// unless [`Api::with_service_cidr`]).
    pub(crate) service_cidr: Ipv4Net,
    /// Deleting a Pod only marks it (see [`Api::with_graceful_pod_deletion`]).
    pub(crate) graceful_pods: bool,
    clock: Arc<dyn Clock>,
    uids: Arc<dyn Fn() -> String + Send + Sync>,
}

/// What [`Api::list`] returns: the valid objects in key order (namespace, then name), the
/// store's revision at the time of the read (a watch from it misses nothing), and the keys
/// whose values were skipped because they are not valid objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectList {
    pub items: Vec<Object>,
    pub revision: Revision,
    pub invalid: Vec<InvalidEntry>,
}

/// A stored key [`Api::list`] skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEntry {
    pub key: String,
    pub reason: String,
}

impl<D: Datastore> Api<D> {
    /// The API server over `store`, with the system clock and kernel UUIDs.
    pub fn new(store: D) -> Self {
        Api {
            store,
            service_cidr: default_service_cidr(),
            graceful_pods: false,
            clock: Arc::new(SystemClock),
            uids: Arc::new(crate::uid::new_uid),
        }
    }

    /// Uses `clock` for `creationTimestamp` (and deletion timestamps).
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Allocates Services' cluster IPs from `cidr`.
    pub fn with_service_cidr(mut self, cidr: Ipv4Net) -> Self {
        self.service_cidr = cidr;
        self
    }

    /// Deletes Pods as the API server does for a kubelet: `delete` only sets the Pod's
    /// `deletionTimestamp` (it turns `terminating` in its EndpointSlices), and the kubelet,
    /// once the Pod is out of service, removes it with [`Api::delete_now`].
    pub fn with_graceful_pod_deletion(mut self) -> Self {
        self.graceful_pods = true;
        self
    }

    /// The Service CIDR cluster IPs come from.
    pub fn service_cidr(&self) -> Ipv4Net {
        self.service_cidr
    }

    /// Uses `uids` for new objects' `metadata.uid`.
    pub fn with_uids(mut self, uids: impl Fn() -> String + Send + Sync + 'static) -> Self {
        self.uids = Arc::new(uids);
        self
    }

    /// The datastore underneath.
    pub fn store(&self) -> &D {
        &self.store
    }

    /// Now, as RFC 3339 (whole seconds, as the API server writes timestamps).
    pub(crate) fn now(&self) -> String {
        format_rfc3339(self.clock.now_ms().div_euclid(1000))
    }

    pub(crate) fn new_uid(&self) -> String {
        (self.uids)()
    }

    /// One object, with its `resourceVersion`.
    pub async fn get(&self, key: &ObjectKey) -> Result<Object, ApiError> {
        let kv = self.store.get(&key.to_string()).await?;
        let kv = kv.ok_or_else(|| not_found(key))?;
        decode(&kv)
    }

    /// Every object of `kind`, in `namespace` or in all of them (`None`; cluster-scoped kinds
    /// ignore it). Stored values that are not valid objects are skipped and listed in
    /// [`ObjectList::invalid`].
    pub async fn list(&self, kind: Kind, namespace: Option<&str>) -> Result<ObjectList, ApiError> {
        let prefix = match namespace {
            Some(ns) if kind.namespaced() => {
                namespace_prefix(kind, ns).map_err(ApiError::BadRequest)?
            }
            _ => kind_prefix(kind),
        };
        let (mut kvs, revision) = self.store.list(&prefix).await?;
        kvs.sort_by(|a, b| a.key.cmp(&b.key));
        let mut list = ObjectList {
            items: Vec::with_capacity(kvs.len()),
            revision,
            invalid: Vec::new(),
        };
        for kv in &kvs {
            match stored::decode(kv) {
                Ok((_, object)) => list.items.push(object),
                Err(e) => list.invalid.push(InvalidEntry {
                    key: kv.key.clone(),
                    reason: e.to_string(),
                }),
            }
        }
        Ok(list)
    }
}

fn default_service_cidr() -> Ipv4Net {
    DEFAULT_SERVICE_CIDR.parse().unwrap_or(Ipv4Net::new_assert(
        std::net::Ipv4Addr::new(10, 96, 0, 0),
        12,
    ))
}

pub(crate) fn not_found(key: &ObjectKey) -> ApiError {
    ApiError::NotFound {
        kind: key.kind,
        name: key.name.clone(),
    }
}

/// A stored value as an object, or [`ApiError::Corrupt`].
pub(crate) fn decode(kv: &KeyValue) -> Result<Object, ApiError> {
    stored::decode(kv)
        .map(|(_, object)| object)
        .map_err(|e: StoredError| ApiError::Corrupt {
            key: kv.key.clone(),
            reason: e.to_string(),
        })
}
