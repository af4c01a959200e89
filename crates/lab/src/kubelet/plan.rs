//! The kubelet's decisions, without I/O: how a Pod object maps onto the lab (its network mode,
//! its network namespace's name, what its `podnet serve` listens on), what a sync must remove
//! and create, and the statuses it writes back. A spec's `pods:` entries become Pod objects
//! here too ([`pod_objects`]), the inverse of [`network_mode`].

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use podnet_model::defaults::DEFAULT_NAMESPACE;
use podnet_model::{
    ConditionStatus, Container, FieldError, FieldErrorKind, Namespace, Object, ObjectMeta, Pod,
    PodCondition, PodIp, PodPhase, PodSpec as K8sPodSpec, PodStatus, Protocol,
};

use crate::spec::{PodMode, PodSpec, POD_PORT, SIDECAR_PORT, STREAM_PORT};
use crate::state::PodState;

/// The annotation that picks a pod's network mode when it is neither bridged (the default) nor
/// `spec.hostNetwork: true`: `none`, `container:NAME` (a pod of the same namespace) or
/// `container:NS/NAME`.
pub const NETWORK_MODE_ANNOTATION: &str = "podnet.dev/network-mode";
/// The longest network namespace name after the lab's prefix; longer `NS.NAME`s are cut and
/// end in a hash of the whole key, so they stay unique. The prefix is at most 23 bytes, the
/// kernel's limit for a name in /run/netns is 255, and the name is also the CNI container ID.
pub const MAX_NETNS_SUFFIX: usize = 100;
/// The container every spec pod gets.
pub const SPEC_CONTAINER: &str = "serve";

/// The network namespace of pod `namespace/name`, after the lab's prefix: `NAME` for a pod of
/// `default` whose name has no `.` (the lab's own pods keep `pnlab-LAB-n1-a`), else `NS.NAME`
/// (a namespace has no `.`, so the first one splits it off and two pods never collide).
pub fn netns_suffix(namespace: &str, name: &str) -> String {
    let full = if namespace == DEFAULT_NAMESPACE && !name.contains('.') {
        name.to_owned()
    } else {
        format!("{namespace}.{name}")
    };
    if full.len() <= MAX_NETNS_SUFFIX {
        return full;
    }
    let hash = fnv1a(format!("{namespace}/{name}").as_bytes());
    // Names are ASCII (DNS labels and subdomains): any byte is a character boundary.
    format!("{}-{hash:016x}", &full[..MAX_NETNS_SUFFIX - 17])
}

/// FNV-1a, 64 bits: stable across releases, unlike std's hasher.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(PRIME))
}

fn invalid(path: String, value: &str, detail: &str) -> FieldError {
    FieldError {
        path,
        kind: FieldErrorKind::Invalid,
        message: format!("Invalid value: {value:?}: {detail}"),
    }
}

/// The pod's network mode: `spec.hostNetwork: true` is host, the annotation
/// [`NETWORK_MODE_ANNOTATION`] says `none` or `container:…` (resolved to `NS/NAME`), anything
/// else is bridge (the CNI plugin).
pub fn network_mode(pod: &Pod) -> Result<PodMode, FieldError> {
    let namespace = pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE);
    let path = format!("metadata.annotations[{NETWORK_MODE_ANNOTATION}]");
    let annotated = pod.metadata.annotations.get(NETWORK_MODE_ANNOTATION);
    let mode = match annotated.map(String::as_str) {
        None | Some("bridge") => PodMode::Bridge,
        Some("none") => PodMode::None,
        Some(v) => match v.strip_prefix("container:") {
            Some(target) if !target.is_empty() && target.matches('/').count() <= 1 => {
                let (ns, name) = match target.split_once('/') {
                    Some((ns, name)) => (ns, name),
                    None => (namespace, target),
                };
                if ns == namespace && name == pod.metadata.name {
                    return Err(invalid(path, v, "a pod cannot join its own namespace"));
                }
                PodMode::Container(format!("{ns}/{name}"))
            }
            _ => {
                return Err(FieldError {
                    path,
                    kind: FieldErrorKind::NotSupported,
                    message: format!("Unsupported value: {v:?}: supported values: \"bridge\", \"none\", \"container:POD\", \"container:NS/POD\" (host mode is spec.hostNetwork: true)"),
                })
            }
        },
    };
    if pod.spec.host_network && mode != PodMode::Bridge {
        let v = annotated.map(String::as_str).unwrap_or_default();
        return Err(invalid(
            path,
            v,
            "a pod with spec.hostNetwork: true runs in its node's namespace",
        ));
    }
    Ok(if pod.spec.host_network {
        PodMode::Host
    } else {
        mode
    })
}

/// What a pod's `podnet serve` listens on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServePlan {
    pub tcp: Vec<u16>,
    pub udp: Vec<u16>,
    pub stream: Option<u16>,
    /// The port `lab check` probes (TCP and UDP).
    pub check_port: u16,
}

/// Every declared container port (TCP or UDP), plus the lab's own: the check port (8080; a
/// `container:` pod 8082, beside the pod it joins) both ways unless declared, and the stream
/// echo port (9000) in a bridged pod unless 9000/TCP is declared. SCTP is refused:
/// `podnet serve` has no SCTP.
pub fn serve_plan(pod: &Pod, mode: &PodMode) -> Result<ServePlan, FieldError> {
    let check_port = match mode {
        PodMode::Container(_) => SIDECAR_PORT,
        _ => POD_PORT,
    };
    let mut plan = ServePlan {
        check_port,
        ..ServePlan::default()
    };
    for (i, c) in pod.spec.containers.iter().enumerate() {
        for (j, p) in c.ports.iter().enumerate() {
            // The API server has checked the range already.
            let Ok(number) = u16::try_from(p.container_port) else {
                continue;
            };
            let list = match p.protocol.as_ref().filter(|p| !p.is_unset()) {
                None | Some(Protocol::Tcp) => &mut plan.tcp,
                Some(Protocol::Udp) => &mut plan.udp,
                Some(other) => {
                    return Err(FieldError {
                        path: format!("spec.containers[{i}].ports[{j}].protocol"),
                        kind: FieldErrorKind::NotSupported,
                        message: format!("Unsupported value: \"{other}\": supported values: \"TCP\", \"UDP\" (the lab's pods run podnet serve)"),
                    })
                }
            };
            if !list.contains(&number) {
                list.push(number);
            }
        }
    }
    for list in [&mut plan.tcp, &mut plan.udp] {
        if !list.contains(&check_port) {
            list.push(check_port);
        }
    }
    if *mode == PodMode::Bridge && !plan.tcp.contains(&STREAM_PORT) {
        plan.stream = Some(STREAM_PORT);
    }
    Ok(plan)
}

/// `podnet serve`'s arguments (after the binary) for `plan`.
pub fn serve_argv(plan: &ServePlan, identity: &str, ready_file: &str) -> Vec<String> {
    let mut argv: Vec<String> = ["serve", "--identity", identity, "--ready-file", ready_file]
        .map(String::from)
        .to_vec();
    for p in &plan.tcp {
        argv.extend(["--tcp".into(), p.to_string()]);
    }
    for p in &plan.udp {
        argv.extend(["--udp".into(), p.to_string()]);
    }
    if let Some(p) = plan.stream {
        argv.extend(["--stream-port".into(), p.to_string()]);
    }
    argv
}

/// The ports of a plan as the kubelet reports them (`80/TCP 81/UDP`).
pub fn describe_ports(plan: &ServePlan) -> String {
    let tcp = plan.tcp.iter().map(|p| format!("{p}/TCP"));
    let udp = plan.udp.iter().map(|p| format!("{p}/UDP"));
    tcp.chain(udp).collect::<Vec<_>>().join(" ")
}

/// The spec's `pods:` as objects: a Namespace for each namespace other than `default` they
/// name, then a Pod each: one container, the node named, labels kept, host mode as
/// `spec.hostNetwork`, `none` and `container:` as the annotation (a `container:` target in
/// another namespace named `NS/NAME`).
pub fn pod_objects(pods: &[PodSpec]) -> Vec<Object> {
    let namespaces: BTreeSet<&str> = pods
        .iter()
        .map(|p| p.namespace.as_str())
        .filter(|ns| *ns != DEFAULT_NAMESPACE)
        .collect();
    let namespaces = namespaces
        .into_iter()
        .map(|ns| Object::Namespace(Namespace::new(ns)));
    let pods = pods.iter().map(|p| {
        let mut metadata = ObjectMeta::namespaced(&p.namespace, &p.name);
        metadata.labels.clone_from(&p.labels);
        let annotation = match &p.mode {
            PodMode::Bridge | PodMode::Host => None,
            PodMode::None => Some("none".to_owned()),
            PodMode::Container(other) => {
                let ns = pods
                    .iter()
                    .find(|t| t.name == *other)
                    .map_or(p.namespace.as_str(), |t| t.namespace.as_str());
                Some(if ns == p.namespace {
                    format!("container:{other}")
                } else {
                    format!("container:{ns}/{other}")
                })
            }
        };
        if let Some(a) = annotation {
            metadata
                .annotations
                .insert(NETWORK_MODE_ANNOTATION.to_owned(), a);
        }
        Object::Pod(Pod {
            metadata,
            spec: K8sPodSpec {
                node_name: Some(p.node.clone()),
                host_network: p.mode == PodMode::Host,
                containers: vec![Container {
                    name: SPEC_CONTAINER.to_owned(),
                    ..Container::default()
                }],
            },
            status: None,
        })
    });
    namespaces.chain(pods).collect()
}

/// What one sync does: the running pods to remove (indices into the lab's pods, dependents
/// before the pods whose namespace they join) and the stored pods to create (pods that others
/// join first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPlan {
    pub remove: Vec<usize>,
    pub create: Vec<Pod>,
}

fn key_of(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE),
        pod.metadata.name
    )
}

/// Compares the stored pods with the running ones. A running pod stays while a stored pod of
/// its key and uid exists and its record is complete; a pod joining a removed pod's namespace
/// goes with it. A stored pod bound to one of `nodes` and not running is created (again, if it
/// failed before); pods bound elsewhere, or not bound, are not the lab's to run.
pub fn plan_sync(stored: &[Pod], running: &[PodState], nodes: &[String]) -> SyncPlan {
    let keeps = |r: &PodState| {
        r.ready
            && stored
                .iter()
                .any(|s| key_of(s) == r.key() && (r.uid.is_none() || s.metadata.uid == r.uid))
    };
    let mut removed: BTreeSet<String> = running
        .iter()
        .filter(|r| !keeps(r))
        .map(PodState::key)
        .collect();
    // A pod joining a removed pod's namespace loses it too (one level: containers of
    // containers are refused).
    for r in running {
        if let PodMode::Container(target) = &r.mode {
            if removed.contains(target) {
                removed.insert(r.key());
            }
        }
    }
    let mut remove: Vec<usize> = (0..running.len())
        .filter(|&i| removed.contains(&running[i].key()))
        .collect();
    remove.sort_by_key(|&i| !matches!(running[i].mode, PodMode::Container(_)));
    let staying: BTreeSet<String> = running
        .iter()
        .map(PodState::key)
        .filter(|k| !removed.contains(k))
        .collect();
    let mut create: Vec<Pod> = stored
        .iter()
        .filter(|s| s.spec.node_name.as_ref().is_some_and(|n| nodes.contains(n)))
        .filter(|s| !staying.contains(&key_of(s)))
        .cloned()
        .collect();
    create.sort_by_key(|p| matches!(network_mode(p), Ok(PodMode::Container(_))));
    SyncPlan { remove, create }
}

fn condition(type_: &str, status: ConditionStatus, why: Option<(&str, &str)>) -> PodCondition {
    PodCondition {
        type_: type_.to_owned(),
        status,
        reason: why.map(|(r, _)| r.to_owned()),
        message: why.map(|(_, m)| m.to_owned()),
    }
}

/// A pod that runs and listens: `Running`, `Ready`, its address (none for a `none` pod; the
/// node's for a host pod) and its node's.
pub fn running_status(pod_ip: Option<Ipv4Addr>, host_ip: Option<Ipv4Addr>) -> PodStatus {
    let conditions = ["PodScheduled", "Initialized", "ContainersReady", "Ready"]
        .map(|t| condition(t, ConditionStatus::True, None))
        .to_vec();
    PodStatus {
        phase: Some(PodPhase::Running),
        pod_ip: pod_ip.map(|ip| ip.to_string()),
        pod_ips: pod_ip
            .map(|ip| PodIp { ip: ip.to_string() })
            .into_iter()
            .collect(),
        host_ip: host_ip.map(|ip| ip.to_string()),
        conditions,
        reason: None,
        message: None,
    }
}

/// A pod the kubelet could not make (or lost): `Failed`, not `Ready`, and why.
pub fn failed_status(host_ip: Option<Ipv4Addr>, reason: &str, message: &str) -> PodStatus {
    let why = Some((reason, message));
    PodStatus {
        phase: Some(PodPhase::Failed),
        host_ip: host_ip.map(|ip| ip.to_string()),
        conditions: vec![
            condition("PodScheduled", ConditionStatus::True, None),
            condition("ContainersReady", ConditionStatus::False, why),
            condition("Ready", ConditionStatus::False, why),
        ],
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        ..PodStatus::default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
