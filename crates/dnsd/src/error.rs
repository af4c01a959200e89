//! The server's errors: only binding can fail; once bound, every per-query failure is answered
//! (SERVFAIL, FORMERR) and counted, never returned.

use std::net::SocketAddr;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A socket could not be bound.
    #[error("cannot bind dns {transport} socket on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        transport: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// No upstream was given: forwarded names could only ever SERVFAIL.
    #[error("no upstream dns servers given")]
    NoUpstreams,
}
