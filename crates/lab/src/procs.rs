//! Starting, stopping and restarting the lab's processes (agents, servers, etcd) — always by the
//! PID the lab recorded, never by name.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use podnet_netns::command;

use super::down::ours;
use super::state::LabState;

/// Starts `argv` inside `ns` in its own process group, output appended to `log`.
pub fn start(ns: &str, argv: &[String], log: &Path) -> Result<u32> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("open {}", log.display()))?;
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let child = command(ns, &argv)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("start {}", argv.join(" ")))?;
    Ok(child.id())
}

/// Sends `sig` to `pid` (if it is still ours) and waits up to 10 s for it to exit.
pub fn stop(pid: u32, sig: Signal) -> Result<()> {
    if !ours(pid) {
        return Ok(());
    }
    let _ = kill(Pid::from_raw(pid as i32), sig);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ours(pid) {
        if Instant::now() > deadline {
            bail!("process {pid} did not exit after {sig}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Stops the process recorded as `what` with `sig` and starts it again with the same command.
pub fn restart(st: &mut LabState, what: &str, sig: Signal) -> Result<u32> {
    let i = st
        .procs
        .iter()
        .position(|p| p.what == what)
        .with_context(|| format!("lab {} has no process {what:?}", st.name))?;
    stop(st.procs[i].pid, sig)?;
    let p = &st.procs[i];
    let pid = start(&p.netns, &p.argv, &p.log)?;
    st.procs[i].pid = pid;
    st.save()?;
    Ok(pid)
}

/// Stops (`start == false`) or starts again the process recorded as `what`.
pub fn set_running(st: &mut LabState, what: &str, running: bool) -> Result<()> {
    let i = st
        .procs
        .iter()
        .position(|p| p.what == what)
        .with_context(|| format!("lab {} has no process {what:?}", st.name))?;
    if running {
        if !ours(st.procs[i].pid) {
            let p = &st.procs[i];
            st.procs[i].pid = start(&p.netns, &p.argv, &p.log)?;
        }
    } else {
        stop(st.procs[i].pid, Signal::SIGTERM)?;
    }
    st.save()
}
