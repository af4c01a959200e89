//! Re-coalescing received TCP segments into super-packets for the TUN device — the receive half
//! of the kernel's GSO, done in userspace because the segments arrived as separate datagrams.
//!
//! [`runs`] walks the accepted inner packets in arrival order and groups the ones the kernel's
//! own GRO would merge: IPv4 without options or fragmentation, TCP with payload, only ACK (and
//! PSH on the last one), same addresses, ports, TOS, TTL, DF, acknowledgement, window and TCP
//! options, sequence numbers back to back, every segment but the last exactly as long as the
//! first. [`merged_header`] gives the IP and TCP header of a run's super-packet; the I/O shell
//! writes `[virtio-net header][merged header][payload 1][payload 2]…` with one `writev`, so no
//! payload byte is copied in userspace. Pure: no I/O.

/// TCP flags that may appear in a merged run.
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const IPV4_HEADER: usize = 20;
/// The largest IPv4 packet.
const MAX_TOTAL: usize = 65_535;

/// What [`runs`] needs to know about one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Tcp {
    header_len: usize,
    payload: usize,
    seq: u32,
    flags: u8,
}

fn tcp(p: &[u8]) -> Option<Tcp> {
    if p.len() < IPV4_HEADER + 20 || p[0] != 0x45 || p[9] != 6 {
        return None;
    }
    // More-fragments or a fragment offset: never merged.
    if u16::from_be_bytes([p[6], p[7]]) & 0x3fff != 0 {
        return None;
    }
    if usize::from(u16::from_be_bytes([p[2], p[3]])) != p.len() {
        return None;
    }
    let header_len = usize::from(p[32] >> 4) * 4;
    if header_len < 20 || IPV4_HEADER + header_len >= p.len() {
        return None;
    }
    let flags = p[33];
    if flags & !(ACK | PSH) != 0 || flags & ACK == 0 {
        return None;
    }
    Some(Tcp {
        header_len,
        payload: p.len() - IPV4_HEADER - header_len,
        seq: u32::from_be_bytes([p[24], p[25], p[26], p[27]]),
        flags,
    })
}

/// Whether `b` continues `a` (already known to be mergeable segments).
fn continues(a: &[u8], ta: &Tcp, b: &[u8], tb: &Tcp) -> bool {
    let th = IPV4_HEADER;
    ta.flags & PSH == 0
        && tb.header_len == ta.header_len
        && a[1] == b[1]
        && a[6] & 0x40 == b[6] & 0x40
        && a[8] == b[8]
        && a[12..20] == b[12..20]
        && a[th..th + 4] == b[th..th + 4]
        && a[th + 8..th + 12] == b[th + 8..th + 12]
        && a[th + 14..th + 16] == b[th + 14..th + 16]
        && a[th + 20..th + ta.header_len] == b[th + 20..th + tb.header_len]
        && tb.seq == ta.seq.wrapping_add(ta.payload as u32)
}

/// A group of consecutive packets to write as one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Index of the first packet and how many follow it (1 = write the packet as it is).
    pub start: usize,
    pub count: usize,
    /// IP + TCP header length of every member.
    pub header_len: usize,
    /// Payload bytes of each member but the last (the GSO segment size).
    pub segment: usize,
    /// Payload bytes of the whole run.
    pub payload: usize,
}

/// Groups `packets` (inner IPv4 packets, in arrival order) into runs.
pub fn runs<P: AsRef<[u8]>>(packets: &[P], out: &mut Vec<Run>) {
    out.clear();
    let mut i = 0;
    while i < packets.len() {
        let a = packets[i].as_ref();
        let Some(first) = tcp(a) else {
            out.push(Run {
                start: i,
                count: 1,
                header_len: 0,
                segment: 0,
                payload: 0,
            });
            i += 1;
            continue;
        };
        let header_len = IPV4_HEADER + first.header_len;
        let (mut prev, mut prev_t, mut payload, mut j) = (a, first, first.payload, i + 1);
        while j < packets.len() {
            let b = packets[j].as_ref();
            let Some(t) = tcp(b) else { break };
            // Every member but the last is exactly `segment` long: a shorter one ends the run.
            if prev_t.payload != first.payload
                || t.payload > first.payload
                || header_len + payload + t.payload > MAX_TOTAL
                || !continues(prev, &prev_t, b, &t)
            {
                break;
            }
            payload += t.payload;
            (prev, prev_t) = (b, t);
            j += 1;
        }
        out.push(Run {
            start: i,
            count: j - i,
            header_len,
            segment: first.payload,
            payload,
        });
        i = j;
    }
}

fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum >> 16) + (sum & 0xffff);
    }
    sum as u16
}

fn sum16(b: &[u8]) -> u64 {
    b.chunks(2)
        .map(|c| u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum()
}

/// The IP + TCP header of a run's super-packet, written into `out[..run.header_len]`: the
/// first member's header with the total length, the IP checksum and PSH (if the last member
/// had it) fixed, and the TCP checksum field holding the pseudo-header sum, as the kernel
/// expects for a packet whose checksum is still to be completed (`VIRTIO_NET_HDR_F_NEEDS_CSUM`,
/// `csum_start` 20, `csum_offset` 16).
pub fn merged_header(first: &[u8], last: &[u8], run: &Run, out: &mut [u8]) {
    let h = run.header_len;
    out[..h].copy_from_slice(&first[..h]);
    let total = h + run.payload;
    out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    out[10..12].copy_from_slice(&[0, 0]);
    let ip_sum = !fold(sum16(&out[..IPV4_HEADER]));
    out[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    out[IPV4_HEADER + 13] |= last.get(IPV4_HEADER + 13).copied().unwrap_or(0) & PSH;
    let tcp_len = (total - IPV4_HEADER) as u64;
    let pseudo = sum16(&out[12..20]) + 6 + tcp_len;
    out[IPV4_HEADER + 16..IPV4_HEADER + 18].copy_from_slice(&fold(pseudo).to_be_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A TCP segment 10.0.0.1:1000 → 10.0.0.2:2000 with a 12-byte option block (timestamps).
    fn seg(seq: u32, payload: usize, flags: u8) -> Vec<u8> {
        let (th, total) = (32usize, 20 + 32 + payload);
        let mut p = vec![0u8; total];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        p[20..22].copy_from_slice(&1000u16.to_be_bytes());
        p[22..24].copy_from_slice(&2000u16.to_be_bytes());
        p[24..28].copy_from_slice(&seq.to_be_bytes());
        p[28..32].copy_from_slice(&77u32.to_be_bytes());
        p[32] = ((th / 4) as u8) << 4;
        p[33] = flags;
        p[34..36].copy_from_slice(&500u16.to_be_bytes());
        p[40..52].copy_from_slice(&[1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 3]);
        for (i, b) in p[52..].iter_mut().enumerate() {
            *b = (seq as usize + i) as u8;
        }
        p
    }

    fn counts(pkts: &[Vec<u8>]) -> Vec<usize> {
        let mut out = Vec::new();
        runs(pkts, &mut out);
        out.iter().map(|r| r.count).collect()
    }

    #[test]
    fn back_to_back_segments_merge_and_a_short_one_ends_the_run() {
        let p = vec![
            seg(1000, 100, ACK),
            seg(1100, 100, ACK),
            seg(1200, 60, ACK),
            seg(1260, 100, ACK),
        ];
        let mut out = Vec::new();
        runs(&p, &mut out);
        assert_eq!(out.iter().map(|r| r.count).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!(
            (out[0].segment, out[0].payload, out[0].header_len),
            (100, 260, 52)
        );
    }

    #[test]
    fn what_must_not_merge_does_not() {
        // A gap in the sequence.
        assert_eq!(
            counts(&[seg(1000, 100, ACK), seg(1101, 100, ACK)]),
            vec![1, 1]
        );
        // PSH ends a run (it may be on the last member).
        assert_eq!(
            counts(&[seg(1000, 100, ACK | PSH), seg(1100, 100, ACK)]),
            vec![1, 1]
        );
        assert_eq!(
            counts(&[seg(1000, 100, ACK), seg(1100, 100, ACK | PSH)]),
            vec![2]
        );
        // SYN, FIN, RST, URG: never.
        for f in [0x02, 0x01, 0x04, 0x20] {
            assert_eq!(
                counts(&[seg(1000, 100, ACK | f), seg(1100, 100, ACK)]),
                vec![1, 1]
            );
        }
        // A follower that differs in ack, window, options, TTL, address or port.
        for (at, value) in [(28, 9), (35, 1), (47, 1), (8, 3), (19, 3), (21, 3)] {
            let mut b = seg(1100, 100, ACK);
            b[at] = value;
            assert_eq!(counts(&[seg(1000, 100, ACK), b]), vec![1, 1], "byte {at}");
        }
        // No payload; a longer follower.
        assert_eq!(counts(&[seg(1000, 0, ACK), seg(1000, 0, ACK)]), vec![1, 1]);
        assert_eq!(
            counts(&[seg(1000, 100, ACK), seg(1100, 101, ACK)]),
            vec![1, 1]
        );
        // Fragments and non-TCP.
        let mut a = seg(1000, 100, ACK);
        a[6] = 0x20;
        assert_eq!(counts(&[a, seg(1100, 100, ACK)]), vec![1, 1]);
        let mut a = seg(1000, 100, ACK);
        a[9] = 17;
        assert_eq!(counts(&[a, seg(1100, 100, ACK)]), vec![1, 1]);
    }

    #[test]
    fn a_run_stays_within_one_ip_packet() {
        let p: Vec<Vec<u8>> = (0..60).map(|i| seg(i * 1400, 1400, ACK)).collect();
        let mut out = Vec::new();
        runs(&p, &mut out);
        assert!(out.iter().all(|r| r.header_len + r.payload <= 65_535));
        assert_eq!(out.iter().map(|r| r.count).sum::<usize>(), 60);
        assert_eq!(out[0].count, 46);
    }

    #[test]
    fn merged_header_is_the_header_of_the_whole_packet() {
        let p = vec![
            seg(1000, 100, ACK),
            seg(1100, 100, ACK),
            seg(1200, 40, ACK | PSH),
        ];
        let mut out = Vec::new();
        runs(&p, &mut out);
        let r = out[0];
        let mut h = [0u8; 80];
        merged_header(&p[0], &p[2], &r, &mut h);
        let h = &h[..r.header_len];
        assert_eq!(u16::from_be_bytes([h[2], h[3]]), 52 + 240);
        assert_eq!(fold(sum16(&h[..20])), 0xffff, "IP checksum verifies");
        assert_eq!(h[33], ACK | PSH);
        assert_eq!(&h[24..28], &1000u32.to_be_bytes());
        // The pseudo-header sum plus the whole segment's sum is the full TCP checksum.
        let mut whole = h[20..].to_vec();
        for q in &p {
            whole.extend_from_slice(&q[52..]);
        }
        let partial = u16::from_be_bytes([h[36], h[37]]);
        whole[16..18].copy_from_slice(&[0, 0]);
        let full = !fold(sum16(&whole) + u64::from(partial));
        let mut check = whole.clone();
        check[16..18].copy_from_slice(&full.to_be_bytes());
        let pseudo = sum16(&h[12..20]) + 6 + check.len() as u64;
        assert_eq!(
            fold(sum16(&check) + pseudo),
            0xffff,
            "TCP checksum completes"
        );
    }
}
