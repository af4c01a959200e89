//! What a lab is made of. The built-in default: 3 nodes on one L2 segment, vxlan, 2 pods per
//! node. Addresses: segment k is 198.18.2k.0/23 (router .1, node i .(10+i), counting on into the
//! second half of the /23 past 255); the "internet" is 198.19.255.0/24 behind the router; pods
//! get 10.244.0.0/16 through the agents' leases.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// How a pod gets its network (Docker's four modes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodMode {
    /// Its own namespace, wired by the CNI plugin.
    #[default]
    Bridge,
    /// The node's namespace.
    Host,
    /// Its own namespace with loopback only.
    None,
    /// Another pod's namespace (the Kubernetes pause-container pattern): in a spec the other
    /// pod's name, in a running lab its `NS/NAME`.
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

/// A pod of the spec's `pods:` list: `lab up` applies it as a Pod object (see
/// `kubelet::plan::pod_object`), and the lab's kubelet makes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodSpec {
    /// The Kubernetes namespace (`default` unless the spec names one).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    pub node: String,
    pub mode: PodMode,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_namespace() -> String {
    podnet_model::defaults::DEFAULT_NAMESPACE.to_owned()
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
    /// Manifest files (or directories) `lab up` applies once the pods are up, as `lab apply
    /// -f` would; in the YAML form relative to the spec file (see [`LabSpec::resolve`]).
    #[serde(default)]
    pub manifests: Vec<PathBuf>,
}

fn default_store() -> String {
    "embedded".into()
}

fn default_pod_path() -> String {
    "bridge".into()
}

/// The most nodes a lab has (node `i` is host 10+i of its segment's /23).
pub const MAX_NODES: usize = 250;
/// The most L2 segments (198.18.0.0/23 … 198.18.6.0/23).
pub const MAX_SEGMENTS: usize = 4;
/// The most pods a node gets from `--pods-per-node`: they are named `n1-a` … `n1-z`.
pub const MAX_PODS_PER_NODE: usize = 26;
const BACKENDS: [&str; 3] = ["vxlan", "host-gw", "udp"];
const STORES: [&str; 2] = ["embedded", "etcd"];
const POD_PATHS: [&str; 3] = ["bridge", "routed", "ebpf"];

/// `Ok` if `value` is one of `allowed`, else an error naming `what` (a flag or a YAML key).
fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let (last, rest) = allowed.split_last().unwrap_or((&"", &[]));
    Err(format!(
        "{what} {value:?} is not {} or {last}",
        rest.join(", ")
    ))
}

/// Checks a pod path (`podPath:`).
pub fn check_pod_path(p: &str) -> Result<(), String> {
    one_of("podPath:", p, &POD_PATHS)
}

/// `podnet lab up` without a spec file: its flags as given, not yet validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flags<'a> {
    pub name: &'a str,
    pub backend: &'a str,
    pub store: &'a str,
    pub pod_path: &'a str,
    pub nodes: usize,
    pub segments: usize,
    pub pods_per_node: usize,
}

impl Flags<'_> {
    /// Validates every flag (an error names the flag and its bad value) and builds the spec:
    /// `--nodes` nodes spread round-robin over `--segments` segments (none left empty),
    /// `--pods-per-node` bridge pods each.
    pub fn spec(&self) -> Result<LabSpec, String> {
        if !valid_name(self.name, 16) {
            return Err(format!("--name {:?}: use 1-16 of a-z, 0-9, '-'", self.name));
        }
        one_of("--backend", self.backend, &BACKENDS)?;
        one_of("--store", self.store, &STORES)?;
        one_of("--pod-path", self.pod_path, &POD_PATHS)?;
        if !(1..=MAX_NODES).contains(&self.nodes) {
            return Err(format!(
                "--nodes {}: a lab has 1 to {MAX_NODES} nodes",
                self.nodes
            ));
        }
        if !(1..=MAX_SEGMENTS).contains(&self.segments) {
            return Err(format!(
                "--segments {}: a lab has 1 to {MAX_SEGMENTS} segments",
                self.segments
            ));
        }
        if self.segments > self.nodes {
            return Err(format!(
                "--segments {}: more segments than --nodes ({}) leaves a segment without a node",
                self.segments, self.nodes
            ));
        }
        if !(1..=MAX_PODS_PER_NODE).contains(&self.pods_per_node) {
            return Err(format!(
                "--pods-per-node {}: use 1 to {MAX_PODS_PER_NODE} (pods are named n1-a … n1-z)",
                self.pods_per_node
            ));
        }
        let mut s = LabSpec::generated(
            self.name,
            self.backend,
            self.nodes,
            self.segments,
            self.pods_per_node,
        );
        s.store = self.store.into();
        s.pod_path = self.pod_path.into();
        Ok(s)
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
    /// Manifests to apply after `up`, relative to the spec file.
    #[serde(default)]
    manifests: Vec<PathBuf>,
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
    /// The pod's Kubernetes namespace (`default`) and labels, for Services and NetworkPolicy.
    namespace: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
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
    if !(1..=MAX_SEGMENTS).contains(&segments) {
        return Err(format!("segments: {segments} is not in 1..={MAX_SEGMENTS}"));
    }
    let name = raw.name.unwrap_or_else(|| "default".into());
    if !valid_name(&name, 16) {
        return Err(format!("name: {name:?}: use 1-16 of a-z, 0-9, '-'"));
    }
    let backend = raw.backend.unwrap_or_else(|| "vxlan".into());
    one_of("backend:", &backend, &BACKENDS)?;
    let store = raw.store.unwrap_or_else(default_store);
    one_of("store:", &store, &STORES)?;
    let pod_path = raw.pod_path.unwrap_or_else(default_pod_path);
    check_pod_path(&pod_path)?;
    if let Some(a) = raw.agent_args.iter().find(|a| !a.starts_with("--")) {
        return Err(format!("agentArgs: {a:?} is not a --flag of podnet agent"));
    }
    if raw.nodes.is_empty() || raw.nodes.len() > MAX_NODES {
        return Err(format!("nodes: a lab has 1 to {MAX_NODES} nodes"));
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
        let namespace = p.namespace.unwrap_or_else(default_namespace);
        if !valid_name(&namespace, 63) {
            return Err(format!(
                "pods: {}: namespace {namespace:?}: use 1-63 of a-z, 0-9, '-'",
                p.name
            ));
        }
        pods.push(PodSpec {
            namespace,
            name: p.name,
            node: p.node,
            mode,
            labels: p.labels,
        });
    }
    if let Some(m) = raw.manifests.iter().find(|m| m.as_os_str().is_empty()) {
        return Err(format!("manifests: {m:?} is not a path"));
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
        manifests: raw.manifests,
    })
}

impl LabSpec {
    /// `nodes` nodes spread over `segments` segments, `pods_per_node` bridge pods each. Not
    /// validated: values from a user go through [`Flags::spec`], which checks the limits.
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
                    namespace: default_namespace(),
                    name: format!("{}-{}", n.name, (b'a' + p as u8) as char),
                    node: n.name.clone(),
                    mode: PodMode::Bridge,
                    labels: BTreeMap::new(),
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
            manifests: Vec::new(),
        }
    }

    /// The spec with its manifest paths taken relative to `spec_file`'s directory (absolute
    /// ones stay as they are).
    pub fn resolve(mut self, spec_file: &Path) -> LabSpec {
        let dir = spec_file.parent().unwrap_or(Path::new(""));
        for m in &mut self.manifests {
            if m.is_relative() {
                *m = dir.join(&*m);
            }
        }
        self
    }

    /// The built-in default lab.
    pub fn default_lab() -> LabSpec {
        Self::generated("default", "vxlan", 3, 1, 2)
    }
}

/// Prefix length of an L2 segment: a /23, so [`MAX_NODES`] nodes fit on one.
pub const SEGMENT_PREFIX: u8 = 23;

/// Address `host` of segment `segment`'s /23 (198.18.2k.0/23).
pub fn segment_ip(segment: usize, host: usize) -> Ipv4Addr {
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0)) + ((segment as u32) << 9);
    Ipv4Addr::from(base + host as u32)
}

/// The segment's network, e.g. `198.18.2.0/23`.
pub fn segment_net(segment: usize) -> String {
    format!("{}/{SEGMENT_PREFIX}", segment_ip(segment, 0))
}

/// Underlay address of node `index` (1-based) on `segment`: host 10+index (198.18.0.11 for n1).
pub fn node_ip(segment: usize, index: usize) -> Ipv4Addr {
    segment_ip(segment, 10 + index)
}

/// The router's address on `segment`.
pub fn router_ip(segment: usize) -> Ipv4Addr {
    segment_ip(segment, 1)
}

/// The fixed MAC of an underlay interface with address `ip`: `02:50` and the address's four
/// bytes. Fixed, so the lab can pin every neighbour on a segment without asking the kernel.
pub fn underlay_mac(ip: Ipv4Addr) -> String {
    let [a, b, c, d] = ip.octets();
    format!("02:50:{a:02x}:{b:02x}:{c:02x}:{d:02x}")
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
mod tests;
