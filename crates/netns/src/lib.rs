//! Named network namespaces, as the commands that build their own (the lab, the benchmarks, the
//! demo) and the kernel tests use them: create and remove them (`ip netns add/del`; removing
//! one first stops any process still in it, so a forgotten daemon cannot keep it alive), run
//! programs inside one (`nsenter --net=`, which unlike `ip netns exec` leaves /sys alone), run a
//! closure inside one on a thread of its own ([`in_netns`]), invoke a CNI plugin the way a
//! runtime does ([`CniCall`]), and stop at a step boundary when a signal comes ([`interrupt`]).
//!
//! Nothing here touches the calling process's own namespace, except [`enter`], which moves the
//! calling thread (the benchmark uses it to move itself into the node namespace it created).
//! Names are not checked here: callers give every namespace a prefix of their own.

mod cni;
mod error;
pub mod interrupt;
mod ns;
mod procs;
mod thread;

pub use cni::CniCall;
pub use error::NetnsError;
pub use ns::{
    add_ns, bpf_pins, command, del_ns, list_with_prefix, ns_path, run, sysctl, NetnsGuard, BPFFS,
    NETNS_DIR,
};
pub use procs::stop_processes_in;
pub use thread::{enter, in_netns};
