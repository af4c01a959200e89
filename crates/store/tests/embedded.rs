//! The embedded store's etcd semantics, with a manual clock (no real sleeps).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

mod common;

use podnet_store::embedded::EmbeddedStore;
use podnet_store::{Datastore, Event, ManualClock, StoreError};

fn store() -> (tempfile::TempDir, EmbeddedStore, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(1_000_000));
    let s = EmbeddedStore::open_with_clock(&dir.path().join("store.db"), clock.clone()).unwrap();
    (dir, s, clock)
}

#[tokio::test]
async fn create_if_absent_and_compare_and_swap() {
    let (_d, s, _) = store();
    common::create_cas_delete(&s).await;
}

#[tokio::test]
async fn list_by_prefix_with_revision() {
    let (_d, s, _) = store();
    for k in ["/x/1", "/x/2", "/y/1"] {
        s.create(k, k, None).await.unwrap();
    }
    let (kvs, rev) = s.list("/x/").await.unwrap();
    assert_eq!(
        kvs.iter().map(|k| k.key.as_str()).collect::<Vec<_>>(),
        vec!["/x/1", "/x/2"]
    );
    assert_eq!(rev, 3);
}

#[tokio::test]
async fn leases_expire_unless_kept_alive() {
    let (_d, s, clock) = store();
    let lease = s.grant(Duration::from_secs(10)).await.unwrap();
    s.create("/l", "v", Some(lease)).await.unwrap().unwrap();
    clock.advance(Duration::from_secs(8));
    s.keep_alive(lease).await.unwrap();
    clock.advance(Duration::from_secs(8));
    assert!(s.get("/l").await.unwrap().is_some(), "kept alive");
    clock.advance(Duration::from_secs(3));
    assert!(
        s.get("/l").await.unwrap().is_none(),
        "expired keys are invisible at once"
    );
    assert!(matches!(
        s.keep_alive(lease).await,
        Err(StoreError::LeaseExpired(_))
    ));
    assert!(matches!(
        s.create("/m", "v", Some(lease)).await,
        Err(StoreError::LeaseExpired(_))
    ));
    // The key can be claimed by someone else now.
    assert!(s.create("/l", "other", None).await.unwrap().is_some());
}

#[tokio::test]
async fn revoke_deletes_the_keys() {
    let (_d, s, _) = store();
    let lease = s.grant(Duration::from_secs(10)).await.unwrap();
    s.create("/r", "v", Some(lease)).await.unwrap();
    s.revoke(lease).await.unwrap();
    assert!(s.get("/r").await.unwrap().is_none());
}

#[tokio::test]
async fn watch_sees_puts_deletes_and_expiry() {
    let (_d, s, clock) = store();
    let (_, rev) = s.list("/w/").await.unwrap();
    let lease = s.grant(Duration::from_secs(5)).await.unwrap();
    s.create("/w/a", "1", Some(lease)).await.unwrap();
    s.create("/other", "x", None).await.unwrap();
    let (events, rev) = s
        .watch("/w/", rev, Duration::from_millis(10))
        .await
        .unwrap();
    assert!(matches!(&events[..], [Event::Put(kv)] if kv.key == "/w/a"));
    clock.advance(Duration::from_secs(6));
    let (events, _) = s
        .watch("/w/", rev, Duration::from_millis(10))
        .await
        .unwrap();
    assert!(
        matches!(&events[..], [Event::Delete { key, .. }] if key == "/w/a"),
        "{events:?}"
    );
    let (events, _) = s
        .watch("/w/", i64::MAX - 1, Duration::from_millis(10))
        .await
        .unwrap();
    assert!(events.is_empty());
}

#[tokio::test]
async fn many_clients_race_for_keys() {
    // 32 clients (separate connections, as separate processes have) race for 16 keys.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let mut handles = Vec::new();
    for c in 0..32 {
        let s = EmbeddedStore::open(&path).unwrap();
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
    let s = EmbeddedStore::open(&path).unwrap();
    assert_eq!(s.list("/race/").await.unwrap().0.len(), 16);
}

#[tokio::test]
async fn watch_behind_the_kept_log_is_a_typed_compaction() {
    let (_d, s, _clock) = store();
    let (_, rev) = s.list("/c/").await.unwrap();
    let n = podnet_store::embedded::EVENT_LOG_KEEP + 10;
    let last = s
        .put_many(
            (0..n)
                .map(|i| (format!("/c/{i}"), "x".to_string()))
                .collect(),
        )
        .await
        .unwrap();
    assert_eq!(last, rev + n, "one revision per key");
    match s.watch("/c/", rev, Duration::from_millis(10)).await {
        Err(StoreError::Compacted { requested, oldest }) => {
            assert_eq!(requested, rev);
            assert!(oldest > rev + 1);
        }
        other => panic!("expected a compaction error, got {other:?}"),
    }
    let (_, now) = s.list("/c/").await.unwrap();
    let mut w = s.watch_stream("/c/", now);
    s.create("/c/last", "x", None).await.unwrap();
    let mut b = w.next().await.unwrap();
    while b.events.is_empty() {
        b = w.next().await.unwrap();
    }
    assert!(matches!(&b.events[..], [Event::Put(kv)] if kv.key == "/c/last"));
}
