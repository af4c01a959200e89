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

impl std::fmt::Display for PodMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PodMode::Bridge => f.write_str("bridge"),
            PodMode::Host => f.write_str("host"),
            PodMode::None => f.write_str("none"),
            PodMode::Container(p) => write!(f, "container:{p}"),
        }
    }
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
    #[serde(default = "default_store")]
    pub store: String,
    /// How pods meet their node: `bridge` (default) or `routed` (the plugin's `"mode"`).
    #[serde(default = "default_pod_path")]
    pub pod_path: String,
    pub segments: usize,
    pub nodes: Vec<NodeSpec>,
    pub pods: Vec<PodSpec>,
    /// Extra `podnet agent` flags for every node (not in the YAML form; `podnet bench` uses it
    /// for `--udp-offload false`).
    #[serde(default)]
    pub agent_args: Vec<String>,
}

fn default_store() -> String {
    "embedded".into()
}

fn default_pod_path() -> String {
    "bridge".into()
}

/// Checks a pod path (`--pod-path`, `podPath:`).
pub fn check_pod_path(p: &str) -> Result<(), String> {
    match p {
        "bridge" | "routed" | "ebpf" => Ok(()),
        _ => Err(format!("podPath: {p:?} is not bridge, routed or ebpf")),
    }
}

/// The YAML form (see `examples/`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    name: Option<String>,
    backend: Option<String>,
    store: Option<String>,
    #[serde(rename = "podPath")]
    pod_path: Option<String>,
    /// Extra flags for every node's `podnet agent` (e.g. `["--fast-path"]`).
    #[serde(rename = "agentArgs", default)]
    agent_args: Vec<String>,
    segments: Option<usize>,
    nodes: Vec<RawNode>,
    #[serde(default)]
    pods: Vec<RawPod>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNode {
    name: String,
    #[serde(default)]
    segment: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPod {
    name: String,
    node: String,
    /// `bridge` (default), `host`, `none` or `container:POD`.
    mode: Option<String>,
    /// Kubernetes namespace and labels: carried for Services and NetworkPolicy.
    #[allow(dead_code)]
    namespace: Option<String>,
    #[allow(dead_code)]
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
}

fn valid_name(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Parses and validates a YAML lab spec; errors name the offending entry.
pub fn parse_yaml(text: &str) -> Result<LabSpec, String> {
    let raw: RawSpec = serde_yaml_ng::from_str(text).map_err(|e| format!("lab spec: {e}"))?;
    let segments = raw.segments.unwrap_or(1);
    if !(1..=4).contains(&segments) {
        return Err(format!("segments: {segments} is not in 1..=4"));
    }
    let name = raw.name.unwrap_or_else(|| "default".into());
    if !valid_name(&name, 16) {
        return Err(format!("name: {name:?}: use 1-16 of a-z, 0-9, '-'"));
    }
    let backend = raw.backend.unwrap_or_else(|| "vxlan".into());
    if !["vxlan", "host-gw", "udp"].contains(&backend.as_str()) {
        return Err(format!("backend: {backend:?} is not vxlan, host-gw or udp"));
    }
    let store = raw.store.unwrap_or_else(default_store);
    if store != "embedded" && store != "etcd" {
        return Err(format!("store: {store:?} is not embedded or etcd"));
    }
    let pod_path = raw.pod_path.unwrap_or_else(default_pod_path);
    check_pod_path(&pod_path)?;
    if let Some(a) = raw.agent_args.iter().find(|a| !a.starts_with("--")) {
        return Err(format!("agentArgs: {a:?} is not a --flag of podnet agent"));
    }
    if raw.nodes.is_empty() || raw.nodes.len() > 9 {
        return Err("nodes: a lab has 1 to 9 nodes".into());
    }
    let mut nodes = Vec::new();
    for n in raw.nodes {
        if !valid_name(&n.name, 12)
            || n.name == "router"
            || n.name == "inet"
            || n.name.starts_with("sw")
        {
            return Err(format!(
                "nodes: {:?}: use 1-12 of a-z, 0-9, '-' (not router, inet, sw*)",
                n.name
            ));
        }
        if n.segment >= segments {
            return Err(format!(
                "nodes: {}: segment {} does not exist (segments: {segments})",
                n.name, n.segment
            ));
        }
        if nodes.iter().any(|x: &NodeSpec| x.name == n.name) {
            return Err(format!("nodes: {:?} appears twice", n.name));
        }
        nodes.push(NodeSpec {
            name: n.name,
            segment: n.segment,
        });
    }
    let mut pods: Vec<PodSpec> = Vec::new();
    for p in raw.pods {
        if !valid_name(&p.name, 12)
            || nodes.iter().any(|n| n.name == p.name)
            || pods.iter().any(|x| x.name == p.name)
        {
            return Err(format!(
                "pods: {:?}: a unique name of 1-12 of a-z, 0-9, '-' (not a node's)",
                p.name
            ));
        }
        if !nodes.iter().any(|n| n.name == p.node) {
            return Err(format!(
                "pods: {}: node {:?} does not exist",
                p.name, p.node
            ));
        }
        let mode = match p.mode.as_deref().unwrap_or("bridge") {
            "bridge" => PodMode::Bridge,
            "host" => PodMode::Host,
            "none" => PodMode::None,
            m => match m.strip_prefix("container:") {
                Some(other) => {
                    let target = pods.iter().find(|x| x.name == other).ok_or_else(|| {
                        format!(
                            "pods: {}: container:{other} must name an earlier pod",
                            p.name
                        )
                    })?;
                    if target.node != p.node || matches!(target.mode, PodMode::Container(_)) {
                        return Err(format!("pods: {}: container:{other} must be an earlier pod on the same node, not itself a container: pod", p.name));
                    }
                    PodMode::Container(other.to_string())
                }
                None => {
                    return Err(format!(
                        "pods: {}: mode {m:?} is not bridge, host, none or container:POD",
                        p.name
                    ))
                }
            },
        };
        pods.push(PodSpec {
            name: p.name,
            node: p.node,
            mode,
        });
    }
    Ok(LabSpec {
        name,
        backend,
        store,
        pod_path,
        segments,
        nodes,
        pods,
        agent_args: raw.agent_args,
    })
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
            store: default_store(),
            pod_path: default_pod_path(),
            segments,
            nodes,
            pods,
            agent_args: Vec::new(),
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
/// Echo port of `podnet serve` for `podnet stream`.
pub const STREAM_PORT: u16 = 9000;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_modes_example() {
        let s = parse_yaml(include_str!("../../../../examples/modes.yaml")).unwrap();
        assert_eq!(s.nodes.len(), 2);
        let modes: Vec<_> = s.pods.iter().map(|p| p.mode.clone()).collect();
        assert!(modes.contains(&PodMode::Host) && modes.contains(&PodMode::None));
        assert!(modes.contains(&PodMode::Container("web".into())));
    }

    #[test]
    fn pod_path_defaults_to_bridge() {
        let s = parse_yaml("nodes: [{name: n1}]").unwrap();
        assert_eq!(s.pod_path, "bridge");
        let s = parse_yaml("podPath: routed\nnodes: [{name: n1}]").unwrap();
        assert_eq!(s.pod_path, "routed");
        let s = parse_yaml("podPath: ebpf\nnodes: [{name: n1}]").unwrap();
        assert_eq!(s.pod_path, "ebpf");
        assert!(parse_yaml("podPath: macvlan\nnodes: [{name: n1}]").is_err());
    }

    #[test]
    fn agent_args_are_flags() {
        let s = parse_yaml("agentArgs: [\"--fast-path\"]\nnodes: [{name: n1}]").unwrap();
        assert_eq!(s.agent_args, vec!["--fast-path"]);
        let e = parse_yaml("agentArgs: [\"rm\"]\nnodes: [{name: n1}]").unwrap_err();
        assert!(e.starts_with("agentArgs: \"rm\""), "{e}");
    }

    #[test]
    fn every_example_parses() {
        for text in [
            include_str!("../../../../examples/default.yaml"),
            include_str!("../../../../examples/two-segments.yaml"),
        ] {
            parse_yaml(text).unwrap();
        }
    }

    #[test]
    fn errors_name_the_entry() {
        let bad = [
            ("nodes: []", "1 to 9"),
            ("nodes: [{name: n1, segment: 3}]", "segment 3"),
            (
                "nodes: [{name: n1}]\npods: [{name: a, node: n9}]",
                "node \"n9\"",
            ),
            (
                "nodes: [{name: n1}]\npods: [{name: a, node: n1, mode: container:b}]",
                "earlier pod",
            ),
            (
                "nodes: [{name: n1}]\npods: [{name: a, node: n1, mode: macvlan}]",
                "macvlan",
            ),
            ("backend: bgp\nnodes: [{name: n1}]", "bgp"),
            (
                "podPath: macvlan\nnodes: [{name: n1}]",
                "podPath: \"macvlan\"",
            ),
            ("nodes: [{name: N1}]", "N1"),
            ("nodes: [{name: n1}]\nbogus: 1", "bogus"),
        ];
        for (yaml, want) in bad {
            let e = parse_yaml(yaml).unwrap_err();
            assert!(e.contains(want), "{yaml}: {e}");
        }
    }
}
