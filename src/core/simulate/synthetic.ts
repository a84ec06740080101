// Deterministic synthetic ground truth for the simulator: a complex object with structure at several scales
// (Gaussian blobs, soft-edged discs, thin lines, a slow background), amplitude in (0.5, 1) and phase within
// ±1.45 rad (< π/2), and a fly64-like probe (a soft-edged disc of radius N/4 with a quadratic, defocus-like
// phase, so its far field spreads over the detector instead of piling into a few central pixels).
import { Rng } from './rng';

/** A complex image, row-major, interleaved (re, im) float32 pairs (NumPy `<c8`). */
export interface ComplexImage {
  height: number;
  width: number;
  data: Float32Array;
}

/** erf(x), Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7). */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const ax = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * ax);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-ax * ax);
  return sign * y;
}

/** Smooth step from 1 (inside) to 0 (outside) across a boundary at signed distance `d` (< 0 inside), width σ. */
function softEdge(d: number, sigma: number): number {
  return 0.5 * (1 - erf(d / (Math.SQRT2 * sigma)));
}

/** Radius of the probe's disc aperture, in pixels. */
export function probeRadius(n: number): number {
  return n / 4;
}

/**
 * The synthetic probe (n×n): amplitude a disc of radius n/4 with an erf edge of width n/32, peak 1; phase
 * β·(r/r₀)² with β = π·n/16, which spreads the far field over a disc of radius ≈ n/4 pixels (the phase
 * gradient stays below 2 rad/pixel, well sampled). Centred on pixel (n/2, n/2), the pixel that sits on the
 * scan position.
 */
export function syntheticProbe(n: number): ComplexImage {
  if (!Number.isInteger(n) || n < 4) throw new Error(`probe size must be an integer ≥ 4 (got ${n})`);
  const r0 = probeRadius(n);
  const edge = Math.max(0.5, n / 32);
  const beta = (Math.PI * n) / 16;
  const c = n / 2;
  const data = new Float32Array(2 * n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const r = Math.hypot(x - c, y - c);
      const amp = softEdge(r - r0, edge);
      const phase = beta * (r / r0) * (r / r0);
      const i = 2 * (y * n + x);
      data[i] = amp * Math.cos(phase);
      data[i + 1] = amp * Math.sin(phase);
    }
  }
  return { height: n, width: n, data };
}

/** Accumulates smooth features into a real field of `size`×`size` (separable where possible: fast). */
class FieldPainter {
  readonly field: Float64Array;
  private colScratch = new Float64Array(64);
  private rowScratch = new Float64Array(64);

  constructor(readonly size: number) {
    this.field = new Float64Array(size * size);
  }

  private scratch(len: number): [Float64Array, Float64Array] {
    if (this.colScratch.length < len) {
      this.colScratch = new Float64Array(len);
      this.rowScratch = new Float64Array(len);
    }
    return [this.colScratch, this.rowScratch];
  }

  private box(cx: number, cy: number, reach: number): [number, number, number, number] {
    const s = this.size;
    return [
      Math.max(0, Math.floor(cx - reach)), Math.min(s - 1, Math.ceil(cx + reach)),
      Math.max(0, Math.floor(cy - reach)), Math.min(s - 1, Math.ceil(cy + reach)),
    ];
  }

  /** weight · exp(−((x−cx)² + (y−cy)²)/(2σ²)) = weight · g(x) · g(y). */
  gaussian(cx: number, cy: number, sigma: number, weight: number): void {
    const [x0, x1, y0, y1] = this.box(cx, cy, 3.5 * sigma);
    if (x1 < x0 || y1 < y0) return;
    const k = -1 / (2 * sigma * sigma);
    const [gx, gy] = this.scratch(Math.max(x1 - x0, y1 - y0) + 1);
    for (let x = x0; x <= x1; x++) gx[x - x0] = Math.exp(k * (x - cx) * (x - cx));
    for (let y = y0; y <= y1; y++) gy[y - y0] = weight * Math.exp(k * (y - cy) * (y - cy));
    for (let y = y0; y <= y1; y++) {
      const wy = gy[y - y0];
      const row = y * this.size;
      for (let x = x0; x <= x1; x++) this.field[row + x] += wy * gx[x - x0];
    }
  }

  disc(cx: number, cy: number, radius: number, edge: number, weight: number): void {
    const [x0, x1, y0, y1] = this.box(cx, cy, radius + 4 * edge);
    for (let y = y0; y <= y1; y++) {
      const row = y * this.size;
      for (let x = x0; x <= x1; x++) this.field[row + x] += weight * softEdge(Math.hypot(x - cx, y - cy) - radius, edge);
    }
  }

  /** A segment from (ax, ay) to (bx, by) with a Gaussian cross-section of width σ. */
  line(ax: number, ay: number, bx: number, by: number, sigma: number, weight: number): void {
    const reach = 3.5 * sigma;
    const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
    const x1 = Math.min(this.size - 1, Math.ceil(Math.max(ax, bx) + reach));
    const y0 = Math.max(0, Math.floor(Math.min(ay, by) - reach));
    const y1 = Math.min(this.size - 1, Math.ceil(Math.max(ay, by) + reach));
    const dx = bx - ax;
    const dy = by - ay;
    const len = Math.hypot(dx, dy) || 1;
    const len2 = len * len;
    const k = -1 / (2 * sigma * sigma);
    for (let y = y0; y <= y1; y++) {
      // Only pixels within `reach` of the infinite line can be within reach of the segment.
      let xa = x0;
      let xb = x1;
      if (Math.abs(dy) > 1e-9 * len) {
        const c = ax + ((y - ay) * dx) / dy;
        const w = Math.abs((reach * len) / dy);
        xa = Math.max(x0, Math.floor(c - w));
        xb = Math.min(x1, Math.ceil(c + w));
      }
      const row = y * this.size;
      for (let x = xa; x <= xb; x++) {
        const t = Math.min(1, Math.max(0, ((x - ax) * dx + (y - ay) * dy) / len2));
        const ex = x - (ax + t * dx);
        const ey = y - (ay + t * dy);
        const d2 = ex * ex + ey * ey;
        if (d2 < reach * reach) this.field[row + x] += weight * Math.exp(k * d2);
      }
    }
  }

  /** weight · cos(kx·x + ky·y + φ), evaluated as cos(kx·x)·cos(ky·y + φ) − sin(kx·x)·sin(ky·y + φ). */
  wave(kx: number, ky: number, phase: number, weight: number): void {
    const [cx, sx] = this.scratch(this.size);
    for (let x = 0; x < this.size; x++) {
      cx[x] = Math.cos(kx * x);
      sx[x] = Math.sin(kx * x);
    }
    for (let y = 0; y < this.size; y++) {
      const cy = weight * Math.cos(ky * y + phase);
      const sy = weight * Math.sin(ky * y + phase);
      const row = y * this.size;
      for (let x = 0; x < this.size; x++) this.field[row + x] += cx[x] * cy - sx[x] * sy;
    }
  }
}

/** One random multi-scale texture; feature sizes are tied to the probe size n so every view sees structure. */
function paintTexture(size: number, n: number, rng: Rng): Float64Array {
  const p = new FieldPainter(size);
  const area = size * size;
  const sign = (): number => (rng.uniform() < 0.5 ? -1 : 1);
  // Slow background: a few long waves.
  for (let i = 0; i < 3; i++) {
    const lambda = rng.uniformIn(size / 3, size);
    const theta = rng.uniformIn(0, 2 * Math.PI);
    p.wave((2 * Math.PI * Math.cos(theta)) / lambda, (2 * Math.PI * Math.sin(theta)) / lambda, rng.uniformIn(0, 2 * Math.PI), 0.35);
  }
  // Gaussian blobs at four scales, from half a probe width down to 2 pixels.
  const scales: [number, number, number][] = [
    [n / 2, 1.0, 1.0], [n / 6, 0.8, 1.0], [Math.max(2, n / 16), 0.5, 0.6], [2, 0.35, 0.25],
  ];
  for (const [sigma, weight, density] of scales) {
    const count = Math.max(1, Math.ceil((density * area) / (4 * sigma) ** 2));
    for (let i = 0; i < count; i++) {
      const s = sigma * rng.uniformIn(0.7, 1.3);
      p.gaussian(rng.uniformIn(0, size), rng.uniformIn(0, size), s, sign() * weight * rng.uniformIn(0.5, 1));
    }
  }
  // Soft-edged discs ("particles"), radius n/16 … n/5.
  const rMean = n / 8;
  const discs = Math.max(1, Math.ceil((0.6 * area) / (4 * rMean) ** 2));
  for (let i = 0; i < discs; i++) {
    p.disc(rng.uniformIn(0, size), rng.uniformIn(0, size), rng.uniformIn(n / 16, n / 5), 1, sign() * rng.uniformIn(0.4, 0.9));
  }
  // Thin lines (1–2 px), a couple per probe-sized strip.
  const lines = Math.max(2, Math.ceil((2 * size) / n));
  for (let i = 0; i < lines; i++) {
    const cx = rng.uniformIn(0, size);
    const cy = rng.uniformIn(0, size);
    const len = rng.uniformIn(size / 6, size / 2);
    const th = rng.uniformIn(0, Math.PI);
    const hx = (Math.cos(th) * len) / 2;
    const hy = (Math.sin(th) * len) / 2;
    p.line(cx - hx, cy - hy, cx + hx, cy + hy, rng.uniformIn(0.8, 1.6), sign() * rng.uniformIn(0.4, 0.8));
  }
  return p.field;
}

function standardize(f: Float64Array): void {
  let mean = 0;
  for (let i = 0; i < f.length; i++) mean += f[i];
  mean /= f.length;
  let v = 0;
  for (let i = 0; i < f.length; i++) v += (f[i] - mean) ** 2;
  const sd = Math.sqrt(v / f.length) || 1;
  for (let i = 0; i < f.length; i++) f[i] = (f[i] - mean) / sd;
}

/** Largest |phase| the synthetic object can have (rad); < π/2. */
export const OBJECT_PHASE_LIMIT = 1.45;

/**
 * A size×size synthetic object for probe size n, reproducible from `seed`: amplitude 0.75 + 0.25·tanh(a)
 * ∈ (0.5, 1) and phase 1.45·tanh(0.8·p) ∈ (−1.45, 1.45), where a and p are standardized multi-scale textures
 * (p shares half of a's features, as thickness couples absorption and phase in real samples).
 */
export function syntheticObject(size: number, n: number, seed: number): ComplexImage {
  if (!Number.isInteger(size) || size < 8) throw new Error(`object size must be an integer ≥ 8 (got ${size})`);
  const rng = new Rng(seed, 'synthetic-object', size, n);
  const a = paintTexture(size, n, rng);
  const b = paintTexture(size, n, rng);
  standardize(a);
  standardize(b);
  const data = new Float32Array(2 * size * size);
  for (let i = 0; i < a.length; i++) {
    const amp = 0.75 + 0.25 * Math.tanh(0.9 * a[i]);
    const ph = OBJECT_PHASE_LIMIT * Math.tanh(0.8 * (0.5 * a[i] + 0.87 * b[i]));
    data[2 * i] = amp * Math.cos(ph);
    data[2 * i + 1] = amp * Math.sin(ph);
  }
  return { height: size, width: size, data };
}

/** Kinds of synthetic object: the multi-scale structured one, or a smooth specimen-like one. */
export type ObjectKind = 'structured' | 'smooth';
export const OBJECT_KINDS: readonly ObjectKind[] = ['structured', 'smooth'];

/**
 * A smooth, specimen-like object: amplitude ∈ (0.55, 1) and phase ∈ (−1.2, 1.2) rad from independent fields of
 * broad Gaussian bumps (σ ≈ 0.6–1.2 probe widths), so each probe sees a nearly constant amplitude and a nearly
 * linear phase. The hard case for a network: the information is in each pattern's total count and shift.
 */
export function smoothObject(size: number, n: number, seed: number): ComplexImage {
  if (!Number.isInteger(size) || size < 8) throw new Error(`object size must be an integer ≥ 8 (got ${size})`);
  const rng = new Rng(seed, 'smooth-object', size, n);
  const field = (): Float64Array => {
    const p = new FieldPainter(size);
    const sigma = 0.9 * n;
    const count = Math.max(4, Math.ceil((size * size) / (2 * sigma) ** 2));
    for (let i = 0; i < count; i++) p.gaussian(rng.uniformIn(-sigma, size + sigma), rng.uniformIn(-sigma, size + sigma), sigma * rng.uniformIn(0.65, 1.35), rng.uniform() < 0.5 ? -1 : 1);
    standardize(p.field);
    return p.field;
  };
  const a = field();
  const b = field();
  const data = new Float32Array(2 * size * size);
  for (let i = 0; i < a.length; i++) {
    const amp = 0.775 + 0.225 * Math.tanh(a[i]);
    const ph = 1.2 * Math.tanh(b[i]);
    data[2 * i] = amp * Math.cos(ph);
    data[2 * i + 1] = amp * Math.sin(ph);
  }
  return { height: size, width: size, data };
}

/**
 * Probe diameter for the overlap metrics: the diameter of the disc with the area of the region where the
 * probe amplitude is at least half its maximum (a 2-D FWHM). Not measurable — the half-maximum region
 * touches the array border or holds fewer than 4 pixels — falls back to 0.6·N (docs/specs/overlap_metrics.md).
 */
export function probeDiameterPx(probe: ComplexImage): { diameter: number; measured: boolean } {
  const { height: h, width: w, data } = probe;
  const fallback = { diameter: 0.6 * Math.max(h, w), measured: false };
  let max = 0;
  for (let i = 0; i < h * w; i++) max = Math.max(max, Math.hypot(data[2 * i], data[2 * i + 1]));
  if (!(max > 0) || !Number.isFinite(max)) return fallback;
  let count = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (Math.hypot(data[2 * i], data[2 * i + 1]) >= max / 2) {
        if (x === 0 || y === 0 || x === w - 1 || y === h - 1) return fallback;
        count++;
      }
    }
  }
  if (count < 4) return fallback;
  return { diameter: 2 * Math.sqrt(count / Math.PI), measured: true };
}
