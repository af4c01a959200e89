//! [`BackendOps`] over rtnetlink, on the same socket and runtime as [`KernelNetOps`].

use std::net::{IpAddr, Ipv4Addr};

use futures::TryStreamExt;
use ipnet::Ipv4Net;
use netlink_packet_route::link::LinkFlags;
use netlink_packet_route::neighbour::{
    NeighbourAddress, NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol,
};
use netlink_packet_route::AddressFamily;
use podnet_netspec::{FastPath, Fdb, LinkState, Neigh, Route, VxlanSpec, RTPROT_PODNET};
use rtnetlink::{Handle, LinkUnspec, LinkVxlan, RouteMessageBuilder};

use crate::backend::BackendOps;
use crate::error::NetError;
use crate::kernel::{
    errno_of, ipv4_addresses, link_by_name, link_names, mac_of, mtu_of, nl, write_sysctl, EEXIST,
    ENOENT, ESRCH,
};
use crate::KernelNetOps;

fn route_message(r: &Route, index: Option<u32>) -> RouteMessage {
    let mut b = RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(r.dst.addr(), r.dst.prefix_len())
        .gateway(r.via)
        .protocol(RouteProtocol::Other(RTPROT_PODNET));
    if let Some(i) = index {
        b = b.output_interface(i);
    }
    if r.onlink {
        b = b.onlink();
    }
    b.build()
}

async fn index(h: &Handle, dev: &str, op: &str) -> Result<u32, NetError> {
    link_by_name(h, dev)
        .await?
        .map(|m| m.header.index)
        .ok_or_else(|| NetError::NoSuchLink {
            op: op.to_string(),
            name: dev.to_string(),
        })
}

fn gone(e: &rtnetlink::Error) -> bool {
    matches!(errno_of(e), Some(ENOENT) | Some(ESRCH))
}

fn v4_mac(bytes: &[u8]) -> Option<[u8; 6]> {
    bytes.try_into().ok()
}

async fn link_state(h: &Handle, dev: &str) -> Result<Option<LinkState>, NetError> {
    let Some(link) = link_by_name(h, dev).await? else {
        return Ok(None);
    };
    Ok(Some(LinkState {
        mac: mac_of(&link),
        mtu: mtu_of(&link),
        up: link.header.flags.contains(LinkFlags::Up),
        addresses: ipv4_addresses(h, link.header.index, dev).await?,
    }))
}

/// Neighbour-table entries of one device in one family (`Inet` for ARP, `Bridge` for the FDB).
async fn neigh_entries(
    h: &Handle,
    dev: &str,
    family: AddressFamily,
) -> Result<Vec<NeighbourMessage>, NetError> {
    let idx = index(h, dev, &format!("ip neigh show dev {dev}")).await?;
    let req = h.neighbours().get();
    let req = req.set_address_family(family);
    let mut stream = req.execute();
    let mut out = Vec::new();
    while let Some(m) = stream
        .try_next()
        .await
        .map_err(nl(format!("ip neigh show dev {dev}")))?
    {
        if m.header.ifindex == idx {
            out.push(m);
        }
    }
    Ok(out)
}

fn neigh_of(m: &NeighbourMessage) -> Option<(Ipv4Addr, [u8; 6])> {
    let mut ip = None;
    let mut mac = None;
    for a in &m.attributes {
        match a {
            NeighbourAttribute::Destination(NeighbourAddress::Inet(v)) => ip = Some(*v),
            // In bridge-family (FDB) messages the library leaves the address as raw bytes.
            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => {
                ip = <[u8; 4]>::try_from(b.as_slice()).ok().map(Ipv4Addr::from)
            }
            NeighbourAttribute::LinkLayerAddress(l) => mac = v4_mac(l),
            _ => {}
        }
    }
    Some((ip?, mac?))
}

impl BackendOps for KernelNetOps {
    fn podnet_routes(&mut self) -> Result<Vec<Route>, NetError> {
        let h = self.node_handle();
        self.block_on(async move {
            let names = link_names(&h).await?;
            let mut out = Vec::new();
            let mut routes = h
                .route()
                .get(RouteMessageBuilder::<Ipv4Addr>::new().build())
                .execute();
            while let Some(r) = routes
                .try_next()
                .await
                .map_err(nl("ip route show proto 112".to_string()))?
            {
                if r.header.protocol != RouteProtocol::Other(RTPROT_PODNET) {
                    continue;
                }
                let (mut dst, mut via, mut dev) = (Ipv4Addr::UNSPECIFIED, None, None);
                for a in &r.attributes {
                    match a {
                        RouteAttribute::Destination(RouteAddress::Inet(d)) => dst = *d,
                        RouteAttribute::Gateway(RouteAddress::Inet(g)) => via = Some(*g),
                        RouteAttribute::Oif(i) => dev = names.get(i).cloned(),
                        _ => {}
                    }
                }
                if let (Some(via), Ok(dst)) =
                    (via, Ipv4Net::new(dst, r.header.destination_prefix_length))
                {
                    out.push(Route {
                        dst,
                        via,
                        dev,
                        onlink: r.header.flags.contains(RouteFlags::Onlink),
                    });
                }
            }
            Ok(out)
        })
    }

    fn replace_route(&mut self, r: &Route) -> Result<(), NetError> {
        let h = self.node_handle();
        let r = r.clone();
        self.block_on(async move {
            let op = format!(
                "ip route replace {} via {} proto {RTPROT_PODNET}",
                r.dst, r.via
            );
            let idx = match &r.dev {
                Some(d) => Some(index(&h, d, &op).await?),
                None => None,
            };
            h.route()
                .add(route_message(&r, idx))
                .replace()
                .execute()
                .await
                .map_err(nl(op))
        })
    }

    fn delete_route(&mut self, r: &Route) -> Result<(), NetError> {
        let h = self.node_handle();
        let r = r.clone();
        self.block_on(async move {
            let msg = route_message(
                &Route {
                    dev: None,
                    onlink: false,
                    ..r.clone()
                },
                None,
            );
            match h.route().del(msg).execute().await {
                Err(e) if gone(&e) => Ok(()),
                other => other.map_err(nl(format!("ip route del {} via {}", r.dst, r.via))),
            }
        })
    }

    fn link_state(&mut self, dev: &str) -> Result<Option<LinkState>, NetError> {
        let h = self.node_handle();
        self.block_on(async move { link_state(&h, dev).await })
    }

    fn ensure_vxlan(&mut self, v: &VxlanSpec) -> Result<LinkState, NetError> {
        let h = self.node_handle();
        let v = v.clone();
        self.block_on(async move {
            let op = format!(
                "ip link add {} type vxlan id {} dstport {} local {} dev {} nolearning",
                v.name, v.vni, v.port, v.local, v.underlay_dev
            );
            if link_by_name(&h, &v.name).await?.is_none() {
                let under = index(&h, &v.underlay_dev, &op).await?;
                let msg = LinkVxlan::new(&v.name, v.vni)
                    .port(v.port)
                    .local(v.local)
                    .dev(under)
                    .learning(false)
                    .mtu(v.mtu)
                    .address(v.mac().to_vec())
                    .build();
                match h.link().add(msg).execute().await {
                    Err(e) if errno_of(&e) == Some(EEXIST) => {}
                    other => other.map_err(nl(op.clone()))?,
                }
            }
            let idx = index(&h, &v.name, &op).await?;
            let mut set = LinkUnspec::new_with_index(idx).mtu(v.mtu).up();
            // A device made before the MAC was derived (or changed by hand) gets it now.
            if link_state(&h, &v.name)
                .await?
                .is_some_and(|l| l.mac != v.mac())
            {
                set = set.address(v.mac().to_vec());
            }
            h.link()
                .set(set.build())
                .execute()
                .await
                .map_err(nl(format!("ip link set {} mtu {} up", v.name, v.mtu)))?;
            link_state(&h, &v.name)
                .await?
                .ok_or_else(|| NetError::NoSuchLink {
                    op,
                    name: v.name.clone(),
                })
        })
    }

    fn set_link_up(&mut self, dev: &str, mtu: u32) -> Result<LinkState, NetError> {
        let h = self.node_handle();
        self.block_on(async move {
            let op = format!("ip link set {dev} mtu {mtu} up");
            let idx = index(&h, dev, &op).await?;
            h.link()
                .set(LinkUnspec::new_with_index(idx).mtu(mtu).up().build())
                .execute()
                .await
                .map_err(nl(op.clone()))?;
            link_state(&h, dev)
                .await?
                .ok_or_else(|| NetError::NoSuchLink {
                    op,
                    name: dev.to_string(),
                })
        })
    }

    fn disable_ipv6(&mut self, dev: &str) -> Result<(), NetError> {
        // /proc/sys/net resolves to the namespace of the thread that opens it: the node's.
        write_sysctl(&format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1")
    }

    fn attach_fast_path(&mut self, dev: &str, fp: &FastPath) -> Result<(), NetError> {
        let h = self.node_handle();
        let fp = *fp;
        self.block_on(async move {
            let op = format!("tc filter replace dev {dev} ingress bpf");
            let idx = index(&h, dev, &op).await?;
            crate::kernel::attach_ingress(&h, idx, dev, podnet_ebpf::Hook::FromUplink, &fp).await
        })
    }

    fn fast_path_attached(&mut self, dev: &str) -> Result<bool, NetError> {
        let h = self.node_handle();
        self.block_on(async move {
            let op = format!("tc filter show dev {dev} ingress");
            let idx = index(&h, dev, &op).await?;
            let name = crate::tc::ingress_bpf_name(&h, idx).await.map_err(nl(op))?;
            Ok(name.as_deref() == Some(podnet_ebpf::Hook::FromUplink.program()))
        })
    }

    fn ensure_address(&mut self, dev: &str, addr: Ipv4Net) -> Result<(), NetError> {
        let h = self.node_handle();
        self.block_on(async move {
            let op = format!("ip addr add {addr} dev {dev}");
            let idx = index(&h, dev, &op).await?;
            match h
                .address()
                .add(idx, IpAddr::V4(addr.addr()), addr.prefix_len())
                .execute()
                .await
            {
                Err(e) if errno_of(&e) == Some(EEXIST) => Ok(()),
                other => other.map_err(nl(op)),
            }
        })
    }

    fn neighbours(&mut self, dev: &str) -> Result<Vec<Neigh>, NetError> {
        let h = self.node_handle();
        self.block_on(async move {
            let entries = neigh_entries(&h, dev, AddressFamily::Inet).await?;
            Ok(entries
                .iter()
                .filter(|m| m.header.state == NeighbourState::Permanent)
                .filter_map(neigh_of)
                .map(|(ip, mac)| Neigh { ip, mac })
                .collect())
        })
    }

    fn replace_neighbour(&mut self, dev: &str, n: &Neigh) -> Result<(), NetError> {
        let h = self.node_handle();
        let n = *n;
        self.block_on(async move {
            let op = format!("ip neigh replace {} dev {dev} nud permanent", n.ip);
            let idx = index(&h, dev, &op).await?;
            h.neighbours()
                .add(idx, IpAddr::V4(n.ip))
                .link_layer_address(&n.mac)
                .state(NeighbourState::Permanent)
                .replace()
                .execute()
                .await
                .map_err(nl(op))
        })
    }

    fn delete_neighbour(&mut self, dev: &str, n: &Neigh) -> Result<(), NetError> {
        let h = self.node_handle();
        let n = *n;
        self.block_on(async move {
            let entries = neigh_entries(&h, dev, AddressFamily::Inet).await?;
            for m in entries
                .into_iter()
                .filter(|m| neigh_of(m).map(|(ip, _)| ip) == Some(n.ip))
            {
                match h.neighbours().del(m).execute().await {
                    Err(e) if gone(&e) => {}
                    other => other.map_err(nl(format!("ip neigh del {} dev {dev}", n.ip)))?,
                }
            }
            Ok(())
        })
    }

    fn fdb(&mut self, dev: &str) -> Result<Vec<Fdb>, NetError> {
        let h = self.node_handle();
        self.block_on(async move {
            let entries = neigh_entries(&h, dev, AddressFamily::Bridge).await?;
            Ok(entries
                .iter()
                .filter_map(neigh_of)
                .map(|(dst, mac)| Fdb { mac, dst })
                .collect())
        })
    }

    fn replace_fdb(&mut self, dev: &str, f: &Fdb) -> Result<(), NetError> {
        let h = self.node_handle();
        let f = *f;
        self.block_on(async move {
            let op = format!(
                "bridge fdb replace {:02x?} dev {dev} dst {} self permanent",
                f.mac, f.dst
            );
            let idx = index(&h, dev, &op).await?;
            h.neighbours()
                .add_bridge(idx, &f.mac)
                .destination(IpAddr::V4(f.dst))
                .flags(NeighbourFlags::Own)
                .replace()
                .execute()
                .await
                .map_err(nl(op))
        })
    }

    fn delete_fdb(&mut self, dev: &str, f: &Fdb) -> Result<(), NetError> {
        let h = self.node_handle();
        let f = *f;
        self.block_on(async move {
            let entries = neigh_entries(&h, dev, AddressFamily::Bridge).await?;
            for m in entries
                .into_iter()
                .filter(|m| neigh_of(m) == Some((f.dst, f.mac)))
            {
                match h.neighbours().del(m).execute().await {
                    Err(e) if gone(&e) => {}
                    other => {
                        other.map_err(nl(format!("bridge fdb del dev {dev} dst {}", f.dst)))?
                    }
                }
            }
            Ok(())
        })
    }
}
