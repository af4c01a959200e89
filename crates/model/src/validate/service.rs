//! Rules for a Service's spec: type, cluster IPs, ports (names, numbers, target ports, node
//! ports, duplicates), selector, session affinity and traffic policies.

use std::collections::BTreeSet;

use super::meta::validate_labels;
use super::names::{dns1123_label, dns1123_subdomain, parse_ipv4, port_name, port_number};
use super::pod::{protocol_or_tcp, validate_protocol};
use super::{given, Errors, FieldError, FieldPath};
use crate::intstr::IntOrString;
use crate::service::{
    Service, ServiceSpec, ServiceType, SessionAffinity, TrafficPolicy, CLUSTER_IP_NONE,
    MAX_AFFINITY_TIMEOUT_SECONDS,
};

/// The node port range (the API server's default `--service-node-port-range`).
pub const NODE_PORT_MIN: i32 = 30_000;
pub const NODE_PORT_MAX: i32 = 32_767;

const IPV4_MSG: &str =
    "must be a valid IPv4 address (podnet's Services are IPv4-only), (e.g. 10.9.8.7)";

pub(super) fn validate_service(svc: &Service, errs: &mut Errors) {
    let spec = &svc.spec;
    let path = FieldPath::root("spec");
    let service_type = spec.service_type();
    if let Some(t @ ServiceType::Other(text)) = &spec.type_ {
        if !t.is_unset() {
            errs.push(FieldError::not_supported(
                &path.child("type"),
                text,
                ServiceType::SUPPORTED,
            ));
        }
    }
    validate_cluster_ips(spec, service_type.clone(), &path, errs);
    if service_type == ServiceType::ExternalName {
        let name_path = path.child("externalName");
        match given(&spec.external_name) {
            None => errs.push(FieldError::required(&name_path, "")),
            Some(name) => errs.invalid_each(&name_path, name, dns1123_subdomain(name)),
        }
    }
    let ports = path.child("ports");
    if spec.ports.is_empty() && !spec.is_headless() && service_type != ServiceType::ExternalName {
        errs.push(FieldError::required(&ports, ""));
    }
    validate_ports(spec, &service_type, &ports, errs);
    validate_labels(&spec.selector, &path.child("selector"), errs);
    validate_affinity(spec, &path, errs);
    validate_traffic_policies(spec, &service_type, &path, errs);
}

/// `clusterIP` is empty (to be allocated), `None` (headless) or an IPv4 address;
/// `clusterIPs`, when set, starts with it.
fn validate_cluster_ips(
    spec: &ServiceSpec,
    service_type: ServiceType,
    path: &FieldPath,
    errs: &mut Errors,
) {
    let ip_path = path.child("clusterIP");
    let cluster_ip = given(&spec.cluster_ip);
    if service_type == ServiceType::ExternalName {
        if cluster_ip.is_some() || !spec.cluster_ips.is_empty() {
            errs.push(FieldError::forbidden(
                &ip_path,
                "may not be set for ExternalName services",
            ));
        }
        return;
    }
    if let Some(ip) = cluster_ip {
        check_cluster_ip(ip, &ip_path, &service_type, errs);
    }
    let ips_path = path.child("clusterIPs");
    for (i, ip) in spec.cluster_ips.iter().enumerate() {
        let entry = ips_path.index(i);
        if i == 0 && cluster_ip.is_some() {
            // Equal to `clusterIP`, which was checked above, or wrong.
            if cluster_ip != Some(ip.as_str()) {
                errs.push(FieldError::invalid(&entry, ip, "must match `clusterIP`"));
            }
        } else if ip == CLUSTER_IP_NONE && spec.cluster_ips.len() > 1 {
            errs.push(FieldError::invalid(
                &entry,
                ip,
                "'None' must be the only value when set",
            ));
        } else {
            check_cluster_ip(ip, &entry, &service_type, errs);
        }
    }
    if spec.cluster_ips.len() > 1 {
        errs.push(FieldError::invalid(
            &ips_path,
            spec.cluster_ips.len(),
            "may contain at most one address: podnet's Services are single-stack IPv4",
        ));
    }
}

fn check_cluster_ip(ip: &str, path: &FieldPath, service_type: &ServiceType, errs: &mut Errors) {
    if ip == CLUSTER_IP_NONE {
        if matches!(
            service_type,
            ServiceType::NodePort | ServiceType::LoadBalancer
        ) {
            errs.push(FieldError::invalid(
                path,
                ip,
                &format!("may not be set to 'None' for {service_type} services"),
            ));
        }
    } else if parse_ipv4(ip).is_none() {
        errs.push(FieldError::invalid(path, ip, IPV4_MSG));
    }
}

fn validate_ports(
    spec: &ServiceSpec,
    service_type: &ServiceType,
    path: &FieldPath,
    errs: &mut Errors,
) {
    let require_name = spec.ports.len() > 1;
    let mut names = BTreeSet::new();
    let mut ports = BTreeSet::new();
    let mut node_ports = BTreeSet::new();
    for (i, port) in spec.ports.iter().enumerate() {
        let port_path = path.index(i);
        let name_path = port_path.child("name");
        match given(&port.name) {
            None if require_name => errs.push(FieldError::required(&name_path, "")),
            None => {}
            Some(name) => {
                errs.invalid_each(&name_path, name, dns1123_label(name));
                if !names.insert(name) {
                    errs.push(FieldError::duplicate(&name_path, name));
                }
            }
        }
        for msg in port_number(port.port) {
            errs.push(FieldError::invalid(
                &port_path.child("port"),
                port.port,
                &msg,
            ));
        }
        validate_protocol(&port.protocol, &port_path.child("protocol"), errs);
        if let Some(target) = port.target_port.as_ref().filter(|t| !t.is_zero()) {
            validate_port_num_or_name(target, &port_path.child("targetPort"), errs);
        }
        let protocol = protocol_or_tcp(&port.protocol);
        let node_port_path = port_path.child("nodePort");
        if let Some(node_port) = port.node_port.filter(|&p| p != 0) {
            match service_type {
                ServiceType::NodePort | ServiceType::LoadBalancer => {
                    if !(NODE_PORT_MIN..=NODE_PORT_MAX).contains(&node_port) {
                        errs.push(FieldError::invalid(
                            &node_port_path,
                            node_port,
                            &format!("provided port is not in the valid range. The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"),
                        ));
                    }
                    if !node_ports.insert((node_port, protocol.clone())) {
                        errs.push(FieldError::duplicate(&node_port_path, node_port));
                    }
                }
                other => errs.push(FieldError::forbidden(
                    &node_port_path,
                    &format!("may not be used when `type` is '{other}'"),
                )),
            }
        }
        if !ports.insert((port.port, protocol.clone())) {
            errs.push(FieldError::duplicate(
                &port_path,
                format!("{}/{protocol}", port.port).as_str(),
            ));
        }
    }
}

/// A port number 1–65535, or an IANA_SVC_NAME naming a container port.
pub(super) fn validate_port_num_or_name(port: &IntOrString, path: &FieldPath, errs: &mut Errors) {
    let problems = match port {
        IntOrString::Int(n) => port_number(*n),
        IntOrString::String(name) => port_name(name),
    };
    for msg in problems {
        errs.push(FieldError::invalid(path, port, &msg));
    }
}

fn validate_affinity(spec: &ServiceSpec, path: &FieldPath, errs: &mut Errors) {
    let config_path = path.child("sessionAffinityConfig");
    let affinity = spec
        .session_affinity
        .clone()
        .filter(|a| !a.is_unset())
        .unwrap_or(SessionAffinity::None);
    match &affinity {
        SessionAffinity::None => {
            if spec.session_affinity_config.is_some() {
                errs.push(FieldError::forbidden(
                    &config_path,
                    "must not be set when session affinity is None",
                ));
            }
        }
        SessionAffinity::ClientIp => {
            // An absent timeout is defaulted (to three hours).
            let timeout = spec
                .session_affinity_config
                .as_ref()
                .and_then(|c| c.client_ip.as_ref())
                .and_then(|c| c.timeout_seconds);
            if let Some(timeout) = timeout {
                if !(1..=MAX_AFFINITY_TIMEOUT_SECONDS).contains(&timeout) {
                    errs.push(FieldError::invalid(
                        &config_path.child("clientIP").child("timeoutSeconds"),
                        timeout,
                        &format!(
                            "must be greater than 0 and less than {MAX_AFFINITY_TIMEOUT_SECONDS}"
                        ),
                    ));
                }
            }
        }
        SessionAffinity::Other(text) => errs.push(FieldError::not_supported(
            &path.child("sessionAffinity"),
            text,
            SessionAffinity::SUPPORTED,
        )),
    }
}

fn validate_traffic_policies(
    spec: &ServiceSpec,
    service_type: &ServiceType,
    path: &FieldPath,
    errs: &mut Errors,
) {
    let external_path = path.child("externalTrafficPolicy");
    if let Some(policy) = spec
        .external_traffic_policy
        .as_ref()
        .filter(|p| !p.is_unset())
    {
        if let TrafficPolicy::Other(text) = policy {
            errs.push(FieldError::not_supported(
                &external_path,
                text,
                TrafficPolicy::SUPPORTED,
            ));
        } else if !matches!(
            service_type,
            ServiceType::NodePort | ServiceType::LoadBalancer
        ) {
            errs.push(FieldError::invalid(
                &external_path,
                policy.as_str(),
                "may only be set for externally-accessible services",
            ));
        }
    }
    if let Some(TrafficPolicy::Other(text)) = &spec.internal_traffic_policy {
        if !text.is_empty() {
            errs.push(FieldError::not_supported(
                &path.child("internalTrafficPolicy"),
                text,
                TrafficPolicy::SUPPORTED,
            ));
        }
    }
}
