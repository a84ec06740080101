// `ptycho-study score` (core/run/scoreRun.ts): a trained job's model scored on a dataset the user names. Through the
// real CLI on a small simulated study: on the job's own evaluation set it reproduces metrics.json value for value (the
// same protocol); on a specimen it never saw (a second study, another object, the same probe) it scores that file's
// scan box ± M/2 beside the untrained network and the flat predictor, and writes nothing; another probe, another dose
// folder and the job's own training data are said; a job never trained, another N, no objectGuess, a FIFO and a
// missing --data are refused with the reason; Ctrl-C cancels (exit 130). And `ptycho-study apply` on the same trained jobs.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processStartTime } from '../../src/core/processInfo';
import { writeNpz } from '../../src/core/npy';
import { probeOverlap } from '../../src/core/run/scoreRun';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { tempDir } from './helpers/paths';
import { CLI, cli, DOSE, QUICK_TRAIN, simulateSmallStudy } from './helpers/smallStudy';
import { readAllArrays } from './helpers/npy';

interface ScoreJson {
  type: string;
  jobId: string;
  dataset: { path: string; patterns: number; job: string | null };
  probeOverlap: number | null;
  countScale: { dose: number; from: string };
  evaluation: { dataset: string; source: string; region: { x0: number; y0: number; width: number; height: number }; stitchCropSize: number };
  metrics: Record<string, unknown> & { ownSplit?: unknown };
  notes: string[];
}

const PARTS = ['amplitude', 'phase'] as const;
const KEYS = ['pearsonCovered', 'pearson', 'ssim', 'msSsim', 'frc50', 'mae', 'psnr'];
type Metrics = Record<string, Record<string, number>>;


/** Every file under `dir` with its size and mtime: what "writes nothing" is checked against. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else if (e.isFile()) {
        const st = fs.statSync(f);
        out.set(f, `${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(dir);
  return out;
}

describe('ptycho-study score: a trained model on a dataset the user names', function () {
  this.timeout(600_000);
  const tmp = tempDir('score-study-');
  const root = path.join(tmp.dir, 'study');
  const other = path.join(tmp.dir, 'other');
  after(() => tmp.cleanup());
  const gs2 = `${DOSE}/dense/gs2`;
  let gs1Dir: string;
  let gs2Dir: string;
  let evalFile: string;
  let otherTest: string;

  before(async () => {
    await simulateSmallStudy(root, 96);
    // The specimen the models never see: the same simulator and probe, another object and other positions.
    const cfg = defaultSimulationConfig(other);
    cfg.nImages = 96;
    cfg.doses = [1e4];
    cfg.seed = 7;
    cfg.objectKind = 'smooth';
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
    for (const view of ['baseline', 'dense']) {
      const t = cli(['train', '--workspace', root, '--view', view, ...QUICK_TRAIN, '--quiet']);
      assert.equal(t.code, 0, t.err);
    }
    gs1Dir = path.join(root, 'phase_e', DOSE, 'baseline', 'gs1');
    gs2Dir = path.join(root, 'phase_e', DOSE, 'dense', 'gs2');
    evalFile = path.join(root, 'phase_c', DOSE, 'patched_test.npz');
    otherTest = path.join(other, 'phase_c', DOSE, 'patched_test.npz');
    assert.ok(fs.existsSync(path.join(gs2Dir, 'checkpoint.npz')) && fs.existsSync(otherTest));
  });

  for (const [name, dir] of [['gs1', () => gs1Dir], ['gs2', () => gs2Dir]] as const) {
    it(`${name}: on the job's own evaluation set it reproduces metrics.json value for value`, () => {
      const r = cli(['score', dir(), '--data', evalFile, '--json', '--threads', '1']);
      assert.equal(r.code, 0, r.err);
      const s = JSON.parse(r.out) as ScoreJson;
      const saved = JSON.parse(fs.readFileSync(path.join(dir(), 'metrics.json'), 'utf8')) as Metrics & { evaluation: { region: unknown } };
      assert.equal(s.type, 'score');
      assert.equal(s.dataset.job, 'evaluation');
      assert.equal(s.evaluation.source, 'named');
      assert.deepEqual(s.evaluation.region, saved.evaluation.region);
      assert.equal(s.metrics.ownSplit, undefined, 'no own split: only the named dataset is scored');
      for (const part of PARTS) {
        for (const k of KEYS) assert.equal((s.metrics as Metrics)[part][k], saved[part][k], `${part}.${k}`);
        for (const baseline of ['untrained', 'flat']) {
          const mine = (s.metrics[baseline] as Metrics)[part];
          const theirs = (saved as unknown as Record<string, Metrics>)[baseline][part];
          assert.equal(mine.pearsonCovered, theirs.pearsonCovered, `${baseline} ${part} r`);
          assert.equal(mine.msSsim, theirs.msSsim, `${baseline} ${part} MS-SSIM`);
        }
      }
    });
  }

  it('with the study\'s data files gone, the model scores and applies from its checkpoint alone (its probe and positions stored there) — value for value; an earlier version\'s checkpoint says what is missing', async () => {
    // A copy of the evaluation file outside the study, then the study's data moved away (put back below).
    const evalCopy = path.join(tmp.dir, 'eval-copy', 'patched_test.npz');
    fs.mkdirSync(path.dirname(evalCopy), { recursive: true });
    fs.copyFileSync(evalFile, evalCopy);
    // An earlier version's checkpoint: the same model without the stored probe and positions.
    const oldJob = path.join(tmp.dir, 'old-checkpoint-job');
    fs.cpSync(gs2Dir, oldJob, { recursive: true });
    const arrays = await readAllArrays(path.join(gs2Dir, 'checkpoint.npz'));
    assert.ok(arrays['data.probe'] && arrays['data.train_xcoords'] && arrays['data.test_xcoords'], 'the checkpoint stores the probe and the train and test positions');
    for (const k of Object.keys(arrays)) if (k.startsWith('data.')) delete arrays[k];
    await writeNpz(path.join(oldJob, 'checkpoint.npz'), arrays);
    const moved = ['phase_c', 'phase_d'].map((d) => [path.join(root, d), path.join(tmp.dir, `${d}.away`)] as const);
    for (const [from, to] of moved) fs.renameSync(from, to);
    try {
      const r = cli(['score', gs2Dir, '--data', evalCopy, '--json', '--threads', '1']);
      assert.equal(r.code, 0, r.err);
      const s = JSON.parse(r.out) as ScoreJson;
      const saved = JSON.parse(fs.readFileSync(path.join(gs2Dir, 'metrics.json'), 'utf8')) as Metrics;
      for (const part of PARTS) for (const k of KEYS) assert.equal((s.metrics as Metrics)[part][k], saved[part][k], `${part}.${k}`);
      assert.equal(s.probeOverlap, 1, 'the training probe, read from the checkpoint');
      const out = path.join(tmp.dir, 'applied-without-data');
      const a = cli(['apply', gs2Dir, '--data', evalCopy, '--out', out, '--json', '--threads', '1']);
      assert.equal(a.code, 0, a.err);
      assert.ok(fs.existsSync(path.join(out, 'reconstruction.npz')));
      const old = cli(['score', oldJob, '--data', evalCopy, '--threads', '1']);
      assert.equal(old.code, 1, old.out);
      assert.match(old.err, /training data .*cannot be read.*written by an earlier version, which did not store the probe and positions with it: put the file back, or train the job again/s);
    } finally {
      for (const [from, to] of moved) fs.renameSync(to, from);
    }
  });

  it('on a specimen it never saw: that file\'s scan box ± M/2, trained beside untrained and flat, and nothing written', async () => {
    const before = snapshot(root);
    const r = cli(['score', gs2, '--workspace', root, '--data', otherTest, '--json', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(snapshot(root), before, 'the study is untouched');
    const s = JSON.parse(r.out) as ScoreJson;
    assert.equal(s.jobId, gs2);
    assert.equal(s.dataset.job, null);
    assert.equal(s.dataset.path, otherTest);
    assert.ok(s.probeOverlap !== null && s.probeOverlap > 0.999, `the same probe (${s.probeOverlap})`);
    assert.deepEqual(s.countScale, { value: (s.countScale as unknown as { value: number }).value, dose: 1e4, from: 'dataset folder' });
    assert.deepEqual(s.notes, [], 'nothing to warn about');
    // The region is the named file's own: its scan positions' box ± M/2 (the common evaluation's protocol).
    const d = await readAllArrays(otherTest);
    const xs = Array.from(d.xcoords.data as Float64Array, Number);
    const ys = Array.from(d.ycoords.data as Float64Array, Number);
    const half = s.evaluation.stitchCropSize / 2;
    const x0 = Math.floor(Math.min(...xs) - half);
    const y0 = Math.floor(Math.min(...ys) - half);
    assert.equal(s.evaluation.region.x0, x0);
    assert.equal(s.evaluation.region.y0, y0);
    assert.equal(s.evaluation.region.width, Math.ceil(Math.max(...xs) + half) - x0 + 1);
    assert.equal(s.evaluation.region.height, Math.ceil(Math.max(...ys) + half) - y0 + 1);
    const m = s.metrics as unknown as Record<string, Metrics>;
    for (const part of PARTS) {
      for (const who of [m, m.untrained, m.flat]) assert.ok(Number.isFinite(who[part].pearsonCovered) && Number.isFinite(who[part].msSsim), part);
      assert.equal(m.flat[part].pearsonCovered, 0, 'the flat predictor has no correlation');
    }
    // The table: one row per metric and part, trained / untrained / flat.
    const text = cli(['score', gs2, '--workspace', root, '--data', otherTest, '--threads', '1']);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /^SCORED dose_10000\/dense\/gs2@\S+ \(gridsize 2, N=64/m);
    assert.match(text.out, /PART\s+METRIC\s+TRAINED\s+UNTRAINED\s+FLAT/);
    assert.match(text.out, /phase\s+MS-SSIM\s+[-\d.]+\s+[-\d.]+\s+[-\d.]+/);
    assert.match(text.err, /^Scoring dose_10000\/dense\/gs2 on /m);
  });

  it('says when the data are the job\'s training data, made under another probe, or outside a dose folder', async () => {
    const trainFile = path.join(root, 'phase_c', DOSE, 'patched_train.npz');
    const own = JSON.parse(cli(['score', gs1Dir, '--data', trainFile, '--json', '--threads', '1']).out) as ScoreJson;
    assert.equal(own.dataset.job, 'train');
    assert.ok(own.notes.some((n) => /fitted to these patterns/.test(n)), own.notes.join(' | '));
    // The same file with its probe shifted by 5 px, written outside any dose folder.
    const d = await readAllArrays(otherTest);
    const [h, w] = d.probeGuess.shape;
    const p = d.probeGuess.data as Float32Array;
    const shifted = new Float32Array(p.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const src = 2 * (y * w + ((x + 5) % w));
      shifted[2 * (y * w + x)] = p[src];
      shifted[2 * (y * w + x) + 1] = p[src + 1];
    }
    const moved = path.join(tmp.dir, 'shifted_probe.npz');
    await writeNpz(moved, { ...d, probeGuess: { ...d.probeGuess, data: shifted } });
    const r = cli(['score', gs2Dir, '--data', moved, '--json', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as ScoreJson;
    assert.ok(s.probeOverlap !== null && s.probeOverlap < 0.99, String(s.probeOverlap));
    assert.ok(s.notes.some((n) => /probe differs from the one the model was trained under/.test(n)), s.notes.join(' | '));
    assert.ok(s.notes.some((n) => /not in a Phase C dose folder/.test(n)), s.notes.join(' | '));
    assert.equal(s.countScale.from, 'job');
  });

  it('refuses with the reason: no --data, a job never trained, another N, no objectGuess, a FIFO', async () => {
    const usage = cli(['score', gs2Dir]);
    assert.equal(usage.code, 2);
    assert.match(usage.err, /--data FILE\.npz is required/);

    const planned = cli(['score', `${DOSE}/sparse/gs2`, '--workspace', root, '--data', evalFile]);
    assert.equal(planned.code, 1);
    assert.match(planned.err, /has no trained model to score: it has not run yet.*ptycho-study train dose_10000\/sparse\/gs2 --workspace/);

    const d = await readAllArrays(otherTest);
    const dir = path.join(tmp.dir, 'bad');
    fs.mkdirSync(dir);
    const noTruth = path.join(dir, 'no_truth.npz');
    const { objectGuess: _dropped, ...rest } = d;
    await writeNpz(noTruth, rest);
    const nt = cli(['score', gs2Dir, '--data', noTruth, '--json']);
    assert.equal(nt.code, 1);
    const err = JSON.parse(nt.out) as { error: { code: string; message: string; file: string } };
    assert.equal(err.error.code, 'failed');
    assert.match(err.error.message, /has no objectGuess: there is no ground truth/);
    assert.equal(err.error.file, noTruth);

    // 32×32 patterns for a model of N = 64: the first 32 rows and columns of each.
    const diff = d.diffraction;
    const [count] = diff.shape;
    const small = new Float32Array(count * 32 * 32);
    const src = diff.data as Float32Array;
    for (let i = 0; i < count; i++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) small[(i * 32 + y) * 32 + x] = src[(i * 64 + y) * 64 + x];
    const p = d.probeGuess.data as Float32Array;
    const probe = new Float32Array(2 * 32 * 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 2; c++) probe[2 * (y * 32 + x) + c] = p[2 * (y * 64 + x) + c];
    const otherN = path.join(dir, 'n32.npz');
    await writeNpz(otherN, { ...d, diffraction: { ...diff, shape: [count, 32, 32], data: small }, probeGuess: { ...d.probeGuess, shape: [32, 32], data: probe } });
    const n = cli(['score', gs2Dir, '--data', otherN]);
    assert.equal(n.code, 1);
    assert.match(n.err, /holds 32×32 patterns; .* model takes N=64/);

    const fifo = path.join(dir, 'fifo.npz');
    const mk = spawnSync('mkfifo', [fifo]);
    if (mk.status === 0) {
      const f = cli(['score', gs2Dir, '--data', fifo], 60_000);
      assert.equal(f.code, 1, `a FIFO fails instead of hanging: ${f.err}`);
      assert.match(f.err, /cannot be read/);
    }
  });

  it('Ctrl-C cancels: exit 130, and the study is untouched', async () => {
    const before = snapshot(root);
    const child = spawn(process.execPath, [CLI, 'score', gs2Dir, '--data', otherTest, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
      if (/^Scoring /m.test(err) && !child.killed) child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 130, err);
    assert.match(err, /cancelled/);
    assert.deepEqual(snapshot(root), before);
  });

  it('a run that has not finished is refused, and with --latest-checkpoint its last checkpoint is scored (said in a note)', async () => {
    const dir = path.join(root, 'phase_e', DOSE, 'sparse', 'gs2');
    const epochs = QUICK_TRAIN.map((v, i, a) => (a[i - 1] === '--epochs' ? '50' : v));
    const child = spawn(process.execPath, [CLI, 'train', '--workspace', root, '--view', 'sparse', ...epochs], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => { err += b.toString(); });
    let done = false;
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => { done = true; resolve(code); }));
    await new Promise<void>((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        if (fs.existsSync(path.join(dir, 'checkpoint.npz'))) { clearInterval(poll); resolve(); }
        else if (done || Date.now() - t0 > 120_000) { clearInterval(poll); reject(new Error(`no checkpoint (${done ? 'the run ended' : 'after 2 min'}): ${err}`)); }
      }, 200);
    });
    child.kill('SIGINT');
    assert.equal(await exited, 130, 'the training run was cancelled');
    const refused = cli(['score', dir, '--data', evalFile]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /has no finished model to score: its latest run \(run \S+\) cancelled/);
    const r = cli(['score', dir, '--data', evalFile, '--latest-checkpoint', '--json', '--threads', '1']);
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out) as ScoreJson;
    assert.ok(s.notes.some((n) => /has not finished \(cancelled\): its latest checkpoint is scored/.test(n)), s.notes.join(' | '));
    const m = s.metrics as unknown as Record<string, Metrics>;
    assert.ok(Number.isFinite(m.phase.pearsonCovered) && Number.isFinite(m.amplitude.msSsim));
  });

  it('probeOverlap: 1 for the same probe under any global phase, less for a shifted one, null for another shape', () => {
    const w = 8;
    const a = { width: w, height: w, data: new Float32Array(2 * w * w) };
    for (let i = 0; i < w * w; i++) {
      const r = Math.exp(-(((i % w) - 3.5) ** 2) / 4 - ((Math.floor(i / w) - 3.5) ** 2) / 4);
      a.data[2 * i] = r * Math.cos(0.3 * i);
      a.data[2 * i + 1] = r * Math.sin(0.3 * i);
    }
    const rotated = { ...a, data: a.data.map((_, k) => (k % 2 === 0 ? -a.data[k + 1] : a.data[k - 1])) }; // × i
    assert.ok(Math.abs(probeOverlap(a, a)! - 1) < 1e-6);
    assert.ok(Math.abs(probeOverlap(a, rotated)! - 1) < 1e-6);
    const shifted = { ...a, data: new Float32Array(a.data.length) };
    for (let i = 0; i < w * w; i++) {
      const j = Math.floor(i / w) * w + ((i % w) + 2) % w;
      shifted.data[2 * i] = a.data[2 * j];
      shifted.data[2 * i + 1] = a.data[2 * j + 1];
    }
    assert.ok(probeOverlap(a, shifted)! < 0.9);
    assert.equal(probeOverlap(a, { width: 4, height: 4, data: new Float32Array(32) }), null);
  });

  // `ptycho-study apply` (core/run/applyRun.ts) on the same trained jobs: the model reconstructs patterns the user
  // names, with or without an objectGuess, into a folder of the user's choosing.
  describe('ptycho-study apply: a trained model reconstructs a dataset, the result written where the user says', () => {
    let noTruth: string;
    before(async () => {
      const d = await readAllArrays(evalFile);
      const { objectGuess: _dropped, ...rest } = d;
      const dir = path.join(tmp.dir, 'scan', DOSE);
      fs.mkdirSync(dir, { recursive: true });
      noTruth = path.join(dir, 'new_scan.npz');
      await writeNpz(noTruth, rest);
    });

    for (const [name, dir] of [['gs1', () => gs1Dir], ['gs2', () => gs2Dir]] as const) {
      it(`${name}: patterns without a ground truth, reconstructed exactly as the job's own evaluation reconstructed them`, async () => {
        const before = snapshot(root);
        const out = path.join(tmp.dir, `applied-${name}`);
        const r = cli(['apply', dir(), '--data', noTruth, '--out', out, '--json', '--threads', '1']);
        assert.equal(r.code, 0, r.err);
        assert.deepEqual(snapshot(root), before, 'the study is untouched');
        const a = JSON.parse(r.out) as { type: string; dataset: { hasObjectGuess: boolean; job: string | null; patterns: number }; files: string[]; notes: string[]; region: { x0: number; y0: number }; probeOverlap: number };
        assert.equal(a.type, 'apply');
        assert.equal(a.dataset.hasObjectGuess, false);
        assert.equal(a.dataset.job, null);
        assert.ok(a.probeOverlap > 0.999);
        assert.deepEqual(a.notes, [], 'nothing to warn about');
        assert.deepEqual(fs.readdirSync(out).sort(), ['amplitude.png', 'apply.json', 'phase.png', 'reconstruction.npz']);
        assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'apply.json'), 'utf8')), a, 'apply.json is what --json printed');
        for (const png of ['amplitude.png', 'phase.png']) assert.deepEqual([...fs.readFileSync(path.join(out, png)).subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], png);
        // The same patterns, groups, region and stitch as the job's evaluation: the same object, value for value.
        const mine = await readAllArrays(path.join(out, 'reconstruction.npz'));
        const job = await readAllArrays(path.join(dir(), 'reconstruction.npz'));
        assert.equal(mine.ground_truth, undefined, 'no ground truth to store');
        assert.deepEqual(mine.object.shape, job.object.shape);
        assert.deepEqual(Array.from(mine.origin.data as Int32Array), Array.from(job.origin.data as Int32Array));
        assert.deepEqual(Array.from(mine.origin.data as Int32Array), [a.region.x0, a.region.y0]);
        const x = mine.object.data as Float32Array;
        const y = job.object.data as Float32Array;
        let worst = 0;
        for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
        assert.equal(worst, 0, `${name}: the applied object differs from the job's by ${worst}`);
      });
    }

    it('keeps earlier results unless --force; says what to do with a ground truth; the text names what it wrote', () => {
      const out = path.join(tmp.dir, 'applied-gs2');
      const stamp = fs.statSync(path.join(out, 'apply.json')).mtimeMs;
      const again = cli(['apply', gs2Dir, '--data', noTruth, '--out', out]);
      assert.equal(again.code, 1);
      assert.match(again.err, /already holds reconstruction\.npz, amplitude\.png, phase\.png, apply\.json: choose another --out, or --force/);
      assert.equal(fs.statSync(path.join(out, 'apply.json')).mtimeMs, stamp, 'nothing replaced');
      const forced = cli(['apply', gs2, '--workspace', root, '--data', otherTest, '--out', out, '--force', '--threads', '1']);
      assert.equal(forced.code, 0, forced.err);
      assert.match(forced.out, /^APPLIED dose_10000\/dense\/gs2@\S+ \(gridsize 2, N=64/m);
      assert.match(forced.out, /wrote reconstruction\.npz, amplitude\.png, phase\.png, apply\.json in /);
      assert.match(forced.out, /note: The dataset has an objectGuess: `ptycho-study score dose_10000\/dense\/gs2 --data /);
      assert.match(forced.err, /^Applying dose_10000\/dense\/gs2 to /m);
      const a = JSON.parse(fs.readFileSync(path.join(out, 'apply.json'), 'utf8')) as { dataset: { path: string; hasObjectGuess: boolean } };
      assert.equal(a.dataset.path, otherTest);
      assert.equal(a.dataset.hasObjectGuess, true);
    });

    it('refuses with the reason: no --data or --out, --out a file, in the job\'s folder or the study\'s data, a job never trained, another N', () => {
      assert.match(cli(['apply', gs2Dir, '--out', path.join(tmp.dir, 'x')]).err, /--data FILE\.npz is required/);
      const noOut = cli(['apply', gs2Dir, '--data', noTruth]);
      assert.equal(noOut.code, 2);
      assert.match(noOut.err, /--out DIR is required/);
      const file = path.join(tmp.dir, 'a-file');
      fs.writeFileSync(file, 'x');
      const onFile = cli(['apply', gs2Dir, '--data', noTruth, '--out', file]);
      assert.equal(onFile.code, 1);
      assert.match(onFile.err, /exists and is not a folder/);
      const before = snapshot(gs2Dir);
      const own = cli(['apply', gs2Dir, '--data', noTruth, '--out', gs2Dir, '--force']);
      assert.equal(own.code, 1);
      assert.match(own.err, /is inside the job's own folder/);
      const inside = cli(['apply', gs2Dir, '--data', noTruth, '--out', path.join(gs2Dir, 'applied')]);
      assert.equal(inside.code, 1);
      assert.match(inside.err, /is inside the job's own folder/);
      assert.deepEqual(snapshot(gs2Dir), before);
      // A symbolic link does not hide where a folder is.
      const link = path.join(tmp.dir, 'link-to-job');
      fs.symlinkSync(gs2Dir, link);
      const viaLink = cli(['apply', gs2Dir, '--data', noTruth, '--out', path.join(link, 'applied')]);
      assert.equal(viaLink.code, 1);
      assert.match(viaLink.err, /is inside the job's own folder/);
      assert.deepEqual(snapshot(gs2Dir), before);
      const inData = cli(['apply', gs2Dir, '--data', noTruth, '--out', path.join(root, 'phase_c', DOSE, 'applied')]);
      assert.equal(inData.code, 1);
      assert.match(inData.err, /is inside the study's Phase C folder .* holds the datasets/);
      assert.ok(!fs.existsSync(path.join(root, 'phase_c', DOSE, 'applied')));
      const planned = cli(['apply', `${DOSE}/sparse/gs2`, '--workspace', root, '--data', noTruth, '--out', path.join(tmp.dir, 'never')]);
      assert.equal(planned.code, 1);
      assert.match(planned.err, /has no (trained|finished) model to apply/);
      const otherN = path.join(tmp.dir, 'bad', 'n32.npz');
      if (fs.existsSync(otherN)) {
        const n = cli(['apply', gs2Dir, '--data', otherN, '--out', path.join(tmp.dir, 'n32-out')]);
        assert.equal(n.code, 1);
        assert.match(n.err, /holds 32×32 patterns; .* model takes N=64/);
        assert.ok(!fs.existsSync(path.join(tmp.dir, 'n32-out')), 'no folder made for a refused dataset');
      }
    });

    it('one apply at a time per folder: refused while another holds it (naming it), its lock broken once it is gone', async () => {
      const out = path.join(tmp.dir, 'applied-locked');
      fs.mkdirSync(out);
      // Another apply's lock, held by a live process of this host.
      const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
      try {
        await new Promise((r) => setTimeout(r, 200));
        fs.writeFileSync(path.join(out, 'run.lock'), JSON.stringify({ pid: holder.pid, startTime: processStartTime(holder.pid!), hostname: os.hostname(), runId: '20260101T000000Z-abcdef', jobId: `--out ${out}`, createdAt: '2026-01-01T00:00:00.000Z' }));
        const refused = cli(['apply', gs2Dir, '--data', noTruth, '--out', out, '--threads', '1']);
        assert.equal(refused.code, 1, refused.err);
        assert.match(refused.err, new RegExp(`--out ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is already being written by another apply .*pid ${holder.pid}`));
        assert.deepEqual(fs.readdirSync(out), ['run.lock'], 'nothing written beside the holder\'s lock');
      } finally {
        holder.kill('SIGKILL');
        await new Promise((r) => holder.on('close', r));
      }
      const after = cli(['apply', gs2Dir, '--data', noTruth, '--out', out, '--threads', '1']);
      assert.equal(after.code, 0, after.err);
      assert.deepEqual(fs.readdirSync(out).sort(), ['amplitude.png', 'apply.json', 'phase.png', 'reconstruction.npz'], 'the stale lock broken, and its own released');
    });

    it('Ctrl-C cancels: exit 130, no result in the folder, the study untouched', async () => {
      const before = snapshot(root);
      const out = path.join(tmp.dir, 'applied-cancelled');
      const child = spawn(process.execPath, [CLI, 'apply', gs2Dir, '--data', otherTest, '--out', out, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b: Buffer) => {
        err += b.toString();
        if (/^Applying /m.test(err) && !child.killed) child.kill('SIGINT');
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 130, err);
      assert.match(err, /cancelled/);
      assert.ok(!fs.existsSync(out), 'no result written, no folder made');
      assert.deepEqual(snapshot(root), before);
    });
  });
});
