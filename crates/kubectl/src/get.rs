//! `podnet get KIND [NAME] [-n NS | -A] [-o wide|yaml|json|name]` (`kubectl get`): a table
//! (see [`super::table`]), or the objects as JSON or YAML (a `kind: List` without NAME, which
//! `podnet apply -f` takes back), or `KIND/NAME` lines.
//!
//! An empty answer prints `No resources found in NS namespace.` on stderr (exit 0). Stored
//! values that are not valid objects are left out with a `Warning:` line each.

use podnet_api::{Api, ObjectList};
use podnet_model::{Kind, Object, ObjectKey};
use podnet_store::Datastore;
use serde::Serialize;

use super::table::{self, Layout};
use super::{kind_ref, namespace_or_default, server_error, unknown_kind, GetArgs, Report};

/// How `get` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    Name,
}

impl Format {
    /// `-o`'s value.
    pub fn parse(output: Option<&str>) -> Result<Format, String> {
        Ok(match output {
            None => Format::Table,
            Some("wide") => Format::Wide,
            Some("json") => Format::Json,
            Some("yaml") => Format::Yaml,
            Some("name") => Format::Name,
            Some(other) => {
                return Err(format!(
                    "error: unable to match a printer suitable for the output format {other:?}, allowed formats are: json,name,wide,yaml"
                ))
            }
        })
    }
}

/// The `kind: List` of `-o json|yaml`, in kubectl's field order.
#[derive(Serialize)]
struct List<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    items: &'a [Object],
    kind: &'static str,
    metadata: ListMeta,
}

#[derive(Serialize)]
struct ListMeta {
    /// The store's revision at the time of the list.
    #[serde(rename = "resourceVersion")]
    resource_version: String,
}

/// Prints what the arguments ask for.
pub async fn run<D: Datastore>(
    api: &Api<D>,
    args: &GetArgs,
    now_secs: i64,
    report: &mut Report<'_>,
) {
    let Ok(kind) = Kind::parse(&args.kind) else {
        report.error(unknown_kind(&args.kind));
        return;
    };
    let format = match Format::parse(args.output.as_deref()) {
        Ok(f) => f,
        Err(e) => return report.error(e),
    };
    let all = args.all_namespaces && kind.namespaced();
    let namespace = (kind.namespaced() && !all)
        .then(|| namespace_or_default(args.namespace.as_deref()).to_owned());
    if let Some(name) = &args.object {
        if args.all_namespaces {
            report.error("error: a resource cannot be retrieved by name across all namespaces");
            return;
        }
        let object = match ObjectKey::new(kind, namespace.as_deref(), name) {
            Ok(key) => api.get(&key).await,
            Err(e) => return report.error(format!("error: {e}")),
        };
        match object {
            Ok(object) => print_one(&object, format, now_secs, report),
            Err(e) => report.error(server_error(&e, None)),
        }
        return;
    }
    let list = match api.list(kind, namespace.as_deref()).await {
        Ok(list) => list,
        Err(e) => return report.error(server_error(&e, None)),
    };
    for entry in &list.invalid {
        report.note(format!("Warning: skipped {}: {}", entry.key, entry.reason));
    }
    let layout = Layout {
        wide: format == Format::Wide,
        namespace_column: all,
    };
    print_list(
        kind,
        &list,
        format,
        layout,
        now_secs,
        namespace.as_deref(),
        report,
    );
}

fn print_one(object: &Object, format: Format, now_secs: i64, report: &mut Report<'_>) {
    match format {
        Format::Table | Format::Wide => {
            let layout = Layout {
                wide: format == Format::Wide,
                namespace_column: false,
            };
            let text = table::render(
                object.kind(),
                std::slice::from_ref(object),
                layout,
                now_secs,
            );
            report.out_raw(&text);
        }
        Format::Name => report.out(format!("{}/{}", kind_ref(object.kind()), object.name())),
        Format::Json => report.out(to_json(object)),
        Format::Yaml => report.out_raw(&to_yaml(object)),
    }
}

fn print_list(
    kind: Kind,
    list: &ObjectList,
    format: Format,
    layout: Layout,
    now_secs: i64,
    namespace: Option<&str>,
    report: &mut Report<'_>,
) {
    if list.items.is_empty() && matches!(format, Format::Table | Format::Wide | Format::Name) {
        match namespace {
            Some(ns) => report.note(format!("No resources found in {ns} namespace.")),
            None => report.note("No resources found"),
        }
        return;
    }
    match format {
        Format::Table | Format::Wide => {
            report.out_raw(&table::render(kind, &list.items, layout, now_secs));
        }
        Format::Name => {
            for o in &list.items {
                report.out(format!("{}/{}", kind_ref(kind), o.name()));
            }
        }
        Format::Json | Format::Yaml => {
            let out = List {
                api_version: "v1",
                items: &list.items,
                kind: "List",
                metadata: ListMeta {
                    resource_version: list.revision.to_string(),
                },
            };
            if format == Format::Json {
                report.out(to_json(&out));
            } else {
                report.out_raw(&to_yaml(&out));
            }
        }
    }
}

/// JSON indented by four spaces, as kubectl prints it.
fn to_json(value: &impl Serialize) -> String {
    let mut buf = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, formatter);
    // Objects and lists always serialize: every map key is a string.
    let _ = value.serialize(&mut ser);
    String::from_utf8_lossy(&buf).into_owned()
}

fn to_yaml(value: &impl Serialize) -> String {
    serde_yaml_ng::to_string(value).unwrap_or_default()
}
