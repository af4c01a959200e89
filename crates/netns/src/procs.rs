//! Stopping the processes inside namespaces about to be deleted: a process keeps its network
//! namespace alive after `ip netns del`, unnamed and unreachable, so a forgotten daemon would
//! hold its veths and addresses forever. Processes are found as `ip netns pids` finds them (the
//! nsfs inode of `/proc/PID/ns/net`), never by name; this process is never signalled.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::ns::ns_path;

/// How long processes get between SIGTERM and SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(2);

/// How often the survivors of SIGTERM are looked for.
const POLL: Duration = Duration::from_millis(50);

/// The (device, inode) of each namespace that exists.
fn ns_ids(namespaces: &[String]) -> Vec<(u64, u64)> {
    namespaces
        .iter()
        .filter_map(|n| std::fs::metadata(ns_path(n)).ok())
        .map(|m| (m.dev(), m.ino()))
        .collect()
}

/// Processes (other than this one) whose network namespace is one of `ids`.
fn pids_in(ids: &[(u64, u64)]) -> Vec<u32> {
    if ids.is_empty() {
        return Vec::new();
    }
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&p| p != me)
        .filter(|p| {
            std::fs::metadata(format!("/proc/{p}/ns/net"))
                .is_ok_and(|m| ids.contains(&(m.dev(), m.ino())))
        })
        .collect()
}

/// Stops every process (but this one) inside the named namespaces: SIGTERM, then SIGKILL to
/// those still there after 2 s. For namespaces the caller created and is about to delete.
pub fn stop_processes_in(namespaces: &[String]) {
    let ids = ns_ids(namespaces);
    let strays = pids_in(&ids);
    if strays.is_empty() {
        return;
    }
    for p in &strays {
        signal(*p, Signal::SIGTERM);
    }
    let deadline = Instant::now() + TERM_GRACE;
    while Instant::now() < deadline && !pids_in(&ids).is_empty() {
        std::thread::sleep(POLL);
    }
    for p in pids_in(&ids) {
        signal(p, Signal::SIGKILL);
    }
}

fn signal(pid: u32, sig: Signal) {
    if let Ok(p) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_namespace_means_no_process() {
        assert!(ns_ids(&["pnx-never-created-here".to_string()]).is_empty());
        assert!(pids_in(&[]).is_empty());
        // Returns at once: nothing to signal.
        stop_processes_in(&["pnx-never-created-here".to_string()]);
    }

    #[test]
    fn this_process_is_never_a_stray() {
        let me = std::fs::metadata("/proc/self/ns/net").expect("own netns");
        let pids = pids_in(&[(me.dev(), me.ino())]);
        assert!(!pids.contains(&std::process::id()));
    }
}
