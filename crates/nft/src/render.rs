//! Rendering the model to `nft -f` scripts. Every script is applied as one transaction, so a pod's
//! elements appear and disappear together, and a failing script changes nothing.
//!
//! The static part (tables, sets, maps, base chains and their few rules) is only sent when the
//! fast elements-only script fails because it is missing; its rules are written as
//! `flush chain` + `add rule` inside the same transaction, so re-sending it is atomic and
//! leaves the same rules.

use std::fmt::Write;

use crate::model::{HostPort, PodEntry};

/// Name of podnet's tables (one in family `bridge`, one in family `ip`).
pub const TABLE: &str = "podnet";

/// Bridge-family priority that runs before anything else sees a pod's frame.
const ANTISPOOF_PRIORITY: i32 = -300;

/// Declarations only (idempotent `add`s, no rules): enough for element updates to parse.
fn declarations(out: &mut String) {
    let t = TABLE;
    let _ = writeln!(
        out,
        "add table bridge {t}
add set bridge {t} pod_ifnames {{ type ifname; }}
add set bridge {t} pod_ports {{ type ifname . ether_addr . ipv4_addr; }}
add chain bridge {t} antispoof {{ type filter hook prerouting priority {ANTISPOOF_PRIORITY}; policy accept; }}
add table ip {t}
add set ip {t} pods {{ type ipv4_addr; }}
add map ip {t} masq_src {{ type ipv4_addr : verdict; }}
add set ip {t} nonat {{ type ipv4_addr; }}
add map ip {t} hostports {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}
add map ip {t} hostports_ip {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}
add chain ip {t} prerouting {{ type nat hook prerouting priority dstnat; policy accept; }}
add chain ip {t} output {{ type nat hook output priority -100; policy accept; }}
add chain ip {t} hostports
add chain ip {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}"
    );
}

/// The static ruleset: declarations plus the base chains' rules.
///
/// - anti-spoofing: a frame from a pod port passes only if (port, source MAC, source IP) — or for
///   ARP (port, MAC, sender IP) with the ARP sender MAC matching too — belongs to that pod;
///   everything else from a pod port (other addresses, IPv6 router advertisements, other
///   ethertypes) is dropped and counted.
/// - hostPort DNAT only for destinations that are local addresses (`fib daddr type local`,
///   CVE-2025-67499), from outside (prerouting) and from the node itself (output).
/// - masquerade: DNATed traffic from local pods (so replies come back through the node), and
///   pods whose network masquerades, through their network's chain.
pub fn render_base() -> String {
    let t = TABLE;
    let mut out = String::new();
    declarations(&mut out);
    let _ = writeln!(
        out,
        "flush chain bridge {t} antispoof
add rule bridge {t} antispoof iifname != @pod_ifnames accept
add rule bridge {t} antispoof ether type ip iifname . ether saddr . ip saddr @pod_ports accept
add rule bridge {t} antispoof ether type arp iifname . ether saddr . arp saddr ip @pod_ports iifname . arp saddr ether . arp saddr ip @pod_ports accept
add rule bridge {t} antispoof counter drop
flush chain ip {t} prerouting
flush chain ip {t} output
flush chain ip {t} hostports
flush chain ip {t} postrouting
add rule ip {t} prerouting fib daddr type local jump hostports
add rule ip {t} output fib daddr type local jump hostports
add rule ip {t} hostports dnat ip to ip daddr . meta l4proto . th dport map @hostports_ip
add rule ip {t} hostports dnat ip to meta l4proto . th dport map @hostports
add rule ip {t} postrouting ct status dnat ip saddr @pods masquerade
add rule ip {t} postrouting ip saddr vmap @masq_src"
    );
    out
}

/// Name of a network's masquerade chain: a safe identifier plus a hash of the exact name.
pub fn masq_chain(network: &str) -> String {
    let safe: String = network
        .chars()
        .take(24)
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("masq_{safe}_{:08x}", fnv1a(network.as_bytes()))
}

fn fnv1a(bytes: &[u8]) -> u32 {
    const OFFSET: u32 = 0x811c_9dc5;
    const PRIME: u32 = 0x0100_0193;
    bytes
        .iter()
        .fold(OFFSET, |h, b| (h ^ u32::from(*b)).wrapping_mul(PRIME))
}

/// A network's masquerade chain: everything outside the pod network, except multicast and the
/// cluster's node addresses (set `nonat`, filled by the node agent), so pods and nodes talk
/// without NAT as the Kubernetes model requires.
fn network_chain(out: &mut String, pod: &PodEntry) {
    let t = TABLE;
    let c = masq_chain(&pod.network);
    let _ = writeln!(
        out,
        "add chain ip {t} {c}
flush chain ip {t} {c}
add rule ip {t} {c} ip daddr != {} ip daddr != @nonat ip daddr != 224.0.0.0/4 masquerade",
        pod.cluster_cidr
    );
}

fn mac(m: &[u8; 6]) -> String {
    m.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn host_port_element(hp: &HostPort, pod: &PodEntry) -> (String, &'static str) {
    match hp.host_ip {
        Some(ip) => (
            format!(
                "{ip} . {} . {} : {} . {}",
                hp.proto.as_str(),
                hp.host_port,
                pod.ip,
                hp.pod_port
            ),
            "hostports_ip",
        ),
        None => (
            format!(
                "{} . {} : {} . {}",
                hp.proto.as_str(),
                hp.host_port,
                pod.ip,
                hp.pod_port
            ),
            "hostports",
        ),
    }
}

/// `verb` (`add` or `delete`) every element of one pod.
pub fn render_elements(out: &mut String, verb: &str, pod: &PodEntry) {
    let t = TABLE;
    let (v, m, ip) = (&pod.host_veth, mac(&pod.mac), pod.ip);
    let _ = writeln!(out, "{verb} element bridge {t} pod_ifnames {{ \"{v}\" }}");
    let _ = writeln!(
        out,
        "{verb} element bridge {t} pod_ports {{ \"{v}\" . {m} . {ip} }}"
    );
    let _ = writeln!(out, "{verb} element ip {t} pods {{ {ip} }}");
    if pod.masquerade {
        let _ = writeln!(
            out,
            "{verb} element ip {t} masq_src {{ {ip} : jump {} }}",
            masq_chain(&pod.network)
        );
    }
    for hp in &pod.host_ports {
        let (elem, map) = host_port_element(hp, pod);
        let _ = writeln!(out, "{verb} element ip {t} {map} {{ {elem} }}");
    }
}

/// ADD, fast form: only the pod's elements. Fails (changing nothing) if the static ruleset or the
/// network's chain is missing; then [`render_add`] with `full = true` is sent.
/// ADD, full form: static ruleset + the network's chain + the pod's elements.
pub fn render_add(pod: &PodEntry, full: bool) -> String {
    let mut out = String::new();
    if full {
        out.push_str(&render_base());
        network_chain(&mut out, pod);
    }
    render_elements(&mut out, "add", pod);
    out
}

/// DEL: declare, add, then delete the pod's elements in one transaction. Adding first makes the
/// delete succeed whether or not the elements were there (nft 1.0.6 has no `destroy`).
pub fn render_delete(pod: &PodEntry) -> String {
    let mut out = String::new();
    declarations(&mut out);
    let _ = writeln!(out, "add chain ip {TABLE} {}", masq_chain(&pod.network));
    render_elements(&mut out, "add", pod);
    render_elements(&mut out, "delete", pod);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
