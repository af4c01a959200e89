//! The effects a command may have, bundled behind one trait so that the command modules are the
//! same code in production ([`KernelEffects`]) and in tests or a dry run (a recording bundle).

use std::path::Path;

use podnet_netlink::{KernelNetOps, NetOps};
use podnet_nft::{Nft, NftKernel};

use crate::delegate::{ExecDelegate, IpamDelegate};
use crate::error::PluginError;

/// Where the boot ID comes from (it changes on every boot).
pub const BOOT_ID_PATH: &str = "/proc/sys/kernel/random/boot_id";

/// The narrow interfaces a command acts through.
pub trait Effects {
    /// Netlink, opened on first use (VERSION and validation errors never open a socket).
    fn net(&mut self) -> Result<&mut dyn NetOps, PluginError>;
    fn nft(&mut self) -> &mut dyn Nft;
    fn delegate(&mut self) -> &mut dyn IpamDelegate;
    /// Reads a small file (the node facts file).
    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// This boot's ID, to reclaim allocations from earlier boots.
    fn boot_id(&self) -> Option<String>;
    /// Called at each step boundary of ADD (`after-ipam`, `after-bridge`, ...): the fault
    /// injection point of the kill tests, a no-op otherwise.
    fn step(&mut self, name: &str);
}

/// The production bundle. `kill_at` names a step at which the process SIGKILLs itself
/// (environment variable `PODNET_TEST_KILL_AT`, used by the kill tests).
pub struct KernelEffects {
    net: Option<KernelNetOps>,
    nft: NftKernel,
    delegate: ExecDelegate,
    kill_at: Option<String>,
}

impl KernelEffects {
    pub fn new(kill_at: Option<String>) -> Self {
        KernelEffects {
            net: None,
            nft: NftKernel::default(),
            delegate: ExecDelegate,
            kill_at,
        }
    }
}

impl Effects for KernelEffects {
    fn net(&mut self) -> Result<&mut dyn NetOps, PluginError> {
        let net = match self.net.take() {
            Some(n) => n,
            None => KernelNetOps::new()?,
        };
        Ok(self.net.insert(net))
    }

    fn nft(&mut self) -> &mut dyn Nft {
        &mut self.nft
    }

    fn delegate(&mut self) -> &mut dyn IpamDelegate {
        &mut self.delegate
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }

    fn boot_id(&self) -> Option<String> {
        std::fs::read_to_string(BOOT_ID_PATH)
            .ok()
            .map(|s| s.trim().to_string())
    }

    fn step(&mut self, name: &str) {
        if self.kill_at.as_deref() == Some(name) {
            let _ =
                nix::sys::signal::kill(nix::unistd::getpid(), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The recording bundle: recording netlink and nftables, a scripted delegate, files from a map.
/// Used by tier-2 tests and usable as a dry run.
#[derive(Default)]
pub struct RecordingEffects {
    pub net: podnet_netlink::RecordingNetOps,
    pub nft: podnet_nft::RecordingNft,
    pub delegate: crate::delegate::ScriptedDelegate,
    pub files: std::collections::HashMap<std::path::PathBuf, Vec<u8>>,
    pub boot_id: Option<String>,
    /// Steps reached, in order.
    pub steps: Vec<String>,
}

impl Effects for RecordingEffects {
    fn net(&mut self) -> Result<&mut dyn NetOps, PluginError> {
        Ok(&mut self.net)
    }

    fn nft(&mut self) -> &mut dyn Nft {
        &mut self.nft
    }

    fn delegate(&mut self) -> &mut dyn IpamDelegate {
        &mut self.delegate
    }

    fn read_file(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }

    fn boot_id(&self) -> Option<String> {
        self.boot_id.clone()
    }

    fn step(&mut self, name: &str) {
        self.steps.push(name.to_string());
    }
}
