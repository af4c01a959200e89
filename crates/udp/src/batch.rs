//! Which datagrams of one TUN read go out together — one `sendmsg` with UDP GSO per run of
//! datagrams to the same node — and which wait for the next read. Pure: no I/O.
//!
//! A TCP super-packet from the TUN device makes more datagrams (46 of 1,472 bytes at the udp
//! backend's MTU) than one UDP GSO send may carry (64 KB: 44), so every read would go out as a
//! full send and a send of 2 — and each send crosses the whole network stack of both nodes. So a
//! short last run of full-length datagrams is held back; the shell lays the next read out right
//! behind it and plans again with the held datagrams in front. The shell sends held datagrams on
//! their own as soon as nothing more is queued on the TUN device.

use std::ops::Range;

/// Plans the sends for `dest` (one entry per datagram, in order: the node it goes to, or `None`
/// for a dropped one), at most `per_send` datagrams per send. Runs of consecutive datagrams to
/// one node go into `sends`. The last run is returned to be held back instead when
/// `may_hold` (the read was a super-packet, so more is likely queued behind it), `last_full`
/// (the last datagram is full-length, so more may follow it in one GSO send) and it is shorter
/// than `per_send`.
pub fn plan<A: Copy + Eq>(
    dest: &[Option<A>],
    per_send: usize,
    last_full: bool,
    may_hold: bool,
    sends: &mut Vec<(A, Range<usize>)>,
) -> Option<(A, Range<usize>)> {
    sends.clear();
    let per_send = per_send.max(1);
    let mut i = 0;
    while i < dest.len() {
        let Some(to) = dest[i] else {
            i += 1;
            continue;
        };
        let mut j = i + 1;
        while j < dest.len() && j - i < per_send && dest[j] == Some(to) {
            j += 1;
        }
        if j == dest.len() && j - i < per_send && last_full && may_hold {
            return Some((to, i..j));
        }
        sends.push((to, i..j));
        i = j;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_of_46_go_out_as_sends_of_44_with_the_rest_held() {
        let mut sends = Vec::new();
        let mut held = 0;
        let mut total_sends = 0;
        for _ in 0..22 {
            let dest = vec![Some('b'); held + 46];
            let h = plan(&dest, 44, true, true, &mut sends);
            assert!(sends.iter().all(|(to, r)| *to == 'b' && r.len() == 44));
            total_sends += sends.len();
            held = h.map_or(0, |(_, r)| {
                assert_eq!(r.end, dest.len(), "only the tail is held");
                r.len()
            });
        }
        // 22 reads × 46 datagrams: 23 full sends, nothing left over (without holding: 44).
        assert_eq!((total_sends, held), (23, 0));
    }

    #[test]
    fn holds_only_a_short_full_length_tail_of_a_super_packet() {
        let mut sends = Vec::new();
        let dest = vec![Some(1); 46];
        // The last datagram is short (the end of the data): it cannot be followed; send all.
        assert_eq!(plan(&dest, 44, false, true, &mut sends), None);
        assert_eq!(sends, vec![(1, 0..44), (1, 44..46)]);
        // A lone packet (an ACK, say) is never held.
        assert_eq!(plan(&[Some(1)], 44, true, false, &mut sends), None);
        assert_eq!(sends, vec![(1, 0..1)]);
        // A tail exactly `per_send` long goes out.
        assert_eq!(plan(&vec![Some(1); 88], 44, true, true, &mut sends), None);
        assert_eq!(sends.len(), 2);
        // Without GSO (one datagram per send) nothing is ever held.
        assert_eq!(plan(&[Some(1); 3], 1, true, true, &mut sends), None);
        assert_eq!(sends.len(), 3);
    }

    #[test]
    fn runs_break_at_another_node_and_skip_dropped_datagrams() {
        let mut sends = Vec::new();
        let dest = [Some(1), Some(1), None, Some(1), Some(2), Some(2)];
        let held = plan(&dest, 44, true, true, &mut sends);
        assert_eq!(sends, vec![(1, 0..2), (1, 3..4)]);
        assert_eq!(held, Some((2, 4..6)));
        // A dropped last datagram: the run before it is not the tail, so it is sent.
        let dest = [Some(1), Some(1), None];
        assert_eq!(plan(&dest, 44, true, true, &mut sends), None);
        assert_eq!(sends, vec![(1, 0..2)]);
    }
}
