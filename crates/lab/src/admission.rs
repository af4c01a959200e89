//! What the lab checks before a Pod is stored (an admission step in front of the API server,
//! as a cluster's admission webhooks are), and where it places a pod that names no node (the
//! scheduler's job). Pure: the lab's nodes and the stored pods in, decisions out.
//!
//! - `spec.nodeName` must be one of the lab's nodes: the API server would store a pod bound to
//!   a node that does not exist and it would stay `Pending` forever; the lab says so at once,
//!   and nothing is stored.
//! - A pod that names no node and is not bound yet goes to the node with the fewest pods
//!   (ties: the first in the lab's order), counting the pods admitted before it in the same
//!   command; a `container:` pod goes to the node of the pod it joins. The node is written into
//!   `spec.nodeName`, as the scheduler's binding would be.
//! - The network mode annotation and the ports must be ones the kubelet can run (see
//!   `kubelet::plan`), and a pod's network namespace must not be one the lab uses for
//!   something else (a pod of `default` named like a node).

use std::collections::BTreeMap;

use podnet_api::ApiError;
use podnet_kubectl::apply::Admission;
use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::{FieldError, FieldErrorKind, Kind, Object, Pod, ValidationErrors};

use super::kubelet::plan::{netns_suffix, network_mode, serve_plan};
use super::spec::PodMode;
use super::state::LabState;

/// The lab's admission of Pods (see the module doc).
#[derive(Debug, Clone)]
pub struct LabAdmission {
    lab: String,
    prefix: String,
    nodes: Vec<String>,
    /// Pods per node: the stored ones and those admitted since.
    load: BTreeMap<String, usize>,
    /// `NS/NAME` → (node, mode) of every pod known: stored or admitted since.
    pods: BTreeMap<String, (Option<String>, Option<PodMode>)>,
    /// Network namespaces the lab uses for other things than pods (nodes, switches, router).
    taken: Vec<String>,
}

fn key_of(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE),
        pod.metadata.name
    )
}

fn refuse(pod: &Pod, path: &str, value: &str, detail: &str) -> ApiError {
    refuse_with(
        pod,
        FieldError {
            path: path.to_owned(),
            kind: FieldErrorKind::Invalid,
            message: format!("Invalid value: {value:?}: {detail}"),
        },
    )
}

fn refuse_with(pod: &Pod, error: FieldError) -> ApiError {
    ApiError::Invalid {
        kind: Kind::Pod,
        name: pod.metadata.name.clone(),
        errors: ValidationErrors(vec![error]),
    }
}

impl LabAdmission {
    /// Admission for lab `st`, whose datastore holds `stored`.
    pub fn new(st: &LabState, stored: &[Pod]) -> LabAdmission {
        let nodes: Vec<String> = st.nodes.iter().map(|n| n.name.clone()).collect();
        let mut load: BTreeMap<String, usize> = nodes.iter().map(|n| (n.clone(), 0)).collect();
        let mut pods = BTreeMap::new();
        for p in stored {
            if let Some(n) = p.spec.node_name.as_ref().and_then(|n| load.get_mut(n)) {
                *n += 1;
            }
            pods.insert(key_of(p), (p.spec.node_name.clone(), network_mode(p).ok()));
        }
        let pod_netns: Vec<&str> = st.pods.iter().map(|p| p.netns.as_str()).collect();
        let taken = st
            .namespaces
            .iter()
            .filter(|n| !pod_netns.contains(&n.as_str()))
            .cloned()
            .collect();
        LabAdmission {
            lab: st.name.clone(),
            prefix: st.prefix.clone(),
            nodes,
            load,
            pods,
            taken,
        }
    }

    /// The node with the fewest pods (the first of equals).
    fn least_loaded(&self) -> Option<String> {
        self.nodes
            .iter()
            .min_by_key(|n| self.load.get(*n).copied().unwrap_or(0))
            .cloned()
    }

    fn admit_pod(&mut self, pod: &mut Pod, stored: Option<&Pod>) -> Result<(), ApiError> {
        let key = key_of(pod);
        let mode = network_mode(pod).map_err(|e| refuse_with(pod, e))?;
        serve_plan(pod, &mode).map_err(|e| refuse_with(pod, e))?;
        let namespace = pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE);
        let netns = format!(
            "{}{}",
            self.prefix,
            netns_suffix(namespace, &pod.metadata.name)
        );
        if self.taken.contains(&netns) {
            let detail = format!("lab {:?} uses the network namespace {netns} for something else; name the pod differently", self.lab);
            return Err(refuse(pod, "metadata.name", &pod.metadata.name, &detail));
        }
        // The node a container: pod must share.
        let joined = match &mode {
            PodMode::Container(target) => match self.pods.get(target) {
                Some((Some(node), Some(PodMode::Bridge | PodMode::None))) => Some(node.clone()),
                _ => {
                    let path = format!(
                        "metadata.annotations[{}]",
                        super::kubelet::plan::NETWORK_MODE_ANNOTATION
                    );
                    let value = format!("container:{target}");
                    let detail = format!("no pod {target} with a network namespace of its own (bridge or none) is bound to a node");
                    return Err(refuse(pod, &path, &value, &detail));
                }
            },
            _ => None,
        };
        let bound = stored.and_then(|s| s.spec.node_name.clone());
        let node = match (&pod.spec.node_name, &bound) {
            (Some(n), _) => {
                if !self.nodes.contains(n) {
                    let detail = format!(
                        "lab {:?} has no node {n:?} (its nodes: {})",
                        self.lab,
                        self.nodes.join(", ")
                    );
                    return Err(refuse(pod, "spec.nodeName", n, &detail));
                }
                n.clone()
            }
            // The stored binding stays (the API server keeps it).
            (None, Some(n)) => n.clone(),
            (None, None) => match joined.clone().or_else(|| self.least_loaded()) {
                Some(n) => n,
                None => return Ok(()),
            },
        };
        if let Some(j) = &joined {
            if *j != node {
                let detail = format!("a container: pod runs on the node of the pod it joins ({j})");
                return Err(refuse(pod, "spec.nodeName", &node, &detail));
            }
        }
        if bound.is_none() {
            pod.spec.node_name = Some(node.clone());
            if let Some(n) = self.load.get_mut(&node) {
                *n += 1;
            }
        }
        self.pods.insert(key, (Some(node), Some(mode)));
        Ok(())
    }
}

impl Admission for LabAdmission {
    fn wants(&self, kind: Kind) -> bool {
        kind == Kind::Pod
    }

    fn admit(&mut self, object: &mut Object, stored: Option<&Object>) -> Result<(), ApiError> {
        let stored = match stored {
            Some(Object::Pod(p)) => Some(p),
            _ => None,
        };
        match object {
            Object::Pod(pod) => self.admit_pod(pod, stored),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::state::{NodeState, PodState};
    use podnet_model::parse_manifests;

    fn lab() -> LabState {
        let node = |n: &str| NodeState {
            name: n.into(),
            netns: format!("pnlab-t-{n}"),
            ..NodeState::default()
        };
        LabState {
            name: "t".into(),
            prefix: "pnlab-t-".into(),
            namespaces: ["router", "sw0", "inet", "n1", "n2", "n1-a"]
                .map(|n| format!("pnlab-t-{n}"))
                .to_vec(),
            nodes: vec![node("n1"), node("n2")],
            pods: vec![PodState {
                name: "n1-a".into(),
                namespace: "default".into(),
                netns: "pnlab-t-n1-a".into(),
                node: "n1".into(),
                ..PodState::default()
            }],
            ..LabState::default()
        }
    }

    fn pod(ns: &str, name: &str, extra: &str) -> Object {
        parse_manifests(&format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}}}\nspec: {{containers: [{{name: c}}]{extra}}}\n"
        ))
        .unwrap()
        .remove(0)
    }

    fn node_of(o: &Object) -> Option<String> {
        match o {
            Object::Pod(p) => p.spec.node_name.clone(),
            _ => None,
        }
    }

    fn as_pod(o: &Object) -> Pod {
        match o {
            Object::Pod(p) => p.clone(),
            _ => panic!(),
        }
    }

    #[test]
    fn places_pods_on_the_node_with_the_fewest() {
        let stored = [as_pod(&pod("default", "n1-a", ", nodeName: n1"))];
        let mut a = LabAdmission::new(&lab(), &stored);
        let mut placed = Vec::new();
        for name in ["a", "b", "c", "d"] {
            let mut p = pod("x", name, "");
            a.admit(&mut p, None).unwrap();
            placed.push(node_of(&p).unwrap());
        }
        assert_eq!(placed, ["n2", "n1", "n2", "n1"]);
        // Named nodes count too.
        let mut p = pod("x", "e", ", nodeName: n1");
        a.admit(&mut p, None).unwrap();
        let mut p = pod("x", "f", "");
        a.admit(&mut p, None).unwrap();
        assert_eq!(node_of(&p).as_deref(), Some("n2"));
    }

    #[test]
    fn a_bound_pod_stays_where_it_is() {
        let stored = as_pod(&pod("x", "a", ", nodeName: n1"));
        let mut a = LabAdmission::new(&lab(), std::slice::from_ref(&stored));
        let mut again = pod("x", "a", "");
        a.admit(&mut again, Some(&Object::Pod(stored))).unwrap();
        // Left for the API server's merge to keep.
        assert_eq!(node_of(&again), None);
    }

    #[test]
    fn refuses_nodes_the_lab_does_not_have() {
        let mut a = LabAdmission::new(&lab(), &[]);
        let mut p = pod("x", "a", ", nodeName: nope");
        let err = a.admit(&mut p, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Pod \"a\" is invalid: spec.nodeName: Invalid value: \"nope\": lab \"t\" has no node \"nope\" (its nodes: n1, n2)"
        );
        assert_eq!(err.reason(), Some("Invalid"));
    }

    #[test]
    fn container_pods_join_a_pod_on_its_node() {
        let ann = |v: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: s, namespace: x, annotations: {{podnet.dev/network-mode: \"{v}\"}}}}\nspec: {{containers: [{{name: c}}]}}\n"
            )
        };
        let mut a = LabAdmission::new(&lab(), &[]);
        let mut missing = parse_manifests(&ann("container:web")).unwrap().remove(0);
        let err = a.admit(&mut missing, None).unwrap_err().to_string();
        assert!(err.contains("no pod x/web"), "{err}");
        for _ in 0..2 {
            let mut filler = pod("y", &format!("f{}", a.load["n1"]), ", nodeName: n1");
            a.admit(&mut filler, None).unwrap();
        }
        let mut web = pod("x", "web", ", nodeName: n1");
        a.admit(&mut web, None).unwrap();
        let mut side = parse_manifests(&ann("container:web")).unwrap().remove(0);
        a.admit(&mut side, None).unwrap();
        assert_eq!(node_of(&side).as_deref(), Some("n1"), "not the emptier n2");
        let mut elsewhere = parse_manifests(&ann("container:web")).unwrap().remove(0);
        if let Object::Pod(p) = &mut elsewhere {
            p.spec.node_name = Some("n2".into());
        }
        let err = a.admit(&mut elsewhere, None).unwrap_err().to_string();
        assert!(err.contains("spec.nodeName"), "{err}");
    }

    #[test]
    fn refuses_a_pod_named_like_a_lab_namespace() {
        let mut a = LabAdmission::new(&lab(), &[]);
        let mut p = pod("default", "router", "");
        let err = a.admit(&mut p, None).unwrap_err().to_string();
        assert!(
            err.contains("metadata.name: Invalid value: \"router\""),
            "{err}"
        );
        // The lab's own pod may be applied again; another namespace's router is fine.
        a.admit(&mut pod("default", "n1-a", ""), None).unwrap();
        a.admit(&mut pod("x", "router", ""), None).unwrap();
    }
}
