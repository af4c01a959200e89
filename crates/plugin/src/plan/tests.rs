//! Planning cases: parameters, the ADD plan, the result.

use super::*;

fn conf(json: &str) -> NetConf {
    NetConf::parse(json.as_bytes()).unwrap()
}

fn att() -> Attachment {
    Attachment {
        container_id: "c1".into(),
        ifname: "eth0".into(),
        netns: Some("/run/netns/p".into()),
    }
}

const CONF: &str = r#"{"cniVersion":"1.1.0","name":"podnet","type":"podnet","clusterCIDR":"10.244.0.0/16",
  "ipam":{"subnet":"10.244.1.0/24"},
  "runtimeConfig":{"portMappings":[{"hostPort":18080,"containerPort":8080,"protocol":"tcp"}]}}"#;

#[test]
fn params_default_gateway_and_mtu() {
    let p = resolve_params(&conf(CONF), None).unwrap();
    assert_eq!(p.gateway, Ipv4Addr::new(10, 244, 1, 1));
    assert_eq!(p.mtu, DEFAULT_MTU);
    assert_eq!(p.cluster_cidr.to_string(), "10.244.0.0/16");
}

#[test]
fn params_from_node_facts() {
    let c = conf(r#"{"cniVersion":"1.1.0","name":"podnet","type":"podnet","ipam":{}}"#);
    let facts = ParsedFacts {
        subnet: "10.244.7.0/24".parse().unwrap(),
        gateway: None,
        mtu: Some(1450),
        cluster_cidr: Some("10.244.0.0/16".parse().unwrap()),
    };
    let p = resolve_params(&c, Some(&facts)).unwrap();
    assert_eq!(
        (p.subnet.to_string(), p.mtu),
        ("10.244.7.0/24".to_string(), 1450)
    );
    assert!(resolve_params(&c, None).is_err());
}

#[test]
fn plan_is_complete_and_deterministic() {
    let c = conf(CONF);
    let p = resolve_params(&c, None).unwrap();
    let plan = plan_add(&c, &att(), &p, Ipv4Addr::new(10, 244, 1, 5), &[]);
    let HostSide::Bridge { bridge, hairpin } = &plan.host else {
        panic!("bridge mode planned {:?}", plan.host);
    };
    assert_eq!(bridge.gateway.to_string(), "10.244.1.1/24");
    assert!(!hairpin);
    assert!(!plan.container.onlink && plan.container.gateway_neigh.is_none());
    assert_eq!(plan.veth.host_mac, None);
    assert_eq!(plan.container.address.to_string(), "10.244.1.5/24");
    assert_eq!(
        plan.container.routes,
        vec![(Ipv4Net::default(), Ipv4Addr::new(10, 244, 1, 1))]
    );
    assert_eq!(plan.veth.container_mac, [0x0a, 0x58, 10, 244, 1, 5]);
    assert_eq!(plan.pod.host_ports.len(), 1);
    assert_eq!(
        plan,
        plan_add(&c, &att(), &p, Ipv4Addr::new(10, 244, 1, 5), &[])
    );
}

#[test]
fn ebpf_plan_is_routed_with_the_fast_path_unless_the_pod_maps_ports() {
    let with_ports =
        conf(&CONF.replace(r#""type":"podnet","#, r#""type":"podnet","mode":"ebpf","#));
    let without = conf(
        &CONF
            .replace(r#""type":"podnet","#, r#""type":"podnet","mode":"ebpf","#)
            .replace(
                r#"{"hostPort":18080,"containerPort":8080,"protocol":"tcp"}"#,
                "",
            ),
    );
    let ip = Ipv4Addr::new(10, 244, 1, 5);
    let spec = |c: &NetConf| {
        let p = resolve_params(c, None).unwrap();
        let plan = plan_add(c, &att(), &p, ip, &[]);
        assert_eq!(plan.container.address.to_string(), "10.244.1.5/32");
        assert_eq!(plan.gateway, ROUTED_GATEWAY);
        match plan.host {
            HostSide::Routed(s) => s,
            other => panic!("not routed: {other:?}"),
        }
    };
    assert_eq!(
        spec(&without).fast_path,
        Some(podnet_netspec::FastPath {
            cluster: "10.244.0.0/16".parse().unwrap(),
            local: "10.244.1.0/24".parse().unwrap(),
        })
    );
    // Its replies to DNATed connections need conntrack: no fast path for its own packets.
    assert_eq!(spec(&with_ports).fast_path, None);
}

#[test]
fn routed_plan_has_a_32_a_link_local_gateway_and_no_bridge() {
    let c = conf(&CONF.replace(r#""type":"podnet","#, r#""type":"podnet","mode":"routed","#));
    let p = resolve_params(&c, None).unwrap();
    let ip = Ipv4Addr::new(10, 244, 1, 5);
    let plan = plan_add(&c, &att(), &p, ip, &[]);
    assert_eq!(
        plan.host,
        HostSide::Routed(PodRouteSpec {
            host: plan.veth.host_name.clone(),
            pod: ip,
            subnet: "10.244.1.0/24".parse().unwrap(),
            fast_path: None,
        })
    );
    assert_eq!(plan.container.address.to_string(), "10.244.1.5/32");
    assert_eq!(plan.gateway, ROUTED_GATEWAY);
    assert_eq!(
        plan.container.routes,
        vec![(Ipv4Net::default(), ROUTED_GATEWAY)]
    );
    assert!(plan.container.onlink);
    assert_eq!(
        plan.container.gateway_neigh,
        Some((ROUTED_GATEWAY, ROUTED_HOST_MAC))
    );
    assert_eq!(plan.veth.host_mac, Some(ROUTED_HOST_MAC));
    // Routes from a delegated IPAM plugin keep their destinations, all through the one gateway.
    let routes = [(
        "10.96.0.0/12".parse().unwrap(),
        Ipv4Addr::new(10, 244, 1, 1),
    )];
    let plan = plan_add(&c, &att(), &p, ip, &routes);
    assert_eq!(
        plan.container.routes,
        vec![("10.96.0.0/12".parse().unwrap(), ROUTED_GATEWAY)]
    );
    let r = result_for(&c, &plan, Path::new("/run/netns/p"), ROUTED_HOST_MAC).unwrap();
    assert_eq!(r.ips[0].address, "10.244.1.5/32");
    assert_eq!(r.ips[0].gateway.as_deref(), Some("169.254.1.1"));
    assert_eq!(r.interfaces[0].mac, "ee:ee:ee:ee:ee:ee");
}

#[test]
fn result_appends_to_prev_result() {
    let c = conf(
        r#"{"cniVersion":"1.0.0","name":"podnet","type":"podnet","ipam":{"subnet":"10.244.1.0/24"},
        "prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"other"}],"ips":[]}}"#,
    );
    let p = resolve_params(&c, None).unwrap();
    let plan = plan_add(&c, &att(), &p, Ipv4Addr::new(10, 244, 1, 5), &[]);
    let r = result_for(&c, &plan, Path::new("/run/netns/p"), [2, 0, 0, 0, 0, 1]).unwrap();
    assert_eq!(r.interfaces.len(), 3);
    assert_eq!(r.ips[0].interface, Some(2));
}
