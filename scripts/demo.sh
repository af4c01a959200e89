#!/usr/bin/env bash
# The main job: install what is needed, build podnet, and run the one-node demo (two pods wired
# by the real CNI plugin inside namespaces the demo creates and removes). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked --bin podnet
exec ./target/release/podnet demo "$@"
