// The compiled PIE kernel (src/core/iterative/pie.wat through pieKernel.ts) against a float64 reference written
// straight from the update's equations (engine.ts) with the project's natural-order FFT: one pattern update at
// integer and sub-pixel positions, ePIE and rPIE, fixed and refined probe, a zero far-field pixel and a zero measured
// amplitude, N from 4 to 64 — the object, the probe, the error and the energy must agree to float32 accuracy.
import { strict as assert } from 'node:assert';
import { FftPlan, shiftedIndex } from '../../src/core/fft';
import { footprints } from '../../src/core/iterative/footprint';
import { PieKernel, type UpdateRule } from '../../src/core/iterative/pieKernel';
import type { ComplexPlanes } from '../../src/core/iterative/types';
import { Rng } from '../../src/core/simulate/rng';

function randomPlanes(width: number, height: number, rng: Rng, mean: number): ComplexPlanes {
  const re = new Float64Array(width * height);
  const im = new Float64Array(width * height);
  for (let k = 0; k < re.length; k++) {
    // float32-exact values, so the kernel and the reference start from the same numbers
    re[k] = Math.fround(mean + 0.3 * rng.normal());
    im[k] = Math.fround(0.3 * rng.normal());
  }
  return { width, height, re, im };
}

/** One ePIE/rPIE update in float64, from the equations. Returns Σ(|Ψ|/N − A)² and Σ A². */
function referenceUpdate(o: ComplexPlanes, p: ComplexPlanes, x: number, y: number, amp: Float32Array, rule: UpdateRule, maxP2: number): { err: number; energy: number } {
  const n = p.width;
  const W = o.width;
  const fx0 = Math.floor(x);
  const fy0 = Math.floor(y);
  const fx = x - fx0;
  const fy = y - fy0;
  const w = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx];
  const top = fy0 - n / 2;
  const left = fx0 - n / 2;
  const at = (i: number, j: number): number => (top + i) * W + left + j;
  const patchRe = new Float64Array(n * n);
  const patchIm = new Float64Array(n * n);
  let maxObj2 = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const ks = [at(i, j), at(i, j + 1), at(i + 1, j), at(i + 1, j + 1)];
      let r = 0;
      let m = 0;
      for (let c = 0; c < 4; c++) {
        r += w[c] * o.re[ks[c]];
        m += w[c] * o.im[ks[c]];
      }
      patchRe[i * n + j] = r;
      patchIm[i * n + j] = m;
      maxObj2 = Math.max(maxObj2, r * r + m * m);
    }
  }
  const psiRe = new Float64Array(n * n);
  const psiIm = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) {
    psiRe[k] = p.re[k] * patchRe[k] - p.im[k] * patchIm[k];
    psiIm[k] = p.re[k] * patchIm[k] + p.im[k] * patchRe[k];
  }
  const fRe = psiRe.slice();
  const fIm = psiIm.slice();
  const plan = new FftPlan(n);
  plan.transform2d(fRe, fIm);
  let err = 0;
  let energy = 0;
  for (let u = 0; u < n; u++) {
    for (let v = 0; v < n; v++) {
      const k = u * n + v;
      const a = amp[shiftedIndex(u, v, n)];
      const mag = Math.hypot(fRe[k], fIm[k]);
      err += (mag / n - a) ** 2;
      energy += a * a;
      if (mag > 0) {
        fRe[k] *= (n * a) / mag;
        fIm[k] *= (n * a) / mag;
      } else {
        fRe[k] = n * a;
        fIm[k] = 0;
      }
    }
  }
  plan.transform2d(fRe, fIm, true);
  const step = rule.objectStep ?? 1;
  const stepRe = new Float64Array(n * n);
  const stepIm = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) {
    const dr = fRe[k] / (n * n) - psiRe[k];
    const di = fIm[k] / (n * n) - psiIm[k];
    const pr = p.re[k];
    const pi = p.im[k];
    const fo = rule.rpie ? step / ((1 - rule.alpha) * (pr * pr + pi * pi) + rule.alpha * maxP2) : (rule.alpha * step) / maxP2;
    stepRe[k] = (pr * dr + pi * di) * fo;
    stepIm[k] = (pr * di - pi * dr) * fo;
    if (rule.refine) {
      const or = patchRe[k];
      const oi = patchIm[k];
      const fp = rule.rpie ? 1 / ((1 - rule.beta) * (or * or + oi * oi) + rule.beta * maxObj2) : rule.beta / maxObj2;
      p.re[k] = pr + (or * dr + oi * di) * fp;
      p.im[k] = pi + (or * di - oi * dr) * fp;
    }
  }
  // the bilinear adjoint: each patch pixel's step goes back to its four neighbours
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const ks = [at(i, j), at(i, j + 1), at(i + 1, j), at(i + 1, j + 1)];
      for (let c = 0; c < 4; c++) {
        o.re[ks[c]] += w[c] * stepRe[i * n + j];
        o.im[ks[c]] += w[c] * stepIm[i * n + j];
      }
    }
  }
  return { err, energy };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

describe('iterative: the compiled PIE kernel against a float64 reference update', () => {
  const cases: { n: number; x: number; y: number; rule: UpdateRule }[] = [];
  for (const n of [4, 8, 16, 64]) {
    cases.push({ n, x: n / 2 + 3, y: n / 2 + 2, rule: { rpie: false, alpha: 1, beta: 1, refine: false } });
    cases.push({ n, x: n / 2 + 3.37, y: n / 2 + 2.81, rule: { rpie: false, alpha: 1, beta: 1, refine: false, objectStep: 0.6 } });
    cases.push({ n, x: n / 2 + 1.5, y: n / 2 + 4.25, rule: { rpie: true, alpha: 0.75, beta: 0.9, refine: true } });
    cases.push({ n, x: n / 2 + 5.9, y: n / 2 + 0.1, rule: { rpie: false, alpha: 0.8, beta: 1, refine: true } });
  }
  for (const { n, x, y, rule } of cases) {
    const label = `N = ${n}, position (${x.toFixed(2)}, ${y.toFixed(2)}), ${rule.rpie ? 'rPIE' : 'ePIE'}${rule.refine ? ' + probe refinement' : ''}${rule.objectStep ? `, object step ×${rule.objectStep}` : ''}`;
    it(label, () => {
      const rng = new Rng(n, 'pie-kernel', Math.round(100 * (x + y)));
      const width = n + 12;
      const height = n + 10;
      const object = randomPlanes(width, height, rng, 1);
      const probe = randomPlanes(n, n, rng, 0.5);
      const amp = new Float32Array(n * n);
      for (let k = 0; k < n * n; k++) amp[k] = Math.abs(rng.normal()) * n * 0.2;
      amp[shiftedIndex(1, 2, n)] = 0; // a dark detector pixel
      let maxP2 = 0;
      for (let k = 0; k < n * n; k++) maxP2 = Math.max(maxP2, Math.fround(probe.re[k] ** 2 + probe.im[k] ** 2));

      const fp = footprints([x], [y], n, width, height);
      const kernel = new PieKernel(n, width, height, fp, 1, 4);
      kernel.loadObject(object);
      kernel.loadProbe(probe);
      kernel.prepare(0, rule, maxP2);
      kernel.useStack(amp);
      kernel.setList(0, [0], 1);
      kernel.run(0, 1, 'stack');
      const got = { object: { ...object, re: new Float64Array(object.re.length), im: new Float64Array(object.im.length) }, probe: { ...probe, re: new Float64Array(n * n), im: new Float64Array(n * n) } };
      kernel.storeObject(got.object);
      kernel.storeProbe(got.probe);
      const sums = kernel.results(0);

      const want = { object: { ...object, re: object.re.slice(), im: object.im.slice() }, probe: { ...probe, re: probe.re.slice(), im: probe.im.slice() } };
      const ref = referenceUpdate(want.object, want.probe, x, y, amp, rule, maxP2);

      // The update changes the object by O(1); float32 arithmetic through two FFTs of N² points: ~1e-6 relative.
      const change = maxAbsDiff(want.object.re, object.re) + maxAbsDiff(want.object.im, object.im);
      assert.ok(change > 0.01, `the update changed the object (${change})`);
      const tol = 2e-5 * Math.max(1, maxAbs(want.object.re));
      assert.ok(maxAbsDiff(got.object.re, want.object.re) < tol, `object re off by ${maxAbsDiff(got.object.re, want.object.re)}`);
      assert.ok(maxAbsDiff(got.object.im, want.object.im) < tol, `object im off by ${maxAbsDiff(got.object.im, want.object.im)}`);
      assert.ok(maxAbsDiff(got.probe.re, want.probe.re) < 2e-5, `probe re off by ${maxAbsDiff(got.probe.re, want.probe.re)}`);
      assert.ok(maxAbsDiff(got.probe.im, want.probe.im) < 2e-5, `probe im off by ${maxAbsDiff(got.probe.im, want.probe.im)}`);
      if (!rule.refine) assert.equal(maxAbsDiff(got.probe.re, probe.re), 0, 'a fixed probe stays as it was');
      assert.ok(Math.abs(sums.err - ref.err) <= 1e-4 * ref.err, `error ${sums.err} vs ${ref.err}`);
      assert.ok(Math.abs(sums.energy - ref.energy) <= 1e-5 * ref.energy, `energy ${sums.energy} vs ${ref.energy}`);
      if (rule.refine) {
        let m = 0;
        for (let k = 0; k < n * n; k++) m = Math.max(m, want.probe.re[k] ** 2 + want.probe.im[k] ** 2);
        assert.ok(Math.abs(sums.maxProbe2 - m) <= 1e-4 * m, `max|P|² ${sums.maxProbe2} vs ${m}`);
      }
      // Pixels outside the footprint are untouched.
      const fx0 = Math.floor(x) - n / 2;
      const fy0 = Math.floor(y) - n / 2;
      for (let r = 0; r < height; r++) {
        for (let c = 0; c < width; c++) {
          const inside = r >= fy0 && r <= fy0 + n && c >= fx0 && c <= fx0 + n;
          if (!inside) assert.equal(got.object.re[r * width + c], object.re[r * width + c], `pixel (${r}, ${c}) outside the footprint changed`);
        }
      }
    });
  }

  it('refuses N below 4 or not a power of two, and a stack larger than the patterns it was built for', () => {
    const fp = footprints([8], [8], 8, 20, 20);
    assert.throws(() => new PieKernel(2, 20, 20, fp, 1, 4), /power of two ≥ 4/);
    assert.throws(() => new PieKernel(12, 20, 20, fp, 1, 4), /power of two ≥ 4/);
    const kernel = new PieKernel(8, 20, 20, fp, 1, 4);
    assert.throws(() => kernel.useStack(new Float32Array(64 * 100_000)), /does not fit the reconstruction engine's memory/);
    // An object grid beyond wasm32's 4 GiB is refused with the sizes, not a bare RangeError.
    assert.throws(() => new PieKernel(8, 40_000, 40_000, footprints([8], [8], 8, 40_000, 40_000), 1, 4), /needs 11\.9 GiB of working memory, more than the reconstruction engine's 4 GiB/);
  });
});
