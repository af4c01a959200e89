//! `podnet lab down`: stop the lab's processes by PID and remove every namespace with its prefix;
//! works from the state file, and falls back to the prefix after a crash. Idempotent.
//!
//! Every bridged pod gets a real CNI DEL first (its address goes back to the node's IPAM
//! store, its veth and nftables elements go), best-effort: a node already gone is no reason to
//! stop. Then the processes the lab started are stopped by PID and its namespaces deleted.
//!
//! Processes the lab did not record — started with `podnet lab exec … -- iperf3 -s -D`, or by a
//! test — are found by their network namespace (`ip netns pids NS`: the nsfs inode of
//! `/proc/PID/ns/net` against `/run/netns/NS`) and stopped too, so a namespace never outlives
//! the lab in a process that still holds it.

use std::time::{Duration, Instant};

use anyhow::Result;
use podnet_netns::{del_ns, list_with_prefix, stop_processes_in};

use super::kubelet::cni_del;
use super::spec::PodMode;
use super::state::{prefix, LabState};

/// Whether `pid` still runs a podnet or etcd process (a recycled PID is never signalled).
pub fn ours(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let c = String::from_utf8_lossy(&c);
            c.contains("podnet") || c.contains("etcd")
        })
        .unwrap_or(false)
}

fn stop(pid: u32) {
    let p = nix::unistd::Pid::from_raw(pid as i32);
    let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGTERM);
}

/// Removes lab `name`; returns how many namespaces were deleted.
pub fn down(name: &str) -> Result<usize> {
    let st = LabState::load(name).ok();
    if let Some(st) = &st {
        release_pods(st);
        let pids: Vec<u32> = st
            .procs
            .iter()
            .map(|p| p.pid)
            .filter(|p| ours(*p))
            .collect();
        for p in &pids {
            stop(*p);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && pids.iter().any(|p| ours(*p)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        for p in pids.iter().filter(|p| ours(**p)) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*p as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
    let mut names: Vec<String> = st.map(|s| s.namespaces).unwrap_or_default();
    for n in list_with_prefix(&prefix(name)) {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    stop_processes_in(&names);
    for n in &names {
        del_ns(n);
    }
    let _ = std::fs::remove_dir_all(LabState::dir(name));
    Ok(names.len())
}

/// CNI DEL for every bridged pod of `st`, while the nodes (and their agents' facts) are still
/// there; failures are ignored (the namespaces go next anyway).
fn release_pods(st: &LabState) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    for p in st.pods.iter().filter(|p| p.mode == PodMode::Bridge) {
        if let Err(e) = cni_del(st, &exe, p) {
            tracing::debug!("lab down: CNI DEL of pod {}: {e:#}", p.key());
        }
    }
}
