//! Building a [`Snapshot`] from Services, EndpointSlices and Pods, with the record shapes of
//! CoreDNS's kubernetes plugin (the Kubernetes DNS specification):
//!
//! - `SVC.NS.svc.D` A/AAAA → the cluster IPs; for a headless Service (`clusterIP: None`) the
//!   ready endpoint addresses (all of them with `publishNotReadyAddresses`), and
//!   `HOST.SVC.NS.svc.D` for each endpoint, `HOST` its hostname or its dashed IP;
//! - `_PORT._PROTO.SVC.NS.svc.D` SRV → the Service port and `SVC.NS.svc.D`, or for a headless
//!   Service one record per endpoint with the endpoint's port and `HOST.SVC.NS.svc.D`;
//! - an ExternalName Service's name → CNAME `spec.externalName`.
//!
//! Objects that cannot make a name (a Service or namespace name that is not a DNS label, an
//! address that does not parse, an FQDN slice) are left out; validation is the API server's job.

use std::collections::HashMap;
use std::net::IpAddr;

use hickory_proto::rr::Name;
use podnet_model::endpointslice::SERVICE_NAME_LABEL;
use podnet_model::{AddressType, EndpointSlice, Pod, Protocol, Service, ServiceType};

use crate::names::{dashed, is_dns_label, is_port_name};
use crate::snapshot::{Config, Snapshot, SnapshotError};

/// The namespace of an object whose metadata names none (as the API server defaults it).
const DEFAULT_NAMESPACE: &str = "default";

impl Snapshot {
    /// The snapshot of `services` (with their `slices`) and `pods` under `config.domain`.
    pub fn build(
        config: &Config,
        services: &[Service],
        slices: &[EndpointSlice],
        pods: &[Pod],
    ) -> Result<Snapshot, SnapshotError> {
        let mut snapshot = Snapshot::empty(config)?;
        let by_service = slices_by_service(slices);
        for service in services {
            let namespace = service.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE);
            let name = service.metadata.name.as_str();
            if !is_dns_label(namespace) || !is_dns_label(name) {
                continue;
            }
            let slices = by_service
                .get(&(namespace, name))
                .map(Vec::as_slice)
                .unwrap_or_default();
            snapshot.add_service(namespace, name, service, slices);
        }
        for pod in pods {
            if pod.spec.host_network {
                continue;
            }
            let namespace = pod.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE);
            for ip in pod.ips() {
                if let Ok(ip) = ip.parse::<IpAddr>() {
                    snapshot.pod_ips.insert((namespace.to_owned(), ip));
                }
            }
        }
        Ok(snapshot)
    }

    fn add_service(
        &mut self,
        namespace: &str,
        name: &str,
        service: &Service,
        slices: &[&EndpointSlice],
    ) {
        let key = self.key(&[name, namespace, "svc"]);
        let spec = &service.spec;
        if spec.service_type() == ServiceType::ExternalName {
            let alias = spec
                .external_name
                .as_deref()
                .and_then(|text| Name::from_ascii(text).ok())
                .map(|mut alias| {
                    alias.set_fqdn(true);
                    alias
                });
            self.node(key).cname = alias;
        } else if spec.is_headless() {
            self.add_headless(&key, spec.publish_not_ready_addresses, slices);
        } else {
            let ips: Vec<&str> = if spec.cluster_ips.is_empty() {
                spec.cluster_ip.as_deref().into_iter().collect()
            } else {
                spec.cluster_ips.iter().map(String::as_str).collect()
            };
            let node = self.node(key.clone());
            for ip in ips.iter().filter_map(|ip| ip.parse::<IpAddr>().ok()) {
                node.add_ip(ip);
            }
            for port in &spec.ports {
                let (Some(port_name), Ok(number)) = (&port.name, u16::try_from(port.port)) else {
                    continue;
                };
                if let Some(srv) = self.srv_key(&key, port_name, port.protocol.as_ref()) {
                    self.node(srv).srv.insert((number, key.clone()));
                }
            }
        }
    }

    fn add_headless(&mut self, key: &str, publish_not_ready: bool, slices: &[&EndpointSlice]) {
        self.node(key.to_owned());
        for slice in slices {
            if slice.address_type.as_ref() == Some(&AddressType::Fqdn) {
                continue;
            }
            for endpoint in &slice.endpoints {
                if !publish_not_ready && !endpoint.conditions.is_ready() {
                    continue;
                }
                let hostname = endpoint.hostname.as_deref().filter(|h| is_dns_label(h));
                for ip in endpoint.addresses.iter().filter_map(|a| a.parse().ok()) {
                    let host = hostname.map_or_else(|| dashed(ip), str::to_owned);
                    let host_key = format!("{host}.{key}");
                    self.node(key.to_owned()).add_ip(ip);
                    self.node(host_key.clone()).add_ip(ip);
                    for port in &slice.ports {
                        let (Some(port_name), Some(number)) =
                            (&port.name, port.port.and_then(|p| u16::try_from(p).ok()))
                        else {
                            continue;
                        };
                        if let Some(srv) = self.srv_key(key, port_name, port.protocol.as_ref()) {
                            self.node(srv).srv.insert((number, host_key.clone()));
                        }
                    }
                }
            }
        }
    }

    /// `_PORT._PROTO.` + `service_key`, or `None` for an unnamed or oddly named port or an
    /// unknown protocol.
    fn srv_key(
        &self,
        service_key: &str,
        port_name: &str,
        protocol: Option<&Protocol>,
    ) -> Option<String> {
        let proto = match protocol {
            None | Some(Protocol::Tcp) => "tcp",
            Some(Protocol::Udp) => "udp",
            Some(Protocol::Sctp) => "sctp",
            Some(Protocol::Other(text)) if text.is_empty() => "tcp",
            Some(Protocol::Other(_)) => return None,
        };
        is_port_name(port_name).then(|| format!("_{port_name}._{proto}.{service_key}"))
    }
}

/// Slices grouped by `(namespace, service name)`, from the `kubernetes.io/service-name` label.
fn slices_by_service(slices: &[EndpointSlice]) -> HashMap<(&str, &str), Vec<&EndpointSlice>> {
    let mut by_service: HashMap<(&str, &str), Vec<&EndpointSlice>> = HashMap::new();
    for slice in slices {
        let Some(service) = slice.metadata.labels.get(SERVICE_NAME_LABEL) else {
            continue;
        };
        let namespace = slice.metadata.namespace().unwrap_or(DEFAULT_NAMESPACE);
        by_service
            .entry((namespace, service.as_str()))
            .or_default()
            .push(slice);
    }
    by_service
}
