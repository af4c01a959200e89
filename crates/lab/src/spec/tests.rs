//! Unit tests of the lab spec: the YAML form and the `podnet lab up` flags.

use super::*;

#[test]
fn parses_the_modes_example() {
    let s = parse_yaml(include_str!("../../../../examples/modes.yaml")).unwrap();
    assert_eq!(s.nodes.len(), 2);
    let modes: Vec<_> = s.pods.iter().map(|p| p.mode.clone()).collect();
    assert!(modes.contains(&PodMode::Host) && modes.contains(&PodMode::None));
    assert!(modes.contains(&PodMode::Container("web".into())));
}

#[test]
fn pod_path_defaults_to_bridge() {
    let s = parse_yaml("nodes: [{name: n1}]").unwrap();
    assert_eq!(s.pod_path, "bridge");
    let s = parse_yaml("podPath: routed\nnodes: [{name: n1}]").unwrap();
    assert_eq!(s.pod_path, "routed");
    let s = parse_yaml("podPath: ebpf\nnodes: [{name: n1}]").unwrap();
    assert_eq!(s.pod_path, "ebpf");
    assert!(parse_yaml("podPath: macvlan\nnodes: [{name: n1}]").is_err());
}

#[test]
fn agent_args_are_flags() {
    let s = parse_yaml("agentArgs: [\"--fast-path\"]\nnodes: [{name: n1}]").unwrap();
    assert_eq!(s.agent_args, vec!["--fast-path"]);
    let e = parse_yaml("agentArgs: [\"rm\"]\nnodes: [{name: n1}]").unwrap_err();
    assert!(e.starts_with("agentArgs: \"rm\""), "{e}");
}

#[test]
fn every_example_parses() {
    for text in [
        include_str!("../../../../examples/default.yaml"),
        include_str!("../../../../examples/two-segments.yaml"),
    ] {
        parse_yaml(text).unwrap();
    }
}

fn flags() -> Flags<'static> {
    Flags {
        name: "t",
        backend: "vxlan",
        store: "embedded",
        pod_path: "bridge",
        nodes: 3,
        segments: 1,
        pods_per_node: 2,
    }
}

#[test]
fn flags_give_the_generated_lab() {
    let s = Flags {
        backend: "host-gw",
        store: "etcd",
        pod_path: "routed",
        segments: 2,
        ..flags()
    }
    .spec()
    .unwrap();
    assert_eq!((s.backend.as_str(), s.store.as_str()), ("host-gw", "etcd"));
    assert_eq!(s.pod_path, "routed");
    let segs: Vec<usize> = s.nodes.iter().map(|n| n.segment).collect();
    assert_eq!(segs, vec![0, 1, 0]);
    assert_eq!(s.pods.len(), 6);
    // The limits themselves are accepted.
    let most = Flags {
        nodes: MAX_NODES,
        segments: MAX_SEGMENTS,
        pods_per_node: MAX_PODS_PER_NODE,
        ..flags()
    }
    .spec()
    .unwrap();
    assert_eq!(most.pods.len(), MAX_NODES * MAX_PODS_PER_NODE);
    assert_eq!(most.pods.last().unwrap().name, format!("n{MAX_NODES}-z"));
    let least = Flags {
        nodes: 1,
        segments: 1,
        pods_per_node: 1,
        ..flags()
    };
    assert_eq!(least.spec().unwrap().pods.len(), 1);
}

#[test]
fn bad_flags_name_the_flag_and_the_value() {
    let bad = [
        (
            Flags {
                nodes: 0,
                ..flags()
            },
            "--nodes 0:",
        ),
        (
            Flags {
                nodes: 300,
                ..flags()
            },
            "--nodes 300:",
        ),
        (
            Flags {
                nodes: MAX_NODES + 1,
                ..flags()
            },
            "1 to 250 nodes",
        ),
        (
            Flags {
                segments: 0,
                ..flags()
            },
            "--segments 0:",
        ),
        (
            Flags {
                segments: 5,
                nodes: 9,
                ..flags()
            },
            "--segments 5:",
        ),
        (
            Flags {
                segments: 3,
                nodes: 2,
                ..flags()
            },
            "--segments 3: more segments than --nodes (2)",
        ),
        (
            Flags {
                pods_per_node: 0,
                ..flags()
            },
            "--pods-per-node 0:",
        ),
        (
            Flags {
                pods_per_node: 27,
                ..flags()
            },
            "--pods-per-node 27:",
        ),
        (
            Flags {
                pods_per_node: usize::MAX,
                ..flags()
            },
            &format!("--pods-per-node {}:", usize::MAX),
        ),
        (
            Flags {
                backend: "bgp",
                ..flags()
            },
            "--backend \"bgp\" is not vxlan, host-gw or udp",
        ),
        (
            Flags {
                store: "zk",
                ..flags()
            },
            "--store \"zk\"",
        ),
        (
            Flags {
                pod_path: "macvlan",
                ..flags()
            },
            "--pod-path \"macvlan\"",
        ),
        (
            Flags {
                name: "Big",
                ..flags()
            },
            "--name \"Big\"",
        ),
        (
            Flags {
                name: "",
                ..flags()
            },
            "--name \"\"",
        ),
    ];
    for (f, want) in bad {
        let e = f.spec().unwrap_err();
        assert!(e.contains(want), "{f:?}: {e}");
    }
}

#[test]
fn errors_name_the_entry() {
    let bad = [
        ("nodes: []", "1 to 250"),
        ("nodes: [{name: n1, segment: 3}]", "segment 3"),
        (
            "nodes: [{name: n1}]\npods: [{name: a, node: n9}]",
            "node \"n9\"",
        ),
        (
            "nodes: [{name: n1}]\npods: [{name: a, node: n1, mode: container:b}]",
            "earlier pod",
        ),
        (
            "nodes: [{name: n1}]\npods: [{name: a, node: n1, mode: macvlan}]",
            "macvlan",
        ),
        ("backend: bgp\nnodes: [{name: n1}]", "bgp"),
        (
            "podPath: macvlan\nnodes: [{name: n1}]",
            "podPath: \"macvlan\"",
        ),
        ("nodes: [{name: N1}]", "N1"),
        ("nodes: [{name: n1}]\nbogus: 1", "bogus"),
    ];
    for (yaml, want) in bad {
        let e = parse_yaml(yaml).unwrap_err();
        assert!(e.contains(want), "{yaml}: {e}");
    }
}

#[test]
fn pods_keep_their_namespace_and_labels() {
    let s = parse_yaml(include_str!("../../../../examples/modes.yaml")).unwrap();
    let web = s.pods.iter().find(|p| p.name == "web").unwrap();
    assert_eq!(web.namespace, "shop");
    assert_eq!(web.labels["app"], "web");
    let tools = s.pods.iter().find(|p| p.name == "tools").unwrap();
    assert_eq!(tools.namespace, "default");
    let e = parse_yaml("nodes: [{name: n1}]\npods: [{name: a, node: n1, namespace: Shop}]")
        .unwrap_err();
    assert!(e.contains("namespace \"Shop\""), "{e}");
}

#[test]
fn manifests_are_relative_to_the_spec_file() {
    let s = parse_yaml("nodes: [{name: n1}]\nmanifests: [pods.yaml, /abs/x.yaml, sub/dir]")
        .unwrap()
        .resolve(std::path::Path::new("/labs/np/lab.yaml"));
    assert_eq!(
        s.manifests,
        ["/labs/np/pods.yaml", "/abs/x.yaml", "/labs/np/sub/dir"].map(std::path::PathBuf::from)
    );
    let bare = parse_yaml("nodes: [{name: n1}]\nmanifests: [pods.yaml]")
        .unwrap()
        .resolve(std::path::Path::new("lab.yaml"));
    assert_eq!(bare.manifests, [std::path::PathBuf::from("pods.yaml")]);
    assert!(parse_yaml("nodes: [{name: n1}]\nmanifests: ['']").is_err());
}
