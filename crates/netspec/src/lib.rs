//! podnet's plan vocabulary: the plain values the pure planners produce (the CNI plugin's
//! attachment plan, the agent's backend plan) and the effect traits of `podnet-netlink`
//! (`NetOps`, `BackendOps`) consume or return.
//!
//! - [`backend`]: what the node agent's backends own in the node namespace — routes tagged
//!   with [`RTPROT_PODNET`], permanent neighbour and FDB entries, the VXLAN device — and what
//!   it reads back about a link;
//! - [`pod`]: one pod's attachment — the node bridge, the veth pair, the pod side's address
//!   and routes, a routed pod's node side and its eBPF fast path;
//! - [`diff()`]: the set difference that turns desired and observed entries into the changes
//!   to make, so reconciling never flushes.
//!
//! Data only: this crate holds no effect traits, never talks to the kernel and has no
//! dependency that could (checked by `crates/model/tests/purity.rs`).
#![forbid(unsafe_code)]

pub mod backend;
pub mod diff;
pub mod pod;

pub use backend::{Fdb, LinkState, Neigh, Route, VxlanSpec, RTPROT_PODNET};
pub use diff::{diff, Diff};
pub use pod::{
    BridgeSpec, ContainerIfSpec, ContainerIfState, FastPath, PodRouteSpec, VethSpec,
    UNREACHABLE_METRIC,
};
