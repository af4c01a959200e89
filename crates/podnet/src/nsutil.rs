//! Helpers for commands that build their own namespaces (demo, bench, tests): create and remove
//! named network namespaces (`ip netns add/del`; removing one first stops any process still in
//! it, so a forgotten daemon cannot keep it alive), run programs inside one (`nsenter --net=`,
//! which unlike `ip netns exec` leaves /sys alone), and invoke a CNI plugin the way a runtime does.
//!
//! Nothing here touches the calling process's own namespace, except [`enter`], which the
//! benchmark uses to move itself into the node namespace it created.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A named network namespace that is deleted on drop (best-effort, idempotent).
#[derive(Debug)]
pub struct NetnsGuard {
    pub name: String,
}

impl NetnsGuard {
    /// `ip netns add NAME` (an existing one of the same name is removed first), `lo` up.
    pub fn new(name: &str) -> Result<Self> {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        let st = Command::new("ip")
            .args(["netns", "add", name])
            .status()
            .context("run ip netns add")?;
        if !st.success() {
            bail!("ip netns add {name} failed");
        }
        let g = NetnsGuard {
            name: name.to_string(),
        };
        g.run(&["ip", "link", "set", "lo", "up"])?;
        Ok(g)
    }

    /// `/run/netns/NAME`
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }

    /// A command that runs `argv` inside this namespace.
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net={}", self.path().display())).args(argv);
        c
    }

    /// Runs `argv` inside the namespace; fails with its stderr if it fails.
    pub fn run(&self, argv: &[&str]) -> Result<String> {
        let out = self
            .command(argv)
            .output()
            .with_context(|| format!("run {argv:?} in {}", self.name))?;
        if !out.status.success() {
            bail!(
                "{argv:?} in {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        stop_processes_in(std::slice::from_ref(&self.name));
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// The (device, inode) of each namespace that exists.
fn ns_ids(namespaces: &[String]) -> Vec<(u64, u64)> {
    namespaces
        .iter()
        .filter_map(|n| std::fs::metadata(format!("/run/netns/{n}")).ok())
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

/// Stops every process (but this one) inside the named namespaces, found as `ip netns pids`
/// finds them (the nsfs inode of `/proc/PID/ns/net`): SIGTERM, then SIGKILL to those still
/// there after 2 s. For namespaces podnet created and is about to delete.
pub fn stop_processes_in(namespaces: &[String]) {
    let ids = ns_ids(namespaces);
    let strays = pids_in(&ids);
    if strays.is_empty() {
        return;
    }
    for p in &strays {
        signal(*p, nix::sys::signal::Signal::SIGTERM);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline && !pids_in(&ids).is_empty() {
        std::thread::sleep(Duration::from_millis(50));
    }
    for p in pids_in(&ids) {
        signal(p, nix::sys::signal::Signal::SIGKILL);
    }
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    if let Ok(p) = i32::try_from(pid) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(p), sig);
    }
}

/// Names of existing namespaces starting with `prefix`.
pub fn list_with_prefix(prefix: &str) -> Vec<String> {
    let out = Command::new("ip").args(["netns", "list"]).output();
    let Ok(out) = out else { return Vec::new() };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect()
}

/// Moves the calling thread (and the threads and processes it starts later) into `path`.
pub fn enter(path: &Path) -> Result<()> {
    let f = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET)
        .with_context(|| format!("setns {}", path.display()))
}

/// One CNI invocation, built like a runtime builds it.
#[derive(Debug, Clone)]
pub struct CniCall {
    pub plugin: PathBuf,
    pub command: String,
    pub container_id: String,
    pub netns: String,
    pub ifname: String,
    pub cni_path: String,
    /// Run the plugin inside this namespace (via nsenter); `None`: the caller's namespace.
    pub node: Option<PathBuf>,
    pub extra_env: Vec<(String, String)>,
}

impl CniCall {
    /// Runs the plugin with `stdin` as the network config.
    pub fn exec(&self, stdin: &[u8]) -> Result<Output> {
        let mut cmd = match &self.node {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={}", ns.display())).arg(&self.plugin);
                c
            }
            None => Command::new(&self.plugin),
        };
        cmd.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("CNI_COMMAND", &self.command)
            .env("CNI_CONTAINERID", &self.container_id)
            .env("CNI_NETNS", &self.netns)
            .env("CNI_IFNAME", &self.ifname)
            .env("CNI_PATH", &self.cni_path)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .with_context(|| format!("run {}", self.plugin.display()))?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin).context("write plugin stdin")?;
        }
        child.wait_with_output().context("wait for plugin")
    }
}
