// Runs the mocha suite inside the real VS Code extension host (code-server), on an empty workspace
// folder that the suite fills with a generated demo study. Prints "N passed, N failed" and exits non-zero
// on failures. Results: $ARTIFACTS_DIR/exthost.json. EXTHOST_FILES (comma-separated parts of file names) runs a
// subset, e.g. EXTHOST_FILES=phase-f.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, startCodeServer, launchBrowser } from './codeServer.mjs';

const ART = process.env.ARTIFACTS_DIR ?? path.join(repoRoot, '.artifacts');
fs.mkdirSync(ART, { recursive: true });
const results = path.join(ART, 'exthost.json');
fs.rmSync(results, { force: true });
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-cs-'));
const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-ws-'));
// A guard against a hung suite, not a timing check: the suite takes 3-5 min on 2 cores (under test-all.sh's 600 s).
const TIMEOUT_MS = Number(process.env.EXTHOST_TIMEOUT_MS ?? 480_000);

// EXTHOST_FILES=phase-f,z-panels runs only the suite files whose names contain one of these parts.
const server = await startCodeServer({ runDir, env: { PTYCHO_TEST_RESULTS: results, PTYCHO_TEST_WORKSPACE: workspace, PTYCHO_TEST_FILES: process.env.EXTHOST_FILES ?? '' } });
const browser = await launchBrowser();
let exitCode;
try {
  const exited = new Promise((resolve) => browser.page.exposeFunction('codeAutomationExit', (code) => resolve(code)));
  await browser.page.exposeFunction('codeAutomationLog', (type, args) => {
    if (process.env.EXTHOST_VERBOSE) console.log('[exthost]', type, ...(args ?? []));
  });
  await browser.page.goto(server.url({ folder: workspace, testsPath: path.join(repoRoot, 'out', 'test', 'vscode', 'suite', 'index.js') }));
  exitCode = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), TIMEOUT_MS))]);
  await browser.page.screenshot({ path: path.join(ART, 'exthost-final.png') }).catch(() => undefined);
} finally {
  await browser.close();
  server.stop();
}
let doc;
try {
  doc = JSON.parse(fs.readFileSync(results, 'utf8'));
} catch {
  console.error(`extension-host tests wrote no results (exit: ${exitCode}); code-server log: ${path.join(runDir, 'server.log')}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
for (const r of doc.results) {
  console.log(`  ${r.state === 'passed' ? '✓' : r.state === 'skipped' ? '-' : '✗'} ${r.title}${r.ms !== undefined ? ` (${r.ms} ms)` : ''}`);
  if (r.err) console.log(r.err.split('\n').map((l) => `      ${l}`).join('\n'));
}
let failed = doc.failed;
if (!doc.complete) {
  // Stopped by the timeout (or the host died): the results so far are above; the test that was running fails.
  failed += 1;
  console.log(`  ✗ ${doc.running ?? '(a hook between tests)'}`);
  console.log(`      the suite did not finish (exit: ${exitCode}, limit ${TIMEOUT_MS / 1000} s); code-server log: ${path.join(runDir, 'server.log')}`);
} else {
  fs.rmSync(workspace, { recursive: true, force: true });
  fs.rmSync(runDir, { recursive: true, force: true });
}
console.log(`VS Code ${doc.vscodeVersion}, extension host Node ${doc.nodeVersion}`);
console.log(`${doc.passed} passed, ${failed} failed`);
process.exit(failed > 0 || exitCode === 'timeout' ? 1 : 0);
