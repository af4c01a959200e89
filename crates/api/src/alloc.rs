//! Cluster IP and node port allocation on Service writes, as the API server does it: a Service
//! created without `spec.clusterIP` gets a free address of the Service CIDR, one that asks for
//! an address gets it only if no other Service holds it (else `Invalid`: "provided IP is
//! already allocated"), and NodePort / LoadBalancer ports without `nodePort` get a free one of
//! 30000–32767. Updates keep what was allocated (kubectl's merge never clears a field the
//! manifest did not set) and may not change a cluster IP (immutable). Deleting the Service
//! releases its claims.
//!
//! Claims are datastore keys written with create-if-absent before the Service
//! ([`podnet_model::allocation`] has the layout), so concurrent creates never share a value;
//! a write that fails afterwards releases the claims it made.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use podnet_model::allocation::{
    free_ips, free_node_ports, holder, in_range, node_port_key, service_ip_key, NODE_PORTS_PREFIX,
    SERVICE_IPS_PREFIX,
};
use podnet_model::service::CLUSTER_IP_NONE;
use podnet_model::{FieldError, FieldErrorKind, Kind, Service, ServiceType, ValidationErrors};
use podnet_store::Datastore;

use crate::api::Api;
use crate::error::ApiError;

/// How many free candidates one allocation tries before it lists the claims again.
const CANDIDATES: usize = 16;
/// How often the claims are listed again after every candidate was taken by a racing write.
const ROUNDS: usize = 4;

/// The claims a Service write made (released again if the write fails) and those it gave up
/// (released once the write succeeded).
#[derive(Debug, Default)]
pub(crate) struct Claims {
    pub made: Vec<String>,
    pub released: Vec<String>,
}

fn field_error(path: &str, message: String) -> FieldError {
    FieldError {
        path: path.into(),
        kind: FieldErrorKind::Invalid,
        message,
    }
}

fn invalid(svc: &Service, error: FieldError) -> ApiError {
    ApiError::Invalid {
        kind: Kind::Service,
        name: svc.metadata.name.clone(),
        errors: ValidationErrors(vec![error]),
    }
}

/// The cluster IP a Service holds, if any.
fn held_ip(svc: &Service) -> Option<Ipv4Addr> {
    svc.spec.cluster_ip.as_deref().and_then(|s| s.parse().ok())
}

fn takes_cluster_ip(svc: &Service) -> bool {
    svc.spec.service_type() != ServiceType::ExternalName && !svc.spec.is_headless()
}

fn takes_node_ports(svc: &Service) -> bool {
    matches!(
        svc.spec.service_type(),
        ServiceType::NodePort | ServiceType::LoadBalancer
    )
}

fn held_node_ports(svc: &Service) -> BTreeSet<i32> {
    if !takes_node_ports(svc) {
        return BTreeSet::new();
    }
    svc.spec
        .ports
        .iter()
        .filter_map(|p| p.node_port.filter(|&n| n != 0))
        .collect()
}

/// Every claim key a stored Service holds.
pub(crate) fn claim_keys(svc: &Service) -> Vec<String> {
    let ip = held_ip(svc).filter(|_| takes_cluster_ip(svc));
    ip.map(service_ip_key)
        .into_iter()
        .chain(held_node_ports(svc).into_iter().map(node_port_key))
        .collect()
}

impl<D: Datastore> Api<D> {
    /// Fills in and claims `svc`'s cluster IP and node ports before it is stored; `stored` is
    /// the Service it replaces (an update). On error nothing stays claimed.
    pub(crate) async fn allocate(
        &self,
        namespace: &str,
        stored: Option<&Service>,
        svc: &mut Service,
    ) -> Result<Claims, ApiError> {
        let mut claims = Claims::default();
        match self
            .allocate_inner(namespace, stored, svc, &mut claims)
            .await
        {
            Ok(()) => {
                if let Some(old) = stored {
                    let keep: BTreeSet<String> = claim_keys(svc).into_iter().collect();
                    claims.released = claim_keys(old)
                        .into_iter()
                        .filter(|k| !keep.contains(k))
                        .collect();
                }
                Ok(claims)
            }
            Err(e) => {
                self.release(&claims.made).await;
                Err(e)
            }
        }
    }

    async fn allocate_inner(
        &self,
        namespace: &str,
        stored: Option<&Service>,
        svc: &mut Service,
        claims: &mut Claims,
    ) -> Result<(), ApiError> {
        let who = holder(namespace, &svc.metadata.name);
        if takes_cluster_ip(svc) {
            let asked = svc.spec.cluster_ip.clone().filter(|s| !s.is_empty());
            let kept = stored.filter(|s| takes_cluster_ip(s)).and_then(held_ip);
            let ip = match (asked, kept) {
                (None, Some(ip)) => ip,
                (Some(a), Some(ip)) if a != ip.to_string() => {
                    let msg = format!("Invalid value: {a:?}: field is immutable");
                    return Err(invalid(svc, field_error("spec.clusterIPs[0]", msg)));
                }
                (Some(_), Some(ip)) => ip,
                (Some(a), None) => {
                    let ip: Ipv4Addr = a.parse().map_err(|_| {
                        let msg = format!("Invalid value: {a:?}: must be a valid IP address");
                        invalid(svc, field_error("spec.clusterIPs[0]", msg))
                    })?;
                    if !in_range(self.service_cidr, ip) {
                        let msg = format!(
                            "Invalid value: {a:?}: failed to allocate IP {a}: the provided IP ({a}) is not in the valid range. The range of valid IPs is {}",
                            self.service_cidr
                        );
                        return Err(invalid(svc, field_error("spec.clusterIPs", msg)));
                    }
                    if !self.claim(&service_ip_key(ip), &who, claims).await? {
                        let msg = format!(
                            "Invalid value: {a:?}: failed to allocate IP {a}: provided IP is already allocated"
                        );
                        return Err(invalid(svc, field_error("spec.clusterIPs", msg)));
                    }
                    ip
                }
                (None, None) => self.allocate_ip(&who, svc, claims).await?,
            };
            svc.spec.cluster_ip = Some(ip.to_string());
            svc.spec.cluster_ips = vec![ip.to_string()];
        } else if svc.spec.is_headless() {
            svc.spec.cluster_ips = vec![CLUSTER_IP_NONE.into()];
        }
        if takes_node_ports(svc) {
            self.allocate_node_ports(&who, stored, svc, claims).await?;
        }
        Ok(())
    }

    async fn allocate_ip(
        &self,
        who: &str,
        svc: &Service,
        claims: &mut Claims,
    ) -> Result<Ipv4Addr, ApiError> {
        for _ in 0..ROUNDS {
            let (kvs, _) = self.store.list(SERVICE_IPS_PREFIX).await?;
            let taken: BTreeSet<Ipv4Addr> = kvs
                .iter()
                .filter_map(|kv| kv.key.strip_prefix(SERVICE_IPS_PREFIX)?.parse().ok())
                .collect();
            let candidates = free_ips(self.service_cidr, &taken, who, CANDIDATES);
            if candidates.is_empty() {
                break;
            }
            for ip in candidates {
                if self.claim(&service_ip_key(ip), who, claims).await? {
                    return Ok(ip);
                }
            }
        }
        let msg = format!(
            "Invalid value: \"\": failed to allocate a serviceIP: range {} is full",
            self.service_cidr
        );
        Err(invalid(svc, field_error("spec.clusterIPs", msg)))
    }

    async fn allocate_node_ports(
        &self,
        who: &str,
        stored: Option<&Service>,
        svc: &mut Service,
        claims: &mut Claims,
    ) -> Result<(), ApiError> {
        let previous: Vec<(i32, String, i32)> = stored
            .filter(|s| takes_node_ports(s))
            .map(|s| {
                s.spec
                    .ports
                    .iter()
                    .filter_map(|p| {
                        let n = p.node_port.filter(|&n| n != 0)?;
                        Some((p.port, format!("{:?}", p.protocol), n))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let held = stored.map(held_node_ports).unwrap_or_default();
        let mut mine = BTreeSet::new();
        // Ports that ask for a node port (or keep theirs) first, so an allocation never takes
        // a port another entry of this Service asks for.
        for (i, port) in svc.spec.ports.iter_mut().enumerate() {
            let asked = port.node_port.filter(|&n| n != 0).or_else(|| {
                let proto = format!("{:?}", port.protocol);
                previous
                    .iter()
                    .find(|(p, pr, _)| *p == port.port && *pr == proto)
                    .map(|t| t.2)
            });
            let Some(n) = asked else { continue };
            port.node_port = Some(n);
            // The same number on two protocols of this Service is one claim.
            if held.contains(&n) || !mine.insert(n) {
                continue;
            }
            if !self.claim(&node_port_key(n), who, claims).await? {
                let path = format!("spec.ports[{i}].nodePort");
                let msg = format!("Invalid value: {n}: provided port is already allocated");
                return Err(invalid(svc, field_error(&path, msg)));
            }
        }
        for i in 0..svc.spec.ports.len() {
            if svc.spec.ports[i].node_port.is_some_and(|n| n != 0) {
                continue;
            }
            let n = self.allocate_node_port(who, svc, claims).await?;
            svc.spec.ports[i].node_port = Some(n);
        }
        Ok(())
    }

    async fn allocate_node_port(
        &self,
        who: &str,
        svc: &Service,
        claims: &mut Claims,
    ) -> Result<i32, ApiError> {
        for _ in 0..ROUNDS {
            let (kvs, _) = self.store.list(NODE_PORTS_PREFIX).await?;
            let taken: BTreeSet<i32> = kvs
                .iter()
                .filter_map(|kv| kv.key.strip_prefix(NODE_PORTS_PREFIX)?.parse().ok())
                .collect();
            let candidates = free_node_ports(&taken, who, CANDIDATES);
            if candidates.is_empty() {
                break;
            }
            for n in candidates {
                if self.claim(&node_port_key(n), who, claims).await? {
                    return Ok(n);
                }
            }
        }
        let msg = "Invalid value: 0: failed to allocate a nodePort: range is full".to_string();
        Err(invalid(svc, field_error("spec.ports", msg)))
    }

    /// Claims `key` for `who`: `true` if it is now (or already was) theirs.
    async fn claim(&self, key: &str, who: &str, claims: &mut Claims) -> Result<bool, ApiError> {
        if self.store.create(key, who, None).await?.is_some() {
            claims.made.push(key.to_owned());
            return Ok(true);
        }
        Ok(self.store.get(key).await?.is_some_and(|kv| kv.value == who))
    }

    /// Best-effort release: a claim that stays behind only makes one value unavailable.
    pub(crate) async fn release(&self, keys: &[String]) {
        for k in keys {
            let _ = self.store.delete(k).await;
        }
    }
}
