//! The proxy controller: Services and EndpointSlices (two informers) to the node's
//! `ip podnet_proxy` table ([`podnet_proxy`] compiles it). The first pass after start installs
//! the whole table over what the kernel has, in one transaction (after a failed transaction:
//! deletes and rebuilds it); every later change sends only the difference
//! from the table last applied ([`podnet_nft::diff::update`]: one Service or endpoint change
//! is a handful of commands); once per resync period the whole table is sent again without
//! deleting it (drift repair that keeps the affinity sets' contents). Neither touches
//! conntrack's NAT bindings, so a restart of the agent breaks no connection. After each
//! applied change the UDP flows it left stale are deleted ([`podnet_proxy::stale_flows`]).

use std::time::Duration;

use podnet_model::{kind_prefix, Kind, Object};
use podnet_nft::diff::update;
use podnet_nft::{Op, Table, Transaction};
use podnet_proxy::{plan, stale_flows, table, Plan};
use podnet_store::Datastore;
use serde::Serialize;
use tracing::{info, warn};

use crate::informer::{Change, Informer};

/// How long a controller waits after a failed watch before resuming it.
const WATCH_RETRY: Duration = Duration::from_secs(1);
use crate::kernel::Kernel;
use crate::objects::Decoded;
use crate::services::Shared;

/// The proxy controller's part of `status.json`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyStatus {
    /// Transactions applied (full or incremental).
    pub passes: u64,
    pub failures: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// Full rebuilds (the first pass, and after a failed transaction).
    pub full_syncs: u64,
    /// Service ports programmed, and endpoints behind them.
    pub service_ports: usize,
    pub endpoints: usize,
    /// Stored Services / EndpointSlices / slice entries refused as invalid.
    pub invalid_objects: usize,
    pub invalid_endpoints: usize,
    /// nft commands in the last transaction, and how long it took to apply (ms).
    pub last_commands: usize,
    pub last_apply_ms: f64,
    /// UDP conntrack deletions (stale flows) and failures of them.
    pub conntrack_deletes: u64,
    pub conntrack_failures: u64,
    /// The datastore revision the kernel reflects: every Service and slice change up to it is
    /// programmed (what the lab waits for before stopping a deleted pod).
    pub revision: i64,
}

/// Runs the proxy controller until the future is dropped.
pub async fn run<D: Datastore>(
    node: String,
    store: D,
    kernel: Kernel,
    resync: Duration,
    shared: Shared,
) {
    let mut services = Informer::new(store.clone(), &kind_prefix(Kind::Service));
    let mut slices = Informer::new(store, &kind_prefix(Kind::EndpointSlice));
    let (mut svc_objs, mut slice_objs) = (Decoded::default(), Decoded::default());
    let mut applied: Option<(Plan, Table)> = None;
    let mut delete_first = false;
    let mut dirty = true;
    let mut resync_at = tokio::time::Instant::now() + resync;
    let mut backoff = Duration::from_millis(250);
    loop {
        if dirty && services.synced() && slices.synced() {
            let full = tokio::time::Instant::now() >= resync_at;
            svc_objs.refresh(&services);
            slice_objs.refresh(&slices);
            let svcs: Vec<_> = svc_objs
                .iter()
                .filter_map(|o| match o {
                    Object::Service(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            let eps: Vec<_> = slice_objs
                .iter()
                .filter_map(|o| match o {
                    Object::EndpointSlice(s) => Some(s.clone()),
                    _ => None,
                })
                .collect();
            let want_plan = plan(&svcs, &eps, &node);
            let want = table(&want_plan);
            let (tx, rebuild) = match &applied {
                // At start the table is installed over what the kernel has (a restart keeps
                // the affinity sets and changes nothing that is still wanted); after a failed
                // transaction it is deleted and built again.
                None if !delete_first => (Transaction::new().install(&want), true),
                None => (
                    Transaction::new()
                        .push(Op::DeleteTable(want.id()))
                        .install(&want),
                    true,
                ),
                Some((_, had)) if full => (update(had, &want).install(&want), false),
                Some((_, had)) => (update(had, &want), false),
            };
            let script = tx.render();
            let commands = script.lines().count();
            let started = std::time::Instant::now();
            let result = if script.is_empty() {
                Ok(())
            } else {
                match kernel.call(move |k| k.nft.apply(&script)).await {
                    Ok(r) => r.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            };
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let revision = services.stats().revision.max(slices.stats().revision);
            let outcome = Outcome {
                result,
                commands,
                ms,
                rebuild,
                revision,
                invalid_objects: svc_objs.invalid + slice_objs.invalid,
            };
            match record(&shared, &outcome, &want_plan) {
                Ok(()) => {
                    // After a rebuild (a restart) nothing is deleted: the flows conntrack
                    // holds are the ones to keep.
                    let stale = match &applied {
                        Some((old, _)) if !rebuild => stale_flows(old, &want_plan),
                        _ => Default::default(),
                    };
                    for flows in stale {
                        let r = kernel.call(move |k| k.conntrack.delete(&flows)).await;
                        let ok = matches!(r, Ok(Ok(())));
                        if !ok {
                            warn!(?flows, "deleting stale UDP conntrack entries failed");
                        }
                        let mut st = shared.lock();
                        if ok {
                            st.proxy.conntrack_deletes += 1;
                        } else {
                            st.proxy.conntrack_failures += 1;
                        }
                    }
                    applied = Some((want_plan, want));
                    delete_first = false;
                    dirty = false;
                }
                Err(()) => {
                    applied = None;
                    delete_first = true;
                    shared.changed();
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            }
            backoff = Duration::from_millis(250);
            if full {
                resync_at = tokio::time::Instant::now() + resync;
            }
            shared.changed();
        }
        tokio::select! {
            _ = tokio::time::sleep_until(resync_at) => dirty = true,
            r = services.next() => dirty |= informer_changed(r, "Services").await,
            r = slices.next() => dirty |= informer_changed(r, "EndpointSlices").await,
        }
    }
}

/// What one pass did, for the status.
struct Outcome {
    result: Result<(), String>,
    commands: usize,
    ms: f64,
    rebuild: bool,
    revision: i64,
    invalid_objects: usize,
}

/// Writes a pass's outcome into the shared status; `Err` when its transaction failed.
fn record(shared: &Shared, o: &Outcome, plan: &Plan) -> Result<(), ()> {
    let mut st = shared.lock();
    let p = &mut st.proxy;
    p.invalid_objects = o.invalid_objects;
    p.invalid_endpoints = plan.skipped;
    if let Err(e) = &o.result {
        warn!("Service proxy transaction failed: {e}; rebuilding the table at the next pass");
        p.failures += 1;
        p.last_error = Some(e.clone());
        return Err(());
    }
    if o.commands > 0 {
        p.passes += 1;
        p.last_commands = o.commands;
        p.last_apply_ms = o.ms;
    }
    if o.rebuild {
        p.full_syncs += 1;
        info!(ports = plan.ports.len(), "Service proxy table built");
    }
    p.last_error = None;
    p.service_ports = plan.ports.len();
    p.endpoints = plan.ports.values().map(|p| p.internal.len()).sum();
    p.revision = o.revision;
    Ok(())
}

/// Whether an informer's answer calls for a pass; after a failed watch it waits a second (the
/// informer resumes from the last revision at the next call).
pub(crate) async fn informer_changed(
    r: Result<Change, podnet_store::StoreError>,
    what: &str,
) -> bool {
    match r {
        Ok(Change::Events(events)) => !events.is_empty(),
        Ok(Change::Relisted) => true,
        Err(e) => {
            warn!("watching {what} failed: {e}; the datapath stays as it is");
            tokio::time::sleep(WATCH_RETRY).await;
            false
        }
    }
}
