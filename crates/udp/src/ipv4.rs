//! Just enough IPv4 header parsing to route and validate a packet: version, header length,
//! total length, source and destination. Never trusts a length field.

use std::net::Ipv4Addr;

/// Minimum IPv4 header.
pub const MIN_HEADER: usize = 20;
const SRC: usize = 12;
const DST: usize = 16;
const TOTAL_LEN: usize = 2;

/// The fields the core needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Info {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub total_len: usize,
}

/// Why an inner packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ipv4Error {
    Short,
    NotIpv4,
    BadHeaderLength,
    /// The total-length field disagrees with the bytes received.
    BadTotalLength,
}

/// Parses and checks an IPv4 packet that should fill `pkt` exactly.
pub fn parse(pkt: &[u8]) -> Result<Ipv4Info, Ipv4Error> {
    if pkt.len() < MIN_HEADER {
        return Err(Ipv4Error::Short);
    }
    if pkt[0] >> 4 != 4 {
        return Err(Ipv4Error::NotIpv4);
    }
    let ihl = usize::from(pkt[0] & 0x0f) * 4;
    if ihl < MIN_HEADER || ihl > pkt.len() {
        return Err(Ipv4Error::BadHeaderLength);
    }
    let total_len = usize::from(u16::from_be_bytes([pkt[TOTAL_LEN], pkt[TOTAL_LEN + 1]]));
    if total_len != pkt.len() || total_len < ihl {
        return Err(Ipv4Error::BadTotalLength);
    }
    let addr = |o: usize| Ipv4Addr::new(pkt[o], pkt[o + 1], pkt[o + 2], pkt[o + 3]);
    Ok(Ipv4Info {
        src: addr(SRC),
        dst: addr(DST),
        total_len,
    })
}

/// A minimal valid IPv4 packet (tests and tools): UDP protocol, no options, `payload` bytes.
pub fn build(src: Ipv4Addr, dst: Ipv4Addr, payload: usize) -> Vec<u8> {
    let total = MIN_HEADER + payload;
    let mut p = vec![0u8; total];
    p[0] = 0x45;
    p[TOTAL_LEN..TOTAL_LEN + 2].copy_from_slice(&(total as u16).to_be_bytes());
    p[8] = 64;
    p[9] = 17;
    p[SRC..SRC + 4].copy_from_slice(&src.octets());
    p[DST..DST + 4].copy_from_slice(&dst.octets());
    p
}
