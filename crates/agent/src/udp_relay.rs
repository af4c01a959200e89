//! The udp backend's I/O shell around the sans-IO core (`podnet-udp`): a TUN device and a UDP
//! socket, one thread each way, moving packets in batches with the kernel's offloads.
//!
//! TUN → network: the TUN device is opened with a virtio-net header and `TUNSETOFFLOAD`, so one
//! read returns a TCP (or UDP) super-packet of up to 64 KB; tun-rs's `gso_split` cuts it into
//! MTU-sized packets laid out at equal strides in one buffer, each after a [`HEADER_LEN`] gap
//! where podnet's header is written in place. The run of datagrams for one node then goes out
//! straight from that buffer in **one** `sendmsg` with `UDP_SEGMENT` (UDP GSO): the kernel cuts
//! the datagrams.
//!
//! Network → TUN: the socket has `UDP_GRO`, so one `recvmmsg` returns runs of datagrams glued
//! together (with their stride); each one is checked by the core, and the accepted segments of
//! one TCP flow are written back as one super-packet (`podnet_udp::gro`): a virtio-net header
//! and the merged IP/TCP header followed by the payloads where they lie, one `writev` each.
//!
//! Every offload is probed at start and falls back on its own: without a virtio-net header the
//! TUN side moves one packet per read and write, without GSO every datagram is its own `sendmsg`,
//! without GRO every datagram is its own slot in `recvmmsg`. [`Offloads`] says what was granted.
//!
//! The TUN device is persistent: when the agent restarts, the device, its address and its routes
//! stay, packets queue or drop for the moment nobody reads them, and the next agent attaches to
//! the same device.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use ipnet::Ipv4Net;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{setsockopt, sockopt};
use podnet_udp::batch;
use podnet_udp::gro::{self, Run};
use podnet_udp::{Action, Drops, Peer, Tunnel, HEADER_LEN};
use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use serde::Serialize;
use tracing::{info, warn};
use tun_rs::{
    gso_split, DeviceBuilder, SyncDevice, VirtioNetHdr, VIRTIO_NET_HDR_GSO_TCPV4,
    VIRTIO_NET_HDR_GSO_UDP_L4, VIRTIO_NET_HDR_LEN,
};

/// virtio-net header values tun-rs does not export.
const GSO_NONE: u8 = 0;
const GSO_ECN: u8 = 0x80;
const F_NEEDS_CSUM: u8 = 1;

use crate::error::AgentError;

/// A UDP datagram's largest payload over IPv4; a GSO batch may not exceed it.
const MAX_DATAGRAM: usize = 65_507;
/// Socket buffers (set with the `*BUFFORCE` options: the agent has CAP_NET_ADMIN).
const SOCKET_BUFFER: usize = 4 * 1024 * 1024;
/// Segments one TUN super-packet may be cut into (64 KB of 64-byte segments; TCP's are ~1.4 KB).
const MAX_SEGMENTS: usize = 1024;
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
            // A new device stays down until the agent has disabled IPv6 on it and set its MTU
            // (no router solicitations leak out); a persistent one stays up across restarts.
            .inherit_enable_state()
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
    /// Whether the TUN device has a packet queued right now (a `poll` that does not wait).
    fn tun_ready(&self) -> bool {
        let mut fds = [PollFd::new(self.tun.as_fd(), PollFlags::POLLIN)];
        poll(&mut fds, PollTimeout::ZERO).is_ok_and(|n| n > 0)
    }

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

/// Where the packets of one TUN read were laid out: `count` packets, the first at `buf[0..]`,
/// each `stride` bytes after the previous one with [`HEADER_LEN`] free bytes in front of it;
/// `last_len` is the last packet's length (the others fill their stride).
struct Layout {
    stride: usize,
    count: usize,
    last_len: usize,
}

/// Reads one packet or super-packet from the TUN device into `buf` and lays it out for UDP
/// GSO: a super-packet is cut (tun-rs's `gso_split`, which also fills in each segment's
/// lengths and checksums) straight into equal strides, so the datagrams go out of this buffer
/// with no further copy.
///
/// Everything goes to `buf[off..]` (positions in the [`Layout`] are relative to `off`): the
/// segments held back from the previous read lie before it.
fn read_tun(io: &Io, raw: &mut [u8], buf: &mut Vec<u8>, off: usize) -> io::Result<Layout> {
    if buf.len() < off + HEADER_LEN + 65_535 {
        buf.resize(off + HEADER_LEN + 65_535, 0);
    }
    if !io.tun.tcp_gso() {
        let n = io.tun.recv(&mut buf[off + HEADER_LEN..])?;
        return Ok(Layout {
            stride: HEADER_LEN + n,
            count: 1,
            last_len: n,
        });
    }
    let n = io.tun.recv(raw)?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    if n <= VIRTIO_NET_HDR_LEN {
        return Err(bad("short read"));
    }
    let mut hdr = VirtioNetHdr::decode(&raw[..VIRTIO_NET_HDR_LEN])?;
    let input = &mut raw[VIRTIO_NET_HDR_LEN..n];
    if hdr.gso_type == GSO_NONE {
        if hdr.flags & F_NEEDS_CSUM != 0 {
            finish_checksum(input, hdr.csum_start, hdr.csum_offset).ok_or_else(|| bad("csum"))?;
        }
        buf[off + HEADER_LEN..off + HEADER_LEN + input.len()].copy_from_slice(input);
        return Ok(Layout {
            stride: HEADER_LEN + input.len(),
            count: 1,
            last_len: input.len(),
        });
    }
    let is_v6 = input[0] >> 4 == 6;
    // As tun-rs does: the kernel's hdr_len cannot be trusted on the forwarding path; the
    // transport header's own length can.
    let l4 = usize::from(hdr.csum_start);
    let l4_len = if hdr.gso_type & !GSO_ECN == VIRTIO_NET_HDR_GSO_UDP_L4 {
        8
    } else {
        let off = *input.get(l4 + 12).ok_or_else(|| bad("short TCP header"))?;
        usize::from(off >> 4) * 4
    };
    hdr.hdr_len = u16::try_from(l4 + l4_len).map_err(|_| bad("header length"))?;
    let (hdr_len, seg) = (usize::from(hdr.hdr_len), usize::from(hdr.gso_size));
    if seg == 0 || input.len() < hdr_len {
        return Err(bad("bad virtio-net header"));
    }
    let stride = HEADER_LEN + hdr_len + seg;
    let count = (input.len() - hdr_len).div_ceil(seg);
    let mut sizes = [0usize; MAX_SEGMENTS];
    let sizes = sizes
        .get_mut(..count)
        .ok_or_else(|| bad("too many segments"))?;
    if buf.len() < off + stride * count {
        buf.resize(off + stride * count, 0);
    }
    let mut slots: Vec<&mut [u8]> = buf[off..].chunks_mut(stride).take(count).collect();
    let got = gso_split(input, hdr, &mut slots, sizes, HEADER_LEN, is_v6)?;
    Ok(Layout {
        stride,
        count: got,
        last_len: sizes.get(got.wrapping_sub(1)).copied().unwrap_or(0),
    })
}

/// `gso_none_checksum` in tun-rs (not exported): complete a partial transport checksum.
fn finish_checksum(p: &mut [u8], start: u16, offset: u16) -> Option<()> {
    let at = usize::from(start) + usize::from(offset);
    let initial = u16::from_be_bytes([*p.get(at)?, *p.get(at + 1)?]);
    p[at] = 0;
    p[at + 1] = 0;
    let sum = tun_rs::checksum(p.get(usize::from(start)..)?, u64::from(initial));
    p[at..at + 2].copy_from_slice(&(!sum).to_be_bytes());
    Some(())
}

/// Datagrams held back from the last TUN read (`podnet_udp::batch`): `count` full-length
/// datagrams for `to`, already encapsulated, at `buf[0..]`, `stride` apart.
#[derive(Debug, Clone, Copy)]
struct Held {
    to: SocketAddrV4,
    count: usize,
    stride: usize,
}

impl Held {
    /// Sends the held datagrams on their own (they lie at the start of `buf`).
    fn send(&self, io: &Io, buf: &[u8]) {
        let contents = &buf[..self.count * self.stride];
        io.send(self.to, contents, (self.count > 1).then_some(self.stride));
    }
}

/// TUN → network: read, encapsulate in place, send runs with UDP GSO. The short tail of a
/// super-packet is held back for the next read (see `podnet_udp::batch`) and sent on its own as
/// soon as the TUN device has nothing more queued (a `poll` that does not wait), so it never
/// waits for more than a read that is already there.
fn tun_to_net(io: &Io, tunnel: &Mutex<Tunnel>) {
    let mut raw = vec![0u8; VIRTIO_NET_HDR_LEN + 65_535];
    let mut buf = vec![0u8; 4 * 65_536];
    let mut dest: Vec<Option<SocketAddrV4>> = Vec::new();
    let mut sends = Vec::new();
    let mut held: Option<Held> = None;
    loop {
        if let Some(h) = held.filter(|_| !io.tun_ready()) {
            h.send(io, &buf);
            held = None;
            continue;
        }
        let off = held.map_or(0, |h| h.count * h.stride);
        let l = match read_tun(io, &mut raw, &mut buf, off) {
            Ok(l) => l,
            Err(e) if fatal(&e) => {
                warn!("udp backend: TUN read failed: {e}");
                return;
            }
            Err(_) => continue,
        };
        // The held datagrams lead this read's datagrams when both have the same stride (this
        // read was laid out right behind them); otherwise they go out on their own first.
        dest.clear();
        let mut base = off;
        if let Some(h) = held.take() {
            if h.stride == l.stride {
                base = 0;
                dest.resize(h.count, Some(h.to));
            } else {
                h.send(io, &buf);
            }
        }
        let prior = dest.len();
        let stride = l.stride;
        let len = |k: usize| {
            if k >= prior && k + 1 == prior + l.count {
                l.last_len
            } else {
                stride - HEADER_LEN
            }
        };
        {
            let Ok(mut t) = tunnel.lock() else { return };
            for k in prior..prior + l.count {
                let at = base + k * stride;
                let packet = &mut buf[at..at + HEADER_LEN + len(k)];
                dest.push(match t.encapsulate(&packet[HEADER_LEN..]) {
                    Action::SendTo { to, header } => {
                        packet[..HEADER_LEN].copy_from_slice(&header);
                        Some(to)
                    }
                    _ => None,
                });
            }
        }
        let per_send = io.max_segments().min(MAX_DATAGRAM / stride.max(1)).max(1);
        let last_full = l.last_len == stride - HEADER_LEN;
        let hold = batch::plan(&dest, per_send, last_full, l.count > 1, &mut sends);
        // Each run goes out as one sendmsg straight from `buf` (already `stride` apart).
        for (to, r) in &sends {
            let (from, last) = (base + r.start * stride, base + (r.end - 1) * stride);
            let contents = &buf[from..last + HEADER_LEN + len(r.end - 1)];
            io.send(*to, contents, (r.len() > 1).then_some(stride));
        }
        if let Some((to, r)) = hold {
            let from = base + r.start * stride;
            buf.copy_within(from..from + r.len() * stride, 0);
            held = Some(Held {
                to,
                count: r.len(),
                stride,
            });
        }
    }
}

fn net_to_tun(io: &Io, tunnel: &Mutex<Tunnel>) {
    let mut slots = vec![vec![0u8; MAX_DATAGRAM + HEADER_LEN]; RECV_SLOTS];
    let mut iovs: Vec<IoSliceMut> = slots.iter_mut().map(|b| IoSliceMut::new(b)).collect();
    let mut meta = vec![RecvMeta::default(); RECV_SLOTS];
    // Accepted inner packets: (slot, offset, length).
    let mut accepted: Vec<(usize, usize, usize)> = Vec::new();
    let mut runs: Vec<Run> = Vec::new();
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
        accepted.clear();
        {
            let Ok(mut t) = tunnel.lock() else { return };
            for (slot, (m, iov)) in meta.iter().zip(iovs.iter()).take(n).enumerate() {
                let SocketAddr::V4(from) = m.addr else {
                    continue;
                };
                let stride = m.stride.max(1);
                for (k, datagram) in iov[..m.len].chunks(stride).enumerate() {
                    if let Action::WriteToTun(inner) = t.decapsulate(from, datagram) {
                        accepted.push((slot, k * stride + HEADER_LEN, inner.len()));
                    }
                }
            }
        }
        let packets: Vec<&[u8]> = accepted
            .iter()
            .map(|&(slot, at, len)| &iovs[slot][at..at + len])
            .collect();
        if let Err(e) = write_tun(io, &packets, &mut runs) {
            if fatal(&e) {
                warn!("udp backend: TUN write failed: {e}");
                return;
            }
        }
    }
}

/// Writes accepted packets to the TUN device: with the virtio-net header, runs of one TCP flow
/// become one super-packet written with one `writev` (header + the payloads where they lie);
/// without it, one `write` per packet.
fn write_tun(io: &Io, packets: &[&[u8]], runs: &mut Vec<Run>) -> io::Result<()> {
    let mut result = Ok(());
    if !io.tun.tcp_gso() {
        for p in packets {
            if let Err(e) = io.tun.send(p) {
                result = Err(e);
            }
        }
        return result;
    }
    gro::runs(packets, runs);
    let mut header = [0u8; 20 + 60];
    for r in runs.iter() {
        let mut vnet = [0u8; VIRTIO_NET_HDR_LEN];
        let first = packets[r.start];
        let written = if r.count == 1 {
            io.tun
                .send_vectored(&[IoSlice::new(&vnet), IoSlice::new(first)])
        } else {
            let last = packets[r.start + r.count - 1];
            gro::merged_header(first, last, r, &mut header);
            VirtioNetHdr {
                flags: F_NEEDS_CSUM,
                gso_type: VIRTIO_NET_HDR_GSO_TCPV4,
                hdr_len: r.header_len as u16,
                gso_size: r.segment as u16,
                csum_start: 20,
                csum_offset: 16,
            }
            .encode(&mut vnet)?;
            let mut iov = Vec::with_capacity(r.count + 2);
            iov.push(IoSlice::new(&vnet));
            iov.push(IoSlice::new(&header[..r.header_len]));
            iov.extend(
                packets[r.start..r.start + r.count]
                    .iter()
                    .map(|p| IoSlice::new(&p[r.header_len..])),
            );
            io.tun.send_vectored(&iov)
        };
        if let Err(e) = written {
            result = Err(e);
        }
    }
    result
}
