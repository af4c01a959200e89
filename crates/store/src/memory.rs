//! [`MemoryStore`]: the [`Datastore`] in memory, for tests of whole agents. It keeps etcd's
//! semantics (revisions, create-if-absent, compare-and-swap, TTL leases on an injected clock,
//! watch after a revision, compaction) and adds what tests need to play the datastore's failures:
//! an outage ([`MemoryStore::set_available`]), a compaction on demand ([`MemoryStore::compact`])
//! and counts of what clients asked of it ([`MemoryStore::stats`]).
//!
//! Clones share one store. With [`crate::TokioClock`] and `tokio::time::pause()` a test drives
//! lease expiry and watch timeouts with no real sleep.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use crate::clock::{Clock, TokioClock};
use crate::types::{Event, KeyValue, LeaseId, Revision, StoreError};
use crate::Datastore;

/// Changes kept for watchers unless told otherwise (as the embedded store).
pub const DEFAULT_KEEP: usize = crate::embedded::EVENT_LOG_KEEP as usize;

/// What clients have asked of the store so far.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// `list` calls (an informer's relists show here).
    pub lists: u64,
    /// `watch` calls (bounded waits).
    pub watches: u64,
    /// Successful writes (puts, deletes, lease grants, keep-alives, revokes).
    pub writes: u64,
}

/// The in-memory store. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    changed: Notify,
    clock: Box<dyn Clock>,
}

struct Entry {
    value: String,
    mod_revision: Revision,
    lease: Option<LeaseId>,
}

struct State {
    revision: Revision,
    kv: BTreeMap<String, Entry>,
    /// Lease id → (ttl, expiry), in the clock's milliseconds.
    leases: BTreeMap<i64, (i64, i64)>,
    next_lease: i64,
    events: VecDeque<(Revision, Event)>,
    /// Every event up to this revision is gone.
    compacted: Revision,
    keep: usize,
    available: bool,
    latency: Duration,
    stats: Stats,
}

impl State {
    fn up(&self) -> Result<(), StoreError> {
        if self.available {
            Ok(())
        } else {
            Err(StoreError::Unavailable("memory store is down".into()))
        }
    }

    fn log(&mut self, ev: Event) {
        let rev = self.revision;
        self.events.push_back((rev, ev));
        while self.events.len() > self.keep {
            if let Some((r, _)) = self.events.pop_front() {
                self.compacted = r;
            }
        }
    }

    fn put(&mut self, key: &str, value: &str, lease: Option<LeaseId>) -> Revision {
        self.revision += 1;
        let entry = Entry {
            value: value.to_string(),
            mod_revision: self.revision,
            lease,
        };
        self.kv.insert(key.to_string(), entry);
        self.log(Event::Put(KeyValue {
            key: key.to_string(),
            value: value.to_string(),
            mod_revision: self.revision,
            lease,
        }));
        self.stats.writes += 1;
        self.revision
    }

    fn remove(&mut self, key: &str) -> bool {
        if self.kv.remove(key).is_none() {
            return false;
        }
        self.revision += 1;
        let revision = self.revision;
        self.log(Event::Delete {
            key: key.to_string(),
            revision,
        });
        self.stats.writes += 1;
        true
    }

    /// Removes expired leases and their keys (with delete events); `true` if anything changed.
    fn expire(&mut self, now: i64) -> bool {
        let dead: Vec<i64> = self
            .leases
            .iter()
            .filter(|(_, (_, exp))| *exp < now)
            .map(|(id, _)| *id)
            .collect();
        for id in &dead {
            self.drop_lease(*id);
        }
        !dead.is_empty()
    }

    fn drop_lease(&mut self, id: i64) {
        self.leases.remove(&id);
        let keys: Vec<String> = self
            .kv
            .iter()
            .filter(|(_, e)| e.lease == Some(LeaseId(id)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.remove(&k);
        }
    }

    fn lease_alive(&self, lease: Option<LeaseId>) -> Result<(), StoreError> {
        match lease {
            Some(l) if !self.leases.contains_key(&l.0) => Err(StoreError::LeaseExpired(l)),
            _ => Ok(()),
        }
    }

    fn next_expiry(&self) -> Option<i64> {
        self.leases.values().map(|(_, exp)| *exp).min()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// A new empty store on tokio's clock ([`TokioClock`]).
    pub fn new() -> Self {
        Self::with_clock(TokioClock::new())
    }

    /// A new empty store on `clock`.
    pub fn with_clock(clock: impl Clock) -> Self {
        MemoryStore {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    revision: 0,
                    kv: BTreeMap::new(),
                    leases: BTreeMap::new(),
                    next_lease: 1,
                    events: VecDeque::new(),
                    compacted: 0,
                    keep: DEFAULT_KEEP,
                    available: true,
                    latency: Duration::ZERO,
                    stats: Stats::default(),
                }),
                changed: Notify::new(),
                clock: Box::new(clock),
            }),
        }
    }

    /// Keeps only the last `n` changes for watchers (older ones are compacted as new ones come).
    pub fn keep_events(self, n: usize) -> Self {
        self.lock().keep = n.max(1);
        self
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every change is one step).
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the state after expiring leases, waking watchers if the revision moved.
    fn op<T>(&self, f: impl FnOnce(&mut State) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let now = self.inner.clock.now_ms();
        let mut st = self.lock();
        st.up()?;
        let before = st.revision;
        st.expire(now);
        let out = f(&mut st);
        let moved = st.revision != before;
        drop(st);
        if moved {
            self.inner.changed.notify_waiters();
        }
        out
    }

    /// Takes the store down (`false`: every call fails as unavailable, watchers are woken with
    /// that error) or brings it back with its data.
    pub fn set_available(&self, up: bool) {
        self.lock().available = up;
        self.inner.changed.notify_waiters();
    }

    /// Forgets every change up to `revision` (etcd's `compact`): a watch from before it fails
    /// with [`StoreError::Compacted`].
    pub fn compact(&self, revision: Revision) {
        let mut st = self.lock();
        while st.events.front().is_some_and(|(r, _)| *r <= revision) {
            st.events.pop_front();
        }
        st.compacted = st.compacted.max(revision.min(st.revision));
        drop(st);
        self.inner.changed.notify_waiters();
    }

    /// Makes every call take `latency` (on tokio's clock) before it acts, as a remote store's
    /// round trip does: callers that cancel slow calls show up in tests.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    async fn round_trip(&self) {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// The current revision.
    pub fn revision(&self) -> Revision {
        self.lock().revision
    }

    /// What clients have asked so far.
    pub fn stats(&self) -> Stats {
        self.lock().stats
    }

    /// Puts a key unconditionally (tests that play another writer, e.g. a hostile one).
    pub fn put(&self, key: &str, value: &str) -> Result<Revision, StoreError> {
        self.op(|st| Ok(st.put(key, value, None)))
    }
}

impl Datastore for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<KeyValue>, StoreError> {
        self.round_trip().await;
        self.op(|st| {
            Ok(st.kv.get(key).map(|e| KeyValue {
                key: key.to_string(),
                value: e.value.clone(),
                mod_revision: e.mod_revision,
                lease: e.lease,
            }))
        })
    }

    async fn list(&self, prefix: &str) -> Result<(Vec<KeyValue>, Revision), StoreError> {
        self.round_trip().await;
        self.op(|st| {
            st.stats.lists += 1;
            let kvs = st
                .kv
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, e)| KeyValue {
                    key: k.clone(),
                    value: e.value.clone(),
                    mod_revision: e.mod_revision,
                    lease: e.lease,
                })
                .collect();
            Ok((kvs, st.revision))
        })
    }

    async fn create(
        &self,
        key: &str,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        self.round_trip().await;
        self.op(|st| {
            st.lease_alive(lease)?;
            if st.kv.contains_key(key) {
                return Ok(None);
            }
            Ok(Some(st.put(key, value, lease)))
        })
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Revision,
        value: &str,
        lease: Option<LeaseId>,
    ) -> Result<Option<Revision>, StoreError> {
        self.round_trip().await;
        self.op(|st| {
            st.lease_alive(lease)?;
            match st.kv.get(key) {
                Some(e) if e.mod_revision == expected => Ok(Some(st.put(key, value, lease))),
                _ => Ok(None),
            }
        })
    }

    async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        self.round_trip().await;
        self.op(|st| Ok(st.remove(key)))
    }

    async fn grant(&self, ttl: Duration) -> Result<LeaseId, StoreError> {
        self.round_trip().await;
        let now = self.inner.clock.now_ms();
        self.op(|st| {
            let id = st.next_lease;
            st.next_lease += 1;
            let ttl = ttl.as_millis() as i64;
            st.leases.insert(id, (ttl, now + ttl));
            st.stats.writes += 1;
            Ok(LeaseId(id))
        })
    }

    async fn keep_alive(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.round_trip().await;
        let now = self.inner.clock.now_ms();
        self.op(|st| match st.leases.get_mut(&lease.0) {
            Some((ttl, exp)) => {
                *exp = now + *ttl;
                st.stats.writes += 1;
                Ok(())
            }
            None => Err(StoreError::LeaseExpired(lease)),
        })
    }

    async fn revoke(&self, lease: LeaseId) -> Result<(), StoreError> {
        self.round_trip().await;
        self.op(|st| {
            st.drop_lease(lease.0);
            st.stats.writes += 1;
            Ok(())
        })
    }

    async fn watch(
        &self,
        prefix: &str,
        after: Revision,
        timeout: Duration,
    ) -> Result<(Vec<Event>, Revision), StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        self.op(|st| {
            st.stats.watches += 1;
            Ok(())
        })?;
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let now = self.inner.clock.now_ms();
            let (events, revision, next_expiry) = self.op(|st| {
                if after < st.compacted {
                    return Err(StoreError::Compacted {
                        requested: after,
                        oldest: st.compacted + 1,
                    });
                }
                let events: Vec<Event> = st
                    .events
                    .iter()
                    .filter(|(r, ev)| *r > after && event_key(ev).starts_with(prefix))
                    .map(|(_, ev)| ev.clone())
                    .collect();
                Ok((events, st.revision, st.next_expiry()))
            })?;
            if !events.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok((events, revision));
            }
            // Wake for a change, the deadline, or the next lease expiry (which makes changes).
            let mut wake = deadline;
            if let Some(exp) = next_expiry {
                let ms = (exp - now + 1).max(1) as u64;
                wake = wake.min(tokio::time::Instant::now() + Duration::from_millis(ms));
            }
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }
}

fn event_key(ev: &Event) -> &str {
    match ev {
        Event::Put(kv) => &kv.key,
        Event::Delete { key, .. } => key,
    }
}
