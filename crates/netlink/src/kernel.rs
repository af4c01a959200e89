//! [`NetOps`] over rtnetlink.
//!
//! The plugin is short-lived and sequential, so the trait is synchronous: each call drives its
//! requests on a private current-thread tokio runtime. Netlink sockets for a pod namespace are
//! opened while the thread is switched into it (see [`crate::netns`]); they keep that namespace
//! after the thread switches back, so every later request on them acts inside the pod.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkMessage,
};
use netlink_packet_route::neighbour::NeighbourState;
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteScope, RouteType};
use podnet_ebpf::Hook;
use podnet_netspec::{
    BridgeSpec, ContainerIfSpec, ContainerIfState, FastPath, PodRouteSpec, VethSpec,
    UNREACHABLE_METRIC,
};
use rtnetlink::{
    Handle, LinkBridge, LinkBridgePort, LinkMessageBuilder, LinkUnspec, RouteMessageBuilder,
};
use tokio::runtime::Runtime;

use crate::error::NetError;
use crate::netns::Netns;
use crate::NetOps;

pub(crate) const EEXIST: i32 = libc_errno::EEXIST;
pub(crate) const ENODEV: i32 = libc_errno::ENODEV;
pub(crate) const ENOENT: i32 = libc_errno::ENOENT;
pub(crate) const ESRCH: i32 = libc_errno::ESRCH;

/// errno values used to recognise "already there" and "already gone".
mod libc_errno {
    pub const ENOENT: i32 = 2;
    pub const ESRCH: i32 = 3;
    pub const EEXIST: i32 = 17;
    pub const ENODEV: i32 = 19;
}

/// The real implementation, bound to the namespace the process runs in (the node's).
pub struct KernelNetOps {
    rt: Runtime,
    node: Handle,
    namespaces: HashMap<PathBuf, Netns>,
}

impl KernelNetOps {
    /// Opens a netlink socket in the calling thread's namespace.
    pub fn new() -> Result<Self, NetError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|source| NetError::Io {
                op: "start netlink runtime".into(),
                source,
            })?;
        let node = open_handle(&rt)?;
        Ok(KernelNetOps {
            rt,
            node,
            namespaces: HashMap::new(),
        })
    }

    /// A handle on the node namespace's socket.
    pub(crate) fn node_handle(&self) -> Handle {
        self.node.clone()
    }

    /// Drives a future on the private runtime.
    pub(crate) fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Opens (once) the namespace at `path`.
    fn netns(&mut self, path: &Path) -> Result<&Netns, NetError> {
        if !self.namespaces.contains_key(path) {
            let ns = Netns::open(path)?;
            self.namespaces.insert(path.to_path_buf(), ns);
        }
        self.namespaces
            .get(path)
            .ok_or_else(|| NetError::NoSuchLink {
                op: "open netns".into(),
                name: path.display().to_string(),
            })
    }

    /// A handle whose socket lives in the namespace at `path`.
    fn handle_in(&mut self, path: &Path) -> Result<Handle, NetError> {
        self.netns(path)?;
        let (namespaces, rt) = (&self.namespaces, &self.rt);
        match namespaces.get(path) {
            Some(ns) => ns.run(|| open_handle(rt))?,
            None => Err(NetError::NoSuchLink {
                op: "open netns".into(),
                name: path.display().to_string(),
            }),
        }
    }
}

fn open_handle(rt: &Runtime) -> Result<Handle, NetError> {
    let _guard = rt.enter();
    let (conn, handle, _) = rtnetlink::new_connection().map_err(|source| NetError::Io {
        op: "open netlink socket".into(),
        source,
    })?;
    rt.spawn(conn);
    Ok(handle)
}

pub(crate) fn nl(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetError {
    let op = op.into();
    move |source| NetError::Netlink { op, source }
}

pub(crate) fn errno_of(e: &rtnetlink::Error) -> Option<i32> {
    match e {
        rtnetlink::Error::NetlinkError(m) => Some(-m.raw_code()),
        _ => None,
    }
}

/// Loads `hook`'s eBPF program for `fp` and attaches it at the tc ingress of `dev` (`index`),
/// replacing podnet's filter there if one is.
pub(crate) async fn attach_ingress(
    h: &Handle,
    index: u32,
    dev: &str,
    hook: Hook,
    fp: &FastPath,
) -> Result<(), NetError> {
    let name = hook.program();
    let fd = podnet_ebpf::load(hook, fp).map_err(|source| NetError::Ebpf {
        op: format!("load eBPF program {name}"),
        source,
    })?;
    crate::tc::ensure_clsact(h, index)
        .await
        .map_err(nl(format!("tc qdisc replace dev {dev} clsact")))?;
    crate::tc::replace_ingress_bpf(h, index, fd.as_fd(), name)
        .await
        .map_err(nl(format!(
            "tc filter replace dev {dev} ingress pref {} handle {} bpf direct-action name {name}",
            crate::tc::FILTER_PREF,
            crate::tc::FILTER_HANDLE
        )))
}

/// Looks a link up by name; `None` when it does not exist.
pub(crate) async fn link_by_name(h: &Handle, name: &str) -> Result<Option<LinkMessage>, NetError> {
    match h
        .link()
        .get()
        .match_name(name.to_string())
        .execute()
        .try_next()
        .await
    {
        Ok(m) => Ok(m),
        Err(e) if matches!(errno_of(&e), Some(ENODEV) | Some(ENOENT)) => Ok(None),
        Err(e) => Err(NetError::Netlink {
            op: format!("ip link show {name}"),
            source: e,
        }),
    }
}

async fn index_of(h: &Handle, name: &str, op: &str) -> Result<u32, NetError> {
    link_by_name(h, name)
        .await?
        .map(|m| m.header.index)
        .ok_or_else(|| NetError::NoSuchLink {
            op: op.to_string(),
            name: name.to_string(),
        })
}

/// The link's MTU attribute (0 if absent).
pub(crate) fn mtu_of(m: &LinkMessage) -> u32 {
    m.attributes
        .iter()
        .find_map(|a| {
            if let LinkAttribute::Mtu(v) = a {
                Some(*v)
            } else {
                None
            }
        })
        .unwrap_or(0)
}

/// The IPv4 addresses on link `index` (`ip -4 addr show dev NAME`).
pub(crate) async fn ipv4_addresses(
    h: &Handle,
    index: u32,
    name: &str,
) -> Result<Vec<Ipv4Net>, NetError> {
    let mut out = Vec::new();
    let mut addrs = h.address().get().set_link_index_filter(index).execute();
    while let Some(m) = addrs
        .try_next()
        .await
        .map_err(nl(format!("ip addr show {name}")))?
    {
        for a in &m.attributes {
            if let AddressAttribute::Address(IpAddr::V4(ip)) = a {
                if let Ok(net) = Ipv4Net::new(*ip, m.header.prefix_len) {
                    out.push(net);
                }
            }
        }
    }
    Ok(out)
}

pub(crate) fn mac_of(m: &LinkMessage) -> [u8; 6] {
    let mut mac = [0u8; 6];
    for a in &m.attributes {
        if let LinkAttribute::Address(bytes) = a {
            if bytes.len() == 6 {
                mac.copy_from_slice(bytes);
            }
        }
    }
    mac
}

fn ignore_exists(r: Result<(), rtnetlink::Error>, op: String) -> Result<(), NetError> {
    match r {
        Err(e) if errno_of(&e) == Some(EEXIST) => Ok(()),
        r => r.map_err(nl(op)),
    }
}

async fn set_up(h: &Handle, index: u32, name: &str) -> Result<(), NetError> {
    h.link()
        .set(LinkUnspec::new_with_index(index).up().build())
        .execute()
        .await
        .map_err(nl(format!("ip link set {name} up")))
}

async fn delete_in(h: &Handle, name: &str) -> Result<bool, NetError> {
    let Some(link) = link_by_name(h, name).await? else {
        return Ok(false);
    };
    match h.link().del(link.header.index).execute().await {
        Ok(()) => Ok(true),
        Err(e) if matches!(errno_of(&e), Some(ENODEV) | Some(ENOENT)) => Ok(false),
        Err(e) => Err(NetError::Netlink {
            op: format!("ip link del {name}"),
            source: e,
        }),
    }
}

/// Every link's name by index (`ip link show`).
pub(crate) async fn link_names(h: &Handle) -> Result<HashMap<u32, String>, NetError> {
    let mut names = HashMap::new();
    let mut links = h.link().get().execute();
    while let Some(l) = links
        .try_next()
        .await
        .map_err(nl("ip link show".to_string()))?
    {
        for a in &l.attributes {
            if let LinkAttribute::IfName(n) = a {
                names.insert(l.header.index, n.clone());
            }
        }
    }
    Ok(names)
}

pub(crate) fn write_sysctl(path: &str, value: &str) -> Result<(), NetError> {
    std::fs::write(path, value).map_err(|source| NetError::Io {
        op: format!("write {value} to {path}"),
        source,
    })
}

impl NetOps for KernelNetOps {
    fn check_netns(&mut self, netns: &Path) -> Result<(), NetError> {
        self.netns(netns).map(|_| ())
    }

    fn ensure_bridge(&mut self, b: &BridgeSpec) -> Result<(), NetError> {
        let h = self.node.clone();
        self.rt.block_on(async move {
            let link = match link_by_name(&h, &b.name).await? {
                Some(l) => l,
                None => {
                    let mac = b.mac();
                    let msg = LinkBridge::new(&b.name)
                        .mtu(b.mtu)
                        .address(mac.to_vec())
                        .up()
                        .build();
                    ignore_exists(
                        h.link().add(msg).execute().await,
                        format!(
                            "ip link add {} address {} mtu {} type bridge",
                            b.name,
                            crate::recording::format_mac(&mac),
                            b.mtu
                        ),
                    )?;
                    link_by_name(&h, &b.name)
                        .await?
                        .ok_or_else(|| NetError::NoSuchLink {
                            op: "ip link add type bridge".into(),
                            name: b.name.clone(),
                        })?
                }
            };
            let index = link.header.index;
            ignore_exists(
                h.address()
                    .add(index, IpAddr::V4(b.gateway.addr()), b.gateway.prefix_len())
                    .execute()
                    .await,
                format!("ip addr add {} dev {}", b.gateway, b.name),
            )?;
            if !link.header.flags.contains(LinkFlags::Up) {
                set_up(&h, index, &b.name).await?;
            }
            Ok(())
        })
    }

    fn create_veth(&mut self, netns: &Path, v: &VethSpec) -> Result<(), NetError> {
        let fd = self.netns(netns)?.raw_fd();
        let h = self.node.clone();
        self.rt.block_on(async move {
            delete_in(&h, &v.host_name).await?;
            let peer = LinkMessageBuilder::<LinkUnspec>::new()
                .name(v.container_name.clone())
                .mtu(v.mtu)
                .address(v.container_mac.to_vec())
                .setns_by_fd(fd)
                .build();
            let mut msg = LinkMessageBuilder::<LinkUnspec>::new_with_info_kind(InfoKind::Veth)
                .name(v.host_name.clone())
                .mtu(v.mtu);
            if let Some(mac) = v.host_mac {
                msg = msg.address(mac.to_vec());
            }
            let msg = msg
                .set_info_data(InfoData::Veth(InfoVeth::Peer(peer)))
                .build();
            let op = format!(
                "ip link add {} mtu {} type veth peer name {} netns {}",
                v.host_name,
                v.mtu,
                v.container_name,
                netns.display()
            );
            match h.link().add(msg).execute().await {
                Ok(()) => Ok(()),
                Err(e) if errno_of(&e) == Some(EEXIST) => Err(NetError::ContainerIfExists {
                    op,
                    name: v.container_name.clone(),
                }),
                Err(e) => Err(NetError::Netlink { op, source: e }),
            }
        })
    }

    fn configure_container(
        &mut self,
        netns: &Path,
        spec: &ContainerIfSpec,
    ) -> Result<(), NetError> {
        // CVE-2020-10749: no router advertisements, no SLAAC, before the link ever goes up.
        // /proc/sys/net resolves to the namespace of the thread that opens it.
        let ifname = spec.ifname.clone();
        self.netns(netns)?.run(|| -> Result<(), NetError> {
            write_sysctl(&format!("/proc/sys/net/ipv6/conf/{ifname}/accept_ra"), "0")?;
            write_sysctl(&format!("/proc/sys/net/ipv6/conf/{ifname}/autoconf"), "0")
        })??;
        let h = self.handle_in(netns)?;
        self.rt.block_on(async move {
            let op = format!(
                "ip -n {} addr add {} dev {}",
                netns.display(),
                spec.address,
                spec.ifname
            );
            let index = index_of(&h, &spec.ifname, &op).await?;
            ignore_exists(
                h.address()
                    .add(
                        index,
                        IpAddr::V4(spec.address.addr()),
                        spec.address.prefix_len(),
                    )
                    .execute()
                    .await,
                op,
            )?;
            let lo = index_of(&h, "lo", "ip link set lo up").await?;
            set_up(&h, lo, "lo").await?;
            set_up(&h, index, &spec.ifname).await?;
            if let Some((gw, mac)) = spec.gateway_neigh {
                h.neighbours()
                    .add(index, IpAddr::V4(gw))
                    .link_layer_address(&mac)
                    .state(NeighbourState::Permanent)
                    .replace()
                    .execute()
                    .await
                    .map_err(nl(format!(
                        "ip neigh replace {gw} dev {} nud permanent",
                        spec.ifname
                    )))?;
            }
            for (dst, gw) in &spec.routes {
                let mut msg = RouteMessageBuilder::<Ipv4Addr>::new()
                    .destination_prefix(dst.addr(), dst.prefix_len())
                    .gateway(*gw)
                    .output_interface(index);
                if spec.onlink {
                    msg = msg.onlink();
                }
                ignore_exists(
                    h.route().add(msg.build()).execute().await,
                    format!("ip route add {dst} via {gw} dev {}", spec.ifname),
                )?;
            }
            Ok(())
        })
    }

    fn attach_to_bridge(
        &mut self,
        host: &str,
        bridge: &str,
        hairpin: bool,
    ) -> Result<[u8; 6], NetError> {
        let h = self.node.clone();
        self.rt.block_on(async move {
            let op = format!("ip link set {host} master {bridge} up");
            let br = index_of(&h, bridge, &op).await?;
            let link = link_by_name(&h, host)
                .await?
                .ok_or_else(|| NetError::NoSuchLink {
                    op: op.clone(),
                    name: host.to_string(),
                })?;
            let index = link.header.index;
            h.link()
                .set(
                    LinkUnspec::new_with_index(index)
                        .controller(br)
                        .up()
                        .build(),
                )
                .execute()
                .await
                .map_err(nl(op))?;
            if hairpin {
                h.link()
                    .set_port(LinkBridgePort::new(index).hairpin(true).build())
                    .execute()
                    .await
                    .map_err(nl(format!("bridge link set dev {host} hairpin on")))?;
            }
            Ok(mac_of(&link))
        })
    }

    fn route_to_pod(&mut self, spec: &PodRouteSpec) -> Result<[u8; 6], NetError> {
        let host = spec.host.clone();
        // Before the link is up, so no packet is ever forwarded without the check.
        write_sysctl(&format!("/proc/sys/net/ipv4/conf/{host}/rp_filter"), "1")?;
        let h = self.node.clone();
        self.rt.block_on(async move {
            let op = format!("ip link set {host} up");
            let link = link_by_name(&h, &host)
                .await?
                .ok_or_else(|| NetError::NoSuchLink {
                    op: op.clone(),
                    name: host.clone(),
                })?;
            let index = link.header.index;
            set_up(&h, index, &host).await?;
            let pod = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(spec.pod, 32)
                .output_interface(index)
                .scope(RouteScope::Link)
                .build();
            h.route()
                .add(pod)
                .replace()
                .execute()
                .await
                .map_err(nl(format!(
                    "ip route replace {}/32 dev {host} scope link",
                    spec.pod
                )))?;
            let fallback = RouteMessageBuilder::<Ipv4Addr>::new()
                .destination_prefix(spec.subnet.network(), spec.subnet.prefix_len())
                .kind(RouteType::Unreachable)
                .priority(UNREACHABLE_METRIC)
                .build();
            h.route()
                .add(fallback)
                .replace()
                .execute()
                .await
                .map_err(nl(format!(
                    "ip route replace unreachable {} metric {UNREACHABLE_METRIC}",
                    spec.subnet
                )))?;
            if let Some(fp) = &spec.fast_path {
                let hook = Hook::FromPod { pod: spec.pod };
                attach_ingress(&h, index, &host, hook, fp).await?;
            }
            Ok(mac_of(&link))
        })
    }

    fn delete_link(&mut self, name: &str) -> Result<bool, NetError> {
        let h = self.node.clone();
        self.rt.block_on(delete_in(&h, name))
    }

    fn delete_container_link(&mut self, netns: &Path, ifname: &str) -> Result<bool, NetError> {
        let h = self.handle_in(netns)?;
        self.rt.block_on(delete_in(&h, ifname))
    }

    fn container_state(
        &mut self,
        netns: &Path,
        ifname: &str,
    ) -> Result<Option<ContainerIfState>, NetError> {
        let h = self.handle_in(netns)?;
        self.rt.block_on(async move {
            let Some(link) = link_by_name(&h, ifname).await? else {
                return Ok(None);
            };
            let index = link.header.index;
            let mut state = ContainerIfState {
                mac: mac_of(&link),
                up: link.header.flags.contains(LinkFlags::Up),
                ..Default::default()
            };
            state.mtu = mtu_of(&link);
            state.addresses = ipv4_addresses(&h, index, ifname).await?;
            let mut routes = h
                .route()
                .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
                .execute();
            while let Some(r) = routes
                .try_next()
                .await
                .map_err(nl("ip route show".to_string()))?
            {
                let mut dst = Ipv4Addr::UNSPECIFIED;
                let mut gw = None;
                let mut oif = None;
                for a in &r.attributes {
                    match a {
                        RouteAttribute::Destination(RouteAddress::Inet(d)) => dst = *d,
                        RouteAttribute::Gateway(RouteAddress::Inet(g)) => gw = Some(*g),
                        RouteAttribute::Oif(i) => oif = Some(*i),
                        _ => {}
                    }
                }
                if oif == Some(index) {
                    if let Ok(net) = Ipv4Net::new(dst, r.header.destination_prefix_length) {
                        state.routes.push((net, gw));
                    }
                }
            }
            Ok(Some(state))
        })
    }

    fn links_with_prefix(&mut self, prefix: &str) -> Result<Vec<String>, NetError> {
        let h = self.node.clone();
        self.rt.block_on(async move {
            let mut names: Vec<String> = link_names(&h)
                .await?
                .into_values()
                .filter(|n| n.starts_with(prefix))
                .collect();
            names.sort();
            Ok(names)
        })
    }

    fn enable_ip_forward(&mut self) -> Result<(), NetError> {
        const PATH: &str = "/proc/sys/net/ipv4/ip_forward";
        let now = std::fs::read_to_string(PATH).map_err(|source| NetError::Io {
            op: format!("read {PATH}"),
            source,
        })?;
        if now.trim() != "1" {
            write_sysctl(PATH, "1")?;
        }
        Ok(())
    }
}
