#!/usr/bin/env node
// Builds the platform-specific .vsix packages: one per VS Code target, each carrying only that platform's
// onnxruntime-node binaries (the training worker loads them; a package with all of them would be ~300 MB).
//
//   node scripts/package.mjs                       production build, then every target → dist-vsix/
//   node scripts/package.mjs --target linux-x64    only the listed targets (repeatable)
//   node scripts/package.mjs --no-build            package the bundles already in dist/ (the vsix check)
//   node scripts/package.mjs --out-dir DIR         write DIR/ptychopinn-study-workbench-<target>.vsix
//
// For each target it writes a copy of .vscodeignore whose onnxruntime binary line names that target's folder
// (bin/napi-v6/<platform>/<arch>) and runs `vsce package --target <t> --ignoreFile <copy>`. No repository URL:
// the project has no public repository (--allow-missing-repository).
//
// vsce runs in a staging folder, not in the repository: it lists every file under its working folder and
// matches each against every ignore pattern (minimatch, recompiled per file), which takes 20-35 s here with
// .tools/ (code-server) in the tree. The staging folder holds a superset of what the ignore file lets through
// (for each `!pattern`, the folder above its first wildcard) and the package.json of every production
// dependency (vsce's `npm list --production` needs them); vsce still applies the ignore file itself.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** VS Code target → onnxruntime-node's binary folder (node_modules/onnxruntime-node/bin/napi-v6/<folder>). */
export const TARGETS = {
  'linux-x64': 'linux/x64',
  'linux-arm64': 'linux/arm64',
  'darwin-arm64': 'darwin/arm64',
  'win32-x64': 'win32/x64',
  'win32-arm64': 'win32/arm64',
};
export const BIN_DIR = 'node_modules/onnxruntime-node/bin/napi-v6';
export const vsixName = (target) => `ptychopinn-study-workbench-${target}.vsix`;

/** The line of .vscodeignore that ships onnxruntime's binaries (the base file names linux/x64). */
const BIN_LINE = /^!node_modules\/onnxruntime-node\/bin\/napi-v6\/.*$/m;

/** .vscodeignore with its binary line naming `target`'s folder. */
export function ignoreFileFor(target, base = fs.readFileSync(path.join(repoRoot, '.vscodeignore'), 'utf8')) {
  const folder = TARGETS[target];
  if (!folder) throw new Error(`unknown target ${target} (known: ${Object.keys(TARGETS).join(', ')})`);
  const lines = base.split('\n').filter((l) => BIN_LINE.test(l));
  if (lines.length !== 1) throw new Error(`.vscodeignore must have exactly one "!${BIN_DIR}/…" line, found ${lines.length}`);
  return base.replace(BIN_LINE, `!${BIN_DIR}/${folder}/**`);
}

function parseArgs(argv) {
  const opts = { targets: [], build: true, outDir: path.join(repoRoot, 'dist-vsix') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--target' || a === '-t') opts.targets.push(...value().split(',').filter(Boolean));
    else if (a.startsWith('--target=')) opts.targets.push(...a.slice('--target='.length).split(',').filter(Boolean));
    else if (a === '--no-build') opts.build = false;
    else if (a === '--out-dir') opts.outDir = path.resolve(value());
    else if (a === '--help' || a === '-h') opts.help = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (opts.targets.length === 0) opts.targets = Object.keys(TARGETS);
  for (const t of opts.targets) if (!TARGETS[t]) throw new Error(`unknown target ${t} (known: ${Object.keys(TARGETS).join(', ')})`);
  opts.targets = [...new Set(opts.targets)];
  return opts;
}

const GLOB_CHARS = /[*?[\]{}()!+@]/;

/** A regular expression for one path segment with `*`, `?` and `{a,b}` wildcards; null for anything fancier. */
function segmentRegExp(seg) {
  if (/[[\]()!+@]/.test(seg)) return null;
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const close = seg.indexOf('}', i);
      if (close < 0) return null;
      re += `(?:${seg.slice(i + 1, close).split(',').map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`;
      i = close;
    } else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * The files and folders (repository-relative) that hold everything `ignoreText`'s `!patterns` can let through:
 * for each pattern, the folder above its first wildcard segment (`!dist/webview/*.js` → dist/webview), or, for a
 * wildcard in the first segment (`!package.nls*.json`), the top-level entries it matches.
 */
export function stagingRoots(ignoreText, root = repoRoot) {
  const roots = new Set(['package.json', 'README.md']); // vsce always includes these
  for (const raw of ignoreText.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line.startsWith('!')) continue;
    const segments = line.slice(1).replace(/^\/+/, '').split('/');
    const literal = [];
    for (const seg of segments) {
      if (GLOB_CHARS.test(seg)) break;
      literal.push(seg);
    }
    if (literal.length > 0) {
      roots.add(literal.join('/'));
      continue;
    }
    const re = segmentRegExp(segments[0]);
    if (!re || segments[0] === '**') throw new Error(`.vscodeignore: "${line}" starts with a wildcard scripts/package.mjs cannot stage`);
    for (const name of fs.readdirSync(root)) if (re.test(name)) roots.add(name);
  }
  return [...roots];
}

/** Production dependencies as vsce finds them (`npm list --production`), repository-relative. */
function productionDependencies() {
  const out = execFileSync('npm', ['list', '--production', '--parseable', '--depth=99999', '--loglevel=error'], { cwd: repoRoot, encoding: 'utf8' });
  return out.split(/\r?\n/).filter((d) => path.isAbsolute(d)).map((d) => path.relative(repoRoot, d)).filter((d) => d !== '');
}

/** A staging folder for `ignoreText`: the roots it names, copied, and every production dependency's package.json. */
function stage(dir, ignoreText, deps) {
  for (const dep of deps) {
    fs.mkdirSync(path.join(dir, dep), { recursive: true });
    fs.copyFileSync(path.join(repoRoot, dep, 'package.json'), path.join(dir, dep, 'package.json'));
  }
  for (const root of stagingRoots(ignoreText)) {
    const src = path.join(repoRoot, root);
    if (!fs.existsSync(src)) continue;
    fs.cpSync(src, path.join(dir, root), { recursive: true, dereference: true });
  }
}

/** Packages `targets`; returns [{ target, file, bytes, seconds }]. */
export function packageTargets({ targets, build = true, outDir, log = console.log }) {
  for (const t of targets) {
    const binding = path.join(repoRoot, BIN_DIR, TARGETS[t], 'onnxruntime_binding.node');
    if (!fs.existsSync(binding)) throw new Error(`${t}: ${path.relative(repoRoot, binding)} is missing (ONNXRUNTIME_NODE_INSTALL=skip npm ci installs every platform's binaries)`);
  }
  if (build) {
    const t0 = Date.now();
    execFileSync(process.execPath, ['esbuild.mjs', '--production'], { cwd: repoRoot, stdio: 'inherit' });
    log(`production build: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-vsix-'));
  const vsce = path.join(repoRoot, 'node_modules', '@vscode', 'vsce', 'vsce');
  const deps = productionDependencies();
  const results = [];
  try {
    for (const target of targets) {
      const t0 = Date.now();
      const ignoreText = ignoreFileFor(target);
      const ignoreFile = path.join(tmp, `vscodeignore-${target}`);
      fs.writeFileSync(ignoreFile, ignoreText);
      const cwd = path.join(tmp, `stage-${target}`);
      stage(cwd, ignoreText, deps);
      const file = path.join(outDir, vsixName(target));
      fs.rmSync(file, { force: true });
      try {
        execFileSync(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--allow-missing-repository', '-o', file],
          { cwd, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
      } catch (err) {
        throw new Error(`vsce package --target ${target} failed:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
      } finally {
        fs.rmSync(cwd, { recursive: true, force: true });
      }
      if (!fs.existsSync(file)) throw new Error(`vsce package --target ${target} wrote no ${file}`);
      const r = { target, file, bytes: fs.statSync(file).size, seconds: (Date.now() - t0) / 1000 };
      results.push(r);
      log(`${target.padEnd(13)} ${(r.bytes / 2 ** 20).toFixed(1).padStart(6)} MiB  ${r.seconds.toFixed(1).padStart(5)} s  ${path.relative(process.cwd(), file) || file}`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const opts = parseArgs(process.argv.slice(2));
    if (opts.help) {
      console.log(`usage: node scripts/package.mjs [--target T]... [--no-build] [--out-dir DIR]\ntargets: ${Object.keys(TARGETS).join(', ')} (default: all)`);
    } else {
      const t0 = Date.now();
      const results = packageTargets(opts);
      console.log(`${results.length} package(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
  } catch (err) {
    console.error(`package: ${err.message}`);
    process.exit(1);
  }
}
