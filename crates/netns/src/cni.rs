//! [`CniCall`]: one CNI plugin invocation built as a container runtime builds it — a clean
//! environment with the `CNI_*` variables, the network config on stdin, the result on stdout —
//! optionally run inside a node's namespace, never the caller's when one is given.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use crate::ns::command_at;
use crate::NetnsError;

/// The `PATH` the plugin sees (runtimes pass a fixed one too).
const PLUGIN_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

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
    /// The command, not started: the plugin (inside `node` if set) with the runtime's
    /// environment and piped stdio.
    pub fn command(&self) -> Command {
        let mut cmd = match &self.node {
            Some(ns) => {
                let plugin = self.plugin.display().to_string();
                command_at(ns, &[&plugin])
            }
            None => Command::new(&self.plugin),
        };
        cmd.env_clear()
            .env("PATH", PLUGIN_PATH)
            .env("CNI_COMMAND", &self.command)
            .env("CNI_CONTAINERID", &self.container_id)
            .env("CNI_NETNS", &self.netns)
            .env("CNI_IFNAME", &self.ifname)
            .env("CNI_PATH", &self.cni_path)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// Runs the plugin with `stdin` as the network config; its output whatever its exit status
    /// (a CNI error is JSON on stdout and a non-zero exit, for the caller to read).
    pub fn exec(&self, stdin: &[u8]) -> Result<Output, NetnsError> {
        let spawn_error = |what: &str, source| NetnsError::Spawn {
            what: format!("{what} {}", self.plugin.display()),
            source,
        };
        let mut child = self.command().spawn().map_err(|e| spawn_error("run", e))?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin)
                .map_err(|e| spawn_error("write the stdin of", e))?;
        }
        child
            .wait_with_output()
            .map_err(|e| spawn_error("wait for", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(node: Option<&str>) -> CniCall {
        CniCall {
            plugin: PathBuf::from("/opt/cni/bin/podnet"),
            command: "ADD".into(),
            container_id: "c1".into(),
            netns: "/run/netns/pnx-pod".into(),
            ifname: "eth0".into(),
            cni_path: "/opt/cni/bin".into(),
            node: node.map(PathBuf::from),
            extra_env: vec![("PODNET_X".into(), "1".into())],
        }
    }

    fn env(c: &Command) -> Vec<(String, String)> {
        c.get_envs()
            .filter_map(|(k, v)| Some((k.to_str()?.to_string(), v?.to_str()?.to_string())))
            .collect()
    }

    #[test]
    fn the_runtime_environment_and_nothing_else() {
        let c = call(None).command();
        assert_eq!(c.get_program(), "/opt/cni/bin/podnet");
        let mut env = env(&c);
        env.sort();
        assert_eq!(
            env,
            [
                ("CNI_COMMAND", "ADD"),
                ("CNI_CONTAINERID", "c1"),
                ("CNI_IFNAME", "eth0"),
                ("CNI_NETNS", "/run/netns/pnx-pod"),
                ("CNI_PATH", "/opt/cni/bin"),
                ("PATH", PLUGIN_PATH),
                ("PODNET_X", "1"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn a_node_namespace_runs_the_plugin_under_nsenter() {
        let c = call(Some("/run/netns/pnx-node")).command();
        assert_eq!(c.get_program(), "nsenter");
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(args, ["--net=/run/netns/pnx-node", "/opt/cni/bin/podnet"]);
    }

    #[test]
    fn a_missing_plugin_is_a_spawn_error_naming_it() {
        let mut c = call(None);
        c.plugin = PathBuf::from("/nonexistent/pnx-plugin");
        let e = c.exec(b"{}").expect_err("no such plugin");
        assert!(matches!(e, NetnsError::Spawn { .. }), "{e:?}");
        assert!(e.to_string().contains("/nonexistent/pnx-plugin"), "{e}");
    }
}
