//! What the node agent's backends own in the node namespace: routes tagged with podnet's
//! protocol number, the VXLAN device and its permanent neighbour and FDB entries — each
//! ordered and hashable so that desired and observed sets can be compared by [`crate::diff()`].

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Routing protocol number on podnet's routes (`ip route show proto 112`): it marks what the
/// agent owns, so a diff never touches other routes.
pub const RTPROT_PODNET: u8 = 112;

/// A route the agent owns.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Route {
    pub dst: Ipv4Net,
    pub via: Ipv4Addr,
    /// Output device; `None` lets the kernel pick from `via`.
    pub dev: Option<String>,
    pub onlink: bool,
}

/// A permanent neighbour entry (IPv4 → MAC) on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Neigh {
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
}

/// A VXLAN FDB entry: frames for `mac` go to the VTEP at `dst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Fdb {
    pub mac: [u8; 6],
    pub dst: Ipv4Addr,
}

/// The VXLAN device of the vxlan backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VxlanSpec {
    pub name: String,
    pub vni: u32,
    pub port: u16,
    pub local: Ipv4Addr,
    pub underlay_dev: String,
    pub mtu: u32,
}

/// First two bytes of a VTEP's MAC: locally administered (bit 1 of the first byte), unicast.
const VTEP_MAC_PREFIX: [u8; 2] = [0x0e, 0x50];

impl VxlanSpec {
    /// The device's MAC: locally administered, derived from the local address
    /// (`0e:50:` + its four bytes), so a device deleted and created again — or made by another
    /// agent run — keeps the address the peers' neighbour entries point at.
    pub fn mac(&self) -> [u8; 6] {
        let o = self.local.octets();
        [
            VTEP_MAC_PREFIX[0],
            VTEP_MAC_PREFIX[1],
            o[0],
            o[1],
            o[2],
            o[3],
        ]
    }
}

/// What the agent reads back about a link.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkState {
    pub mac: [u8; 6],
    pub mtu: u32,
    pub up: bool,
    pub addresses: Vec<Ipv4Net>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn vxlan(local: &str) -> VxlanSpec {
        VxlanSpec {
            name: "podnet.1".into(),
            vni: 1,
            port: 8472,
            local: local.parse().unwrap(),
            underlay_dev: "eth0".into(),
            mtu: 1450,
        }
    }

    #[test]
    fn the_vtep_mac_follows_the_local_address_and_is_a_local_unicast_one() {
        let mac = vxlan("198.18.0.11").mac();
        assert_eq!(mac, [0x0e, 0x50, 198, 18, 0, 11]);
        assert_eq!(mac[0] & 0x01, 0, "unicast");
        assert_eq!(mac[0] & 0x02, 0x02, "locally administered");
        assert_eq!(vxlan("198.18.0.11").mac(), mac, "stable across runs");
        assert_ne!(vxlan("198.18.0.12").mac(), mac);
    }

    #[test]
    fn routes_order_by_destination_first() {
        let r = |dst: &str, via: &str| Route {
            dst: dst.parse().unwrap(),
            via: via.parse().unwrap(),
            dev: None,
            onlink: false,
        };
        let mut v = [
            r("10.244.2.0/24", "198.18.0.1"),
            r("10.244.1.0/24", "198.18.0.9"),
        ];
        v.sort();
        assert_eq!(v[0].dst.to_string(), "10.244.1.0/24");
    }
}
