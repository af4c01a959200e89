//! Rules for a NetworkPolicy's spec: selectors, peers (selectors or an IP block, never both),
//! IP blocks (a CIDR and strictly smaller exceptions inside it), ports and port ranges, and
//! policy types.

use ipnet::IpNet;

use super::meta::validate_selector;
use super::names::{port_name, port_number};
use super::pod::validate_protocol;
use super::{Errors, FieldError, FieldPath};
use crate::intstr::IntOrString;
use crate::networkpolicy::{
    IpBlock, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, PolicyType,
};

const CIDR_MSG: &str = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

pub(super) fn validate_network_policy(policy: &NetworkPolicy, errs: &mut Errors) {
    let spec = &policy.spec;
    let path = FieldPath::root("spec");
    validate_selector(&spec.pod_selector, &path.child("podSelector"), errs);
    for (i, rule) in spec.ingress.iter().enumerate() {
        let rule_path = path.child("ingress").index(i);
        for (j, port) in rule.ports.iter().enumerate() {
            validate_port(port, &rule_path.child("ports").index(j), errs);
        }
        for (j, peer) in rule.from.iter().enumerate() {
            validate_peer(peer, &rule_path.child("from").index(j), errs);
        }
    }
    for (i, rule) in spec.egress.iter().enumerate() {
        let rule_path = path.child("egress").index(i);
        for (j, port) in rule.ports.iter().enumerate() {
            validate_port(port, &rule_path.child("ports").index(j), errs);
        }
        for (j, peer) in rule.to.iter().enumerate() {
            validate_peer(peer, &rule_path.child("to").index(j), errs);
        }
    }
    let types_path = path.child("policyTypes");
    if spec.policy_types.len() > PolicyType::SUPPORTED.len() {
        errs.push(FieldError::invalid(
            &types_path,
            spec.policy_types.len(),
            "may not specify more than two policyTypes",
        ));
        return;
    }
    for (i, policy_type) in spec.policy_types.iter().enumerate() {
        if let PolicyType::Other(text) = policy_type {
            errs.push(FieldError::not_supported(
                &types_path.index(i),
                text,
                PolicyType::SUPPORTED,
            ));
        }
    }
}

fn validate_port(port: &NetworkPolicyPort, path: &FieldPath, errs: &mut Errors) {
    validate_protocol(&port.protocol, &path.child("protocol"), errs);
    let end_path = path.child("endPort");
    match (&port.port, port.end_port) {
        (Some(IntOrString::Int(start)), end) => {
            for msg in port_number(*start) {
                errs.push(FieldError::invalid(&path.child("port"), *start, &msg));
            }
            if let Some(end) = end {
                if end < *start {
                    errs.push(FieldError::invalid(
                        &end_path,
                        end,
                        "must be greater than or equal to `port`",
                    ));
                }
                for msg in port_number(end) {
                    errs.push(FieldError::invalid(&end_path, end, &msg));
                }
            }
        }
        (Some(IntOrString::String(name)), end) => {
            if let Some(end) = end {
                errs.push(FieldError::invalid(
                    &end_path,
                    end,
                    "may not be specified when `port` is non-numeric",
                ));
            }
            errs.invalid_each(&path.child("port"), name, port_name(name));
        }
        (None, Some(end)) => errs.push(FieldError::invalid(
            &end_path,
            end,
            "may not be specified when `port` is not specified",
        )),
        (None, None) => {}
    }
}

fn validate_peer(peer: &NetworkPolicyPeer, path: &FieldPath, errs: &mut Errors) {
    if let Some(selector) = &peer.pod_selector {
        validate_selector(selector, &path.child("podSelector"), errs);
    }
    if let Some(selector) = &peer.namespace_selector {
        validate_selector(selector, &path.child("namespaceSelector"), errs);
    }
    if let Some(block) = &peer.ip_block {
        validate_ip_block(block, &path.child("ipBlock"), errs);
    }
    let selectors = peer.pod_selector.is_some() || peer.namespace_selector.is_some();
    match (selectors, peer.ip_block.is_some()) {
        (false, false) => errs.push(FieldError::required(path, "must specify a peer")),
        (true, true) => errs.push(FieldError::forbidden(
            path,
            "may not specify both ipBlock and another peer",
        )),
        _ => {}
    }
}

fn validate_ip_block(block: &IpBlock, path: &FieldPath, errs: &mut Errors) {
    let cidr_path = path.child("cidr");
    if block.cidr.is_empty() {
        errs.push(FieldError::required(&cidr_path, ""));
        return;
    }
    let Ok(cidr) = block.cidr.parse::<IpNet>() else {
        errs.push(FieldError::invalid(&cidr_path, &block.cidr, CIDR_MSG));
        return;
    };
    // Host bits are allowed in `cidr` (as the API server's sloppy parse): 10.0.0.1/24 is
    // the network 10.0.0.0/24.
    let network = cidr.trunc();
    for (i, text) in block.except.iter().enumerate() {
        let entry = path.child("except").index(i);
        match text.parse::<IpNet>() {
            Err(_) => errs.push(FieldError::invalid(&entry, text, CIDR_MSG)),
            Ok(except) => {
                if !network.contains(&except.addr()) || except.prefix_len() <= network.prefix_len()
                {
                    errs.push(FieldError::invalid(
                        &entry,
                        text,
                        "must be a strict subset of `cidr`",
                    ));
                }
            }
        }
    }
}
