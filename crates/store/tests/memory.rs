//! The in-memory store: the same semantics as the embedded and etcd ones, on tokio's paused
//! clock, plus its fault injection (outage, compaction) and request counts.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

mod common;

use podnet_store::memory::MemoryStore;
use podnet_store::{Datastore, Event, StoreError, WatchBatch, WatchStream};

/// The next batch with events (skipping progress batches).
async fn next_events(w: &mut WatchStream) -> WatchBatch {
    loop {
        let b = w.next().await.unwrap();
        if !b.events.is_empty() {
            return b;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn semantics_and_lease_expiry_on_paused_time() {
    let s = MemoryStore::new();
    common::create_cas_delete(&s).await;
    s.create("/a", "3", None).await.unwrap();
    let lease = s.grant(Duration::from_secs(10)).await.unwrap();
    s.create("/l/k", "v", Some(lease)).await.unwrap();
    tokio::time::advance(Duration::from_secs(6)).await;
    s.keep_alive(lease).await.unwrap();
    tokio::time::advance(Duration::from_secs(6)).await;
    assert!(s.get("/l/k").await.unwrap().is_some(), "kept alive");
    tokio::time::advance(Duration::from_secs(11)).await;
    assert!(s.get("/l/k").await.unwrap().is_none(), "expired");
    assert!(matches!(
        s.keep_alive(lease).await,
        Err(StoreError::LeaseExpired(_))
    ));
    assert!(matches!(
        s.create("/l/k", "v", Some(lease)).await,
        Err(StoreError::LeaseExpired(_))
    ));
    let (kvs, _) = s.list("/").await.unwrap();
    assert_eq!(kvs.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_watch_wakes_for_a_lease_expiring() {
    let s = MemoryStore::new();
    let lease = s.grant(Duration::from_secs(3)).await.unwrap();
    s.create("/w/a", "1", Some(lease)).await.unwrap();
    let (_, rev) = s.list("/w/").await.unwrap();
    let t0 = tokio::time::Instant::now();
    let (events, _) = s.watch("/w/", rev, Duration::from_secs(60)).await.unwrap();
    assert!(
        matches!(&events[..], [Event::Delete { key, .. }] if key == "/w/a"),
        "{events:?}"
    );
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(4),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn stream_sees_changes_then_compaction_is_typed() {
    let s = MemoryStore::new().keep_events(100);
    let (_, rev) = s.list("/w/").await.unwrap();
    let mut w = s.watch_stream("/w/", rev);
    s.create("/w/a", "1", None).await.unwrap();
    s.create("/x", "1", None).await.unwrap();
    let b = next_events(&mut w).await;
    assert!(matches!(&b.events[..], [Event::Put(kv)] if kv.key == "/w/a"));
    assert!(b.revision > rev);
    drop(w);
    // 200 more changes: the first 100 are no longer kept.
    for i in 0..200 {
        s.put(&format!("/w/{i}"), "x").unwrap();
    }
    let mut w = s.watch_stream("/w/", rev);
    match w.next().await {
        Err(StoreError::Compacted { requested, oldest }) => {
            assert_eq!(requested, rev);
            assert!(oldest > rev + 100, "{oldest}");
        }
        other => panic!("expected a compaction error, got {other:?}"),
    }
    // compact() on demand: a watch from before it fails, one from after it works.
    let now = s.revision();
    s.compact(now);
    assert!(matches!(
        s.watch("/w/", now - 1, Duration::from_millis(1)).await,
        Err(StoreError::Compacted { .. })
    ));
    assert!(s.watch("/w/", now, Duration::from_millis(1)).await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn outage_fails_every_call_and_wakes_watchers() {
    let s = MemoryStore::new();
    s.create("/a", "1", None).await.unwrap();
    let (_, rev) = s.list("/").await.unwrap();
    let mut w = s.watch_stream("/", rev);
    assert!(
        w.next().await.unwrap().events.is_empty(),
        "progress first: the store answers"
    );
    s.set_available(false);
    assert!(matches!(w.next().await, Err(StoreError::Unavailable(_))));
    assert!(matches!(s.get("/a").await, Err(StoreError::Unavailable(_))));
    assert!(s.list("/").await.unwrap_err().is_transient());
    s.set_available(true);
    assert_eq!(s.get("/a").await.unwrap().unwrap().value, "1", "data kept");
    assert!(s.stats().lists >= 1);
}
