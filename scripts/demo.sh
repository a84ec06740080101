#!/usr/bin/env bash
# The main job from the command line: generate the demo study, list its jobs, dry-run one, then really train
# it (onnxruntime on this machine's CPU cores, or CUDA where installed) and show its results against the ground
# truth, the untrained network and a flat predictor, on the dose's common evaluation (its Phase C test split).
# DEMO_EPOCHS (default 10), DEMO_IMAGES (patterns per dose, default 1024) and DEMO_FILTER_SCALE (network width,
# default 1: 564k parameters, three times faster than the study's 2) size it.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-demo-study}"
EPOCHS="${DEMO_EPOCHS:-10}"
IMAGES="${DEMO_IMAGES:-1024}"
WIDTH="${DEMO_FILTER_SCALE:-1}"
rm -rf "$OUT"
node dist/cli.js simulate --out "$OUT" --n-images "$IMAGES"
node dist/cli.js list --workspace "$OUT"
node dist/cli.js dry-run --workspace "$OUT" --dose 100000 --view baseline
node dist/cli.js train --workspace "$OUT" --dose 100000 --view baseline --epochs "$EPOCHS" --n-filters-scale "$WIDTH"
# The iterative baseline (Phase F, ePIE) of the same dose and view, scored on the same evaluation.
node dist/cli.js reconstruct --workspace "$OUT" --dose 100000 --view baseline
JOB="$OUT/phase_e/dose_100000/baseline/gs1"
RECON="$OUT/phase_f/dose_100000/baseline/test/epie"
echo
echo "Results in $JOB:"
ls -1 "$JOB"
node -e '
const m = require(process.argv[1] + "/metrics.json");
let it = {};
try { it = require(process.argv[2] + "/metrics.json"); } catch { /* the reconstruction failed: its column stays empty */ }
const f = (v) => (v === null || v === undefined ? "—" : Number(v).toFixed(3));
console.log(`Scored on ${m.evaluation.dataset}, region ${m.evaluation.region.width}×${m.evaluation.region.height} px (FRC50 in cycles/pixel)`);
console.log("                  trained  untrained     flat  iterative (ePIE)");
for (const part of ["amplitude", "phase"]) {
  console.log(part + ":");
  for (const [k, label] of [["pearsonCovered", "r (covered)"], ["pearson", "r (region)"], ["ssim", "SSIM"], ["msSsim", "MS-SSIM"], ["frc50", "FRC50"], ["mae", "MAE"]]) {
    console.log(`  ${label.padEnd(12)} ${f(m[part][k]).padStart(9)} ${f(m.untrained[part][k]).padStart(10)} ${f(m.flat[part][k]).padStart(8)} ${f(it[part]?.[k]).padStart(10)}`);
  }
}' "$(cd "$JOB" && pwd)" "$(cd "$RECON" 2>/dev/null && pwd || echo "$RECON")"
echo "Images: $JOB/amplitude.png, $JOB/phase.png; iterative: $RECON/amplitude.png, $RECON/phase.png"
