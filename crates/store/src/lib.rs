//! The datastore the node agents share: the [`Datastore`] trait and its implementations.
//!
//! The semantics are etcd's, because etcd is the multi-machine backend: every change gets a
//! global, increasing revision; keys can be created only if absent or replaced only if unchanged
//! since a revision (compare-and-swap); keys can be tied to a lease that expires unless kept
//! alive; and a watcher receives every change after a revision, unless the store has compacted
//! it away ([`StoreError::Compacted`]: re-list). [`embedded::EmbeddedStore`]
//! provides the same on one machine with no server: a SQLite file that any number of agent
//! processes share; [`memory::MemoryStore`] is the same in memory, with fault injection, for tests
//! of whole agents. Time comes from an injectable [`Clock`].
//!
//! Values are strings (podnet stores JSON). This crate knows nothing about subnets or nodes.
#![forbid(unsafe_code)]

pub mod clock;
pub mod embedded;
pub mod etcd;
pub mod etcd_server;
pub mod memory;
mod types;
mod watch;

pub use clock::{Clock, ManualClock, SystemClock, TokioClock};
pub use types::{Event, KeyValue, LeaseId, Revision, StoreError, WatchBatch};
pub use watch::{Sender, WatchStream};

use std::future::Future;
use std::time::Duration;

/// A shared key-value store with etcd semantics.
pub trait Datastore: Clone + Send + Sync + 'static {
    /// One key, if present.
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<KeyValue>, StoreError>> + Send;

    /// Every key under `prefix`, and the store's revision at the time of the read.
    fn list(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<(Vec<KeyValue>, Revision), StoreError>> + Send;

    /// Creates `key` only if it does not exist. `Ok(None)`: it existed, nothing changed.
    fn create(
        &self,
        key: &str,
        value: &str,
        lease: Option<LeaseId>,
    ) -> impl Future<Output = Result<Option<Revision>, StoreError>> + Send;

    /// Replaces `key` only if its last change is `expected`. `Ok(None)`: it changed (or is gone).
    fn compare_and_swap(
        &self,
        key: &str,
        expected: Revision,
        value: &str,
        lease: Option<LeaseId>,
    ) -> impl Future<Output = Result<Option<Revision>, StoreError>> + Send;

    /// Deletes `key`; `Ok(false)` when it was not there.
    fn delete(&self, key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// A new lease that expires `ttl` from now unless kept alive.
    fn grant(&self, ttl: Duration) -> impl Future<Output = Result<LeaseId, StoreError>> + Send;

    /// Extends a lease by its TTL. [`StoreError::LeaseExpired`] when it is gone.
    fn keep_alive(&self, lease: LeaseId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Ends a lease now, deleting its keys.
    fn revoke(&self, lease: LeaseId) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Changes under `prefix` after revision `after`, waiting up to `timeout` for the first one.
    /// Returns the events (possibly none) and the revision to pass next time.
    fn watch(
        &self,
        prefix: &str,
        after: Revision,
        timeout: Duration,
    ) -> impl Future<Output = Result<(Vec<Event>, Revision), StoreError>> + Send;

    /// Every change under `prefix` after revision `after`, as one long-lived stream (informers).
    /// The default follows [`Datastore::watch`] in bounded waits; etcd keeps one watch stream.
    fn watch_stream(&self, prefix: &str, after: Revision) -> WatchStream {
        watch::polled(self, prefix, after)
    }
}
