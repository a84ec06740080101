#!/usr/bin/env bash
# The main job from the command line: generate the demo study, list its jobs, dry-run one.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-demo-study}"
rm -rf "$OUT"
node dist/cli.js simulate --out "$OUT"
node dist/cli.js list --workspace "$OUT"
node dist/cli.js dry-run --workspace "$OUT" --dose 1000 --view baseline
