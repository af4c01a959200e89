//! The agent's errors.

use ipnet::Ipv4Net;

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Store(#[from] podnet_store::StoreError),
    #[error(transparent)]
    Kernel(#[from] podnet_netlink::NetError),
    #[error("no free subnet of /{subnet_len} left in {cluster}")]
    NoFreeSubnet { cluster: Ipv4Net, subnet_len: u8 },
    #[error("subnet {subnet} was lost: now leased by node {holder:?}")]
    Lost { subnet: Ipv4Net, holder: String },
    #[error("{0}")]
    Config(String),
}
