//! podnet's object model: the subset of Kubernetes object shapes podnet reads (Namespace, Pod,
//! Service, EndpointSlice, NetworkPolicy), how manifests decode into them, the defaults and
//! validation the Kubernetes API server applies to them, and where they live in the datastore.
//!
//! It also holds the records podnet itself keeps about nodes: the [`lease`]s of node pod subnets
//! in the datastore (key layout, record, claim planning, validation of other nodes' leases) and
//! the node [`facts`] file the agent writes for the CNI plugin.
//!
//! Everything here is pure: values in, values out. This crate never reads files, the clock, the
//! environment or the network, and never talks to a datastore; the store, the agent and the CLI
//! do that and hand the text or bytes in. The types are podnet's own (not generated bindings):
//! they keep only the fields podnet uses, tolerate every other field on input (so `kubectl get
//! -o yaml` output decodes), and omit empty fields on output.
//!
//! The usual path of an object from a manifest to the datastore is
//! [`parse_manifests`] → [`apply_defaults`] → [`validate()`] → [`keys::object_key`].
#![forbid(unsafe_code)]

pub mod allocation;
pub mod decode;
pub mod defaults;
pub mod endpointslice;
pub mod enums;
pub mod facts;
pub mod intstr;
pub mod keys;
pub mod kind;
pub mod lease;
pub mod meta;
pub mod namespace;
pub mod networkpolicy;
pub mod object;
pub mod pod;
pub mod selector;
pub mod service;
pub mod validate;

pub use decode::{parse_manifests, DecodeError, DocumentRef};
pub use defaults::apply_defaults;
pub use endpointslice::{
    AddressType, Endpoint, EndpointConditions, EndpointPort, EndpointSlice, ObjectReference,
};
pub use enums::Protocol;
pub use intstr::IntOrString;
pub use keys::{
    kind_prefix, namespace_prefix, object_key, parse_object_key, resource_version,
    set_resource_version, KeyError, ObjectKey,
};
pub use kind::{Kind, ParseKindError};
pub use meta::ObjectMeta;
pub use namespace::{Namespace, NamespacePhase, NamespaceSpec, NamespaceStatus};
pub use networkpolicy::{
    IpBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer,
    NetworkPolicyPort, NetworkPolicySpec, PolicyType,
};
pub use object::{Object, ObjectError};
pub use pod::{
    ConditionStatus, Container, ContainerPort, Pod, PodCondition, PodIp, PodPhase, PodSpec,
    PodStatus,
};
pub use selector::{LabelSelector, LabelSelectorRequirement, Operator};
pub use service::{
    ClientIpConfig, Service, ServicePort, ServiceSpec, ServiceType, SessionAffinity,
    SessionAffinityConfig, TrafficPolicy,
};
pub use validate::{validate, FieldError, FieldErrorKind, ValidationErrors};
