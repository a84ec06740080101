// Known-answer and edge-case tests of src/core/metrics (no fixtures): identities, closed forms, a naive DFT for
// the FFT, degenerate data and the JSON form.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  DftPlan, MS_SSIM_WEIGHTS, evaluateReconstruction, evaluateSsim, fft2d, frc, gaussianFilter, msSsim, psnr, psnrFromMse, psnrStudy,
  reflectIndex, removePlane, ssim, thresholdCrossing, toJsonMetrics, mae, mse,
} from '../../src/core/metrics';
import { repoRoot } from './helpers/paths';

/** Small deterministic generator (mulberry32) so the tests need no fixtures. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function noise(n: number, seed: number): Float64Array {
  const r = rng(seed);
  return Float64Array.from({ length: n }, () => r());
}

/** A smooth complex test object (amplitude bump, gentle phase), interleaved. */
function complexObject(w: number, h: number, seed: number, phaseRamp = 0): Float64Array {
  const r = rng(seed);
  const z = new Float64Array(2 * w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const amp = 0.8 + 0.2 * Math.cos(x / 5) * Math.sin(y / 7) + 0.02 * r();
      const phi = 0.6 * Math.sin(x / 6 + y / 9) + phaseRamp * x;
      z[2 * (y * w + x)] = amp * Math.cos(phi);
      z[2 * (y * w + x) + 1] = amp * Math.sin(phi);
    }
  }
  return z;
}

function naiveDft(re: Float64Array, im: Float64Array): { re: Float64Array; im: Float64Array } {
  const n = re.length;
  const or = new Float64Array(n);
  const oi = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0; j < n; j++) {
      const a = (-2 * Math.PI * ((j * k) % n)) / n;
      sr += re[j] * Math.cos(a) - im[j] * Math.sin(a);
      si += re[j] * Math.sin(a) + im[j] * Math.cos(a);
    }
    or[k] = sr;
    oi[k] = si;
  }
  return { re: or, im: oi };
}

describe('metrics: FFT', () => {
  for (const n of [1, 2, 3, 4, 5, 8, 12, 16, 17, 32, 64, 100, 127, 256, 512]) {
    it(`DftPlan(${n}) equals the naive DFT (${n & (n - 1) ? 'Bluestein' : 'radix-2'})`, () => {
      const re = noise(n, n);
      const im = noise(n, 1000 + n);
      const want = naiveDft(re, im);
      new DftPlan(n).forward(re, im);
      let scale = 0;
      for (let k = 0; k < n; k++) scale = Math.max(scale, Math.hypot(want.re[k], want.im[k]));
      for (let k = 0; k < n; k++) {
        assert.ok(Math.abs(re[k] - want.re[k]) <= 1e-12 * scale, `re[${k}]`);
        assert.ok(Math.abs(im[k] - want.im[k]) <= 1e-12 * scale, `im[${k}]`);
      }
    });
  }

  it('fft2d of a non-square image is rows then columns (separable DFT), and the DC term is the sum', () => {
    const w = 6;
    const h = 5;
    const img = noise(w * h, 7);
    const re = Float64Array.from(img);
    const im = new Float64Array(w * h);
    fft2d(re, im, w, h);
    const sum = img.reduce((s, v) => s + v, 0);
    assert.ok(Math.abs(re[0] - sum) < 1e-12 && Math.abs(im[0]) < 1e-12);
    // Frequency (ky, kx) = (2, 3) by the definition.
    let sr = 0;
    let si = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const a = -2 * Math.PI * ((2 * y) / h + (3 * x) / w);
      sr += img[y * w + x] * Math.cos(a);
      si += img[y * w + x] * Math.sin(a);
    }
    assert.ok(Math.abs(re[2 * w + 3] - sr) < 1e-12 && Math.abs(im[2 * w + 3] - si) < 1e-12);
  });
});

describe('metrics: known inputs', () => {
  const w = 40;
  const h = 32;
  const a = noise(w * h, 1);
  const b = noise(w * h, 2);

  it('SSIM(a, a) = 1 and MS-SSIM(a, a) = 1 (with and without smoothing)', () => {
    assert.ok(Math.abs(ssim(a, a, w, h, 1) - 1) < 1e-12);
    assert.ok(Math.abs(msSsim(a, a, w, h) - 1) < 1e-12);
    assert.ok(Math.abs(msSsim(a, a, w, h, 1) - 1) < 1e-12);
  });

  it('SSIM of two constant images is the closed form (2c1c2 + C1)/(c1² + c2² + C1)', () => {
    const c1v = 0.3;
    const c2v = 0.7;
    const C1 = (0.01 * 1) ** 2;
    const want = (2 * c1v * c2v + C1) / (c1v * c1v + c2v * c2v + C1);
    const got = ssim(new Float64Array(w * h).fill(c1v), new Float64Array(w * h).fill(c2v), w, h, 1);
    assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  });

  it('SSIM against a constant image is small, and independent noise is far below 1', () => {
    const s = ssim(a, new Float64Array(w * h).fill(0.5), w, h, 1);
    assert.ok(s > 0 && s < 0.05, String(s));
    assert.ok(Math.abs(ssim(a, b, w, h, 1)) < 0.2);
  });

  it('MS-SSIM on 40×32 multiplies the 3 levels that fit (40×32, 20×16, 10×8) with their own, unrenormalised weights', () => {
    const b2 = a.map((v, i) => 0.6 * v + 0.4 * b[i]);
    const decimate = (img: Float64Array, iw: number, ih: number): Float64Array => {
      const out: number[] = [];
      for (let y = 0; y < ih; y += 2) for (let x = 0; x < iw; x += 2) out.push(img[y * iw + x]);
      return Float64Array.from(out);
    };
    const range = Math.max(Math.max(...a) - Math.min(...a), Math.max(...b2) - Math.min(...b2)); // level 0 only
    let x1: Float64Array = a;
    let x2: Float64Array = b2;
    let want = 1;
    for (const [level, [iw, ih]] of [[40, 32], [20, 16], [10, 8]].entries()) {
      want *= Math.max(ssim(x1, x2, iw, ih, range), 1e-4) ** MS_SSIM_WEIGHTS[level];
      x1 = decimate(x1, iw, ih);
      x2 = decimate(x2, iw, ih);
    }
    assert.ok(Math.abs(msSsim(a, b2, w, h) - want) < 1e-14, `${msSsim(a, b2, w, h)} vs ${want}`);
    // A 7×7 pair has a single level: SSIM^0.0448.
    const a7 = noise(49, 11);
    const n7 = noise(49, 12);
    const b7 = a7.map((v, i) => 0.5 * v + 0.5 * n7[i]);
    const r7 = Math.max(Math.max(...a7) - Math.min(...a7), Math.max(...b7) - Math.min(...b7));
    assert.ok(Math.abs(msSsim(a7, b7, 7, 7) - ssim(a7, b7, 7, 7, r7) ** MS_SSIM_WEIGHTS[0]) < 1e-14);
  });

  it('negative level SSIM is clamped to 1e-4 (anti-correlated images)', () => {
    const n = 7;
    const x = noise(n * n, 21);
    const y = x.map((v) => 1 - v);
    const s = ssim(x, y, n, n, 1);
    assert.ok(s < 0, `anti-correlated SSIM is negative (${s})`);
    assert.ok(Math.abs(msSsim(x, y, n, n) - 1e-4 ** MS_SSIM_WEIGHTS[0]) < 1e-15);
  });

  it('FRC of identical images is 1 in every shell; frc50 = n/2 (never crossed)', () => {
    const r = frc(a, a, w, h);
    assert.equal(r.curve.length, 16); // centre square 32×32
    for (const v of r.curve) assert.ok(Math.abs(v - 1) < 1e-12);
    assert.equal(r.frc50, 16);
    assert.equal(r.frc50Interpolated, 16);
    assert.equal(r.frc1over7, 16);
  });

  it('FRC of independent noise is ≈ 0 beyond the first shells', () => {
    const n = 128;
    const r = frc(noise(n * n, 3), noise(n * n, 4), n, n);
    assert.equal(r.curve.length, 64);
    // Shell 0 is the DC term alone: two positive means correlate perfectly.
    assert.ok(Math.abs(r.curve[0] - 1) < 1e-12);
    const tail = r.curve.slice(8);
    const meanAbs = tail.reduce((s, v) => s + v, 0) / tail.length;
    assert.ok(meanAbs < 0.1, `mean FRC of noise ${meanAbs}`);
    assert.ok(r.frc50 <= 2, `frc50 ${r.frc50}`);
  });

  it('FRC of a non-square image uses the centred square', () => {
    const wide = noise(50 * 20, 5);
    const other = noise(50 * 20, 6);
    const sq = new Float64Array(400);
    const sq2 = new Float64Array(400);
    for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) {
      sq[y * 20 + x] = wide[y * 50 + 15 + x];
      sq2[y * 20 + x] = other[y * 50 + 15 + x];
    }
    assert.deepEqual(frc(wide, other, 50, 20).curve, frc(sq, sq2, 20, 20).curve);
    assert.equal(frc(wide, other, 50, 20).curve.length, 10);
  });

  it('threshold crossings: integer, interpolated, and never crossed (the study test curves)', () => {
    const c = [0.95, 0.72, 0.55, 0.45, 0.2];
    assert.equal(thresholdCrossing(c, 0.5, false), 3);
    assert.ok(Math.abs(thresholdCrossing(c, 0.5, true) - 2.5) < 1e-12);
    assert.equal(thresholdCrossing([0.95, 0.72, 0.66, 0.51], 0.5, true), 4);
    const d = [0.8, 0.4, 0.2, 0.1];
    assert.ok(Math.abs(thresholdCrossing(d, 0.5, true) - 0.75) < 1e-12);
    assert.ok(Math.abs(thresholdCrossing(d, 1 / 7, true) - 2.5714285714285716) < 1e-12);
    assert.equal(thresholdCrossing([0.3, 0.1], 0.5, true), 0);
    assert.ok(Number.isNaN(thresholdCrossing([0.9, NaN], 0.5, true)));
  });

  it('removePlane removes an exact plane (to rounding) and keeps what is orthogonal to it', () => {
    const pw = 33;
    const ph = 20;
    const plane = new Float64Array(pw * ph);
    for (let y = 0; y < ph; y++) for (let x = 0; x < pw; x++) plane[y * pw + x] = 0.1 * x - 0.25 * y + 3.5;
    for (const v of removePlane(plane, pw, ph)) assert.ok(Math.abs(v) < 1e-12);
    // A checkerboard has no least-squares plane component on an even×even grid.
    const cb = new Float64Array(16 * 12);
    for (let y = 0; y < 12; y++) for (let x = 0; x < 16; x++) cb[y * 16 + x] = (x + y) % 2 ? 1 : -1;
    const withPlane = cb.map((v, i) => v + 0.3 * (i % 16) + 0.2 * Math.floor(i / 16) - 1);
    const back = removePlane(withPlane, 16, 12);
    for (let i = 0; i < cb.length; i++) assert.ok(Math.abs(back[i] - cb[i]) < 1e-12);
    // Single row: no y slope to fit.
    const row = Float64Array.from([1, 2, 3, 4]);
    for (const v of removePlane(row, 4, 1)) assert.ok(Math.abs(v) < 1e-12);
  });

  it('MAE, MSE and PSNR of a known error', () => {
    const t = Float64Array.from([0, 1, 2, 3]);
    const p = Float64Array.from([0.5, 1, 2, 2]); // errors 0.5, 0, 0, −1
    assert.equal(mae(p, t), 0.375);
    assert.equal(mse(p, t), 0.3125);
    // data range 3: 10·log10(9 / 0.3125)
    assert.ok(Math.abs(psnr(p, t) - 10 * Math.log10(9 / 0.3125)) < 1e-12);
    assert.ok(Math.abs(psnr(p, t, 1) - 10 * Math.log10(1 / 0.3125)) < 1e-12);
    assert.ok(Math.abs(psnrStudy(0.3125) - (20 * Math.log10(255) - 10 * Math.log10(0.3125))) < 1e-12);
    assert.equal(psnrFromMse(0, 1), Infinity);
    assert.equal(psnrFromMse(0.1, 0), -Infinity);
  });

  it('gaussianFilter preserves a constant and sigma 0 copies; reflect indexing repeats past the edges', () => {
    const c = new Float64Array(30).fill(2.5);
    for (const v of gaussianFilter(c, 6, 5, 1.7)) assert.ok(Math.abs(v - 2.5) < 1e-14);
    const x = noise(30, 9);
    const same = gaussianFilter(x, 6, 5, 0);
    assert.deepEqual(same, x);
    assert.notEqual(same, x);
    assert.deepEqual([-3, -2, -1, 0, 3, 4, 5, 6, 9].map((i) => reflectIndex(i, 4)), [2, 1, 0, 0, 3, 3, 2, 1, 1]);
    assert.equal(reflectIndex(-7, 1), 0);
  });
});

describe('metrics: evaluateReconstruction', () => {
  const w = 48;
  const h = 40;

  it('a perfect reconstruction (up to amplitude scale, phase offset and ramp) scores perfectly', () => {
    const target = complexObject(w, h, 1);
    const pred = new Float64Array(target.length);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = 2 * (y * w + x);
      // ×1.7 amplitude and a phase plane 0.3 + 0.01x − 0.02y: removed by the alignment.
      const a = 0.01 * x - 0.02 * y + 0.3;
      const re = target[i];
      const im = target[i + 1];
      pred[i] = 1.7 * (re * Math.cos(a) - im * Math.sin(a));
      pred[i + 1] = 1.7 * (re * Math.sin(a) + im * Math.cos(a));
    }
    const m = evaluateReconstruction(pred, target, w, h);
    assert.equal(m.width, w - 4);
    assert.equal(m.height, h - 4);
    assert.equal(m.trim, 2);
    assert.equal(m.phaseAlign, 'plane');
    assert.equal(m.msSsimSigmaAmplitude, 1);
    for (const c of [m.amplitude, m.phase]) {
      assert.ok(c.mae < 1e-12 && c.mse < 1e-24, `mae ${c.mae}`);
      assert.ok(c.psnr > 200 && c.psnrStudy > 200);
      assert.ok(Math.abs(c.ssim - 1) < 1e-9 && Math.abs(c.msSsim - 1) < 1e-9);
      // FRC never drops below 0.5: the last shell, 18 of the 36×36 square = 0.5 cycles/px (Nyquist).
      assert.equal(c.frc50Shell, 18);
      assert.equal(c.frcSize, 36);
      assert.equal(c.frc50, 0.5);
      assert.equal(c.frc1over7, 0.5);
      assert.ok(Math.abs(c.pearson - 1) < 1e-9, `pearson ${c.pearson}`);
      assert.equal(c.frcCurve.length, 18);
    }
    const json = toJsonMetrics(evaluateReconstruction(target, target, w, h));
    assert.equal(json.amplitude.psnr, null);
    assert.equal(json.phase.psnrStudy, null);
    assert.equal(json.amplitude.mse, 0);
  });

  it('accepts Float32Array input and agrees with the Float64 evaluation of the same values', () => {
    const t32 = Float32Array.from(complexObject(w, h, 2));
    const p32 = Float32Array.from(complexObject(w, h, 3, 0.01));
    const m32 = evaluateReconstruction(p32, t32, w, h);
    const m64 = evaluateReconstruction(Float64Array.from(p32), Float64Array.from(t32), w, h);
    assert.deepEqual(m32, m64);
  });

  it('evaluateSsim gives the SSIM of evaluateReconstruction to the last bit, and refuses what it refuses', () => {
    const t = complexObject(w, h, 5, 0);
    // The truth turned by a phase that varies from pixel to pixel and scaled by another object's amplitude.
    const other = complexObject(w, h, 6, 0);
    const p = new Float64Array(t.length);
    for (let q = 0; q < w * h; q++) {
      const a = 0.4 * Math.sin(0.37 * q) + 0.2 * Math.cos(0.11 * q);
      const m = 0.5 + 0.5 * Math.hypot(other[2 * q], other[2 * q + 1]);
      p[2 * q] = m * (t[2 * q] * Math.cos(a) - t[2 * q + 1] * Math.sin(a));
      p[2 * q + 1] = m * (t[2 * q] * Math.sin(a) + t[2 * q + 1] * Math.cos(a));
    }
    const full = evaluateReconstruction(p, t, w, h);
    const only = evaluateSsim(Float32Array.from(p), Float32Array.from(t), w, h);
    const full32 = evaluateReconstruction(Float32Array.from(p), Float32Array.from(t), w, h);
    assert.equal(only.amplitude, full32.amplitude.ssim);
    assert.equal(only.phase, full32.phase.ssim);
    assert.ok(Math.abs(only.amplitude - full.amplitude.ssim) < 1e-6 && only.amplitude < 0.999, `amplitude SSIM ${only.amplitude}`);
    assert.ok(only.phase < 0.999, `phase SSIM ${only.phase}`);
    assert.throws(() => evaluateSsim(new Float64Array(2 * 10 * 10), new Float64Array(2 * 10 * 10), 10, 10), RangeError);
  });

  it("phaseAlign 'mean' differs from 'plane' when the phases carry different ramps", () => {
    const t = complexObject(w, h, 4, 0);
    const p = complexObject(w, h, 4, 0.02);
    const plane = evaluateReconstruction(p, t, w, h);
    const meanAlign = evaluateReconstruction(p, t, w, h, { phaseAlign: 'mean', trim: 0, msSsimSigma: 0 });
    assert.equal(meanAlign.phaseAlign, 'mean');
    assert.equal(meanAlign.width, w);
    assert.equal(meanAlign.msSsimSigmaAmplitude, 0);
    assert.ok(plane.phase.mae < meanAlign.phase.mae / 5, `${plane.phase.mae} vs ${meanAlign.phase.mae}`);
  });

  it('rejects images too small for the 7×7 SSIM window, bad lengths and bad options with a RangeError', () => {
    const z9 = complexObject(9, 9, 5);
    assert.throws(() => evaluateReconstruction(z9, z9, 9, 9), /at least 7×7/); // 9 − 2·2 = 5
    assert.doesNotThrow(() => evaluateReconstruction(z9, z9, 9, 9, { trim: 1 })); // 7×7
    assert.throws(() => evaluateReconstruction(z9, z9, 9, 9, { trim: 5 }), RangeError);
    assert.throws(() => evaluateReconstruction(z9, z9.subarray(2), 9, 9, { trim: 0 }), /interleaved/);
    assert.throws(() => evaluateReconstruction(z9, z9, 9, 9, { trim: -1 }), RangeError);
    assert.throws(() => evaluateReconstruction(z9, z9, 9, 9, { trim: 1.5 }), RangeError);
    assert.throws(() => evaluateReconstruction(z9, z9, 9, 9, { phaseAlign: 'none' as 'mean' }), RangeError);
    assert.throws(() => evaluateReconstruction(z9, z9, 9, 9, { msSsimSigma: -1 }), RangeError);
    assert.throws(() => ssim(new Float64Array(36), new Float64Array(36), 6, 6, 1), RangeError);
    assert.throws(() => msSsim(new Float64Array(36), new Float64Array(36), 6, 6), RangeError);
    assert.throws(() => frc(new Float64Array(1), new Float64Array(1), 1, 1), RangeError);
    assert.throws(() => ssim(new Float64Array(48), new Float64Array(49), 7, 7, 1), /expected 7×7/);
  });

  it('constant images: defined, finite where meaningful, never NaN in the JSON form', () => {
    const n = 16;
    const flat = new Float64Array(2 * n * n);
    for (let i = 0; i < n * n; i++) flat[2 * i] = 0.8; // amplitude 0.8, phase 0
    const m = evaluateReconstruction(flat, flat, n, n);
    // Identical flat images: zero error, PSNR +∞, SSIM undefined (data range 0) → NaN, MS-SSIM 0 (study: NaN → 0),
    // FRC 1 at DC and 0 on the empty shells → frc50 = 1.
    assert.equal(m.amplitude.mse, 0);
    assert.equal(m.amplitude.psnr, Infinity);
    assert.ok(Number.isNaN(m.amplitude.ssim));
    assert.equal(m.amplitude.msSsim, 0);
    // 1 up to rounding: the DC pair's two products round independently (one ulp either way, FFT-dependent).
    assert.ok(Math.abs(m.amplitude.frcCurve[0] - 1) <= 2 ** -52, String(m.amplitude.frcCurve[0]));
    assert.deepEqual(m.amplitude.frcCurve.slice(1), new Array(5).fill(0));
    assert.equal(m.amplitude.frc50Shell, 1);
    assert.equal(m.amplitude.frc50, 1 / 12, 'shell 1 of the 12×12 trimmed square');
    // Both flat: Pearson r is undefined.
    assert.ok(Number.isNaN(m.amplitude.pearson));
    // The phase is rescaled to [0, 1] with data range 1, so its SSIM is defined: identical → 1.
    assert.equal(m.phase.ssim, 1);
    // Phase 0 everywhere after plane removal: zero DC too, every shell empty → FRC 0, frc50 0.
    assert.equal(m.phase.frc50Shell, 0);
    assert.equal(m.phase.frc50, 0);

    // A non-flat prediction against a flat target.
    const pred = complexObject(n, n, 6);
    const m2 = evaluateReconstruction(pred, flat, n, n);
    assert.equal(m2.amplitude.psnr, -Infinity);
    assert.ok(Number.isFinite(m2.amplitude.psnrStudy));
    const json = toJsonMetrics(m2);
    const text = JSON.stringify(json);
    assert.ok(!/NaN|Infinity/.test(text));
    assert.equal(json.amplitude.psnr, null);
    assert.equal(json.amplitude.ssim, null);
    assert.ok(Number.isFinite(json.amplitude.msSsim!));

    // A zero prediction: the amplitude scale is left at 1 instead of dividing by a zero mean.
    const zero = new Float64Array(2 * n * n);
    const m3 = evaluateReconstruction(zero, complexObject(n, n, 7), n, n);
    assert.ok(Number.isFinite(m3.amplitude.mae) && m3.amplitude.mae > 0.5);
    assert.ok(!/NaN|Infinity/.test(JSON.stringify(toJsonMetrics(m3))));
  });

  it('NaN input propagates as NaN metrics and null JSON, never as a fake "perfect" FRC', () => {
    const n = 12;
    const t = complexObject(n, n, 8);
    const p = Float64Array.from(t);
    p[2 * (6 * n + 6)] = NaN;
    const m = evaluateReconstruction(p, t, n, n);
    assert.ok(Number.isNaN(m.amplitude.mae));
    assert.ok(Number.isNaN(m.amplitude.frc50Interpolated));
    const json = toJsonMetrics(m);
    assert.equal(json.amplitude.frc50, null);
    assert.equal(json.amplitude.mae, null);
  });
});

describe('metrics: portability', () => {
  it('src/core/metrics imports only its own files and the FFT (no vscode, no Node APIs: it can run in a browser)', () => {
    // The FFT (src/core/fft) is the project's one FFT; it must itself import only its own files.
    for (const [folder, allowed] of [['metrics', /^(\.\/[\w-]+|\.\.\/fft)$/], ['fft', /^\.\/[\w-]+$/]] as const) {
      const dir = path.join(repoRoot, 'src', 'core', folder);
      const files = fs.readdirSync(dir).filter((f) => f.endsWith('.ts'));
      assert.ok(files.length >= (folder === 'metrics' ? 8 : 1));
      for (const f of files) {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        const specs = [...text.matchAll(/(?:from\s+|require\(\s*|import\(\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]);
        for (const s of specs) assert.match(s, allowed, `${folder}/${f} imports ${s}`);
        assert.ok(!/\b(process|Buffer|__dirname|require)\b\s*[.(]/.test(text), `${folder}/${f} uses a Node global`);
      }
    }
  });
});
