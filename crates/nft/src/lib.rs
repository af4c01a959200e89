//! Applying podnet's nftables model ([`podnet_nft_model`], re-exported here whole) to the
//! kernel: the [`Nft`] trait — a script as one atomic transaction, a pod's elements — with the
//! `nft` binary ([`NftCli`]), a netlink batch without spawning `nft` ([`NftKernel`]), and a
//! recording twin for tests and dry runs ([`RecordingNft`]).
#![forbid(unsafe_code)]

mod apply;
mod kernel;

pub use apply::{elements_script, Nft, NftCli, NftError, RecordingNft};
pub use kernel::NftKernel;
pub use podnet_nft_model::*;
