// The project's FFT (src/core/fft) against a direct DFT: power-of-two 1-D (contiguous, strided, batched; natural,
// dif and dit orders), any length (Bluestein) 1…1024, 2-D against the separable direct DFT, inverse round trips,
// Parseval, fftshift/ifftshift (numpy semantics). The PIE kernel's own FFT passes are checked in pie-kernel.test.ts.
import { strict as assert } from 'node:assert';
import { DftPlan, FftPlan, fft2d, fftshift2d, ifftshift2d, shiftedIndex } from '../../src/core/fft';
import { Rng } from '../../src/core/simulate/rng';

interface Complex { re: Float64Array; im: Float64Array }

function randomComplex(n: number, seed: number): Complex {
  const r = new Rng(seed, 'fft-test', n);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    re[i] = r.normal();
    im[i] = r.normal();
  }
  return { re, im };
}

function copy(x: Complex): Complex {
  return { re: x.re.slice(), im: x.im.slice() };
}

/** Direct DFT of x[offset + j·stride], j < n; the phase index jk is reduced mod n first, so angles are exact. */
function naiveDft(re: Float64Array, im: Float64Array, n: number, inverse = false, offset = 0, stride = 1): Complex {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  const sgn = inverse ? 1 : -1;
  for (let m = 0; m < n; m++) {
    cos[m] = Math.cos((2 * Math.PI * m) / n);
    sin[m] = sgn * Math.sin((2 * Math.PI * m) / n);
  }
  const out = { re: new Float64Array(n), im: new Float64Array(n) };
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let j = 0, m = 0; j < n; j++, m = (m + k) % n) {
      const xr = re[offset + j * stride];
      const xi = im[offset + j * stride];
      sr += xr * cos[m] - xi * sin[m];
      si += xr * sin[m] + xi * cos[m];
    }
    out.re[k] = sr;
    out.im[k] = si;
  }
  return out;
}

/** Direct 2-D DFT of an h×w row-major array, separably: rows, then columns. */
function naiveDft2d(x: Complex, w: number, h: number, inverse = false): Complex {
  const t = { re: new Float64Array(w * h), im: new Float64Array(w * h) };
  for (let r = 0; r < h; r++) {
    const row = naiveDft(x.re, x.im, w, inverse, r * w, 1);
    t.re.set(row.re, r * w);
    t.im.set(row.im, r * w);
  }
  const out = { re: new Float64Array(w * h), im: new Float64Array(w * h) };
  for (let c = 0; c < w; c++) {
    const col = naiveDft(t.re, t.im, h, inverse, c, w);
    for (let r = 0; r < h; r++) {
      out.re[r * w + c] = col.re[r];
      out.im[r * w + c] = col.im[r];
    }
  }
  return out;
}

/** max |got − want| / max |want| (or the absolute error when want is all zero). */
function relError(got: Complex, want: Complex): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < want.re.length; i++) {
    err = Math.max(err, Math.hypot(got.re[i] - want.re[i], got.im[i] - want.im[i]));
    scale = Math.max(scale, Math.hypot(want.re[i], want.im[i]));
  }
  return scale > 0 ? err / scale : err;
}

function scaled(x: Complex, s: number): Complex {
  return { re: x.re.map((v) => v * s), im: x.im.map((v) => v * s) };
}

const POW2 = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Every length up to 64, then a spread of larger ones (primes, 2^k ± 1, composites). */
const ANY_LENGTHS = [...Array.from({ length: 64 }, (_, i) => i + 1), 97, 100, 127, 129, 255, 257, 500, 511, 513, 640, 997, 1000, 1023, 1024];

describe('fft: power-of-two FftPlan', () => {
  for (const n of POW2) {
    it(`1-D n = ${n}: forward and inverse equal the direct DFT to 1e-14 relative; inverse/n restores x to 1e-15`, () => {
      const x = randomComplex(n, n);
      const plan = new FftPlan(n);
      const f = copy(x);
      plan.transform(f.re, f.im);
      assert.ok(relError(f, naiveDft(x.re, x.im, n)) < 1e-14, `forward ${relError(f, naiveDft(x.re, x.im, n))}`);
      const g = copy(x);
      plan.transform(g.re, g.im, 0, 1, true);
      assert.ok(relError(g, naiveDft(x.re, x.im, n, true)) < 1e-14, 'inverse');
      plan.transform(f.re, f.im, 0, 1, true);
      assert.ok(relError(scaled(f, 1 / n), x) < 1e-15, `round trip ${relError(scaled(f, 1 / n), x)}`);
    });
  }

  it('dif leaves frequency bitReversal[j] at position j; dit takes that order back (inverse/n restores x)', () => {
    for (const n of [2, 8, 32, 64, 512]) {
      const x = randomComplex(n, 3 * n);
      const plan = new FftPlan(n);
      const want = naiveDft(x.re, x.im, n);
      const f = copy(x);
      plan.dif(f.re, f.im);
      for (let j = 0; j < n; j++) {
        const k = plan.bitReversal[j];
        assert.ok(Math.hypot(f.re[j] - want.re[k], f.im[j] - want.im[k]) < 1e-12 * n, `n ${n} position ${j}`);
      }
      plan.dit(f.re, f.im, 0, 1, 1, 1, true);
      assert.ok(relError(scaled(f, 1 / n), x) < 1e-15, `n ${n} round trip`);
      // dit of a bit-reversed input is the natural-order forward transform.
      const p = { re: new Float64Array(n), im: new Float64Array(n) };
      for (let j = 0; j < n; j++) {
        p.re[j] = x.re[plan.bitReversal[j]];
        p.im[j] = x.im[plan.bitReversal[j]];
      }
      plan.dit(p.re, p.im);
      assert.ok(relError(p, want) < 1e-14, `n ${n} dit`);
    }
  });

  it('strided and batched transforms equal contiguous ones bit for bit', () => {
    const m = 8;
    const grid = randomComplex(m * m, 5);
    const plan = new FftPlan(m);
    const col = { re: Float64Array.from({ length: m }, (_, i) => grid.re[i * m + 3]), im: Float64Array.from({ length: m }, (_, i) => grid.im[i * m + 3]) };
    plan.transform(col.re, col.im);
    const g = copy(grid);
    plan.transform(g.re, g.im, 3, m);
    for (let i = 0; i < m; i++) {
      assert.equal(g.re[i * m + 3], col.re[i]);
      assert.equal(g.im[i * m + 3], col.im[i]);
    }
    // All columns at once (stride m, step 1) and all rows at once (stride 1, step m).
    const cols = copy(grid);
    plan.transformBatch(cols.re, cols.im, 0, m, m, 1, true);
    const rows = copy(grid);
    plan.transformBatch(rows.re, rows.im, 0, 1, m, m);
    for (let c = 0; c < m; c++) {
      const one = copy(grid);
      plan.transform(one.re, one.im, c, m, true);
      const row = copy(grid);
      plan.transform(row.re, row.im, c * m, 1);
      for (let i = 0; i < m; i++) {
        assert.equal(cols.re[i * m + c], one.re[i * m + c]);
        assert.equal(cols.im[i * m + c], one.im[i * m + c]);
        assert.equal(rows.re[c * m + i], row.re[c * m + i]);
        assert.equal(rows.im[c * m + i], row.im[c * m + i]);
      }
    }
  });

  for (const n of [1, 2, 4, 8, 16, 32, 64]) {
    it(`2-D ${n}×${n}: forward and inverse equal the separable direct DFT to 1e-14 relative`, () => {
      const x = randomComplex(n * n, n);
      const plan = new FftPlan(n);
      const f = copy(x);
      plan.transform2d(f.re, f.im);
      assert.ok(relError(f, naiveDft2d(x, n, n)) < 1e-14, `forward ${relError(f, naiveDft2d(x, n, n))}`);
      const g = copy(x);
      plan.transform2d(g.re, g.im, true);
      assert.ok(relError(g, naiveDft2d(x, n, n, true)) < 1e-14, 'inverse');
    });
  }

  it('2-D dif2d leaves frequency (rev a, rev b) at a·n + b, and dit2d(inverse)/n² restores x (n = 2 … 256) to 1e-15', () => {
    for (const n of [2, 4, 8, 16, 32, 64, 128, 256]) {
      const x = randomComplex(n * n, 7 * n);
      const plan = new FftPlan(n);
      const natural = copy(x);
      plan.transform2d(natural.re, natural.im);
      const f = copy(x);
      plan.dif2d(f.re, f.im);
      const rev = plan.bitReversal;
      let err = 0;
      let scale = 0;
      for (let a = 0; a < n; a++) {
        for (let b = 0; b < n; b++) {
          const k = rev[a] * n + rev[b];
          err = Math.max(err, Math.hypot(f.re[a * n + b] - natural.re[k], f.im[a * n + b] - natural.im[k]));
          scale = Math.max(scale, Math.hypot(natural.re[k], natural.im[k]));
        }
      }
      assert.ok(err <= 1e-15 * scale, `n ${n} layout ${err / scale}`);
      plan.dit2d(f.re, f.im, true);
      assert.ok(relError(scaled(f, 1 / (n * n)), x) < 1e-15, `n ${n} round trip ${relError(scaled(f, 1 / (n * n)), x)}`);
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
    assert.ok(Math.abs(eX / (n * n) - ex) < 1e-12 * ex, `${eX / (n * n)} vs ${ex}`);
    plan.transform2d(re, im, true);
    assert.ok(relError(scaled({ re, im }, 1 / (n * n)), x) < 1e-15);
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

  it('rejects sizes that are not powers of two, and 2-D arrays that are too short', () => {
    for (const n of [0, 3, 12, 100, 0.5, -4, 2 ** 25]) assert.throws(() => new FftPlan(n), /power of two/);
    assert.throws(() => new FftPlan(8).transform2d(new Float64Array(63), new Float64Array(64)), /needs 64/);
  });
});

describe('fft: any length (DftPlan, fft2d)', () => {
  it(`DftPlan forward and inverse equal the direct DFT to 1e-13 relative for n = 1…64 and ${ANY_LENGTHS.length - 64} larger lengths up to 1024`, () => {
    for (const n of ANY_LENGTHS) {
      const x = randomComplex(n, 11 * n);
      const plan = new DftPlan(n);
      const f = copy(x);
      plan.forward(f.re, f.im);
      const e = relError(f, naiveDft(x.re, x.im, n));
      assert.ok(e < 1e-13, `n ${n} forward ${e}`);
      const g = copy(x);
      plan.inverse(g.re, g.im);
      assert.ok(relError(g, naiveDft(x.re, x.im, n, true)) < 1e-13, `n ${n} inverse`);
      plan.inverse(f.re, f.im);
      const r = relError(scaled(f, 1 / n), x);
      assert.ok(r < 1e-13, `n ${n} round trip ${r}`);
    }
  });

  for (const [w, h] of [[6, 5], [12, 7], [16, 8], [8, 16], [33, 33], [64, 64], [1, 9], [10, 1]]) {
    it(`fft2d ${h}×${w} (rows × columns) equals the separable direct DFT, forward and inverse`, () => {
      const x = randomComplex(w * h, w * 100 + h);
      const f = copy(x);
      fft2d(f.re, f.im, w, h);
      assert.ok(relError(f, naiveDft2d(x, w, h)) < 1e-13, `forward ${relError(f, naiveDft2d(x, w, h))}`);
      const g = copy(x);
      fft2d(g.re, g.im, w, h, true);
      assert.ok(relError(g, naiveDft2d(x, w, h, true)) < 1e-13, 'inverse');
    });
  }
});

describe('fft: shifts', () => {
  it('fftshift moves DC to (N/2, N/2) and matches numpy for odd sizes; ifftshift undoes it', () => {
    const n = 4;
    const src = Float64Array.from({ length: n * n }, (_, i) => i);
    const out = fftshift2d(src, n, new Float64Array(n * n));
    // numpy.fft.fftshift(np.arange(16).reshape(4,4))
    assert.deepEqual([...out], [10, 11, 8, 9, 14, 15, 12, 13, 2, 3, 0, 1, 6, 7, 4, 5]);
    assert.equal(shiftedIndex(0, 0, n), (n / 2) * n + n / 2);
    // numpy.fft.fftshift(np.arange(9).reshape(3,3)) = [[8,6,7],[2,0,1],[5,3,4]]
    const odd = fftshift2d(Float32Array.from({ length: 9 }, (_, i) => i), 3, new Float32Array(9));
    assert.deepEqual([...odd], [8, 6, 7, 2, 0, 1, 5, 3, 4]);
    // numpy.fft.ifftshift(np.arange(9).reshape(3,3)) = [[4,5,3],[7,8,6],[1,2,0]]
    const iodd = ifftshift2d(Float32Array.from({ length: 9 }, (_, i) => i), 3, new Float32Array(9));
    assert.deepEqual([...iodd], [4, 5, 3, 7, 8, 6, 1, 2, 0]);
    for (const m of [1, 2, 3, 4, 5, 8]) {
      const a = Float64Array.from({ length: m * m }, (_, i) => i);
      assert.deepEqual([...ifftshift2d(fftshift2d(a, m, new Float64Array(m * m)), m, new Float64Array(m * m))], [...a]);
      for (let r = 0; r < m; r++) for (let c = 0; c < m; c++) assert.equal(fftshift2d(a, m, new Float64Array(m * m))[shiftedIndex(r, c, m)], r * m + c);
    }
  });
});
