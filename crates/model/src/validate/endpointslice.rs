//! Rules for an EndpointSlice: the address type, each endpoint's addresses (1 to 100, valid for
//! the type, not special-purpose IPs), node and host names, and the ports.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

use super::names::{dns1123_label, dns1123_subdomain, fqdn, parse_ipv4, port_number};
use super::pod::validate_protocol;
use super::{given, Errors, FieldError, FieldPath};
use crate::endpointslice::{AddressType, Endpoint, EndpointSlice};

/// Most endpoints in one slice.
pub const MAX_ENDPOINTS: usize = 1000;
/// Most addresses of one endpoint.
pub const MAX_ADDRESSES: usize = 100;
/// Most ports in one slice.
pub const MAX_PORTS: usize = 20_000;

pub(super) fn validate_endpoint_slice(slice: &EndpointSlice, errs: &mut Errors) {
    let type_path = FieldPath::root("addressType");
    match &slice.address_type {
        None => errs.push(FieldError::required(&type_path, "")),
        Some(t) if t.is_unset() => errs.push(FieldError::required(&type_path, "")),
        Some(AddressType::Other(text)) => errs.push(FieldError::not_supported(
            &type_path,
            text,
            AddressType::SUPPORTED,
        )),
        Some(_) => {}
    }
    let endpoints = FieldPath::root("endpoints");
    if slice.endpoints.len() > MAX_ENDPOINTS {
        errs.push(FieldError::too_many(
            &endpoints,
            slice.endpoints.len(),
            MAX_ENDPOINTS,
        ));
    }
    for (i, endpoint) in slice.endpoints.iter().enumerate() {
        validate_endpoint(
            endpoint,
            slice.address_type.as_ref(),
            &endpoints.index(i),
            errs,
        );
    }
    let ports = FieldPath::root("ports");
    if slice.ports.len() > MAX_PORTS {
        errs.push(FieldError::too_many(&ports, slice.ports.len(), MAX_PORTS));
    }
    let mut names = BTreeSet::new();
    for (i, port) in slice.ports.iter().enumerate() {
        let port_path = ports.index(i);
        let name_path = port_path.child("name");
        let name = given(&port.name).unwrap_or("");
        if !name.is_empty() {
            errs.invalid_each(&name_path, name, dns1123_label(name));
        }
        // Absent and empty are the same name, so two unnamed ports collide.
        if !names.insert(name) {
            errs.push(FieldError::duplicate(&name_path, name));
        }
        validate_protocol(&port.protocol, &port_path.child("protocol"), errs);
        if let Some(number) = port.port {
            for msg in port_number(number) {
                errs.push(FieldError::invalid(&port_path.child("port"), number, &msg));
            }
        }
    }
}

fn validate_endpoint(
    endpoint: &Endpoint,
    address_type: Option<&AddressType>,
    path: &FieldPath,
    errs: &mut Errors,
) {
    let addresses = path.child("addresses");
    if endpoint.addresses.is_empty() {
        errs.push(FieldError::required(
            &addresses,
            "must contain at least 1 address",
        ));
    } else if endpoint.addresses.len() > MAX_ADDRESSES {
        errs.push(FieldError::too_many(
            &addresses,
            endpoint.addresses.len(),
            MAX_ADDRESSES,
        ));
    }
    for (i, address) in endpoint.addresses.iter().enumerate() {
        let entry = addresses.index(i);
        match address_type {
            Some(AddressType::Ipv4) => match parse_ipv4(address) {
                None => errs.push(FieldError::invalid(
                    &entry,
                    address,
                    "must be a valid IPv4 address",
                )),
                Some(ip) => check_not_special(IpAddr::V4(ip), address, &entry, errs),
            },
            Some(AddressType::Ipv6) => match address.parse::<Ipv6Addr>() {
                Err(_) => errs.push(FieldError::invalid(
                    &entry,
                    address,
                    "must be a valid IPv6 address",
                )),
                Ok(ip) => check_not_special(IpAddr::V6(ip), address, &entry, errs),
            },
            Some(AddressType::Fqdn) => errs.invalid_each(&entry, address, fqdn(address)),
            // Nothing to check addresses against; the address type has its own error.
            Some(AddressType::Other(_)) | None => {}
        }
    }
    if let Some(node) = given(&endpoint.node_name) {
        errs.invalid_each(&path.child("nodeName"), node, dns1123_subdomain(node));
    }
    if let Some(host) = given(&endpoint.hostname) {
        errs.invalid_each(&path.child("hostname"), host, dns1123_label(host));
    }
}

/// Endpoints may not point at addresses that are never a pod's: unspecified, loopback,
/// link-local (as the API server's `ValidateNonSpecialIP`).
fn check_not_special(ip: IpAddr, text: &str, path: &FieldPath, errs: &mut Errors) {
    let problem = if ip.is_unspecified() {
        Some("may not be unspecified (0.0.0.0, ::)")
    } else if ip.is_loopback() {
        Some("may not be in the loopback range (127.0.0.0/8, ::1/128)")
    } else if is_link_local(ip) {
        Some("may not be in the link-local range (169.254.0.0/16, fe80::/10)")
    } else if is_link_local_multicast(ip) {
        Some("may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)")
    } else {
        None
    };
    if let Some(problem) = problem {
        errs.push(FieldError::invalid(path, text, problem));
    }
}

fn is_link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
    }
}

fn is_link_local_multicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => matches!(v4.octets(), [224, 0, 0, _]),
        IpAddr::V6(v6) => (v6.segments()[0] & 0xff0f) == 0xff02,
    }
}
