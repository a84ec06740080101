#!/usr/bin/env bash
# The main job from the command line: generate the demo study, list its jobs, dry-run one, then really train
# it (a short run: onnxruntime on this machine's CPU, or CUDA where installed) and show its results.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-demo-study}"
EPOCHS="${DEMO_EPOCHS:-8}"
rm -rf "$OUT"
node dist/cli.js simulate --out "$OUT"
node dist/cli.js list --workspace "$OUT"
node dist/cli.js dry-run --workspace "$OUT" --dose 100000 --view baseline
node dist/cli.js train --workspace "$OUT" --dose 100000 --view baseline --epochs "$EPOCHS"
JOB="$OUT/phase_e/dose_100000/baseline/gs1"
echo
echo "Results in $JOB:"
ls -1 "$JOB"
node -e '
const m = require(process.argv[1] + "/metrics.json");
const row = (k, t, u) => `  ${k.padEnd(10)} trained ${Number(t).toFixed(4)}   untrained ${Number(u).toFixed(4)}`;
for (const part of ["amplitude", "phase"]) {
  console.log(part + ":");
  for (const k of ["mae", "ssim", "msSsim", "psnr"]) console.log(row(k, m[part][k], m.untrained[part][k]));
}' "$(cd "$JOB" && pwd)"
