// The layering rules of DEVELOPERS.md, checked on the sources: core never imports vscode; only the
// worker may load onnxruntime (never the extension host).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from './helpers/paths';

function sources(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (/\.(ts|tsx|js|mjs|cjs)$/.test(e.name)) out.push(p);
  }
  return out;
}

const importsOf = (text: string, mod: string): boolean =>
  new RegExp(`(from\\s+['"]${mod}['"]|require\\(\\s*['"]${mod}['"]\\s*\\)|import\\(\\s*['"]${mod}['"]\\s*\\))`).test(text);

describe('architecture', () => {
  it('src/core never imports vscode', () => {
    const files = sources(path.join(repoRoot, 'src', 'core'));
    assert.ok(files.length > 10, 'core sources found');
    const offenders = files.filter((f) => importsOf(fs.readFileSync(f, 'utf8'), 'vscode'));
    assert.deepEqual(offenders, []);
  });

  it('no network and no telemetry: nothing in src opens a connection (no http/https/net/tls/dgram/dns, fetch, XMLHttpRequest, WebSocket, sendBeacon)', () => {
    const net = /(from\s+['"](node:)?(http|https|http2|net|tls|dgram|dns)['"]|require\(\s*['"](node:)?(http|https|http2|net|tls|dgram|dns)['"]\s*\)|(?<![.\w])fetch\(|XMLHttpRequest|new WebSocket|sendBeacon|createTelemetryLogger|TelemetryReporter)/;
    const offenders = sources(path.join(repoRoot, 'src')).filter((f) => net.test(fs.readFileSync(f, 'utf8')));
    assert.deepEqual(offenders.map((f) => path.relative(repoRoot, f)), []);
  });

  it('every validation rule a finding can carry is explained in the README (the Problems panel links to it)', () => {
    const rules = new Set<string>();
    for (const f of sources(path.join(repoRoot, 'src', 'core', 'study'))) {
      for (const m of fs.readFileSync(f, 'utf8').matchAll(/(?:rule: |add\()'([A-Z][A-Z0-9-]+)'/g)) rules.add(m[1]);
    }
    assert.ok(rules.size >= 8, `${rules.size} rules found`);
    const readme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
    assert.deepEqual([...rules].filter((r) => !readme.includes(`id="rule-${r.toLowerCase()}"`)), []);
  });

  it('src/worker never imports vscode', () => {
    const offenders = sources(path.join(repoRoot, 'src', 'worker')).filter((f) => importsOf(fs.readFileSync(f, 'utf8'), 'vscode'));
    assert.deepEqual(offenders, []);
  });

  it('onnxruntime-node is imported only by the engine and worker, never by the extension or CLI adapters', () => {
    const adapters = [...sources(path.join(repoRoot, 'src', 'extension')), ...sources(path.join(repoRoot, 'src', 'cli'))];
    const offenders = adapters.filter((f) => importsOf(fs.readFileSync(f, 'utf8'), 'onnxruntime-node'));
    assert.deepEqual(offenders, []);
    const core = sources(path.join(repoRoot, 'src', 'core', 'study'));
    assert.deepEqual(core.filter((f) => importsOf(fs.readFileSync(f, 'utf8'), 'onnxruntime-node')), []);
  });

  it('one run lifecycle: the worker is a thin shell over core/run, and only core/run/manifestWriter.ts writes a job\'s manifest.json', () => {
    assert.deepEqual(sources(path.join(repoRoot, 'src', 'worker')).map((f) => path.basename(f)), ['worker.ts']);
    const writes = /(write\w*|rename)\(\s*(path\.join\([^)]*ARTIFACT\.manifest|[\w.]*manifestPath\b(?![\w.]*Study))/;
    const offenders = sources(path.join(repoRoot, 'src')).filter((f) => !f.endsWith(path.join('core', 'run', 'manifestWriter.ts')) && writes.test(fs.readFileSync(f, 'utf8')));
    // The study-level records (training_manifest.json, reconstruction_manifest.json) are not job manifests.
    assert.deepEqual(offenders.map((f) => path.relative(repoRoot, f)).filter((f) => !/studyManifest\.ts$|reconstructionLauncher\.ts$/.test(f)), []);
  });
});
