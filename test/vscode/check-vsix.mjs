// Packages the extension with vsce (linux-x64: it carries onnxruntime-node's linux-x64 binary for the training
// worker) and installs the .vsix into the pinned code-server: the package must install in a real VS Code, must
// not carry sources, tests or fixtures, and its bundled worker must really train a job.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, NODE24, CODE_SERVER } from './codeServer.mjs';

const ART = process.env.ARTIFACTS_DIR ?? path.join(repoRoot, '.artifacts');
const results = [];
const check = (name, fn) => {
  try { fn(); results.push({ name, ok: true }); console.log(`  ✓ ${name}`); } catch (err) { results.push({ name, ok: false, err: String(err) }); console.log(`  ✗ ${name}: ${err.message}`); }
};
const vsix = path.join(ART, 'ptychopinn-study-workbench.vsix');
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
check('vsce packages the extension', () => {
  fs.rmSync(vsix, { force: true });
  execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'vsce'), ['package', '--target', 'linux-x64', '--allow-missing-repository', '-o', vsix], { cwd: repoRoot, stdio: 'pipe' });
  if (!fs.existsSync(vsix)) throw new Error('no .vsix written');
});
check('the package holds bundles and media only', () => {
  const listing = execFileSync(path.join(repoRoot, 'node_modules', '.bin', 'vsce'), ['ls'], { cwd: repoRoot, encoding: 'utf8' }).split('\n').filter(Boolean);
  const bad = listing.filter((f) => /^(src|test|tools|scripts|out)\//.test(f) || f.endsWith('.ts') || f.endsWith('.npz')
    || (f.startsWith('node_modules/') && !/^node_modules\/onnxruntime-(node|common)\//.test(f)) || /bin\/napi-v6\/(?!linux\/x64)/.test(f));
  for (const f of ['dist/worker.js', 'dist/iterative-thread.js', 'node_modules/onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node']) if (!listing.includes(f)) throw new Error(`${f} missing (training needs it)`);
  if (bad.length) throw new Error(`unexpected files: ${bad.join(', ')}`);
  if (!listing.includes('dist/extension.js')) throw new Error('dist/extension.js missing');
  for (const f of ['dist/webview/npzPreview.js', 'media/webview.css']) if (!listing.includes(f)) throw new Error(`${f} missing (the NPZ preview page)`);
  for (const f of ['LICENSE', 'CHANGELOG.md', 'ThirdPartyNotices.txt']) if (!listing.includes(f)) throw new Error(`${f} missing (the license, the changes, onnxruntime's notice)`);
  if (JSON.stringify(pkg.extensionKind) !== '["workspace"]') throw new Error(`extensionKind is ${JSON.stringify(pkg.extensionKind)}: the extension runs where the study's files are`);
  const size = fs.statSync(vsix).size;
  console.log(`    ${listing.length} files, ${(size / 1024).toFixed(0)} KiB`);
});
let installed;
check('the .vsix installs in code-server (VS Code 1.139.1) and its bundled worker trains a job', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-vsix-'));
  try {
    const env = { ...process.env, PATH: `${path.join(NODE24, 'bin')}:${process.env.PATH}`, XDG_CONFIG_HOME: dir, XDG_DATA_HOME: dir, XDG_CACHE_HOME: dir };
    const args = [CODE_SERVER, '--extensions-dir', path.join(dir, 'exts'), '--user-data-dir', path.join(dir, 'data')];
    execFileSync(path.join(NODE24, 'bin', 'node'), [...args, '--install-extension', vsix], { env, stdio: 'pipe' });
    const list = execFileSync(path.join(NODE24, 'bin', 'node'), [...args, '--list-extensions', '--show-versions'], { env, encoding: 'utf8' });
    const want = `${pkg.publisher}.${pkg.name}@${pkg.version}`;
    if (!list.includes(want)) throw new Error(`installed extensions: ${list.trim()} (want ${want})`);
    installed = fs.readdirSync(path.join(dir, 'exts')).map((d) => path.join(dir, 'exts', d)).find((d) => fs.existsSync(path.join(d, 'dist', 'worker.js')));
    if (!installed) throw new Error('the installed extension has no dist/worker.js');
    // The installed copy trains on its own: its worker loads the onnxruntime it carries (on the extension host's Node 24).
    const study = path.join(dir, 'study');
    const cli = path.join(installed, 'dist', 'cli.js');
    execFileSync(path.join(NODE24, 'bin', 'node'), [cli, 'simulate', '--out', study, '--n-images', '48', '--doses', '1e4'], { stdio: 'pipe' });
    execFileSync(path.join(NODE24, 'bin', 'node'), [cli, 'train', '--workspace', study, '--view', 'baseline', '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1'], { stdio: 'pipe', timeout: 240_000 });
    const m = JSON.parse(fs.readFileSync(path.join(study, 'phase_e', 'dose_10000', 'baseline', 'gs1', 'manifest.json'), 'utf8'));
    if (m.status !== 'succeeded') throw new Error(`training from the installed .vsix: ${m.status} ${m.reason ?? ''}`);
    console.log(`    the installed extension trained dose_10000/baseline/gs1 (onnxruntime ${m.runtime.onnxruntime}, ${m.runtime.executionProviderUsed})`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
const passed = results.filter((r) => r.ok).length;
fs.writeFileSync(path.join(ART, 'vsix.json'), JSON.stringify({ passed, failed: results.length - passed, results }, null, 2));
console.log(`${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length ? 0 : 1);
