//! Golden tests of the nf_tables netlink encoding.

use super::*;
use crate::model::L4;

fn pod() -> PodEntry {
    PodEntry {
        network: "podnet".into(),
        host_veth: "pnab".into(),
        mac: [0x0a, 0x58, 10, 244, 1, 2],
        ip: "10.244.1.2".parse().unwrap(),
        masquerade: false,
        cluster_cidr: "10.244.0.0/16".parse().unwrap(),
        host_ports: vec![HostPort {
            proto: L4::Tcp,
            host_ip: None,
            host_port: 18080,
            pod_port: 8080,
        }],
    }
}

#[test]
fn batch_frames_messages_and_sequences() {
    let (bytes, acked) = encode_batch(Change::Add, &pod(), 100);
    // begin + 4 sets (pod_ifnames, pod_ports, pods, hostports) + end
    assert_eq!(acked, vec![101, 102, 103, 104]);
    let mut off = 0;
    let mut kinds = Vec::new();
    while off < bytes.len() {
        let len = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        assert_eq!(len % 4, 0, "message lengths stay aligned");
        kinds.push(u16::from_ne_bytes(
            bytes[off + 4..off + 6].try_into().unwrap(),
        ));
        off += len;
    }
    assert_eq!(off, bytes.len());
    assert_eq!(kinds, vec![0x10, 0x0a0c, 0x0a0c, 0x0a0c, 0x0a0c, 0x11]);
}

#[test]
fn concatenated_keys_use_aligned_registers() {
    let sets = elements(&pod());
    let ports = sets.iter().find(|s| s.set == "pod_ports").unwrap();
    let key = &ports.elems[0].0;
    assert_eq!(key.len(), 16 + 8 + 4);
    assert_eq!(&key[..4], b"pnab");
    assert_eq!(&key[16..22], &[0x0a, 0x58, 10, 244, 1, 2]);
    assert_eq!(&key[24..28], &[10, 244, 1, 2]);
    let hp = sets.iter().find(|s| s.set == "hostports").unwrap();
    assert_eq!(hp.elems[0].0, vec![6, 0, 0, 0, 0x46, 0xa0, 0, 0]); // tcp . 18080
    match &hp.elems[0].1 {
        Some(Data::Value(v)) => assert_eq!(v, &vec![10, 244, 1, 2, 0x1f, 0x90, 0, 0]), // 10.244.1.2 . 8080
        _ => panic!("hostports needs data"),
    }
}

#[test]
fn removal_adds_then_deletes() {
    let (_, acked) = encode_batch(Change::Remove, &pod(), 0);
    assert_eq!(acked.len(), 8);
}

#[test]
fn parses_acks_and_errors() {
    // Two NLMSG_ERROR messages: seq 5 ok, seq 6 ENOENT (-2).
    let mut buf = Vec::new();
    for (seq, err) in [(5u32, 0i32), (6, -2)] {
        buf.extend_from_slice(&36u32.to_ne_bytes());
        buf.extend_from_slice(&2u16.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&err.to_ne_bytes());
        buf.extend_from_slice(&[0u8; 16]);
    }
    assert_eq!(parse_acks(&buf), vec![(5, 0), (6, 2)]);
    assert_eq!(parse_acks(&buf[..10]), vec![]);
}
