//! Lease cases: keys, claims, and untrusted records refused with a reason.

use super::*;

fn cfg() -> SubnetConfig {
    SubnetConfig {
        cluster: "10.244.0.0/22".parse().unwrap(),
        subnet_len: 24,
    }
}

fn rec(node: &str) -> LeaseRecord {
    LeaseRecord {
        node: node.into(),
        public_ip: "198.18.0.10".parse().unwrap(),
        backend: "vxlan".into(),
        vtep_mac: None,
    }
}

#[test]
fn keys_round_trip_and_refuse_garbage() {
    let n: Ipv4Net = "10.244.3.0/24".parse().unwrap();
    assert_eq!(subnet_key(n), "/podnet/subnets/10.244.3.0-24");
    assert_eq!(parse_key(&subnet_key(n)), Some(n));
    for bad in [
        "/podnet/subnets/10.244.3.1-24",
        "/podnet/subnets/x-24",
        "/other/10.0.0.0-24",
        "/podnet/subnets/10.0.0.0-33",
        "/podnet/subnets/$(reboot)",
    ] {
        assert_eq!(parse_key(bad), None, "{bad}");
    }
}

#[test]
fn adopts_its_own_lease_after_restart() {
    let existing = vec![Existing {
        subnet: "10.244.2.0/24".parse().unwrap(),
        record: rec("n1"),
        revision: 7,
    }];
    assert_eq!(
        plan_claim(&cfg(), "n1", None, &existing),
        ClaimPlan::Adopt {
            subnet: "10.244.2.0/24".parse().unwrap(),
            revision: 7
        }
    );
}

#[test]
fn prefers_its_old_subnet_then_free_ones() {
    let existing = vec![Existing {
        subnet: "10.244.0.0/24".parse().unwrap(),
        record: rec("other"),
        revision: 1,
    }];
    let ClaimPlan::Create(order) = plan_claim(
        &cfg(),
        "n1",
        Some("10.244.3.0/24".parse().unwrap()),
        &existing,
    ) else {
        panic!("expected create");
    };
    assert_eq!(order[0], "10.244.3.0/24".parse::<Ipv4Net>().unwrap());
    assert_eq!(order.len(), 3);
    assert!(!order.contains(&"10.244.0.0/24".parse().unwrap()));
}

#[test]
fn a_taken_preference_is_skipped() {
    let existing = vec![Existing {
        subnet: "10.244.3.0/24".parse().unwrap(),
        record: rec("other"),
        revision: 1,
    }];
    let ClaimPlan::Create(order) = plan_claim(
        &cfg(),
        "n1",
        Some("10.244.3.0/24".parse().unwrap()),
        &existing,
    ) else {
        panic!("expected create");
    };
    assert!(!order.contains(&"10.244.3.0/24".parse().unwrap()));
}

fn entry(subnet: &str, json: &str, rev: i64) -> (String, String, i64) {
    (format!("{SUBNETS_PREFIX}{subnet}"), json.to_string(), rev)
}

#[test]
fn untrusted_leases_are_refused_with_a_reason() {
    let cfg = cfg();
    let good =
        r#"{"node":"n1","publicIp":"198.18.0.11","backend":"vxlan","vtepMac":"0e:00:00:00:00:01"}"#;
    let table: Vec<((String, String, i64), &str)> = vec![
        (entry("0.0.0.0-0", good, 1), "is not a /24"),
        (entry("10.244.0.0-16", good, 1), "is not a /24"),
        (entry("10.245.0.0-24", good, 1), "is not a /24"),
        (entry("10.244.0.0-25", good, 1), "is not a /24"),
        (entry("10.244.0.1-24", good, 1), "malformed key"),
        (entry("garbage", good, 1), "malformed key"),
        (entry("10.244.1.0-24", "not json", 1), "malformed record"),
        (
            entry("10.244.1.0-24", r#"{"node":"n1"}"#, 1),
            "malformed record",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"N_1","publicIp":"198.18.0.11","backend":"x"}"#,
                1,
            ),
            "DNS-1123",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"","publicIp":"198.18.0.11","backend":"x"}"#,
                1,
            ),
            "DNS-1123",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"0.0.0.0","backend":"x"}"#,
                1,
            ),
            "usable underlay",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"127.0.0.1","backend":"x"}"#,
                1,
            ),
            "usable underlay",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"224.0.0.1","backend":"x"}"#,
                1,
            ),
            "usable underlay",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"255.255.255.255","backend":"x"}"#,
                1,
            ),
            "usable underlay",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"10.244.2.7","backend":"x"}"#,
                1,
            ),
            "usable underlay",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"198.18.0.11","backend":"x","vtepMac":"zz"}"#,
                1,
            ),
            "unicast MAC",
        ),
        (
            entry(
                "10.244.1.0-24",
                r#"{"node":"n1","publicIp":"198.18.0.11","backend":"x","vtepMac":"01:00:5e:00:00:01"}"#,
                1,
            ),
            "unicast MAC",
        ),
    ];
    for ((k, v, r), want) in &table {
        let set = validate_leases(&cfg, [(k.as_str(), v.as_str(), *r)]);
        assert!(set.accepted.is_empty(), "{k} {v} was accepted");
        assert!(
            set.refused.len() == 1 && set.refused[0].reason.contains(want),
            "{k} {v}: {:?}",
            set.refused
        );
    }
    let ok = entry("10.244.1.0-24", good, 1);
    let set = validate_leases(&cfg, [(ok.0.as_str(), ok.1.as_str(), ok.2)]);
    assert_eq!(set.accepted.len(), 1, "{:?}", set.refused);
}

#[test]
fn a_later_lease_cannot_take_a_node_name_or_address() {
    let cfg = cfg();
    let a = entry(
        "10.244.1.0-24",
        r#"{"node":"n1","publicIp":"198.18.0.11","backend":"x"}"#,
        5,
    );
    let same_node = entry(
        "10.244.2.0-24",
        r#"{"node":"n1","publicIp":"198.18.0.12","backend":"x"}"#,
        9,
    );
    let same_ip = entry(
        "10.244.3.0-24",
        r#"{"node":"n3","publicIp":"198.18.0.11","backend":"x"}"#,
        7,
    );
    let set = validate_leases(
        &cfg,
        [&same_node, &a, &same_ip].map(|(k, v, r)| (k.as_str(), v.as_str(), *r)),
    );
    assert_eq!(set.accepted.len(), 1);
    assert_eq!(set.accepted[0].record.node, "n1");
    assert_eq!(set.accepted[0].subnet.to_string(), "10.244.1.0/24");
    assert_eq!(set.refused.len(), 2, "{:?}", set.refused);
}

#[test]
fn node_names_are_dns_1123_subdomains_with_host_name_labels() {
    for ok in [
        "n1",
        "node-1.lab",
        "a",
        &"a".repeat(63),
        &format!("{}.b", "a".repeat(63)),
        &["a"; 127].join("."),
    ] {
        assert!(valid_node_name(ok), "{ok}");
    }
    for bad in [
        "",
        "N1",
        "n_1",
        "-n1",
        "n1-",
        ".n1",
        "n1.",
        "a..b",
        &"a".repeat(64),
        &format!("{}.b", "a".repeat(64)),
        &["a"; 128].join("."),
    ] {
        assert!(!valid_node_name(bad), "{bad}");
    }
}

#[test]
fn macs_parse_strictly() {
    assert_eq!(
        parse_mac("0e:00:00:00:00:0a"),
        Some([0x0e, 0, 0, 0, 0, 0x0a])
    );
    assert_eq!(parse_mac("0e:00:00:00:00"), None);
    assert_eq!(parse_mac("0e:00:00:00:00:00:01"), None);
    assert_eq!(parse_mac("0e:00:00:00:00:zz"), None);
    assert_eq!(parse_mac(""), None);
}
