// The ad reconstructor (src/core/iterative/ad.ts) in the real onnxruntime: its forward model is the simulator's
// (the true object leaves no error), it reconstructs noiseless data with sub-pixel positions far better than the
// flat object and close to ePIE, its gradient through Gather/ScatterND accumulates overlapping patches, a resume
// from a snapshot continues to the uninterrupted iterate, probe refinement runs, and bad input is refused.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  AdReconstruction, compareWithTruth, coverageMask, createReconstruction, probePeak, type AdOptions, type ComplexImage,
} from '../../src/core/iterative';
import { FarField } from '../../src/core/simulate/forward';
import { Rng } from '../../src/core/simulate/rng';
import { syntheticObject, syntheticProbe } from '../../src/core/simulate/synthetic';
import { loadReconCheckpoint, saveReconCheckpoint } from '../../src/core/run/reconstructionCheckpoint';
import { tempDir } from './helpers/paths';

const N = 32;
const SIZE = 96;

interface Sim {
  object: ComplexImage;
  probe: ComplexImage;
  xs: Float64Array;
  ys: Float64Array;
  stack: Float32Array;
  energy: number;
}

/** A raster (step 4) with sub-pixel jitter over the object, and its noiseless amplitudes × an arbitrary scale. */
function simulate(): Sim {
  const rng = new Rng(11);
  const lo = N / 2 + 1;
  const hi = SIZE - N / 2 - 2;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = lo; y <= hi; y += 4) {
    for (let x = lo; x <= hi; x += 4) {
      xs.push(Math.min(hi, x + 0.9 * rng.uniform()));
      ys.push(Math.min(hi, y + 0.9 * rng.uniform()));
    }
  }
  const object = syntheticObject(SIZE, N, 7);
  const probe = syntheticProbe(N);
  const ff = new FarField(probe);
  const n2 = N * N;
  const stack = new Float32Array(xs.length * n2);
  const intensity = new Float64Array(n2);
  let energy = 0;
  for (let p = 0; p < xs.length; p++) {
    ff.intensity(object, xs[p], ys[p], intensity);
    for (let k = 0; k < n2; k++) {
      stack[p * n2 + k] = Math.sqrt(intensity[k]) * 2.3;
      energy += stack[p * n2 + k] ** 2;
    }
  }
  return { object, probe, xs: Float64Array.from(xs), ys: Float64Array.from(ys), stack, energy: energy / xs.length };
}

const runtime = { ort, providers: ['cpu'], threads: 2 };

function options(sim: Sim, extra: Partial<AdOptions> = {}): AdOptions {
  return {
    n: N, probe: sim.probe, positions: { xs: sim.xs, ys: sim.ys }, objectShape: { width: SIZE, height: SIZE }, measuredEnergy: sim.energy, seed: 3, ...extra,
  };
}

describe('ad reconstructor (automatic differentiation in onnxruntime)', function () {
  this.timeout(120_000);
  ort.env.logLevel = 'fatal';
  const sim = simulate();
  // Scored where the true probe lights the object at least twice its peak intensity.
  const ref = createReconstruction({ n: N, probe: sim.probe, positions: { xs: sim.xs, ys: sim.ys }, objectShape: { width: SIZE, height: SIZE }, measuredEnergy: 1 });
  const mask = coverageMask(ref.weight(), 2 * probePeak(ref.probe));

  it('fits noiseless sub-pixel data: far above the flat start, close to ePIE; the reported error falls', async () => {
    const rec = await AdReconstruction.create(options(sim, { iterations: 40 }), runtime);
    assert.equal(rec.provider, 'cpu');
    const flat = compareWithTruth(rec.object, sim.object, mask);
    const reports = await rec.iterate(sim.stack, 40);
    const q = compareWithTruth(rec.object, sim.object, mask);
    const epie = createReconstruction({ n: N, probe: sim.probe, positions: { xs: sim.xs, ys: sim.ys }, objectShape: { width: SIZE, height: SIZE }, measuredEnergy: sim.energy, seed: 3 });
    await epie.iterate(sim.stack, 40);
    const qe = compareWithTruth(epie.object, sim.object, mask);
    assert.ok(!(flat.amplitudeR > 0.2), `the flat start scores ${flat.amplitudeR}`);
    assert.ok(q.amplitudeR > 0.95 && q.phaseR > 0.9, `ad: amplitude r ${q.amplitudeR.toFixed(3)}, phase r ${q.phaseR.toFixed(3)} (ePIE ${qe.amplitudeR.toFixed(3)} / ${qe.phaseR.toFixed(3)})`);
    assert.ok(q.amplitudeR > qe.amplitudeR - 0.03 && q.phaseR > qe.phaseR - 0.05, `ad ${q.amplitudeR.toFixed(3)}/${q.phaseR.toFixed(3)} vs ePIE ${qe.amplitudeR.toFixed(3)}/${qe.phaseR.toFixed(3)}`);
    assert.ok(reports.at(-1)!.relativeError < reports[0].relativeError / 5, `relative error ${reports[0].relativeError} → ${reports.at(-1)!.relativeError}`);
    assert.deepEqual(reports.map((r) => r.iteration), Array.from({ length: 40 }, (_, i) => i + 1));
    await rec.release();
  });

  it('its forward model is the simulator\'s: the true object leaves (almost) no amplitude error', async () => {
    const rec = await AdReconstruction.create(options(sim, { learningRate: 1e-9 }), runtime);
    // Put the truth in, in the probe's units: the data were simulated with probeGuess; the engine scaled it by s.
    const snap = rec.snapshot();
    for (let k = 0; k < SIZE * SIZE; k++) {
      snap.objectRe[k] = (sim.object.data[2 * k] * 2.3) / rec.probeScale;
      snap.objectIm[k] = (sim.object.data[2 * k + 1] * 2.3) / rec.probeScale;
    }
    rec.restore(snap);
    const [r] = await rec.iterate(sim.stack, 1);
    assert.ok(r.relativeError < 1e-6, `relative error ${r.relativeError} with the true object`);
    await rec.release();
  });

  it('resumes from a snapshot to the uninterrupted iterate (Adam moments and step carried)', async () => {
    const cfg = { iterations: 6, probeMode: 'refine' as const, probeStart: 2 };
    const straight = await AdReconstruction.create(options(sim, cfg), runtime);
    await straight.iterate(sim.stack, 3);
    const snap = straight.snapshot();
    const tail = await straight.iterate(sim.stack, 3);
    const resumed = await AdReconstruction.create(options(sim, cfg), runtime);
    resumed.restore(snap);
    assert.equal(resumed.iteration, 3);
    const resumedTail = await resumed.iterate(sim.stack, 3);
    assert.deepEqual(resumedTail.map((r) => [r.iteration, r.probeUpdated]), tail.map((r) => [r.iteration, r.probeUpdated]));
    assert.deepEqual(tail.map((r) => r.probeUpdated), [true, true, true]);
    let worst = 0;
    for (let k = 0; k < SIZE * SIZE; k++) worst = Math.max(worst, Math.abs(resumed.object.re[k] - straight.object.re[k]), Math.abs(resumed.object.im[k] - straight.object.im[k]));
    assert.ok(worst < 1e-5, `resumed object differs by up to ${worst}`);
    let probeMoved = 0;
    for (let k = 0; k < N * N; k++) probeMoved = Math.max(probeMoved, Math.abs(straight.probe.re[k] - snap.probeRe[k]));
    assert.ok(probeMoved > 0, 'probe refinement changed the probe');
    await straight.release();
    await resumed.release();
  });

  it('a checkpoint.npz carries the Adam state: saved, loaded and restored, the run continues as if never stopped', async () => {
    const tmp = tempDir('ptycho-ad-ck-');
    try {
      const file = path.join(tmp.dir, 'checkpoint.npz');
      const a = await AdReconstruction.create(options(sim, { iterations: 4 }), runtime);
      await a.iterate(sim.stack, 2);
      await saveReconCheckpoint(file, a.snapshot(), { configKey: 'k', elapsedSeconds: 1, history: [] });
      const [tailA] = await a.iterate(sim.stack, 1);
      const loaded = await loadReconCheckpoint(file, 'k');
      assert.equal(loaded.snapshot.algorithm, 'ad');
      assert.equal(loaded.snapshot.optimizer?.step, a.snapshot().optimizer!.step - Math.ceil(sim.xs.length / 32));
      assert.deepEqual(Object.keys(loaded.snapshot.optimizer!.moments).sort(), ['m_object_im', 'm_object_re', 'm_probe_im', 'm_probe_re', 'v_object_im', 'v_object_re', 'v_probe_im', 'v_probe_re']);
      const b = await AdReconstruction.create(options(sim, { iterations: 4 }), runtime);
      b.restore(loaded.snapshot);
      const [tailB] = await b.iterate(sim.stack, 1);
      assert.equal(tailB.iteration, 3);
      assert.ok(Math.abs(tailB.mse - tailA.mse) <= 1e-6 * tailA.mse, `mse ${tailB.mse} vs ${tailA.mse}`);
      await a.release();
      await b.release();
    } finally {
      tmp.cleanup();
    }
  });

  it('the Poisson loss reconstructs too', async () => {
    const rec = await AdReconstruction.create(options(sim, { loss: 'poisson', iterations: 30 }), runtime);
    await rec.iterate(sim.stack, 30);
    const q = compareWithTruth(rec.object, sim.object, mask);
    assert.ok(q.amplitudeR > 0.9 && q.phaseR > 0.85, `poisson: amplitude r ${q.amplitudeR.toFixed(3)}, phase r ${q.phaseR.toFixed(3)}`);
    await rec.release();
  });

  it('refuses bad input with clear errors', async () => {
    await assert.rejects(AdReconstruction.create(options(sim, { learningRate: 0 }), runtime), /learningRate must be a positive number/);
    await assert.rejects(AdReconstruction.create(options(sim, { measuredEnergy: Number.NaN }), runtime), /measuredEnergy must be a positive number/);
    await assert.rejects(AdReconstruction.create(options(sim, { loss: 'l1' as never }), runtime), /loss must be one of amplitude, poisson/);
    await assert.rejects(AdReconstruction.create({ ...options(sim), positions: { xs: [5], ys: [50] } }, runtime), /outside the 96×96 object grid/);
    await assert.rejects(AdReconstruction.create(options(sim), { ort, providers: ['no-such-provider'] }), /No execution provider could run the model/);
    const rec = await AdReconstruction.create(options(sim), runtime);
    const other = createReconstruction({ n: N, probe: sim.probe, positions: { xs: sim.xs, ys: sim.ys }, objectShape: { width: SIZE, height: SIZE }, measuredEnergy: 1 });
    assert.throws(() => rec.restore(other.snapshot()), /snapshot is of a epie reconstruction, not ad/);
    await rec.release();
  });
});
