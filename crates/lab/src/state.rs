//! The lab's record of what it created, under `/run/podnet/labs/NAME/state.json`, written as it
//! goes, so `lab down` can remove everything even after a crash.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::spec::PodMode;

/// Where labs keep their state.
pub const LABS_DIR: &str = "/run/podnet/labs";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub netns: String,
    pub segment: usize,
    pub ip: Option<Ipv4Addr>,
    pub subnet: Option<String>,
}

/// A pod the lab's kubelet runs (see `kubelet`): the Pod object `namespace/name` (with its
/// `uid`), where it runs and how it is reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodState {
    /// The Kubernetes namespace (state files from before namespaces: `default`).
    #[serde(default = "default_namespace")]
    pub namespace: String,
    pub name: String,
    /// The Pod object's `metadata.uid`: a pod deleted and made again is another pod.
    #[serde(default)]
    pub uid: Option<String>,
    pub node: String,
    pub mode: PodMode,
    /// The network namespace the pod lives in (its own, the node's, or another pod's).
    pub netns: String,
    pub ip: Option<Ipv4Addr>,
    /// The port `lab check` probes (TCP and UDP).
    pub port: u16,
    /// Every step of the pod's creation finished; a record left `false` (a crash in the
    /// middle) is torn down and made again by the next sync.
    #[serde(default = "yes")]
    pub ready: bool,
}

fn default_namespace() -> String {
    podnet_model::defaults::DEFAULT_NAMESPACE.to_owned()
}

fn yes() -> bool {
    true
}

impl PodState {
    /// `namespace/name`, how commands and checks name the pod.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// `NS/NAME` as (namespace, name); a bare `NAME` is in `default`.
pub fn split_pod_key(target: &str) -> (&str, &str) {
    match target.split_once('/') {
        Some((ns, name)) => (ns, name),
        None => (podnet_model::defaults::DEFAULT_NAMESPACE, target),
    }
}

/// A process the lab started, with what it takes to start it again.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proc {
    pub what: String,
    pub pid: u32,
    pub netns: String,
    pub argv: Vec<String>,
    pub log: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LabState {
    pub name: String,
    pub prefix: String,
    pub backend: String,
    /// `bridge` or `routed` (empty in state files from before routed pods: bridge).
    #[serde(default)]
    pub pod_path: String,
    pub namespaces: Vec<String>,
    /// Processes the lab started (agents, servers, etcd), stopped by PID.
    pub procs: Vec<Proc>,
    pub nodes: Vec<NodeState>,
    pub pods: Vec<PodState>,
}

impl LabState {
    pub fn dir(name: &str) -> PathBuf {
        PathBuf::from(LABS_DIR).join(name)
    }

    pub fn load(name: &str) -> Result<LabState> {
        let p = Self::dir(name).join("state.json");
        let s = std::fs::read_to_string(&p)
            .with_context(|| format!("no lab {name:?} ({} missing)", p.display()))?;
        serde_json::from_str(&s).with_context(|| format!("read {}", p.display()))
    }

    pub fn save(&self) -> Result<()> {
        let dir = Self::dir(&self.name);
        std::fs::create_dir_all(&dir)?;
        let tmp = dir.join("state.json.tmp");
        std::fs::write(&tmp, serde_json::to_string_pretty(self)?)?;
        std::fs::rename(&tmp, dir.join("state.json"))?;
        Ok(())
    }

    /// The pod `NS/NAME` (a bare `NAME`: in `default`).
    pub fn pod(&self, target: &str) -> Option<&PodState> {
        let (namespace, name) = split_pod_key(target);
        self.pods
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
    }

    pub fn node(&self, name: &str) -> Option<&NodeState> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

/// The namespace prefix of lab `name`.
pub fn prefix(name: &str) -> String {
    format!("pnlab-{name}-")
}
