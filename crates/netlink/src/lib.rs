//! Every change podnet makes to links, addresses, routes and per-interface sysctls goes through
//! the narrow [`NetOps`] trait defined here, and only this crate talks rtnetlink.
//!
//! Two implementations: [`KernelNetOps`] performs the operations over rtnetlink (one netlink
//! socket in the node namespace, one opened inside the pod namespace while the calling thread is
//! switched into it), and [`RecordingNetOps`] records the `ip` command each operation stands for,
//! keeping a small model of links so that flows can be tested and dry-run without privileges.
//! Each operation documents its `ip` equivalent.
//!
//! This crate does not decide anything: names, addresses and MACs come from the caller's plan,
//! and the values of that plan (routes, neighbours, veth and bridge specs, …) are
//! `podnet-netspec`'s; only the traits, their implementations and [`NetError`] live here.

pub mod backend;
mod error;
mod kernel;
mod kernel_backend;
pub mod netns;
mod recording;
mod recording_backend;
mod tc;

pub use backend::BackendOps;
pub use error::NetError;
pub use kernel::KernelNetOps;
pub use netns::{Netns, NetnsError};
pub use recording::RecordingNetOps;
pub use recording_backend::BackendModel;

use std::path::Path;

use podnet_netspec::{BridgeSpec, ContainerIfSpec, ContainerIfState, PodRouteSpec, VethSpec};

/// The kernel operations the CNI plugin needs, in the node's network namespace (the one the
/// process runs in) and in a pod's namespace (given by path).
pub trait NetOps {
    /// Checks that `path` is a network namespace the plugin can enter (code 3 or 4 if not).
    /// `ip netns identify`-like: open it, check nsfs, `setns` in and back.
    fn check_netns(&mut self, netns: &Path) -> Result<(), NetError>;

    /// Creates the bridge if missing, puts the gateway address on it and sets it up.
    /// `ip link add NAME address 0a:58:GW mtu M type bridge; ip addr add GW/LEN dev NAME;
    /// ip link set NAME up` (a fixed MAC: see [`BridgeSpec::mac`])
    fn ensure_bridge(&mut self, bridge: &BridgeSpec) -> Result<(), NetError>;

    /// Creates a veth pair whose peer is born inside the pod namespace with its final name and MAC.
    /// A stale host side of the same name (left by a killed ADD) is removed first.
    /// `ip link add HOST mtu M type veth peer name IF address MAC netns NS`
    fn create_veth(&mut self, netns: &Path, veth: &VethSpec) -> Result<(), NetError>;

    /// Configures the pod side: no IPv6 autoconfiguration, address, `lo` and the interface up,
    /// routes, the gateway's neighbour entry. `sysctl net.ipv6.conf.IF.accept_ra=0 autoconf=0;
    /// ip addr add A dev IF; ip link set lo up; ip link set IF up;
    /// ip neigh replace GW lladdr MAC dev IF nud permanent; ip route add DST via GW [onlink]`
    fn configure_container(&mut self, netns: &Path, spec: &ContainerIfSpec)
        -> Result<(), NetError>;

    /// Enslaves the host side to the bridge and sets it up; returns its MAC.
    /// `ip link set HOST master BR up; bridge link set dev HOST hairpin on|off`
    fn attach_to_bridge(
        &mut self,
        host: &str,
        bridge: &str,
        hairpin: bool,
    ) -> Result<[u8; 6], NetError>;

    /// Routes a bridge-less pod on the node: strict reverse-path filtering on the host side (a
    /// packet from it must have a source the node routes back to it: the pod's address, so no
    /// spoofing), the host side up, the pod's /32 route, the subnet's fallback. Returns the host
    /// side's MAC. `sysctl -w net.ipv4.conf.HOST.rp_filter=1; ip link set HOST up;
    /// ip route replace POD/32 dev HOST scope link; ip route replace unreachable SUBNET metric 4242`
    /// and, with `spec.fast_path`, the eBPF `from_pod` program at the host side's ingress:
    /// `tc qdisc replace dev HOST clsact; tc filter replace dev HOST ingress pref 1 handle 1 bpf
    /// direct-action …`
    fn route_to_pod(&mut self, spec: &PodRouteSpec) -> Result<[u8; 6], NetError>;

    /// Deletes a link in the node namespace; `Ok(false)` when it was already gone.
    /// `ip link del NAME`
    fn delete_link(&mut self, name: &str) -> Result<bool, NetError>;

    /// Deletes a link inside a pod namespace; `Ok(false)` when it was already gone.
    /// `ip -n NS link del IF`
    fn delete_container_link(&mut self, netns: &Path, ifname: &str) -> Result<bool, NetError>;

    /// Reads the pod side back (CHECK). `None` when the interface does not exist.
    /// `ip -n NS -j addr show IF; ip -n NS -j route show`
    fn container_state(
        &mut self,
        netns: &Path,
        ifname: &str,
    ) -> Result<Option<ContainerIfState>, NetError>;

    /// Names of node-namespace links starting with `prefix` (orphan sweeps and audits).
    /// `ip -j link show | jq '.[].ifname | select(startswith(PREFIX))'`
    fn links_with_prefix(&mut self, prefix: &str) -> Result<Vec<String>, NetError>;

    /// Turns on IPv4 forwarding in the node namespace if it is off.
    /// `sysctl -w net.ipv4.ip_forward=1`
    fn enable_ip_forward(&mut self) -> Result<(), NetError>;
}
