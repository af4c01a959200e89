//! Unit tests of the kubelet's decisions.

use super::*;
use crate::spec::parse_yaml;
use podnet_model::parse_manifests;

fn pod(text: &str) -> Pod {
    match parse_manifests(text).unwrap().remove(0) {
        Object::Pod(p) => p,
        other => panic!("not a pod: {other:?}"),
    }
}

fn pod_in(ns: &str, name: &str, extra_meta: &str, spec: &str) -> Pod {
    pod(&format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, namespace: {ns}{extra_meta}}}\nspec: {{containers: [{{name: c}}]{spec}}}\n"
    ))
}

#[test]
fn netns_names_never_collide() {
    assert_eq!(netns_suffix("default", "n1-a"), "n1-a");
    assert_eq!(netns_suffix("x", "a"), "x.a");
    // `x.a` in default is not `a` in x, nor `x-a` in default.
    assert_eq!(netns_suffix("default", "x.a"), "default.x.a");
    assert_ne!(netns_suffix("x-a", "b"), netns_suffix("x", "a-b"));
    // Long names are cut to the limit and stay distinct (and stable).
    let long = "a".repeat(253);
    let one = netns_suffix("ns", &long);
    let other = netns_suffix("ns", &format!("{}b", "a".repeat(252)));
    assert_eq!(one.len(), MAX_NETNS_SUFFIX);
    assert_ne!(one, other);
    assert_eq!(one, netns_suffix("ns", &long));
    assert!(one.starts_with("ns.aaaa"), "{one}");
    assert!(podnet_cni::names::check_container_id(&format!("pnlab-lab-{one}")).is_ok());
}

#[test]
fn network_modes_from_host_network_and_the_annotation() {
    let a = |v: &str| format!(", annotations: {{{NETWORK_MODE_ANNOTATION}: \"{v}\"}}");
    assert_eq!(network_mode(&pod_in("x", "a", "", "")), Ok(PodMode::Bridge));
    assert_eq!(
        network_mode(&pod_in("x", "a", &a("bridge"), "")),
        Ok(PodMode::Bridge)
    );
    assert_eq!(
        network_mode(&pod_in("x", "a", "", ", hostNetwork: true")),
        Ok(PodMode::Host)
    );
    assert_eq!(
        network_mode(&pod_in("x", "a", &a("none"), "")),
        Ok(PodMode::None)
    );
    assert_eq!(
        network_mode(&pod_in("x", "s", &a("container:web"), "")),
        Ok(PodMode::Container("x/web".into()))
    );
    assert_eq!(
        network_mode(&pod_in("x", "s", &a("container:shop/web"), "")),
        Ok(PodMode::Container("shop/web".into()))
    );
    for (bad, want) in [
        (a("host"), "Unsupported value: \"host\""),
        (a("container:"), "Unsupported value"),
        (a("container:a/b/c"), "Unsupported value"),
        (a("container:a"), "cannot join its own namespace"),
    ] {
        let err = network_mode(&pod_in("x", "a", &bad, "")).unwrap_err();
        assert_eq!(
            err.path, "metadata.annotations[podnet.dev/network-mode]",
            "{bad}"
        );
        assert!(err.message.contains(want), "{bad}: {err}");
    }
    let err = network_mode(&pod_in("x", "a", &a("none"), ", hostNetwork: true")).unwrap_err();
    assert!(err.message.contains("hostNetwork"), "{err}");
}

#[test]
fn serve_plans_declared_ports_and_the_labs_own() {
    let truth = pod(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x}\nspec: {containers: [\
         {name: t, ports: [{name: serve-80-tcp, containerPort: 80, protocol: TCP}]}, \
         {name: u, ports: [{name: serve-80-udp, containerPort: 80, protocol: UDP}]}, \
         {name: v, ports: [{containerPort: 81}, {containerPort: 81, protocol: UDP}]}]}\n",
    );
    let plan = serve_plan(&truth, &PodMode::Bridge).unwrap();
    assert_eq!(
        plan,
        ServePlan {
            tcp: vec![80, 81, 8080],
            udp: vec![80, 81, 8080],
            stream: Some(9000),
            check_port: 8080,
        }
    );
    assert_eq!(
        describe_ports(&plan),
        "80/TCP 81/TCP 8080/TCP 80/UDP 81/UDP 8080/UDP"
    );
    assert_eq!(
        serve_argv(&plan, "x/a", "/r"),
        "serve --identity x/a --ready-file /r --tcp 80 --tcp 81 --tcp 8080 --udp 80 --udp 81 --udp 8080 --stream-port 9000"
            .split(' ')
            .collect::<Vec<_>>()
    );
    // Declared 8080 and 9000 are not listened on twice.
    let own = pod_in("x", "b", "", "");
    let mut own = own;
    own.spec.containers[0].ports = parse_ports("[{containerPort: 8080}, {containerPort: 9000}]");
    let plan = serve_plan(&own, &PodMode::Bridge).unwrap();
    assert_eq!(
        (plan.tcp, plan.udp, plan.stream),
        (vec![8080, 9000], vec![8080], None)
    );
    // A container: pod answers beside the one it joins; host and none pods have no stream port.
    let bare = pod_in("x", "c", "", "");
    let side = serve_plan(&bare, &PodMode::Container("x/a".into())).unwrap();
    assert_eq!(
        (side.tcp, side.check_port, side.stream),
        (vec![8082], 8082, None)
    );
    assert_eq!(serve_plan(&bare, &PodMode::Host).unwrap().stream, None);
    let mut sctp = bare.clone();
    sctp.spec.containers[0].ports =
        parse_ports("[{containerPort: 80}, {containerPort: 7, protocol: SCTP}]");
    let err = serve_plan(&sctp, &PodMode::Bridge).unwrap_err();
    assert_eq!(err.path, "spec.containers[0].ports[1].protocol");
}

fn parse_ports(yaml: &str) -> Vec<podnet_model::ContainerPort> {
    serde_yaml_ng::from_str(yaml).unwrap()
}

#[test]
fn spec_pods_become_objects_that_map_back_to_their_modes() {
    let spec = parse_yaml(include_str!("../../../../../examples/modes.yaml")).unwrap();
    let objects = pod_objects(&spec.pods);
    // web's namespace comes first.
    assert_eq!(objects[0].kind(), podnet_model::Kind::Namespace);
    assert_eq!(objects[0].name(), "shop");
    assert_eq!(objects.len(), spec.pods.len() + 1);
    for (o, p) in objects[1..].iter().zip(&spec.pods) {
        let Object::Pod(pod) = o else { panic!() };
        podnet_model::validate(o).unwrap();
        assert_eq!(pod.metadata.namespace(), Some(p.namespace.as_str()));
        assert_eq!(pod.spec.node_name.as_deref(), Some(p.node.as_str()));
        assert_eq!(pod.metadata.labels, p.labels);
        let mode = network_mode(pod).unwrap();
        match &p.mode {
            // web is in namespace shop, the sidecar in default.
            PodMode::Container(other) => {
                assert_eq!(mode, PodMode::Container(format!("shop/{other}")))
            }
            m => assert_eq!(&mode, m),
        }
    }
    let web = objects.iter().find(|o| o.name() == "web").unwrap();
    assert_eq!(web.namespace(), Some("shop"));
}

fn running(ns: &str, name: &str, uid: &str, mode: PodMode) -> PodState {
    PodState {
        namespace: ns.into(),
        name: name.into(),
        uid: Some(uid.into()),
        node: "n1".into(),
        mode,
        ready: true,
        ..PodState::default()
    }
}

fn stored(ns: &str, name: &str, uid: &str, node: Option<&str>, meta: &str) -> Pod {
    let mut p = pod_in(ns, name, meta, "");
    p.metadata.uid = Some(uid.into());
    p.spec.node_name = node.map(String::from);
    p
}

#[test]
fn a_converged_lab_syncs_to_nothing() {
    let nodes = ["n1".to_string()];
    let st = vec![running("x", "a", "u1", PodMode::Bridge)];
    let pods = vec![stored("x", "a", "u1", Some("n1"), "")];
    assert_eq!(plan_sync(&pods, &st, &nodes), SyncPlan::default());
}

#[test]
fn sync_removes_what_is_gone_and_creates_what_is_new() {
    let nodes = ["n1".to_string(), "n2".to_string()];
    let side = PodMode::Container("x/a".into());
    let st = vec![
        running("x", "a", "u1", PodMode::Bridge),
        running("x", "s", "u2", side.clone()),
        running("y", "b", "u3", PodMode::Bridge),
        running("y", "c", "old", PodMode::Bridge),
        PodState {
            ready: false,
            ..running("y", "d", "u5", PodMode::Bridge)
        },
    ];
    let ann = format!(", annotations: {{{NETWORK_MODE_ANNOTATION}: \"container:a\"}}");
    let pods = vec![
        // x/a is gone: its sidecar x/s goes too, and is made again (after a pod it can join).
        stored("x", "s", "u2", Some("n1"), &ann),
        stored("y", "b", "u3", Some("n2"), ""),
        // Deleted and made again under the same name: another uid, another pod.
        stored("y", "c", "new", Some("n1"), ""),
        // A record left half-made is made again.
        stored("y", "d", "u5", Some("n1"), ""),
        stored("z", "e", "u6", Some("n2"), ""),
        // Not bound, or bound to a node the lab does not have: not the lab's to run.
        stored("z", "f", "u7", None, ""),
        stored("z", "g", "u8", Some("elsewhere"), ""),
    ];
    let plan = plan_sync(&pods, &st, &nodes);
    let removed: Vec<String> = plan.remove.iter().map(|&i| st[i].key()).collect();
    assert_eq!(removed, ["x/s", "x/a", "y/c", "y/d"]);
    let created: Vec<String> = plan.create.iter().map(key_of).collect();
    assert_eq!(created, ["y/c", "y/d", "z/e", "x/s"]);
}

#[test]
fn statuses_say_running_and_ready_or_why_not() {
    let ok = running_status(
        Some(Ipv4Addr::new(10, 244, 1, 5)),
        Some(Ipv4Addr::new(198, 18, 0, 11)),
    );
    let p = Pod {
        status: Some(ok.clone()),
        ..Pod::default()
    };
    assert!(p.is_ready());
    assert_eq!(p.ips(), ["10.244.1.5"]);
    assert_eq!(ok.host_ip.as_deref(), Some("198.18.0.11"));
    let failed = failed_status(None, "NetworkNotReady", "CNI ADD failed: no subnet");
    let p = Pod {
        status: Some(failed.clone()),
        ..Pod::default()
    };
    assert!(!p.is_ready());
    assert_eq!(failed.phase, Some(PodPhase::Failed));
    assert_eq!(failed.message.as_deref(), Some("CNI ADD failed: no subnet"));
}
