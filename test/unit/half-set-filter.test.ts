// training.stitchAmplitudeFilter and stitchPhaseFilter (README items 24–25): the stitched amplitude, and the phase,
// weighted per spatial frequency by the Wiener weight 2·FRC/(1+FRC), the FRC between the stitches of the even and the
// odd patches (the phase's weights lifted to a non-increasing envelope). The weights, the filters' exactness, that
// they remove noise two halves disagree on and keep what they share, that the other part and the holes are untouched,
// that the halves' own phase offsets and ramps are not read as disagreement, the halves the stitchers hand over,
// and the settings from the CLI to metrics.json.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz } from '../../src/core/npy';
import { deltasOf, type JobResult } from '../../src/core/report';
import { Rng } from '../../src/core/simulate/rng';
import { resolveTrainingSettings } from '../../src/core/study';
import { frc } from '../../src/core/metrics';
import { buildGroups, coveredAmplitude, densityGain, DENSITY_GAIN_MIN_FRC, filterAmplitudeByHalves, filterPhaseByHalves, FRC_CUT, frcMask, halfSetGroups, liftedWeights, MAX_DENSITY_GAIN, MIN_FILTER_SIZE, pooledFrc, resolutionCutShell, rolledOff, stitcherFor, throughMask, weightByShell, wienerWeights, type StitchRegion } from '../../src/core/train';
import { repoRoot, tempDir } from './helpers/paths';
import { makeStudy } from './helpers/study';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const W = 64;
const H = 48;

/** A smooth amplitude (features ~16 px) and a phase, as interleaved complex with every pixel covered. */
function smoothObject(noise: Float64Array | undefined): { object: Float32Array; weight: Float32Array; amplitude: Float64Array; phase: Float64Array } {
  const amplitude = new Float64Array(W * H);
  const phase = new Float64Array(W * H);
  const object = new Float32Array(2 * W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      amplitude[i] = 0.75 + 0.2 * Math.sin((2 * Math.PI * x) / 16) * Math.cos((2 * Math.PI * y) / 24) + (noise ? noise[i] : 0);
      phase[i] = 0.8 * Math.sin((2 * Math.PI * (x + y)) / 40);
      object[2 * i] = amplitude[i] * Math.cos(phase[i]);
      object[2 * i + 1] = amplitude[i] * Math.sin(phase[i]);
    }
  }
  return { object, weight: new Float32Array(W * H).fill(1), amplitude, phase };
}

function whiteNoise(seed: number, sigma: number): Float64Array {
  const rng = new Rng(seed, 'amplitude-filter-test');
  return Float64Array.from({ length: W * H }, () => sigma * rng.normal());
}

/** Two halves with independent noise (seeds, sigma), the full image with their mean noise, and holes (zeroed) in it. */
function noisyHalves<T extends { object: Float32Array; weight: Float32Array }>(make: (noise: Float64Array) => T, seeds: [number, number], sigma: number, holes: number[]): { a: T; b: T; full: T } {
  const [n1, n2] = seeds.map((seed) => whiteNoise(seed, sigma));
  const full = make(Float64Array.from(n1, (v, i) => (v + n2[i]) / 2));
  for (const i of holes) { full.weight[i] = 0; full.object[2 * i] = 0; full.object[2 * i + 1] = 0; }
  return { a: make(n1), b: make(n2), full };
}

type Image = { object: Float32Array; weight: Float32Array };

/** A region too small for the FRC, or a half that covers nothing: the filter does nothing and says so (undefined). */
function assertNoFilterWithoutFrc(filter: typeof filterAmplitudeByHalves, full: Image, half: Image): void {
  const s = MIN_FILTER_SIZE - 1;
  const tiny = { object: new Float32Array(2 * s * s).fill(0.5), weight: new Float32Array(s * s).fill(1) };
  assert.equal(filter(tiny, [tiny, tiny], [1, 1], s, s), undefined);
  const empty = { object: new Float32Array(2 * W * H), weight: new Float32Array(W * H) };
  assert.equal(filter(full, [half, empty], [1, 0], W, H), undefined);
}

const amplitudeOf = (object: Float32Array, i: number): number => Math.hypot(object[2 * i], object[2 * i + 1]);
const rmsError = (object: Float32Array, truth: Float64Array): number => {
  let s = 0;
  for (let i = 0; i < truth.length; i++) s += (amplitudeOf(object, i) - truth[i]) ** 2;
  return Math.sqrt(s / truth.length);
};

describe('amplitude weighted by its half-set FRC (training.stitchAmplitudeFilter)', () => {
  it('the Wiener weight 2·FRC/(1+FRC): 1 where the halves agree, 0 where they do not correlate or anti-correlate', () => {
    const w = wienerWeights([1, 1 / 3, 0, -0.4, Number.NaN, 2]);
    assert.deepEqual(w.map((v) => Math.round(v * 1e12) / 1e12), [1, 0.5, 0, 0, 0, 1]);
  });

  it('reads the FRC pooled over more shells the higher the shell, and cuts past the halves\' resolution (1/7)', () => {
    // Shells 0–3 stay as measured; shell k pools k ± floor(k/4): a noise floor scattering ±0.2 about 0.03 averages out.
    const scatter = Array.from({ length: 60 }, (_, k) => (k < 6 ? 1 - k / 10 : 0.03 + (k % 2 ? 0.2 : -0.2)));
    const pooled = pooledFrc(scatter);
    assert.deepEqual(pooled.slice(0, 4), scatter.slice(0, 4));
    for (let k = 30; k < 60; k++) assert.ok(Math.abs(pooled[k] - 0.03) < 0.03, `shell ${k}: ${pooled[k]}`);
    assert.ok(Math.max(...wienerWeights(scatter).slice(30)) > 0.3, 'per shell, the scatter would pass noise');
    assert.ok(Math.max(...wienerWeights(pooled).slice(30)) < 0.12, 'pooled, it does not');
    assert.equal(pooledFrc([0.5, Number.NaN, 0.5])[1], 0, 'shell 1 pools itself only: NaN reads 0 … ');
    assert.equal(pooledFrc([1, 1, 1, 1, Number.NaN, 1])[4], 2 / 3, '… and pooled with its neighbours counts as 0');

    // The cut, read on the Wiener weights: the first shell past the highest (shell 0 aside) whose FRC is below 1/7;
    // shell 1 when the halves agree nowhere.
    const cutOf = (frcs: number[]): number | undefined => resolutionCutShell(wienerWeights(frcs));
    assert.equal(cutOf([1, 0.9, 0.8, 0.1, 0.2, 0.05]), 3);
    assert.equal(cutOf([1, 0.05, 0.1, 0.9, 0.8, 0.05, 0.3]), 5, 'an image without large scales is not cut below its detail');
    assert.equal(cutOf([1, 0.1, 0.05, 0.1]), 1);
    assert.equal(cutOf([1, 0.9, 0.5, FRC_CUT]), undefined, 'never below: no cut');
    // A phase dip the lift reads as the halving's (an iterative half's large scales) does not cut there.
    const dip = [1, 0.95, 0.05, 0.9, 0.92, 0.9, 0.88, 0.2, 0.1, 0.05, 0.1, 0.05, 0.1, 0.05, 0.05, 0.05];
    assert.equal(resolutionCutShell(dip), 2);
    assert.equal(resolutionCutShell(liftedWeights(dip)), 9);
    const rolled = rolledOff([1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 8);
    assert.deepEqual(rolled.slice(0, 8), [1, 1, 1, 1, 1, 1, 1, 1]);
    assert.ok(rolled[8] === 1 && rolled[9] > 0 && rolled[9] < 1, `a raised cosine over 2 shells: ${rolled.slice(8, 11)}`);
    assert.deepEqual(rolled.slice(10), [0, 0, 0, 0]);
    assert.deepEqual(rolledOff([0.5, 0.2], undefined), [0.5, 0.2]);
  });

  it('looks through a soft mask: a shared hard edge (a hole, the square\'s cut) is not read as agreement at every frequency', () => {
    // Two halves of one smooth image (a slope across the region: a step where the centre square cuts it, and at a
    // hole), each with its own white noise; no detail is shared above shell ~3.
    const w = 160;
    const h = 128;
    const make = (seed: number): Image => {
      const rng = new Rng(seed, 'frc-mask-test');
      const object = new Float32Array(2 * w * h);
      const weight = new Float32Array(w * h).fill(1);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = y * w + x;
          const hole = (x - 80) ** 2 + (y - 64) ** 2 < 15 ** 2;
          if (hole) { weight[i] = 0; continue; }
          object[2 * i] = 0.6 + 0.3 * (x / w) + 0.1 * (y / h) + 0.05 * rng.normal();
        }
      }
      return { object, weight };
    };
    const [a, b] = [make(21), make(22)];
    const full = make(23);
    const mask = frcMask(a.weight, b.weight, w, h);
    assert.equal(mask[64 * w + 80], 0, 'the hole');
    assert.equal(mask[64 * w + 10], 0, 'outside the centre square');
    assert.equal(mask[20 * w + 40], 1, 'well inside both');
    assert.equal(mask[0 * w + 40], 0, 'the image\'s border (the square\'s, which the FFT wraps) is an edge too');
    assert.ok(mask.every((v) => v >= 0 && v <= 1));
    const summary = filterAmplitudeByHalves(full, [a, b], [5, 5], w, h);
    assert.ok(summary);
    assert.ok(summary.resolutionCut !== null && summary.resolutionCut < 0.2, `cut at ${summary.resolutionCut} cycles/px`);
    assert.ok(summary.shellWeights.slice(30).every((v) => v === 0), `no weight above shell 30: ${summary.shellWeights.slice(30, 40)}`);
    // Seen through hard edges (the holes mean-filled, the square cut as it falls), the same halves agree up to Nyquist.
    const hard = frc(coveredAmplitude(a, w, h).amplitude, coveredAmplitude(b, w, h).amplitude, w, h).curve;
    const tail = hard.slice(30);
    const leak = tail.reduce((x, y) => x + y, 0) / tail.length;
    const leakWeight = wienerWeights(tail).reduce((x, y) => x + y, 0) / tail.length;
    assert.ok(leak > 0.05 && leakWeight > 0.1, `hard-edged FRC above shell 30: mean ${leak.toFixed(3)} (Wiener weight ${leakWeight.toFixed(3)})`);
    const soft = frc(throughMask(coveredAmplitude(a, w, h).amplitude, mask), throughMask(coveredAmplitude(b, w, h).amplitude, mask), w, h).curve.slice(30);
    const softLeak = soft.reduce((x, y) => x + y, 0) / soft.length;
    assert.ok(softLeak < 0.75 * leak, `through the soft mask: mean ${softLeak.toFixed(3)} (hard ${leak.toFixed(3)})`);
  });

  it('weights each frequency by its shell: all ones leave the image, all zeros leave its mean', () => {
    const noise = whiteNoise(1, 0.1);
    const img = Float64Array.from(noise, (v, i) => v + (i % 7));
    const same = Float64Array.from(img);
    weightByShell(same, W, H, new Array(24).fill(1), H);
    for (let i = 0; i < img.length; i++) assert.ok(Math.abs(same[i] - img[i]) < 1e-9, `pixel ${i}`);
    const flat = Float64Array.from(img);
    weightByShell(flat, W, H, new Array(24).fill(0), H);
    const mean = img.reduce((a, b) => a + b, 0) / img.length;
    for (const v of flat) assert.ok(Math.abs(v - mean) < 1e-9);
  });

  it('damps the noise two halves disagree on and keeps the structure they share; phases and holes untouched', () => {
    const { a, b, full } = noisyHalves(smoothObject, [2, 3], 0.15, [5, 700]);
    const truth = smoothObject(undefined).amplitude;
    const before = rmsError(full.object, truth);
    const phaseBefore = Array.from({ length: W * H }, (_, i) => Math.atan2(full.object[2 * i + 1], full.object[2 * i]));
    const summary = filterAmplitudeByHalves(full, [a, b], [10, 9], W, H);
    assert.ok(summary, 'the filter ran');
    const after = rmsError(full.object, truth);
    assert.ok(after < 0.6 * before, `rms amplitude error ${before.toFixed(4)} → ${after.toFixed(4)}`);
    // The shared structure (1/16 and 1/24 cycles/px: shell 4 of the 48-px square) keeps its weight.
    // The shared structure (1/16 and 1/24 cycles/px: shells 3–5 of the 48-px square, spread by the soft mask) keeps
    // much of its weight; past the resolution cut nothing passes.
    assert.ok(Math.max(...summary.shellWeights.slice(3, 6)) > 0.6, `weights at the structure's shells: ${summary.shellWeights.slice(3, 6)}`);
    assert.ok(summary.resolutionCut !== null && summary.resolutionCut > 4 / 48 && summary.resolutionCut < 0.25, `resolution cut ${summary.resolutionCut} cycles/px`);
    assert.ok(summary.shellWeights.slice(12).every((w) => w === 0), `the noise-only shells are cut: ${summary.shellWeights.slice(12)}`);
    assert.ok(summary.halfSetFrc50 > 0 && summary.halfSetFrc50 <= summary.halfSetFrc1over7 && summary.halfSetFrc1over7 < 0.5, `half-set FRC50 ${summary.halfSetFrc50}, 1/7 ${summary.halfSetFrc1over7} cycles/px`);
    assert.deepEqual(summary.halves, [10, 9]);
    for (let i = 0; i < W * H; i++) {
      if (full.weight[i] === 0) {
        assert.deepEqual([full.object[2 * i], full.object[2 * i + 1]], [0, 0], `hole ${i}`);
        continue;
      }
      const d = Math.atan2(full.object[2 * i + 1], full.object[2 * i]) - phaseBefore[i];
      assert.ok(Math.abs(Math.atan2(Math.sin(d), Math.cos(d))) < 1e-5, `phase at ${i}`);
    }
  });

  it('halves that agree leave the amplitude as it was; a region too small changes nothing', () => {
    const a = smoothObject(undefined);
    const full = smoothObject(undefined);
    const copy = Float32Array.from(full.object);
    const summary = filterAmplitudeByHalves(full, [a, smoothObject(undefined)], [4, 4], W, H);
    assert.ok(summary);
    assert.ok(summary.shellWeights.every((w) => w > 0.999));
    for (let i = 0; i < copy.length; i++) assert.ok(Math.abs(full.object[i] - copy[i]) < 1e-4, `value ${i}`);
    assertNoFilterWithoutFrc(filterAmplitudeByHalves, full, a);
  });

  it('the stitchers hand over the even and the odd patches stitched apart, plain and phase-aligned', () => {
    const n = 32;
    const region: StitchRegion = { x0: 0, y0: 0, width: 60, height: 40 };
    const probe = new Float32Array(2 * n * n).fill(0.1);
    const centres = [[15, 15], [22, 15], [29, 15], [36, 20], [43, 20]];
    for (const alignPhase of [false, true]) {
      const s = stitcherFor(region, n, 8, centres.length, { alignPhase, halfSets: true }, probe, 1);
      centres.forEach(([cx, cy], g) => s.add(new Float32Array(n * n).fill(0.5 + 0.1 * g), new Float32Array(n * n), cx, cy));
      const r = s.result();
      assert.ok(r.halves, `halves (alignPhase ${alignPhase})`);
      assert.deepEqual(r.halves.counts, [3, 2]);
      // Each patch's centre is reached by its own 8-px crop only: patch 0 (even) at (15, 15), patch 1 (odd) at (22, 15).
      const [even, odd] = r.halves.images;
      const at0 = 15 * region.width + 15;
      const at1 = 15 * region.width + 22;
      assert.ok(Math.abs(amplitudeOf(even.object, at0) - 0.5) < 1e-6, `even half at (15, 15): ${amplitudeOf(even.object, at0)}`);
      assert.ok(Math.abs(amplitudeOf(odd.object, at1) - 0.6) < 1e-6, `odd half at (22, 15): ${amplitudeOf(odd.object, at1)}`);
      assert.deepEqual([even.weight[at1], odd.weight[at0]], [0, 0], 'each half leaves the other\'s patches out');
      assert.ok(r.weight[at0] > 0 && r.weight[at1] > 0, 'the full stitch holds both');
      const without = stitcherFor(region, n, 8, centres.length, { alignPhase }, probe, 1);
      centres.forEach(([cx, cy]) => without.add(new Float32Array(n * n).fill(0.5), new Float32Array(n * n), cx, cy));
      assert.equal(without.result().halves, undefined);
    }
  });

  it('both are on by default and checked; a trained job records the half-set FRCs, and --no-amplitude-filter / --no-phase-filter re-evaluate it without', async function () {
    this.timeout(300_000);
    assert.equal(resolveTrainingSettings().stitchAmplitudeFilter, true);
    assert.throws(() => resolveTrainingSettings({ stitchAmplitudeFilter: 'yes' as never }), /stitchAmplitudeFilter must be true or false/);
    assert.equal(resolveTrainingSettings().stitchPhaseFilter, true);
    assert.throws(() => resolveTrainingSettings({ stitchPhaseFilter: 1 as never }), /stitchPhaseFilter must be true or false/);
    const tmp = tempDir('ptycho-amplitude-filter-');
    try {
      await makeStudy(tmp.dir, { doses: [1000], views: [] });
      const job = path.join(tmp.dir, 'phase_e', 'dose_1000', 'baseline', 'gs1');
      const train = (...flags: string[]) => spawnSync(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--view', 'baseline', '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1', '--no-contrast-calibration', ...flags], { encoding: 'utf8', timeout: 240_000 });
      const read = async (): Promise<{ metrics: { amplitudeFilter?: { halfSetFrc50: number; halfSetFrc1over7: number; unit: string; halves: number[]; shellWeights: number[] }; phaseFilter?: { halfSetFrc50: number; unit: string; halves: number[]; shellWeights: number[] } }; amplitude: Float32Array; phase: Float32Array; weight: Float32Array }> => {
        const rec = await openNpz(path.join(job, 'reconstruction.npz'));
        const [amplitude, phase, weight] = await Promise.all(['amplitude', 'phase', 'weight'].map(async (k) => (await rec.readArray(k)).data as Float32Array));
        await rec.close();
        return { metrics: JSON.parse(fs.readFileSync(path.join(job, 'metrics.json'), 'utf8')), amplitude, phase, weight };
      };
      let r = train();
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Amplitude weighted by its half-set FRC \(\d+ \+ \d+ patches stitched apart, no ground truth\): FRC50 (0\.\d{3}|above it up to 0\.\d{3})/);
      const on = await read();
      const f = on.metrics.amplitudeFilter!;
      assert.ok(f, 'metrics.json amplitudeFilter');
      assert.equal(f.unit, 'cycles/px');
      assert.ok(f.halfSetFrc50 > 0 && f.halfSetFrc50 <= 0.5 && f.halfSetFrc1over7 >= f.halfSetFrc50, JSON.stringify(f));
      assert.ok(f.shellWeights.length > 8 && f.shellWeights.every((w) => w >= 0 && w <= 1));
      assert.match(r.stdout, /Phase weighted by its half-set FRC \(the same halves\): FRC50 (0\.\d{3}|above it up to 0\.\d{3})/);
      const pf = on.metrics.phaseFilter!;
      assert.ok(pf, 'metrics.json phaseFilter');
      assert.equal(pf.unit, 'cycles/px');
      assert.deepEqual(pf.halves, f.halves);
      assert.ok(pf.shellWeights.length === f.shellWeights.length && pf.shellWeights.every((w) => w >= 0 && w <= 1));
      // The same model, re-evaluated without the filter (a resume may change it): same phases, other amplitudes.
      r = train('--resume', '--no-amplitude-filter');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /Amplitude weighted/);
      assert.match(r.stdout, /Phase weighted by its half-set FRC/);
      const off = await read();
      assert.equal(off.metrics.amplitudeFilter, undefined);
      let differ = 0;
      for (let i = 0; i < on.weight.length; i++) {
        assert.equal(on.weight[i], off.weight[i]);
        if (on.weight[i] > 0) {
          assert.ok(Math.abs(on.phase[i] - off.phase[i]) < 1e-5, `phase at ${i}`);
          if (Math.abs(on.amplitude[i] - off.amplitude[i]) > 1e-4) differ++;
        }
      }
      assert.ok(differ > on.weight.length / 4, `amplitudes changed by the filter: ${differ}`);
      // And without the phase's weighting: the amplitudes of the run before, other phases.
      r = train('--resume', '--no-amplitude-filter', '--no-phase-filter');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.doesNotMatch(r.stdout, /half-set FRC/);
      const none = await read();
      assert.equal(none.metrics.phaseFilter, undefined);
      let phasesDiffer = 0;
      for (let i = 0; i < off.weight.length; i++) {
        if (!(off.weight[i] > 0)) continue;
        assert.ok(Math.abs(none.amplitude[i] - off.amplitude[i]) < 1e-5, `amplitude at ${i}`);
        if (Math.abs(wrapped(none.phase[i] - off.phase[i])) > 1e-4) phasesDiffer++;
      }
      assert.ok(phasesDiffer > off.weight.length / 4, `phases changed by the filter: ${phasesDiffer}`);
    } finally {
      tmp.cleanup();
    }
  });
});

/** An object with the smooth amplitude and the smooth phase plus `phaseNoise`, a constant `offset` and a ramp (rad/px). */
function phaseObject(phaseNoise: Float64Array | undefined, offset = 0, ramp: [number, number] = [0, 0]): { object: Float32Array; weight: Float32Array } {
  const base = smoothObject(undefined);
  const object = new Float32Array(2 * W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const phase = base.phase[i] + (phaseNoise ? phaseNoise[i] : 0) + offset + ramp[0] * x + ramp[1] * y;
      object[2 * i] = base.amplitude[i] * Math.cos(phase);
      object[2 * i + 1] = base.amplitude[i] * Math.sin(phase);
    }
  }
  return { object, weight: base.weight };
}

const phaseAt = (object: Float32Array, i: number): number => Math.atan2(object[2 * i + 1], object[2 * i]);
const wrapped = (d: number): number => Math.atan2(Math.sin(d), Math.cos(d));

describe('gridsize 2: halves of disjoint patterns, and the SNR a doubling of the data gains', () => {
  it('splits the groups\' patterns into disjoint halves and quarters, each grouped among its own at about the full density\'s span', () => {
    // A jittered 24 × 24 raster, 6 px apart, grouped as the evaluation groups a gridsize-2 model's split (K = 7).
    const rng = new Rng(5, 'half-set-groups-test');
    const xs = new Float64Array(576), ys = new Float64Array(576);
    for (let i = 0; i < 576; i++) {
      xs[i] = 6 * (i % 24) + rng.uniformIn(-1.5, 1.5);
      ys[i] = 6 * Math.floor(i / 24) + rng.uniformIn(-1.5, 1.5);
    }
    const groups = buildGroups(xs, ys, { gridsize: 2, neighborCount: 7, seed: 3, stream: 'evaluation' });
    // The even and the odd groups share most patterns: why the groups' parity gives no independent halves.
    const patternsOf = (indices: Int32Array, parity: number): Set<number> => new Set(Array.from(indices).filter((_, j) => Math.floor(j / 4) % 2 === parity));
    const even = patternsOf(groups.indices, 0);
    assert.ok([...patternsOf(groups.indices, 1)].filter((p) => even.has(p)).length > 0.8 * even.size);
    const sets = halfSetGroups(xs, ys, groups, { neighborCount: 7, seed: 3 })!;
    const used = (g: { indices: Int32Array }): Set<number> => new Set(g.indices);
    const [h0, h1] = sets.halves.map(used);
    assert.equal([...h0].filter((p) => h1.has(p)).length, 0, 'the halves share no pattern');
    assert.deepEqual([...h0, ...h1].sort((a, b) => a - b), [...used(groups)].sort((a, b) => a - b), 'together they use every pattern the groups use');
    const quarters = sets.quarters.map(used);
    assert.equal(quarters.length, 4);
    for (let a = 0; a < 4; a++) for (let b = a + 1; b < 4; b++) assert.equal([...quarters[a]].filter((p) => quarters[b].has(p)).length, 0, `quarters ${a}, ${b}`);
    // Quarters 0 and 2 make half 0, 1 and 3 half 1: the quarters are the halves' halves.
    for (const q of [0, 2]) assert.ok([...quarters[q]].every((p) => h0.has(p)));
    for (const q of [1, 3]) assert.ok([...quarters[q]].every((p) => h1.has(p)));
    for (const set of [...sets.halves, ...sets.quarters]) {
      assert.equal(set.size, 4);
      // Centres and offsets place every pattern where the scan put it.
      for (let j = 0; j < set.count * 4; j++) {
        const g = Math.floor(j / 4);
        assert.ok(Math.abs(set.centers[2 * g] + set.offsets[2 * j] - xs[set.indices[j]]) < 1e-4);
        assert.ok(Math.abs(set.centers[2 * g + 1] + set.offsets[2 * j + 1] - ys[set.indices[j]]) < 1e-4);
      }
    }
    // Drawn from ⌈K/parts⌉ (at least C) neighbours, a part's groups span about what the full density's do.
    const meanSpan = (g: { offsets: Float32Array }): number => g.offsets.reduce((s, v) => s + Math.abs(v), 0) / g.offsets.length;
    for (const set of sets.halves) assert.ok(meanSpan(set) < 1.6 * meanSpan(groups), `half span ${meanSpan(set)} vs ${meanSpan(groups)}`);
    // Deterministic in the seed.
    assert.deepEqual(halfSetGroups(xs, ys, groups, { neighborCount: 7, seed: 3 })!.halves[0].indices, sets.halves[0].indices);
    // Too few patterns for four quarters of a group each: no halves.
    const few = buildGroups(xs.slice(0, 12), ys.slice(0, 12), { gridsize: 2, neighborCount: 7, seed: 3, stream: 'evaluation' });
    assert.equal(halfSetGroups(xs, ys, few, { neighborCount: 7, seed: 3 }), undefined);
  });

  it('the Wiener weight with a gain g: g·SNR/(1 + g·SNR) of a half\'s SNR = FRC/(1 − FRC); g = 2 is 2·FRC/(1+FRC)', () => {
    const curve = [1, 0.5, 1 / 3, 0.1, 0, -0.2];
    assert.deepEqual(wienerWeights(curve, 2).map((v) => v.toFixed(12)), wienerWeights(curve).map((v) => v.toFixed(12)));
    const snr = (f: number): number => f / (1 - f);
    const w6 = wienerWeights(curve, 6);
    assert.equal(w6[0], 1);
    for (const k of [1, 2, 3]) assert.ok(Math.abs(w6[k] - (6 * snr(curve[k])) / (1 + 6 * snr(curve[k]))) < 1e-12);
    assert.deepEqual(w6.slice(4), [0, 0]);
  });

  it('reads the density gain as the median SNR ratio of halves to quarters where the quarters agree; 2 to MAX_DENSITY_GAIN', () => {
    // Halves with g × the quarters' SNR at every shell, the quarters' FRC falling from 0.9 to 0.
    // (Both curves are pooled first; the SNR's nonlinearity makes the pooled ratio differ from g by a little.)
    const quarters = Array.from({ length: 40 }, (_, k) => 0.9 - k / 50);
    const halvesFor = (g: number): number[] => quarters.map((q) => { const s = (g * q) / (1 - q); return s / (1 + s); });
    for (const g of [2, 3.5, 6]) assert.ok(Math.abs(densityGain(halvesFor(g), quarters) - g) < 0.05 * g, `gain ${g}: ${densityGain(halvesFor(g), quarters)}`);
    // An average of independent halves gains 2 at least; a ratio of tiny SNRs is held to MAX_DENSITY_GAIN.
    assert.equal(densityGain(halvesFor(1.2), quarters), 2);
    assert.equal(densityGain(halvesFor(40), quarters), MAX_DENSITY_GAIN);
    // Quarters that agree nowhere (below DENSITY_GAIN_MIN_FRC past the mean) measure nothing: 2.
    assert.equal(densityGain(halvesFor(5), quarters.map((q, k) => (k === 0 ? q : Math.min(q, DENSITY_GAIN_MIN_FRC / 2)))), 2);
  });

  it('a dense job\'s evaluation weighs by disjoint halves and records the gain four quarters measured', async function () {
    this.timeout(300_000);
    const tmp = tempDir('ptycho-gs2-halves-');
    try {
      // Enough test patterns for four quarters of groups.
      await makeStudy(tmp.dir, { doses: [1000], views: ['dense'], dataset: { count: 64 } });
      const job = path.join(tmp.dir, 'phase_e', 'dose_1000', 'dense', 'gs2');
      const r = spawnSync(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--view', 'dense', '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1'], { encoding: 'utf8', timeout: 240_000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /Amplitude weighted by its half-set FRC \(\d+ \+ \d+ groups of two disjoint halves of the patterns, grouped, inferred and stitched apart, no ground truth\): .*twice the data raise the SNR ×\d+\.\d\d \(four quarters of \d+ \+ \d+ \+ \d+ \+ \d+ groups\)/);
      const metrics = JSON.parse(fs.readFileSync(path.join(job, 'metrics.json'), 'utf8'));
      const patterns = metrics.evaluation.patterns as number;
      for (const filter of [metrics.amplitudeFilter, metrics.phaseFilter]) {
        assert.ok(filter, 'both parts weighted');
        // One group per pattern of each part: the halves split the patterns the groups use (about all), the quarters
        // split the same patterns again.
        const halves = filter.halves[0] + filter.halves[1];
        assert.ok(halves <= patterns && halves >= 0.9 * patterns, `${halves} of ${patterns}`);
        assert.equal(filter.quarters.reduce((a: number, b: number) => a + b, 0), halves);
        assert.ok(filter.densityGain >= 2 && filter.densityGain <= MAX_DENSITY_GAIN, JSON.stringify(filter));
      }
    } finally {
      tmp.cleanup();
    }
  });
});

describe('phase weighted by its half-set FRC (training.stitchPhaseFilter)', () => {
  it('lifts a dip below frequencies the halves agree on, never lowers a weight, and one noisy high shell lifts nothing far below it', () => {
    // A low-frequency dip (shell 2), agreement up to shell 6, noise above it with one spike at shell 14.
    const w = [1, 0.95, 0.05, 0.9, 0.92, 0.9, 0.88, 0.2, 0.1, 0.05, 0.1, 0.05, 0.1, 0.05, 0.9, 0.05, 0.1, 0.05, 0.1, 0.05];
    const lifted = liftedWeights(w);
    lifted.forEach((v, k) => assert.ok(v >= w[k], `shell ${k} lowered: ${w[k]} → ${v}`));
    assert.ok(lifted[2] > 0.7, `the dip is lifted: ${lifted[2]}`);
    assert.ok(lifted[9] < 0.3 && lifted[10] < 0.3, `the spike at 14 lifts shells 9–10 little: ${lifted[9]}, ${lifted[10]}`);
    assert.equal(lifted[14], 0.9, 'the spike keeps its own weight');
    // A curve that falls already stays as it is.
    const falling = [1, 0.9, 0.8, 0.6, 0.4, 0.2, 0.1, 0.05];
    assert.deepEqual(liftedWeights(falling).slice(0, 3), falling.slice(0, 3));
  });

  it('damps phase noise two halves disagree on, keeps the shared phase, leaves amplitudes and holes as they were', () => {
    const { a, b, full } = noisyHalves((noise) => phaseObject(noise), [12, 13], 0.3, [9, 900]);
    const truth = smoothObject(undefined);
    const rms = (object: Float32Array): number => {
      let s = 0;
      let c = 0;
      for (let i = 0; i < W * H; i++) if (full.weight[i] > 0) { s += wrapped(phaseAt(object, i) - truth.phase[i]) ** 2; c++; }
      return Math.sqrt(s / c);
    };
    const amplitudeBefore = Array.from({ length: W * H }, (_, i) => amplitudeOf(full.object, i));
    const before = rms(full.object);
    const summary = filterPhaseByHalves(full, [a, b], [7, 7], W, H);
    assert.ok(summary, 'the filter ran');
    const after = rms(full.object);
    assert.ok(after < 0.6 * before, `rms phase error ${before.toFixed(4)} → ${after.toFixed(4)} rad`);
    assert.ok(summary.shellWeights[1] > 0.9, `the shared phase's shell keeps its weight: ${summary.shellWeights[1]}`);
    assert.ok(summary.shellWeights.slice(12).every((w) => w < 0.6), 'the noise-only shells are damped');
    for (let i = 0; i < W * H; i++) {
      if (full.weight[i] === 0) {
        assert.deepEqual([full.object[2 * i], full.object[2 * i + 1]], [0, 0], `hole ${i}`);
        continue;
      }
      assert.ok(Math.abs(amplitudeOf(full.object, i) - amplitudeBefore[i]) < 1e-5, `amplitude at ${i}`);
    }
  });

  it('halves that differ by a constant phase and a ramp agree; the full image keeps its own offset and ramp', () => {
    // An iterative run's halves each carry their own global phase and may trade a ramp with the probe.
    const a = phaseObject(undefined, 0.7, [0.02, -0.01]);
    const b = phaseObject(undefined, -1.1, [-0.015, 0.03]);
    const full = phaseObject(undefined, 2.5, [0.01, 0.012]);
    const copy = Float32Array.from(full.object);
    const summary = filterPhaseByHalves(full, [a, b], [5, 5], W, H);
    assert.ok(summary);
    assert.ok(summary.shellWeights.every((w) => w > 0.999), `weights ${summary.shellWeights.join(' ')}`);
    for (let i = 0; i < copy.length; i++) assert.ok(Math.abs(full.object[i] - copy[i]) < 1e-4, `value ${i}`);
    assertNoFilterWithoutFrc(filterPhaseByHalves, full, a);
  });
});

describe('the study report and the half-set weightings', () => {
  const job = (kind: 'train' | 'reconstruct', id: string, metrics: Record<string, unknown>): JobResult => ({
    kind, id, dose: 1000, view: 'dense', gridsize: 2, method: kind === 'train' ? 'pinn' : 'epie', split: 'test', state: 'succeeded', artifactDir: '/x', metrics,
  });
  const scored = { evaluation: { dataset: 'a.npz', region: { x0: 0, y0: 0, width: 10, height: 10 } }, amplitude: { pearson: 0.9 }, phase: { pearson: 0.8 } };

  it('says when one side\'s amplitude was weighted and the other\'s was not, and only then', () => {
    const iterative = job('reconstruct', 'phase_f/dose_1000/dense/epie', scored);
    const weighted = deltasOf([job('train', 'dose_1000/dense/gs2', { ...scored, amplitudeFilter: { halfSetFrc50: 0.1 } }), iterative]);
    assert.equal(weighted.notes.length, 1);
    assert.match(weighted.notes[0], /dose_1000\/dense\/gs2's amplitude is weighted by its half-set FRC and phase_f\/dose_1000\/dense\/epie's is not: its amplitude deltas compare/);
    assert.ok(weighted.entries.length > 0, 'the deltas are still reported');
    assert.deepEqual(deltasOf([job('train', 'dose_1000/dense/gs2', scored), iterative]).notes, []);
    // Both weighted: like for like again; only the iterative one: said the other way round.
    const filtered = { ...scored, amplitudeFilter: { halfSetFrc50: 0.1 } };
    assert.deepEqual(deltasOf([job('train', 'dose_1000/dense/gs2', filtered), job('reconstruct', 'phase_f/dose_1000/dense/epie', filtered)]).notes, []);
    const other = deltasOf([job('train', 'dose_1000/dense/gs2', scored), job('reconstruct', 'phase_f/dose_1000/dense/epie', filtered)]).notes;
    assert.equal(other.length, 1);
    assert.match(other[0], /phase_f\/dose_1000\/dense\/epie's amplitude is weighted by its half-set FRC and dose_1000\/dense\/gs2's is not/);
    // The phase, part by part: a PINN whose phase is weighted against an iterative one whose phase is not.
    const both = { ...filtered, phaseFilter: { halfSetFrc50: 0.05 } };
    const phaseOnly = deltasOf([job('train', 'dose_1000/dense/gs2', both), job('reconstruct', 'phase_f/dose_1000/dense/epie', filtered)]).notes;
    assert.equal(phaseOnly.length, 1);
    assert.match(phaseOnly[0], /dose_1000\/dense\/gs2's phase is weighted by its half-set FRC and phase_f\/dose_1000\/dense\/epie's is not: .*--no-phase-filter/);
    assert.deepEqual(deltasOf([job('train', 'dose_1000/dense/gs2', both), job('reconstruct', 'phase_f/dose_1000/dense/epie', both)]).notes, []);
  });
});
