//! Label selectors (`meta/v1 LabelSelector`) and how they match a set of labels.
//!
//! Matching follows Kubernetes: every `matchLabels` entry and every `matchExpressions`
//! requirement must hold (a logical AND), and the empty selector matches everything. A
//! requirement the API server would refuse to turn into a selector (an unknown operator, `In`
//! without values, `Exists` with values) matches nothing, so an unvalidated selector can never
//! widen what a policy selects. Whether "absent" selectors (`None`) mean "all" or "none" is the
//! caller's business: for NetworkPolicy peers it depends on the field.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::enums::string_enum;

/// A label query (`meta/v1 LabelSelector`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One `matchExpressions` entry: `key operator values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelectorRequirement {
    #[serde(default)]
    pub key: String,
    #[serde(default = "Operator::unset")]
    pub operator: Operator,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

string_enum! {
    /// The operator of a selector requirement.
    pub enum Operator {
        /// The label is present and its value is one of `values`.
        In = "In",
        /// The label is absent, or its value is none of `values`.
        NotIn = "NotIn",
        /// The label is present (with any value).
        Exists = "Exists",
        /// The label is absent.
        DoesNotExist = "DoesNotExist",
    }
}

impl Operator {
    fn unset() -> Self {
        Operator::Other(String::new())
    }
}

impl LabelSelector {
    /// A selector of exactly these labels.
    pub fn from_labels<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        LabelSelector {
            match_labels: labels
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            match_expressions: Vec::new(),
        }
    }

    /// True when the selector has no terms, and so matches every object.
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Whether `labels` satisfy every term of the selector.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
            && self.match_expressions.iter().all(|r| r.matches(labels))
    }
}

impl LabelSelectorRequirement {
    /// Whether `labels` satisfy this requirement; a malformed requirement matches nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.key);
        let in_values = |v: &String| self.values.iter().any(|candidate| candidate == v);
        match self.operator {
            Operator::In if !self.values.is_empty() => value.is_some_and(in_values),
            Operator::NotIn if !self.values.is_empty() => !value.is_some_and(in_values),
            Operator::Exists if self.values.is_empty() => value.is_some(),
            Operator::DoesNotExist if self.values.is_empty() => value.is_none(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn req(key: &str, operator: Operator, values: &[&str]) -> LabelSelector {
        LabelSelector {
            match_labels: BTreeMap::new(),
            match_expressions: vec![LabelSelectorRequirement {
                key: key.into(),
                operator,
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            }],
        }
    }

    #[test]
    fn empty_selector_matches_everything() {
        let all = LabelSelector::default();
        assert!(all.is_empty());
        assert!(all.matches(&labels(&[])));
        assert!(all.matches(&labels(&[("pod", "a")])));
    }

    #[test]
    fn match_labels_are_anded() {
        let s = LabelSelector::from_labels([("pod", "a"), ("tier", "web")]);
        assert!(s.matches(&labels(&[("pod", "a"), ("tier", "web"), ("x", "y")])));
        assert!(!s.matches(&labels(&[("pod", "a")])));
        assert!(!s.matches(&labels(&[("pod", "b"), ("tier", "web")])));
    }

    #[test]
    fn operators() {
        let a = labels(&[("pod", "a")]);
        let none = labels(&[]);
        assert!(req("pod", Operator::In, &["a", "b"]).matches(&a));
        assert!(!req("pod", Operator::In, &["b"]).matches(&a));
        assert!(!req("pod", Operator::In, &["a"]).matches(&none));
        assert!(!req("pod", Operator::NotIn, &["a"]).matches(&a));
        assert!(req("pod", Operator::NotIn, &["b"]).matches(&a));
        assert!(req("pod", Operator::NotIn, &["a"]).matches(&none));
        assert!(req("pod", Operator::Exists, &[]).matches(&a));
        assert!(!req("pod", Operator::Exists, &[]).matches(&none));
        assert!(!req("pod", Operator::DoesNotExist, &[]).matches(&a));
        assert!(req("pod", Operator::DoesNotExist, &[]).matches(&none));
    }

    #[test]
    fn expressions_and_labels_combine() {
        let mut s = req("ns", Operator::In, &["y", "z"]);
        s.match_labels.insert("pod".into(), "a".into());
        assert!(s.matches(&labels(&[("pod", "a"), ("ns", "y")])));
        assert!(!s.matches(&labels(&[("pod", "a"), ("ns", "x")])));
        assert!(!s.matches(&labels(&[("pod", "b"), ("ns", "y")])));
    }

    #[test]
    fn malformed_requirements_match_nothing() {
        let a = labels(&[("pod", "a")]);
        let none = labels(&[]);
        assert!(!req("pod", Operator::In, &[]).matches(&a));
        assert!(!req("pod", Operator::NotIn, &[]).matches(&none));
        assert!(!req("pod", Operator::Exists, &["a"]).matches(&a));
        assert!(!req("pod", Operator::DoesNotExist, &["a"]).matches(&none));
        assert!(!req("pod", Operator::from("Gt"), &["1"]).matches(&a));
    }

    #[test]
    fn decodes_kubectl_shape() {
        let s: LabelSelector = serde_yaml_ng::from_str(
            "matchLabels: {pod: a}\nmatchExpressions:\n- {key: ns, operator: NotIn, values: [x]}\n",
        )
        .unwrap();
        assert_eq!(s.match_expressions[0].operator, Operator::NotIn);
        assert!(s.matches(&labels(&[("pod", "a"), ("ns", "y")])));
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"matchLabels":{"pod":"a"},"matchExpressions":[{"key":"ns","operator":"NotIn","values":["x"]}]}"#
        );
    }
}
