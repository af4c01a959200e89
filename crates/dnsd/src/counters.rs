//! What the server did, counted: atomics bumped on the hot path, read as one serde value for
//! the agent's status.json.

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// A reading of the counters (camelCase in JSON, like the rest of status.json).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    /// Queries received, UDP and TCP.
    pub queries: u64,
    /// Replies built from the cluster snapshot (answers, NODATA, NXDOMAIN, refusals).
    pub answered_locally: u64,
    /// Queries for names outside the cluster domain.
    pub forwarded: u64,
    /// Forwarded queries answered from the cache.
    pub cache_hits: u64,
    /// NXDOMAIN replies, local or forwarded.
    pub nxdomain: u64,
    /// SERVFAIL replies: every upstream failed, or the in-flight cap was reached.
    pub servfail: u64,
    /// Queries that did not decode (FORMERR) or were shorter than a header (dropped).
    pub malformed: u64,
    /// Forwards refused because the in-flight cap was reached (also counted in `servfail`).
    pub overloaded: u64,
    /// Upstream attempts that failed (timeout, I/O error, bad reply).
    pub upstream_errors: u64,
    /// Datagrams dropped without a reply (responses sent to the server).
    pub dropped: u64,
}

/// The live counters.
#[derive(Debug, Default)]
pub(crate) struct Live {
    pub(crate) queries: AtomicU64,
    pub(crate) answered_locally: AtomicU64,
    pub(crate) forwarded: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) nxdomain: AtomicU64,
    pub(crate) servfail: AtomicU64,
    pub(crate) malformed: AtomicU64,
    pub(crate) overloaded: AtomicU64,
    pub(crate) upstream_errors: AtomicU64,
    pub(crate) dropped: AtomicU64,
}

/// Adds one to a counter.
pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Live {
    pub(crate) fn read(&self) -> Counters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counters {
            queries: get(&self.queries),
            answered_locally: get(&self.answered_locally),
            forwarded: get(&self.forwarded),
            cache_hits: get(&self.cache_hits),
            nxdomain: get(&self.nxdomain),
            servfail: get(&self.servfail),
            malformed: get(&self.malformed),
            overloaded: get(&self.overloaded),
            upstream_errors: get(&self.upstream_errors),
            dropped: get(&self.dropped),
        }
    }
}
