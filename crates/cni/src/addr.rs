//! Strict parsing of IPv4 addresses and subnets from configs.
//!
//! Stricter than `std`/`ipnet` on purpose: leading-zero octets are refused (`010.0.0.1` means
//! 8.0.0.1 to some parsers and 10.0.0.1 to others), as are zones, host bits in a subnet, and
//! prefixes past /32. IPv6 is recognised and refused as unsupported (code 2) for now.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

/// Why an address or subnet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("{0:?} is not an IPv4 address")]
    NotIpv4(String),
    #[error("{0:?} has an octet with a leading zero (ambiguous: octal or decimal?)")]
    LeadingZero(String),
    #[error("{0:?} is an IPv6 address; podnet supports IPv4 pod networks only for now")]
    Ipv6(String),
    #[error("{0:?} is not a subnet in CIDR form (a.b.c.d/len)")]
    NotCidr(String),
    #[error("{0:?} has a prefix length over 32")]
    PrefixTooLong(String),
    #[error("{0:?} has host bits set (did you mean {1}?)")]
    HostBits(String, Ipv4Net),
}

impl AddrError {
    /// IPv6 is a known-but-unsupported value (code 2); everything else is an invalid config (7).
    pub fn is_unsupported(&self) -> bool {
        matches!(self, AddrError::Ipv6(_))
    }
}

/// Parses a dotted-quad IPv4 address, refusing leading zeros, zones and IPv6.
pub fn parse_ipv4(s: &str) -> Result<Ipv4Addr, AddrError> {
    if s.contains(':') {
        return Err(AddrError::Ipv6(s.to_string()));
    }
    let octets: Vec<&str> = s.split('.').collect();
    if octets.len() != 4
        || octets
            .iter()
            .any(|o| o.is_empty() || !o.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(AddrError::NotIpv4(s.to_string()));
    }
    if octets.iter().any(|o| o.len() > 1 && o.starts_with('0')) {
        return Err(AddrError::LeadingZero(s.to_string()));
    }
    s.parse().map_err(|_| AddrError::NotIpv4(s.to_string()))
}

/// Parses `a.b.c.d/len` as a network: host bits must be zero.
pub fn parse_subnet(s: &str) -> Result<Ipv4Net, AddrError> {
    let net = parse_cidr(s)?;
    if net.addr() != net.network() {
        return Err(AddrError::HostBits(s.to_string(), net.trunc()));
    }
    Ok(net)
}

/// Parses `a.b.c.d/len` as an interface address: host bits allowed.
pub fn parse_cidr(s: &str) -> Result<Ipv4Net, AddrError> {
    let (ip, len) = s.split_once('/').ok_or_else(|| {
        if s.contains(':') {
            AddrError::Ipv6(s.to_string())
        } else {
            AddrError::NotCidr(s.to_string())
        }
    })?;
    let addr = parse_ipv4(ip)?;
    if len.is_empty() || len.len() > 2 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AddrError::NotCidr(s.to_string()));
    }
    let len: u8 = len.parse().map_err(|_| AddrError::NotCidr(s.to_string()))?;
    Ipv4Net::new(addr, len).map_err(|_| AddrError::PrefixTooLong(s.to_string()))
}

/// Addresses that must never be a pod's: unspecified, loopback, multicast, broadcast, link-local.
pub fn is_special(ip: Ipv4Addr) -> bool {
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_link_local()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn good_values() {
        assert_eq!(parse_ipv4("10.244.1.1"), Ok(Ipv4Addr::new(10, 244, 1, 1)));
        assert_eq!(
            parse_subnet("10.244.1.0/24").map(|n| n.prefix_len()),
            Ok(24)
        );
        assert_eq!(parse_ipv4("0.0.0.0"), Ok(Ipv4Addr::UNSPECIFIED));
    }

    #[test]
    fn refused_values() {
        assert!(matches!(
            parse_ipv4("010.0.0.1"),
            Err(AddrError::LeadingZero(_))
        ));
        assert!(matches!(
            parse_ipv4("fe80::1%eth0"),
            Err(AddrError::Ipv6(_))
        ));
        assert!(matches!(
            parse_ipv4("::ffff:10.0.0.1"),
            Err(AddrError::Ipv6(_))
        ));
        assert!(matches!(parse_ipv4("1.2.3"), Err(AddrError::NotIpv4(_))));
        assert!(matches!(
            parse_ipv4("1.2.3.256"),
            Err(AddrError::NotIpv4(_))
        ));
        assert!(matches!(parse_ipv4(" 1.2.3.4"), Err(AddrError::NotIpv4(_))));
        assert!(matches!(
            parse_subnet("10.0.0.0/33"),
            Err(AddrError::PrefixTooLong(_))
        ));
        assert!(matches!(
            parse_subnet("10.0.0.1/24"),
            Err(AddrError::HostBits(..))
        ));
        assert!(matches!(
            parse_subnet("10.0.0.0"),
            Err(AddrError::NotCidr(_))
        ));
        assert!(matches!(
            parse_subnet("10.0.0.0/-1"),
            Err(AddrError::NotCidr(_))
        ));
        assert!(matches!(parse_subnet("fd00::/64"), Err(AddrError::Ipv6(_))));
    }
}
