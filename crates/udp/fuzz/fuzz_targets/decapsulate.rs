//! Fuzzes the udp backend's decoder: any datagram from any sender, and any packet from the TUN
//! device. It must never panic, and it may hand a packet to the TUN device only when every rule
//! holds: a known sender, podnet's header, a well-formed IPv4 packet filling the rest exactly,
//! the inner source in the sender's subnet (or the sender's own address), the inner destination
//! in this node's subnet.
#![no_main]

use std::net::{Ipv4Addr, SocketAddrV4};

use ipnet::Ipv4Net;
use libfuzzer_sys::fuzz_target;
use podnet_udp::{Action, Header, Peer, Tunnel, HEADER_LEN};

fn net(s: &str) -> Ipv4Net {
    s.parse().expect("fixed subnet")
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, datagram)) = data.split_first() else {
        return;
    };
    let peers = vec![
        Peer {
            node: "n2".into(),
            underlay: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 12), 8285),
            subnet: net("10.244.2.0/24"),
        },
        Peer {
            node: "n3".into(),
            underlay: SocketAddrV4::new(Ipv4Addr::new(198, 18, 0, 13), 8285),
            subnet: net("10.244.3.0/24"),
        },
    ];
    let local = net("10.244.1.0/24");
    let mut t = Tunnel::new(local, peers.clone());
    // The sender: one of the peers, or a stranger.
    let from = match pick % 3 {
        0 => peers[0].underlay,
        1 => peers[1].underlay,
        _ => SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, pick), 8285),
    };
    match t.decapsulate(from, datagram) {
        Action::WriteToTun(inner) => {
            let peer = peers
                .iter()
                .find(|p| p.underlay == from)
                .expect("delivered from an unknown sender");
            assert!(Header::parse(datagram).is_ok(), "delivered without a valid header");
            assert_eq!(inner.len() + HEADER_LEN, datagram.len());
            assert_eq!(inner[0] >> 4, 4, "delivered a non-IPv4 packet");
            let total = usize::from(u16::from_be_bytes([inner[2], inner[3]]));
            assert_eq!(total, inner.len(), "delivered with a lying length");
            let src = Ipv4Addr::new(inner[12], inner[13], inner[14], inner[15]);
            let dst = Ipv4Addr::new(inner[16], inner[17], inner[18], inner[19]);
            assert!(peer.subnet.contains(&src) || src == *peer.underlay.ip(), "spoofed source delivered");
            assert!(local.contains(&dst), "delivered a packet for another node");
        }
        Action::Drop(_) => assert_eq!(t.drops().total(), 1),
        Action::SendTo { .. } => panic!("decapsulate asked to send"),
    }
    // The other direction: whatever the TUN device hands over.
    match t.encapsulate(datagram) {
        Action::SendTo { to, .. } => assert!(peers.iter().any(|p| p.underlay == to)),
        Action::Drop(_) => {}
        Action::WriteToTun(_) => panic!("encapsulate asked to deliver"),
    }
});
