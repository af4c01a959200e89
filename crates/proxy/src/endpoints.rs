//! The endpoints controller's computation, as Kubernetes' EndpointSlice controller does it:
//! for a Service with a selector, the pods in its namespace whose labels match, that have an
//! address and are not finished, as endpoints with their conditions —
//!
//! - `ready`: the pod's `Ready` condition is true and it is not being deleted;
//! - `serving`: the `Ready` condition, whatever the deletion;
//! - `terminating`: the pod has a `deletionTimestamp`;
//!
//! — and the Service's ports resolved against each pod (a named `targetPort` is looked up in
//! the pod's container ports, so pods may differ). Endpoints whose resolved ports are the same
//! share a slice, at most [`MAX_ENDPOINTS`] per slice, as the controller does. A Service without
//! a selector gets no slices (its slices are someone else's). Pure: objects in, slices out; the
//! agent's endpoints controller compares them with the stored ones and writes the difference.

use std::collections::BTreeMap;

use podnet_model::endpointslice::SERVICE_NAME_LABEL;
use podnet_model::{
    AddressType, Endpoint, EndpointConditions, EndpointPort, EndpointSlice, IntOrString,
    ObjectMeta, ObjectReference, Pod, PodPhase, Protocol, Service,
};

/// Endpoints per slice (the controller's `--max-endpoints-per-slice` default).
pub const MAX_ENDPOINTS: usize = 100;
/// The label saying who manages a slice, and podnet's value for it.
pub const MANAGED_BY_LABEL: &str = "endpointslice.kubernetes.io/managed-by";
pub const MANAGED_BY: &str = "podnet-endpoints";

fn protocol(p: &Option<Protocol>) -> Protocol {
    p.clone().filter(|p| !p.is_unset()).unwrap_or(Protocol::Tcp)
}

/// The Service's ports resolved against one pod: `None` for a port the pod does not have
/// (a named target port it does not declare).
fn resolve_ports(svc: &Service, pod: &Pod) -> Vec<EndpointPort> {
    svc.spec
        .ports
        .iter()
        .map(|sp| {
            let proto = protocol(&sp.protocol);
            let port = match &sp.target_port {
                Some(IntOrString::Int(n)) if *n != 0 => Some(*n),
                Some(IntOrString::String(name)) => pod
                    .named_port(name)
                    .filter(|(_, p)| *p == proto)
                    .map(|(n, _)| n),
                _ => Some(sp.port),
            };
            EndpointPort {
                name: Some(sp.name.clone().unwrap_or_default()),
                protocol: Some(proto),
                port,
            }
        })
        .collect()
}

fn selects(svc: &Service, pod: &Pod) -> bool {
    let sel = &svc.spec.selector;
    !sel.is_empty()
        && sel
            .iter()
            .all(|(k, v)| pod.metadata.labels.get(k) == Some(v))
}

fn endpoint(pod: &Pod, addr: &str) -> Endpoint {
    let terminating = pod.metadata.deletion_timestamp.is_some();
    let serving = pod.is_ready();
    Endpoint {
        addresses: vec![addr.to_owned()],
        conditions: EndpointConditions {
            ready: Some(serving && !terminating),
            serving: Some(serving),
            terminating: Some(terminating),
        },
        hostname: None,
        node_name: pod.spec.node_name.clone(),
        target_ref: Some(ObjectReference {
            api_version: None,
            kind: Some("Pod".into()),
            namespace: pod.metadata.namespace.clone(),
            name: Some(pod.metadata.name.clone()),
            uid: pod.metadata.uid.clone(),
        }),
    }
}

/// The resolved ports of a group of endpoints, as a sortable key.
type PortKey = Vec<(String, String, Option<i32>)>;
/// The resolved ports and the (pod name, endpoint) pairs that share them.
type Group = (Vec<EndpointPort>, Vec<(String, Endpoint)>);

/// The slices `svc` should have, given every pod of the cluster (others' namespaces are
/// skipped). Named `<service>-<n>`, in a stable order, so the same input gives the same slices.
pub fn slices_for<'a>(
    svc: &Service,
    pods: impl IntoIterator<Item = &'a Pod>,
) -> Vec<EndpointSlice> {
    if svc.spec.selector.is_empty() {
        return Vec::new();
    }
    let namespace = svc
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let mut groups: BTreeMap<PortKey, Group> = BTreeMap::new();
    for pod in pods {
        if pod.metadata.namespace.as_deref().unwrap_or("default") != namespace || !selects(svc, pod)
        {
            continue;
        }
        let phase = pod.status.as_ref().and_then(|s| s.phase.clone());
        if matches!(phase, Some(PodPhase::Succeeded | PodPhase::Failed)) {
            continue;
        }
        let Some(addr) = pod.ips().first().map(|s| s.to_string()) else {
            continue;
        };
        let ports = resolve_ports(svc, pod);
        let group: Vec<_> = ports
            .iter()
            .map(|p| {
                let proto = p
                    .protocol
                    .as_ref()
                    .map(|p| p.as_str().to_owned())
                    .unwrap_or_default();
                (p.name.clone().unwrap_or_default(), proto, p.port)
            })
            .collect();
        let entry = groups.entry(group).or_insert_with(|| (ports, Vec::new()));
        entry
            .1
            .push((pod.metadata.name.clone(), endpoint(pod, &addr)));
    }
    let mut slices = Vec::new();
    for (_, (ports, mut endpoints)) in groups {
        endpoints.sort_by(|a, b| a.0.cmp(&b.0));
        // A port the pods do not have is left out of their slice.
        let ports: Vec<EndpointPort> = ports.into_iter().filter(|p| p.port.is_some()).collect();
        for chunk in endpoints.chunks(MAX_ENDPOINTS) {
            let name = format!("{}-{}", svc.metadata.name, slices.len());
            let mut metadata = ObjectMeta::namespaced(&namespace, &name);
            metadata
                .labels
                .insert(SERVICE_NAME_LABEL.into(), svc.metadata.name.clone());
            metadata
                .labels
                .insert(MANAGED_BY_LABEL.into(), MANAGED_BY.into());
            slices.push(EndpointSlice {
                metadata,
                address_type: Some(AddressType::Ipv4),
                endpoints: chunk.iter().map(|(_, e)| e.clone()).collect(),
                ports: ports.clone(),
            });
        }
    }
    slices
}

#[cfg(test)]
mod tests;
