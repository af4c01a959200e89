//! A running lab for tests: brought up with `podnet lab up`, taken down on drop (also when the
//! test fails), with helpers to read its state and drive it.

use std::process::{Child, Command, Output, Stdio};

use super::PLUGIN;

/// Runs the podnet CLI.
pub fn podnet(args: &[&str]) -> Output {
    Command::new(PLUGIN)
        .args(args)
        .output()
        .expect("run podnet")
}

/// Asserts success; returns stdout and stderr together.
pub fn ok(out: &Output, what: &str) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// A lab named after the test process, so labs of concurrent tests never collide.
pub struct Lab(pub String);

impl Lab {
    pub fn name(tag: &str) -> String {
        format!("t{}{tag}", std::process::id() % 100_000)
    }

    pub fn up(tag: &str, extra: &[&str]) -> Lab {
        super::require_root();
        let name = Self::name(tag);
        let lab = Lab(name.clone());
        let mut args = vec!["lab", "up", "--name", &name];
        args.extend_from_slice(extra);
        ok(&podnet(&args), "lab up");
        lab
    }

    /// `podnet lab up SPEC.yaml`, with `spec` given the lab's name (unique per test process).
    pub fn up_spec(tag: &str, spec: impl FnOnce(&str) -> String) -> Lab {
        Self::up_files(tag, &[], spec)
    }

    /// [`Lab::up_spec`] with `files` (name, text) written next to the spec, for its
    /// `manifests:` to name.
    pub fn up_files(tag: &str, files: &[(&str, &str)], spec: impl FnOnce(&str) -> String) -> Lab {
        super::require_root();
        let name = Self::name(tag);
        let dir = tempfile::tempdir().expect("tempdir");
        for (file, text) in files {
            std::fs::write(dir.path().join(file), text).expect("write a file of the spec");
        }
        let path = dir.path().join(format!("{tag}.yaml"));
        std::fs::write(&path, spec(&name)).expect("write the spec");
        let lab = Lab(name);
        ok(
            &podnet(&["lab", "up", &path.display().to_string()]),
            "lab up SPEC",
        );
        lab
    }

    pub fn check(&self) -> Output {
        podnet(&["lab", "check", "--name", &self.0])
    }

    pub fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(format!("/run/podnet/labs/{}/state.json", self.0))
            .expect("lab state");
        serde_json::from_str(&text).expect("lab state JSON")
    }

    /// The agent's `status.json` on `node` (Null while it has not written one).
    pub fn agent_status(&self, node: &str) -> serde_json::Value {
        let p = format!("/run/podnet/labs/{}/{node}/agent/status.json", self.0);
        serde_json::from_str(&std::fs::read_to_string(p).unwrap_or_default()).unwrap_or_default()
    }

    pub fn pod_ip(&self, pod: &str) -> String {
        let st = self.state();
        let p = st["pods"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["name"] == pod)
            .expect("pod in state");
        p["ip"].as_str().expect("pod has an IP").to_string()
    }

    pub fn pid(&self, what: &str) -> u32 {
        let st = self.state();
        let p = st["procs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p["what"] == what)
            .expect("process in state");
        p["pid"].as_u64().expect("pid") as u32
    }

    /// `podnet stream` from pod `from` to pod `to`'s echo port for `secs`.
    pub fn stream(&self, from: &str, to: &str, secs: u64) -> Child {
        let to = format!("{}:9000", self.pod_ip(to));
        Command::new(PLUGIN)
            .args([
                "lab",
                "exec",
                "--name",
                &self.0,
                from,
                "--",
                PLUGIN,
                "stream",
                "--to",
                &to,
                "--seconds",
                &secs.to_string(),
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start podnet stream")
    }

    /// Runs `argv` on a node or in a pod (`podnet lab exec`).
    pub fn exec(&self, target: &str, argv: &[&str]) -> Output {
        let mut args = vec!["lab", "exec", "--name", &self.0, target, "--"];
        args.extend_from_slice(argv);
        podnet(&args)
    }

    /// A node's datapath as text: IPv4 routes, VXLAN neighbours and FDB, nftables (no counters).
    pub fn datapath(&self, node: &str) -> String {
        let script = "ip -4 route show table all; ip neigh show dev podnet.1 nud permanent; bridge fdb show dev podnet.1; nft -s list ruleset";
        ok(
            &podnet(&[
                "lab", "exec", "--name", &self.0, node, "--", "sh", "-c", script,
            ]),
            "datapath snapshot",
        )
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = podnet(&["lab", "down", "--name", &self.0]);
    }
}
