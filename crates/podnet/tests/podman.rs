//! Tier 4 with a real container runtime: podman (CNI backend, runc) running inside a private
//! node namespace, with a conflist of `podnet` followed by the reference `portmap`. Two busybox
//! containers get addresses, ping each other and the gateway, exchange HTTP, a published port
//! answers from the node, and removing them leaves no veth and no allocation.
//!
//! podman's own state (storage with the vfs driver, run root, config) lives in a temp dir, so the
//! machine's podman state is never touched.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Node, PLUGIN};

const NETWORK: &str = "podnet-test";
const IMAGE: &str = "localhost/podnet-busybox";

struct Podman<'a> {
    node: &'a Node,
    root: PathBuf,
}

impl Podman<'_> {
    fn cmd(&self, args: &[&str]) -> Command {
        let r = &self.root;
        let mut c = self.node.ns.command(&["podman"]);
        c.arg("--root")
            .arg(r.join("storage"))
            .arg("--runroot")
            .arg(r.join("run"))
            .arg("--tmpdir")
            .arg(r.join("tmp"))
            .arg("--storage-driver")
            .arg("vfs")
            .args(args)
            .env("CONTAINERS_CONF", r.join("containers.conf"));
        c
    }

    /// Runs podman; panics with its output when it fails.
    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().expect("run podman");
        assert!(
            out.status.success(),
            "podman {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        let _ = self.cmd(&["rm", "-f", "-t", "0", "--all"]).output();
        let _ = self.cmd(&["system", "reset", "-f"]).output();
    }
}

fn write_setup(root: &Path, data_dir: &Path) {
    let plugin_dir = Path::new(PLUGIN).parent().unwrap();
    std::fs::create_dir_all(root.join("net.d")).unwrap();
    std::fs::write(
        root.join("containers.conf"),
        format!(
            "[network]\nnetwork_backend = \"cni\"\ncni_plugin_dirs = [\"{}\", \"/usr/lib/cni\"]\nnetwork_config_dir = \"{}\"\n\
             [engine]\nruntime = \"runc\"\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
             [containers]\ndefault_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n",
            plugin_dir.display(),
            root.join("net.d").display()
        ),
    )
    .unwrap();
    std::fs::write(
        root.join("net.d").join(format!("{NETWORK}.conflist")),
        serde_json::json!({
            "cniVersion": "1.0.0", "name": NETWORK,
            "plugins": [
                {"type": "podnet", "bridge": "podnet0", "ipMasq": true, "clusterCIDR": "10.244.0.0/16",
                 "ipam": {"subnet": "10.244.1.0/24", "dataDir": data_dir}},
                {"type": "portmap", "capabilities": {"portMappings": true}}
            ]
        })
        .to_string(),
    )
    .unwrap();
    // A busybox rootfs (Debian's busybox-static) with a page for httpd.
    let rootfs = root.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::create_dir_all(rootfs.join("www")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("busybox-static is installed");
    for app in ["sh", "ping", "wget", "httpd", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(app)).unwrap();
    }
    std::fs::write(rootfs.join("www/index.html"), "hello from podnet\n").unwrap();
}

#[test]
fn podman_with_podnet_and_portmap() {
    let node = Node::new("pm");
    let root = node.dir.path().join("podman");
    write_setup(&root, &node.data_dir());
    let pm = Podman {
        node: &node,
        root: root.clone(),
    };
    let tar = Command::new("tar")
        .arg("-C")
        .arg(root.join("rootfs"))
        .args(["-cf"])
        .arg(root.join("rootfs.tar"))
        .arg(".")
        .status()
        .unwrap();
    assert!(tar.success());
    pm.run(&[
        "import",
        &root.join("rootfs.tar").display().to_string(),
        IMAGE,
    ]);

    pm.run(&[
        "run",
        "-d",
        "--name",
        "pn-a",
        "--network",
        NETWORK,
        "-p",
        "18080:8080",
        IMAGE,
        "/bin/httpd",
        "-f",
        "-p",
        "8080",
        "-h",
        "/www",
    ]);
    pm.run(&[
        "run",
        "-d",
        "--name",
        "pn-b",
        "--network",
        NETWORK,
        IMAGE,
        "/bin/sleep",
        "3600",
    ]);
    let ip = |name: &str| {
        pm.run(&[
            "inspect",
            "-f",
            &format!("{{{{(index .NetworkSettings.Networks \"{NETWORK}\").IPAddress}}}}"),
            name,
        ])
    };
    let (ip_a, ip_b) = (ip("pn-a"), ip("pn-b"));
    for addr in [&ip_a, &ip_b] {
        assert!(
            addr.starts_with("10.244.1."),
            "address {addr:?} not from the subnet"
        );
    }
    assert_ne!(ip_a, ip_b);
    assert_eq!(node.allocations().len(), 2);

    pm.run(&["exec", "pn-b", "ping", "-c1", "-W2", &ip_a]);
    pm.run(&["exec", "pn-a", "ping", "-c1", "-W2", &ip_b]);
    pm.run(&["exec", "pn-b", "ping", "-c1", "-W2", "10.244.1.1"]);
    let page = pm.run(&[
        "exec",
        "pn-b",
        "wget",
        "-qO-",
        &format!("http://{ip_a}:8080/"),
    ]);
    assert_eq!(page, "hello from podnet");
    // The published port answers from the node (portmap's DNAT for local destinations).
    let published = common::http_get(&node.ns.path(), "http://10.244.1.1:18080/");
    assert_eq!(published.trim(), "hello from podnet");

    pm.run(&["rm", "-f", "-t", "0", "pn-a", "pn-b"]);
    assert_eq!(
        node.veths(),
        Vec::<String>::new(),
        "veths left after podman rm"
    );
    assert_eq!(
        node.allocations(),
        vec![],
        "allocations left after podman rm"
    );
    assert_eq!(node.nft_elements(), 0, "nft elements left after podman rm");
}
