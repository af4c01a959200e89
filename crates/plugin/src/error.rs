//! The plugin's error type and its mapping to CNI error codes.

use std::path::PathBuf;

use podnet_cni::error::CODE_KERNEL;
use podnet_cni::{CniError, ErrorCode};
use podnet_ipam::StoreError;
use podnet_model::facts::FactsError;
use podnet_netlink::{NetError, NetnsError};
use podnet_nft::NftError;

/// CHECK found the attachment different from what `prevResult` says.
pub const CODE_CHECK_FAILED: u32 = 101;

/// Everything that can go wrong in a plugin invocation.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// Already carries its CNI code (validation, a delegated plugin's own error).
    #[error(transparent)]
    Cni(#[from] CniError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Net(#[from] NetError),
    #[error(transparent)]
    Nft(#[from] NftError),
    #[error("config has no ipam.subnet and the node facts file {path} does not exist (is the podnet agent running on this node?)")]
    FactsMissing { path: PathBuf },
    #[error("node facts file {path}: {source}")]
    Facts { path: PathBuf, source: FactsError },
    #[error("cannot read node facts file {path}: {source}")]
    FactsIo {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("check failed: {0}")]
    Check(String),
    #[error("delegated IPAM plugin {plugin}: {reason}")]
    Delegate { plugin: String, reason: String },
}

impl PluginError {
    /// The CNI error object for this failure.
    pub fn to_cni(&self) -> CniError {
        if let PluginError::Cni(e) = self {
            return e.clone();
        }
        let code = match self {
            PluginError::Cni(_) => ErrorCode::Other(CODE_KERNEL),
            PluginError::Store(e) if e.is_transient() => ErrorCode::TryAgainLater,
            PluginError::Store(_) => ErrorCode::Io,
            PluginError::Net(NetError::Netns(NetnsError::NotFound { .. })) => {
                ErrorCode::UnknownContainer
            }
            PluginError::Net(NetError::Netns(NetnsError::NotNetns { .. })) => ErrorCode::InvalidEnv,
            PluginError::Net(_) | PluginError::Nft(_) => ErrorCode::Other(CODE_KERNEL),
            PluginError::FactsMissing { .. } => ErrorCode::TryAgainLater,
            PluginError::Facts { .. } => ErrorCode::InvalidConfig,
            PluginError::FactsIo { .. } => ErrorCode::Io,
            PluginError::Check(_) => ErrorCode::Other(CODE_CHECK_FAILED),
            PluginError::Delegate { .. } => ErrorCode::Other(CODE_KERNEL),
        };
        let msg = match self {
            PluginError::Net(NetError::Netns(e)) => format!("CNI_NETNS: {e}"),
            other => other.to_string(),
        };
        CniError::new(code, msg)
    }
}
