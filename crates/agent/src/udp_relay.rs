//! The udp backend's I/O shell around the sans-IO core (`podnet-udp`): a TUN device and a UDP
//! socket, one thread each way. Packets read from the TUN are prefixed in place (the read lands
//! after a reserved header-sized gap, so nothing is shifted) and sent to the node the core names;
//! datagrams from the socket are validated by the core and only then written to the TUN.
//!
//! This first shell moves one packet per system call (flannel's design); the offloads
//! (virtio-net header, UDP GSO/GRO, batching) are the next step and will replace these loops.

use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::{Arc, Mutex};

use ipnet::Ipv4Net;
use podnet_udp::{Action, Drops, Peer, Tunnel, HEADER_LEN};
use tracing::warn;
use tun_rs::{DeviceBuilder, SyncDevice};

use crate::error::AgentError;

/// Largest packet handled (the TUN MTU is smaller).
const BUF: usize = 65_535;

/// A running relay.
pub struct Relay {
    tunnel: Arc<Mutex<Tunnel>>,
}

impl Relay {
    /// Creates the TUN device `name` and binds `bind`; the caller sets MTU, up and routes.
    pub fn start(
        name: &str,
        bind: SocketAddrV4,
        local_subnet: Ipv4Net,
    ) -> Result<Relay, AgentError> {
        let cfg = |e: std::io::Error| AgentError::Config(format!("udp backend: {e}"));
        let tun = Arc::new(
            DeviceBuilder::new()
                .name(name)
                .packet_information(false)
                .build_sync()
                .map_err(cfg)?,
        );
        let sock = Arc::new(UdpSocket::bind(bind).map_err(cfg)?);
        let tunnel = Arc::new(Mutex::new(Tunnel::new(local_subnet, Vec::new())));
        {
            let (tun, sock, tunnel) = (tun.clone(), sock.clone(), tunnel.clone());
            std::thread::Builder::new()
                .name("udp-tx".into())
                .spawn(move || tun_to_net(&tun, &sock, &tunnel))
                .map_err(cfg)?;
        }
        {
            let (tun, sock, tunnel) = (tun.clone(), sock.clone(), tunnel.clone());
            std::thread::Builder::new()
                .name("udp-rx".into())
                .spawn(move || net_to_tun(&tun, &sock, &tunnel))
                .map_err(cfg)?;
        }
        Ok(Relay { tunnel })
    }

    /// Replaces the peer table.
    pub fn set_peers(&self, peers: Vec<Peer>) {
        if let Ok(mut t) = self.tunnel.lock() {
            t.set_peers(peers);
        }
    }

    /// The drop counters so far.
    pub fn drops(&self) -> Drops {
        self.tunnel
            .lock()
            .map(|t| t.drops().clone())
            .unwrap_or_default()
    }
}

fn tun_to_net(tun: &SyncDevice, sock: &UdpSocket, tunnel: &Mutex<Tunnel>) {
    let mut buf = vec![0u8; HEADER_LEN + BUF];
    loop {
        let n = match tun.recv(&mut buf[HEADER_LEN..]) {
            Ok(n) => n,
            Err(e) => {
                warn!("udp backend: TUN read failed: {e}");
                return;
            }
        };
        let action = match tunnel.lock() {
            Ok(mut t) => t.encapsulate(&buf[HEADER_LEN..HEADER_LEN + n]),
            Err(_) => return,
        };
        if let Action::SendTo { to, header } = action {
            buf[..HEADER_LEN].copy_from_slice(&header);
            let _ = sock.send_to(&buf[..HEADER_LEN + n], to);
        }
    }
}

fn net_to_tun(tun: &SyncDevice, sock: &UdpSocket, tunnel: &Mutex<Tunnel>) {
    let mut buf = vec![0u8; BUF];
    loop {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(v) => v,
            Err(e) => {
                warn!("udp backend: socket read failed: {e}");
                return;
            }
        };
        let SocketAddr::V4(from) = from else { continue };
        let action = match tunnel.lock() {
            Ok(mut t) => t.decapsulate(from, &buf[..n]),
            Err(_) => return,
        };
        if let Action::WriteToTun(inner) = action {
            let _ = tun.send(inner);
        }
    }
}
