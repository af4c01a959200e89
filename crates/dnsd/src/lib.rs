//! podnet's node-local DNS server: the thin tokio shell around the `podnet-dns` core. It owns
//! the sockets (UDP and TCP on one address), the upstreams, the timeouts and the cap on work in
//! flight; every decision about a query's bytes is the core's.
//!
//! The agent binds a [`Server`] on the node-local DNS address, keeps its [`Handle`] to swap in
//! a new [`podnet_dns::Snapshot`] whenever Services, EndpointSlices or Pods change, and reads
//! [`Counters`] into status.json. See docs/dns.md for why that address is link-local and
//! untracked.

mod counters;
mod error;
mod resolve;
mod server;

pub use counters::Counters;
pub use error::ServerError;
pub use server::{Handle, Options, Server};
