//! Fuzzes the receive-side coalescer (`podnet_udp::gro`) on arbitrary inner packets: no panic,
//! every packet in exactly one run, a run's members share one header length and stay within
//! one IPv4 packet, and the merged header is well formed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use podnet_udp::gro::{merged_header, runs};

fuzz_target!(|data: &[u8]| {
    // Packets: each prefixed by a length byte pair.
    let mut packets: Vec<&[u8]> = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let n = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % 2048;
        rest = &rest[2..];
        let n = n.min(rest.len());
        packets.push(&rest[..n]);
        rest = &rest[n..];
    }
    let mut out = Vec::new();
    runs(&packets, &mut out);
    let mut next = 0;
    for r in &out {
        assert_eq!(r.start, next, "runs are contiguous and in order");
        assert!(r.count >= 1);
        next += r.count;
        if r.count > 1 {
            assert!(r.header_len + r.payload <= 65_535);
            let members = &packets[r.start..r.start + r.count];
            assert!(members.iter().all(|p| p.len() > r.header_len));
            let sum: usize = members.iter().map(|p| p.len() - r.header_len).sum();
            assert_eq!(sum, r.payload);
            let mut h = [0u8; 80];
            merged_header(members[0], members[r.count - 1], r, &mut h);
            assert_eq!(
                usize::from(u16::from_be_bytes([h[2], h[3]])),
                r.header_len + r.payload
            );
        }
    }
    assert_eq!(next, packets.len(), "every packet in exactly one run");
});
