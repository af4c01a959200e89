//! The CNI_* environment variables: which ones each command needs, and their validation.
//!
//! [`Env::parse`] takes a lookup function rather than reading `std::env`, so every rule is unit
//! tested. When several required variables are missing, the error names all of them (code 4).

use std::path::PathBuf;

use crate::args::parse_cni_args;
use crate::error::{CniError, ErrorCode};
use crate::names::{check_container_id, check_ifname};

/// The CNI operation requested through CNI_COMMAND.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Add,
    Del,
    Check,
    Version,
    Status,
    Gc,
}

impl Command {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ADD" => Command::Add,
            "DEL" => Command::Del,
            "CHECK" => Command::Check,
            "VERSION" => Command::Version,
            "STATUS" => Command::Status,
            "GC" => Command::Gc,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Status => "STATUS",
            Command::Gc => "GC",
        }
    }

    /// (containerID+ifname needed, netns needed, CNI_PATH needed) per the SPEC's table.
    fn needs(self) -> (bool, bool, bool) {
        match self {
            Command::Add | Command::Check => (true, true, true),
            Command::Del => (true, false, true),
            Command::Status | Command::Gc => (false, false, true),
            Command::Version => (false, false, false),
        }
    }
}

/// One attachment: a container's interface, the unit of allocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub container_id: String,
    pub ifname: String,
    /// Absent only for DEL (the netns may already be gone).
    pub netns: Option<PathBuf>,
}

/// The validated environment of one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    pub command: Command,
    pub attachment: Option<Attachment>,
    pub args: Vec<(String, String)>,
    pub path: Vec<PathBuf>,
}

impl Env {
    /// Parses and validates the CNI_* variables for the command CNI_COMMAND names.
    pub fn parse(lookup: impl Fn(&str) -> Option<String>) -> Result<Env, CniError> {
        let raw_command = lookup("CNI_COMMAND").unwrap_or_default();
        let command = match Command::parse(&raw_command) {
            Some(c) => c,
            None if raw_command.is_empty() => {
                return Err(invalid("CNI_COMMAND is missing or empty"));
            }
            None => {
                return Err(invalid(format!(
                    "CNI_COMMAND {raw_command:?} is not one of ADD, DEL, CHECK, VERSION, STATUS, GC"
                )));
            }
        };
        let (needs_attachment, needs_netns, needs_path) = command.needs();
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());

        let mut missing = Vec::new();
        let mut problems = Vec::new();
        let container_id = get("CNI_CONTAINERID");
        let ifname = get("CNI_IFNAME");
        let netns = get("CNI_NETNS");
        let path = get("CNI_PATH");
        if needs_attachment {
            if container_id.is_none() {
                missing.push("CNI_CONTAINERID");
            }
            if netns.is_none() && needs_netns {
                missing.push("CNI_NETNS");
            }
            if ifname.is_none() {
                missing.push("CNI_IFNAME");
            }
        }
        if needs_path && path.is_none() {
            missing.push("CNI_PATH");
        }
        if !missing.is_empty() {
            return Err(invalid(format!(
                "required environment variables are missing for {}: {}",
                command.as_str(),
                missing.join(", ")
            )));
        }

        // Only the variables the command uses are validated: libcni sends VERSION with
        // placeholder values such as CNI_NETNS=dummy.
        let (container_id, ifname, netns) = if needs_attachment {
            (container_id, ifname, netns)
        } else {
            (None, None, None)
        };
        if let Some(id) = &container_id {
            if let Err(why) = check_container_id(id) {
                problems.push(format!("CNI_CONTAINERID {id:?} {why}"));
            }
        }
        if let Some(name) = &ifname {
            if let Err(why) = check_ifname(name) {
                problems.push(format!("CNI_IFNAME {name:?} {why}"));
            }
        }
        if let Some(ns) = &netns {
            if !ns.starts_with('/') || ns.contains('\0') {
                problems.push(format!("CNI_NETNS {ns:?} is not an absolute path"));
            }
        }
        let raw_args = if command == Command::Version {
            None
        } else {
            lookup("CNI_ARGS")
        };
        let args = match parse_cni_args(&raw_args.unwrap_or_default()) {
            Ok(a) => a,
            Err(why) => {
                problems.push(format!("CNI_ARGS {why}"));
                Vec::new()
            }
        };
        if !problems.is_empty() {
            return Err(invalid(problems.join("; ")));
        }

        let attachment = match (needs_attachment, container_id, ifname) {
            (true, Some(container_id), Some(ifname)) => Some(Attachment {
                container_id,
                ifname,
                netns: netns.map(PathBuf::from),
            }),
            _ => None,
        };
        let path = path
            .map(|p| {
                p.split(':')
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(Env {
            command,
            attachment,
            args,
            path,
        })
    }
}

fn invalid(msg: impl Into<String>) -> CniError {
    CniError::new(ErrorCode::InvalidEnv, msg)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Result<Env, CniError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Env::parse(|k| map.get(k).cloned())
    }

    #[test]
    fn add_with_everything() {
        let e = env(&[
            ("CNI_COMMAND", "ADD"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", "/run/netns/x"),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
        ])
        .unwrap();
        assert_eq!(e.command, Command::Add);
        assert_eq!(e.path.len(), 2);
        assert_eq!(e.attachment.map(|a| a.ifname), Some("eth0".into()));
    }

    #[test]
    fn names_every_missing_variable() {
        let e = env(&[("CNI_COMMAND", "ADD")]).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidEnv);
        for v in ["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_PATH"] {
            assert!(e.msg.contains(v), "{} lacks {v}", e.msg);
        }
    }

    #[test]
    fn del_without_netns_is_fine() {
        let e = env(&[
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", ""),
            ("CNI_IFNAME", "eth0"),
            ("CNI_PATH", "/x"),
        ])
        .unwrap();
        assert_eq!(e.attachment.and_then(|a| a.netns), None);
    }

    #[test]
    fn version_needs_nothing_else() {
        assert_eq!(
            env(&[("CNI_COMMAND", "VERSION")]).unwrap().command,
            Command::Version
        );
    }

    #[test]
    fn unknown_and_empty_commands() {
        assert!(env(&[("CNI_COMMAND", "add")])
            .unwrap_err()
            .msg
            .contains("\"add\""));
        assert!(env(&[("CNI_COMMAND", "")])
            .unwrap_err()
            .msg
            .contains("CNI_COMMAND"));
    }
}
