//! The `podnet` binary's library: the CNI plugin entry ([`plugin_main`]) and the CLI ([`cli`]).
//! Thin: the work is in the `podnet-*` crates.

pub mod agent_cmd;
pub mod cli;
pub mod demo;
pub mod dryrun;
pub mod serve;
pub mod stream;

use std::io::{Read, Write};
use std::process::ExitCode;

use podnet_cni::config::MAX_CONFIG_BYTES;
use podnet_plugin::effects::KernelEffects;

/// Environment variable naming an ADD step at which the plugin SIGKILLs itself (kill tests).
pub const KILL_AT_ENV: &str = "PODNET_TEST_KILL_AT";

/// Runs the plugin: stdin (capped) and the environment in, the result or error JSON out.
pub fn plugin_main() -> ExitCode {
    let mut stdin = Vec::new();
    // Read one byte past the cap so the config parser can report "too large".
    let _ = std::io::stdin()
        .take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_end(&mut stdin);
    let mut fx = KernelEffects::new(std::env::var(KILL_AT_ENV).ok());
    let out = podnet_plugin::run(|k| std::env::var(k).ok(), &stdin, &mut fx);
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.stdout.as_bytes());
    let _ = stdout.flush();
    ExitCode::from(u8::try_from(out.exit_code).unwrap_or(1))
}
