//! [`BackendOps`] for [`RecordingNetOps`]: records the `ip`/`bridge` command of each change and
//! keeps the routes, links, neighbours and FDB entries in memory so diffs can be tested.

use std::collections::{BTreeMap, BTreeSet};

use ipnet::Ipv4Net;
use podnet_netspec::{FastPath, Fdb, LinkState, Neigh, Route, VxlanSpec, RTPROT_PODNET};

use crate::backend::BackendOps;
use crate::error::NetError;
use crate::RecordingNetOps;

/// The backend part of the recording model.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BackendModel {
    pub routes: BTreeSet<Route>,
    pub links: BTreeMap<String, LinkState>,
    pub neighbours: BTreeMap<String, BTreeSet<Neigh>>,
    pub fdb: BTreeMap<String, BTreeSet<Fdb>>,
    /// Devices with the fast path's `from_uplink` filter.
    pub fast_path: BTreeSet<String>,
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

impl BackendOps for RecordingNetOps {
    fn podnet_routes(&mut self) -> Result<Vec<Route>, NetError> {
        Ok(self.backend.routes.iter().cloned().collect())
    }

    fn replace_route(&mut self, r: &Route) -> Result<(), NetError> {
        let dev = r
            .dev
            .as_ref()
            .map(|d| format!(" dev {d}"))
            .unwrap_or_default();
        let onlink = if r.onlink { " onlink" } else { "" };
        self.record(format!(
            "ip route replace {} via {}{dev}{onlink} proto {RTPROT_PODNET}",
            r.dst, r.via
        ))?;
        self.backend.routes.retain(|x| x.dst != r.dst);
        self.backend.routes.insert(r.clone());
        Ok(())
    }

    fn delete_route(&mut self, r: &Route) -> Result<(), NetError> {
        if self.backend.routes.remove(r) {
            self.record(format!(
                "ip route del {} via {} proto {RTPROT_PODNET}",
                r.dst, r.via
            ))?;
        }
        Ok(())
    }

    fn link_state(&mut self, dev: &str) -> Result<Option<LinkState>, NetError> {
        Ok(self.backend.links.get(dev).cloned())
    }

    fn ensure_vxlan(&mut self, v: &VxlanSpec) -> Result<LinkState, NetError> {
        if !self.backend.links.contains_key(&v.name) {
            self.record(format!(
                "ip link add {} address {} type vxlan id {} dstport {} local {} dev {} nolearning",
                v.name,
                mac(&v.mac()),
                v.vni,
                v.port,
                v.local,
                v.underlay_dev
            ))?;
            let state = LinkState {
                mac: v.mac(),
                ..Default::default()
            };
            self.backend.links.insert(v.name.clone(), state);
        }
        self.record(format!("ip link set {} mtu {} up", v.name, v.mtu))?;
        let link = self.backend.links.entry(v.name.clone()).or_default();
        link.mtu = v.mtu;
        link.up = true;
        Ok(link.clone())
    }

    fn set_link_up(&mut self, dev: &str, mtu: u32) -> Result<LinkState, NetError> {
        self.record(format!("ip link set {dev} mtu {mtu} up"))?;
        let link = self.backend.links.entry(dev.to_string()).or_default();
        link.mtu = mtu;
        link.up = true;
        Ok(link.clone())
    }

    fn disable_ipv6(&mut self, dev: &str) -> Result<(), NetError> {
        self.record(format!("sysctl -w net.ipv6.conf.{dev}.disable_ipv6=1"))
    }

    fn attach_fast_path(&mut self, dev: &str, _fp: &FastPath) -> Result<(), NetError> {
        self.record(format!("tc qdisc replace dev {dev} clsact"))?;
        self.record(format!(
            "tc filter replace dev {dev} ingress pref 1 handle 1 bpf direct-action name from_uplink"
        ))?;
        self.backend.fast_path.insert(dev.to_string());
        Ok(())
    }

    fn fast_path_attached(&mut self, dev: &str) -> Result<bool, NetError> {
        Ok(self.backend.fast_path.contains(dev))
    }

    fn ensure_address(&mut self, dev: &str, addr: Ipv4Net) -> Result<(), NetError> {
        let link = self.backend.links.entry(dev.to_string()).or_default();
        if !link.addresses.contains(&addr) {
            link.addresses.push(addr);
            self.record(format!("ip addr add {addr} dev {dev}"))?;
        }
        Ok(())
    }

    fn neighbours(&mut self, dev: &str) -> Result<Vec<Neigh>, NetError> {
        Ok(self
            .backend
            .neighbours
            .get(dev)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default())
    }

    fn replace_neighbour(&mut self, dev: &str, n: &Neigh) -> Result<(), NetError> {
        self.record(format!(
            "ip neigh replace {} lladdr {} dev {dev} nud permanent",
            n.ip,
            mac(&n.mac)
        ))?;
        let set = self.backend.neighbours.entry(dev.to_string()).or_default();
        set.retain(|x| x.ip != n.ip);
        set.insert(*n);
        Ok(())
    }

    fn delete_neighbour(&mut self, dev: &str, n: &Neigh) -> Result<(), NetError> {
        if self
            .backend
            .neighbours
            .get_mut(dev)
            .map(|s| s.remove(n))
            .unwrap_or(false)
        {
            self.record(format!("ip neigh del {} dev {dev}", n.ip))?;
        }
        Ok(())
    }

    fn fdb(&mut self, dev: &str) -> Result<Vec<Fdb>, NetError> {
        Ok(self
            .backend
            .fdb
            .get(dev)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default())
    }

    fn replace_fdb(&mut self, dev: &str, f: &Fdb) -> Result<(), NetError> {
        self.record(format!(
            "bridge fdb replace {} dev {dev} dst {} self permanent",
            mac(&f.mac),
            f.dst
        ))?;
        let set = self.backend.fdb.entry(dev.to_string()).or_default();
        set.retain(|x| x.mac != f.mac);
        set.insert(*f);
        Ok(())
    }

    fn delete_fdb(&mut self, dev: &str, f: &Fdb) -> Result<(), NetError> {
        if self
            .backend
            .fdb
            .get_mut(dev)
            .map(|s| s.remove(f))
            .unwrap_or(false)
        {
            self.record(format!(
                "bridge fdb del {} dev {dev} dst {} self",
                mac(&f.mac),
                f.dst
            ))?;
        }
        Ok(())
    }
}
