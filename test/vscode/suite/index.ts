// Loaded by the real VS Code extension host (extensionTestsPath): runs the suite with mocha and writes
// the results as JSON (the most reliable channel out of the extension host).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Mocha from 'mocha';
import * as vscode from 'vscode';

export function run(): Promise<void> {
  const resultFile = process.env.PTYCHO_TEST_RESULTS || path.join(os.tmpdir(), 'ptycho-exthost-results.json');
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000 });
  // PTYCHO_TEST_FILES (from EXTHOST_FILES of run-exthost.mjs): comma-separated parts of file names to run only those.
  const only = (process.env.PTYCHO_TEST_FILES ?? '').split(',').map((x) => x.trim()).filter(Boolean);
  for (const f of fs.readdirSync(__dirname).sort()) {
    if (f.endsWith('.test.js') && (only.length === 0 || only.some((o) => f.includes(o)))) mocha.addFile(path.join(__dirname, f));
  }
  return new Promise((resolve, reject) => {
    const results: { title: string; state: string; ms?: number; err?: string }[] = [];
    const runner = mocha.run((failures) => {
      const passed = results.filter((r) => r.state === 'passed').length;
      const failed = results.filter((r) => r.state === 'failed').length;
      fs.mkdirSync(path.dirname(resultFile), { recursive: true });
      fs.writeFileSync(resultFile, JSON.stringify({ passed, failed, results, vscodeVersion: vscode.version, nodeVersion: process.version }, null, 2));
      console.log(`${passed} passed, ${failed} failed`);
      failures > 0 ? reject(new Error(`${failures} tests failed.`)) : resolve();
    });
    runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed', ms: t.duration }));
    runner.on('fail', (t, err) => results.push({ title: t.fullTitle(), state: 'failed', err: String((err as Error)?.stack || err) }));
    runner.on('pending', (t) => results.push({ title: t.fullTitle(), state: 'skipped' }));
  });
}
