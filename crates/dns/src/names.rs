//! Name text: which Kubernetes names may become DNS labels, the dashed form of an IP address
//! (`10-244-1-5`, as CoreDNS names pods and unnamed headless endpoints) and its parse.
//!
//! Everything here works on lowercase ASCII text; the snapshot keys its records by it so a
//! lookup is one map probe. Nothing here knows about record types or the wire format.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The longest DNS label (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Whether `text` is a DNS-1123 label (lowercase letters, digits and `-`, not at either end,
/// 1 to 63 characters): what the API server requires of Service and namespace names and
/// endpoint hostnames. Anything else is left out of the snapshot rather than answered oddly.
pub fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LABEL_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first() != Some(&b'-')
        && bytes.last() != Some(&b'-')
}

/// Whether `text` can be the `_NAME` label of an SRV record: a port name (IANA_SVC_NAME, at
/// most 15 characters, lowercase alphanumerics and `-`), lowercased.
pub fn is_port_name(text: &str) -> bool {
    is_dns_label(text) && text.len() <= 15
}

/// `10.244.1.5` → `10-244-1-5`; `fd00::1` → `fd00--1` (colons become dashes).
pub fn dashed(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string().replace('.', "-"),
        IpAddr::V6(v6) => v6.to_string().replace(':', "-"),
    }
}

/// The inverse of [`dashed`]: `10-244-1-5` → `10.244.1.5`, `fd00--1` → `fd00::1`; `None` for
/// anything that is neither.
pub fn parse_dashed(label: &str) -> Option<IpAddr> {
    // Only dashes are the pod form: `10.244.1.5` as one label is not a pod name.
    if label.contains('.') || label.contains(':') {
        return None;
    }
    if let Ok(v4) = label.replace('-', ".").parse::<Ipv4Addr>() {
        return Some(IpAddr::V4(v4));
    }
    label
        .replace('-', ":")
        .parse::<Ipv6Addr>()
        .ok()
        .map(IpAddr::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(is_dns_label("my-svc"));
        assert!(is_dns_label("a"));
        assert!(!is_dns_label(""));
        assert!(!is_dns_label("-a"));
        assert!(!is_dns_label("a-"));
        assert!(!is_dns_label("My-svc"));
        assert!(!is_dns_label("a.b"));
        assert!(!is_dns_label(&"a".repeat(64)));
        assert!(is_port_name("http-metrics"));
        assert!(!is_port_name("a-very-long-port-name"));
    }

    #[test]
    fn dashed_round_trip() {
        for text in ["10.244.1.5", "0.0.0.0", "fd00::1", "2001:db8:0:1::ab"] {
            let ip: IpAddr = text.parse().expect("test address");
            assert_eq!(parse_dashed(&dashed(ip)), Some(ip), "{text}");
        }
        assert_eq!(dashed("10.244.1.5".parse().expect("ip")), "10-244-1-5");
        assert_eq!(dashed("fd00::1".parse().expect("ip")), "fd00--1");
    }

    #[test]
    fn dashed_rejects() {
        for label in [
            "10-244-1",
            "10-244-1-256",
            "foo",
            "",
            "10.244.1.5",
            "1-2-3-4-5",
            "::1",
        ] {
            assert_eq!(parse_dashed(label), None, "{label}");
        }
    }
}
