//! Decoding manifests: the text `kubectl apply -f` accepts, into [`Object`]s.
//!
//! A manifest is one or more YAML documents separated by `---`, or one or more JSON objects
//! (text whose first character is `{`). Empty documents are skipped. A `kind: List` document
//! (what `kubectl get -o yaml` prints) is flattened into its items, and so is a typed list such
//! as `kind: PodList` (what the API returns), whose items may omit `apiVersion` and `kind`.
//!
//! Every error names the document, counted from 1 in the order the documents appear (empty
//! ones included, so the number matches what a person counts), the List item if any, and the
//! field path inside the object where there is one: `document 2, items[1]: spec.ports[0].port:
//! invalid type: string "80", expected i32`. Decoding checks shapes only; the API server's rules
//! are in [`mod@crate::validate`].

use std::fmt;

use serde::Deserialize;
use thiserror::Error;

use self::strict::StrictValue;

use crate::kind::Kind;
use crate::object::{json_type_name, type_fields, Object, ObjectError};

/// The kind of a plain list of objects of any kinds.
const LIST_KIND: &str = "List";
/// The suffix of a typed list's kind (`PodList`).
const LIST_SUFFIX: &str = "List";

/// Which object of a manifest an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentRef {
    /// The document, counted from 1.
    pub document: usize,
    /// The index of the item, when the document is a List.
    pub item: Option<usize>,
}

impl fmt::Display for DocumentRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "document {}", self.document)?;
        if let Some(item) = self.item {
            write!(f, ", items[{item}]")?;
        }
        Ok(())
    }
}

/// Why a manifest does not decode.
#[derive(Debug, Error)]
pub enum DecodeError {
    /// The text is not well-formed YAML or JSON.
    #[error("document {document}: invalid {format}: {message}")]
    Syntax {
        document: usize,
        format: &'static str,
        message: String,
    },
    /// A List whose `items` is not a sequence of objects.
    #[error("{at}: items must be a sequence, found {found}")]
    ListItems {
        at: DocumentRef,
        found: &'static str,
    },
    /// A List inside a List.
    #[error("{at}: a List may not contain another List")]
    NestedList { at: DocumentRef },
    /// The document is well-formed but not an object podnet knows, or a field has the wrong
    /// shape.
    #[error("{at}: {source}")]
    Object {
        at: DocumentRef,
        source: ObjectError,
    },
}

impl DecodeError {
    /// The document the error is about, counted from 1.
    pub fn document(&self) -> usize {
        match self {
            DecodeError::Syntax { document, .. } => *document,
            DecodeError::ListItems { at, .. }
            | DecodeError::NestedList { at }
            | DecodeError::Object { at, .. } => at.document,
        }
    }

    /// The field path inside the object, when the error is about one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            DecodeError::Object {
                source: ObjectError::Field { path, .. },
                ..
            } => Some(path),
            _ => None,
        }
    }
}

/// Decodes every object of a manifest (YAML or JSON, see the module doc), in order.
pub fn parse_manifests(text: &str) -> Result<Vec<Object>, DecodeError> {
    let mut objects = Vec::new();
    for (index, document) in documents(text).enumerate() {
        let number = index + 1;
        let value = document?;
        decode_document(number, value, &mut objects)?;
    }
    Ok(objects)
}

/// The documents of the text as JSON values, `Null` for an empty one.
fn documents(text: &str) -> Box<dyn Iterator<Item = Result<serde_json::Value, DecodeError>> + '_> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        let mut number = 0;
        Box::new(
            serde_json::Deserializer::from_str(trimmed)
                .into_iter::<StrictValue>()
                .map(move |doc| {
                    number += 1;
                    doc.map(|v| v.0).map_err(|e| DecodeError::Syntax {
                        document: number,
                        format: "json",
                        message: e.to_string(),
                    })
                }),
        )
    } else {
        let mut number = 0;
        Box::new(serde_yaml_ng::Deserializer::from_str(text).map(move |doc| {
            number += 1;
            StrictValue::deserialize(doc)
                .map(|v| v.0)
                .map_err(|e| DecodeError::Syntax {
                    document: number,
                    format: "yaml",
                    message: e.to_string(),
                })
        }))
    }
}

fn decode_document(
    document: usize,
    value: serde_json::Value,
    out: &mut Vec<Object>,
) -> Result<(), DecodeError> {
    if value.is_null() {
        return Ok(());
    }
    let at = DocumentRef {
        document,
        item: None,
    };
    let object_error = |source| DecodeError::Object { at, source };
    let (api_version, kind) = type_fields(&value).map_err(object_error)?;
    let Some(item_kind) = list_kind(api_version, kind) else {
        out.push(Object::from_value(value).map_err(object_error)?);
        return Ok(());
    };
    let items = match value {
        serde_json::Value::Object(mut map) => map.remove("items"),
        _ => None,
    };
    let items = match items {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items,
        Some(other) => {
            return Err(DecodeError::ListItems {
                at,
                found: json_type_name(&other),
            })
        }
    };
    for (index, mut item) in items.into_iter().enumerate() {
        let at = DocumentRef {
            document,
            item: Some(index),
        };
        if let (Some(kind), serde_json::Value::Object(map)) = (item_kind, &mut item) {
            map.entry("apiVersion")
                .or_insert_with(|| kind.api_version().into());
            map.entry("kind").or_insert_with(|| kind.name().into());
        }
        if let Ok((api_version, kind)) = type_fields(&item) {
            if list_kind(api_version, kind).is_some() {
                return Err(DecodeError::NestedList { at });
            }
        }
        out.push(Object::from_value(item).map_err(|source| DecodeError::Object { at, source })?);
    }
    Ok(())
}

/// `Some(None)` for a plain `List`, `Some(Some(kind))` for a typed list (`PodList` of
/// apiVersion `v1`), `None` for anything else.
fn list_kind(api_version: &str, kind: &str) -> Option<Option<Kind>> {
    if kind == LIST_KIND {
        return Some(None);
    }
    let item = Kind::from_name(kind.strip_suffix(LIST_SUFFIX)?)?;
    (item.api_version() == api_version).then_some(Some(item))
}

mod strict;
#[cfg(test)]
mod tests;
