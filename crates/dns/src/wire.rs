//! The few wire facts the core needs before (or instead of) a full parse: the 12-byte header
//! (RFC 1035 §4.1.1), header-only error replies, the UDP size limits, and fitting an encoded
//! reply into a limit by truncating it (TC, RFC 2181 §9).
//!
//! Header-only replies are written by hand so a packet hickory cannot decode still gets its
//! FORMERR with the right id.

use hickory_proto::op::{Edns, Message};

/// The length of the DNS header.
pub const HEADER_LEN: usize = 12;
/// The largest UDP reply to a client that did not send EDNS (RFC 1035 §2.3.4).
pub const CLASSIC_UDP_LIMIT: usize = 512;
/// The UDP payload podnet advertises and accepts at most (the DNS Flag Day 2020 value, which
/// avoids IP fragmentation on common paths).
pub const EDNS_UDP_PAYLOAD: u16 = 1232;
/// The largest message over TCP: the length prefix is 16 bits (RFC 7766 §8).
pub const TCP_LIMIT: usize = 65_535;

/// The QR bit (a response) in the header's flags word.
pub(crate) const FLAG_QR: u16 = 0x8000;
/// Where the 4-bit opcode sits in the flags word.
pub(crate) const OPCODE_SHIFT: u16 = 11;
pub(crate) const OPCODE_MASK: u16 = 0x0f;
/// The RD bit (recursion desired), echoed in replies.
pub(crate) const FLAG_RD: u16 = 0x0100;
/// The RA bit (recursion available): podnet forwards, so it is set in every reply.
pub(crate) const FLAG_RA: u16 = 0x0080;
/// RCODE values used in header-only replies (RFC 1035 §4.1.1).
pub(crate) const RCODE_FORMERR: u16 = 1;
pub(crate) const RCODE_SERVFAIL: u16 = 2;
pub(crate) const RCODE_NOTIMP: u16 = 4;

/// The transport a query came in on; it bounds the reply's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// A datagram: 512 bytes, or the client's EDNS payload up to [`EDNS_UDP_PAYLOAD`].
    Udp,
    /// A length-prefixed stream (RFC 7766): up to 64 KiB.
    Tcp,
}

impl Transport {
    /// The largest reply to a client that sent `edns` (or none) on this transport.
    pub(crate) fn reply_limit(self, edns: Option<&Edns>) -> usize {
        match (self, edns) {
            (Transport::Tcp, _) => TCP_LIMIT,
            (Transport::Udp, None) => CLASSIC_UDP_LIMIT,
            (Transport::Udp, Some(edns)) => {
                usize::from(edns.max_payload().min(EDNS_UDP_PAYLOAD)).max(CLASSIC_UDP_LIMIT)
            }
        }
    }
}

/// The id and flags word of a message at least [`HEADER_LEN`] long.
pub(crate) fn id_and_flags(bytes: &[u8]) -> Option<(u16, u16)> {
    if bytes.len() < HEADER_LEN {
        return None;
    }
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    let flags = u16::from_be_bytes([bytes[2], bytes[3]]);
    Some((id, flags))
}

/// A reply of only a header: the query's id, opcode and RD bit, QR and RA set, `rcode`, no
/// records.
pub(crate) fn header_reply(id: u16, query_flags: u16, rcode: u16) -> Vec<u8> {
    let opcode = query_flags & (OPCODE_MASK << OPCODE_SHIFT);
    let flags = FLAG_QR | opcode | (query_flags & FLAG_RD) | FLAG_RA | (rcode & 0x0f);
    let mut bytes = Vec::with_capacity(HEADER_LEN);
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(&flags.to_be_bytes());
    bytes.extend_from_slice(&[0; HEADER_LEN - 4]);
    bytes
}

/// `message` encoded in at most `limit` bytes: whole if it fits, else its header, question and
/// OPT with TC set so the client retries over TCP. A message that cannot be encoded at all
/// becomes a header-only SERVFAIL.
pub(crate) fn encode_within(message: &Message, limit: usize) -> Vec<u8> {
    match message.to_vec() {
        Ok(bytes) if bytes.len() <= limit => bytes,
        Ok(_) => match message.truncate().to_vec() {
            Ok(bytes) if bytes.len() <= limit => bytes,
            _ => servfail_of(message),
        },
        Err(_) => servfail_of(message),
    }
}

fn servfail_of(message: &Message) -> Vec<u8> {
    let opcode = u16::from(u8::from(message.metadata.op_code)) << OPCODE_SHIFT;
    let rd = if message.metadata.recursion_desired {
        FLAG_RD
    } else {
        0
    };
    header_reply(message.metadata.id, opcode | rd, RCODE_SERVFAIL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_reply_echoes_id_opcode_rd() {
        // id 0xabcd, opcode 2 (STATUS), RD set.
        let flags = (2 << OPCODE_SHIFT) | FLAG_RD;
        let reply = header_reply(0xabcd, flags, RCODE_NOTIMP);
        assert_eq!(
            reply,
            [0xab, 0xcd, 0x91, 0x84, 0, 0, 0, 0, 0, 0, 0, 0],
            "QR|opcode 2|RD, RA|NOTIMP"
        );
    }

    #[test]
    fn limits() {
        let mut edns = Edns::new();
        edns.set_max_payload(4096);
        assert_eq!(Transport::Udp.reply_limit(None), 512);
        assert_eq!(Transport::Udp.reply_limit(Some(&edns)), 1232);
        edns.set_max_payload(100);
        assert_eq!(Transport::Udp.reply_limit(Some(&edns)), 512);
        assert_eq!(Transport::Tcp.reply_limit(None), 65_535);
    }
}
