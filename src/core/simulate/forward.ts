// The far-field forward model of domain.md §9.1 for one scan position: bilinear object patch (patch pixel
// (N/2, N/2) ↔ object coordinate (x, y), §3.2/§9.3), exit wave ψ = probe × patch, and the diffracted intensity
// I = fftshift(|FFT2(ψ)|²)/N² (amplitude A = √I). No zero padding. Scratch buffers live in the instance, so
// computing thousands of patterns allocates nothing.
import { FftPlan, isPowerOfTwo } from '../fft';
import type { ComplexImage } from './synthetic';

/**
 * Bilinear patch of `object` centred on object coordinate (x = column, y = row): patch pixel (i, j) samples
 * object point (y − N/2 + i, x − N/2 + j). Writes N×N complex values into outRe/outIm.
 * Every sample must lie inside the object: ⌊x⌋ − N/2 ≥ 0 and ⌊x⌋ + N/2 ≤ W − 1 (likewise for y).
 */
export function extractPatch(object: ComplexImage, x: number, y: number, n: number, outRe: Float64Array, outIm: Float64Array): void {
  const { width: w, height: h, data } = object;
  const half = Math.floor(n / 2);
  const fx0 = Math.floor(x);
  const fy0 = Math.floor(y);
  const x0 = fx0 - half;
  const y0 = fy0 - half;
  if (!Number.isFinite(x) || !Number.isFinite(y) || x0 < 0 || y0 < 0 || x0 + n > w - 1 || y0 + n > h - 1) {
    throw new Error(`scan position (x=${x}, y=${y}) is too close to the border of the ${h}×${w} object for ${n}×${n} patches`);
  }
  const fx = x - fx0;
  const fy = y - fy0;
  const w00 = (1 - fy) * (1 - fx);
  const w01 = (1 - fy) * fx;
  const w10 = fy * (1 - fx);
  const w11 = fy * fx;
  for (let i = 0; i < n; i++) {
    let a = 2 * ((y0 + i) * w + x0); // (row, col) of the top-left neighbour, interleaved index
    let b = a + 2 * w; // the row below
    const o = i * n;
    for (let j = 0; j < n; j++, a += 2, b += 2) {
      outRe[o + j] = w00 * data[a] + w01 * data[a + 2] + w10 * data[b] + w11 * data[b + 2];
      outIm[o + j] = w00 * data[a + 1] + w01 * data[a + 3] + w10 * data[b + 1] + w11 * data[b + 3];
    }
  }
}

/** Far-field intensities of probe × object patches at scan positions. */
export class FarField {
  readonly n: number;
  private readonly plan: FftPlan;
  private readonly probeRe: Float64Array;
  private readonly probeIm: Float64Array;
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(probe: ComplexImage) {
    if (probe.height !== probe.width) throw new Error(`the probe must be square (got ${probe.height}×${probe.width})`);
    const n = probe.width;
    if (!isPowerOfTwo(n) || n < 2) throw new Error(`the probe size must be a power of two (got ${n})`);
    this.n = n;
    this.plan = new FftPlan(n);
    this.probeRe = new Float64Array(n * n);
    this.probeIm = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) {
      this.probeRe[i] = probe.data[2 * i];
      this.probeIm[i] = probe.data[2 * i + 1];
    }
    this.re = new Float64Array(n * n);
    this.im = new Float64Array(n * n);
  }

  /**
   * Writes I = fftshift(|FFT2(probe · patch(x, y))|²)/N² into out[offset … offset + N²) and returns Σ I
   * (= Σ|ψ|² by Parseval), summed in double precision before any rounding into `out`.
   */
  intensity(object: ComplexImage, x: number, y: number, out: Float32Array | Float64Array, offset = 0): number {
    const n = this.n;
    const re = this.re;
    const im = this.im;
    extractPatch(object, x, y, n, re, im);
    const pr = this.probeRe;
    const pi = this.probeIm;
    for (let i = 0; i < n * n; i++) {
      const a = re[i];
      const b = im[i];
      re[i] = a * pr[i] - b * pi[i];
      im[i] = a * pi[i] + b * pr[i];
    }
    return this.diffractInPlace(out, offset);
  }

  /** Intensity of an arbitrary exit wave (n×n, split re/im; the arrays are overwritten). */
  intensityOfWave(waveRe: Float64Array, waveIm: Float64Array, out: Float32Array | Float64Array, offset = 0): number {
    this.re.set(waveRe.subarray(0, this.n * this.n));
    this.im.set(waveIm.subarray(0, this.n * this.n));
    return this.diffractInPlace(out, offset);
  }

  private diffractInPlace(out: Float32Array | Float64Array, offset: number): number {
    const n = this.n;
    const re = this.re;
    const im = this.im;
    this.plan.transform2d(re, im);
    const scale = 1 / (n * n);
    const h = n >> 1;
    let total = 0;
    for (let r = 0; r < n; r++) {
      const dstRow = offset + ((r + h) & (n - 1)) * n;
      const srcRow = r * n;
      for (let c = 0; c < n; c++) {
        const v = (re[srcRow + c] * re[srcRow + c] + im[srcRow + c] * im[srcRow + c]) * scale;
        total += v;
        out[dstRow + ((c + h) & (n - 1))] = v;
      }
    }
    return total;
  }
}

/** √(fftshift(|FFT2(ψ)|²)/N²) of one exit wave: the amplitude the detector sees (noise-free). */
export function farFieldAmplitude(waveRe: Float64Array, waveIm: Float64Array, n: number): Float64Array {
  const probe: ComplexImage = { height: n, width: n, data: new Float32Array(2 * n * n) };
  const ff = new FarField(probe);
  const out = new Float64Array(n * n);
  ff.intensityOfWave(waveRe, waveIm, out);
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(out[i]);
  return out;
}
