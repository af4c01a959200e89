//! Config decoding and validation cases.

use super::*;

fn parse(s: &str) -> Result<NetConf, CniError> {
    NetConf::parse(s.as_bytes())
}

const GOOD: &str = r#"{ "cniVersion": "1.1.0", "name": "podnet", "type": "podnet",
  "bridge": "podnet0", "mtu": 1500, "ipMasq": true, "clusterCIDR": "10.244.0.0/16",
  "hairpinMode": false, "unknownKey": {"ignored": true},
  "ipam": { "subnet": "10.244.1.0/24", "gateway": "10.244.1.1", "dataDir": "/var/lib/podnet/ipam" },
  "runtimeConfig": { "portMappings": [ {"hostPort": 8080, "containerPort": 80, "protocol": "tcp"} ] } }"#;

#[test]
fn parses_the_documented_example() {
    let c = parse(GOOD).unwrap();
    assert_eq!(c.bridge, "podnet0");
    assert_eq!(c.port_mappings.len(), 1);
    assert!(matches!(
        c.ipam,
        IpamConf::BuiltIn {
            subnet: Some(_),
            ..
        }
    ));
}

#[test]
fn mode_is_bridge_or_routed() {
    assert_eq!(parse(GOOD).unwrap().mode, PodPath::Bridge);
    let routed = GOOD.replace(r#""mtu": 1500"#, r#""mode": "routed", "mtu": 1500"#);
    assert_eq!(parse(&routed).unwrap().mode, PodPath::Routed);
    let ebpf = GOOD.replace(r#""mtu": 1500"#, r#""mode": "ebpf", "mtu": 1500"#);
    assert_eq!(parse(&ebpf).unwrap().mode, PodPath::Ebpf);
    assert!(PodPath::Ebpf.is_routed() && !PodPath::Bridge.is_routed());
    let e =
        parse(&GOOD.replace(r#""mtu": 1500"#, r#""mode": "macvlan", "mtu": 1500"#)).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(e.msg.starts_with("mode: \"macvlan\""), "{}", e.msg);
}

#[test]
fn delegated_ipam() {
    let c =
        parse(r#"{"cniVersion":"1.0.0","name":"n","type":"podnet","ipam":{"type":"host-local"}}"#)
            .unwrap();
    assert_eq!(
        c.ipam,
        IpamConf::Delegated {
            plugin: "host-local".into()
        }
    );
}

#[test]
fn wrong_type_names_the_field() {
    let e = parse(r#"{"cniVersion":"1.1.0","name":"n","type":"podnet","mtu":"big","ipam":{}}"#)
        .unwrap_err();
    assert_eq!(e.code, ErrorCode::Decode);
    assert!(e.msg.contains("mtu"), "{}", e.msg);
    let e = parse(r#"{"cniVersion":"1.1.0","name":"n","type":"podnet","ipam":{"subnet":5}}"#)
        .unwrap_err();
    assert!(e.msg.contains("ipam.subnet"), "{}", e.msg);
}

#[test]
fn path_traversal_in_types() {
    let e = parse(
        r#"{"cniVersion":"1.1.0","name":"n","type":"podnet","ipam":{"type":"../../sbin/reboot"}}"#,
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidConfig);
    assert!(e.msg.contains("ipam.type"));
}

#[test]
fn gateway_outside_subnet() {
    let e = parse(r#"{"cniVersion":"1.1.0","name":"n","type":"podnet","ipam":{"subnet":"10.1.0.0/24","gateway":"10.2.0.1"}}"#).unwrap_err();
    assert!(e.msg.starts_with("ipam.gateway"), "{}", e.msg);
}
