//! The defaults the Kubernetes API server fills in when an object is created, so that what
//! podnet stores (and its controllers read) is what a real cluster would hold.
//!
//! Pure and deterministic: the only source of novelty, the uid of a new object, is a function
//! the caller passes. Defaulting an already-defaulted object changes nothing, with one exception
//! the API server shares: a Namespace's `kubernetes.io/metadata.name` label is always reset to
//! the Namespace's name.

use crate::endpointslice::EndpointSlice;
use crate::enums::Protocol;
use crate::intstr::IntOrString;
use crate::kind::Kind;
use crate::meta::ObjectMeta;
use crate::namespace::{Namespace, METADATA_NAME_LABEL};
use crate::networkpolicy::{NetworkPolicy, NetworkPolicySpec, PolicyType};
use crate::object::Object;
use crate::pod::Pod;
use crate::service::{
    ClientIpConfig, Service, ServiceType, SessionAffinity, SessionAffinityConfig, TrafficPolicy,
    DEFAULT_AFFINITY_TIMEOUT_SECONDS,
};

/// The namespace of a namespaced object that names none.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Fills in what the API server would (see the module doc). `new_uid` is called once, and only
/// when the object has no uid yet.
pub fn apply_defaults(object: &mut Object, new_uid: &mut dyn FnMut() -> String) {
    let kind = object.kind();
    default_meta(kind, object.meta_mut(), new_uid);
    match object {
        Object::Namespace(ns) => default_namespace(ns),
        Object::Pod(pod) => default_pod(pod),
        Object::Service(svc) => default_service(svc),
        Object::EndpointSlice(slice) => default_endpoint_slice(slice),
        Object::NetworkPolicy(policy) => default_network_policy(policy),
    }
}

fn default_meta(kind: Kind, meta: &mut ObjectMeta, new_uid: &mut dyn FnMut() -> String) {
    if kind.namespaced() && meta.namespace().is_none() {
        meta.namespace = Some(DEFAULT_NAMESPACE.to_owned());
    }
    if meta.uid.as_deref().is_none_or(str::is_empty) {
        meta.uid = Some(new_uid());
    }
}

/// Fills an unset protocol with TCP, the default of every port in the API.
fn default_protocol(protocol: &mut Option<Protocol>) {
    if protocol.as_ref().is_none_or(Protocol::is_unset) {
        *protocol = Some(Protocol::Tcp);
    }
}

fn default_namespace(ns: &mut Namespace) {
    let name = ns.metadata.name.clone();
    ns.metadata
        .labels
        .insert(METADATA_NAME_LABEL.to_owned(), name);
}

fn default_pod(pod: &mut Pod) {
    let host_network = pod.spec.host_network;
    for port in pod.spec.containers.iter_mut().flat_map(|c| &mut c.ports) {
        default_protocol(&mut port.protocol);
        // A host-network pod's ports are its node's ports.
        if host_network && port.host_port.is_none_or(|p| p == 0) {
            port.host_port = Some(port.container_port);
        }
    }
}

fn default_service(svc: &mut Service) {
    let spec = &mut svc.spec;
    if spec.type_.as_ref().is_none_or(ServiceType::is_unset) {
        spec.type_ = Some(ServiceType::ClusterIp);
    }
    if spec
        .session_affinity
        .as_ref()
        .is_none_or(SessionAffinity::is_unset)
    {
        spec.session_affinity = Some(SessionAffinity::None);
    }
    if spec.session_affinity == Some(SessionAffinity::ClientIp) {
        let config = spec
            .session_affinity_config
            .get_or_insert_with(SessionAffinityConfig::default);
        let client_ip = config.client_ip.get_or_insert_with(ClientIpConfig::default);
        client_ip
            .timeout_seconds
            .get_or_insert(DEFAULT_AFFINITY_TIMEOUT_SECONDS);
    }
    if let Some(cluster_ip) = spec.cluster_ip.as_ref().filter(|ip| !ip.is_empty()) {
        if spec.cluster_ips.is_empty() {
            spec.cluster_ips = vec![cluster_ip.clone()];
        }
    }
    let service_type = spec.service_type();
    if matches!(
        service_type,
        ServiceType::NodePort | ServiceType::LoadBalancer
    ) && spec
        .external_traffic_policy
        .as_ref()
        .is_none_or(TrafficPolicy::is_unset)
    {
        spec.external_traffic_policy = Some(TrafficPolicy::Cluster);
    }
    if service_type != ServiceType::ExternalName
        && spec
            .internal_traffic_policy
            .as_ref()
            .is_none_or(TrafficPolicy::is_unset)
    {
        spec.internal_traffic_policy = Some(TrafficPolicy::Cluster);
    }
    for port in &mut spec.ports {
        default_protocol(&mut port.protocol);
        if port.target_port.as_ref().is_none_or(IntOrString::is_zero) {
            port.target_port = Some(IntOrString::Int(port.port));
        }
    }
}

fn default_endpoint_slice(slice: &mut EndpointSlice) {
    for port in &mut slice.ports {
        default_protocol(&mut port.protocol);
    }
}

fn default_network_policy(policy: &mut NetworkPolicy) {
    let spec = &mut policy.spec;
    if spec.policy_types.is_empty() {
        spec.policy_types = default_policy_types(spec);
    }
    let ports = spec
        .ingress
        .iter_mut()
        .flat_map(|r| &mut r.ports)
        .chain(spec.egress.iter_mut().flat_map(|r| &mut r.ports));
    for port in ports {
        default_protocol(&mut port.protocol);
    }
}

/// The API server's rule for an empty `policyTypes`: every policy affects ingress, and those
/// with egress rules affect egress too.
pub(crate) fn default_policy_types(spec: &NetworkPolicySpec) -> Vec<PolicyType> {
    let mut types = vec![PolicyType::Ingress];
    if !spec.egress.is_empty() {
        types.push(PolicyType::Egress);
    }
    types
}

#[cfg(test)]
mod tests;
