//! Graceful pod deletion, as a kubelet and kube-proxy together make it: `lab delete` only marks
//! a Pod (`deletionTimestamp`, [`Api::with_graceful_pod_deletion`]), so its endpoints turn
//! `terminating` and leave every Service's rotation; the kubelet waits until the endpoints
//! controller has written that and every node's proxy has programmed it (each agent's
//! `status.json` `controllers.proxy.revision` at or past the slices' revision), and only then
//! stops the pod and deletes its object. Connections never go to a pod that is already gone,
//! and those already open finish on a pod that still runs. The wait is capped
//! ([`DRAIN_TIMEOUT`]): a lab whose controllers are down still deletes its pods.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use anyhow::Result;
use podnet_api::Api;
use podnet_model::{resource_version, Kind, Object, Pod};
use podnet_store::Datastore;

use crate::state::LabState;

/// The longest a deleted pod waits for the Services to let it go.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

/// Whether the stored slices still route to `ip` (list it as ready); and the highest
/// revision among the slices that list it at all.
async fn routed<D: Datastore>(api: &Api<D>, ip: Ipv4Addr) -> Result<(bool, i64)> {
    let list = api.list(Kind::EndpointSlice, None).await?;
    let (mut ready, mut revision) = (false, 0);
    for o in &list.items {
        let Object::EndpointSlice(s) = o else {
            continue;
        };
        for e in &s.endpoints {
            if e.addresses.first().and_then(|a| a.parse::<Ipv4Addr>().ok()) == Some(ip) {
                ready |= e.conditions.is_ready();
                revision = revision.max(resource_version(o).ok().flatten().unwrap_or(0));
            }
        }
    }
    Ok((ready, revision))
}

/// The lowest revision every node's proxy has programmed (0 when one has not said yet).
fn proxies_at(st: &LabState) -> i64 {
    st.nodes
        .iter()
        .map(|n| {
            let path = LabState::dir(&st.name)
                .join(&n.name)
                .join("agent")
                .join("status.json");
            std::fs::read_to_string(path)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["controllers"]["proxy"]["revision"].as_i64())
                .unwrap_or(0)
        })
        .min()
        .unwrap_or(0)
}

/// Waits until no Service sends new connections to `pod` (see the module doc). `Ok(false)`
/// when the wait timed out.
pub async fn drain<D: Datastore>(api: &Api<D>, st: &LabState, pod: &Pod) -> Result<bool> {
    let Some(ip) = pod.ips().first().and_then(|a| a.parse::<Ipv4Addr>().ok()) else {
        return Ok(true);
    };
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let (ready, revision) = routed(api, ip).await?;
        if !ready && (revision == 0 || proxies_at(st) >= revision) {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(POLL).await;
    }
}
