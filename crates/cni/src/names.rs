//! Validation of the names a runtime or a config hands the plugin: container IDs, interface
//! names, network names and plugin `type`s. Rules are the CNI SPEC's, plus the kernel's limits.

/// Longest interface name the kernel accepts (IFNAMSIZ - 1).
pub const IFNAME_MAX: usize = 15;

/// Why a name was refused; rendered after the name of the field by the caller.
pub type NameProblem = &'static str;

/// CNI_CONTAINERID: starts alphanumeric, then alphanumerics, `_`, `.` or `-` (SPEC "Parameters").
pub fn check_container_id(id: &str) -> Result<(), NameProblem> {
    let mut chars = id.chars();
    match chars.next() {
        None => return Err("is empty"),
        Some(c) if !c.is_ascii_alphanumeric() => return Err("must start with a letter or digit"),
        Some(_) => {}
    }
    if chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        Ok(())
    } else {
        Err("may only contain letters, digits, '_', '.' and '-'")
    }
}

/// CNI_IFNAME and interface names in configs: 1..=15 bytes, not `.`/`..`, no `/`, `:` or spaces.
pub fn check_ifname(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.len() > IFNAME_MAX {
        return Err("is longer than 15 characters");
    }
    if name == "." || name == ".." {
        return Err("must not be '.' or '..'");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err("must not contain '/', ':', whitespace or control characters");
    }
    Ok(())
}

/// A network `name`: starts alphanumeric, then alphanumerics, `_`, `.` or `-`.
pub fn check_network_name(name: &str) -> Result<(), NameProblem> {
    check_container_id(name)
}

/// A plugin `type` is looked up as a file in CNI_PATH, so it must be a bare file name
/// (CVE-2021-20206: `"type": "../../sbin/reboot"`).
pub fn check_plugin_type(t: &str) -> Result<(), NameProblem> {
    if t.is_empty() {
        return Err("is empty");
    }
    if t == "." || t == ".." || t.contains('/') || t.contains('\\') || t.contains('\0') {
        return Err("must be a bare file name, not a path");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn container_ids() {
        assert!(check_container_id("abc-1_2.3").is_ok());
        for bad in ["", "-a", "a/b", "a b", "a\0b", "ä"] {
            assert!(check_container_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ifnames() {
        assert!(check_ifname("eth0").is_ok());
        assert!(check_ifname("a23456789012345").is_ok());
        for bad in ["", "a234567890123456", ".", "..", "a/b", "a:b", "a b"] {
            assert!(check_ifname(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn plugin_types() {
        assert!(check_plugin_type("host-local").is_ok());
        for bad in ["", ".", "..", "../../sbin/reboot", "/bin/sh", "a\\b"] {
            assert!(check_plugin_type(bad).is_err(), "{bad:?}");
        }
    }
}
