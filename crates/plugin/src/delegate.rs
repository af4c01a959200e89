//! Delegating IPAM to another plugin (e.g. `host-local`), as the SPEC describes: the same
//! environment and stdin, the plugin found by its bare `type` name in CNI_PATH.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};

use podnet_cni::{CniError, Command, ErrorCode};
use serde_json::Value;

use crate::error::PluginError;

/// Runs an IPAM plugin.
pub trait IpamDelegate {
    /// Runs `plugin` for `command`; returns its stdout parsed as JSON (`None` when empty).
    fn exec(
        &mut self,
        plugin: &str,
        command: Command,
        cni_path: &[PathBuf],
        stdin: &[u8],
    ) -> Result<Option<Value>, PluginError>;
}

/// Finds a plugin binary in the CNI_PATH directories.
pub fn find_plugin(plugin: &str, cni_path: &[PathBuf]) -> Option<PathBuf> {
    cni_path
        .iter()
        .map(|d| d.join(plugin))
        .find(|p| p.is_file())
}

/// The real delegate: a child process that inherits the CNI_* environment.
#[derive(Debug, Default)]
pub struct ExecDelegate;

impl IpamDelegate for ExecDelegate {
    fn exec(
        &mut self,
        plugin: &str,
        command: Command,
        cni_path: &[PathBuf],
        stdin: &[u8],
    ) -> Result<Option<Value>, PluginError> {
        let fail = |reason: String| PluginError::Delegate {
            plugin: plugin.to_string(),
            reason,
        };
        let bin = find_plugin(plugin, cni_path).ok_or_else(|| {
            PluginError::Cni(CniError::new(
                ErrorCode::InvalidConfig,
                format!(
                    "ipam.type: plugin {plugin:?} not found in CNI_PATH {}",
                    join(cni_path)
                ),
            ))
        })?;
        let mut child = Process::new(&bin)
            .env("CNI_COMMAND", command.as_str())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| fail(format!("cannot run {}: {e}", bin.display())))?;
        if let Some(mut pipe) = child.stdin.take() {
            pipe.write_all(stdin)
                .map_err(|e| fail(format!("cannot write its stdin: {e}")))?;
        }
        let out = child.wait_with_output().map_err(|e| fail(e.to_string()))?;
        let parsed: Option<Value> = if out.stdout.iter().all(|b| b.is_ascii_whitespace()) {
            None
        } else {
            Some(
                serde_json::from_slice(&out.stdout)
                    .map_err(|e| fail(format!("unreadable output: {e}")))?,
            )
        };
        if out.status.success() {
            return Ok(parsed);
        }
        // Pass the delegate's own CNI error through, code and all.
        let (code, msg) = parsed
            .as_ref()
            .map(|v| {
                (
                    v.get("code").and_then(Value::as_u64).unwrap_or(999) as u32,
                    v.get("msg")
                        .and_then(Value::as_str)
                        .unwrap_or("failed")
                        .to_string(),
                )
            })
            .unwrap_or((999, format!("exited with {}", out.status)));
        Err(PluginError::Cni(CniError::new(
            ErrorCode::from_u32(code),
            format!("ipam plugin {plugin}: {msg}"),
        )))
    }
}

fn join(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Whether `path` names an existing executable file (for STATUS).
pub fn exists(path: &Path) -> bool {
    path.is_file()
}

/// A delegate that answers from a script: the result of the next ADD, and a log of calls.
#[derive(Debug, Default)]
pub struct ScriptedDelegate {
    pub add_result: Option<Value>,
    pub calls: Vec<(String, &'static str)>,
}

impl IpamDelegate for ScriptedDelegate {
    fn exec(
        &mut self,
        plugin: &str,
        command: Command,
        _cni_path: &[PathBuf],
        _stdin: &[u8],
    ) -> Result<Option<Value>, PluginError> {
        self.calls.push((plugin.to_string(), command.as_str()));
        Ok(match command {
            Command::Add => self.add_result.clone(),
            _ => None,
        })
    }
}
