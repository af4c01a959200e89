//! [`NetOps`] that records the `ip` command each call stands for and keeps a small model of the
//! links it "created", so flows can be tested without privileges and shown as a dry run.
//! [`RecordingNetOps::fail_on`] makes the first operation whose command starts with a prefix fail,
//! to test that a failed ADD leaves nothing behind.

use std::collections::BTreeMap;

use std::collections::BTreeSet;
use std::path::Path;

use podnet_netspec::{
    BridgeSpec, ContainerIfSpec, ContainerIfState, PodRouteSpec, VethSpec, UNREACHABLE_METRIC,
};

use crate::error::NetError;
use crate::netns::NetnsError;
use crate::NetOps;

/// The recording implementation.
#[derive(Debug, Default)]
pub struct RecordingNetOps {
    /// Every operation, as the `ip` command it stands for, in order.
    pub ops: Vec<String>,
    /// Node-namespace links (bridges and host-side veths), with the bridge they are attached to.
    pub links: BTreeMap<String, Option<String>>,
    /// Pod-side interfaces by (namespace path, name).
    pub container_links: BTreeMap<(String, String), ContainerIfState>,
    /// Peer of each host-side veth: (namespace path, name).
    peers: BTreeMap<String, (String, String)>,
    fail_prefix: Option<String>,
    pub ip_forward: bool,
    /// Paths that count as network namespaces; anything else is "not a netns" or missing.
    pub namespaces: BTreeSet<String>,
    /// Routes, VXLAN links, neighbours and FDB entries (see `BackendOps`).
    pub backend: crate::recording_backend::BackendModel,
}

impl RecordingNetOps {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first operation whose command starts with `prefix` fails with EIO.
    pub fn fail_on(&mut self, prefix: &str) {
        self.fail_prefix = Some(prefix.to_string());
    }

    pub(crate) fn record(&mut self, op: String) -> Result<(), NetError> {
        if let Some(p) = &self.fail_prefix {
            if op.starts_with(p.as_str()) {
                self.fail_prefix = None;
                return Err(NetError::Io {
                    op,
                    source: std::io::Error::from_raw_os_error(5),
                });
            }
        }
        self.ops.push(op);
        Ok(())
    }
}

fn ns_key(netns: &Path) -> String {
    netns.display().to_string()
}

/// How to run `ip` inside `ns` by hand: `ip -n NAME` for a named namespace, else nsenter.
fn ip_in(ns: &str) -> String {
    match ns.strip_prefix("/run/netns/") {
        Some(name) if !name.contains('/') => format!("ip -n {name}"),
        _ => format!("nsenter --net={ns} ip"),
    }
}

pub(crate) fn format_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl NetOps for RecordingNetOps {
    fn check_netns(&mut self, netns: &Path) -> Result<(), NetError> {
        let key = ns_key(netns);
        if self.namespaces.contains(&key) {
            Ok(())
        } else if key.starts_with("/run/netns/") {
            Err(NetnsError::NotFound {
                path: netns.to_path_buf(),
            }
            .into())
        } else {
            Err(NetnsError::NotNetns {
                path: netns.to_path_buf(),
            }
            .into())
        }
    }

    fn ensure_bridge(&mut self, b: &BridgeSpec) -> Result<(), NetError> {
        if !self.links.contains_key(&b.name) {
            self.record(format!(
                "ip link add {} address {} mtu {} type bridge",
                b.name,
                format_mac(&b.mac()),
                b.mtu
            ))?;
            self.links.insert(b.name.clone(), None);
        }
        self.record(format!("ip addr replace {} dev {}", b.gateway, b.name))?;
        self.record(format!("ip link set {} up", b.name))
    }

    fn create_veth(&mut self, netns: &Path, v: &VethSpec) -> Result<(), NetError> {
        self.delete_link(&v.host_name)?;
        let key = (ns_key(netns), v.container_name.clone());
        let host_mac = v
            .host_mac
            .map(|m| format!(" address {}", format_mac(&m)))
            .unwrap_or_default();
        let op = format!(
            "ip link add {}{host_mac} mtu {} type veth peer name {} address {} netns {}",
            v.host_name,
            v.mtu,
            v.container_name,
            format_mac(&v.container_mac),
            key.0
        );
        if self.container_links.contains_key(&key) {
            return Err(NetError::ContainerIfExists {
                op,
                name: v.container_name.clone(),
            });
        }
        self.record(op)?;
        self.links.insert(v.host_name.clone(), None);
        self.peers.insert(v.host_name.clone(), key.clone());
        let state = ContainerIfState {
            mac: v.container_mac,
            mtu: v.mtu,
            ..Default::default()
        };
        self.container_links.insert(key, state);
        Ok(())
    }

    fn configure_container(
        &mut self,
        netns: &Path,
        spec: &ContainerIfSpec,
    ) -> Result<(), NetError> {
        let ns = ns_key(netns);
        let key = (ns.clone(), spec.ifname.clone());
        let (ip, i) = (ip_in(&ns), &spec.ifname);
        self.record(format!(
            "nsenter --net={ns} sysctl -w net.ipv6.conf.{i}.accept_ra=0 net.ipv6.conf.{i}.autoconf=0"
        ))?;
        self.record(format!("{ip} addr add {} dev {i}", spec.address))?;
        self.record(format!("{ip} link set lo up"))?;
        self.record(format!("{ip} link set {i} up"))?;
        if let Some((gw, mac)) = spec.gateway_neigh {
            self.record(format!(
                "{ip} neigh replace {gw} lladdr {} dev {i} nud permanent",
                format_mac(&mac)
            ))?;
        }
        let onlink = if spec.onlink { " onlink" } else { "" };
        for (dst, gw) in &spec.routes {
            self.record(format!("{ip} route add {dst} via {gw} dev {i}{onlink}"))?;
        }
        let state = self
            .container_links
            .get_mut(&key)
            .ok_or_else(|| NetError::NoSuchLink {
                op: format!("{ip} addr add"),
                name: spec.ifname.clone(),
            })?;
        state.up = true;
        state.addresses = vec![spec.address];
        state.routes = spec.routes.iter().map(|(d, g)| (*d, Some(*g))).collect();
        Ok(())
    }

    fn attach_to_bridge(
        &mut self,
        host: &str,
        bridge: &str,
        hairpin: bool,
    ) -> Result<[u8; 6], NetError> {
        self.record(format!("ip link set {host} master {bridge} up"))?;
        if hairpin {
            self.record(format!("bridge link set dev {host} hairpin on"))?;
        }
        match self.links.get_mut(host) {
            Some(master) => *master = Some(bridge.to_string()),
            None => {
                return Err(NetError::NoSuchLink {
                    op: format!("ip link set {host} master {bridge}"),
                    name: host.into(),
                })
            }
        }
        Ok([0x02, 0, 0, 0, 0, 1])
    }

    fn route_to_pod(&mut self, spec: &PodRouteSpec) -> Result<[u8; 6], NetError> {
        let host = &spec.host;
        if !self.links.contains_key(host) {
            return Err(NetError::NoSuchLink {
                op: format!("ip link set {host} up"),
                name: host.clone(),
            });
        }
        self.record(format!("sysctl -w net.ipv4.conf.{host}.rp_filter=1"))?;
        self.record(format!("ip link set {host} up"))?;
        self.record(format!(
            "ip route replace {}/32 dev {host} scope link",
            spec.pod
        ))?;
        self.record(format!(
            "ip route replace unreachable {} metric {UNREACHABLE_METRIC}",
            spec.subnet
        ))?;
        if spec.fast_path.is_some() {
            self.record(format!("tc qdisc replace dev {host} clsact"))?;
            self.record(format!(
                "tc filter replace dev {host} ingress pref 1 handle 1 bpf direct-action name from_pod"
            ))?;
        }
        Ok([0x02, 0, 0, 0, 0, 1])
    }

    fn delete_link(&mut self, name: &str) -> Result<bool, NetError> {
        if self.links.contains_key(name) {
            self.record(format!("ip link del {name}"))?;
            self.links.remove(name);
            if let Some(peer) = self.peers.remove(name) {
                self.container_links.remove(&peer);
            }
            return Ok(true);
        }
        Ok(false)
    }

    fn delete_container_link(&mut self, netns: &Path, ifname: &str) -> Result<bool, NetError> {
        let key = (ns_key(netns), ifname.to_string());
        if self.container_links.remove(&key).is_some() {
            self.record(format!("{} link del {ifname}", ip_in(&key.0)))?;
            self.peers.retain(|_, p| *p != key);
            return Ok(true);
        }
        Ok(false)
    }

    fn container_state(
        &mut self,
        netns: &Path,
        ifname: &str,
    ) -> Result<Option<ContainerIfState>, NetError> {
        Ok(self
            .container_links
            .get(&(ns_key(netns), ifname.to_string()))
            .cloned())
    }

    fn links_with_prefix(&mut self, prefix: &str) -> Result<Vec<String>, NetError> {
        Ok(self
            .links
            .keys()
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect())
    }

    fn enable_ip_forward(&mut self) -> Result<(), NetError> {
        if !self.ip_forward {
            self.record("sysctl -w net.ipv4.ip_forward=1".into())?;
            self.ip_forward = true;
        }
        Ok(())
    }
}
