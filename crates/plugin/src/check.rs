//! CHECK: the attachment still looks like `prevResult` says — interface, MAC, addresses and
//! routes inside the pod, the host veth, and (built-in IPAM) the allocation.

use podnet_cni::addr::{parse_cidr, parse_ipv4, parse_subnet};
use podnet_cni::config::IpamConf;
use podnet_cni::env::Attachment;
use podnet_cni::{CniError, CniResult, ErrorCode, NetConf};
use podnet_ipam::Store;

use crate::effects::Effects;
use crate::error::PluginError;
use crate::naming::host_veth;

/// Runs CHECK.
pub fn check(fx: &mut dyn Effects, att: &Attachment, conf: &NetConf) -> Result<(), PluginError> {
    let prev = conf
        .prev_result
        .as_ref()
        .ok_or_else(|| CniError::new(ErrorCode::InvalidConfig, "prevResult: required for CHECK"))?;
    let prev = CniResult::from_value(prev)?;
    let netns = att
        .netns
        .as_deref()
        .ok_or_else(|| CniError::new(ErrorCode::InvalidEnv, "CNI_NETNS is required for CHECK"))?;
    let ns_str = netns.display().to_string();
    let idx = prev
        .interfaces
        .iter()
        .position(|i| i.name == att.ifname && i.sandbox.as_deref() == Some(ns_str.as_str()))
        .ok_or_else(|| {
            PluginError::Check(format!(
                "prevResult has no interface {} in {ns_str}",
                att.ifname
            ))
        })?;

    let net = fx.net()?;
    net.check_netns(netns)?;
    let state = net.container_state(netns, &att.ifname)?.ok_or_else(|| {
        PluginError::Check(format!("interface {} is missing from {ns_str}", att.ifname))
    })?;
    let want_mac = &prev.interfaces[idx].mac;
    let have_mac = crate::naming::format_mac(&state.mac);
    if !want_mac.is_empty() && !want_mac.eq_ignore_ascii_case(&have_mac) {
        return Err(PluginError::Check(format!(
            "{} has MAC {have_mac}, prevResult says {want_mac}",
            att.ifname
        )));
    }
    if !state.up {
        return Err(PluginError::Check(format!("{} is down", att.ifname)));
    }
    let mut my_ips = Vec::new();
    for ipc in prev.ips.iter().filter(|c| c.interface == Some(idx)) {
        let Ok(want) = parse_cidr(&ipc.address) else {
            continue;
        };
        if !state.addresses.contains(&want) {
            return Err(PluginError::Check(format!(
                "{} lacks address {want}",
                att.ifname
            )));
        }
        my_ips.push(want.addr());
    }
    for r in &prev.routes {
        let (Ok(dst), gw) = (
            parse_subnet(&r.dst),
            r.gw.as_deref().and_then(|g| parse_ipv4(g).ok()),
        ) else {
            continue;
        };
        if !state
            .routes
            .iter()
            .any(|(d, g)| *d == dst && (gw.is_none() || *g == gw))
        {
            return Err(PluginError::Check(format!(
                "route {} via {:?} is missing in {ns_str}",
                r.dst, r.gw
            )));
        }
    }
    let veth = host_veth(&conf.name, &att.container_id, &att.ifname);
    if !net.links_with_prefix(&veth)?.contains(&veth) {
        return Err(PluginError::Check(format!("host veth {veth} is missing")));
    }
    if let IpamConf::BuiltIn { data_dir, .. } = &conf.ipam {
        let store = Store::open(data_dir)?;
        match store.get(&conf.name, &att.container_id, &att.ifname)? {
            Some(a) if my_ips.contains(&a.ip) => {}
            Some(a) => {
                return Err(PluginError::Check(format!(
                    "allocation is {}, prevResult says {my_ips:?}",
                    a.ip
                )))
            }
            None => {
                return Err(PluginError::Check(
                    "no allocation recorded for this attachment".into(),
                ))
            }
        }
    }
    Ok(())
}
