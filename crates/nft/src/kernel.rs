//! [`NftKernel`]: the production [`Nft`]. A pod's elements go to the kernel as one nf_tables
//! netlink batch ([`crate::wire`]), without spawning `nft`; whole scripts (the static ruleset)
//! still go through `nft -f` ([`NftCli`]).

use std::time::Duration;

use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};

use crate::apply::{Nft, NftCli, NftError};
use crate::wire::{encode_batch, parse_acks, Change};
use crate::PodEntry;

/// How long to wait for the kernel's acknowledgements.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);
const ENOENT: i32 = 2;

/// Netlink for elements, the `nft` binary for scripts.
#[derive(Debug, Default)]
pub struct NftKernel {
    pub cli: NftCli,
}

fn io(op: &str, e: std::io::Error) -> NftError {
    NftError::Netlink {
        op: op.to_string(),
        errno: e.raw_os_error().unwrap_or(0),
        detail: e.to_string(),
    }
}

impl NftKernel {
    fn send_batch(&self, change: Change, pod: &PodEntry) -> Result<(), NftError> {
        let mut sock =
            Socket::new(NETLINK_NETFILTER).map_err(|e| io("open nfnetlink socket", e))?;
        sock.bind_auto()
            .map_err(|e| io("bind nfnetlink socket", e))?;
        set_recv_timeout(&sock)?;
        let seq = std::process::id().wrapping_mul(1000);
        let (batch, mut pending) = encode_batch(change, pod, seq);
        sock.send(&batch, 0)
            .map_err(|e| io("send nf_tables batch", e))?;
        let mut first_error = None;
        while !pending.is_empty() {
            let (buf, _) = sock
                .recv_from_full()
                .map_err(|e| io("receive nf_tables ack", e))?;
            let acks = parse_acks(&buf);
            if acks.is_empty() {
                continue;
            }
            for (s, errno) in acks {
                pending.retain(|p| *p != s);
                if errno != 0 && first_error.is_none() {
                    first_error = Some(errno);
                }
            }
            // After an error the kernel aborts the batch; later messages may not be answered.
            if first_error.is_some() {
                break;
            }
        }
        match first_error {
            None => Ok(()),
            Some(errno) => Err(NftError::Netlink {
                op: format!("nf_tables batch for {} ({})", pod.ip, pod.host_veth),
                errno,
                detail: std::io::Error::from_raw_os_error(errno).to_string(),
            }),
        }
    }
}

fn set_recv_timeout(sock: &Socket) -> Result<(), NftError> {
    let tv = nix::sys::time::TimeVal::new(ACK_TIMEOUT.as_secs() as i64, 0);
    nix::sys::socket::setsockopt(sock, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
        .map_err(|e| io("set SO_RCVTIMEO", std::io::Error::from(e)))
}

impl Nft for NftKernel {
    fn apply(&mut self, script: &str) -> Result<(), NftError> {
        self.cli.apply(script)
    }

    fn pod_elements(&mut self, change: Change, pod: &PodEntry) -> Result<(), NftError> {
        self.send_batch(change, pod)
    }

    fn probe(&mut self) -> Result<(), NftError> {
        self.cli.probe()
    }
}

/// Whether an error means a table, set or chain is missing.
pub(crate) fn is_enoent(errno: i32) -> bool {
    errno == ENOENT
}
