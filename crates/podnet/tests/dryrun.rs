//! `podnet dry-run` shows the commands of an ADD from the real plugin code and changes nothing.

mod common;

use common::PLUGIN;

#[test]
fn dry_run_prints_the_commands_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("ipam-that-must-not-appear");
    let conf = dir.path().join("conf.json");
    std::fs::write(
        &conf,
        serde_json::json!({
            "cniVersion": "1.1.0", "name": "podnet", "type": "podnet", "clusterCIDR": "10.244.0.0/16",
            "ipam": {"subnet": "10.244.1.0/24", "dataDir": data_dir},
            "runtimeConfig": {"portMappings": [{"hostPort": 18080, "containerPort": 8080}]}
        })
        .to_string(),
    )
    .unwrap();
    let out = std::process::Command::new(PLUGIN)
        .args(["dry-run", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "ip link add podnet0 address 0a:58:0a:f4:01:01 mtu 1500 type bridge",
        "veth peer name eth0 address 0a:58:0a:f4:01:02 netns /run/netns/example",
        "net.ipv6.conf.eth0.accept_ra=0",
        "ip -n example route add 0.0.0.0/0 via 10.244.1.1 dev eth0",
        "add rule ip podnet prerouting fib daddr type local jump hostports",
        "add element ip podnet hostports { tcp . 18080 : 10.244.1.2 . 8080 }",
        r#""address":"10.244.1.2/24""#,
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    assert!(!data_dir.exists(), "dry run touched the real IPAM dir");

    std::fs::write(
        &conf,
        r#"{"cniVersion":"1.1.0","name":"n","type":"podnet","ipam":{"subnet":"10.0.0.1/24"}}"#,
    )
    .unwrap();
    let out = std::process::Command::new(PLUGIN)
        .args(["dry-run", "--config"])
        .arg(&conf)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("host bits set"));
}
