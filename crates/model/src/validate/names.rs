//! The API server's string checks (`k8s.io/apimachinery/pkg/util/validation`): DNS names,
//! qualified names (label and annotation keys), label values, IANA service names (port names)
//! and port numbers. Each returns the list of what is wrong, empty when the value is fine, with
//! the API server's exact wording, regular expression included, so messages match kubectl's.

use std::net::Ipv4Addr;

/// Longest DNS-1123 (and DNS-1035) label.
pub const DNS1123_LABEL_MAX_LEN: usize = 63;
/// Longest DNS-1123 subdomain.
pub const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;
/// Longest name part of a qualified name.
pub const QUALIFIED_NAME_MAX_LEN: usize = 63;
/// Longest label value.
pub const LABEL_VALUE_MAX_LEN: usize = 63;
/// Longest IANA service name (a port name).
pub const IANA_SVC_NAME_MAX_LEN: usize = 15;
/// The port number range.
pub const MIN_PORT: i32 = 1;
pub const MAX_PORT: i32 = 65_535;

const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_NAME_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
/// The detail of an out-of-range port number.
pub const PORT_RANGE_MSG: &str = "must be between 1 and 65535, inclusive";

fn max_len(max: usize) -> String {
    format!("must be no more than {max} characters")
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` (any length).
fn is_dns_label_shape(s: &str, first: fn(u8) -> bool) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&f), Some(&l)) => {
            first(f) && is_lower_alnum(l) && bytes.iter().all(|&b| is_lower_alnum(b) || b == b'-')
        }
        _ => false,
    }
}

fn is_lower_alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(f), Some(l)) => {
            f.is_ascii_alphanumeric()
                && l.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A DNS-1123 label (RFC 1123): namespace and container names.
pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX_LEN {
        errs.push(max_len(DNS1123_LABEL_MAX_LEN));
    }
    if !is_dns_label_shape(s, is_lower_alnum) {
        errs.push(DNS1123_LABEL_MSG.to_owned());
    }
    errs
}

/// A DNS-1035 label (RFC 1035: a DNS-1123 label starting with a letter): Service names.
pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_LABEL_MAX_LEN {
        errs.push(max_len(DNS1123_LABEL_MAX_LEN));
    }
    if !is_dns_label_shape(s, |b| b.is_ascii_lowercase()) {
        errs.push(DNS1035_LABEL_MSG.to_owned());
    }
    errs
}

/// A DNS-1123 subdomain: most object names, node names, qualified-name prefixes.
pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > DNS1123_SUBDOMAIN_MAX_LEN {
        errs.push(max_len(DNS1123_SUBDOMAIN_MAX_LEN));
    }
    if !s
        .split('.')
        .all(|part| is_dns_label_shape(part, is_lower_alnum))
    {
        errs.push(DNS1123_SUBDOMAIN_MSG.to_owned());
    }
    errs
}

/// A fully qualified domain name: a subdomain of at least two labels (EndpointSlice FQDNs).
pub fn fqdn(s: &str) -> Vec<String> {
    let name = s.strip_suffix('.').unwrap_or(s);
    let mut errs = dns1123_subdomain(name);
    if errs.is_empty() && !name.contains('.') {
        errs.push("should be a domain with at least two segments separated by dots".to_owned());
    }
    errs
}

/// A qualified name, `[prefix/]name`: label keys, annotation keys, selector keys. The prefix
/// is a DNS-1123 subdomain; the name is at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both
/// ends.
pub fn qualified_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    let parts: Vec<&str> = s.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errs.push("prefix part must be non-empty".to_owned());
            } else {
                errs.extend(
                    dns1123_subdomain(prefix)
                        .into_iter()
                        .map(|m| format!("prefix part {m}")),
                );
            }
            *name
        }
        _ => {
            errs.push(format!(
                "a qualified name {QUALIFIED_NAME_MSG} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
            return errs;
        }
    };
    if name.is_empty() {
        errs.push("name part must be non-empty".to_owned());
    } else if name.len() > QUALIFIED_NAME_MAX_LEN {
        errs.push(format!("name part {}", max_len(QUALIFIED_NAME_MAX_LEN)));
    }
    if !is_qualified_name_part(name) {
        errs.push(format!("name part {QUALIFIED_NAME_MSG}"));
    }
    errs
}

/// A label value: empty, or at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn label_value(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > LABEL_VALUE_MAX_LEN {
        errs.push(max_len(LABEL_VALUE_MAX_LEN));
    }
    if !s.is_empty() && !is_qualified_name_part(s) {
        errs.push(LABEL_VALUE_MSG.to_owned());
    }
    errs
}

/// An IANA_SVC_NAME (RFC 6335), what a named port may be called: at most 15 of `[a-z0-9-]`,
/// at least one letter, no `--`, no hyphen at either end.
pub fn port_name(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > IANA_SVC_NAME_MAX_LEN {
        errs.push(max_len(IANA_SVC_NAME_MAX_LEN));
    }
    if s.is_empty() || !s.bytes().all(|b| is_lower_alnum(b) || b == b'-') {
        errs.push(
            "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".to_owned(),
        );
    }
    if !s.bytes().any(|b| b.is_ascii_lowercase()) {
        errs.push("must contain at least one letter (a-z)".to_owned());
    }
    if s.contains("--") {
        errs.push("must not contain consecutive hyphens".to_owned());
    }
    if s.starts_with('-') || s.ends_with('-') {
        errs.push("must not begin or end with a hyphen".to_owned());
    }
    errs
}

/// A port number, 1 to 65535.
pub fn port_number(n: i32) -> Vec<String> {
    if (MIN_PORT..=MAX_PORT).contains(&n) {
        Vec::new()
    } else {
        vec![PORT_RANGE_MSG.to_owned()]
    }
}

/// A dotted-quad IPv4 address, as Go's `net.ParseIP` reads one (no leading zeros).
pub fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_subdomains() {
        for ok in ["a", "my-name", "123-abc", "0", &"a".repeat(63)] {
            assert!(dns1123_label(ok).is_empty(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a.b", "a_b", &"a".repeat(64)] {
            assert!(!dns1123_label(bad).is_empty(), "{bad}");
        }
        assert_eq!(dns1123_label(&"a".repeat(64)), vec![max_len(63)]);
        for ok in ["a", "example.com", "a-b.c-d.e", "node-1.lab"] {
            assert!(dns1123_subdomain(ok).is_empty(), "{ok}");
        }
        for bad in ["", ".a", "a.", "a..b", "A.b", "a_b", &"a".repeat(254)] {
            assert!(!dns1123_subdomain(bad).is_empty(), "{bad}");
        }
        assert!(dns1035_label("web").is_empty());
        assert!(!dns1035_label("1web").is_empty());
    }

    #[test]
    fn qualified_names() {
        for ok in [
            "app",
            "MyName",
            "my.name",
            "123-abc",
            "example.com/MyName",
            "kubernetes.io/metadata.name",
            "a_b",
        ] {
            assert!(qualified_name(ok).is_empty(), "{ok}");
        }
        assert_eq!(qualified_name("/a"), vec!["prefix part must be non-empty"]);
        assert_eq!(qualified_name("a/b/c").len(), 1);
        assert_eq!(qualified_name("").len(), 2);
        assert!(qualified_name("Example.com/a")[0]
            .starts_with("prefix part a lowercase RFC 1123 subdomain"));
        assert_eq!(
            qualified_name(&"a".repeat(64)),
            vec!["name part must be no more than 63 characters"]
        );
        assert!(!qualified_name("-a").is_empty());
        assert!(!qualified_name("a b").is_empty());
    }

    #[test]
    fn label_values() {
        for ok in ["", "a", "MyValue", "my_value", "12345", "x.y-z"] {
            assert!(label_value(ok).is_empty(), "{ok}");
        }
        for bad in ["-a", "a-", "a b", "a/b", &"a".repeat(64)] {
            assert!(!label_value(bad).is_empty(), "{bad}");
        }
    }

    #[test]
    fn port_names() {
        for ok in ["http", "serve-80-tcp", "h2c", "a", "x-1-y"] {
            assert!(port_name(ok).is_empty(), "{ok}");
        }
        assert_eq!(
            port_name("8080"),
            vec!["must contain at least one letter (a-z)"]
        );
        assert_eq!(
            port_name("a--b"),
            vec!["must not contain consecutive hyphens"]
        );
        assert_eq!(
            port_name("-ab"),
            vec!["must not begin or end with a hyphen"]
        );
        assert_eq!(port_name("abcdefghijklmnop"), vec![max_len(15)]);
        assert_eq!(
            port_name("HTTP"),
            vec![
                "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
                "must contain at least one letter (a-z)"
            ]
        );
    }

    #[test]
    fn ports_and_addresses() {
        assert!(port_number(1).is_empty());
        assert!(port_number(65535).is_empty());
        assert_eq!(port_number(0), vec![PORT_RANGE_MSG]);
        assert_eq!(port_number(65536), vec![PORT_RANGE_MSG]);
        assert!(parse_ipv4("10.96.0.10").is_some());
        assert!(parse_ipv4("10.96.0").is_none());
        assert!(parse_ipv4("010.96.0.1").is_none());
        assert!(parse_ipv4("::1").is_none());
        assert!(fqdn("db.example.com").is_empty());
        assert!(!fqdn("db").is_empty());
    }
}
