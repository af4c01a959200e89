//! The error of every [`crate::NetOps`] and [`crate::BackendOps`] operation: the `ip` command it
//! stood for and what the kernel (or the namespace switch, or the eBPF loader) said.

/// A failed kernel operation, with the `ip` command it stood for.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("{op}: {source}")]
    Netlink {
        op: String,
        source: rtnetlink::Error,
    },
    #[error("{op}: {source}")]
    Io { op: String, source: std::io::Error },
    #[error("{op}: interface {name:?} already exists in the pod namespace")]
    ContainerIfExists { op: String, name: String },
    #[error("{op}: link {name:?} not found")]
    NoSuchLink { op: String, name: String },
    #[error(transparent)]
    Netns(#[from] crate::netns::NetnsError),
    #[error("{op}: {source}")]
    Ebpf {
        op: String,
        source: podnet_ebpf::EbpfError,
    },
}

impl NetError {
    /// The errno of a netlink error, if it was one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetError::Netlink {
                source: rtnetlink::Error::NetlinkError(m),
                ..
            } => Some(-m.raw_code()),
            NetError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}
