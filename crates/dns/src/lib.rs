//! podnet's cluster DNS core, the `dns` part of the design: a [`Snapshot`] of the records
//! CoreDNS's kubernetes plugin would serve for the Services, EndpointSlices and Pods it is built
//! from; [`handle`], which turns one query's bytes into an [`Action`] (a reply, or a
//! [`Forward`] for names outside the cluster domain); and the [`Cache`] of forwarded answers.
//!
//! Sans-IO: no sockets, no runtime, no clock (the cache takes `now`). The server shell,
//! `podnet-dnsd`, owns the sockets, the upstreams, the timeouts and the snapshot swaps.

mod build;
mod cache;
mod forward;
mod handle;
mod lookup;
pub mod names;
mod snapshot;
mod wire;

pub use cache::{Cache, CacheConfig, Question};
pub use forward::{Answer, Forward, UpstreamError};
pub use handle::{handle, Action, DropReason, Reply, ReplyKind};
pub use snapshot::{Config, PodRecords, Snapshot, SnapshotError, CLUSTER_TTL, DEFAULT_DOMAIN};
pub use wire::{Transport, CLASSIC_UDP_LIMIT, EDNS_UDP_PAYLOAD, HEADER_LEN, TCP_LIMIT};
