//! One pod's attachment as the CNI plugin plans it: the node bridge, the veth pair, what the
//! pod side should look like (and how the kernel reports it back), and the node side of a
//! routed pod with its optional eBPF fast path.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The node's pod bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    pub name: String,
    pub mtu: u32,
    /// Gateway address with the subnet's prefix length, e.g. 10.244.1.1/24.
    pub gateway: Ipv4Net,
}

impl BridgeSpec {
    /// The bridge's MAC, set when it is created: `0a:58` and the gateway's address (a pod's
    /// is `0a:58` and its own, so none collide). A bridge without one takes the lowest MAC of
    /// its ports and changes it when that port goes: every pod still holding the old gateway
    /// MAC in its ARP cache then loses the way off the node until the entry expires.
    pub fn mac(&self) -> [u8; 6] {
        let [a, b, c, d] = self.gateway.addr().octets();
        [0x0a, 0x58, a, b, c, d]
    }
}

/// A veth pair between the node and a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethSpec {
    pub host_name: String,
    pub container_name: String,
    pub container_mac: [u8; 6],
    /// The host side's MAC; `None` lets the kernel pick one.
    pub host_mac: Option<[u8; 6]>,
    pub mtu: u32,
}

/// What the pod side should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerIfSpec {
    pub ifname: String,
    pub address: Ipv4Net,
    /// Routes as (destination, gateway).
    pub routes: Vec<(Ipv4Net, Ipv4Addr)>,
    /// Gateways are on-link even outside the address's prefix (a /32 pod with a link-local
    /// gateway): `ip route add DST via GW dev IF onlink`.
    pub onlink: bool,
    /// A permanent neighbour entry for the gateway, so the pod never has to ask for it.
    pub gateway_neigh: Option<(Ipv4Addr, [u8; 6])>,
}

/// The addresses an eBPF fast-path program is loaded with (`podnet-ebpf` loads it,
/// `podnet-netlink` attaches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastPath {
    /// The cluster CIDR: only packets with both addresses in it take the fast path.
    pub cluster: Ipv4Net,
    /// This node's pod subnet: its addresses are entered with `bpf_redirect_peer`.
    pub local: Ipv4Net,
}

/// The node side of a routed (bridge-less) pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodRouteSpec {
    /// The host-side veth.
    pub host: String,
    /// The pod's address; the node routes it as a /32 to `host`.
    pub pod: Ipv4Addr,
    /// The node's pod subnet: unreachable (at [`UNREACHABLE_METRIC`]) where no pod is, so a
    /// packet for a free address is refused here rather than sent back to the default route.
    pub subnet: Ipv4Net,
    /// The eBPF fast path: `from_pod` attached at the host veth's tc ingress; `None` leaves
    /// the pod on the kernel's forwarding path only.
    pub fast_path: Option<FastPath>,
}

/// Metric of the node subnet's `unreachable` route: above any connected route (a bridge's, in a
/// node that also has bridged pods), so it is only the fallback.
pub const UNREACHABLE_METRIC: u32 = 4242;

/// The pod side as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContainerIfState {
    pub mac: [u8; 6],
    pub mtu: u32,
    pub up: bool,
    pub addresses: Vec<Ipv4Net>,
    /// Main-table IPv4 routes through this interface, as (destination, gateway).
    pub routes: Vec<(Ipv4Net, Option<Ipv4Addr>)>,
}
