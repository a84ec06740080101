#!/usr/bin/env bash
# Runs every test tier and ends with one combined line "N passed, N failed".
# Tiers: type-check (tsc --noEmit), bundle (esbuild), unit tests (mocha on plain Node: core, CLI, real child
# processes), extension-host tests (mocha inside a real VS Code: code-server 4.139.1) and UI checks
# (Playwright + Debian Chromium, screenshots in $ARTIFACTS_DIR/screenshots).
# PTYCHO_SKIP_VSCODE=1 runs only the first three tiers (quick local loop). The Slurm tests (test/unit/slurm.test.ts)
# run on a real single-node Slurm that scripts/slurm-local.sh installs (apt, as root) and starts first;
# PTYCHO_SKIP_SLURM=1 leaves it out (the Slurm tests then skip).
set -uo pipefail
cd "$(dirname "$0")/.."
ART="${ARTIFACTS_DIR:-$PWD/.artifacts}"
mkdir -p "$ART"
passed=0
failed=0

count_check() { # name, exit code
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "check $1: ok"; else failed=$((failed + 1)); echo "check $1: FAILED"; fi
}

add_json_counts() { # file, exit code, tier
  if [ -f "$1" ]; then
    p=$(node -e "console.log(require('$1').passed)"); f=$(node -e "console.log(require('$1').failed)")
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); echo "$3 exited $2"; fi
  else
    failed=$((failed + 1)); echo "$3 produced no results (exit $2)"
  fi
}

echo "== type-check"
timeout 600 npx tsc --noEmit -p . && timeout 600 npx tsc --noEmit -p tsconfig.webview.json; count_check typecheck $?

echo "== bundle"
timeout 300 node esbuild.mjs; rc=$?; count_check bundle $rc
if [ $rc -ne 0 ]; then echo "$passed passed, $failed failed"; exit 1; fi

echo "== Slurm (a real single-node cluster for the Slurm tests: scripts/slurm-local.sh)"
if [ "${PTYCHO_SKIP_SLURM:-0}" != "1" ]; then
  timeout 900 bash scripts/slurm-local.sh start; rc=$?; count_check slurm-setup $rc
  # The Slurm tests must run, not skip, once the cluster is up.
  [ $rc -eq 0 ] && export PTYCHO_REQUIRE_SLURM=1
fi

echo "== unit tests"
rm -f "$ART/unit.json"
MOCHA_RESULTS="$ART/unit.json" timeout 1380 npx mocha --config .mocharc.json
add_json_counts "$ART/unit.json" $? unit-tests

if [ "${PTYCHO_SKIP_VSCODE:-0}" != "1" ]; then
  echo "== real VS Code: setup (code-server 4.139.1, Node 24, chromium; cached in .tools/)"
  timeout 1200 bash scripts/setup-vscode-host.sh; rc=$?; count_check vscode-setup $rc
  if [ $rc -eq 0 ]; then
    echo "== real VS Code: extension-host tests"
    rm -f "$ART/exthost.json"
    timeout 600 node test/vscode/run-exthost.mjs; add_json_counts "$ART/exthost.json" $? exthost
    echo "== real VS Code: a window reload during a training run (two extension hosts)"
    rm -f "$ART/reload.json"
    timeout 600 node test/vscode/run-reload.mjs; add_json_counts "$ART/reload.json" $? window-reload
    echo "== real VS Code: package every target's .vsix (scripts/package.mjs), install linux-x64's"
    rm -f "$ART/vsix.json"
    timeout 300 node test/vscode/check-vsix.mjs; add_json_counts "$ART/vsix.json" $? vsix
    echo "== real VS Code: UI checks (screenshots in $ART/screenshots)"
    rm -f "$ART/ui.json"
    timeout 600 node test/vscode/ui-checks.mjs; add_json_counts "$ART/ui.json" $? ui-checks
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
