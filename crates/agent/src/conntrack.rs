//! Deleting conntrack entries, the one conntrack effect the proxy needs: when a UDP endpoint
//! goes away, or a UDP Service port gets endpoints after having none, the flows conntrack still
//! remembers would keep going to the old endpoint (or nowhere) for as long as the client keeps
//! sending — UDP has no connection to end (kube-proxy's stale-UDP bug, kubernetes#59368). TCP
//! entries are left alone: the endpoint's reset ends them.
//!
//! [`ConntrackCli`] runs Debian's `conntrack` tool; [`RecordingConntrack`] keeps the requests.

use std::process::Command;

pub use podnet_proxy::Flows;

/// Why entries could not be deleted.
#[derive(Debug, thiserror::Error)]
pub enum ConntrackError {
    #[error("cannot run {binary}: {source}")]
    Spawn {
        binary: String,
        source: std::io::Error,
    },
    #[error("conntrack {args}: {stderr}")]
    Failed { args: String, stderr: String },
}

/// Deletes conntrack entries.
pub trait Conntrack {
    /// `conntrack -D -p udp …`; no matching entry is success.
    fn delete(&mut self, flows: &Flows) -> Result<(), ConntrackError>;
}

/// The real implementation: the `conntrack` binary (package conntrack).
#[derive(Debug, Clone)]
pub struct ConntrackCli {
    pub binary: String,
}

impl Default for ConntrackCli {
    fn default() -> Self {
        ConntrackCli {
            binary: "conntrack".into(),
        }
    }
}

impl Conntrack for ConntrackCli {
    fn delete(&mut self, flows: &Flows) -> Result<(), ConntrackError> {
        let args = flows.args();
        let out = Command::new(&self.binary)
            .args(&args)
            .output()
            .map_err(|source| ConntrackError::Spawn {
                binary: self.binary.clone(),
                source,
            })?;
        // Exit status 1 with "0 flow entries have been deleted" is "nothing matched".
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() || stderr.contains("0 flow entries") {
            return Ok(());
        }
        Err(ConntrackError::Failed {
            args: args.join(" "),
            stderr: stderr.trim().to_owned(),
        })
    }
}

/// Keeps every request (tests, dry runs).
#[derive(Debug, Default, Clone)]
pub struct RecordingConntrack {
    pub deleted: Vec<Flows>,
}

impl Conntrack for RecordingConntrack {
    fn delete(&mut self, flows: &Flows) -> Result<(), ConntrackError> {
        self.deleted.push(*flows);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn arguments_name_the_service_and_the_endpoint() {
        let f = Flows {
            dst: Some(Ipv4Addr::new(10, 96, 0, 10)),
            port: 53,
            reply_src: Some(Ipv4Addr::new(10, 244, 1, 5)),
        };
        assert_eq!(
            f.args().join(" "),
            "-D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53 --reply-src 10.244.1.5"
        );
        let any = Flows {
            dst: None,
            port: 30053,
            reply_src: None,
        };
        assert_eq!(any.args().join(" "), "-D -p udp --orig-port-dst 30053");
    }
}
