//! Rules for a Pod's spec: containers (at least one, unique DNS-1123 label names), their ports
//! (numbers, protocols, IANA names unique across the pod, host ports), host networking and the
//! node name.

use std::collections::BTreeSet;

use super::names::{dns1123_label, dns1123_subdomain, port_name, port_number};
use super::{given, Errors, FieldError, FieldPath};
use crate::enums::Protocol;
use crate::pod::{ContainerPort, Pod};

pub(super) fn validate_pod(pod: &Pod, errs: &mut Errors) {
    let spec = FieldPath::root("spec");
    if let Some(node) = given(&pod.spec.node_name) {
        errs.invalid_each(&spec.child("nodeName"), node, dns1123_subdomain(node));
    }
    let containers = spec.child("containers");
    if pod.spec.containers.is_empty() {
        errs.push(FieldError::required(&containers, ""));
    }
    let mut names = BTreeSet::new();
    let mut port_names = BTreeSet::new();
    let mut host_ports = BTreeSet::new();
    for (i, container) in pod.spec.containers.iter().enumerate() {
        let path = containers.index(i);
        let name_path = path.child("name");
        if container.name.is_empty() {
            errs.push(FieldError::required(&name_path, ""));
        } else if !names.insert(container.name.as_str()) {
            errs.push(FieldError::duplicate(&name_path, &container.name));
        } else {
            errs.invalid_each(&name_path, &container.name, dns1123_label(&container.name));
        }
        for (j, port) in container.ports.iter().enumerate() {
            let port_path = path.child("ports").index(j);
            validate_container_port(port, &port_path, &mut port_names, errs);
            if let Some(host_port) = port.host_port.filter(|&p| p != 0) {
                let protocol = protocol_or_tcp(&port.protocol);
                if !host_ports.insert((host_port, protocol.clone())) {
                    errs.push(FieldError::duplicate(
                        &port_path.child("hostPort"),
                        format!("{host_port}/{protocol}").as_str(),
                    ));
                }
            }
            if pod.spec.host_network {
                // The defaults set an absent host port to the container port.
                let host_port = port
                    .host_port
                    .filter(|&p| p != 0)
                    .unwrap_or(port.container_port);
                if host_port != port.container_port {
                    errs.push(FieldError::invalid(
                        &port_path.child("hostPort"),
                        host_port,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
}

fn validate_container_port<'a>(
    port: &'a ContainerPort,
    path: &FieldPath,
    names: &mut BTreeSet<&'a str>,
    errs: &mut Errors,
) {
    if let Some(name) = given(&port.name) {
        let name_path = path.child("name");
        let problems = port_name(name);
        if !problems.is_empty() {
            errs.invalid_each(&name_path, name, problems);
        } else if !names.insert(name) {
            errs.push(FieldError::duplicate(&name_path, name));
        }
    }
    let number_path = path.child("containerPort");
    if port.container_port == 0 {
        errs.push(FieldError::required(&number_path, ""));
    } else {
        for msg in port_number(port.container_port) {
            errs.push(FieldError::invalid(&number_path, port.container_port, &msg));
        }
    }
    if let Some(host_port) = port.host_port.filter(|&p| p != 0) {
        for msg in port_number(host_port) {
            errs.push(FieldError::invalid(
                &path.child("hostPort"),
                host_port,
                &msg,
            ));
        }
    }
    validate_protocol(&port.protocol, &path.child("protocol"), errs);
}

/// TCP, UDP or SCTP; absent (or empty) is TCP, as the defaults make it.
pub(super) fn validate_protocol(protocol: &Option<Protocol>, path: &FieldPath, errs: &mut Errors) {
    if let Some(p @ Protocol::Other(text)) = protocol {
        if !p.is_unset() {
            errs.push(FieldError::not_supported(path, text, Protocol::SUPPORTED));
        }
    }
}

/// The protocol after defaulting.
pub(super) fn protocol_or_tcp(protocol: &Option<Protocol>) -> Protocol {
    match protocol {
        Some(p) if !p.is_unset() => p.clone(),
        _ => Protocol::Tcp,
    }
}
