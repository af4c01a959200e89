//! The udp backend's I/O shell around the sans-IO core (`podnet-udp`): a TUN device and a UDP
//! socket, one thread each way, moving packets in batches with the kernel's offloads.
//!
//! TUN → network: the TUN device is opened with a virtio-net header and `TUNSETOFFLOAD`, so one
//! read returns a TCP (or UDP) super-packet of up to 64 KB; tun-rs splits it into MTU-sized
//! packets, each landing after a reserved [`HEADER_LEN`] gap, so podnet's header is written in
//! place. Consecutive packets for the same node and of the same size go out in **one** `sendmsg`
//! with `UDP_SEGMENT` (UDP GSO): the kernel cuts the datagrams.
//!
//! Network → TUN: the socket has `UDP_GRO`, so one `recvmmsg` returns runs of datagrams glued
//! together (with their stride); each one is checked by the core, and the accepted inner packets
//! are coalesced back into super-packets (tun-rs's GRO table) and written with one `write` each.
//!
//! Every offload is probed at start and falls back on its own: without a virtio-net header the
//! TUN side moves one packet per read and write, without GSO every datagram is its own `sendmsg`,
//! without GRO every datagram is its own slot in `recvmmsg`. [`Offloads`] says what was granted.
//!
//! The TUN device is persistent: when the agent restarts, the device, its address and its routes
//! stay, packets queue or drop for the moment nobody reads them, and the next agent attaches to
//! the same device.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use ipnet::Ipv4Net;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{setsockopt, sockopt};
use podnet_udp::{Action, Drops, Peer, Tunnel, HEADER_LEN};
use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use serde::Serialize;
use tracing::{info, warn};
use tun_rs::{DeviceBuilder, GROTable, SyncDevice, IDEAL_BATCH_SIZE, VIRTIO_NET_HDR_LEN};

use crate::error::AgentError;

/// Room for one packet read from the TUN device (jumbo underlays included).
const PACKET_BUF: usize = 16 * 1024;
/// A UDP datagram's largest payload over IPv4; a GSO batch may not exceed it.
const MAX_DATAGRAM: usize = 65_507;
/// Socket buffers (set with the `*BUFFORCE` options: the agent has CAP_NET_ADMIN).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Receive slots per `recvmmsg`, each large enough for a GRO run of 64 KB.
const RECV_SLOTS: usize = 8;

/// Which offloads the kernel granted (probed at start; `status.json` shows them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Offloads {
    /// TUN reads return super-packets and writes take them (IFF_VNET_HDR + TUNSETOFFLOAD).
    pub tun_vnet_hdr: bool,
    /// The TUN device also takes UDP super-packets (TUN_F_USO4/6, Linux ≥ 6.2).
    pub tun_udp_gso: bool,
    /// Datagrams per `sendmsg` (1 = no UDP GSO).
    pub udp_gso_segments: usize,
    /// Datagrams per received buffer (1 = no UDP GRO).
    pub udp_gro_segments: usize,
}

/// A running relay.
pub struct Relay {
    tunnel: Arc<Mutex<Tunnel>>,
    offloads: Offloads,
}

impl Relay {
    /// Creates (or re-attaches to) the persistent TUN device `name` and binds `bind`; the caller
    /// sets MTU, up and routes. `offload: false` forces the one-packet-per-syscall path.
    pub fn start(
        name: &str,
        bind: SocketAddrV4,
        local_subnet: Ipv4Net,
        offload: bool,
    ) -> Result<Relay, AgentError> {
        let cfg = |e: io::Error| AgentError::Config(format!("udp backend: {e}"));
        let tun = open_tun(name, offload).map_err(cfg)?;
        if let Err(e) = tun.persist() {
            warn!("udp backend: cannot make {name} persistent ({e}); a restart will pause traffic");
        }
        let sock = UdpSocket::bind(bind).map_err(cfg)?;
        for (what, r) in [
            (
                "SO_SNDBUFFORCE",
                setsockopt(&sock, sockopt::SndBufForce, &SOCKET_BUFFER),
            ),
            (
                "SO_RCVBUFFORCE",
                setsockopt(&sock, sockopt::RcvBufForce, &SOCKET_BUFFER),
            ),
        ] {
            if let Err(e) = r {
                warn!("udp backend: {what} refused ({e}); keeping the default buffer");
            }
        }
        let state = UdpSocketState::new(UdpSockRef::from(&sock)).map_err(cfg)?;
        let offloads = Offloads {
            tun_vnet_hdr: tun.tcp_gso(),
            tun_udp_gso: tun.udp_gso(),
            udp_gso_segments: if offload { state.max_gso_segments() } else { 1 },
            udp_gro_segments: state.gro_segments(),
        };
        info!(?offloads, "udp backend: offloads");
        let io = Arc::new(Io {
            tun,
            sock,
            state,
            gso: offload,
        });
        let tunnel = Arc::new(Mutex::new(Tunnel::new(local_subnet, Vec::new())));
        for (thread, f) in [
            ("udp-tx", tun_to_net as fn(&Io, &Mutex<Tunnel>)),
            ("udp-rx", net_to_tun),
        ] {
            let (io, tunnel) = (io.clone(), tunnel.clone());
            std::thread::Builder::new()
                .name(thread.into())
                .spawn(move || f(&io, &tunnel))
                .map_err(cfg)?;
        }
        Ok(Relay { tunnel, offloads })
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

    /// What the kernel granted at start.
    pub fn offloads(&self) -> Offloads {
        self.offloads
    }
}

/// Opens the TUN device with offloads, or without them if the kernel refuses.
fn open_tun(name: &str, offload: bool) -> io::Result<SyncDevice> {
    let build = |offload: bool| {
        DeviceBuilder::new()
            .name(name)
            .packet_information(false)
            .offload(offload)
            .build_sync()
    };
    if !offload {
        return build(false);
    }
    build(true).or_else(|e| {
        warn!("udp backend: TUN offloads refused ({e}); one packet per read");
        build(false)
    })
}

struct Io {
    tun: SyncDevice,
    sock: UdpSocket,
    state: UdpSocketState,
    gso: bool,
}

impl Io {
    fn wait(&self, flags: PollFlags) {
        let mut fds = [PollFd::new(self.sock.as_fd(), flags)];
        let _ = poll(&mut fds, PollTimeout::NONE);
    }

    /// Sends one (possibly segmented) datagram run; waits while the socket buffer is full.
    fn send(&self, to: SocketAddrV4, contents: &[u8], segment: Option<usize>) {
        let t = Transmit {
            destination: SocketAddr::V4(to),
            ecn: None,
            contents,
            segment_size: segment,
            src_ip: None,
        };
        while let Err(e) = self.state.send(UdpSockRef::from(&self.sock), &t) {
            if e.kind() != io::ErrorKind::WouldBlock {
                return;
            }
            self.wait(PollFlags::POLLOUT);
        }
    }

    fn max_segments(&self) -> usize {
        if self.gso {
            self.state.max_gso_segments().max(1)
        } else {
            1
        }
    }
}

/// An error that means the device or socket is gone ends a thread; anything else (a malformed
/// super-packet from the kernel, a refused write) costs one batch.
fn fatal(e: &io::Error) -> bool {
    use nix::errno::Errno;
    matches!(
        e.raw_os_error().map(Errno::from_raw),
        Some(Errno::EBADF | Errno::EBADFD | Errno::ENODEV | Errno::ENXIO)
    )
}

/// Datagrams waiting to go out as one `sendmsg` with `UDP_SEGMENT`: same node, same size
/// (the last may be shorter and closes the run).
struct GsoRun {
    buf: Vec<u8>,
    to: Option<SocketAddrV4>,
    segment: usize,
    count: usize,
    closed: bool,
}

impl GsoRun {
    fn new() -> GsoRun {
        GsoRun {
            buf: Vec::with_capacity(MAX_DATAGRAM),
            to: None,
            segment: 0,
            count: 0,
            closed: false,
        }
    }

    fn push(&mut self, io: &Io, to: SocketAddrV4, datagram: &[u8]) {
        let fits = self.to == Some(to)
            && !self.closed
            && datagram.len() <= self.segment
            && self.count < io.max_segments()
            && self.buf.len() + datagram.len() <= MAX_DATAGRAM;
        if self.count > 0 && !fits {
            self.flush(io);
        }
        if self.count == 0 {
            self.to = Some(to);
            self.segment = datagram.len();
        }
        self.buf.extend_from_slice(datagram);
        self.count += 1;
        self.closed = datagram.len() < self.segment;
    }

    fn flush(&mut self, io: &Io) {
        if let (Some(to), true) = (self.to, self.count > 0) {
            let segment = (self.count > 1).then_some(self.segment);
            io.send(to, &self.buf, segment);
        }
        self.buf.clear();
        self.count = 0;
        self.to = None;
        self.closed = false;
    }
}

fn tun_to_net(io: &Io, tunnel: &Mutex<Tunnel>) {
    let mut raw = vec![0u8; VIRTIO_NET_HDR_LEN + 65_535];
    let mut bufs = vec![vec![0u8; HEADER_LEN + PACKET_BUF]; IDEAL_BATCH_SIZE];
    let mut sizes = vec![0usize; IDEAL_BATCH_SIZE];
    let mut dest: Vec<Option<SocketAddrV4>> = vec![None; IDEAL_BATCH_SIZE];
    let mut run = GsoRun::new();
    loop {
        let n = match io
            .tun
            .recv_multiple(&mut raw, &mut bufs, &mut sizes, HEADER_LEN)
        {
            Ok(n) => n,
            Err(e) if fatal(&e) => {
                warn!("udp backend: TUN read failed: {e}");
                return;
            }
            Err(_) => continue,
        };
        {
            let Ok(mut t) = tunnel.lock() else { return };
            for i in 0..n {
                let packet = &mut bufs[i][..HEADER_LEN + sizes[i]];
                dest[i] = match t.encapsulate(&packet[HEADER_LEN..]) {
                    Action::SendTo { to, header } => {
                        packet[..HEADER_LEN].copy_from_slice(&header);
                        Some(to)
                    }
                    _ => None,
                };
            }
        }
        for i in 0..n {
            if let Some(to) = dest[i] {
                run.push(io, to, &bufs[i][..HEADER_LEN + sizes[i]]);
            }
        }
        run.flush(io);
    }
}

fn net_to_tun(io: &Io, tunnel: &Mutex<Tunnel>) {
    let mut slots = vec![vec![0u8; MAX_DATAGRAM + HEADER_LEN]; RECV_SLOTS];
    let mut iovs: Vec<IoSliceMut> = slots.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let mut meta = vec![RecvMeta::default(); RECV_SLOTS];
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut gro = GROTable::default();
    loop {
        let n = match io
            .state
            .recv(UdpSockRef::from(&io.sock), &mut iovs, &mut meta)
        {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                io.wait(PollFlags::POLLIN);
                continue;
            }
            Err(e) if fatal(&e) => {
                warn!("udp backend: socket read failed: {e}");
                return;
            }
            Err(_) => continue,
        };
        let mut k = 0;
        {
            let Ok(mut t) = tunnel.lock() else { return };
            for (m, iov) in meta.iter().zip(iovs.iter()).take(n) {
                let SocketAddr::V4(from) = m.addr else {
                    continue;
                };
                for datagram in iov[..m.len].chunks(m.stride.max(1)) {
                    if let Action::WriteToTun(inner) = t.decapsulate(from, datagram) {
                        if k == out.len() {
                            // Room to coalesce a whole super-packet in place: tun-rs's GRO
                            // merges only into buffers whose capacity holds the result.
                            out.push(Vec::with_capacity(2 * VIRTIO_NET_HDR_LEN + 65_535));
                        }
                        let b = &mut out[k];
                        b.clear();
                        b.resize(VIRTIO_NET_HDR_LEN, 0);
                        b.extend_from_slice(inner);
                        k += 1;
                    }
                }
            }
        }
        if k > 0 {
            if let Err(e) = io
                .tun
                .send_multiple(&mut gro, &mut out[..k], VIRTIO_NET_HDR_LEN)
            {
                if fatal(&e) {
                    warn!("udp backend: TUN write failed: {e}");
                    return;
                }
            }
        }
    }
}
