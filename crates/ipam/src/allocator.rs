//! Picking the next free address in a subnet. Pure and deterministic.
//!
//! Round-robin like the reference host-local plugin: the search starts just after the last
//! address handed out, so a released address is not reused at once (a late packet for an old pod
//! is less likely to reach a new one).

use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// The subnet has no free address left.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no free address in {subnet}: all {usable} usable addresses are allocated")]
pub struct Exhausted {
    pub subnet: Ipv4Net,
    pub usable: u32,
}

/// Returns the first free host address after `last` (wrapping), skipping network, broadcast and
/// gateway addresses and everything in `used`.
pub fn next_free(
    subnet: Ipv4Net,
    gateway: Ipv4Addr,
    used: &HashSet<Ipv4Addr>,
    last: Option<Ipv4Addr>,
) -> Result<Ipv4Addr, Exhausted> {
    let first = u32::from(subnet.network()) + 1;
    let end = u32::from(subnet.broadcast()); // exclusive: the broadcast address is never handed out
    let size = end.saturating_sub(first);
    let start = match last.map(u32::from) {
        Some(l) if l >= first && l < end => l + 1,
        _ => first,
    };
    for i in 0..size {
        let mut candidate = start + i;
        if candidate >= end {
            candidate = first + (candidate - end);
        }
        let ip = Ipv4Addr::from(candidate);
        if ip != gateway && !used.contains(&ip) {
            return Ok(ip);
        }
    }
    let usable = size.saturating_sub(u32::from(subnet.contains(&gateway)));
    Err(Exhausted { subnet, usable })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn skips_network_gateway_and_broadcast() {
        let subnet = net("10.0.0.0/30");
        let gw: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let mut used = HashSet::new();
        let a = next_free(subnet, gw, &used, None).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 0, 0, 2));
        used.insert(a);
        let e = next_free(subnet, gw, &used, Some(a)).unwrap_err();
        assert_eq!(e.usable, 1);
    }

    #[test]
    fn round_robin_wraps() {
        let subnet = net("10.0.0.0/29");
        let gw: Ipv4Addr = "10.0.0.1".parse().unwrap();
        let used = HashSet::new();
        let a = next_free(subnet, gw, &used, Some("10.0.0.6".parse().unwrap())).unwrap();
        assert_eq!(a, Ipv4Addr::new(10, 0, 0, 2));
        let b = next_free(subnet, gw, &used, Some("10.0.0.3".parse().unwrap())).unwrap();
        assert_eq!(b, Ipv4Addr::new(10, 0, 0, 4));
    }

    #[test]
    fn full_slash_24_gives_253_distinct() {
        let subnet = net("10.244.1.0/24");
        let gw: Ipv4Addr = "10.244.1.1".parse().unwrap();
        let mut used = HashSet::new();
        let mut last = None;
        for _ in 0..253 {
            let ip = next_free(subnet, gw, &used, last).unwrap();
            assert!(ip != gw && ip != subnet.network() && ip != subnet.broadcast());
            assert!(used.insert(ip));
            last = Some(ip);
        }
        assert!(next_free(subnet, gw, &used, last).is_err());
    }
}
