//! The kinds of object podnet knows, their type metadata (apiVersion, group, plural resource
//! name, scope) and how a person may name them on a command line, the way `kubectl get` does.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A kind of object podnet stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Namespace,
    Pod,
    Service,
    EndpointSlice,
    NetworkPolicy,
}

/// A name that is not one of podnet's kinds.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown resource type {0:?} (known: namespaces, pods, services, endpointslices, networkpolicies)")]
pub struct ParseKindError(pub String);

impl Kind {
    /// Every kind, in the order a manifest should be applied (namespaces first).
    pub const ALL: [Kind; 5] = [
        Kind::Namespace,
        Kind::Pod,
        Kind::Service,
        Kind::EndpointSlice,
        Kind::NetworkPolicy,
    ];

    /// The canonical kind name, as in a manifest's `kind:` (`NetworkPolicy`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Namespace => "Namespace",
            Kind::Pod => "Pod",
            Kind::Service => "Service",
            Kind::EndpointSlice => "EndpointSlice",
            Kind::NetworkPolicy => "NetworkPolicy",
        }
    }

    /// The plural resource name (`networkpolicies`), also the datastore key segment.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Namespace => "namespaces",
            Kind::Pod => "pods",
            Kind::Service => "services",
            Kind::EndpointSlice => "endpointslices",
            Kind::NetworkPolicy => "networkpolicies",
        }
    }

    /// The API group (`""` for the core group).
    pub fn group(self) -> &'static str {
        match self {
            Kind::Namespace | Kind::Pod | Kind::Service => "",
            Kind::EndpointSlice => "discovery.k8s.io",
            Kind::NetworkPolicy => "networking.k8s.io",
        }
    }

    /// The version within the group.
    pub fn version(self) -> &'static str {
        "v1"
    }

    /// The `apiVersion:` a manifest of this kind carries (`networking.k8s.io/v1`).
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Namespace | Kind::Pod | Kind::Service => "v1",
            Kind::EndpointSlice => "discovery.k8s.io/v1",
            Kind::NetworkPolicy => "networking.k8s.io/v1",
        }
    }

    /// Whether objects of this kind live in a namespace (all but Namespace).
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Namespace)
    }

    /// kubectl's short names (`svc`); EndpointSlice has none.
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Kind::Namespace => &["ns"],
            Kind::Pod => &["po"],
            Kind::Service => &["svc"],
            Kind::EndpointSlice => &[],
            Kind::NetworkPolicy => &["netpol"],
        }
    }

    /// The kind whose canonical name is exactly `name` (case-sensitive, as in a manifest).
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind whose plural resource name is exactly `plural` (as in a datastore key).
    pub fn from_plural(plural: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.plural() == plural)
    }

    /// Parses a resource type the way kubectl does: case-insensitive singular (`pod`, `Pod`),
    /// plural (`pods`) or short name (`po`), optionally qualified by group (`pods.`,
    /// `networkpolicies.networking.k8s.io`) or by version and group
    /// (`networkpolicies.v1.networking.k8s.io`).
    pub fn parse(text: &str) -> Result<Kind, ParseKindError> {
        let lower = text.trim().to_ascii_lowercase();
        let (resource, qualifier) = match lower.split_once('.') {
            Some((resource, qualifier)) => (resource, Some(qualifier)),
            None => (lower.as_str(), None),
        };
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.accepts_resource(resource))
            .ok_or_else(|| ParseKindError(text.to_owned()))?;
        match qualifier {
            None => Ok(kind),
            Some(q) if kind.accepts_qualifier(q) => Ok(kind),
            Some(_) => Err(ParseKindError(text.to_owned())),
        }
    }

    fn accepts_resource(self, lower: &str) -> bool {
        self.name().eq_ignore_ascii_case(lower)
            || self.plural() == lower
            || self.short_names().contains(&lower)
    }

    /// `GROUP` or `VERSION.GROUP`; the core group is the empty string (`pods.` or `pods.v1.`).
    fn accepts_qualifier(self, qualifier: &str) -> bool {
        let group = self.group();
        qualifier == group
            || qualifier
                .strip_prefix(self.version())
                .and_then(|rest| rest.strip_prefix('.'))
                == Some(group)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Kind {
    type Err = ParseKindError;

    fn from_str(s: &str) -> Result<Kind, ParseKindError> {
        Kind::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_kubectl_accepts() {
        let cases = [
            ("ns", Kind::Namespace),
            ("namespace", Kind::Namespace),
            ("Namespaces", Kind::Namespace),
            ("po", Kind::Pod),
            ("pod", Kind::Pod),
            ("PODS", Kind::Pod),
            ("pods.", Kind::Pod),
            ("pods.v1.", Kind::Pod),
            ("svc", Kind::Service),
            ("service", Kind::Service),
            ("services", Kind::Service),
            ("endpointslice", Kind::EndpointSlice),
            ("EndpointSlices", Kind::EndpointSlice),
            ("endpointslices.discovery.k8s.io", Kind::EndpointSlice),
            ("endpointslices.v1.discovery.k8s.io", Kind::EndpointSlice),
            ("netpol", Kind::NetworkPolicy),
            ("networkpolicy", Kind::NetworkPolicy),
            ("NetworkPolicy", Kind::NetworkPolicy),
            ("networkpolicies", Kind::NetworkPolicy),
            ("networkpolicies.networking.k8s.io", Kind::NetworkPolicy),
            ("netpol.networking.k8s.io", Kind::NetworkPolicy),
            ("networkpolicy.v1.networking.k8s.io", Kind::NetworkPolicy),
        ];
        for (text, kind) in cases {
            assert_eq!(Kind::parse(text), Ok(kind), "{text}");
            assert_eq!(text.parse::<Kind>(), Ok(kind), "{text}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "",
            "ep",
            "endpoints",
            "eps",
            "deployment",
            "pods.apps",
            "networkpolicies.extensions",
            "networkpolicies.v2.networking.k8s.io",
            "services.networking.k8s.io",
            "pod s",
            "np",
        ] {
            let err = Kind::parse(text).unwrap_err();
            assert_eq!(err, ParseKindError(text.to_owned()));
        }
        assert_eq!(
            Kind::parse("ep").unwrap_err().to_string(),
            "unknown resource type \"ep\" (known: namespaces, pods, services, endpointslices, networkpolicies)"
        );
    }

    #[test]
    fn type_metadata() {
        assert_eq!(Kind::NetworkPolicy.api_version(), "networking.k8s.io/v1");
        assert_eq!(Kind::EndpointSlice.api_version(), "discovery.k8s.io/v1");
        assert_eq!(Kind::Pod.api_version(), "v1");
        assert!(!Kind::Namespace.namespaced());
        assert!(Kind::ALL[1..].iter().all(|k| k.namespaced()));
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
            assert_eq!(Kind::from_plural(kind.plural()), Some(kind));
            assert_eq!(Kind::parse(kind.name()), Ok(kind));
            assert_eq!(Kind::parse(kind.plural()), Ok(kind));
        }
        assert_eq!(Kind::from_name("pod"), None);
    }
}
