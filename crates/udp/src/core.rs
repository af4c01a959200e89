//! The decisions. [`Tunnel::encapsulate`] takes a packet read from the TUN device and names the
//! node to send it to; [`Tunnel::decapsulate`] takes a datagram from the network and either hands
//! back the inner packet for the TUN device or drops it, counting why.

use std::net::SocketAddrV4;

use ipnet::Ipv4Net;

use crate::header::{Header, HEADER_LEN};
use crate::ipv4::{self, Ipv4Error};

/// Another node: where its datagrams come from and go to, and the subnet it leased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub node: String,
    pub underlay: SocketAddrV4,
    pub subnet: Ipv4Net,
}

/// What to do with a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send `header` followed by the packet, as one datagram, to this node.
    SendTo {
        to: SocketAddrV4,
        header: [u8; HEADER_LEN],
    },
    /// Write these bytes (the inner packet) to the TUN device.
    WriteToTun(&'a [u8]),
    Drop(DropReason),
}

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// From the TUN device: no node leases the destination's subnet.
    NoRoute,
    /// From the network: the outer source is not a cluster node.
    UnknownSender,
    /// Not podnet's header (magic, version, flags) or shorter than it.
    BadHeader,
    /// The inner packet is not a well-formed IPv4 packet whose lengths match what arrived.
    BadInnerPacket,
    /// The inner source is neither in the sending node's leased subnet nor the node's own address.
    SpoofedSource,
    /// The inner destination is not in this node's subnet.
    NotForThisNode,
}

impl DropReason {
    pub const ALL: [DropReason; 6] = [
        DropReason::NoRoute,
        DropReason::UnknownSender,
        DropReason::BadHeader,
        DropReason::BadInnerPacket,
        DropReason::SpoofedSource,
        DropReason::NotForThisNode,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::NoRoute => "no_route",
            DropReason::UnknownSender => "unknown_sender",
            DropReason::BadHeader => "bad_header",
            DropReason::BadInnerPacket => "bad_inner_packet",
            DropReason::SpoofedSource => "spoofed_source",
            DropReason::NotForThisNode => "not_for_this_node",
        }
    }

    fn index(self) -> usize {
        DropReason::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }
}

/// Drop counters, one per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drops([u64; DropReason::ALL.len()]);

impl Drops {
    pub fn get(&self, r: DropReason) -> u64 {
        self.0[r.index()]
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    fn count(&mut self, r: DropReason) {
        self.0[r.index()] += 1;
    }
}

/// One node's view of the tunnel mesh.
#[derive(Debug, Clone)]
pub struct Tunnel {
    local_subnet: Ipv4Net,
    peers: Vec<Peer>,
    drops: Drops,
}

impl Tunnel {
    pub fn new(local_subnet: Ipv4Net, peers: Vec<Peer>) -> Self {
        Tunnel {
            local_subnet,
            peers,
            drops: Drops::default(),
        }
    }

    /// Replaces the peer table (the agent calls this when leases change).
    pub fn set_peers(&mut self, peers: Vec<Peer>) {
        self.peers = peers;
    }

    pub fn drops(&self) -> &Drops {
        &self.drops
    }

    fn drop<'a>(&mut self, r: DropReason) -> Action<'a> {
        self.drops.count(r);
        Action::Drop(r)
    }

    /// A packet read from the TUN device: which node gets it.
    pub fn encapsulate<'a>(&mut self, packet: &[u8]) -> Action<'a> {
        let Ok(info) = ipv4::parse(packet) else {
            return self.drop(DropReason::BadInnerPacket);
        };
        match self.peers.iter().find(|p| p.subnet.contains(&info.dst)) {
            Some(p) => {
                let mut header = [0u8; HEADER_LEN];
                Header::CURRENT.write(&mut header);
                Action::SendTo {
                    to: p.underlay,
                    header,
                }
            }
            None => self.drop(DropReason::NoRoute),
        }
    }

    /// A datagram received from `from`: the inner packet for the TUN device, or a drop.
    pub fn decapsulate<'a>(&mut self, from: SocketAddrV4, datagram: &'a [u8]) -> Action<'a> {
        let Some(peer) = self.peers.iter().find(|p| p.underlay.ip() == from.ip()) else {
            return self.drop(DropReason::UnknownSender);
        };
        let (sender_subnet, sender_ip) = (peer.subnet, *peer.underlay.ip());
        if Header::parse(datagram).is_err() {
            return self.drop(DropReason::BadHeader);
        }
        let inner = &datagram[HEADER_LEN..];
        let info = match ipv4::parse(inner) {
            Ok(i) => i,
            Err(
                Ipv4Error::Short
                | Ipv4Error::NotIpv4
                | Ipv4Error::BadHeaderLength
                | Ipv4Error::BadTotalLength,
            ) => {
                return self.drop(DropReason::BadInnerPacket);
            }
        };
        // A node sends from its pods' subnet, or from its own address (replies to pods).
        if !sender_subnet.contains(&info.src) && info.src != sender_ip {
            return self.drop(DropReason::SpoofedSource);
        }
        if !self.local_subnet.contains(&info.dst) {
            return self.drop(DropReason::NotForThisNode);
        }
        Action::WriteToTun(inner)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
