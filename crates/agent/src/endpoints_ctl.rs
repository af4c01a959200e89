//! The endpoints controller: computes every Service's EndpointSlices from the Pods
//! ([`podnet_proxy::endpoints`]) and writes the difference — in exactly one agent at a time,
//! as Kubernetes runs it in one controller manager. The agents elect it through a leader key
//! ([`LEADER_KEY`]) attached to a datastore lease of the agent's lease TTL: the holder keeps
//! the lease alive every third of the TTL; when it dies the key expires with the lease and the
//! other agents, watching the key, race to create it (create-if-absent decides), so slices keep
//! being updated within one TTL. A leader that fails to renew steps down before writing again.

use std::collections::BTreeMap;
use std::time::Duration;

use podnet_api::Api;
use podnet_model::{kind_prefix, EndpointSlice, Kind, Object, ObjectKey};
use podnet_proxy::endpoints::{slices_for, MANAGED_BY, MANAGED_BY_LABEL};
use podnet_store::Datastore;
use serde::Serialize;
use tracing::{info, warn};

use crate::informer::Informer;
use crate::objects::Decoded;
use crate::proxy_ctl::informer_changed;
use crate::services::Shared;

/// The key whose holder runs the endpoints controller; its value is the node's name.
pub const LEADER_KEY: &str = "/podnet/leaders/endpoints";
const LEADERS_PREFIX: &str = "/podnet/leaders/";

/// The endpoints controller's part of `status.json`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointsStatus {
    /// Whether this agent holds the leader key now.
    pub leader: bool,
    /// Times this agent became the leader.
    pub elected: u64,
    /// Passes over every Service, and slices written / deleted by them.
    pub passes: u64,
    pub writes: u64,
    pub deletes: u64,
    pub failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Runs the controller (campaigning, then leading) until the future is dropped.
pub async fn run<D: Datastore>(node: String, store: D, ttl: Duration, shared: Shared) {
    let mut leaders = Informer::new(store.clone(), LEADERS_PREFIX);
    loop {
        match campaign(&node, &store, ttl).await {
            Ok(Some(lease)) => {
                info!(node = %node, "elected to run the endpoints controller");
                {
                    let mut st = shared.lock();
                    st.endpoints.leader = true;
                    st.endpoints.elected += 1;
                }
                shared.changed();
                let why = lead(&store, lease, ttl, &shared).await;
                warn!("stepped down from the endpoints controller: {why}");
                shared.lock().endpoints.leader = false;
                shared.changed();
            }
            Ok(None) => {}
            Err(e) => warn!("endpoints leader election: {e}"),
        }
        // Wait for the key to change hands (or a third of the TTL, in case a watch missed it).
        let _ = tokio::time::timeout(ttl / 3, async {
            loop {
                if informer_changed(leaders.next().await, "the leader key").await {
                    return;
                }
            }
        })
        .await;
    }
}

/// Tries to take the leader key: the lease it is attached to, or `None` when another holds it.
async fn campaign<D: Datastore>(
    node: &str,
    store: &D,
    ttl: Duration,
) -> Result<Option<podnet_store::LeaseId>, podnet_store::StoreError> {
    if store.get(LEADER_KEY).await?.is_some() {
        return Ok(None);
    }
    let lease = store.grant(ttl).await?;
    if store.create(LEADER_KEY, node, Some(lease)).await?.is_some() {
        return Ok(Some(lease));
    }
    let _ = store.revoke(lease).await;
    Ok(None)
}

/// The content that makes two slices the same, whatever the server's metadata says.
fn same(a: &EndpointSlice, b: &EndpointSlice) -> bool {
    a.metadata.labels == b.metadata.labels
        && a.address_type == b.address_type
        && a.endpoints == b.endpoints
        && a.ports == b.ports
}

/// Leads until the lease cannot be renewed; returns why.
async fn lead<D: Datastore>(
    store: &D,
    lease: podnet_store::LeaseId,
    ttl: Duration,
    shared: &Shared,
) -> String {
    let api = Api::new(store.clone());
    let mut pods = Informer::new(store.clone(), &kind_prefix(Kind::Pod));
    let mut services = Informer::new(store.clone(), &kind_prefix(Kind::Service));
    let mut slices = Informer::new(store.clone(), &kind_prefix(Kind::EndpointSlice));
    let (mut pod_objs, mut svc_objs, mut slice_objs) =
        (Decoded::default(), Decoded::default(), Decoded::default());
    let mut renew_at = tokio::time::Instant::now() + ttl / 3;
    let mut dirty = true;
    loop {
        if dirty && pods.synced() && services.synced() && slices.synced() {
            pod_objs.refresh(&pods);
            svc_objs.refresh(&services);
            slice_objs.refresh(&slices);
            let result = reconcile(&api, &pod_objs, &svc_objs, &slice_objs).await;
            let mut st = shared.lock();
            st.endpoints.passes += 1;
            match result {
                Ok((writes, deletes)) => {
                    st.endpoints.writes += writes;
                    st.endpoints.deletes += deletes;
                    st.endpoints.last_error = None;
                    dirty = false;
                }
                Err(e) => {
                    st.endpoints.failures += 1;
                    st.endpoints.last_error = Some(e.clone());
                    warn!("endpoints controller pass failed: {e}; retrying");
                }
            }
            drop(st);
            shared.changed();
        }
        if tokio::time::Instant::now() >= renew_at {
            if let Err(e) = store.keep_alive(lease).await {
                return format!("renewing the leader lease failed: {e}");
            }
            renew_at = tokio::time::Instant::now() + ttl / 3;
        }
        let retry = if dirty {
            tokio::time::Instant::now() + Duration::from_millis(500)
        } else {
            renew_at
        };
        tokio::select! {
            _ = tokio::time::sleep_until(renew_at.min(retry)) => {}
            r = pods.next() => dirty |= informer_changed(r, "Pods").await,
            r = services.next() => dirty |= informer_changed(r, "Services").await,
            r = slices.next() => dirty |= informer_changed(r, "EndpointSlices").await,
        }
    }
}

/// One pass: every Service's slices as they should be, against the stored ones this
/// controller manages. Returns (slices written, slices deleted).
async fn reconcile<D: Datastore>(
    api: &Api<D>,
    pods: &Decoded,
    services: &Decoded,
    slices: &Decoded,
) -> Result<(u64, u64), String> {
    let pods: Vec<_> = pods
        .iter()
        .filter_map(|o| match o {
            Object::Pod(p) => Some(p),
            _ => None,
        })
        .collect();
    let mut stored: BTreeMap<(String, String), &EndpointSlice> = slices
        .iter()
        .filter_map(|o| match o {
            Object::EndpointSlice(s)
                if s.metadata.labels.get(MANAGED_BY_LABEL).map(String::as_str)
                    == Some(MANAGED_BY) =>
            {
                let ns = s.metadata.namespace.clone().unwrap_or_default();
                Some(((ns, s.metadata.name.clone()), s))
            }
            _ => None,
        })
        .collect();
    let (mut writes, mut deletes) = (0, 0);
    for o in services.iter() {
        let Object::Service(svc) = o else { continue };
        for want in slices_for(svc, pods.iter().copied()) {
            let ns = want.metadata.namespace.clone().unwrap_or_default();
            let had = stored.remove(&(ns, want.metadata.name.clone()));
            if had.is_some_and(|h| same(h, &want)) {
                continue;
            }
            api.apply(Object::EndpointSlice(want))
                .await
                .map_err(|e| e.to_string())?;
            writes += 1;
        }
    }
    for (ns, name) in stored.into_keys() {
        // A slice of a deleted Service, or one a Service no longer needs.
        let key =
            ObjectKey::new(Kind::EndpointSlice, Some(&ns), &name).map_err(|e| e.to_string())?;
        match api.delete(&key).await {
            Ok(_) => deletes += 1,
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok((writes, deletes))
}
