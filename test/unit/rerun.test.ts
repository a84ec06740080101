// Rerun from the manifest alone (issue 12): `ptycho-study rerun` (the real CLI) recreates a Phase F reconstruction
// and a 1-epoch training run from their manifests into new folders, through the worker, and reproduces their
// metrics.json to float tolerance (on the same provider and thread count); the original folders are untouched; a
// dataset whose bytes changed is refused with its path and both hashes before anything is written; a rerun into
// the original folder, or into a folder holding files, is refused.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compareMetrics, defaultRerunDir } from '../../src/core/run/rerun';
import { tempDir } from './helpers/paths';
import { cli, DOSE, QUICK_TRAIN, simulateSmallStudy } from './helpers/smallStudy';

interface RerunLine { type: 'rerun'; reproduced: boolean; compared: number; maxRelDiff: number; differences: unknown[]; outDir: string; runtime: { original: { provider: string; threads: number | null }; rerun: { provider: string; threads: number | null } } }

function lastJson(out: string): RerunLine {
  return JSON.parse(out.trim().split('\n').filter((l) => l.startsWith('{')).at(-1)!) as RerunLine;
}

/** Every file of a folder with its bytes (to show a folder was not written). */
function snapshot(dir: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const f of fs.readdirSync(dir, { recursive: true }) as string[]) {
    const p = path.join(dir, f);
    if (fs.statSync(p).isFile()) m.set(f, fs.readFileSync(p).toString('base64'));
  }
  return m;
}

describe('rerun from the manifest (ptycho-study rerun)', function () {
  this.timeout(300_000);
  const tmp = tempDir('ptycho-rerun-');
  const root = tmp.dir;
  const pinnDir = path.join(root, 'phase_e', DOSE, 'baseline', 'gs1');
  const epieDir = path.join(root, 'phase_f', DOSE, 'dense', 'test', 'epie');

  before(async () => {
    await simulateSmallStudy(root);
    const t = cli(['train', '--workspace', root, '--view', 'baseline', ...QUICK_TRAIN]);
    assert.equal(t.code, 0, t.err + t.out);
    const r = cli(['reconstruct', '--workspace', root, '--view', 'dense', '--iterations', '6', '--momentum', '0.5']);
    assert.equal(r.code, 0, r.err + r.out);
  });
  after(() => tmp.cleanup());

  it('reruns a reconstruction into a new sibling folder and reproduces its metrics; the original is untouched', () => {
    const before = snapshot(epieDir);
    const siblings = new Set(fs.readdirSync(path.dirname(epieDir)));
    const r = cli(['rerun', epieDir, '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const line = lastJson(r.out);
    assert.equal(line.reproduced, true, JSON.stringify(line.differences));
    assert.ok(line.compared > 100, `${line.compared} numbers compared`);
    const added = fs.readdirSync(path.dirname(epieDir)).filter((f) => !siblings.has(f));
    assert.deepEqual(added, [path.basename(line.outDir)]);
    assert.match(added[0], /^epie\.rerun-\d{8}T\d{6}Z$/);
    const m = JSON.parse(fs.readFileSync(path.join(line.outDir, 'manifest.json'), 'utf8')) as { status: string; config: { artifactDir: string; settings: { momentum: number; seed: number } } };
    assert.equal(m.status, 'succeeded');
    assert.equal(m.config.artifactDir, line.outDir);
    assert.equal(m.config.settings.momentum, 0.5, 'the settings come from the manifest');
    assert.deepEqual(snapshot(epieDir), before, 'the original folder is not written');
  });

  it('reruns a 1-epoch training job on the same thread count and reproduces its metrics', () => {
    const out = path.join(root, 'rerun-gs1');
    const r = cli(['rerun', path.join(pinnDir, 'manifest.json'), '--out', out, '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const line = lastJson(r.out);
    assert.equal(line.reproduced, true, JSON.stringify(line.differences));
    assert.equal(line.outDir, out);
    assert.equal(line.runtime.original.threads, 1);
    assert.equal(line.runtime.rerun.threads, 1);
    assert.equal(line.runtime.rerun.provider, line.runtime.original.provider);
    assert.ok(fs.existsSync(path.join(out, 'model.onnx')));
    // The study's records are not rewritten by a rerun: training_manifest.json still names the original only.
    assert.ok(!fs.readFileSync(path.join(root, 'phase_e', 'training_manifest.json'), 'utf8').includes('rerun-gs1'));
  });

  it('refuses a rerun into the original folder or into a folder holding files', () => {
    const inside = cli(['rerun', epieDir, '--out', path.join(epieDir, 'again')]);
    assert.equal(inside.code, 1);
    assert.match(inside.err, /original job folder or inside it/);
    assert.ok(!fs.existsSync(path.join(epieDir, 'again')));
    const busy = cli(['rerun', epieDir, '--out', pinnDir]);
    assert.equal(busy.code, 1);
    assert.match(busy.err, /already exists and is not an empty folder/);
  });

  it('refuses a changed dataset, naming the file and both hashes, and writes nothing', () => {
    const data = path.join(root, 'phase_d', DOSE, 'dense', 'dense_test.npz');
    fs.appendFileSync(data, Buffer.from([0]));
    const out = path.join(root, 'rerun-changed');
    const r = cli(['rerun', epieDir, '--out', out]);
    assert.equal(r.code, 1, r.out);
    assert.ok(r.err.includes(`The input dataset ${data} has changed since the run`), r.err);
    assert.match(r.err, /its sha256 is now [0-9a-f]{64}, the manifest recorded [0-9a-f]{64}/);
    assert.ok(!fs.existsSync(out), 'nothing was written');
    assert.equal(r.out, '', 'no run started');
  });

  it('compareMetrics: numbers to tolerance, timings ignored, anything else exactly', () => {
    const a = { amplitude: { ssim: 0.5, frcCurve: [1, 0.5] }, inference: { seconds: 1 }, flat: { description: 'x' } };
    assert.equal(compareMetrics(a, { amplitude: { ssim: 0.5 + 1e-9, frcCurve: [1, 0.5] }, inference: { seconds: 9 }, flat: { description: 'x' } }).reproduced, true);
    const d = compareMetrics(a, { amplitude: { ssim: 0.51, frcCurve: [1] }, inference: { seconds: 1 }, flat: { description: 'y' } });
    assert.deepEqual(d.differences.map((x) => x.path), ['amplitude.ssim', 'amplitude.frcCurve.length', 'flat.description']);
    assert.match(defaultRerunDir('/s/phase_e/dose_1/baseline/gs1', new Date('2026-01-02T03:04:05.678Z')), /\/gs1\.rerun-20260102T030405Z$/);
  });
});
