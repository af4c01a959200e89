//! An informer: a cache of every key under one datastore prefix, kept current by one long-lived
//! watch — Kubernetes' list-then-watch, on podnet's [`Datastore`].
//!
//! It lists once, then watches from the list's revision; each batch of events updates the cache
//! in place (the work per event is the event, not the cluster) and is handed to the caller. A
//! broken watch resumes from the last revision seen; a watch that fell behind the store's kept
//! history ([`StoreError::Compacted`]) causes exactly one re-list, never a loop. The counters in
//! [`InformerStats`] (lists, events, compactions, reconnects) go into the agent's `status.json`.
//!
//! [`Informer::next`] is cancel-safe: dropped mid-wait (in a `select!`), it loses nothing.

use std::collections::BTreeMap;

use podnet_store::{Datastore, Event, KeyValue, Revision, StoreError, WatchStream};
use serde::Serialize;

/// What an informer has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InformerStats {
    /// Full lists: the first one, and one per compaction.
    pub lists: u64,
    /// Events applied to the cache.
    pub events: u64,
    /// Watches that fell behind the store's history (each followed by one list).
    pub compactions: u64,
    /// Watches resumed after a broken stream.
    pub reconnects: u64,
    /// The revision the cache reflects.
    pub revision: Revision,
}

/// What [`Informer::next`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// These events were applied to the cache (none: progress — the store answered).
    Events(Vec<Event>),
    /// The cache was rebuilt from a full list (after a compaction): treat everything as changed.
    Relisted,
}

/// A list-then-watch cache of one prefix.
pub struct Informer<D: Datastore> {
    store: D,
    prefix: String,
    cache: BTreeMap<String, KeyValue>,
    stream: Option<WatchStream>,
    synced: bool,
    stats: InformerStats,
}

impl<D: Datastore> Informer<D> {
    /// An informer of `prefix`; nothing is read until [`Informer::list`] or [`Informer::next`].
    pub fn new(store: D, prefix: &str) -> Self {
        Informer {
            store,
            prefix: prefix.to_string(),
            cache: BTreeMap::new(),
            stream: None,
            synced: false,
            stats: InformerStats::default(),
        }
    }

    /// Replaces the cache with a full list and restarts the watch from its revision.
    pub async fn list(&mut self) -> Result<(), StoreError> {
        let (kvs, revision) = self.store.list(&self.prefix).await?;
        self.cache = kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect();
        self.stats.lists += 1;
        self.stats.revision = revision;
        self.stream = None;
        self.synced = true;
        Ok(())
    }

    /// Waits for the next change and applies it to the cache. Lists first if never listed.
    /// An error (the store is unreachable) leaves the cache as it was; call again to resume
    /// from the last revision seen.
    pub async fn next(&mut self) -> Result<Change, StoreError> {
        if !self.synced {
            self.list().await?;
            return Ok(Change::Relisted);
        }
        let stream = match &mut self.stream {
            Some(s) => s,
            None => self
                .stream
                .insert(self.store.watch_stream(&self.prefix, self.stats.revision)),
        };
        match stream.next().await {
            Ok(batch) => {
                self.stats.revision = self.stats.revision.max(batch.revision);
                self.stats.events += batch.events.len() as u64;
                for ev in &batch.events {
                    match ev {
                        Event::Put(kv) => {
                            self.cache.insert(kv.key.clone(), kv.clone());
                        }
                        Event::Delete { key, .. } => {
                            self.cache.remove(key);
                        }
                    }
                }
                Ok(Change::Events(batch.events))
            }
            Err(StoreError::Compacted { .. }) => {
                self.stats.compactions += 1;
                self.stream = None;
                // Cancel-safe: dropped during the list, the next call lists (and does not meet
                // the compaction, or count it, a second time).
                self.synced = false;
                self.list().await?;
                Ok(Change::Relisted)
            }
            Err(e) => {
                self.stream = None;
                self.stats.reconnects += 1;
                Err(e)
            }
        }
    }

    /// Every cached key and value, in key order.
    pub fn items(&self) -> impl Iterator<Item = &KeyValue> {
        self.cache.values()
    }

    /// Whether the cache is filled by a list (false before the first, and while a relist after
    /// a compaction is under way).
    pub fn synced(&self) -> bool {
        self.synced
    }

    pub fn stats(&self) -> InformerStats {
        self.stats
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use podnet_store::memory::MemoryStore;

    /// The next change with events, skipping progress.
    async fn events<D: Datastore>(inf: &mut Informer<D>) -> Change {
        loop {
            match inf.next().await.unwrap() {
                Change::Events(e) if e.is_empty() => continue,
                c => return c,
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn list_then_watch_then_one_relist_per_compaction() {
        let s = MemoryStore::new().keep_events(50);
        s.put("/p/a", "1").unwrap();
        let mut inf = Informer::new(s.clone(), "/p/");
        assert_eq!(inf.next().await.unwrap(), Change::Relisted);
        assert_eq!(inf.items().count(), 1);
        s.put("/p/b", "2").unwrap();
        s.put("/q/x", "ignored").unwrap();
        assert!(matches!(events(&mut inf).await, Change::Events(e) if e.len() == 1));
        assert_eq!(inf.items().count(), 2);
        // Fall behind: 100 changes while not watching, then the kept log starts past us.
        drop(inf.stream.take());
        for i in 0..100 {
            s.put(&format!("/p/n{i}"), "x").unwrap();
        }
        assert_eq!(events(&mut inf).await, Change::Relisted);
        assert_eq!(inf.items().count(), 102);
        let st = inf.stats();
        assert_eq!((st.lists, st.compactions), (2, 1));
        // After the relist the watch goes on from the list's revision: no further lists.
        s.put("/p/c", "3").unwrap();
        assert!(matches!(events(&mut inf).await, Change::Events(_)));
        assert_eq!(inf.stats().lists, 2);
        assert_eq!(s.stats().lists, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_keeps_the_cache_and_resumes_from_the_last_revision() {
        let s = MemoryStore::new();
        let mut inf = Informer::new(s.clone(), "/p/");
        inf.next().await.unwrap();
        s.put("/p/a", "1").unwrap();
        events(&mut inf).await;
        s.set_available(false);
        assert!(inf.next().await.is_err());
        assert_eq!(inf.items().count(), 1, "cache kept through the outage");
        s.set_available(true);
        s.put("/p/b", "2").unwrap();
        assert!(matches!(events(&mut inf).await, Change::Events(e) if e.len() == 1));
        assert_eq!(inf.stats().lists, 1, "resumed, not re-listed");
        assert_eq!(inf.stats().reconnects, 1);
    }
}
