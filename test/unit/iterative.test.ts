// The iterative baseline (src/core/iterative): ePIE/rPIE on patterns from the project's own forward model
// (simulate/forward.ts FarField), so a noiseless reconstruction must come out near-exact; sub-pixel positions,
// probe refinement, bit-identical resume, and input errors. Small problems (N = 32) to stay fast.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import {
  compareWithTruth, coverageMask, createReconstruction, optionsFromDataset, probePeak,
  type AmplitudeReader, type ComplexImage, type ReconstructionOptions,
} from '../../src/core/iterative';
import { annealFactor } from '../../src/core/iterative/engine';
import { FarField } from '../../src/core/simulate/forward';
import { Rng } from '../../src/core/simulate/rng';
import { syntheticObject, syntheticProbe } from '../../src/core/simulate/synthetic';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { openTrainingDataset } from '../../src/core/train/data';
import { repoRoot, tempDir } from './helpers/paths';

const N = 32;
const SIZE = 96;

interface Sim {
  object: ComplexImage;
  probe: ComplexImage;
  xs: Float64Array;
  ys: Float64Array;
  stack: Float32Array;
}

/** A raster (step 4, ±1 px integer jitter) over the object, optionally offset by per-position fractions. */
function scan(fractional: boolean): { xs: Float64Array; ys: Float64Array } {
  const rng = new Rng(3);
  const lo = N / 2 + 1;
  const hi = SIZE - N / 2 - 2;
  const xs: number[] = [];
  const ys: number[] = [];
  for (let y = lo; y <= hi; y += 4) {
    for (let x = lo; x <= hi; x += 4) {
      let px = x + rng.int(3) - 1;
      let py = y + rng.int(3) - 1;
      if (fractional) {
        px += 0.37 + 0.5 * rng.uniform();
        py += 0.61 * rng.uniform();
      }
      xs.push(Math.min(Math.max(px, lo), hi));
      ys.push(Math.min(Math.max(py, lo), hi));
    }
  }
  return { xs: Float64Array.from(xs), ys: Float64Array.from(ys) };
}

/** Noiseless amplitudes √I (fftshifted, as datasets store them) times an arbitrary data scale. */
function simulate(fractional: boolean, dataScale = 3.7): Sim {
  const object = syntheticObject(SIZE, N, 7);
  const probe = syntheticProbe(N);
  const { xs, ys } = scan(fractional);
  const ff = new FarField(probe);
  const n2 = N * N;
  const stack = new Float32Array(xs.length * n2);
  const intensity = new Float64Array(n2);
  for (let p = 0; p < xs.length; p++) {
    ff.intensity(object, xs[p], ys[p], intensity);
    for (let k = 0; k < n2; k++) stack[p * n2 + k] = Math.sqrt(intensity[k]) * dataScale;
  }
  return { object, probe, xs, ys, stack };
}

function baseOptions(sim: Sim, extra: Partial<ReconstructionOptions> = {}): ReconstructionOptions {
  return { n: N, probe: sim.probe, positions: { xs: sim.xs, ys: sim.ys }, objectShape: { width: SIZE, height: SIZE }, seed: 5, ...extra };
}

/** The probe with a defocus-like phase error (rad at radius N/4) and a 3×3 amplitude blur. */
function perturbed(probe: ComplexImage, phase: number): ComplexImage {
  const n = probe.width;
  const out = new Float32Array(probe.data.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let re = 0;
      let im = 0;
      let w = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = Math.min(n - 1, Math.max(0, y + dy));
          const xx = Math.min(n - 1, Math.max(0, x + dx));
          const wk = (dx === 0 ? 2 : 1) * (dy === 0 ? 2 : 1);
          re += wk * probe.data[2 * (yy * n + xx)];
          im += wk * probe.data[2 * (yy * n + xx) + 1];
          w += wk;
        }
      }
      const ph = (phase * ((x - n / 2) ** 2 + (y - n / 2) ** 2)) / (n / 4) ** 2;
      const k = 2 * (y * n + x);
      out[k] = (re / w) * Math.cos(ph) - (im / w) * Math.sin(ph);
      out[k + 1] = (re / w) * Math.sin(ph) + (im / w) * Math.cos(ph);
    }
  }
  return { width: n, height: n, data: out };
}

/** Scores on the well-covered pixels: illumination by the true probe ≥ 2 × its peak intensity. */
function scorer(sim: Sim): (rec: ReturnType<typeof createReconstruction>) => { amplitudeR: number; phaseR: number } {
  const ref = createReconstruction(baseOptions(sim, { measuredEnergy: 1 }));
  const mask = coverageMask(ref.weight(), 2 * probePeak(ref.probe));
  return (rec) => compareWithTruth(rec.object, sim.object, mask);
}

function bytes(a: Float64Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

describe('iterative: ePIE / rPIE reconstruction', function () {
  this.timeout(60_000);
  let integer: Sim;
  let fractional: Sim;
  before(() => {
    integer = simulate(false);
    fractional = simulate(true);
  });

  it('uses the simulator\'s forward model exactly: the true object and probe leave no error', async () => {
    for (const sim of [integer, fractional]) {
      const rec = createReconstruction(baseOptions(sim));
      const s = rec.snapshot();
      for (let i = 0; i < SIZE * SIZE; i++) {
        s.objectRe[i] = sim.object.data[2 * i];
        s.objectIm[i] = sim.object.data[2 * i + 1];
      }
      for (let k = 0; k < N * N; k++) {
        s.probeRe[k] = sim.probe.data[2 * k] * 3.7; // the data scale, so no probe scaling is needed
        s.probeIm[k] = sim.probe.data[2 * k + 1] * 3.7;
      }
      s.probeScale = 1;
      rec.restore(s);
      const [report] = await rec.iterate(sim.stack, 1);
      assert.ok(report.relativeError < 1e-12, `relative error ${report.relativeError}`);
    }
  });

  it('scales the probe once so that a unit object matches the data\'s mean energy', async () => {
    const rec = createReconstruction(baseOptions(integer));
    assert.equal(rec.probeScale, null);
    await rec.iterate(integer.stack, 0);
    let mean = 0;
    for (let i = 0; i < integer.stack.length; i++) mean += integer.stack[i] ** 2;
    mean /= integer.xs.length;
    let energy = 0;
    for (let k = 0; k < N * N; k++) energy += rec.probe.re[k] ** 2 + rec.probe.im[k] ** 2;
    assert.ok(Math.abs(energy / mean - 1) < 1e-9, `probe energy ${energy} vs data ${mean}`);
    let initial = 0;
    for (let i = 0; i < 2 * N * N; i++) initial += integer.probe.data[i] ** 2;
    assert.ok(Math.abs(rec.probeScale! / Math.sqrt(mean / initial) - 1) < 1e-9, `probe scale ${rec.probeScale}`);
  });

  it('reconstructs noiseless data near-exactly with ePIE (integer positions)', async () => {
    const rec = createReconstruction(baseOptions(integer));
    const reports = await rec.iterate(integer.stack, 100);
    assert.ok(reports[99].relativeError < reports[0].relativeError / 50, `error ${reports[0].relativeError} → ${reports[99].relativeError}`);
    const q = scorer(integer)(rec);
    assert.ok(q.amplitudeR >= 0.99, `amplitude r ${q.amplitudeR}`);
    assert.ok(q.phaseR >= 0.99, `phase r ${q.phaseR}`);
  });

  it('honours sub-pixel positions: a fractionally shifted scan reconstructs near-exactly (ePIE and rPIE)', async () => {
    for (const algorithm of ['epie', 'rpie'] as const) {
      const rec = createReconstruction(baseOptions(fractional, { algorithm }));
      await rec.iterate(fractional.stack, 100);
      const q = scorer(fractional)(rec);
      assert.ok(q.amplitudeR >= 0.99, `${algorithm}: amplitude r ${q.amplitudeR}`);
      assert.ok(q.phaseR >= 0.99, `${algorithm}: phase r ${q.phaseR}`);
    }
    // Rounding the positions instead (ignoring the fractions) is measurably worse: the fractions matter.
    const rounded = createReconstruction(baseOptions(fractional, { positions: { xs: fractional.xs.map(Math.round), ys: fractional.ys.map(Math.round) } }));
    const reports = await rounded.iterate(fractional.stack, 30);
    const exact = createReconstruction(baseOptions(fractional));
    const exactReports = await exact.iterate(fractional.stack, 30);
    assert.ok(exactReports[29].relativeError < reports[29].relativeError / 5, `sub-pixel ${exactReports[29].relativeError} vs rounded ${reports[29].relativeError}`);
  });

  it('momentum speeds up the slow low-frequency phase (fixed probe)', async () => {
    const score = scorer(fractional);
    const plain = createReconstruction(baseOptions(fractional));
    await plain.iterate(fractional.stack, 30);
    const fast = createReconstruction(baseOptions(fractional, { momentum: 0.5 }));
    await fast.iterate(fractional.stack, 30);
    const a = score(plain);
    const b = score(fast);
    assert.ok(b.phaseR > a.phaseR, `phase r with momentum ${b.phaseR} vs ${a.phaseR}`);
    assert.ok(b.amplitudeR >= 0.99 && b.phaseR >= 0.99, `momentum: ${b.amplitudeR}, ${b.phaseR}`);
  });

  it('annealing: the last iterations\' smaller object step averages the Poisson noise out (noisy data); the schedule and its checks', async () => {
    assert.deepEqual([0, 6, 7, 8, 9].map((t) => +annealFactor(t, 0.3, 10).toFixed(3)), [1, 1, 1, 0.733, 0.467]);
    assert.equal(annealFactor(9, 0, 10), 1, 'off');
    assert.throws(() => createReconstruction(baseOptions(fractional, { anneal: 0.3 })), /plannedIterations/);
    assert.throws(() => createReconstruction(baseOptions(fractional, { anneal: 1, plannedIterations: 10 })), /anneal must be in \[0, 1\)/);
    // Poisson counts at ~2,000 photons per pattern, back to amplitudes.
    const per = N * N;
    let energy = 0;
    for (const a of fractional.stack) energy += a * a;
    const c = 2000 / (energy / (fractional.stack.length / per));
    const rng = new Rng(7, 'anneal-test-noise');
    const noisy = fractional.stack.map((a) => Math.sqrt(rng.poisson(a * a * c) / c));
    const score = scorer(fractional);
    const plain = createReconstruction(baseOptions(fractional, { momentum: 0.5 }));
    await plain.iterate(noisy, 30);
    const annealed = createReconstruction(baseOptions(fractional, { momentum: 0.5, anneal: 0.4, plannedIterations: 30 }));
    await annealed.iterate(noisy, 30);
    const a = score(plain);
    const b = score(annealed);
    assert.ok(b.amplitudeR > a.amplitudeR, `amplitude r annealed ${b.amplitudeR} vs ${a.amplitudeR}`);
  });

  it('two threads (stripes of the object, fixed probe) give bit for bit the one-thread result; with a reader too', async () => {
    const size = 192;
    const object = syntheticObject(size, N, 3);
    const probe = syntheticProbe(N);
    const rng = new Rng(11, 'wide-scan');
    const count = 360;
    const xs = Float64Array.from({ length: count }, () => N / 2 + 1 + rng.uniform() * (size - N - 4));
    const ys = Float64Array.from({ length: count }, () => N / 2 + 1 + rng.uniform() * (size - N - 4));
    const ff = new FarField(probe);
    const n2 = N * N;
    const stack = new Float32Array(count * n2);
    const intensity = new Float64Array(n2);
    for (let p = 0; p < count; p++) {
      ff.intensity(object, xs[p], ys[p], intensity);
      for (let k = 0; k < n2; k++) stack[p * n2 + k] = Math.sqrt(intensity[k]) * 2;
    }
    const opts: ReconstructionOptions = { n: N, probe, positions: { xs, ys }, objectShape: { width: size, height: size }, seed: 5, momentum: 0.5 };
    const threadScript = path.join(repoRoot, 'dist', 'iterative-thread.js');
    const one = createReconstruction({ ...opts, threads: 1 });
    const two = createReconstruction({ ...opts, threads: 2, threadScript });
    try {
      assert.equal(one.parallel, false);
      assert.equal(two.parallel, true, 'a 192-px object holds four 32-px stripes (159 columns of positions)');
      const r1 = await one.iterate(stack, 4);
      const r2 = await two.iterate(stack, 4);
      const same = (a: Float64Array, b: Float64Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
      assert.ok(same(one.object.re, two.object.re) && same(one.object.im, two.object.im), 'the same object, bit for bit');
      assert.ok(Math.abs(r1[3].relativeError - r2[3].relativeError) < 1e-12, 'the same error (summed in another order)');
      assert.ok(r2[3].relativeError < r2[0].relativeError / 3, `it converges: ${r2[0].relativeError} → ${r2[3].relativeError}`);
      // A reader source streams on one thread, in the same stripe-grouped order: the same object again.
      const three = createReconstruction({ ...opts, threads: 2, threadScript });
      const reader: AmplitudeReader = {
        read: async (ids, out, offset = 0) => {
          for (let j = 0; j < ids.length; j++) out.set(stack.subarray(ids[j] * n2, (ids[j] + 1) * n2), offset + j * n2);
        },
      };
      await three.iterate(reader, 4);
      assert.ok(same(one.object.re, three.object.re), 'the reader path agrees');
      three.release();
      // Probe refinement couples every pattern: one thread, the random order.
      assert.equal(createReconstruction({ ...opts, momentum: 0, probeMode: 'refine', threads: 2, threadScript }).parallel, false);
    } finally {
      two.release();
    }
  });

  it('refines a wrong probe: better than keeping it, close to the known-probe result', async () => {
    const score = scorer(fractional);
    const wrong = perturbed(fractional.probe, 1.2);
    const iterations = 60;
    const known = createReconstruction(baseOptions(fractional));
    const knownReports = await known.iterate(fractional.stack, iterations);
    const fixedWrong = createReconstruction(baseOptions(fractional, { probe: wrong }));
    const fixedReports = await fixedWrong.iterate(fractional.stack, iterations);
    const refined = createReconstruction(baseOptions(fractional, { probe: wrong, probeMode: 'refine' }));
    const refinedReports = await refined.iterate(fractional.stack, iterations);
    assert.equal(refinedReports[0].probeUpdated, false);
    assert.equal(refinedReports[1].probeUpdated, true);
    const [k, f, r] = [score(known), score(fixedWrong), score(refined)];
    const last = (x: { relativeError: number }[]): number => x[iterations - 1].relativeError;
    assert.ok(last(refinedReports) < last(fixedReports) / 5, `error refined ${last(refinedReports)} vs fixed wrong ${last(fixedReports)} (known ${last(knownReports)})`);
    assert.ok(r.amplitudeR > f.amplitudeR && r.phaseR > f.phaseR, `refined ${JSON.stringify(r)} vs fixed wrong ${JSON.stringify(f)}`);
    assert.ok(r.amplitudeR >= k.amplitudeR - 0.02 && r.phaseR >= k.phaseR - 0.02, `refined ${JSON.stringify(r)} vs known ${JSON.stringify(k)}`);
  });

  it('resumes bit-identically from a snapshot (ePIE + refinement, rPIE + momentum), from a stack or a reader', async () => {
    const reader: AmplitudeReader = {
      async read(indices, out, offset = 0) {
        for (let j = 0; j < indices.length; j++) out.set(fractional.stack.subarray(indices[j] * N * N, (indices[j] + 1) * N * N), offset + j * N * N);
      },
    };
    const configs: Partial<ReconstructionOptions>[] = [
      { algorithm: 'epie', probeMode: 'refine', probe: perturbed(fractional.probe, 0.8) },
      { algorithm: 'rpie', momentum: 0.5 },
    ];
    for (const cfg of configs) {
      const straight = createReconstruction(baseOptions(fractional, cfg));
      await straight.iterate(fractional.stack, 3);
      const snap = straight.snapshot();
      const tail = await straight.iterate(fractional.stack, 3);

      const resumed = createReconstruction(baseOptions(fractional, cfg));
      resumed.restore(snap);
      assert.equal(resumed.iteration, 3);
      const resumedTail = await resumed.iterate(reader, 3);
      assert.deepEqual(resumedTail.map((r) => [r.iteration, r.mse, r.relativeError, r.probeUpdated]), tail.map((r) => [r.iteration, r.mse, r.relativeError, r.probeUpdated]));
      for (const key of ['re', 'im'] as const) {
        assert.ok(bytes(resumed.object[key]).equals(bytes(straight.object[key])), `object ${key} (${cfg.algorithm})`);
        assert.ok(bytes(resumed.probe[key]).equals(bytes(straight.probe[key])), `probe ${key} (${cfg.algorithm})`);
      }
      // The snapshot is a copy: iterating on did not change it.
      assert.equal(snap.iteration, 3);
      assert.ok(!bytes(snap.objectRe).equals(bytes(straight.object.re)));
    }
  });

  it('rejects bad inputs with clear errors', async () => {
    const sim = integer;
    const outside = Float64Array.from(sim.xs);
    outside[7] = SIZE - N / 2; // the bilinear neighbour would fall off the grid
    assert.throws(() => createReconstruction(baseOptions(sim, { positions: { xs: outside, ys: sim.ys } })), /position 7 .* is outside the 96×96 object grid for 32×32 patches/);
    const negative = Float64Array.from(sim.ys);
    negative[0] = -3;
    assert.throws(() => createReconstruction(baseOptions(sim, { positions: { xs: sim.xs, ys: negative } })), /position 0 .* outside/);
    assert.throws(() => createReconstruction(baseOptions(sim, { positions: { xs: sim.xs, ys: sim.ys.subarray(1) } })), /x coordinates but .* y coordinates/);
    assert.throws(() => createReconstruction(baseOptions(sim, { n: 64 })), /the probe is 32×32 but the patterns are 64×64/);
    assert.throws(() => createReconstruction(baseOptions(sim, { n: 48 })), /power of two/);
    assert.throws(() => createReconstruction(baseOptions(sim, { objectShape: { width: 20, height: 96 } })), /objectShape/);
    assert.throws(() => createReconstruction(baseOptions(sim, { algorithm: 'dm' as never })), /algorithm must be one of epie, rpie/);
    assert.throws(() => createReconstruction(baseOptions(sim, { algorithm: 'rpie', alpha: 0 })), /alpha must be in \(0, 1\]/);
    assert.throws(() => createReconstruction(baseOptions(sim, { probeMode: 'refine', momentum: 0.5 })), /momentum works with a fixed probe only/);
    const zero = { width: N, height: N, data: new Float32Array(2 * N * N) };
    assert.throws(() => createReconstruction(baseOptions(sim, { probe: zero })), /probe is zero/);

    const rec = createReconstruction(baseOptions(sim));
    // Patterns of the wrong size (mismatched N) or count.
    await assert.rejects(rec.iterate(new Float32Array(sim.xs.length * 64 * 64), 1), /holds 1024 patterns of 32×32; expected 256 patterns/);
    await assert.rejects(rec.iterate(sim.stack.subarray(N * N), 1), /holds 255 patterns of 32×32; expected 256/);
    await assert.rejects(rec.iterate(new Float32Array(sim.stack.length), 1), /no energy/);
    await assert.rejects(rec.iterate(sim.stack, 1.5), /iteration count/);
    // A snapshot from a different configuration.
    const other = createReconstruction(baseOptions(sim, { algorithm: 'rpie' }));
    assert.throws(() => rec.restore(other.snapshot()), /snapshot does not fit this reconstruction: algorithm is rpie, expected epie/);
    // Cancellation between iterations.
    const ctl = new AbortController();
    ctl.abort();
    await assert.rejects(rec.iterate(sim.stack, 2, { signal: ctl.signal }), (e: Error) => e.name === 'AbortError');
    assert.equal(rec.iteration, 0);
  });

  it('reconstructs a simulated study\'s test split read through openTrainingDataset', async function () {
    const { dir, cleanup } = tempDir('ptycho-iterative-');
    try {
      const cfg = { ...defaultSimulationConfig(dir), doses: [1e6], nImages: 400, size: N, objectSize: 128, views: [], timestamp: '2026-01-01T00:00:00Z' };
      await simulateStudy(cfg);
      const ds = await openTrainingDataset(path.join(dir, 'phase_c', 'dose_1000000', 'patched_test.npz'));
      try {
        const rec = createReconstruction(optionsFromDataset(ds, { seed: 1, momentum: 0.5 }));
        assert.equal(rec.probeScale !== null, true, 'loader-normalised data need no energy pass');
        const reports = await rec.iterate(ds.patterns, 40);
        assert.ok(reports[39].relativeError < reports[0].relativeError, 'the error goes down');
        const mask = coverageMask(rec.weight(), 2 * probePeak(rec.probe));
        const q = compareWithTruth(rec.object, ds.object!, mask);
        assert.ok(q.amplitudeR >= 0.95 && q.phaseR >= 0.95, `amplitude r ${q.amplitudeR}, phase r ${q.phaseR} on ${q.pixels} pixels`);
      } finally {
        await ds.close();
      }
    } finally {
      cleanup();
    }
  });
});
