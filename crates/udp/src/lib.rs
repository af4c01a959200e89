//! The udp backend's core, sans-IO (in the manner of boringtun's `Tunn`): it takes one packet and
//! the peer table and says what should happen — send this datagram to that node, write this
//! packet to the TUN device, or drop it for a named reason — and the I/O shell does it.
//!
//! Security is decided here, before anything reaches the TUN device: a datagram is dropped (and
//! counted by reason) when its outer source is not a cluster node, its header is not podnet's,
//! its inner IPv4 header is malformed or its lengths disagree, its inner source is neither in the
//! sending node's leased subnet nor that node's own address, or its inner destination is not in
//! this node's subnet.
//!
//! [`gro`] is the other pure half of the fast path: which received TCP segments can be written
//! back to the TUN device as one super-packet, and that packet's header; [`batch`] which
//! datagrams of one TUN read go out together and which wait for the next read.
#![forbid(unsafe_code)]

pub mod batch;
pub mod core;
pub mod gro;
pub mod header;
pub mod ipv4;

pub use crate::core::{Action, DropReason, Drops, Peer, Tunnel};
pub use header::{Header, HEADER_LEN, MAGIC, VERSION};
