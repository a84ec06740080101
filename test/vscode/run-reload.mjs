// The window-reload test (issue 14): one code-server, one browser page, two extension hosts. The page opens VS Code
// in extension-test mode on workbench.reload.test.js; the first host starts a detached training run and reports;
// then this script reloads the page — VS Code's own window reload: the workbench and its extension host are torn
// down and started again — and the second host (which finds the state file the first wrote) checks that the run
// survived and re-attached, and cancels it. Prints "N passed, N failed"; results in $ARTIFACTS_DIR/reload.json.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, startCodeServer, launchBrowser } from './codeServer.mjs';

const ART = process.env.ARTIFACTS_DIR ?? path.join(repoRoot, '.artifacts');
fs.mkdirSync(ART, { recursive: true });
const out = path.join(ART, 'reload.json');
fs.rmSync(out, { force: true });
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-cs-'));
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-ws-'));
const results = path.join(runDir, 'results.json');
const state = path.join(runDir, 'reload-state.json');
const HALF_MS = 300_000;

const server = await startCodeServer({ runDir, env: { PTYCHO_TEST_RESULTS: results, PTYCHO_TEST_WORKSPACE: workspace, PTYCHO_TEST_FILES: 'workbench.reload', PTYCHO_RELOAD_STATE: state } });
const browser = await launchBrowser();
const halves = [];
let waiting;
await browser.page.exposeFunction('codeAutomationExit', (code) => waiting?.(code));
await browser.page.exposeFunction('codeAutomationLog', (type, args) => {
  if (process.env.EXTHOST_VERBOSE) console.log('[exthost]', type, ...(args ?? []));
});
const half = async (start) => {
  fs.rmSync(results, { force: true });
  const exited = new Promise((resolve) => (waiting = resolve));
  await start();
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), HALF_MS))]);
  try {
    halves.push(JSON.parse(fs.readFileSync(results, 'utf8')));
  } catch {
    halves.push({ passed: 0, failed: 1, results: [{ title: `window-reload half ${halves.length + 1}: no results (exit ${code}); code-server log ${path.join(runDir, 'server.log')}`, state: 'failed' }] });
  }
};
try {
  await half(() => browser.page.goto(server.url({ folder: workspace, testsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.js') })));
  if (halves[0].passed === 1 && fs.existsSync(state)) await half(() => browser.page.reload());
  await browser.page.screenshot({ path: path.join(ART, 'reload-final.png') }).catch(() => undefined);
} finally {
  await browser.close();
  server.stop();
}
const all = halves.flatMap((h) => h.results);
const passed = all.filter((r) => r.state === 'passed').length;
// A first half that passed but left no second half (no state file) is a failure of its own.
const secondMissing = halves.length < 2 && !all.some((r) => r.state === 'failed');
if (secondMissing) all.push({ title: 'a window reload during a training run: the second half did not run (the first wrote no state)', state: 'failed' });
const failed = all.filter((r) => r.state === 'failed').length;
for (const r of all) {
  console.log(`  ${r.state === 'passed' ? '✓' : r.state === 'skipped' ? '-' : '✗'} ${r.title}${r.ms !== undefined ? ` (${r.ms} ms)` : ''}`);
  if (r.err) console.log(r.err.split('\n').map((l) => `      ${l}`).join('\n'));
}
fs.writeFileSync(out, JSON.stringify({ passed, failed, results: all }, null, 2));
fs.rmSync(workspace, { recursive: true, force: true });
fs.rmSync(runDir, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
