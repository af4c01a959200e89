//! Running commands inside lab namespaces (`nsenter --net=`, which leaves /sys alone) and
//! creating/removing the namespaces themselves.

use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// `/run/netns/NAME`
pub fn ns_path(ns: &str) -> String {
    format!("/run/netns/{ns}")
}

/// `ip netns add NAME` (an existing one is reused) and `lo` up.
pub fn add_ns(ns: &str) -> Result<()> {
    if !std::path::Path::new(&ns_path(ns)).exists() {
        let st = Command::new("ip")
            .args(["netns", "add", ns])
            .status()
            .context("run ip netns add")?;
        if !st.success() {
            bail!("ip netns add {ns} failed");
        }
    }
    run(ns, &["ip", "link", "set", "lo", "up"]).map(|_| ())
}

/// `ip netns del NAME`; gone already is fine.
pub fn del_ns(ns: &str) {
    let _ = Command::new("ip")
        .args(["netns", "del", ns])
        .stderr(Stdio::null())
        .status();
}

/// A command that runs `argv` inside `ns`.
pub fn command(ns: &str, argv: &[&str]) -> Command {
    let mut c = Command::new("nsenter");
    c.arg(format!("--net={}", ns_path(ns))).args(argv);
    c
}

/// Runs `argv` inside `ns`; its stdout, or an error with its stderr.
pub fn run(ns: &str, argv: &[&str]) -> Result<String> {
    let out = command(ns, argv)
        .output()
        .with_context(|| format!("run {argv:?} in {ns}"))?;
    if !out.status.success() {
        bail!(
            "{} (in {ns}) failed: {}",
            argv.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Writes a sysctl inside `ns`.
pub fn sysctl(ns: &str, key: &str, value: &str) -> Result<()> {
    run(ns, &["sysctl", "-qw", &format!("{key}={value}")]).map(|_| ())
}
