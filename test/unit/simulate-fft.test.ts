// Radix-2 FFT against a direct DFT, Parseval, inverse round trip and fftshift (numpy semantics).
import { strict as assert } from 'node:assert';
import { dft2d, FftPlan, fftshift2d, shiftedIndex } from '../../src/core/simulate/fft';
import { Rng } from '../../src/core/simulate/rng';

function randomComplex(n: number, seed: number): { re: Float64Array; im: Float64Array } {
  const r = new Rng(seed, 'fft-test', n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    re[i] = r.normal();
    im[i] = r.normal();
  }
  return { re, im };
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('simulate: FFT', () => {
  for (const n of [1, 2, 4, 8, 16, 32]) {
    it(`2-D FFT of random ${n}×${n} input equals the direct DFT to 1e-9`, () => {
      const x = randomComplex(n * n, n);
      const ref = dft2d(x.re, x.im, n);
      const re = x.re.slice();
      const im = x.im.slice();
      new FftPlan(n).transform2d(re, im);
      assert.ok(maxAbsDiff(re, ref.re) < 1e-9, `re ${maxAbsDiff(re, ref.re)}`);
      assert.ok(maxAbsDiff(im, ref.im) < 1e-9, `im ${maxAbsDiff(im, ref.im)}`);
    });
  }

  it('1-D transform of length 256 equals the direct DFT; strided columns equal contiguous transforms', () => {
    const n = 256;
    const x = randomComplex(n, 99);
    const re = x.re.slice();
    const im = x.im.slice();
    new FftPlan(n).transform(re, im);
    for (const k of [0, 1, 17, 128, 255]) {
      let sr = 0;
      let si = 0;
      for (let j = 0; j < n; j++) {
        const a = (-2 * Math.PI * ((k * j) % n)) / n;
        sr += x.re[j] * Math.cos(a) - x.im[j] * Math.sin(a);
        si += x.re[j] * Math.sin(a) + x.im[j] * Math.cos(a);
      }
      assert.ok(Math.abs(re[k] - sr) < 1e-9 && Math.abs(im[k] - si) < 1e-9, `bin ${k}`);
    }
    // A column of an 8×8 array (stride 8) transforms like the same data laid out contiguously.
    const m = 8;
    const grid = randomComplex(m * m, 5);
    const plan = new FftPlan(m);
    const col = { re: Float64Array.from({ length: m }, (_, i) => grid.re[i * m + 3]), im: Float64Array.from({ length: m }, (_, i) => grid.im[i * m + 3]) };
    plan.transform(col.re, col.im);
    plan.transform(grid.re, grid.im, 3, m);
    for (let i = 0; i < m; i++) {
      assert.equal(grid.re[i * m + 3], col.re[i]);
      assert.equal(grid.im[i * m + 3], col.im[i]);
    }
  });

  it('Parseval: Σ|x|² = Σ|X|²/N² (N = 64), and the inverse transform divided by N² restores x', () => {
    const n = 64;
    const x = randomComplex(n * n, 64);
    const re = x.re.slice();
    const im = x.im.slice();
    const plan = new FftPlan(n);
    plan.transform2d(re, im);
    let ex = 0;
    let eX = 0;
    for (let i = 0; i < n * n; i++) {
      ex += x.re[i] ** 2 + x.im[i] ** 2;
      eX += re[i] ** 2 + im[i] ** 2;
    }
    assert.ok(Math.abs(eX / (n * n) - ex) < 1e-9 * ex, `${eX / (n * n)} vs ${ex}`);
    plan.transform2d(re, im, true);
    for (let i = 0; i < n * n; i++) {
      re[i] /= n * n;
      im[i] /= n * n;
    }
    assert.ok(maxAbsDiff(re, x.re) < 1e-12 && maxAbsDiff(im, x.im) < 1e-12);
  });

  it('a constant transforms to a single DC value N²·c; a plane wave to a single bin', () => {
    const n = 16;
    const plan = new FftPlan(n);
    const re = new Float64Array(n * n).fill(2);
    const im = new Float64Array(n * n);
    plan.transform2d(re, im);
    assert.ok(Math.abs(re[0] - 2 * n * n) < 1e-9);
    for (let i = 1; i < n * n; i++) assert.ok(Math.abs(re[i]) < 1e-9 && Math.abs(im[i]) < 1e-9);
    // exp(2πi·(3x + 5y)/n) → bin (row 5, col 3).
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const a = (2 * Math.PI * (3 * x + 5 * y)) / n;
        re[y * n + x] = Math.cos(a);
        im[y * n + x] = Math.sin(a);
      }
    }
    plan.transform2d(re, im);
    for (let i = 0; i < n * n; i++) {
      const mag = Math.hypot(re[i], im[i]);
      if (i === 5 * n + 3) assert.ok(Math.abs(mag - n * n) < 1e-9);
      else assert.ok(mag < 1e-9, `leak at ${i}: ${mag}`);
    }
  });

  it('fftshift moves DC to (N/2, N/2) and matches numpy for odd sizes', () => {
    const n = 4;
    const src = Float64Array.from({ length: n * n }, (_, i) => i);
    const out = fftshift2d(src, n, new Float64Array(n * n));
    // numpy.fft.fftshift(np.arange(16).reshape(4,4))
    assert.deepEqual([...out], [10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5]);
    assert.equal(shiftedIndex(0, 0, n), (n / 2) * n + n / 2);
    // numpy.fft.fftshift(np.arange(9).reshape(3,3)) = [[8,6,7],[2,0,1],[5,3,4]]
    const odd = fftshift2d(Float32Array.from({ length: 9 }, (_, i) => i), 3, new Float32Array(9));
    assert.deepEqual([...odd], [8, 6, 7, 2, 0, 1, 5, 3, 4]);
  });

  it('rejects sizes that are not powers of two', () => {
    for (const n of [0, 3, 12, 100]) assert.throws(() => new FftPlan(n), /power of two/);
  });
});
