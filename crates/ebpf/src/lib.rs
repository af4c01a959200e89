//! podnet's eBPF fast path: host routing for routed pods. `bpf/fastpath.c` holds two tc
//! ingress programs (`from_pod` on a pod's host veth, `from_uplink` on the node's underlay
//! device) that forward pod-to-pod packets by a kernel FIB lookup and a redirect, skipping the
//! node's IP forwarding path and netfilter; everything else goes on to the normal stack. This
//! crate embeds the compiled object and loads one program with its addresses set; attaching
//! it to a device is a netlink operation (podnet-netlink). See docs/ebpf.md.

use std::net::Ipv4Addr;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use aya::programs::SchedClassifier;
use aya::EbpfLoader;
use podnet_netspec::FastPath;

/// The compiled object (clang -target bpf), built by build.rs.
static OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/fastpath.o"));

/// Which of the two programs, by where it is attached (tc ingress of that device).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// A pod's host veth: the pod's own packets to pod addresses.
    FromPod { pod: Ipv4Addr },
    /// The node's underlay device: packets to this node's pods.
    FromUplink,
}

impl Hook {
    /// The program's (function's) name in the object; tc shows it as the filter's name.
    pub fn program(self) -> &'static str {
        match self {
            Hook::FromPod { .. } => "from_pod",
            Hook::FromUplink => "from_uplink",
        }
    }
}

/// Errors loading a program.
#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    #[error("cannot load the eBPF object: {0}")]
    Object(#[from] Box<aya::EbpfError>),
    #[error("eBPF program {0}: not in the object")]
    Missing(&'static str),
    #[error("eBPF program {name}: {source}")]
    Program {
        name: &'static str,
        #[source]
        source: Box<aya::programs::ProgramError>,
    },
    #[error("eBPF map pin: {0}")]
    Pin(String),
    #[error("eBPF program {name}: cannot duplicate its fd: {source}")]
    Fd {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// The `.rodata` values the program is loaded with, in the byte order of the packet (the
/// program compares them with the raw header fields).
pub fn globals(hook: Hook, fp: &FastPath) -> [(&'static str, u32); 5] {
    let be = |a: Ipv4Addr| u32::from_ne_bytes(a.octets());
    let pod = match hook {
        Hook::FromPod { pod } => be(pod),
        Hook::FromUplink => 0,
    };
    [
        ("cluster_net", be(fp.cluster.network())),
        ("cluster_mask", be(fp.cluster.netmask())),
        ("local_net", be(fp.local.network())),
        ("local_mask", be(fp.local.netmask())),
        ("pod_addr", pod),
    ]
}

/// Where podnet mounts a bpffs of its own for the programs' shared map (`service_flows`, see
/// `bpf/fastpath.c`): every program instance in one network namespace — the agent's
/// `from_uplink`, each pod's `from_pod` loaded by the plugin — must use the same map, and a
/// pinned map is how separate processes share one.
pub use podnet_netns::BPFFS;
/// The filesystem magic of bpffs (`BPF_FS_MAGIC`).
const BPF_FS_MAGIC: i64 = 0xcafe_4a11;

/// The pin directory of the calling thread's network namespace, `BPFFS/net-INODE`: bpffs is
/// mounted there first if it is not yet (`mount -t bpf bpf /run/podnet/bpf`), the directory
/// created. Removed by [`unpin`] when the namespace goes.
pub fn pin_dir() -> Result<PathBuf, EbpfError> {
    let inode = std::fs::metadata("/proc/thread-self/ns/net")
        .map_err(|e| EbpfError::Pin(format!("stat /proc/thread-self/ns/net: {e}")))?
        .ino();
    ensure_bpffs()?;
    let dir = podnet_netns::bpf_pins(inode);
    std::fs::create_dir_all(&dir)
        .map_err(|e| EbpfError::Pin(format!("mkdir {}: {e}", dir.display())))?;
    Ok(dir)
}

fn is_bpffs() -> bool {
    nix::sys::statfs::statfs(BPFFS).is_ok_and(|s| s.filesystem_type().0 == BPF_FS_MAGIC)
}

fn ensure_bpffs() -> Result<(), EbpfError> {
    std::fs::create_dir_all(BPFFS).map_err(|e| EbpfError::Pin(format!("mkdir {BPFFS}: {e}")))?;
    if is_bpffs() {
        return Ok(());
    }
    match nix::mount::mount(
        Some("bpf"),
        BPFFS,
        Some("bpf"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    ) {
        Ok(()) => Ok(()),
        // Another process mounted it at the same moment.
        Err(_) if is_bpffs() => Ok(()),
        Err(e) => Err(EbpfError::Pin(format!("mount -t bpf bpf {BPFFS}: {e}"))),
    }
}

/// Removes the pins of the network namespace whose inode is `inode` (best effort: gone is
/// fine). [`podnet_netns::del_ns`] does the same for every namespace it deletes.
pub fn unpin(inode: u64) {
    let _ = std::fs::remove_dir_all(podnet_netns::bpf_pins(inode));
}

/// Loads (and so verifies) `hook`'s program for `fp`. The returned fd keeps the program alive
/// until a tc filter holds it; the filter keeps it for as long as the device exists.
pub fn load(hook: Hook, fp: &FastPath) -> Result<OwnedFd, EbpfError> {
    let name = hook.program();
    let values = globals(hook, fp);
    let pins = pin_dir()?;
    let mut loader = EbpfLoader::new();
    loader.default_map_pin_directory(&pins);
    for (global, value) in &values {
        loader.override_global(global, value, true);
    }
    let mut ebpf = loader
        .load(OBJECT)
        .map_err(|e| EbpfError::Object(Box::new(e)))?;
    let program: &mut SchedClassifier = ebpf
        .program_mut(name)
        .ok_or(EbpfError::Missing(name))?
        .try_into()
        .map_err(|e| EbpfError::Program {
            name,
            source: Box::new(e),
        })?;
    let prog_err = |e| EbpfError::Program {
        name,
        source: Box::new(e),
    };
    program.load().map_err(prog_err)?;
    let fd = program.fd().map_err(prog_err)?;
    fd.as_fd()
        .try_clone_to_owned()
        .map_err(|source| EbpfError::Fd { name, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globals_are_in_packet_byte_order() {
        let fp = FastPath {
            cluster: "10.244.0.0/16".parse().unwrap(),
            local: "10.244.3.0/24".parse().unwrap(),
        };
        let g = globals(
            Hook::FromPod {
                pod: Ipv4Addr::new(10, 244, 3, 7),
            },
            &fp,
        );
        let bytes = |v: u32| v.to_ne_bytes();
        assert_eq!(g[0].0, "cluster_net");
        assert_eq!(bytes(g[0].1), [10, 244, 0, 0]);
        assert_eq!(bytes(g[1].1), [255, 255, 0, 0]);
        assert_eq!(bytes(g[2].1), [10, 244, 3, 0]);
        assert_eq!(bytes(g[3].1), [255, 255, 255, 0]);
        assert_eq!(bytes(g[4].1), [10, 244, 3, 7]);
        assert_eq!(globals(Hook::FromUplink, &fp)[4].1, 0);
    }

    #[test]
    fn the_object_holds_both_programs() {
        let obj = aya_obj_names();
        assert!(obj.contains(&"from_pod".to_string()), "{obj:?}");
        assert!(obj.contains(&"from_uplink".to_string()), "{obj:?}");
    }

    fn aya_obj_names() -> Vec<String> {
        // Parsing is pure (no syscall): the object is well formed and names both programs.
        aya_obj::Object::parse(OBJECT)
            .map(|o| o.programs.keys().cloned().collect())
            .unwrap_or_default()
    }
}
