// Fourier ring correlation as the study computes it (ptycho/FRC `FSC`, via ptycho.evaluation.frc50):
// FRC(r) = |Σ F1·conj(F2)| / sqrt(Σ|F1|² · Σ|F2|²) over the shells r = round(sqrt(dx² + dy²)) of the
// fftshifted 2-D DFT, measured from the centre pixel (n//2, n//2). FSC's per-shell means cancel in the ratio,
// so sums are used. Non-square images are centre-cropped to the largest centred square first; no padding.
// The curve stops at shell n//2 − 1 (the last complete ring); the Python FSC runs on into the corners (up to
// ≈ n/√2) and its "never below 0.5" fallback is that longer length. Here the fallback is n//2, and a crossing
// that happens only in the corner shells also reads n//2.
import { checkImage } from './filters';
import { fft2d } from '../fft';

/** Relative shell power below which a shell counts as empty (far below any real content, above FFT rounding). */
export const EMPTY_SHELL = 1e-20;

export interface FrcResult {
  /** Side n of the centre square the FRC ran on: shell k ↔ k/n cycles per pixel. */
  size: number;
  /** FRC of shells 0 … n//2 − 1 (n = the side of the centre square). */
  curve: number[];
  /** First shell index whose FRC is < 0.5 (the study-era integer convention); n//2 when none is. */
  frc50: number;
  /** The 0.5 crossing linearly interpolated between shells (as the current study code); n//2 when none. */
  frc50Interpolated: number;
  /** The 1/7 crossing, interpolated likewise; n//2 when none. */
  frc1over7: number;
}

/** The largest centred square: rows/cols from (h − m)//2, (w − m)//2, m = min(w, h), as the study crops. */
export function centreSquare(img: Float64Array, w: number, h: number): { data: Float64Array; n: number } {
  const n = Math.min(w, h);
  if (w === h) return { data: img, n };
  const y0 = (h - n) >> 1;
  const x0 = (w - n) >> 1;
  const out = new Float64Array(n * n);
  for (let y = 0; y < n; y++) out.set(img.subarray((y + y0) * w + x0, (y + y0) * w + x0 + n), y * n);
  return { data: out, n };
}

/**
 * Shell-index crossing of `t`: the first index i with curve[i] < t, refined to (i − 1) + (c[i−1] − t)/(c[i−1] − c[i])
 * (0 when the very first shell is already below); curve.length when the curve never drops below t; NaN when
 * the curve holds NaN.
 */
export function thresholdCrossing(curve: readonly number[], t: number, interpolate: boolean): number {
  // A NaN shell (NaN input) leaves the crossing undefined rather than "never crossed".
  if (curve.some((v) => Number.isNaN(v))) return NaN;
  for (let i = 0; i < curve.length; i++) {
    if (curve[i] < t) {
      if (!interpolate || i === 0) return i;
      const y0 = curve[i - 1];
      const y1 = curve[i];
      return i - 1 + (y0 - t) / (y0 - y1);
    }
  }
  return curve.length;
}

/**
 * FRC of two h×w real images (target first, as the study calls FSC(target, pred); the value is symmetric).
 * A shell where either image has no power gets FRC 0 instead of the 0/0 NaN of the Python code, so a flat
 * image never reads as perfectly resolved. For shells r ≥ 1 "no power" means below EMPTY_SHELL × the image's
 * total spectral power: the DFT of a constant is exactly 0 off DC only for power-of-two sizes; otherwise those
 * shells hold rounding noise (~1e-32 relative), which would correlate perfectly between identical flat images.
 * Shell 0 is the single DC coefficient, so its FRC is 1 whenever both DCs are non-zero, even when they are only
 * rounding residue (a plane-removed phase has mean ≈ 1e-17): the study's FSC reads it the same way, and only an
 * exactly zero DC counts as empty there. Needs a centre square of at least 2×2.
 */
export function frc(a: Float64Array, b: Float64Array, w: number, h: number): FrcResult {
  checkImage(a, w, h, 'frc');
  checkImage(b, w, h, 'frc');
  const sa = centreSquare(a, w, h);
  const sb = centreSquare(b, w, h);
  const n = sa.n;
  if (n < 2) throw new RangeError(`frc: the centre square must be at least 2×2 (got ${w}×${h})`);
  // Both real images go through one complex transform, Z = FFT(a/σa + i·b/σb): with W = Z(−k),
  // 2·F1(k) = Z(k) + conj(W) and 2·F2(k) = (Z(k) − conj(W))/i. FRC is invariant to scaling either image, so
  // each is first divided by its RMS: then the packing's rounding error (~1e-16 of the larger of |F1|, |F2|)
  // stays at the level of separate transforms even when the two images differ wildly in scale.
  const sa1 = rmsScale(sa.data);
  const sb1 = rmsScale(sb.data);
  const zr = new Float64Array(n * n);
  const zi = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) {
    zr[i] = sa.data[i] * sa1;
    zi[i] = sb.data[i] * sb1;
  }
  fft2d(zr, zi, n, n);

  const shells = n >> 1;
  const crossRe = new Float64Array(shells);
  const crossIm = new Float64Array(shells);
  const p1 = new Float64Array(shells);
  const p2 = new Float64Array(shells);
  let total1 = 0;
  let total2 = 0;
  // Unshifted index k sits at fftshift position (k + n//2) mod n, i.e. signed offset ((k + n//2) mod n) − n//2
  // from the centre pixel n//2.
  const half = n >> 1;
  const offset = new Int32Array(n);
  for (let k = 0; k < n; k++) offset[k] = ((k + half) % n) - half;
  for (let ky = 0; ky < n; ky++) {
    const dy = offset[ky];
    const nky = ky === 0 ? 0 : n - ky;
    for (let kx = 0; kx < n; kx++) {
      const i = ky * n + kx;
      const m = nky * n + (kx === 0 ? 0 : n - kx);
      const wr = zr[m];
      const wi = zi[m];
      // 2·F1 = (zr + wr) + i(zi − wi); 2·F2 = (zi + wi) + i(wr − zr). The common factor 2 cancels in FRC.
      const ar = zr[i] + wr;
      const ai = zi[i] - wi;
      const br = zi[i] + wi;
      const bi = wr - zr[i];
      const q1 = ar * ar + ai * ai;
      const q2 = br * br + bi * bi;
      total1 += q1;
      total2 += q2;
      const dx = offset[kx];
      // round() of sqrt(integer) never meets a .5 tie, so Math.round agrees with numpy's half-to-even here.
      const r = Math.round(Math.sqrt(dx * dx + dy * dy));
      if (r >= shells) continue;
      crossRe[r] += ar * br + ai * bi;
      crossIm[r] += ai * br - ar * bi;
      p1[r] += q1;
      p2[r] += q2;
    }
  }
  const curve: number[] = new Array(shells);
  for (let r = 0; r < shells; r++) {
    const floor1 = r === 0 ? 0 : EMPTY_SHELL * total1;
    const floor2 = r === 0 ? 0 : EMPTY_SHELL * total2;
    const empty = p1[r] <= floor1 || p2[r] <= floor2;
    curve[r] = empty ? 0 : Math.hypot(crossRe[r], crossIm[r]) / Math.sqrt(p1[r] * p2[r]);
  }
  return {
    size: n,
    curve,
    frc50: thresholdCrossing(curve, 0.5, false),
    frc50Interpolated: thresholdCrossing(curve, 0.5, true),
    frc1over7: thresholdCrossing(curve, 1 / 7, true),
  };
}

/** 1/RMS of an image (1 for an all-zero image; NaN propagates). */
function rmsScale(x: Float64Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  const rms = Math.sqrt(s / x.length);
  return rms > 0 && Number.isFinite(rms) ? 1 / rms : Number.isNaN(rms) ? NaN : 1;
}
