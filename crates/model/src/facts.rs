//! The node network facts file (`/run/podnet/node.json` by default), written by the node agent
//! and read by the plugin when the config has no `ipam.subnet` — flannel's `subnet.env`, as JSON:
//!
//! ```json
//! {"version": 1, "node": "node-1", "subnet": "10.244.1.0/24", "gateway": "10.244.1.1",
//!  "mtu": 1450, "clusterCIDR": "10.244.0.0/16", "backend": "vxlan"}
//! ```
//!
//! `gateway`, `mtu`, `clusterCIDR` and `backend` are optional. Pure: parsing and rendering only
//! (rendering is serde's: the agent serialises a [`NodeFacts`]); the agent writes the file and
//! the plugin reads it. Addresses are parsed as strictly as the CNI config's
//! ([`podnet_cni::addr`]).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use podnet_cni::addr::{parse_ipv4, parse_subnet};
use serde::{Deserialize, Serialize};

/// The only format version so far.
pub const FACTS_VERSION: u32 = 1;

/// A node's network facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeFacts {
    pub version: u32,
    #[serde(default)]
    pub node: String,
    pub subnet: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    #[serde(
        rename = "clusterCIDR",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_cidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
}

impl NodeFacts {
    /// The file's text, as the agent writes it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The facts, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedFacts {
    pub subnet: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub mtu: Option<u32>,
    pub cluster_cidr: Option<Ipv4Net>,
}

/// Why a facts file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FactsError {
    #[error("node facts file is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("node facts file has version {0}; this plugin reads version {FACTS_VERSION}")]
    Version(u32),
    #[error("node facts file field {field}: {reason}")]
    Field { field: &'static str, reason: String },
}

/// Parses and validates the file's bytes.
pub fn parse(bytes: &[u8]) -> Result<ParsedFacts, FactsError> {
    let f: NodeFacts = serde_json::from_slice(bytes)?;
    if f.version != FACTS_VERSION {
        return Err(FactsError::Version(f.version));
    }
    let field = |field: &'static str| {
        move |e: podnet_cni::addr::AddrError| FactsError::Field {
            field,
            reason: e.to_string(),
        }
    };
    Ok(ParsedFacts {
        subnet: parse_subnet(&f.subnet).map_err(field("subnet"))?,
        gateway: f
            .gateway
            .as_deref()
            .map(parse_ipv4)
            .transpose()
            .map_err(field("gateway"))?,
        mtu: f.mtu,
        cluster_cidr: f
            .cluster_cidr
            .as_deref()
            .map(parse_subnet)
            .transpose()
            .map_err(field("clusterCIDR"))?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_documented_example() {
        let f = parse(br#"{"version": 1, "node": "node-1", "subnet": "10.244.1.0/24", "gateway": "10.244.1.1",
            "mtu": 1450, "clusterCIDR": "10.244.0.0/16", "backend": "vxlan"}"#)
        .unwrap();
        assert_eq!(f.mtu, Some(1450));
        assert_eq!(f.subnet.to_string(), "10.244.1.0/24");
    }

    #[test]
    fn rendered_facts_parse_back() {
        let f = NodeFacts {
            version: FACTS_VERSION,
            node: "node-1".into(),
            subnet: "10.244.1.0/24".into(),
            gateway: Some("10.244.1.1".into()),
            mtu: Some(1450),
            cluster_cidr: Some("10.244.0.0/16".into()),
            backend: Some("vxlan".into()),
        };
        let text = f.to_json();
        assert!(text.contains(r#""clusterCIDR": "10.244.0.0/16""#), "{text}");
        assert_eq!(serde_json::from_str::<NodeFacts>(&text).unwrap(), f);
        let p = parse(text.as_bytes()).unwrap();
        assert_eq!(p.gateway, Some(Ipv4Addr::new(10, 244, 1, 1)));
        assert_eq!(p.cluster_cidr, Some("10.244.0.0/16".parse().unwrap()));
        let bare = NodeFacts {
            gateway: None,
            mtu: None,
            cluster_cidr: None,
            backend: None,
            ..f
        };
        assert!(
            !bare.to_json().contains("gateway"),
            "unset fields are omitted"
        );
    }

    #[test]
    fn refuses_other_versions_and_bad_subnets() {
        assert!(matches!(
            parse(br#"{"version": 2, "subnet": "10.0.0.0/24"}"#),
            Err(FactsError::Version(2))
        ));
        assert!(matches!(
            parse(br#"{"version": 1, "subnet": "10.0.0.1/24"}"#),
            Err(FactsError::Field { .. })
        ));
    }
}
