// Probe crosstalk correction in stitching (README "Reconstruction quality" item 17): a gridsize-1 model that
// explains a pattern's centroid with a slightly wrong amplitude predicts a wrong phase slope; re-explaining each
// slope with a better amplitude (here: the truth's, on the canvas) restores the true slope exactly, on the
// network's support only; the aligned stitcher applies it with the probe and reports what it moved.
import { strict as assert } from 'node:assert';
import { removePlaneAt } from '../../src/core/metrics';
import { normalizeProbe, probeCentroidShare, probePhaseGradient } from '../../src/core/model';
import { syntheticProbe } from '../../src/core/simulate';
import { AlignedStitch, crosstalkCorrectedPhases, removeMeanPhaseGradient } from '../../src/core/train';
import { seeded } from './helpers/ort';
import { truthCanvas } from './helpers/canvas';

const N = 32;
const SIZE = 96;

function truthAt(x: number, y: number): [number, number] {
  const a = 0.7 + 0.25 * Math.tanh(0.15 * (x - 48)) * Math.cos(0.05 * y);
  const p = 0.8 * Math.sin(0.04 * x) * Math.cos(0.03 * y);
  return [a, p];
}

describe('probe crosstalk correction of stitched gridsize-1 patches', () => {
  const probe = normalizeProbe(syntheticProbe(N).data, N);
  const maps = probePhaseGradient(probe, N);
  const q = N / 4;
  const support = (i: number, j: number): boolean => i >= q && i < N - q && j >= q && j < N - q;
  // The truth as a canvas over the whole object (region origin 0, 0), every pixel weighted.
  const canvas = truthCanvas(SIZE, truthAt);

  /** Patches as a model would predict them: amplitude off by a tilt on the support, slope compensating it. */
  function modelPatches(centers: number[]): { amplitude: Float32Array; phase: Float32Array; truthPhase: Float32Array; shift: number[] } {
    const count = centers.length / 2;
    const rnd = seeded(3);
    const amplitude = new Float32Array(count * N * N);
    const phase = new Float32Array(count * N * N);
    const truthPhase = new Float32Array(count * N * N);
    const shift: number[] = [];
    for (let g = 0; g < count; g++) {
      const tilt = [0.3 * (rnd() - 0.5), 0.3 * (rnd() - 0.5)];
      const trueA = new Float64Array(N * N);
      const ownA = new Float64Array(N * N);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
        const [a, p] = truthAt(centers[2 * g] + j - N / 2, centers[2 * g + 1] + i - N / 2);
        const k = i * N + j;
        trueA[k] = a;
        if (!support(i, j)) continue;
        ownA[k] = a * (1 + (tilt[0] * (j - N / 2) + tilt[1] * (i - N / 2)) / N);
        truthPhase[g * N * N + k] = p;
      }
      const [tu, tv] = probeCentroidShare((k) => trueA[k], maps, N, support);
      const [pu, pv] = probeCentroidShare((k) => ownA[k], maps, N, support);
      // The model fits the centroid: share(A_own) + g_own = share(A_true) + g_true.
      const du = tu - pu, dv = tv - pv;
      shift.push(du, dv);
      for (let i = q; i < N - q; i++) for (let j = q; j < N - q; j++) {
        const k = g * N * N + i * N + j;
        amplitude[k] = ownA[i * N + j];
        phase[k] = truthPhase[k] + (2 * Math.PI * (du * (j - N / 2) + dv * (i - N / 2))) / N;
      }
    }
    return { amplitude, phase, truthPhase, shift };
  }

  it('re-explaining each slope with the true amplitude restores the true phase on the support, and nothing else moves', () => {
    const centers = [30, 30, 48, 40, 62, 55, 40, 64, 66, 30];
    const m = modelPatches(centers);
    const worstBefore = Math.max(...m.shift.map(Math.abs));
    assert.ok(worstBefore > 0.02, `the amplitude tilts move the centroid (largest compensating slope ${worstBefore} px)`);
    const out = crosstalkCorrectedPhases({ amplitude: m.amplitude, phase: m.phase, keep: N, centers: Float64Array.from(centers), n: N }, canvas, probe);
    let worst = 0;
    for (let g = 0; g < centers.length / 2; g++) for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      const k = g * N * N + i * N + j;
      worst = Math.max(worst, Math.abs(out.phase[k] - (support(i, j) ? m.truthPhase[k] : m.phase[k])));
    }
    assert.ok(worst < 1e-4, `corrected phase differs from the truth by ${worst} rad`);
    const rms = Math.sqrt(m.shift.reduce((s, v) => s + v * v, 0) / m.shift.length);
    assert.ok(Math.abs(out.summary.rmsShift - rms) < 1e-6 * Math.max(1, rms), `reported rms shift ${out.summary.rmsShift} vs ${rms}`);
    assert.equal(out.summary.patches, centers.length / 2);
  });

  it('patches whose canvas has no weight keep their own amplitude (no correction), and a too-small window is refused', () => {
    const centers = [40, 40];
    const m = modelPatches(centers);
    const empty = { ...canvas, weight: new Float32Array(SIZE * SIZE) };
    const out = crosstalkCorrectedPhases({ amplitude: m.amplitude, phase: m.phase, keep: N, centers: Float64Array.from(centers), n: N }, empty, probe);
    assert.deepEqual(Array.from(out.phase), Array.from(m.phase));
    assert.throws(() => crosstalkCorrectedPhases({ amplitude: new Float32Array(12 * 12), phase: new Float32Array(12 * 12), keep: 12, centers: Float64Array.of(40, 40), n: N }, canvas, probe), /central N\/2/);
  });

  it('the aligned stitcher runs it when given the probe and reports it; without the probe it does not', () => {
    const centers: number[] = [];
    for (let y = 28; y <= 68; y += 5) for (let x = 28; x <= 68; x += 5) centers.push(x, y);
    const m = modelPatches(centers);
    const region = { x0: 20, y0: 20, width: 56, height: 56 };
    const run = (withProbe: boolean): ReturnType<AlignedStitch['result']> => {
      const s = new AlignedStitch(region, N, 8, centers.length / 2, withProbe ? { crosstalk: { probe } } : {});
      for (let g = 0; g < centers.length / 2; g++) s.add(m.amplitude, m.phase, centers[2 * g], centers[2 * g + 1], g * N * N);
      return s.result();
    };
    const plain = run(false);
    const corrected = run(true);
    assert.equal(plain.crosstalk, undefined);
    assert.ok(corrected.crosstalk && corrected.crosstalk.patches === centers.length / 2 && corrected.crosstalk.rmsShift > 0, JSON.stringify(corrected.crosstalk));
    // The stitched phase (global offset and plane aside) is closer to the truth's with the correction.
    const error = (o: Float32Array): number => {
      const xs: number[] = [], ys: number[] = [], d: number[] = [];
      for (let y = 4; y < region.height - 4; y++) for (let x = 4; x < region.width - 4; x++) {
        const k = y * region.width + x;
        const [, p] = truthAt(region.x0 + x, region.y0 + y);
        const e = Math.atan2(o[2 * k + 1], o[2 * k]) - p;
        xs.push(x); ys.push(y); d.push(Math.atan2(Math.sin(e), Math.cos(e)));
      }
      // The stitched object's ramp is a gauge (reported with zero mean gradient): compare after removing planes.
      const r = removePlaneAt(Float64Array.from(d), xs, ys);
      return Math.sqrt(r.reduce((s, v) => s + v * v, 0) / r.length);
    };
    const before = error(plain.object), after = error(corrected.object);
    assert.ok(after < 0.7 * before, `stitched phase error rms ${before} → ${after} rad`);
  });

  it('the stitched object is reported with zero mean phase gradient: a ramp across the field is removed exactly, uncovered pixels do not count', () => {
    const width = 40, height = 30;
    const object = new Float32Array(2 * width * height);
    const weight = new Float32Array(width * height);
    const [gu, gv] = [0.11, -0.07];
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const k = y * width + x;
      // Covered on the left 30 columns with the ramp; the uncovered rest holds noise that must not count.
      const p = x < 30 ? gu * x + gv * y + 0.3 : 5 * Math.sin(7 * x * y);
      object[2 * k] = 0.8 * Math.cos(p);
      object[2 * k + 1] = 0.8 * Math.sin(p);
      weight[k] = x < 30 ? 1 : 0.1;
    }
    const removed = removeMeanPhaseGradient(object, weight, width);
    assert.ok(Math.abs(removed[0] - gu) < 1e-6 && Math.abs(removed[1] - gv) < 1e-6, `removed ${removed}`);
    for (let y = 0; y < height; y++) for (let x = 0; x < 30; x++) {
      const k = y * width + x;
      assert.ok(Math.abs(Math.atan2(object[2 * k + 1], object[2 * k]) - 0.3) < 1e-5, `pixel (${x}, ${y}) keeps only the constant`);
      assert.ok(Math.abs(Math.hypot(object[2 * k], object[2 * k + 1]) - 0.8) < 1e-6, 'amplitude untouched');
    }
    assert.deepEqual(removeMeanPhaseGradient(new Float32Array(8), new Float32Array(4), 2), [0, 0], 'an empty canvas is left alone');
  });
});
