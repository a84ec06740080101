// Colormap tables against matplotlib's published numbers, value → RGBA window mapping (linear, log, wrap,
// NaN), complex components and complex → RGB hue for known phases.
import { strict as assert } from 'node:assert';
import {
  COLORMAPS, PHASE_COLORMAPS, SEQUENTIAL_COLORMAPS, colormapColor, colormapLut, complexComponent, complexToRgba, mapToRgba, scaleValue,
  type ColormapName,
} from '../../src/core/image/colormaps';

/** matplotlib's float colour → the nearest 8-bit value, as the tables store it. */
const bytes = (rgb: [number, number, number]): number[] => rgb.map((c) => Math.round(c * 255));
const entry = (name: ColormapName, i: number): number[] => [...colormapLut(name).subarray(3 * i, 3 * i + 3)];

describe('image: colormaps', () => {
  it('every table has 256 RGB entries', () => {
    for (const name of Object.keys(COLORMAPS) as ColormapName[]) assert.equal(colormapLut(name).length, 768, name);
  });

  it('viridis matches matplotlib _viridis_data at 0, 128 and 255', () => {
    assert.deepEqual(entry('viridis', 0), bytes([0.267004, 0.004874, 0.329415])); // #440154
    assert.deepEqual(entry('viridis', 128), bytes([0.127568, 0.566949, 0.550556]));
    assert.deepEqual(entry('viridis', 255), bytes([0.993248, 0.906157, 0.143936]));
    assert.deepEqual(entry('viridis', 0), [0x44, 0x01, 0x54]);
  });

  it('magma matches matplotlib _magma_data at 0, 128 and 255', () => {
    assert.deepEqual(entry('magma', 0), bytes([0.001462, 0.000466, 0.013866]));
    assert.deepEqual(entry('magma', 128), bytes([0.716387, 0.214982, 0.47529]));
    assert.deepEqual(entry('magma', 255), bytes([0.987053, 0.991438, 0.749504]));
  });

  it('twilight is matplotlib\'s 510-entry table sampled at 256 points, and cyclic (both ends nearly white)', () => {
    assert.deepEqual(entry('twilight', 0), bytes([0.8857501584075443, 0.8500092494306783, 0.8879736506427196]));
    assert.deepEqual(entry('twilight', 127), bytes([0.18739228342697645, 0.07710209689958833, 0.21618875376309582])); // _twilight_data[254]
    assert.deepEqual(entry('twilight', 128), bytes([0.18774482037046955, 0.07725158846803931, 0.21387448578597812])); // [256]
    assert.deepEqual(entry('twilight', 255), bytes([0.8857115512284565, 0.8500218611585632, 0.8857253899008712]));
    const d = entry('twilight', 0).map((c, k) => Math.abs(c - entry('twilight', 255)[k]));
    assert.ok(Math.max(...d) <= 1, 'the ends meet');
  });

  it('hsv goes red → yellow → green → cyan → blue → magenta → red, gray is the identity', () => {
    assert.deepEqual(entry('hsv', 0), [255, 0, 0]);
    assert.deepEqual(entry('hsv', 255), [255, 0, 24]); // matplotlib's hsv ends just short of pure red
    const [r, g, b] = colormapColor('hsv', 1 / 3);
    assert.ok(g > 240 && r < 20 && b < 60, `green at 1/3: ${[r, g, b]}`);
    const [r2, g2, b2] = colormapColor('hsv', 2 / 3);
    assert.ok(b2 > 240 && r2 < 20 && g2 < 60, `blue at 2/3: ${[r2, g2, b2]}`);
    for (const i of [0, 1, 17, 128, 254, 255]) assert.deepEqual(entry('gray', i), [i, i, i]);
  });

  it('cyclic maps are offered for phase only', () => {
    for (const c of SEQUENTIAL_COLORMAPS) assert.equal(COLORMAPS[c].cyclic, false, c);
    assert.ok(PHASE_COLORMAPS.includes('twilight') && PHASE_COLORMAPS.includes('hsv'));
    assert.deepEqual(Object.values(COLORMAPS).filter((c) => c.cyclic).map((c) => c.name).sort(), ['hsv', 'twilight']);
  });
});

describe('image: window mapping', () => {
  const gray = colormapLut('gray');
  const rgba = (values: number[], m: Parameters<typeof mapToRgba>[2], lut = gray): number[][] => {
    const out = new Uint8ClampedArray(values.length * 4);
    mapToRgba(Float32Array.from(values), lut, m, out);
    return Array.from({ length: values.length }, (_, i) => [...out.subarray(4 * i, 4 * i + 4)]);
  };

  it('maps lo to the first entry, hi to the last, clamps outside, and is linear between (matplotlib sampling)', () => {
    const px = rgba([-5, 0, 0.5, 1, 7, 0.25], { lo: 0, hi: 1 });
    assert.deepEqual(px.map((p) => p[0]), [0, 0, 128, 255, 255, 64]);
    assert.ok(px.every((p) => p[3] === 255));
  });

  it('NaN is transparent (or the given colour); a degenerate window splits at the value', () => {
    assert.deepEqual(rgba([NaN], { lo: 0, hi: 1 })[0], [0, 0, 0, 0]);
    assert.deepEqual(rgba([NaN], { lo: 0, hi: 1, nanColor: [1, 2, 3, 255] })[0], [1, 2, 3, 255]);
    assert.deepEqual(rgba([1, 2, 3], { lo: 2, hi: 2 }).map((p) => p[0]), [0, 255, 255]);
  });

  it('log scale maps log10(1 + x) linearly: 0 → first, 9 → middle of [0, 99], 99 → last; negatives count as 0', () => {
    assert.equal(scaleValue(99, 'log'), 2);
    assert.equal(scaleValue(-3, 'log'), 0);
    const px = rgba([0, 9, 99, -1], { lo: 0, hi: 99, scale: 'log' });
    assert.deepEqual(px.map((p) => p[0]), [0, 128, 255, 0]);
  });

  it('wrap folds values into the window period (phase on a cyclic map)', () => {
    const lo = -Math.PI;
    const hi = Math.PI;
    const a = rgba([0.5, 0.5 + 2 * Math.PI, 0.5 - 4 * Math.PI], { lo, hi, wrap: true }, colormapLut('twilight'));
    assert.deepEqual(a[1], a[0]);
    assert.deepEqual(a[2], a[0]);
    const clamped = rgba([0.5 + 2 * Math.PI], { lo, hi }, colormapLut('twilight'));
    assert.deepEqual(clamped[0], [...entry('twilight', 255), 255]);
  });

  it('writes at an offset and refuses a short output', () => {
    const out = new Uint8Array(12);
    mapToRgba(Float32Array.from([1]), gray, { lo: 0, hi: 1 }, out, 8);
    assert.deepEqual([...out], [0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]);
    assert.throws(() => mapToRgba(new Float32Array(4), gray, { lo: 0, hi: 1 }, new Uint8Array(8)), RangeError);
    // An offset that is not a multiple of 4 (no 32-bit view possible) writes the same bytes.
    const odd = new Uint8Array(11);
    mapToRgba(Float32Array.from([0, NaN]), gray, { lo: 0, hi: 1, nanColor: [1, 2, 3, 4] }, odd, 3);
    assert.deepEqual([...odd], [0, 0, 0, 0, 0, 0, 255, 1, 2, 3, 4]);
  });

  it('maps a 4-Mpixel image in one pass quickly', () => {
    const n = 2048 * 2048;
    const v = new Float32Array(n);
    for (let i = 0; i < n; i++) v[i] = (i % 1000) / 1000;
    const out = new Uint8ClampedArray(4 * n);
    const t0 = performance.now();
    mapToRgba(v, colormapLut('viridis'), { lo: 0, hi: 1 }, out);
    const ms = performance.now() - t0;
    assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  });
});

describe('image: complex', () => {
  const z = Float32Array.from([3, 4, -1, 0, 0, -2, 0, 0]); // 3+4j, −1, −2j, 0

  it('amplitude, phase, real and imaginary parts', () => {
    assert.deepEqual([...complexComponent(z, 'amplitude')], [5, 1, 2, 0]);
    const ph = complexComponent(z, 'phase');
    assert.ok(Math.abs(ph[0] - Math.atan2(4, 3)) < 1e-6);
    assert.ok(Math.abs(ph[1] - Math.PI) < 1e-6);
    assert.ok(Math.abs(ph[2] + Math.PI / 2) < 1e-6);
    assert.deepEqual([...complexComponent(z, 'real')], [3, -1, 0, 0]);
    assert.deepEqual([...complexComponent(z, 'imag')], [4, 0, -2, 0]);
  });

  it('a rotation shows z·e^{iθ} without copying: every component equals that of the rotated data, phase in (−π, π]', () => {
    const w = Float32Array.from([3, 4, -1, 0, 0, -2, 0.2, -0.7, NaN, 1]);
    for (const theta of [0.3, -2.9, 2.9, 7.5, -Math.PI]) {
      const c = Math.cos(theta);
      const s = Math.sin(theta);
      const rotated = new Float32Array(w.length);
      for (let i = 0; i < w.length; i += 2) {
        rotated[i] = w[i] * c - w[i + 1] * s;
        rotated[i + 1] = w[i] * s + w[i + 1] * c;
      }
      for (const mode of ['amplitude', 'real', 'imag'] as const) {
        const a = complexComponent(w, mode, undefined, theta);
        const b = complexComponent(rotated, mode);
        for (let i = 0; i < 4; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `${mode} θ=${theta} [${i}]: ${a[i]} vs ${b[i]}`);
        assert.ok(Number.isNaN(a[4]), 'NaN stays NaN');
      }
      const p = complexComponent(w, 'phase', undefined, theta);
      const q = complexComponent(rotated, 'phase');
      for (let i = 0; i < 4; i++) {
        assert.ok(p[i] > -Math.PI - 1e-6 && p[i] <= Math.PI + 1e-6, `phase in range: ${p[i]}`);
        const d = Math.abs(p[i] - q[i]);
        assert.ok(Math.min(d, 2 * Math.PI - d) < 1e-5, `phase θ=${theta} [${i}]: ${p[i]} vs ${q[i]}`);
      }
      const rgbA = new Uint8ClampedArray(20);
      const rgbB = new Uint8ClampedArray(20);
      complexToRgba(w, rgbA, { ampLo: 0, ampHi: 5, rotation: theta });
      complexToRgba(rotated, rgbB, { ampLo: 0, ampHi: 5 });
      for (let i = 0; i < 16; i++) assert.ok(Math.abs(rgbA[i] - rgbB[i]) <= 1, `rgb θ=${theta} byte ${i}`);
    }
  });

  it('complex → RGB: hue from the phase on the cyclic map, brightness from the amplitude window', () => {
    const lut = colormapLut('hsv');
    // Unit amplitude at phases −π/2 (t = 0.25), 0 (t = 0.5), π/2 (t = 0.75) and π (t = 1 → wraps to 0).
    const ph = [-Math.PI / 2, 0, Math.PI / 2, Math.PI];
    const data = new Float32Array(ph.flatMap((p) => [Math.cos(p), Math.sin(p)]));
    const out = new Uint8ClampedArray(16);
    complexToRgba(data, out, { lut, ampLo: 0, ampHi: 1 });
    const px = (i: number): number[] => [...out.subarray(4 * i, 4 * i + 3)];
    assert.deepEqual(px(0), entry('hsv', 64));
    assert.deepEqual(px(1), entry('hsv', 128));
    assert.deepEqual(px(2), entry('hsv', 192));
    assert.deepEqual(px(3), entry('hsv', 0), '+π and −π are the same hue');
    // Half amplitude: half brightness, same hue; zero amplitude is black.
    const dim = new Uint8ClampedArray(8);
    complexToRgba(Float32Array.from([0.5, 0, 0, 0]), dim, { lut, ampLo: 0, ampHi: 1 });
    assert.deepEqual([...dim.subarray(0, 3)], entry('hsv', 128).map((c) => Math.round(c * 0.5)));
    assert.deepEqual([...dim.subarray(4, 8)], [0, 0, 0, 255]);
  });
});
