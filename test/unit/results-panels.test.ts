// The pure parts of the result panels (reconstruction viewer and study comparison): best-value selection,
// sorting, the dose × view grid with its empty-cell reasons, the config keys that differ, the phase
// difference and its wrapping, the amplitude difference, decimation choice and the shifted block grid that
// aligns cells, metrics.json parsing, and reading a reconstruction.npz the way the panels do.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { amplitudeDifference, fitPlane, phaseDifference, rotateComplex, symmetricWindow, unitPhasors, wrapPhase } from '../../src/core/image/complexDiff';
import { ndarray, writeNpz } from '../../src/core/npy';
import { jobRevision, Limiter, loadReconArrays, parseMetrics, readMetricsFile, readReconHeader, reconDecimation } from '../../src/extension/results/reconData';
import { BlockMeanAccumulator } from '../../src/core/image/stats';
import { asFloat64 } from '../../src/webview/shared/binary';
import {
  bestIndices, better, differingConfigKeys, doseLabel, emptyReason, flattenConfig, formatMetric, gridLayout, METRICS, sortRows, type GridJob,
} from '../../src/webview/shared/results';
import { repoRoot } from './helpers/paths';

const close = (a: number, b: number, tol = 1e-5): boolean => Math.abs(a - b) <= tol;

describe('result panels: best values and sorting', () => {
  it('lower-is-better and higher-is-better pick the right indices; ties all win; null/NaN never win', () => {
    assert.deepEqual(bestIndices([0.3, 0.1, null, 0.2], 'lower'), [1]);
    assert.deepEqual(bestIndices([12, 30, 30, NaN], 'higher'), [1, 2]);
    assert.deepEqual(bestIndices([undefined, null, NaN], 'higher'), []);
    assert.deepEqual(bestIndices([0.5], 'higher'), [], 'a single value is not "best"');
    assert.deepEqual(bestIndices([0.5], 'higher', 1), [0]);
    assert.deepEqual(bestIndices([-88, 0.24, -95], 'lower'), [2], 'negative losses');
  });

  it('every metric has the study\'s direction: errors lower, similarities and FRC higher', () => {
    const dir = Object.fromEntries(METRICS.map((m) => [m.key, m.better]));
    assert.deepEqual(dir, { mae: 'lower', mse: 'lower', psnr: 'higher', ssim: 'higher', msSsim: 'higher', pearson: 'higher', frc50: 'higher', frc1over7: 'higher' });
    // FRC is a spatial frequency, not a shell index.
    assert.deepEqual(METRICS.filter((m) => m.key.startsWith('frc')).map((m) => m.label), ['FRC50 (cycles/px)', 'FRC 1/7 (cycles/px)']);
  });

  it('trained vs untrained: which is better', () => {
    assert.equal(better(0.1, 0.2, 'lower'), 'a');
    assert.equal(better(0.1, 0.2, 'higher'), 'b');
    assert.equal(better(3, 3, 'higher'), 'tie');
    assert.equal(better(null, 0.2, 'lower'), undefined);
  });

  it('sortRows: numbers numerically, strings naturally, missing values last in both directions, stable', () => {
    const rows = [{ id: 'a', v: 10 }, { id: 'b', v: null }, { id: 'c', v: 2 }, { id: 'd', v: 10 }, { id: 'e', v: NaN }];
    assert.deepEqual(sortRows(rows, (r) => r.v, 'asc').map((r) => r.id), ['c', 'a', 'd', 'b', 'e']);
    assert.deepEqual(sortRows(rows, (r) => r.v, 'desc').map((r) => r.id), ['a', 'd', 'c', 'b', 'e']);
    const ids = [{ s: 'dose_10000' }, { s: 'dose_1000' }, { s: 'dose_100000' }];
    assert.deepEqual(sortRows(ids, (r) => r.s, 'asc').map((r) => r.s), ['dose_1000', 'dose_10000', 'dose_100000']);
  });

  it('formats metrics and doses for the tables', () => {
    assert.equal(formatMetric(null), '—');
    assert.equal(formatMetric(3), '3');
    assert.equal(formatMetric(0.123456), '0.1235');
    assert.equal(formatMetric(2.5e-5), '2.50e-5');
    assert.deepEqual([1000, 10000, 100000, 250].map(doseLabel), ['1e3', '1e4', '1e5', '250']);
  });
});

describe('result panels: the dose × view grid', () => {
  const job = (dose: number, view: string, state: string, hasReconstruction = false, reason?: string): GridJob => ({
    id: `dose_${dose}/${view}/gs${view === 'baseline' ? 1 : 2}`, dose, view, gridsize: view === 'baseline' ? 1 : 2, state, hasReconstruction, ...(reason ? { reason } : {}),
  });

  it('rows are doses ascending; columns baseline, dense, sparse, then other views by name', () => {
    const g = gridLayout([
      job(100000, 'sparse', 'ready'), job(1000, 'baseline', 'succeeded', true), job(1000, 'zeta', 'ready'),
      job(10000, 'dense', 'failed', false, 'worker killed'), job(1000, 'alpha', 'ready'), job(1000, 'dense', 'ready'),
    ]);
    assert.deepEqual(g.doses, [1000, 10000, 100000]);
    assert.deepEqual(g.columns.map((c) => c.key), ['baseline/gs1', 'dense/gs2', 'sparse/gs2', 'alpha/gs2', 'zeta/gs2']);
    assert.equal(g.columns[0].label, 'baseline (gs1)');
    assert.equal(g.rows.length, 3);
    assert.ok(g.rows.every((r) => r.length === 5));
    assert.equal(g.rows[0][0].job?.id, 'dose_1000/baseline/gs1');
    assert.equal(g.rows[0][0].empty, undefined, 'a trained job has a picture');
    assert.deepEqual(g.rows[1][1].empty, { kind: 'failed', text: 'training failed: worker killed' });
    assert.equal(g.rows[1][0].empty?.kind, 'absent', 'no baseline job at dose 1e4 in this list');
    assert.equal(g.rows[2][2].empty?.kind, 'not-trained');
  });

  it('every empty cell says why', () => {
    const reason = (j: GridJob | undefined) => emptyReason(j);
    assert.match(reason(job(1, 'sparse', 'missing', false, 'view "sparse" not found for dose 1000'))!.text, /^missing data: view "sparse" not found/);
    assert.match(reason(job(1, 'dense', 'invalid', false, 'Not a readable NumPy .npz archive'))!.text, /^invalid data: Not a readable/);
    assert.equal(reason(job(1, 'dense', 'ready'))!.text, 'not trained yet');
    assert.equal(reason(job(1, 'dense', 'dry-run'))!.kind, 'dry-run');
    assert.match(reason(job(1, 'dense', 'cancelled', false, 'Cancelled in epoch 2'))!.text, /^training cancelled: Cancelled in epoch 2/);
    assert.equal(reason({ ...job(1, 'dense', 'running', true), progress: 'epoch 1/2' })!.text, 'training · epoch 1/2', 'a running job shows its progress even with old files');
    assert.equal(reason(job(1, 'dense', 'queued'))!.kind, 'queued');
    assert.equal(reason(job(1, 'dense', 'succeeded', false))!.kind, 'no-reconstruction');
    assert.equal(reason(undefined)!.kind, 'absent');
  });
});

describe('result panels: config keys that differ', () => {
  const config = (over: Record<string, unknown>, training: Record<string, unknown> = {}) => ({
    jobId: 'x', dose: 1000, view: 'dense', gridsize: 2, n: 64, trainPath: '/a/b.npz', artifactDir: '/p', study: { artifactRoot: '/r' },
    training: { epochs: 2, batchSize: 8, learningRate: 0.001, ...training }, ...over,
  });

  it('flattens nested config to dotted keys (arrays as JSON)', () => {
    assert.deepEqual(flattenConfig({ a: 1, b: { c: 'x', d: { e: true } }, f: [1, 2], g: null, h: undefined }), { a: 1, 'b.c': 'x', 'b.d.e': true, f: '[1,2]', g: null });
  });

  it('lists only the keys whose values differ, training.* first; identity and paths are left out and counted', () => {
    const diff = differingConfigKeys([
      { jobId: 'dose_1000/baseline/gs1', config: flattenConfig(config({ gridsize: 1, groupSize: 1, intensityScale: 0.99, jobId: 'dose_1000/baseline/gs1', trainPath: '/x' }, { epochs: 2 })) },
      { jobId: 'dose_1000/dense/gs2', config: flattenConfig(config({ groupSize: 4, intensityScale: 0.99, jobId: 'dose_1000/dense/gs2' }, { epochs: 1 })) },
      { jobId: 'dose_100000/dense/gs2', config: flattenConfig(config({ dose: 100000, groupSize: 4, intensityScale: 9.9, jobId: 'dose_100000/dense/gs2' }, { epochs: 1, seed: 7 })) },
    ]);
    assert.deepEqual(diff.keys.map((k) => k.key), ['training.epochs', 'training.seed', 'groupSize', 'intensityScale']);
    assert.deepEqual(diff.keys[0].values, [2, 1, 1]);
    assert.deepEqual(diff.keys[1].values, [undefined, undefined, 7], 'a key only some jobs have differs');
    assert.equal(diff.identical, 3, 'n, training.batchSize, training.learningRate');
    for (const k of ['jobId', 'dose', 'view', 'gridsize', 'trainPath', 'artifactDir', 'study.artifactRoot']) assert.ok(diff.omitted.includes(k), k);
    assert.ok(!diff.keys.some((k) => k.key === 'n'));
  });

  it('one job or identical jobs: nothing differs', () => {
    assert.deepEqual(differingConfigKeys([{ jobId: 'a', config: { x: 1 } }]).keys, []);
    assert.deepEqual(differingConfigKeys([{ jobId: 'a', config: { x: 1 } }, { jobId: 'b', config: { x: 1 } }]).keys, []);
  });
});

describe('result panels: phase difference and wrapping', () => {
  it('wrapPhase maps into (−π, π] (π stays, −π becomes π)', () => {
    assert.equal(wrapPhase(0), 0);
    assert.equal(wrapPhase(Math.PI), Math.PI);
    assert.ok(close(wrapPhase(-Math.PI), Math.PI, 1e-12));
    assert.ok(close(wrapPhase(3 * Math.PI), Math.PI, 1e-12));
    assert.ok(close(wrapPhase(2 * Math.PI + 0.25), 0.25, 1e-12));
    assert.ok(close(wrapPhase(-7.5), -7.5 + 2 * Math.PI, 1e-12));
    for (let x = -20; x <= 20; x += 0.37) {
      const y = wrapPhase(x);
      assert.ok(y > -Math.PI && y <= Math.PI, `${x} → ${y}`);
      assert.ok(close(Math.cos(y), Math.cos(x), 1e-9) && close(Math.sin(y), Math.sin(x), 1e-9));
    }
    assert.ok(Number.isNaN(wrapPhase(NaN)));
  });

  // A 6 × 4 test object: amplitude 0.5…1, phase a ramp that crosses ±π (so wrapping matters).
  const W = 6;
  const H = 4;
  const phaseAt = (x: number, y: number): number => -3 + 1.1 * x + 0.3 * y;
  const gt = new Float32Array(2 * W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    const a = 0.5 + 0.5 * ((x + y) / (W + H));
    gt[2 * (y * W + x)] = a * Math.cos(phaseAt(x, y));
    gt[2 * (y * W + x) + 1] = a * Math.sin(phaseAt(x, y));
  }

  it('a reconstruction off only by the global phase θ has zero difference once θ is removed; wrapped otherwise', () => {
    const theta = 2.9; // pushes many pixels past π
    const pred = rotateComplex(gt, -theta); // metrics.json: pred·e^{iθ} ≈ gt
    const d = phaseDifference(pred, gt, W, H, { offset: theta });
    assert.ok(d.values.every((v) => Math.abs(v) < 1e-5), `max |Δφ| ${Math.max(...d.values.map(Math.abs))}`);
    const raw = phaseDifference(pred, gt, W, H);
    assert.ok(raw.values.every((v) => close(v, wrapPhase(-theta), 1e-5)), 'without the offset: −θ wrapped, everywhere');
  });

  it('a phase ramp between them is removed by the plane option, and uncovered pixels are NaN', () => {
    const pred = new Float32Array(gt.length);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const ramp = 0.4 * x - 0.2 * y + 1.0;
      const c = Math.cos(ramp);
      const s = Math.sin(ramp);
      pred[2 * i] = gt[2 * i] * c - gt[2 * i + 1] * s;
      pred[2 * i + 1] = gt[2 * i] * s + gt[2 * i + 1] * c;
    }
    const weight = new Float32Array(W * H).fill(1);
    weight[0] = 0;
    const d = phaseDifference(pred, gt, W, H, { weight });
    assert.ok(Number.isNaN(d.values[0]));
    assert.ok(close(d.values[1], 0.4 + 1.0, 1e-5), `Δφ(1,0) = ${d.values[1]}`);
    const flat = phaseDifference(pred, gt, W, H, { weight, removePlane: true });
    assert.ok(flat.plane && close(flat.plane.a, 0.4, 1e-4) && close(flat.plane.b, -0.2, 1e-4) && close(flat.plane.c, 1.0, 1e-4), JSON.stringify(flat.plane));
    for (let i = 1; i < W * H; i++) assert.ok(Math.abs(flat.values[i]) < 1e-4, `pixel ${i}: ${flat.values[i]}`);
  });

  it('fitPlane recovers a plane and refuses too few pixels', () => {
    const v = Float32Array.from({ length: 20 }, (_, i) => 2 * (i % 5) - 3 * Math.floor(i / 5) + 0.5);
    const p = fitPlane(v, 5, 4)!;
    assert.ok(close(p.a, 2, 1e-9) && close(p.b, -3, 1e-9) && close(p.c, 0.5, 1e-9));
    assert.equal(fitPlane(Float32Array.from([1, NaN, NaN, 2]), 2, 2), undefined);
  });

  it('amplitude difference uses the metrics\' mean scaling over the region', () => {
    const pred = new Float32Array(gt.length);
    for (let i = 0; i < gt.length; i++) pred[i] = 0.5 * gt[i]; // half the amplitude, same phase
    const d = amplitudeDifference(pred, gt, W, H, { region: { x: 1, y: 1, width: 3, height: 2 } });
    assert.ok(close(d.scale, 2, 1e-5), `scale ${d.scale}`);
    assert.ok(d.values.every((v) => Math.abs(v) < 1e-5));
    const unscaled = amplitudeDifference(pred, gt, W, H, { scaleToMean: false });
    assert.equal(unscaled.scale, 1);
    assert.ok(close(unscaled.values[0], -0.5 * Math.hypot(gt[0], gt[1]), 1e-6));
  });

  it('unit phasors carry a phase into the viewer\'s phase mode; a symmetric window is ±p99 of |value|', () => {
    const ph = Float32Array.from([0, Math.PI / 2, NaN]);
    const z = unitPhasors(ph);
    assert.ok(close(z[0], 1) && close(z[1], 0) && close(z[2], 0, 1e-7) && close(z[3], 1));
    assert.ok(Number.isNaN(z[4]) && Number.isNaN(z[5]));
    const v = Float32Array.from({ length: 1001 }, (_, i) => (i - 500) / 100);
    const w = symmetricWindow(v, 99);
    assert.ok(close(w.hi, 4.95, 0.02) && w.lo === -w.hi, JSON.stringify(w));
    assert.deepEqual(symmetricWindow(new Float32Array(4)), { lo: -1, hi: 1 });
  });
});

describe('result panels: decimation and reading reconstruction.npz', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-results-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('decimation: nothing up to maxSide, then the smallest factor that fits', () => {
    assert.deepEqual(reconDecimation(2048, 1000, 2048), { factor: 1, width: 2048, height: 1000 });
    assert.deepEqual(reconDecimation(2049, 100, 2048), { factor: 2, width: 1025, height: 50 });
    assert.deepEqual(reconDecimation(5000, 7000, 2048), { factor: 4, width: 1250, height: 1750 });
    assert.deepEqual(reconDecimation(209, 116, 512), { factor: 1, width: 209, height: 116 });
    assert.throws(() => reconDecimation(10, 10, 0));
  });

  it('a shifted block grid puts images with different origins on one grid', () => {
    // Two 1-row images of x = origin + i; factor 3, canvas origin 0. Image A starts at x=4 (shift 1), B at 6 (shift 0).
    const a = new BlockMeanAccumulator(5, 1, 3, 1, 4 % 3, 0);
    a.addRows(Float32Array.from([4, 5, 6, 7, 8]), 1);
    assert.deepEqual([...a.result().data], [4.5, 7]); // blocks {3..5} ∩ A = {4,5}, {6..8}
    const b = new BlockMeanAccumulator(3, 1, 3, 1, 0, 0);
    b.addRows(Float32Array.from([6, 7, 8]), 1);
    assert.deepEqual([...b.result().data], [7]); // the same block as A's second pixel
    assert.throws(() => new BlockMeanAccumulator(3, 1, 3, 1, 3, 0));
  });

  async function writeRecon(sub: string, w: number, h: number, origin: [number, number], withGt = true): Promise<string> {
    const d = path.join(dir, sub);
    fs.mkdirSync(d, { recursive: true });
    const object = new Float32Array(2 * w * h);
    const weight = new Float32Array(w * h);
    for (let i = 0; i < w * h; i++) {
      object[2 * i] = i;
      object[2 * i + 1] = -i;
      weight[i] = i % 7 === 0 ? 0 : 1;
    }
    await writeNpz(path.join(d, 'reconstruction.npz'), {
      object: ndarray('<c8', [h, w], object),
      weight: ndarray('<f4', [h, w], weight),
      origin: ndarray('<i4', [2], Int32Array.from(origin)),
      ...(withGt ? { ground_truth: ndarray('<c8', [h, w], object.map((v) => v * 2)) } : {}),
    });
    return d;
  }

  it('reads the header, then the arrays in full or decimated onto an anchored grid', async () => {
    const d = await writeRecon('a', 10, 6, [23, 118]);
    const hdr = (await readReconHeader(d))!;
    assert.deepEqual([hdr.width, hdr.height, hdr.origin, hdr.hasGroundTruth], [10, 6, [23, 118], true]);
    const full = await loadReconArrays(d, { maxSide: 2048 });
    assert.deepEqual([full.width, full.height, full.factor], [10, 6, 1]);
    assert.equal(full.object.length, 120);
    assert.equal(full.object.buffer.byteLength, 480, 'each array has its own buffer (that is what is sent)');
    assert.equal(full.object[2 * 13], 13);
    assert.equal(full.groundTruth![2 * 13], 26);
    assert.equal(full.weight[14], 0);
    const dec = await loadReconArrays(d, { factor: 2, gridAnchor: [20, 118], groundTruth: false });
    // x origin 23 − anchor 20 = 3 → shift 1: the block grid starts at object x 22.
    assert.deepEqual(dec.gridOrigin, [22, 118]);
    assert.deepEqual([dec.width, dec.height, dec.factor], [6, 3, 2]);
    assert.equal(dec.groundTruth, undefined);
    assert.equal(dec.object[0], (0 + 10) / 2, 'block (22..23) × rows 0..1 holds only source x 0: values 0 and 10');
    assert.equal(dec.object[2], (1 + 2 + 11 + 12) / 4, 'block (24..25) × rows 0..1 averages 1, 2, 11, 12');
    const auto = await loadReconArrays(d, { maxSide: 4 });
    assert.equal(auto.factor, 3);
    // The viewer asks for the ground truth on its own after the first pixels: the same pixels as `full`.
    const gtOnly = await loadReconArrays(d, { maxSide: 2048, groundTruth: 'only' });
    assert.deepEqual([gtOnly.object.length, gtOnly.weight.length, gtOnly.width, gtOnly.height], [0, 0, 10, 6]);
    assert.deepEqual([...gtOnly.groundTruth!], [...full.groundTruth!]);
  });

  it('an archive without a complex 2-D object is refused with the reason', async () => {
    const d = path.join(dir, 'bad');
    fs.mkdirSync(d);
    await writeNpz(path.join(d, 'reconstruction.npz'), { amplitude: ndarray('<f4', [2, 2], new Float32Array(4)) });
    await assert.rejects(loadReconArrays(d), /no 2-D complex "object" array/);
    assert.equal(await readReconHeader(path.join(dir, 'nothing-here')), undefined);
  });

  it('the revision changes when the files change', async () => {
    const d = await writeRecon('rev', 4, 4, [0, 0]);
    const r1 = jobRevision(d);
    await new Promise((r) => setTimeout(r, 15));
    fs.writeFileSync(path.join(d, 'metrics.json'), '{}');
    assert.notEqual(jobRevision(d), r1);
  });

  it('the limiter runs at most N tasks at once', async () => {
    const lim = new Limiter(2);
    let active = 0;
    let peak = 0;
    await Promise.all(Array.from({ length: 6 }, () => lim.run(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    })));
    assert.equal(peak, 2);
  });
});

describe('result panels: metrics.json', () => {
  it('parses the worker\'s metrics.json (schema 2): trained, untrained and flat, Pearson r, FRC in cycles/px, the common evaluation', () => {
    const part = (mae: number) => ({ mae, mse: 0.02, psnr: 9.4, psnrStudy: 64.7, ssim: 0.17, msSsim: 0.03, pearson: 0.61, frc50: 0.125, frc50Shell: 4, frc50Interpolated: 0.11, frc50InterpolatedShell: 3.5, frc1over7: 0.2, frc1over7Shell: 6.4, frcSize: 32, frcCurve: [1, 0.5, 0.2], frc50PerMeter: 1.25e7 });
    const m = parseMetrics({
      schemaVersion: 2, coverage: 0.8, metricRegion: { x: 0, y: 0, width: 36, height: 40 }, globalPhaseOffset: 0.2, testLoss: 0.25,
      evaluation: { dataset: '/s/phase_c/dose_1000/patched_test.npz', source: 'phase-c-test', region: { x0: 30, y0: 31, width: 36, height: 40 }, pixelSize: { meters: 1e-8, key: 'object_pixel_size' } },
      amplitude: part(0.1), phase: part(0.2), width: 32, height: 36, trim: 2, phaseAlign: 'plane', split: 'test',
      untrained: { amplitude: part(0.3), phase: part(0.4) },
      flat: { amplitude: { ...part(0.5), pearson: 0 }, phase: { ...part(0.6), pearson: 0 } },
    });
    assert.equal(m.trained?.amplitude.pearson, 0.61);
    assert.equal(m.trained?.phase.frc50, 0.125, 'cycles/px as written');
    assert.equal(m.trained?.phase.frcSize, 32);
    assert.equal(m.trained?.phase.frc50PerMeter, 1.25e7);
    assert.equal(m.trained?.phase.frc1over7PerMeter, null);
    assert.equal(m.untrained?.phase.mae, 0.4);
    assert.equal(m.flat?.amplitude.mae, 0.5);
    assert.equal(m.flat?.phase.pearson, 0);
    assert.deepEqual(m.evaluation, { dataset: '/s/phase_c/dose_1000/patched_test.npz', source: 'phase-c-test', region: { x0: 30, y0: 31, width: 36, height: 40 }, pixelSizeMeters: 1e-8 });
    assert.equal(m.networkAlone, undefined, 'no refinement: no network-alone column');
    assert.equal(m.groupRefinement, undefined);
  });

  it('a refined gridsize-2 headline keeps the network alone beside it, and says how many iterations refined it', () => {
    const part = (pearson: number) => ({ mae: 0.1, pearson, frc50: 0.2, frcSize: 32, frcCurve: [1, 0.5] });
    const base = { schemaVersion: 2, amplitude: part(0.99), phase: part(0.97), untrained: { amplitude: part(0.5), phase: part(0.4) }, networkAlone: { amplitude: part(0.92), phase: part(0.83) } };
    const chosen = parseMetrics({ ...base, groupRefinementSelection: { chosen: 30, candidates: [] }, groupRefinement: { iterations: 30 } });
    assert.equal(chosen.networkAlone?.amplitude.pearson, 0.92);
    assert.equal(chosen.networkAlone?.phase.pearson, 0.83);
    assert.equal(chosen.groupRefinement, 30);
    assert.equal(parseMetrics({ ...base, groupRefinement: { iterations: 3 } }).groupRefinement, 3, 'a count set, not chosen');
  });

  it('parses an older metrics.json (schema 1): FRC shell indices become cycles/px of the trimmed square; no flat, no evaluation', () => {
    const m = parseMetrics({
      schemaVersion: 1, coverage: 0.49, metricRegion: { x: 52, y: 20, width: 29, height: 41 }, globalPhaseOffset: -0.71, testLoss: 0.25,
      amplitude: { mae: 0.1, mse: 0.02, psnr: 9.4, psnrStudy: 64.7, ssim: 0.17, msSsim: 0.03, frc50: 1, frc50Interpolated: 0.5, frc1over7: 0.87, frcCurve: [1, 0.5, 0.2] },
      phase: { mae: 0.27, mse: 0.1, psnr: 13.8, psnrStudy: 57.8, ssim: 0.53, msSsim: null, frc50: 1, frc50Interpolated: 0.8, frc1over7: 1.9, frcCurve: [1, 0.4] },
      untrained: { amplitude: { mae: 0.2, frcCurve: [] }, phase: { mae: 0.3 } },
      width: 25, height: 37, trim: 2, phaseAlign: 'plane', split: 'test',
    });
    assert.equal(m.trained?.amplitude.psnr, 9.4);
    assert.equal(m.trained?.phase.msSsim, null);
    // Schema 1 wrote shells of the 25×37 metric image's 25×25 centre square.
    assert.equal(m.trained?.amplitude.frc50, 1 / 25);
    assert.equal(m.trained?.phase.frc1over7, 1.9 / 25);
    assert.equal(m.trained?.amplitude.frcSize, 25);
    assert.equal(m.trained?.amplitude.pearson, null);
    assert.equal(m.flat, null);
    assert.equal(m.evaluation, undefined);
    assert.deepEqual([...asFloat64(m.trained!.amplitude.frcCurve)], [1, 0.5, 0.2]);
    assert.ok(m.trained!.phase.frcCurve instanceof ArrayBuffer);
    assert.equal(m.untrained?.amplitude.mae, 0.2);
    assert.equal(m.untrained?.phase.psnr, null);
    assert.deepEqual(m.metricRegion, { x: 52, y: 20, width: 29, height: 41 });
    assert.deepEqual([m.coverage, m.globalPhaseOffset, m.testLoss, m.trim, m.phaseAlign, m.split], [0.49, -0.71, 0.25, 2, 'plane', 'test']);
  });

  it('a run without ground truth has no metrics but keeps the note; malformed JSON is an error, absent is undefined', async () => {
    const m = parseMetrics({ note: 'the dataset has no objectGuess', coverage: 0.3, metricRegion: null, untrained: null });
    assert.equal(m.trained, null);
    assert.equal(m.untrained, null);
    assert.equal(m.note, 'the dataset has no objectGuess');
    assert.throws(() => parseMetrics([1, 2]));
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-metrics-'));
    try {
      assert.equal(await readMetricsFile(d), undefined);
      fs.writeFileSync(path.join(d, 'metrics.json'), '{ not json');
      const r = await readMetricsFile(d);
      assert.ok(r && 'error' in r && /metrics\.json cannot be read/.test(r.error));
    } finally {
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it('the committed reconstruction.npz fixture reads like a worker\'s output', async () => {
    const fixture = path.join(repoRoot, 'test', 'fixtures', 'artifacts');
    const hdr = await readReconHeader(fixture);
    assert.ok(hdr && hdr.width > 0 && hdr.height > 0);
    const r = await loadReconArrays(fixture, { maxSide: 2048 });
    assert.equal(r.object.length, 2 * hdr!.width * hdr!.height);
    assert.equal(r.weight.length, hdr!.width * hdr!.height);
  });
});
