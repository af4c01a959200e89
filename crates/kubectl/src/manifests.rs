//! `-f FILE|DIR|-`: reading and decoding the manifests `apply` and `delete` take, as kubectl
//! does: a file, every `.yaml`/`.yml`/`.json` file of a directory (sorted, not recursive), or
//! stdin (`-`, named `STDIN` in messages). A source that cannot be read or decoded yields an
//! error and no objects; the other sources still count.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use podnet_model::{parse_manifests, Object};

/// How stdin is named in messages, as kubectl names it.
pub const STDIN: &str = "STDIN";
/// The file name endings taken from a directory.
const EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// The objects of one source, or why there are none.
#[derive(Debug)]
pub struct Source {
    /// The path as given, or [`STDIN`].
    pub name: String,
    pub objects: Result<Vec<Object>, String>,
}

/// Reads every `-f` argument, in order (a directory expands to its files).
pub fn read(args: &[String]) -> Vec<Source> {
    let mut sources = Vec::new();
    for arg in args {
        if arg == "-" {
            let mut text = String::new();
            let objects = std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("read stdin: {e}"))
                .and_then(|_| decode(&text));
            sources.push(Source {
                name: STDIN.into(),
                objects,
            });
            continue;
        }
        let path = Path::new(arg);
        if path.is_dir() {
            match files_of(path) {
                Ok(files) => sources.extend(files.iter().map(|f| read_file(&f.to_string_lossy()))),
                Err(e) => sources.push(Source {
                    name: arg.clone(),
                    objects: Err(format!("{e:#}")),
                }),
            }
        } else {
            sources.push(read_file(arg));
        }
    }
    sources
}

/// Decodes one text; the error is worded for `error parsing SOURCE: ...`.
pub fn decode(text: &str) -> Result<Vec<Object>, String> {
    parse_manifests(text).map_err(|e| e.to_string())
}

fn read_file(name: &str) -> Source {
    let objects = std::fs::read_to_string(name)
        .map_err(|e| format!("read {name}: {e}"))
        .and_then(|text| decode(&text));
    Source {
        name: name.to_owned(),
        objects,
    }
}

fn files_of(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("read directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| EXTENSIONS.contains(&e))
        })
        .collect();
    files.sort();
    Ok(files)
}
