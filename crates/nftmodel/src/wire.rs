//! nf_tables netlink messages for a pod's set and map elements, as bytes. Pure: encoding and
//! parsing of acknowledgements only; [`crate::NftKernel`] sends them.
//!
//! One batch (`NFNL_MSG_BATCH_BEGIN` … `NFNL_MSG_BATCH_END`) holds one `NFT_MSG_NEWSETELEM` (and
//! for removal one `NFT_MSG_DELSETELEM`) per set, exactly what `nft -f` would send for the
//! script [`crate::render_elements`] renders; the kernel applies the batch atomically. Layouts
//! follow `include/uapi/linux/netfilter/nf_tables.h` and `nfnetlink.h`: concatenated keys put
//! each field in 4-byte-aligned registers (ifname 16 bytes, MAC 6+2, IPv4 4, proto 1+3, port
//! 2+2, all in network byte order).

use crate::model::{HostPort, PodEntry};
use crate::plugin::{masq_chain, TABLE};

const NLMSG_HDR_LEN: usize = 16;
const NFGENMSG_LEN: usize = 4;
const NLA_HDR_LEN: usize = 4;
const NLA_F_NESTED: u16 = 0x8000;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 0x2;

const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 0x10;
const NFNL_MSG_BATCH_END: u16 = 0x11;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;

const NFPROTO_IPV4: u8 = 2;
const NFPROTO_BRIDGE: u8 = 7;

const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NFTA_DATA_VERDICT: u16 = 2;
const NFTA_VERDICT_CODE: u16 = 1;
const NFTA_VERDICT_CHAIN: u16 = 2;
/// `NFT_JUMP` (-3) as the kernel's big-endian u32.
const NFT_JUMP: i32 = -3;

/// IFNAMSIZ: an `ifname` key field is 16 bytes, zero padded.
const IFNAME_LEN: usize = 16;
/// IPPROTO_* numbers of `inet_proto`.
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const IPPROTO_SCTP: u8 = 132;

/// Add the pod's elements, or remove them (added first, so removal succeeds when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
}

/// Element data of a map.
enum Data {
    Value(Vec<u8>),
    Jump(String),
}

struct SetElems {
    family: u8,
    set: &'static str,
    elems: Vec<(Vec<u8>, Option<Data>)>,
}

/// Appends `bytes` padded with zeros to a multiple of 4 (one register per field).
fn reg(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

fn ifname_key(name: &str) -> [u8; IFNAME_LEN] {
    let mut k = [0u8; IFNAME_LEN];
    let b = name.as_bytes();
    let n = b.len().min(IFNAME_LEN - 1);
    k[..n].copy_from_slice(&b[..n]);
    k
}

fn proto_num(hp: &HostPort) -> u8 {
    match hp.proto {
        crate::model::L4::Tcp => IPPROTO_TCP,
        crate::model::L4::Udp => IPPROTO_UDP,
        crate::model::L4::Sctp => IPPROTO_SCTP,
    }
}

/// The elements of one pod, per set, as key (and data) bytes.
fn elements(pod: &PodEntry) -> Vec<SetElems> {
    let ip = pod.ip.octets();
    let mut port_key = Vec::new();
    reg(&mut port_key, &ifname_key(&pod.host_veth));
    reg(&mut port_key, &pod.mac);
    reg(&mut port_key, &ip);
    let mut out = vec![
        SetElems {
            family: NFPROTO_BRIDGE,
            set: "pod_ifnames",
            elems: vec![(ifname_key(&pod.host_veth).to_vec(), None)],
        },
        SetElems {
            family: NFPROTO_BRIDGE,
            set: "pod_ports",
            elems: vec![(port_key, None)],
        },
        SetElems {
            family: NFPROTO_IPV4,
            set: "pods",
            elems: vec![(ip.to_vec(), None)],
        },
    ];
    if pod.masquerade {
        out.push(SetElems {
            family: NFPROTO_IPV4,
            set: "masq_src",
            elems: vec![(ip.to_vec(), Some(Data::Jump(masq_chain(&pod.network))))],
        });
    }
    let mut any = Vec::new();
    let mut by_ip = Vec::new();
    for hp in &pod.host_ports {
        let mut key = Vec::new();
        if let Some(h) = hp.host_ip {
            reg(&mut key, &h.octets());
        }
        reg(&mut key, &[proto_num(hp)]);
        reg(&mut key, &hp.host_port.to_be_bytes());
        let mut data = Vec::new();
        reg(&mut data, &ip);
        reg(&mut data, &hp.pod_port.to_be_bytes());
        let target = if hp.host_ip.is_some() {
            &mut by_ip
        } else {
            &mut any
        };
        target.push((key, Some(Data::Value(data))));
    }
    if !any.is_empty() {
        out.push(SetElems {
            family: NFPROTO_IPV4,
            set: "hostports",
            elems: any,
        });
    }
    if !by_ip.is_empty() {
        out.push(SetElems {
            family: NFPROTO_IPV4,
            set: "hostports_ip",
            elems: by_ip,
        });
    }
    out
}

/// Writes one attribute; returns nothing, pads to 4.
fn attr(out: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = (NLA_HDR_LEN + payload.len()) as u16;
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    reg(out, payload);
}

fn nested(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    body(&mut inner);
    attr(out, kind | NLA_F_NESTED, &inner);
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

fn message(
    out: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    body: &[u8],
) {
    let len = (NLMSG_HDR_LEN + NFGENMSG_LEN + body.len()) as u32;
    out.extend_from_slice(&len.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.push(family);
    out.push(0); // NFNETLINK_V0
    out.extend_from_slice(&res_id.to_be_bytes());
    out.extend_from_slice(body);
}

fn elem_list(s: &SetElems) -> Vec<u8> {
    let mut body = Vec::new();
    attr(&mut body, NFTA_SET_ELEM_LIST_TABLE, &cstr(TABLE));
    attr(&mut body, NFTA_SET_ELEM_LIST_SET, &cstr(s.set));
    nested(&mut body, NFTA_SET_ELEM_LIST_ELEMENTS, |list| {
        for (key, data) in &s.elems {
            nested(list, NFTA_LIST_ELEM, |e| {
                nested(e, NFTA_SET_ELEM_KEY, |k| attr(k, NFTA_DATA_VALUE, key));
                match data {
                    None => {}
                    Some(Data::Value(v)) => {
                        nested(e, NFTA_SET_ELEM_DATA, |d| attr(d, NFTA_DATA_VALUE, v))
                    }
                    Some(Data::Jump(chain)) => nested(e, NFTA_SET_ELEM_DATA, |d| {
                        nested(d, NFTA_DATA_VERDICT, |v| {
                            attr(v, NFTA_VERDICT_CODE, &NFT_JUMP.to_be_bytes());
                            attr(v, NFTA_VERDICT_CHAIN, &cstr(chain));
                        })
                    }),
                }
            });
        }
    });
    body
}

/// The batch for one pod, with sequence numbers from `seq`; returns the bytes and the sequence
/// numbers of the messages that will be acknowledged.
pub fn encode_batch(change: Change, pod: &PodEntry, seq: u32) -> (Vec<u8>, Vec<u32>) {
    let mut out = Vec::new();
    let mut acked = Vec::new();
    let mut s = seq;
    message(
        &mut out,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        s,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    let sets = elements(pod);
    let mut kinds = vec![(NFT_MSG_NEWSETELEM, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE)];
    if change == Change::Remove {
        kinds.push((NFT_MSG_DELSETELEM, NLM_F_REQUEST | NLM_F_ACK));
    }
    for (cmd, flags) in kinds {
        for set in &sets {
            s += 1;
            message(
                &mut out,
                (NFNL_SUBSYS_NFTABLES << 8) | cmd,
                flags,
                s,
                set.family,
                0,
                &elem_list(set),
            );
            acked.push(s);
        }
    }
    s += 1;
    message(
        &mut out,
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        s,
        0,
        NFNL_SUBSYS_NFTABLES,
        &[],
    );
    (out, acked)
}

/// Acknowledgements found in one datagram from the kernel: (sequence, errno; 0 = success).
pub fn parse_acks(buf: &[u8]) -> Vec<(u32, i32)> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + NLMSG_HDR_LEN <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        let seq = u32::from_ne_bytes([buf[off + 8], buf[off + 9], buf[off + 10], buf[off + 11]]);
        if len < NLMSG_HDR_LEN || off + len > buf.len() {
            break;
        }
        if kind == NLMSG_ERROR && len >= NLMSG_HDR_LEN + 4 {
            let p = off + NLMSG_HDR_LEN;
            let err = i32::from_ne_bytes([buf[p], buf[p + 1], buf[p + 2], buf[p + 3]]);
            out.push((seq, -err));
        }
        off += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
