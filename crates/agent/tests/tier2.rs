//! Tier 2: the whole agent (`run`) against the in-memory datastore and the recording kernel, on
//! tokio's paused clock — lease renewal timing, peers joining and leaving, a hostile lease, a
//! datastore outage and its return, and a compaction. No real sleeps: minutes of agent time pass
//! in milliseconds.
#![allow(clippy::unwrap_used)]

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use podnet_agent::backend::BackendKind;
use podnet_agent::kernel::{Kernel, KernelCtx};
use podnet_agent::run::{run, AgentConfig};
use podnet_model::lease::{subnet_key, LeaseRecord, SubnetConfig, SUBNETS_PREFIX};
use podnet_netlink::RecordingNetOps;
use podnet_netspec::{LinkState, Route};
use podnet_nft::{Change, Nft, NftError, PodEntry, RecordingNft};
use podnet_store::memory::MemoryStore;
use podnet_store::Datastore;
use tokio::sync::oneshot;

const TTL: Duration = Duration::from_secs(30);

/// A recording nft whose scripts the test can read while the agent owns it.
#[derive(Clone, Default)]
struct SharedNft(Arc<Mutex<RecordingNft>>);

impl Nft for SharedNft {
    fn apply(&mut self, script: &str) -> Result<(), NftError> {
        self.0.lock().unwrap().apply(script)
    }
    fn pod_elements(&mut self, change: Change, pod: &PodEntry) -> Result<(), NftError> {
        self.0.lock().unwrap().pod_elements(change, pod)
    }
    fn probe(&mut self) -> Result<(), NftError> {
        self.0.lock().unwrap().probe()
    }
}

struct Agent {
    kernel: Kernel,
    nft: SharedNft,
    state: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), podnet_agent::AgentError>>,
    _dir: tempfile::TempDir,
}

fn config(dir: &Path, backend: BackendKind) -> AgentConfig {
    AgentConfig {
        node: "n1".into(),
        backend,
        underlay_dev: "eth0".into(),
        public_ip: None,
        subnets: SubnetConfig {
            cluster: "10.244.0.0/16".parse().unwrap(),
            subnet_len: 24,
        },
        lease_ttl: TTL,
        facts_path: dir.join("node.json"),
        state_dir: dir.join("state"),
        vxlan_dev: "podnet.1".into(),
        udp_port: 8285,
        udp_offload: true,
        vxlan_vni: 1,
        vxlan_port: 8472,
        fast_path: false,
        resync: Duration::from_secs(60),
        services: false,
    }
}

/// Paused time only moves when every task waits: an agent that spins (never waits) stops it, and
/// the test would hang. A real-time watchdog turns that into a failure.
fn watchdog() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::thread::spawn(|| {
            std::thread::sleep(Duration::from_secs(60));
            eprintln!(
                "tier2: no test finished within 60 s of real time: an agent spins without waiting"
            );
            std::process::exit(101);
        });
    });
}

fn start(store: &MemoryStore, backend: BackendKind) -> Agent {
    watchdog();
    let dir = tempfile::tempdir().unwrap();
    let nft = SharedNft::default();
    let n = nft.clone();
    let kernel = Kernel::inline({
        let mut ops = RecordingNetOps::new();
        ops.backend.links.insert(
            "eth0".into(),
            LinkState {
                mac: [2, 0, 0, 0, 0, 11],
                mtu: 1500,
                up: true,
                addresses: vec!["198.18.0.11/24".parse().unwrap()],
            },
        );
        KernelCtx {
            ops: Box::new(ops),
            nft: Box::new(n),
            conntrack: Box::new(podnet_agent::conntrack::RecordingConntrack::default()),
        }
    });
    let (tx, rx) = oneshot::channel();
    let cfg = config(dir.path(), backend);
    let task = tokio::spawn(run(cfg, store.clone(), kernel.clone(), async {
        let _ = rx.await;
    }));
    Agent {
        kernel,
        nft,
        state: dir.path().join("state"),
        stop: Some(tx),
        task,
        _dir: dir,
    }
}

impl Agent {
    async fn routes(&self) -> Vec<Route> {
        self.kernel
            .call(|k| k.ops.podnet_routes())
            .await
            .unwrap()
            .unwrap()
    }

    fn status(&self) -> serde_json::Value {
        let s = std::fs::read_to_string(self.state.join("status.json")).unwrap_or_default();
        serde_json::from_str(&s).unwrap_or(serde_json::Value::Null)
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.task.await.unwrap().unwrap();
    }
}

/// Waits (in paused time) up to `limit` for `cond`; returns how long it took.
async fn until<F, Fut>(limit: Duration, what: &str, mut cond: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let t0 = tokio::time::Instant::now();
    while !cond().await {
        assert!(t0.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

fn peer(node: &str, ip: &str) -> String {
    LeaseRecord {
        node: node.into(),
        public_ip: ip.parse().unwrap(),
        backend: "host-gw".into(),
        vtep_mac: None,
    }
    .to_json()
}

async fn own_lease(store: &MemoryStore) -> Option<(String, i64)> {
    let (kvs, _) = store.list(SUBNETS_PREFIX).await.unwrap();
    kvs.into_iter()
        .find(|kv| kv.value.contains("\"node\":\"n1\""))
        .map(|kv| (kv.key, kv.lease.map(|l| l.0).unwrap_or(0)))
}

fn via(routes: &[Route], ip: &str) -> bool {
    let ip: Ipv4Addr = ip.parse().unwrap();
    routes.iter().any(|r| r.via == ip)
}

#[tokio::test(start_paused = true)]
async fn renewal_peers_hostile_leases_and_no_lists_per_event() {
    let store = MemoryStore::new();
    // A remote store's round trip: an agent that cancels its own list would never converge.
    store.set_latency(Duration::from_millis(5));
    let a = start(&store, BackendKind::HostGw);
    until(Duration::from_secs(5), "n1 leases a subnet", || async {
        own_lease(&store).await.is_some()
    })
    .await;
    let (key, lease_id) = own_lease(&store).await.unwrap();

    // A peer joins: its route appears; the guard's node set gets its address.
    store
        .put(
            &subnet_key("10.244.7.0/24".parse().unwrap()),
            &peer("n2", "198.18.0.12"),
        )
        .unwrap();
    let took = until(Duration::from_secs(5), "route to n2", || async {
        via(&a.routes().await, "198.18.0.12")
    })
    .await;
    assert!(took <= Duration::from_secs(1), "peer route after {took:?}");
    let nft = a.nft.0.lock().unwrap().scripts.join("\n");
    assert!(nft.contains("198.18.0.12"), "{nft}");
    drop(nft);

    // Hostile and malformed leases: never installed, reported in status.json.
    store
        .put(
            &format!("{SUBNETS_PREFIX}0.0.0.0-0"),
            &peer("evil", "198.18.0.66"),
        )
        .unwrap();
    store
        .put(
            &subnet_key("10.244.8.0/24".parse().unwrap()),
            &peer("n2", "198.18.0.13"),
        )
        .unwrap();
    store
        .put(&subnet_key("10.244.9.0/24".parse().unwrap()), "{not json")
        .unwrap();
    until(
        Duration::from_secs(5),
        "three refused leases in status",
        || async { a.status()["refusedLeases"].as_array().map(|v| v.len()) == Some(3) },
    )
    .await;
    let routes = a.routes().await;
    assert!(
        !via(&routes, "198.18.0.66") && !via(&routes, "198.18.0.13"),
        "{routes:?}"
    );
    assert!(
        routes.iter().all(|r| r.dst.prefix_len() == 24),
        "{routes:?}"
    );

    // The peer leaves: its route goes.
    store
        .delete(&subnet_key("10.244.7.0/24".parse().unwrap()))
        .await
        .unwrap();
    until(Duration::from_secs(5), "route to n2 removed", || async {
        !via(&a.routes().await, "198.18.0.12")
    })
    .await;

    // Ten minutes of agent time: the lease is kept alive (every TTL/3), never re-created,
    // nothing is listed; and the events above caused no list (the informer listed once).
    let before = store.stats();
    tokio::time::sleep(Duration::from_secs(600)).await;
    let after = store.stats();
    assert_eq!(
        own_lease(&store).await,
        Some((key, lease_id)),
        "same key, same lease"
    );
    let renewals = after.writes - before.writes;
    // Every TTL/3 = 10 s, and nothing else is written.
    assert!(
        (59..=61).contains(&renewals),
        "{renewals} keep-alives in 600 s with TTL 30 s"
    );
    assert_eq!(after.lists, before.lists, "no list in steady state");
    let st = a.status();
    assert_eq!(st["controllers"]["leases"]["informer"]["lists"], 1, "{st}");
    // Each controller reports on its own: the status is written at each pass, so the lease
    // controller's renewal count may lag the store's by the keep-alives since the last one.
    let c = &st["controllers"];
    assert!(c["leases"]["renewals"].as_u64() >= Some(55), "{st}");
    assert_eq!(c["leases"]["renewalFailures"], 0, "{st}");
    assert_eq!(c["leases"]["refused"], 2, "the two hostile leases: {st}");
    assert_eq!(c["leases"]["accepted"], 2, "n1 and its peer: {st}");
    assert!(c["backend"]["passes"].as_u64() >= Some(1), "{st}");
    assert_eq!(c["backend"]["failures"], 0, "{st}");
    // The guard re-applies its table once per resync (60 s) on the injected clock, besides the
    // peer changes: at least 9 in these 600 s (it once timed itself with std's clock and never
    // came due under the paused one).
    assert!(c["guard"]["passes"].as_u64() >= Some(9), "{st}");
    assert_eq!(c["guard"]["failures"], 0, "{st}");
    assert_eq!(st["datastoreOk"], true);
    a.stop().await;
}

#[tokio::test(start_paused = true)]
async fn outage_keeps_the_datapath_and_recovers() {
    let store = MemoryStore::new();
    let a = start(&store, BackendKind::HostGw);
    until(Duration::from_secs(5), "n1 leases a subnet", || async {
        own_lease(&store).await.is_some()
    })
    .await;
    let (key, _) = own_lease(&store).await.unwrap();
    store
        .put(
            &subnet_key("10.244.7.0/24".parse().unwrap()),
            &peer("n2", "198.18.0.12"),
        )
        .unwrap();
    until(Duration::from_secs(5), "route to n2", || async {
        via(&a.routes().await, "198.18.0.12")
    })
    .await;

    // Down for 20 s (less than the TTL): the route stays, status says so.
    store.set_available(false);
    until(Duration::from_secs(15), "datastoreOk false", || async {
        a.status()["datastoreOk"] == false
    })
    .await;
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(
        via(&a.routes().await, "198.18.0.12"),
        "datapath kept through the outage"
    );
    store.set_available(true);
    let took = until(
        Duration::from_secs(30),
        "datastoreOk true again",
        || async { a.status()["datastoreOk"] == true },
    )
    .await;
    assert!(
        took <= Duration::from_secs(11),
        "recovered after {took:?} (backoff is capped at 10 s)"
    );
    assert_eq!(
        own_lease(&store).await.unwrap().0,
        key,
        "same subnet after the outage"
    );

    // Down for longer than the TTL: the lease expires in the store; on return the agent claims
    // the same subnet again.
    store.set_available(false);
    tokio::time::sleep(TTL * 2).await;
    store.set_available(true);
    until(
        Duration::from_secs(30),
        "n1 holds its subnet again",
        || async { own_lease(&store).await.map(|l| l.0) == Some(key.clone()) },
    )
    .await;
    assert!(via(&a.routes().await, "198.18.0.12"));
    a.stop().await;
}

#[tokio::test(start_paused = true)]
async fn a_watch_behind_a_compaction_relists_once() {
    let store = MemoryStore::new().keep_events(100);
    let a = start(&store, BackendKind::HostGw);
    until(Duration::from_secs(5), "n1 leases a subnet", || async {
        own_lease(&store).await.is_some()
    })
    .await;
    until(Duration::from_secs(5), "first pass", || async {
        a.status()["controllers"]["backend"]["passes"].as_u64() >= Some(1)
    })
    .await;
    let lists_before = store.stats().lists;
    // 500 changes at once (the agent's watch cannot keep up with a log of 100): garbage keys,
    // then one real peer.
    for i in 0..500 {
        store
            .put(&format!("{SUBNETS_PREFIX}junk-{i}"), "x")
            .unwrap();
    }
    store
        .put(
            &subnet_key("10.244.7.0/24".parse().unwrap()),
            &peer("n2", "198.18.0.12"),
        )
        .unwrap();
    until(
        Duration::from_secs(5),
        "route to n2 after the relist",
        || async { via(&a.routes().await, "198.18.0.12") },
    )
    .await;
    // Then a minute of normal life: no further lists.
    tokio::time::sleep(Duration::from_secs(60)).await;
    let inf = &a.status()["controllers"]["leases"]["informer"];
    assert_eq!(inf["compactions"], 1, "{inf}");
    assert_eq!(inf["lists"], 2, "{inf}");
    assert_eq!(store.stats().lists - lists_before, 1, "exactly one relist");
    assert_eq!(a.status()["refusedLeases"].as_array().unwrap().len(), 500);
    a.stop().await;
}

#[tokio::test(start_paused = true)]
async fn vxlan_publishes_its_vtep_and_programs_peers() {
    let store = MemoryStore::new();
    let a = start(&store, BackendKind::Vxlan);
    until(Duration::from_secs(5), "n1 leases a subnet", || async {
        own_lease(&store).await.is_some()
    })
    .await;
    let (kvs, _) = store.list(SUBNETS_PREFIX).await.unwrap();
    let mine = LeaseRecord::from_json(&kvs[0].value).unwrap();
    assert_eq!(
        mine.vtep_mac.as_deref(),
        Some("0e:50:c6:12:00:0b"),
        "derived from 198.18.0.11"
    );
    let mut rec = LeaseRecord::from_json(&peer("n2", "198.18.0.12")).unwrap();
    rec.vtep_mac = Some("0e:50:c6:12:00:0c".into());
    store
        .put(
            &subnet_key("10.244.7.0/24".parse().unwrap()),
            &rec.to_json(),
        )
        .unwrap();
    until(
        Duration::from_secs(5),
        "route to n2 through the VTEP",
        || async {
            a.routes().await.iter().any(|r| {
                r.dst.to_string() == "10.244.7.0/24"
                    && r.dev.as_deref() == Some("podnet.1")
                    && r.onlink
            })
        },
    )
    .await;
    let neigh = a
        .kernel
        .call(|k| k.ops.neighbours("podnet.1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(neigh.len(), 1, "{neigh:?}");
    assert_eq!(neigh[0].ip.to_string(), "10.244.7.0");
    let nft = a.nft.0.lock().unwrap().scripts.join("\n");
    assert!(nft.contains("vxlan_guard") && nft.contains("8472"), "{nft}");
    drop(nft);
    a.stop().await;
}
