//! What a lab is made of. The built-in default: 3 nodes on one L2 segment, vxlan, 2 pods per
//! node. Addresses: segment k is 198.18.k.0/24 (router .1, node i .(10+i)); the "internet" is
//! 198.19.255.0/24 behind the router; pods get 10.244.0.0/16 through the agents' leases.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

/// How a pod gets its network (Docker's four modes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodMode {
    /// Its own namespace, wired by the CNI plugin.
    Bridge,
    /// The node's namespace.
    Host,
    /// Its own namespace with loopback only.
    None,
    /// Another pod's namespace (the Kubernetes pause-container pattern).
    Container(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    pub segment: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSpec {
    pub name: String,
    pub node: String,
    pub mode: PodMode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabSpec {
    pub name: String,
    pub backend: String,
    pub segments: usize,
    pub nodes: Vec<NodeSpec>,
    pub pods: Vec<PodSpec>,
}

impl LabSpec {
    /// `nodes` nodes spread over `segments` segments, `pods_per_node` bridge pods each.
    pub fn generated(
        name: &str,
        backend: &str,
        nodes: usize,
        segments: usize,
        pods_per_node: usize,
    ) -> LabSpec {
        let segments = segments.max(1);
        let nodes: Vec<NodeSpec> = (1..=nodes)
            .map(|i| NodeSpec {
                name: format!("n{i}"),
                segment: (i - 1) % segments,
            })
            .collect();
        let pods = nodes
            .iter()
            .flat_map(|n| {
                (0..pods_per_node).map(move |p| PodSpec {
                    name: format!("{}-{}", n.name, (b'a' + p as u8) as char),
                    node: n.name.clone(),
                    mode: PodMode::Bridge,
                })
            })
            .collect();
        LabSpec {
            name: name.into(),
            backend: backend.into(),
            segments,
            nodes,
            pods,
        }
    }

    /// The built-in default lab.
    pub fn default_lab() -> LabSpec {
        Self::generated("default", "vxlan", 3, 1, 2)
    }
}

/// Underlay address of node `index` (1-based) on `segment`.
pub fn node_ip(segment: usize, index: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, segment as u8, 10 + index as u8)
}

/// The router's address on `segment`.
pub fn router_ip(segment: usize) -> Ipv4Addr {
    Ipv4Addr::new(198, 18, segment as u8, 1)
}

/// The "internet" side: router 198.19.255.1, internet host 198.19.255.2.
pub const INET_ROUTER: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 1);
pub const INET_HOST: Ipv4Addr = Ipv4Addr::new(198, 19, 255, 2);
/// Ports of `podnet serve`: pods, nodes, and the internet host.
pub const POD_PORT: u16 = 8080;
pub const NODE_PORT: u16 = 8081;
pub const SIDECAR_PORT: u16 = 8082;
