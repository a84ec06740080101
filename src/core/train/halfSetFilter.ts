// The stitched object, weighted by its own half-set Fourier ring correlation — no ground truth involved.
// The patches of a reconstruction are split into two interleaved halves (even and odd groups), each stitched on
// its own with the full stitch's phases and rotations. The FRC of the two half-stitches measures, per spatial
// frequency, how much of the image is reproduced by independent data. With FSC = 2·FRC / (1 + FRC), the full set's
// own correlation (the halves' FRC stepped up to twice the data), FSC = SNR / (1 + SNR) per shell, and each frequency
// of the full stitch is weighted by it: the Wiener filter, which minimises the expected squared error and maximises
// the expected correlation with the noise-free image. Detail the data support stays; detail two halves of the data do
// not agree on is damped (README items 24–25). Cryo-EM's C_ref = √FSC (Rosenthal & Henderson 2003), used first,
// damps less: it is the expected correlation itself, not the weight that optimises it.
// The amplitude and the phase are weighted apart, each by its own halves' FRC (the amplitude's noise is not the
// phase's). The phase is taken about each image's own mean phase gradient and global phase, so a constant offset or a
// ramp two halves do not share (an iterative run's halves) is not read as disagreement, and it is given back after;
// its weights are lifted where the halves under-read the full set's large scales (liftedWeights).
import { fft2d } from '../fft';
import { frc, type FrcResult } from '../metrics/frc';
import { removeMeanPhaseGradient, type StitchedCanvas } from './stitch';

/** A stitched canvas's values: interleaved complex, and the summed weights (0 = no patch reached the pixel). */
type StitchedImage = Pick<StitchedCanvas, 'object' | 'weight'>;

/** What a filter measured and did (metrics.json `amplitudeFilter`, `phaseFilter`). */
export interface HalfSetFilterSummary {
  /** The truth-free resolution of the part: the half-set FRC's 0.5 and 1/7 crossings, cycles per pixel. */
  halfSetFrc50: number;
  halfSetFrc1over7: number;
  /** The weight applied at each shell k of the centre n×n square (shell k ↔ k/n cycles/px): the Wiener weight 2·FRC/(1+FRC); the phase's lifted. */
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

/** Shells on each side of the running mean whose non-increasing envelope lifts the phase weights. */
export const LIFT_HALF_WIDTH = 2;

/**
 * The phase's weights lifted where the halves under-read the full set: each weight raised (never lowered) to the
 * non-increasing envelope of the (2·LIFT_HALF_WIDTH + 1)-shell running mean. A reconstruction's SNR falls with
 * frequency; a dip at low frequencies followed by agreement above it (an ePIE half's large-scale phase, worse
 * conditioned with half the overlaps) is the halving's, not the full set's, and the running mean keeps a single
 * noisy high shell from lifting everything below it.
 */
export function liftedWeights(weights: readonly number[], halfWidth = LIFT_HALF_WIDTH): number[] {
  const mean = weights.map((_, k) => {
    let sum = 0;
    let count = 0;
    for (let j = Math.max(0, k - halfWidth); j <= Math.min(weights.length - 1, k + halfWidth); j++) {
      sum += weights[j];
      count++;
    }
    return sum / count;
  });
  for (let k = mean.length - 2; k >= 0; k--) mean[k] = Math.max(mean[k], mean[k + 1]);
  return weights.map((w, k) => Math.max(w, mean[k]));
}

/** Sets the uncovered pixels of `values` to the covered ones' mean (so holes add no edges to the spectrum); returns how many are covered. */
function meanFilled(values: Float64Array, weight: ArrayLike<number>): number {
  let sum = 0;
  let covered = 0;
  for (let i = 0; i < values.length; i++) {
    if (weight[i] > 0) {
      sum += values[i];
      covered++;
    }
  }
  const mean = covered ? sum / covered : 0;
  for (let i = 0; i < values.length; i++) if (!(weight[i] > 0)) values[i] = mean;
  return covered;
}

/** |object| on covered pixels, their mean elsewhere. */
export function coveredAmplitude(image: StitchedImage, width: number, height: number): { amplitude: Float64Array; covered: number } {
  const amplitude = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) if (image.weight[i] > 0) amplitude[i] = Math.hypot(image.object[2 * i], image.object[2 * i + 1]);
  return { amplitude, covered: meanFilled(amplitude, image.weight) };
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

/** The FRC of the two halves' images of one part; undefined when the region is too small or a half covers nothing. */
function halfSetFrc(
  halves: readonly [StitchedImage, StitchedImage], width: number, height: number, part: (half: StitchedImage) => { image: Float64Array; covered: number },
): FrcResult | undefined {
  if (Math.min(width, height) < MIN_FILTER_SIZE) return undefined;
  const [a, b] = halves.map(part);
  if (!a.covered || !b.covered) return undefined;
  return frc(a.image, b.image, width, height);
}

/**
 * Weights the full stitch's amplitude by the half-set FRC of `halves` (in place, covered pixels only; phases and
 * holes unchanged). Returns undefined — and changes nothing — when the region's centre square is smaller than
 * MIN_FILTER_SIZE or a half covers no pixel.
 */
export function filterAmplitudeByHalves(
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number,
): HalfSetFilterSummary | undefined {
  const curve = halfSetFrc(halves, width, height, (h) => { const c = coveredAmplitude(h, width, height); return { image: c.amplitude, covered: c.covered }; });
  if (!curve) return undefined;
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
  return summaryOf(curve, weights, counts);
}

function summaryOf(curve: FrcResult, weights: readonly number[], counts: [number, number]): HalfSetFilterSummary {
  return {
    halfSetFrc50: curve.frc50Interpolated / curve.size,
    halfSetFrc1over7: curve.frc1over7 / curve.size,
    shellWeights: weights.map((w) => Math.round(w * 1e4) / 1e4),
    size: curve.size,
    halves: counts,
  };
}

/**
 * The image's phase with its mean phase gradient and its global phase removed, and what was removed — both read
 * from unit phasors, so that the frame (and the filtered phase) does not depend on the amplitude.
 */
function phaseFrame(image: StitchedImage, width: number, height: number): { phase: Float64Array; covered: number; gradient: [number, number]; offset: number } {
  const object = new Float32Array(image.object.length);
  for (let i = 0; i < width * height; i++) {
    const m = Math.hypot(image.object[2 * i], image.object[2 * i + 1]);
    if (m > 0) {
      object[2 * i] = image.object[2 * i] / m;
      object[2 * i + 1] = image.object[2 * i + 1] / m;
    }
  }
  const gradient = removeMeanPhaseGradient(object, image.weight, width);
  let re = 0;
  let im = 0;
  for (let i = 0; i < width * height; i++) {
    if (image.weight[i] > 0) {
      re += object[2 * i];
      im += object[2 * i + 1];
    }
  }
  const offset = re === 0 && im === 0 ? 0 : Math.atan2(im, re);
  const c = Math.cos(offset);
  const s = Math.sin(offset);
  const phase = new Float64Array(width * height);
  for (let i = 0; i < width * height; i++) {
    if (!(image.weight[i] > 0)) continue;
    const a = object[2 * i];
    const b = object[2 * i + 1];
    phase[i] = Math.atan2(b * c - a * s, a * c + b * s);
  }
  return { phase, covered: meanFilled(phase, image.weight), gradient, offset };
}

/**
 * Weights the full stitch's phase by the half-set FRC of the halves' phases (in place, covered pixels only;
 * amplitudes and holes unchanged), the Wiener weights lifted (liftedWeights): each image's mean phase gradient and
 * global phase are set aside first, and the full image's are given back. Returns undefined — and changes nothing —
 * as filterAmplitudeByHalves does.
 */
export function filterPhaseByHalves(
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number,
): HalfSetFilterSummary | undefined {
  const curve = halfSetFrc(halves, width, height, (h) => { const f = phaseFrame(h, width, height); return { image: f.phase, covered: f.covered }; });
  if (!curve) return undefined;
  const weights = liftedWeights(wienerWeights(curve.curve));
  const frame = phaseFrame(full, width, height);
  weightByShell(frame.phase, width, height, weights, curve.size);
  const [gu, gv] = frame.gradient;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      if (!(full.weight[i] > 0)) continue;
      const amplitude = Math.hypot(full.object[2 * i], full.object[2 * i + 1]);
      const phase = frame.phase[i] + frame.offset + gu * x + gv * y;
      full.object[2 * i] = amplitude * Math.cos(phase);
      full.object[2 * i + 1] = amplitude * Math.sin(phase);
    }
  }
  return summaryOf(curve, weights, counts);
}

/** The filters a run asked for, amplitude first (each leaves the other part as it is), and what each did. */
export function filterByHalves(
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number,
  parts: { amplitude?: boolean; phase?: boolean },
): { amplitudeFilter?: HalfSetFilterSummary; phaseFilter?: HalfSetFilterSummary } {
  const amplitudeFilter = parts.amplitude ? filterAmplitudeByHalves(full, halves, counts, width, height) : undefined;
  const phaseFilter = parts.phase ? filterPhaseByHalves(full, halves, counts, width, height) : undefined;
  return { ...(amplitudeFilter ? { amplitudeFilter } : {}), ...(phaseFilter ? { phaseFilter } : {}) };
}

/** "FRC50 x, FRC 1/7 y cycles/px" for a log line (a crossing at the last shell: the curve never fell below it). */
export function describeHalfSetFrc(filter: HalfSetFilterSummary): string {
  const nyquist = Math.floor(filter.size / 2) / filter.size;
  const crossing = (f: number): string => (f >= nyquist - 1e-9 ? `above it up to ${nyquist.toFixed(3)}` : f.toFixed(3));
  return `FRC50 ${crossing(filter.halfSetFrc50)}, FRC 1/7 ${crossing(filter.halfSetFrc1over7)} cycles/px`;
}

/**
 * The run log's lines for the half-set weightings: what each weighted part's half-set FRC said, or why a part that was
 * asked for is not weighted (`tooSmall`: what was too small). `made` says how the halves came about (the amplitude's
 * line; the phase uses the same halves).
 */
export function describeHalfSetWeightings(
  result: { amplitudeFilter?: HalfSetFilterSummary; phaseFilter?: HalfSetFilterSummary }, asked: { amplitude: boolean; phase: boolean },
  made: (halves: [number, number]) => string, tooSmall: string,
): string[] {
  const lines: string[] = [];
  if (result.amplitudeFilter) lines.push(`Amplitude weighted by its half-set FRC (${made(result.amplitudeFilter.halves)}): ${describeHalfSetFrc(result.amplitudeFilter)}.`);
  else if (asked.amplitude) lines.push(`Amplitude not filtered: ${tooSmall} for a half-set FRC.`);
  if (result.phaseFilter) lines.push(`Phase weighted by its half-set FRC (the same halves): ${describeHalfSetFrc(result.phaseFilter)}.`);
  else if (asked.phase) lines.push(`Phase not filtered: ${tooSmall} for a half-set FRC.`);
  return lines;
}
