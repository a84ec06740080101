// Packages the extension for every VS Code target with scripts/package.mjs (one .vsix per platform, each carrying
// only that platform's onnxruntime-node binaries for the training worker), checks each package's contents, and
// installs the linux-x64 .vsix into the pinned code-server: the package must install in a real VS Code, must not
// carry sources, tests or fixtures, and its bundled worker must really train a job.
// PTYCHO_VSIX_TARGETS=linux-x64,win32-x64 packages and checks a subset (linux-x64 is always built: it is installed).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { repoRoot, NODE24, CODE_SERVER } from './codeServer.mjs';
import { TARGETS, BIN_DIR, vsixName } from '../../scripts/package.mjs';

const ART = process.env.ARTIFACTS_DIR ?? path.join(repoRoot, '.artifacts');
const results = [];
const check = (name, fn) => {
  try { fn(); results.push({ name, ok: true }); console.log(`  ✓ ${name}`); } catch (err) { results.push({ name, ok: false, err: String(err) }); console.log(`  ✗ ${name}: ${err.message}`); }
};
const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
const outDir = path.join(ART, 'vsix');
const targets = [...new Set(['linux-x64', ...(process.env.PTYCHO_VSIX_TARGETS ?? Object.keys(TARGETS).join(',')).split(',').map((t) => t.trim()).filter(Boolean)])];
const vsixOf = (target) => path.join(outDir, vsixName(target));
const vsix = vsixOf('linux-x64');

/** A .vsix (zip) read whole: its entries by name, each { data() } inflated on demand. */
function readZip(file) {
  const buf = fs.readFileSync(file);
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) if (buf.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
  if (eocd < 0) throw new Error(`${path.basename(file)}: no zip end-of-central-directory record`);
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let n = 0; n < count; n++) {
    if (buf.readUInt32LE(p) !== 0x02014b50) throw new Error(`${path.basename(file)}: bad central directory entry ${n}`);
    const method = buf.readUInt16LE(p + 10);
    const csize = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.toString('utf8', p + 46, p + 46 + nameLen);
    entries.set(name, {
      data() {
        const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
        const raw = buf.subarray(start, start + csize);
        return method === 0 ? raw : zlib.inflateRawSync(raw);
      },
    });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** The platform of a native binary from its header: linux-x64, darwin-arm64, win32-x64, … */
function binaryTarget(b) {
  if (b.readUInt32BE(0) === 0x7f454c46) return `linux-${({ 0x3e: 'x64', 0xb7: 'arm64' })[b.readUInt16LE(18)] ?? `machine 0x${b.readUInt16LE(18).toString(16)}`}`;
  if (b.readUInt32LE(0) === 0xfeedfacf) return `darwin-${({ 0x01000007: 'x64', 0x0100000c: 'arm64' })[b.readUInt32LE(4)] ?? `cpu 0x${b.readUInt32LE(4).toString(16)}`}`;
  if (b.readUInt16LE(0) === 0x5a4d) {
    const pe = b.readUInt32LE(0x3c);
    if (b.readUInt32LE(pe) === 0x00004550) return `win32-${({ 0x8664: 'x64', 0xaa64: 'arm64' })[b.readUInt16LE(pe + 4)] ?? `machine 0x${b.readUInt16LE(pe + 4).toString(16)}`}`;
  }
  return `unknown (magic 0x${b.readUInt32BE(0).toString(16)})`;
}

check(`scripts/package.mjs packages ${targets.join(', ')}`, () => {
  fs.rmSync(outDir, { recursive: true, force: true });
  const args = [path.join(repoRoot, 'scripts', 'package.mjs'), '--no-build', '--out-dir', outDir, ...targets.flatMap((t) => ['--target', t])];
  const out = execFileSync(process.execPath, args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  for (const line of out.trim().split('\n')) console.log(`    ${line}`);
  for (const t of targets) if (!fs.existsSync(vsixOf(t))) throw new Error(`no ${vsixName(t)} written`);
});
for (const target of targets) {
  check(`${target}: the package holds bundles, media and ${target}'s onnxruntime only`, () => {
    const zip = readZip(vsixOf(target));
    const listing = [...zip.keys()].filter((f) => f.startsWith('extension/')).map((f) => f.slice('extension/'.length));
    const bad = listing.filter((f) => /^(src|test|tools|scripts|out|\.tools|\.artifacts|dist-vsix)\//.test(f) || f.endsWith('.ts') || f.endsWith('.map') || f.endsWith('.npz')
      || (f.startsWith('node_modules/') && !/^node_modules\/onnxruntime-(node|common)\//.test(f)));
    if (bad.length) throw new Error(`unexpected files: ${bad.join(', ')}`);
    for (const f of ['dist/extension.js', 'dist/cli.js', 'dist/worker.js', 'dist/iterative-thread.js', 'dist/refinement-thread.js']) if (!listing.includes(f)) throw new Error(`${f} missing`);
    for (const f of ['dist/webview/npzPreview.js', 'media/webview.css']) if (!listing.includes(f)) throw new Error(`${f} missing (the NPZ preview page)`);
    for (const f of ['l10n/bundle.l10n.json', 'package.nls.json', 'media/walkthrough/study.md']) if (!listing.includes(f)) throw new Error(`${f} missing (the translations' English bundles, the walkthrough)`);
    for (const f of ['LICENSE.txt', 'changelog.md', 'readme.md', 'ThirdPartyNotices.txt']) if (!listing.includes(f)) throw new Error(`${f} missing (the license, the changes, the README, onnxruntime's notice)`);
    if (pkg.icon && !listing.includes(pkg.icon)) throw new Error(`the icon ${pkg.icon} is missing`);
    // Exactly this target's binary folder, every file of it, and no other platform's.
    const own = `${BIN_DIR}/${TARGETS[target]}/`;
    const binaries = listing.filter((f) => f.startsWith(`${BIN_DIR}/`));
    const foreign = binaries.filter((f) => !f.startsWith(own));
    if (foreign.length) throw new Error(`other platforms' binaries: ${foreign.join(', ')}`);
    const want = fs.readdirSync(path.join(repoRoot, own)).map((f) => own + f).sort();
    if (JSON.stringify(binaries.sort()) !== JSON.stringify(want)) throw new Error(`binaries ${binaries.join(', ')}; node_modules has ${want.join(', ')}`);
    const kind = binaryTarget(zip.get(`extension/${own}onnxruntime_binding.node`).data());
    if (kind !== target) throw new Error(`onnxruntime_binding.node is a ${kind} binary`);
    // The manifest names the target (VS Code installs it only there); package.json is the repository's.
    const manifest = zip.get('extension.vsixmanifest').data().toString('utf8');
    const platform = /TargetPlatform="([^"]*)"/.exec(manifest)?.[1];
    if (platform !== target) throw new Error(`extension.vsixmanifest TargetPlatform is ${platform}`);
    const shipped = JSON.parse(zip.get('extension/package.json').data().toString('utf8'));
    for (const key of ['name', 'publisher', 'version', 'main', 'icon']) if (shipped[key] !== pkg[key]) throw new Error(`extension/package.json ${key} is ${shipped[key]}, package.json has ${pkg[key]}`);
    if (JSON.stringify(shipped.engines) !== JSON.stringify(pkg.engines)) throw new Error(`extension/package.json engines ${JSON.stringify(shipped.engines)}`);
    if (JSON.stringify(shipped.extensionKind) !== '["workspace"]') throw new Error(`extensionKind is ${JSON.stringify(shipped.extensionKind)}: the extension runs where the study's files are`);
    console.log(`    ${listing.length} files, ${(fs.statSync(vsixOf(target)).size / 2 ** 20).toFixed(1)} MiB, onnxruntime_binding.node: ${kind}`);
  });
}
let installed;
check('the linux-x64 .vsix installs in code-server (VS Code 1.139.1) and its bundled worker trains a job', () => {
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
