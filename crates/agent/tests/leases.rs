//! Subnet leases against real stores: the race for subnets, restarts, expiry and loss.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use podnet_agent::leaser::{acquire, list_leases, renew};
use podnet_agent::AgentError;
use podnet_model::lease::{subnet_key, LeaseRecord, SubnetConfig};
use podnet_store::embedded::EmbeddedStore;
use podnet_store::etcd::EtcdStore;
use podnet_store::etcd_server::{free_loopback_port, EtcdServer};
use podnet_store::{Datastore, ManualClock};

const TTL: Duration = Duration::from_secs(30);

fn cfg() -> SubnetConfig {
    // 10.244.0.0/20 in /24s: exactly 16 subnets.
    SubnetConfig {
        cluster: "10.244.0.0/20".parse().unwrap(),
        subnet_len: 24,
    }
}

fn record(node: &str) -> LeaseRecord {
    LeaseRecord {
        node: node.into(),
        public_ip: "198.18.0.10".parse().unwrap(),
        backend: "vxlan".into(),
        vtep_mac: None,
    }
}

/// 32 agents, each with its own client, claim at once; returns the subnets won.
async fn race<D: Datastore + Clone>(clients: Vec<D>) -> Vec<ipnet::Ipv4Net> {
    let handles: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            tokio::spawn(async move {
                acquire(&s, &cfg(), &record(&format!("node-{i}")), None, TTL).await
            })
        })
        .collect();
    let mut won = Vec::new();
    for h in handles {
        match h.await.unwrap() {
            Ok(lease) => won.push(lease.subnet),
            Err(AgentError::NoFreeSubnet { .. }) => {}
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    won
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_agents_sixteen_subnets_embedded_100_runs() {
    for run in 0..100 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let clients: Vec<_> = (0..32)
            .map(|_| EmbeddedStore::open(&path).unwrap())
            .collect();
        let won = race(clients).await;
        let distinct: HashSet<_> = won.iter().collect();
        assert_eq!((won.len(), distinct.len()), (16, 16), "run {run}: {won:?}");
        let (leases, _) = list_leases(&EmbeddedStore::open(&path).unwrap())
            .await
            .unwrap();
        assert_eq!(leases.len(), 16, "run {run}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thirty_two_agents_sixteen_subnets_etcd_10_runs() {
    let dir = tempfile::tempdir().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{}", free_loopback_port().unwrap())
        .parse()
        .unwrap();
    let server = EtcdServer::start(addr, &dir.path().join("etcd"), &[]).unwrap();
    for run in 0..10 {
        let mut clients = Vec::new();
        for _ in 0..32 {
            clients.push(EtcdStore::connect(&[server.endpoint()]).await.unwrap());
        }
        let admin = clients[0].clone();
        let won = race(clients).await;
        let distinct: HashSet<_> = won.iter().collect();
        assert_eq!((won.len(), distinct.len()), (16, 16), "run {run}: {won:?}");
        let (leases, _) = list_leases(&admin).await.unwrap();
        assert_eq!(leases.len(), 16, "run {run}");
        for l in leases {
            admin.delete(&subnet_key(l.subnet)).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_restarted_agent_keeps_its_subnet() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let s = EmbeddedStore::open_with_clock(&dir.path().join("store.db"), clock.clone()).unwrap();
    let first = acquire(&s, &cfg(), &record("n1"), None, TTL).await.unwrap();
    // Restart while the lease is alive: the agent adopts its own key.
    let again = acquire(&s, &cfg(), &record("n1"), None, TTL).await.unwrap();
    assert_eq!(again.subnet, first.subnet);
    // Down longer than the TTL: the key expired, but its remembered subnet is still free.
    clock.advance(TTL * 2);
    let after = acquire(&s, &cfg(), &record("n1"), Some(first.subnet), TTL)
        .await
        .unwrap();
    assert_eq!(after.subnet, first.subnet);
    // Renewal keeps it.
    clock.advance(TTL / 2);
    let renewed = renew(&s, &cfg(), &record("n1"), &after, TTL).await.unwrap();
    assert_eq!(renewed, after);
}

#[tokio::test]
async fn a_node_that_loses_its_lease_is_told() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let s = EmbeddedStore::open_with_clock(&dir.path().join("store.db"), clock.clone()).unwrap();
    let n1 = acquire(&s, &cfg(), &record("n1"), None, TTL).await.unwrap();
    clock.advance(TTL * 2); // n1 was partitioned away; its lease expired
    let n2 = acquire(&s, &cfg(), &record("n2"), Some(n1.subnet), TTL)
        .await
        .unwrap();
    assert_eq!(n2.subnet, n1.subnet);
    match renew(&s, &cfg(), &record("n1"), &n1, TTL).await {
        Err(AgentError::Lost { subnet, holder }) => {
            assert_eq!(subnet, n1.subnet);
            assert_eq!(holder, "n2");
        }
        other => panic!("expected Lost, got {other:?}"),
    }
    // Only n2 holds that subnet; n1 holds nothing.
    let (leases, _) = list_leases(&s).await.unwrap();
    let holders: Vec<_> = leases.iter().map(|l| l.record.node.as_str()).collect();
    assert_eq!(holders, vec!["n2"]);
}
