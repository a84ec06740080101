// Patch extraction (placement, sub-pixel bilinear), the far-field operator, and the synthetic object/probe.
import { strict as assert } from 'node:assert';
import { FftPlan } from '../../src/core/fft';
import { extractPatch, FarField, farFieldAmplitude } from '../../src/core/simulate/forward';
import { Rng } from '../../src/core/simulate/rng';
import {
  OBJECT_PHASE_LIMIT, probeDiameterPx, syntheticObject, syntheticProbe, type ComplexImage,
} from '../../src/core/simulate/synthetic';

function image(h: number, w: number, f: (row: number, col: number) => [number, number]): ComplexImage {
  const data = new Float32Array(2 * h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const [re, im] = f(r, c);
      data[2 * (r * w + c)] = re;
      data[2 * (r * w + c) + 1] = im;
    }
  }
  return { height: h, width: w, data };
}

describe('simulate: patch extraction', () => {
  const n = 16;
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);

  it('places the object pixel (x, y) at patch pixel (N/2, N/2)', () => {
    const obj = image(60, 80, (r, c) => (r === 30 && c === 40 ? [1, -2] : [0, 0]));
    extractPatch(obj, 40, 30, n, re, im);
    for (let i = 0; i < n * n; i++) {
      const expected = i === (n / 2) * n + n / 2 ? [1, -2] : [0, 0];
      assert.deepEqual([re[i], im[i]], expected, `pixel ${i}`);
    }
    // Moving the scan position by (+3, −2) moves the feature by (−3, +2) in the patch.
    extractPatch(obj, 43, 28, n, re, im);
    assert.equal(re[(n / 2 + 2) * n + (n / 2 - 3)], 1);
  });

  it('interpolates bilinearly at sub-pixel positions', () => {
    const obj = image(60, 80, (r, c) => (r === 30 && c === 40 ? [1, 0] : [0, 0]));
    // x = 40.25: patch column N/2 samples object column 40.25 (weight 0.75 on column 40), column N/2 − 1
    // samples 39.25 (weight 0.25).
    extractPatch(obj, 40.25, 30, n, re, im);
    assert.ok(Math.abs(re[(n / 2) * n + n / 2] - 0.75) < 1e-12);
    assert.ok(Math.abs(re[(n / 2) * n + n / 2 - 1] - 0.25) < 1e-12);
    extractPatch(obj, 40.25, 30.5, n, re, im);
    assert.ok(Math.abs(re[(n / 2) * n + n / 2] - 0.375) < 1e-12);
    assert.ok(Math.abs(re[(n / 2 - 1) * n + n / 2] - 0.375) < 1e-12);
    assert.ok(Math.abs(re[(n / 2 - 1) * n + n / 2 - 1] - 0.125) < 1e-12);
    // A linear ramp is reproduced exactly at any fractional position.
    const ramp = image(60, 80, (r, c) => [0.5 + 0.01 * c - 0.02 * r, 0.003 * r]);
    const rng = new Rng(4);
    for (let t = 0; t < 20; t++) {
      const x = rng.uniformIn(n / 2 + 1, 80 - n / 2 - 1);
      const y = rng.uniformIn(n / 2 + 1, 60 - n / 2 - 1);
      extractPatch(ramp, x, y, n, re, im);
      for (const [i, j] of [[0, 0], [n / 2, n / 2], [n - 1, n - 1], [3, 11]]) {
        const oc = x - n / 2 + j;
        const or = y - n / 2 + i;
        assert.ok(Math.abs(re[i * n + j] - (0.5 + 0.01 * oc - 0.02 * or)) < 1e-6, `re at ${i},${j}`);
        assert.ok(Math.abs(im[i * n + j] - 0.003 * or) < 1e-6, `im at ${i},${j}`);
      }
    }
  });

  it('refuses positions whose patch would leave the object', () => {
    const obj = image(40, 40, () => [1, 0]);
    assert.throws(() => extractPatch(obj, 7.5, 20, n, re, im), /too close to the border/);
    assert.throws(() => extractPatch(obj, 20, 32.2, n, re, im), /too close to the border/);
    assert.throws(() => extractPatch(obj, NaN, 20, n, re, im), /too close to the border/);
    extractPatch(obj, 8, 31.9, n, re, im); // the last allowed positions
  });
});

describe('simulate: far-field operator', () => {
  it('a flat exit wave c puts amplitude N·|c| in pixel (N/2, N/2) and nothing elsewhere', () => {
    const n = 32;
    const wr = new Float64Array(n * n).fill(0.6);
    const wi = new Float64Array(n * n).fill(-0.8);
    const amp = farFieldAmplitude(wr, wi, n);
    for (let i = 0; i < n * n; i++) {
      if (i === (n / 2) * n + n / 2) assert.ok(Math.abs(amp[i] - n) < 1e-9);
      else assert.ok(amp[i] < 1e-9);
    }
  });

  it('a tilted plane wave lands at (N/2 + ky, N/2 + kx); total intensity equals Σ|ψ|² (Parseval)', () => {
    const n = 32;
    const wr = new Float64Array(n * n);
    const wi = new Float64Array(n * n);
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const a = (2 * Math.PI * (-3 * x + 2 * y)) / n;
        wr[y * n + x] = Math.cos(a);
        wi[y * n + x] = Math.sin(a);
      }
    }
    const amp = farFieldAmplitude(wr, wi, n);
    let peak = 0;
    for (let i = 1; i < n * n; i++) if (amp[i] > amp[peak]) peak = i;
    assert.equal(peak, (n / 2 + 2) * n + (n / 2 - 3));
    // Parseval through FarField.intensity with the synthetic probe and object.
    const probe = syntheticProbe(n);
    const obj = syntheticObject(128, n, 1);
    const ff = new FarField(probe);
    const out = new Float64Array(n * n);
    const total = ff.intensity(obj, 60.3, 70.8, out);
    const pr = new Float64Array(n * n);
    const pi = new Float64Array(n * n);
    extractPatch(obj, 60.3, 70.8, n, pr, pi);
    let e = 0;
    let sum = 0;
    for (let i = 0; i < n * n; i++) {
      const a = probe.data[2 * i];
      const b = probe.data[2 * i + 1];
      e += (pr[i] * a - pi[i] * b) ** 2 + (pr[i] * b + pi[i] * a) ** 2;
      sum += out[i];
    }
    assert.ok(Math.abs(total - e) < 1e-9 * e && Math.abs(sum - e) < 1e-9 * e, `${total} vs ${e}`);
  });

  it('FarField.intensity equals fftshift(|FFT2(probe × patch)|²)/N² computed independently', () => {
    const n = 16;
    const probe = syntheticProbe(n);
    const obj = syntheticObject(64, n, 3);
    const out = new Float32Array(n * n);
    new FarField(probe).intensity(obj, 30.7, 25.1, out);
    const re = new Float64Array(n * n);
    const im = new Float64Array(n * n);
    extractPatch(obj, 30.7, 25.1, n, re, im);
    for (let i = 0; i < n * n; i++) {
      const a = re[i];
      const b = im[i];
      re[i] = a * probe.data[2 * i] - b * probe.data[2 * i + 1];
      im[i] = a * probe.data[2 * i + 1] + b * probe.data[2 * i];
    }
    new FftPlan(n).transform2d(re, im);
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const want = (re[r * n + c] ** 2 + im[r * n + c] ** 2) / (n * n);
        const got = out[((r + n / 2) % n) * n + ((c + n / 2) % n)];
        assert.ok(Math.abs(got - want) <= 1e-6 * Math.max(1e-3, want), `(${r},${c}) ${got} vs ${want}`);
      }
    }
  });
});

describe('simulate: synthetic object and probe', () => {
  it('object: amplitude in [0.5, 1], |phase| < π/2, structured and smooth, reproducible from the seed', () => {
    const size = 256;
    const obj = syntheticObject(size, 64, 42);
    const amp = new Float64Array(size * size);
    const ph = new Float64Array(size * size);
    for (let i = 0; i < size * size; i++) {
      amp[i] = Math.hypot(obj.data[2 * i], obj.data[2 * i + 1]);
      ph[i] = Math.atan2(obj.data[2 * i + 1], obj.data[2 * i]);
    }
    const stats = (a: Float64Array): { min: number; max: number; sd: number } => {
      let s = 0;
      let s2 = 0;
      let min = Infinity;
      let max = -Infinity;
      for (const v of a) {
        s += v;
        s2 += v * v;
        min = Math.min(min, v);
        max = Math.max(max, v);
      }
      const mean = s / a.length;
      return { min, max, sd: Math.sqrt(s2 / a.length - mean * mean) };
    };
    const sa = stats(amp);
    const sp = stats(ph);
    assert.ok(sa.min >= 0.5 - 1e-6 && sa.max <= 1 + 1e-6, `amplitude ${sa.min}…${sa.max}`);
    assert.ok(sp.min > -Math.PI / 2 && sp.max < Math.PI / 2 && sp.max <= OBJECT_PHASE_LIMIT + 1e-6, `phase ${sp.min}…${sp.max}`);
    assert.ok(sa.sd > 0.05 && sp.sd > 0.2, `structure: sd amplitude ${sa.sd}, phase ${sp.sd}`);
    assert.ok(sa.max - sa.min > 0.3 && sp.max - sp.min > 1.5, 'uses most of the range');
    // Structure at several scales, but smooth: most of the (mean-free) spectral power of the amplitude is
    // at low frequencies, little near Nyquist.
    const re = amp.slice();
    const im = new Float64Array(size * size);
    let mean = 0;
    for (const v of re) mean += v / re.length;
    for (let i = 0; i < re.length; i++) re[i] -= mean;
    new FftPlan(size).transform2d(re, im);
    let low = 0;
    let mid = 0;
    let high = 0;
    for (let u = 0; u < size; u++) {
      for (let v = 0; v < size; v++) {
        const fu = Math.min(u, size - u) / size;
        const fv = Math.min(v, size - v) / size;
        const f = Math.hypot(fu, fv);
        const p = re[u * size + v] ** 2 + im[u * size + v] ** 2;
        if (f < 0.02) low += p;
        else if (f < 0.15) mid += p;
        else if (f > 0.35) high += p;
      }
    }
    const total = low + mid + high;
    assert.ok(low / total > 0.2, `coarse structure ${low / total}`);
    assert.ok(mid / total > 0.1, `fine structure ${mid / total}`);
    assert.ok(high / total < 0.02, `near-Nyquist power ${high / total}`);
    assert.deepEqual(syntheticObject(64, 16, 42).data, syntheticObject(64, 16, 42).data);
    assert.notDeepEqual(syntheticObject(64, 16, 42).data, syntheticObject(64, 16, 43).data);
  });

  it('probe: energy concentrated in a centred disc of radius N/4; FWHM diameter ≈ N/2', () => {
    for (const n of [32, 64, 128]) {
      const p = syntheticProbe(n);
      let inside = 0;
      let total = 0;
      let peak = 0;
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          const i = y * n + x;
          const e = p.data[2 * i] ** 2 + p.data[2 * i + 1] ** 2;
          total += e;
          if (Math.hypot(x - n / 2, y - n / 2) <= n / 4 + n / 16) inside += e;
          peak = Math.max(peak, Math.sqrt(e));
        }
      }
      assert.ok(inside / total > 0.99, `n=${n}: ${inside / total} of the energy in the disc`);
      const c = (n / 2) * n + n / 2;
      assert.ok(Math.abs(Math.hypot(p.data[2 * c], p.data[2 * c + 1]) - 1) < 1e-6 && peak <= 1 + 1e-6);
      const d = probeDiameterPx(p);
      assert.ok(d.measured && Math.abs(d.diameter - n / 2) < 1, `n=${n}: diameter ${d.diameter}`);
    }
  });

  it('probe diameter falls back to 0.6·N when the half-maximum region touches the border', () => {
    const flat = image(64, 64, () => [1, 0]);
    assert.deepEqual(probeDiameterPx(flat), { diameter: 0.6 * 64, measured: false });
    const zero = image(32, 32, () => [0, 0]);
    assert.deepEqual(probeDiameterPx(zero), { diameter: 0.6 * 32, measured: false });
  });
});
