// The stitched amplitude, weighted by its own half-set Fourier ring correlation — no ground truth involved.
// The patches of a reconstruction are split into two interleaved halves (even and odd groups), each stitched on
// its own with the full stitch's phases and rotations. The FRC of the two half-stitched amplitudes measures, per
// spatial frequency, how much of the amplitude is reproduced by independent data. With FSC = 2·FRC / (1 + FRC),
// the full set's own correlation (the halves' FRC stepped up to twice the data), FSC = SNR / (1 + SNR) per shell, and
// each frequency of the full stitch is weighted by it: the Wiener filter, which minimises the expected squared error
// and maximises the expected correlation with the noise-free image. Detail the data support stays; detail two halves
// of the data do not agree on is damped (README item 24). Cryo-EM's C_ref = √FSC (Rosenthal & Henderson 2003),
// used first, damps less: it is the expected correlation itself, not the weight that optimises it.
// Amplitude only: the halves' phases share the full stitch's synchronisation, and a gridsize-1 phase filtered by
// them lost its real large-scale content (phase r 0.838 → 0.700); the amplitude needs no synchronisation.
import { fft2d } from '../fft';
import { frc } from '../metrics/frc';
import type { StitchedCanvas } from './stitch';

/** A stitched canvas's values: interleaved complex, and the summed weights (0 = no patch reached the pixel). */
type StitchedImage = Pick<StitchedCanvas, 'object' | 'weight'>;

/** What the filter measured and did (metrics.json `amplitudeFilter`). */
export interface AmplitudeFilterSummary {
  /** The truth-free resolution of the amplitude: the half-set FRC's 0.5 and 1/7 crossings, cycles per pixel. */
  halfSetFrc50: number;
  halfSetFrc1over7: number;
  /** The Wiener weight 2·FRC/(1+FRC) applied at each shell k of the centre n×n square (shell k ↔ k/n cycles/px). */
  shellWeights: number[];
  /** Side n of the centre square the FRC ran on. */
  size: number;
  /** Patches in each half. */
  halves: [number, number];
}

/** Smallest side of the centre square on which a half-set FRC is attempted. */
export const MIN_FILTER_SIZE = 16;

/**
 * The Wiener weight per shell from a half-set FRC curve: the full set's FSC = 2·FRC/(1+FRC) = SNR/(1+SNR)
 * (negative or NaN correlations count as none).
 */
export function wienerWeights(curve: readonly number[]): number[] {
  return curve.map((c) => {
    const f = Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0;
    return (2 * f) / (1 + f);
  });
}

/** |object| on covered pixels, their mean elsewhere (so holes add no edges to the spectrum). */
export function coveredAmplitude(image: StitchedImage, width: number, height: number): { amplitude: Float64Array; covered: number } {
  const amplitude = new Float64Array(width * height);
  let sum = 0;
  let covered = 0;
  for (let i = 0; i < width * height; i++) {
    if (image.weight[i] > 0) {
      amplitude[i] = Math.hypot(image.object[2 * i], image.object[2 * i + 1]);
      sum += amplitude[i];
      covered++;
    }
  }
  const mean = covered ? sum / covered : 0;
  for (let i = 0; i < width * height; i++) if (!(image.weight[i] > 0)) amplitude[i] = mean;
  return { amplitude, covered };
}

/**
 * Multiplies each frequency of a real width×height image by the shell weight at its radius (shells of an
 * n-pixel square: radius f cycles/px ↔ shell f·n, linearly interpolated, the last shell's weight beyond it),
 * in place. The mean is kept whatever shell 0's weight.
 */
export function weightByShell(image: Float64Array, width: number, height: number, weights: readonly number[], n: number): void {
  let mean = 0;
  for (const v of image) mean += v;
  mean /= image.length;
  const re = Float64Array.from(image, (v) => v - mean);
  const im = new Float64Array(width * height);
  fft2d(re, im, width, height);
  const last = weights.length - 1;
  for (let y = 0; y < height; y++) {
    const fy = (y <= height / 2 ? y : y - height) / height;
    for (let x = 0; x < width; x++) {
      const fx = (x <= width / 2 ? x : x - width) / width;
      const shell = Math.hypot(fx, fy) * n;
      const k = Math.min(last, Math.floor(shell));
      const t = k < last ? shell - k : 0;
      const w = weights[k] * (1 - t) + weights[Math.min(last, k + 1)] * t;
      re[y * width + x] *= w;
      im[y * width + x] *= w;
    }
  }
  fft2d(re, im, width, height, true);
  const scale = 1 / (width * height);
  for (let i = 0; i < image.length; i++) image[i] = re[i] * scale + mean;
}

/**
 * Weights the full stitch's amplitude by the half-set FRC of `halves` (in place, covered pixels only; phases and
 * holes unchanged). Returns undefined — and changes nothing — when the region's centre square is smaller than
 * MIN_FILTER_SIZE or a half covers no pixel.
 */
export function filterAmplitudeByHalves(
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number,
): AmplitudeFilterSummary | undefined {
  if (Math.min(width, height) < MIN_FILTER_SIZE) return undefined;
  const [a, b] = halves.map((h) => coveredAmplitude(h, width, height));
  if (!a.covered || !b.covered) return undefined;
  const curve = frc(a.amplitude, b.amplitude, width, height);
  const weights = wienerWeights(curve.curve);
  const { amplitude } = coveredAmplitude(full, width, height);
  weightByShell(amplitude, width, height, weights, curve.size);
  for (let i = 0; i < width * height; i++) {
    if (!(full.weight[i] > 0)) continue;
    const re = full.object[2 * i];
    const im = full.object[2 * i + 1];
    const old = Math.hypot(re, im);
    // A filtered amplitude ≤ 0 (ringing at a sharp edge) becomes a tiny one, so that the pixel keeps its phase.
    const next = Math.max(1e-6 * old, amplitude[i]);
    if (old > 0) {
      full.object[2 * i] = (re / old) * next;
      full.object[2 * i + 1] = (im / old) * next;
    } else {
      full.object[2 * i] = next;
      full.object[2 * i + 1] = 0;
    }
  }
  return {
    halfSetFrc50: curve.frc50Interpolated / curve.size,
    halfSetFrc1over7: curve.frc1over7 / curve.size,
    shellWeights: weights.map((w) => Math.round(w * 1e4) / 1e4),
    size: curve.size,
    halves: counts,
  };
}

/** "FRC50 x, FRC 1/7 y cycles/px" for a log line (a crossing at the last shell: the curve never fell below it). */
export function describeHalfSetFrc(filter: AmplitudeFilterSummary): string {
  const nyquist = Math.floor(filter.size / 2) / filter.size;
  const crossing = (f: number): string => (f >= nyquist - 1e-9 ? `above it up to ${nyquist.toFixed(3)}` : f.toFixed(3));
  return `FRC50 ${crossing(filter.halfSetFrc50)}, FRC 1/7 ${crossing(filter.halfSetFrc1over7)} cycles/px`;
}
