//! Named namespaces under [`NETNS_DIR`] (`ip netns add/del/list`) and commands inside them
//! (`nsenter --net=PATH`, which unlike `ip netns exec` leaves /sys alone, so a program inside
//! sees the host's /sys as the node's processes do). [`NetnsGuard`] removes its namespace on
//! drop; the free functions are for namespaces whose lifetime is recorded elsewhere (the lab's
//! state file).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::procs::stop_processes_in;
use crate::NetnsError;

/// Where `ip netns` keeps its namespaces (bind mounts named after them).
pub const NETNS_DIR: &str = "/run/netns";

/// `/run/netns/NAME`
pub fn ns_path(name: &str) -> PathBuf {
    Path::new(NETNS_DIR).join(name)
}

/// `ip netns add NAME` (an existing one is reused) and `lo` up.
pub fn add_ns(name: &str) -> Result<(), NetnsError> {
    if !ns_path(name).exists() {
        let out = Command::new("ip")
            .args(["netns", "add", name])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| NetnsError::Spawn {
                what: format!("run ip netns add {name}"),
                source,
            })?;
        if !out.status.success() {
            return Err(NetnsError::Add {
                name: name.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
    }
    run(name, &["ip", "link", "set", "lo", "up"]).map(|_| ())
}

/// `ip netns del NAME`; gone already is fine. Processes still inside keep the namespace alive
/// (unnamed); [`NetnsGuard`] and the lab's `down` stop them first.
pub fn del_ns(name: &str) {
    // What the eBPF fast path pinned for this namespace goes with it.
    if let Ok(m) = std::fs::metadata(ns_path(name)) {
        let _ = std::fs::remove_dir_all(bpf_pins(std::os::unix::fs::MetadataExt::ino(&m)));
    }
    let _ = Command::new("ip")
        .args(["netns", "del", name])
        .stderr(Stdio::null())
        .status();
}

/// Where podnet mounts its bpffs (the eBPF fast path's shared map is pinned there).
pub const BPFFS: &str = "/run/podnet/bpf";

/// The pin directory of the network namespace with inode `inode`: `BPFFS/net-INODE`.
pub fn bpf_pins(inode: u64) -> std::path::PathBuf {
    Path::new(BPFFS).join(format!("net-{inode}"))
}

/// A command that runs `argv` inside namespace `name` (`nsenter --net=/run/netns/NAME ARGV`).
pub fn command(name: &str, argv: &[&str]) -> Command {
    command_at(&ns_path(name), argv)
}

/// A command that runs `argv` inside the namespace at `path`.
pub(crate) fn command_at(path: &Path, argv: &[&str]) -> Command {
    let mut c = Command::new("nsenter");
    c.arg(format!("--net={}", path.display())).args(argv);
    c
}

/// Runs `argv` inside namespace `name`; its stdout, or an error with its stderr.
pub fn run(name: &str, argv: &[&str]) -> Result<String, NetnsError> {
    let out = command(name, argv)
        .output()
        .map_err(|source| NetnsError::Spawn {
            what: format!("run {argv:?} in {name}"),
            source,
        })?;
    if !out.status.success() {
        return Err(NetnsError::Failed {
            argv: argv.join(" "),
            ns: name.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes a sysctl inside namespace `name` (`sysctl -qw KEY=VALUE`).
pub fn sysctl(name: &str, key: &str, value: &str) -> Result<(), NetnsError> {
    run(name, &["sysctl", "-qw", &format!("{key}={value}")]).map(|_| ())
}

/// Names of existing namespaces starting with `prefix` (none if `ip netns list` cannot run).
pub fn list_with_prefix(prefix: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output();
    let Ok(out) = out else { return Vec::new() };
    names_with_prefix(&String::from_utf8_lossy(&out.stdout), prefix)
}

/// The names in `ip netns list` output (`NAME` or `NAME (id: N)` per line) that start with
/// `prefix`.
fn names_with_prefix(list: &str, prefix: &str) -> Vec<String> {
    list.lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// A named network namespace that is deleted on drop (best-effort, idempotent), after the
/// processes still inside it are stopped.
#[derive(Debug)]
pub struct NetnsGuard {
    pub name: String,
}

impl NetnsGuard {
    /// `ip netns add NAME` (an existing one of the same name is removed first), `lo` up.
    pub fn new(name: &str) -> Result<Self, NetnsError> {
        del_ns(name);
        // The guard exists before `lo up`, so a failure there still removes the namespace.
        let g = NetnsGuard {
            name: name.to_string(),
        };
        add_ns(name)?;
        Ok(g)
    }

    /// `/run/netns/NAME`
    pub fn path(&self) -> PathBuf {
        ns_path(&self.name)
    }

    /// A command that runs `argv` inside this namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        command(&self.name, argv)
    }

    /// Runs `argv` inside the namespace; its stdout, or an error with its stderr.
    pub fn run(&self, argv: &[&str]) -> Result<String, NetnsError> {
        run(&self.name, argv)
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        stop_processes_in(std::slice::from_ref(&self.name));
        del_ns(&self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_under_run_netns() {
        assert_eq!(ns_path("pnx-a"), PathBuf::from("/run/netns/pnx-a"));
        let g = NetnsGuard {
            name: "pnx-b".into(),
        };
        assert_eq!(g.path(), PathBuf::from("/run/netns/pnx-b"));
        // Nothing was created: forget it so its drop does not run `ip netns del`.
        std::mem::forget(g);
    }

    #[test]
    fn commands_enter_by_path_with_nsenter() {
        let c = command("pnx-a", &["ip", "-j", "link"]);
        assert_eq!(c.get_program(), "nsenter");
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["--net=/run/netns/pnx-a", "ip", "-j", "link"]);
    }

    #[test]
    fn listing_keeps_names_with_the_prefix_and_drops_ids() {
        let list = "pnlab-x-n1 (id: 3)\npnlab-x-n2\nother (id: 0)\npnlab-y-n1\n\n";
        assert_eq!(
            names_with_prefix(list, "pnlab-x-"),
            ["pnlab-x-n1", "pnlab-x-n2"]
        );
        assert!(names_with_prefix(list, "pnz").is_empty());
    }

    #[test]
    fn a_failed_command_names_itself_its_namespace_and_stderr() {
        let e = NetnsError::Failed {
            argv: "ip link set lo up".into(),
            ns: "pnx-a".into(),
            stderr: "Cannot open network namespace".into(),
        };
        assert_eq!(
            e.to_string(),
            "ip link set lo up (in pnx-a) failed: Cannot open network namespace"
        );
    }
}
