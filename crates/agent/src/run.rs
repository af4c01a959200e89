//! The agent's main loop: claim the subnet, publish the node facts, then keep the lease alive,
//! follow the other leases (watch plus a periodic resync that also repairs drift) and reconcile
//! the backend by diff. When the datastore is unreachable the datapath is left as it is and the
//! agent retries with capped exponential backoff. Stopping the agent never touches the datapath,
//! so a restart drops no connection.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::Ipv4Net;
use podnet_model::facts::{NodeFacts, FACTS_VERSION};
use podnet_model::lease::{
    validate_leases, LeaseRecord, LeaseSet, Refused, SubnetConfig, SUBNETS_PREFIX,
};
use podnet_store::Datastore;
use serde::Serialize;
use tracing::{info, warn};

use crate::backend::{desired, BackendKind, Desired, LocalNode};
use crate::backends::{Backend, HostGw, Udp, Vxlan};
use crate::error::AgentError;
use crate::firewall::agent_table_script;
use crate::informer::{Change, Informer, InformerStats};
use crate::kernel::Kernel;
use crate::leaser::{acquire, renew, Lease};
use crate::reconcile::reconcile;
use crate::services::{self, ServicesStatus, Shared};
use crate::udp_relay::Relay;

/// How the agent is configured (`podnet agent --help`).
#[derive(Debug, Clone)]
pub struct AgentConfig {
    pub node: String,
    pub backend: BackendKind,
    pub underlay_dev: String,
    /// Underlay address to publish; default: the underlay device's first address.
    pub public_ip: Option<Ipv4Addr>,
    pub subnets: SubnetConfig,
    pub lease_ttl: Duration,
    pub facts_path: PathBuf,
    pub state_dir: PathBuf,
    pub vxlan_dev: String,
    /// UDP port of the udp backend (the same on every node).
    pub udp_port: u16,
    /// Use the kernel's offloads in the udp backend (TUN super-packets, UDP GSO/GRO); `false`
    /// forces one packet per system call (flannel's design, for comparison).
    pub udp_offload: bool,
    pub vxlan_vni: u32,
    pub vxlan_port: u16,
    /// Attach the eBPF fast path's `from_uplink` program to the underlay device (and the VXLAN
    /// device): packets to this node's pods enter them directly. For nodes whose pods use the
    /// plugin's `"mode": "ebpf"`.
    pub fast_path: bool,
    /// Full resync period (drift repair).
    pub resync: Duration,
    /// Run the Service controllers (endpoints, when elected; the proxy's nftables table).
    pub services: bool,
}

/// What `status.json` in the state dir says.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub node: String,
    pub subnet: String,
    pub backend: String,
    pub public_ip: Ipv4Addr,
    pub peers: usize,
    pub unreachable: Vec<String>,
    pub datastore_ok: bool,
    /// Leases in the datastore that failed validation and were not installed, with the reason.
    pub refused_leases: Vec<Refused>,
    /// Each controller's state.
    pub controllers: Controllers,
    /// The udp backend: offloads granted and packets dropped, per reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpStatus>,
}

/// The controllers' part of `status.json`: one entry per controller, each over a snapshot of
/// the lease informer's cache.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Controllers {
    /// The lease controller: this node's claim and renewals, the informer over every lease,
    /// and the validation that decides which leases the other controllers see.
    pub leases: LeaseControllerStatus,
    /// The backend controller: routes, neighbours, FDB, the backend's device and the fast path,
    /// planned from the accepted leases and reconciled by diff.
    pub backend: PassStatus,
    /// The node guard: the agent's nftables table (`nonat`, the tunnel guard), one transaction
    /// when the peers change and once per resync.
    pub guard: PassStatus,
    /// The endpoints controller (leader-elected) and the Service proxy (`ip podnet_proxy`).
    #[serde(flatten)]
    pub services: ServicesStatus,
}

/// The lease controller's state.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LeaseControllerStatus {
    pub informer: InformerStats,
    /// Leases that passed validation (this node's included).
    pub accepted: usize,
    /// Leases refused (listed in `refusedLeases`).
    pub refused: usize,
    /// Renewals of this node's lease that succeeded / failed.
    pub renewals: u64,
    pub renewal_failures: u64,
}

/// A controller that converges the kernel in passes.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassStatus {
    /// Passes that converged the kernel (for the guard: transactions applied).
    pub passes: u64,
    /// Passes that failed (retried at the next change or resync).
    pub failures: u64,
    /// The last failure, if the last pass failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

impl PassStatus {
    fn record<T, E: std::fmt::Display>(&mut self, r: &Result<T, E>) {
        match r {
            Ok(_) => {
                self.passes += 1;
                self.last_error = None;
            }
            Err(e) => {
                self.failures += 1;
                self.last_error = Some(e.to_string());
            }
        }
    }
}

/// The udp backend's part of `status.json`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UdpStatus {
    pub offloads: crate::udp_relay::Offloads,
    pub drops: std::collections::BTreeMap<&'static str, u64>,
}

impl UdpStatus {
    pub(crate) fn of(relay: &Relay) -> UdpStatus {
        let drops = relay.drops();
        UdpStatus {
            offloads: relay.offloads(),
            drops: podnet_udp::DropReason::ALL
                .iter()
                .map(|r| (r.as_str(), drops.get(*r)))
                .collect(),
        }
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// The udp backend's TUN device.
pub const UDP_DEV: &str = "podnet.udp";

fn write_atomic(path: &std::path::Path, body: &str) -> Result<(), AgentError> {
    let err = |e: std::io::Error| AgentError::Config(format!("write {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, body).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Runs the agent until `shutdown` resolves.
pub async fn run<D: Datastore>(
    cfg: AgentConfig,
    store: D,
    kernel: Kernel,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), AgentError> {
    tokio::pin!(shutdown);
    let dev = cfg.underlay_dev.clone();
    let underlay = kernel
        .call(move |k| k.ops.link_state(&dev))
        .await??
        .ok_or_else(|| {
            AgentError::Config(format!(
                "underlay device {} does not exist",
                cfg.underlay_dev
            ))
        })?;
    let public_ip = cfg
        .public_ip
        .or_else(|| underlay.addresses.first().map(|a| a.addr()))
        .ok_or_else(|| {
            AgentError::Config(format!(
                "{} has no IPv4 address; pass --public-ip",
                cfg.underlay_dev
            ))
        })?;
    // The one place the backend's kind matters to the loop: which implementation runs it.
    match cfg.backend {
        BackendKind::HostGw => {
            let b = HostGw::new(&cfg, &underlay);
            run_with(cfg, store, kernel, shutdown, underlay, public_ip, b).await
        }
        BackendKind::Vxlan => {
            let b = Vxlan::new(&cfg, &underlay, public_ip);
            run_with(cfg, store, kernel, shutdown, underlay, public_ip, b).await
        }
        BackendKind::Udp => {
            let b = Udp::new(&cfg, &underlay, public_ip);
            run_with(cfg, store, kernel, shutdown, underlay, public_ip, b).await
        }
    }
}

/// The agent over one backend: claim the subnet, start the backend, publish the facts, then
/// the informer-driven loop.
async fn run_with<D: Datastore, B: Backend>(
    cfg: AgentConfig,
    store: D,
    kernel: Kernel,
    mut shutdown: std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    underlay: podnet_netspec::LinkState,
    public_ip: Ipv4Addr,
    mut backend: B,
) -> Result<(), AgentError> {
    let vtep_mac = backend.prepare(&kernel).await?;
    let record = LeaseRecord {
        node: cfg.node.clone(),
        public_ip,
        backend: cfg.backend.as_str().into(),
        vtep_mac,
    };
    let state_file = cfg.state_dir.join("subnet");
    let preferred: Option<Ipv4Net> = std::fs::read_to_string(&state_file)
        .ok()
        .and_then(|s| s.trim().parse().ok());

    let mut backoff = Duration::from_millis(250);
    let mut lease: Lease = loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            r = acquire(&store, &cfg.subnets, &record, preferred, cfg.lease_ttl) => match r {
                Ok(l) => break l,
                Err(e) => {
                    warn!("cannot lease a subnet yet: {e}; retrying in {backoff:?}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    };
    info!(subnet = %lease.subnet, node = %cfg.node, "leased subnet");
    write_atomic(&state_file, &lease.subnet.to_string())?;
    backend.start(&kernel, lease.subnet).await?;
    let mtu = backend.mtu();
    if cfg.fast_path {
        let fp = podnet_netspec::FastPath {
            cluster: cfg.subnets.cluster,
            local: lease.subnet,
        };
        for dev in fast_path_devs(&cfg, &backend) {
            kernel
                .call(move |k| k.ops.attach_fast_path(&dev, &fp))
                .await??;
        }
        info!(cluster = %fp.cluster, subnet = %fp.local, "eBPF fast path attached");
    }
    let facts = NodeFacts {
        version: FACTS_VERSION,
        node: cfg.node.clone(),
        subnet: lease.subnet.to_string(),
        gateway: Some(Ipv4Addr::from(u32::from(lease.subnet.network()) + 1).to_string()),
        mtu: Some(mtu),
        cluster_cidr: Some(cfg.subnets.cluster.to_string()),
        backend: Some(cfg.backend.as_str().into()),
    };
    write_atomic(&cfg.facts_path, &facts.to_json())?;
    let shared = Shared::default();
    let _services = cfg.services.then(|| {
        AbortOnDrop(tokio::spawn(services::run(
            cfg.node.clone(),
            store.clone(),
            kernel.clone(),
            cfg.lease_ttl,
            cfg.resync,
            shared.clone(),
        )))
    });

    let local = LocalNode {
        node: cfg.node.clone(),
        subnet: lease.subnet,
        underlay_dev: cfg.underlay_dev.clone(),
        underlay_nets: underlay.addresses.iter().map(|a| a.trunc()).collect(),
        tunnel_dev: backend.tunnel_dev(),
    };
    // The peers last written to nftables, and when.
    let mut guard: Option<(BTreeSet<Ipv4Addr>, tokio::time::Instant)> = None;
    let mut leases = Informer::new(store.clone(), SUBNETS_PREFIX);
    let mut view = View {
        services: shared.clone(),
        ..View::default()
    };
    let mut dirty = true;
    let mut renew_at = tokio::time::Instant::now() + cfg.lease_ttl / 3;
    let mut resync_at = tokio::time::Instant::now();
    let mut watch_retry_at: Option<tokio::time::Instant> = None;
    let mut store_ok = true;
    backoff = Duration::from_millis(250);
    loop {
        let now = tokio::time::Instant::now();
        if leases.synced() && (dirty || now >= resync_at) {
            let full = now >= resync_at;
            let set = validate_leases(
                &cfg.subnets,
                leases
                    .items()
                    .map(|kv| (kv.key.as_str(), kv.value.as_str(), kv.mod_revision)),
            );
            if set.refused != view.refused {
                for r in &set.refused {
                    warn!(key = %r.key, reason = %r.reason, "refused a lease from the datastore: not installed");
                }
            }
            let want = desired(backend.kind(), &local, &set.accepted);
            let pass =
                converge_backend(&cfg, &kernel, &local, &set, &want, full, &mut backend).await;
            view.backend.record(&pass);
            match pass {
                Ok(()) => {
                    view.peers = set.accepted.len().saturating_sub(1);
                    view.unreachable = want
                        .unreachable
                        .iter()
                        .map(|(n, ip)| format!("{n} ({ip})"))
                        .collect();
                }
                Err(e) => warn!("reconcile failed: {e}; retrying at the next resync"),
            }
            // The guard is its own controller: a failed backend pass does not hold back the
            // node's nftables table, nor the other way round.
            if let Some(r) = converge_guard(&cfg, &kernel, &want, &mut guard, &backend).await {
                if let Err(e) = &r {
                    warn!("applying the agent's nftables table failed: {e}; retrying at the next pass");
                }
                view.guard.record(&r);
            }
            view.accepted = set.accepted.len();
            view.refused = set.refused;
            dirty = false;
            if full {
                resync_at = tokio::time::Instant::now() + cfg.resync;
            }
            write_status(&cfg, &local, public_ip, &view, store_ok, &leases, &backend);
        }
        if tokio::time::Instant::now() >= renew_at {
            match renew(&store, &cfg.subnets, &record, &lease, cfg.lease_ttl).await {
                Ok(l) => {
                    lease = l;
                    view.renewals += 1;
                    renew_at = tokio::time::Instant::now() + cfg.lease_ttl / 3;
                }
                Err(AgentError::Lost { subnet, holder }) => {
                    // Another node routes this subnet now: stop advertising it to the plugin.
                    let _ = std::fs::remove_file(&cfg.facts_path);
                    return Err(AgentError::Lost { subnet, holder });
                }
                Err(e) => {
                    view.renewal_failures += 1;
                    warn!("lease renewal failed: {e}; retrying");
                    renew_at = tokio::time::Instant::now() + backoff.min(cfg.lease_ttl / 6);
                }
            }
        }
        // Until the first list has filled the cache there is nothing to resync; a resync due
        // in the past would otherwise wake the loop at once, again and again, and cancel the
        // list before it completes.
        let mut wake = renew_at;
        if leases.synced() {
            wake = wake.min(resync_at);
        }
        if let Some(at) = watch_retry_at {
            if tokio::time::Instant::now() >= at {
                watch_retry_at = None;
            } else {
                wake = wake.min(at);
            }
        }
        let watching = watch_retry_at.is_none();
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            _ = tokio::time::sleep_until(wake) => {}
            _ = shared.wait_changed() => {
                write_status(&cfg, &local, public_ip, &view, store_ok, &leases, &backend);
            }
            r = leases.next(), if watching => match r {
                Ok(Change::Events(events)) => {
                    if !events.is_empty() {
                        dirty = true;
                    }
                    if !store_ok {
                        info!("datastore reachable again");
                        store_ok = true;
                        backoff = Duration::from_millis(250);
                        dirty = true;
                    }
                }
                Ok(Change::Relisted) => {
                    dirty = true;
                    store_ok = true;
                    backoff = Duration::from_millis(250);
                }
                Err(e) => {
                    // The cache and the datapath stay as they are; the watch resumes from the
                    // last revision seen.
                    if store_ok {
                        warn!("watch failed: {e}; the datapath stays as it is; retrying in {backoff:?}");
                    }
                    store_ok = false;
                    watch_retry_at = Some(tokio::time::Instant::now() + backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    write_status(&cfg, &local, public_ip, &view, false, &leases, &backend);
                }
            }
        }
    }
}

/// Aborts the task when dropped: the Service controllers end with the agent's loop.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What the agent last made of the leases, for `status.json`.
#[derive(Debug, Default)]
struct View {
    peers: usize,
    unreachable: Vec<String>,
    refused: Vec<Refused>,
    accepted: usize,
    renewals: u64,
    renewal_failures: u64,
    backend: PassStatus,
    guard: PassStatus,
    /// The Service controllers' state, which they update themselves.
    services: Shared,
}

/// The devices whose ingress carries the fast path's `from_uplink`: the underlay, and the
/// backend's own (the VXLAN device; the udp backend's TUN is not Ethernet).
fn fast_path_devs<B: Backend>(cfg: &AgentConfig, backend: &B) -> Vec<String> {
    let mut devs = vec![cfg.underlay_dev.clone()];
    devs.extend(backend.uplinks());
    devs
}

/// The backend controller's pass over the validated leases and their plan (`want`): let the
/// backend repair and feed its own parts, reconcile routes/neighbours/FDB by diff, repair the
/// fast path.
async fn converge_backend(
    cfg: &AgentConfig,
    kernel: &Kernel,
    local: &LocalNode,
    set: &LeaseSet,
    want: &Desired,
    full: bool,
    backend: &mut impl Backend,
) -> Result<(), AgentError> {
    let leases = &set.accepted;
    if full {
        for (node, ip) in &want.unreachable {
            warn!(peer = %node, address = %ip, "host-gw cannot reach this peer: it is not on this node's L2 segment (use vxlan)");
        }
    }
    backend.pass(kernel, leases).await?;
    let (kind, l, w) = (backend.kind(), local.clone(), want.clone());
    let changes = kernel
        .call(move |k| reconcile(k.ops.as_mut(), kind, &l, &w))
        .await??;
    if cfg.fast_path {
        // Drift repair for the fast path: a filter removed behind the agent's back (`tc filter
        // del`, another tool replacing the clsact qdisc) is attached again.
        let fp = podnet_netspec::FastPath {
            cluster: cfg.subnets.cluster,
            local: local.subnet,
        };
        for dev in fast_path_devs(cfg, backend) {
            let d = dev.clone();
            let attached = kernel
                .call(move |k| {
                    if k.ops.fast_path_attached(&dev)? {
                        return Ok(false);
                    }
                    k.ops.attach_fast_path(&dev, &fp).map(|()| true)
                })
                .await??;
            if attached {
                warn!(dev = %d, "eBPF fast path was missing; attached it again");
            }
        }
    }
    if changes.total() > 0 {
        info!(
            added = changes.added,
            removed = changes.removed,
            "reconciled backend"
        );
    }
    Ok(())
}

/// The node guard's pass: the agent's nftables table, applied when the peers change and once
/// per resync period besides, as one atomic transaction (an `nft -f`) that also repairs drift
/// (a flushed ruleset, a deleted element) and keeps the guard's counter. Not on every pass:
/// watch events (lease renewals) come far more often. `None` when nothing was due.
async fn converge_guard(
    cfg: &AgentConfig,
    kernel: &Kernel,
    want: &Desired,
    guard: &mut Option<(BTreeSet<Ipv4Addr>, tokio::time::Instant)>,
    backend: &impl Backend,
) -> Option<Result<(), AgentError>> {
    let changed = guard.as_ref().map(|g| &g.0) != Some(&want.peer_ips);
    let due = guard.as_ref().is_none_or(|g| g.1.elapsed() >= cfg.resync);
    if !(changed || due) {
        return None;
    }
    let script = agent_table_script(&want.peer_ips, backend.guarded_port());
    let applied = match kernel.call(move |k| k.nft.apply(&script)).await {
        Ok(r) => r.map_err(|e| AgentError::Config(e.to_string())),
        Err(e) => Err(e),
    };
    if applied.is_ok() {
        if changed {
            info!(
                peers = want.peer_ips.len(),
                "node addresses in nftables updated"
            );
        }
        *guard = Some((want.peer_ips.clone(), tokio::time::Instant::now()));
    }
    Some(applied)
}

fn write_status<D: Datastore>(
    cfg: &AgentConfig,
    local: &LocalNode,
    public_ip: Ipv4Addr,
    view: &View,
    ok: bool,
    leases: &Informer<D>,
    backend: &impl Backend,
) {
    let st = Status {
        node: cfg.node.clone(),
        subnet: local.subnet.to_string(),
        backend: cfg.backend.as_str().into(),
        public_ip,
        peers: view.peers,
        unreachable: view.unreachable.clone(),
        datastore_ok: ok,
        refused_leases: view.refused.clone(),
        controllers: Controllers {
            leases: LeaseControllerStatus {
                informer: leases.stats(),
                accepted: view.accepted,
                refused: view.refused.len(),
                renewals: view.renewals,
                renewal_failures: view.renewal_failures,
            },
            backend: view.backend.clone(),
            guard: view.guard.clone(),
            services: view.services.lock().clone(),
        },
        udp: backend.status(),
    };
    let _ = write_atomic(
        &cfg.state_dir.join("status.json"),
        &serde_json::to_string_pretty(&st).unwrap_or_default(),
    );
}
