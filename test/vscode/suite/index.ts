// Loaded by the real VS Code extension host (extensionTestsPath): runs the suite with mocha and writes
// the results as JSON (the most reliable channel out of the extension host), after every test.
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
    let running: string | undefined;
    // Written after every test (atomically), so a run stopped by the runner's timeout still says what passed
    // and which test was running.
    const write = (complete: boolean) => {
      const passed = results.filter((r) => r.state === 'passed').length;
      const failed = results.filter((r) => r.state === 'failed').length;
      fs.mkdirSync(path.dirname(resultFile), { recursive: true });
      const tmp = `${resultFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ complete, running: complete ? undefined : running, passed, failed, results, vscodeVersion: vscode.version, nodeVersion: process.version }, null, 2));
      fs.renameSync(tmp, resultFile);
      return { passed, failed };
    };
    const runner = mocha.run((failures) => {
      const { passed, failed } = write(true);
      console.log(`${passed} passed, ${failed} failed`);
      failures > 0 ? reject(new Error(`${failures} tests failed.`)) : resolve();
    });
    runner.on('test', (t) => { running = t.fullTitle(); write(false); });
    runner.on('pass', (t) => { running = undefined; results.push({ title: t.fullTitle(), state: 'passed', ms: t.duration }); write(false); });
    runner.on('fail', (t, err) => { running = undefined; results.push({ title: t.fullTitle(), state: 'failed', err: String((err as Error)?.stack || err) }); write(false); });
    runner.on('pending', (t) => { results.push({ title: t.fullTitle(), state: 'skipped' }); write(false); });
  });
}
