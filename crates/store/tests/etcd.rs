//! The same semantics against a real etcd (Debian's etcd-server) started on loopback by the test
//! and stopped by PID. Lease expiry here is etcd's own clock, so that case polls.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

mod common;

use podnet_store::etcd::EtcdStore;
use podnet_store::etcd_server::{free_loopback_port, EtcdServer};
use podnet_store::{Datastore, Event, StoreError};

async fn etcd() -> (tempfile::TempDir, EtcdServer, EtcdStore) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_loopback_port().unwrap();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let server = EtcdServer::start(addr, &dir.path().join("etcd"), &[])
        .expect("etcd-server must be installed (scripts/setup.sh)");
    let store = EtcdStore::connect(&[server.endpoint()]).await.unwrap();
    (dir, server, store)
}

#[tokio::test]
async fn etcd_semantics() {
    let (_dir, _server, s) = etcd().await;
    common::create_cas_delete(&s).await;

    // Watch sees a put after a revision.
    let (_, rev) = s.list("/w/").await.unwrap();
    s.create("/w/x", "v", None).await.unwrap();
    let (events, _) = s.watch("/w/", rev, Duration::from_secs(3)).await.unwrap();
    assert!(
        matches!(&events[..], [Event::Put(kv)] if kv.key == "/w/x"),
        "{events:?}"
    );

    // A lease that is not kept alive expires and takes its key; keep_alive then fails.
    let lease = s.grant(Duration::from_secs(2)).await.unwrap();
    s.create("/l", "v", Some(lease)).await.unwrap().unwrap();
    s.keep_alive(lease).await.unwrap();
    let mut gone = false;
    for _ in 0..100 {
        if s.get("/l").await.unwrap().is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(gone, "leased key did not expire");
    let ka = s.keep_alive(lease).await;
    assert!(matches!(ka, Err(StoreError::LeaseExpired(_))), "{ka:?}");
    let c = s.create("/m", "v", Some(lease)).await;
    assert!(matches!(c, Err(StoreError::LeaseExpired(_))), "{c:?}");
}

#[tokio::test]
async fn etcd_race_for_keys() {
    let (_dir, server, _) = etcd().await;
    let mut handles = Vec::new();
    for c in 0..32 {
        let s = EtcdStore::connect(&[server.endpoint()]).await.unwrap();
        handles.push(tokio::spawn(async move {
            let mut won = 0;
            for k in 0..16 {
                if s.create(&format!("/race/{k}"), &format!("client {c}"), None)
                    .await
                    .unwrap()
                    .is_some()
                {
                    won += 1;
                }
            }
            won
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap();
    }
    assert_eq!(total, 16);
}

#[tokio::test]
async fn etcd_watch_stream_and_compaction() {
    let (_dir, _server, s) = etcd().await;
    let (_, rev) = s.list("/w/").await.unwrap();
    let mut w = s.watch_stream("/w/", rev);
    s.create("/w/a", "1", None).await.unwrap();
    s.create("/elsewhere", "x", None).await.unwrap();
    s.create("/w/b", "2", None).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let b = tokio::time::timeout(Duration::from_secs(5), w.next())
            .await
            .expect("events within 5 s")
            .unwrap();
        seen.extend(b.events);
    }
    assert!(
        matches!(&seen[..], [Event::Put(a), Event::Put(b)] if a.key == "/w/a" && b.key == "/w/b")
    );
    drop(w);
    // Compacted history: a stream from before the compaction ends with the typed error.
    for i in 0..5 {
        s.create(&format!("/w/c{i}"), "x", None).await.unwrap();
    }
    let (_, now) = s.list("/").await.unwrap();
    s.compact(now).await.unwrap();
    let mut w = s.watch_stream("/w/", rev);
    let err = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            // Progress first (the watch was created), then the compaction.
            match w.next().await {
                Ok(b) => assert!(b.events.is_empty(), "{b:?}"),
                Err(e) => return e,
            }
        }
    })
    .await
    .expect("an answer within 5 s");
    assert!(matches!(err, StoreError::Compacted { .. }), "{err}");
}
