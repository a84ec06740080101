// The stitched object, weighted by its own half-set Fourier ring correlation — no ground truth involved.
// The patches of a reconstruction are split into two interleaved halves (even and odd patterns), each stitched on
// its own with the full stitch's phases and rotations. Gridsize-2 groups share patterns, so there the patterns are
// split, each half grouped among its own and inferred apart; a gridsize-2 network gains more than twice the SNR from
// twice the data, so its "2" is measured (densityGain, from four quarters; README item 39). The FRC of the two half-stitches measures, per spatial
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
// The FRC is read as an estimate, not per shell (README item 38): the halves are seen through a soft mask, so that the
// edges of the coverage and of the centre square (shared by both halves) add no correlation at every frequency; the
// signed FRC is pooled over neighbouring shells, more of them the higher the shell, so that its scatter does not pass
// noise; and past the halves' resolution — the first shell after the highest weight where the pooled FRC is below 1/7
// (resolutionCutShell) — the weights roll off to 0 (cryo-EM's gold-standard cut), since a reproducible floor above
// it (the patches' shared systematic error) is not signal either.
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
  /** The weight applied at each shell k of the centre n×n square (shell k ↔ k/n cycles/px): the Wiener weight 2·FRC/(1+FRC) of the pooled FRC (gridsize 2: with densityGain for the 2) (the phase's lifted), rolled off past `resolutionCut`. */
  shellWeights: number[];
  /** Side n of the centre square the FRC ran on. */
  size: number;
  /** Where the weights start to roll off to 0 (cycles/px): the halves' resolution (resolutionCutShell); null when the pooled FRC never falls below 1/7. */
  resolutionCut: number | null;
  /** Patches in each half. */
  halves: [number, number];
  /**
   * Gridsize 2: how much a doubling of the data raised the SNR (densityGain, from four quarters of the patterns; the
   * Wiener weights use it in place of 2), and the quarters' group counts.
   */
  densityGain?: number;
  quarters?: number[];
}

/** Smallest side of the centre square on which a half-set FRC is attempted. */
export const MIN_FILTER_SIZE = 16;

/**
 * Whether a stitch of `groupSize`-pattern predictions takes its two half sets from the same predictions (its even
 * and odd patches). True for gridsize 1: one pattern per prediction, so the halves are independent. A gridsize-2
 * group shares patterns with its neighbours, so its halves need groups of their own, inferred apart (groups.ts
 * halfSetGroups). reconstruct() and the quality window both follow this rule.
 */
export function halvesFromSamePredictions(groupSize: number): boolean {
  return groupSize === 1;
}

/**
 * The Wiener weight per shell from a half-set FRC curve: a half's SNR is FRC/(1 − FRC), the full set's `gain` times
 * it, and the weight SNR/(1+SNR) — with the gain 2 of an average of two halves, FSC = 2·FRC/(1+FRC) (negative or NaN
 * correlations count as none).
 */
export function wienerWeights(curve: readonly number[], gain = 2): number[] {
  return curve.map((c) => {
    const f = Number.isFinite(c) ? Math.min(1, Math.max(0, c)) : 0;
    return (gain * f) / (1 - f + gain * f);
  });
}

/** Shells whose pooled quarter-set FRC is at least this measure the density gain (below it the SNRs' ratio is noise). */
export const DENSITY_GAIN_MIN_FRC = 0.2;

/** The density gain is held to [2, MAX_DENSITY_GAIN]: 2, an average's, at least; a ratio of small SNRs no further. */
export const MAX_DENSITY_GAIN = 16;

/**
 * How much the SNR rises when the data double, read from the halves' and the quarters' FRC (pooled): the median over
 * the shells past the mean where the quarters still agree (pooled FRC ≥ DENSITY_GAIN_MIN_FRC) of SNR_half / SNR_quarter,
 * with SNR = FRC/(1 − FRC); 2 when no shell qualifies. An average of independent predictions (gridsize 1's stitch)
 * gains 2; a gridsize-2 network, whose groups get closer and whose overlaps more constraining as the scan densifies,
 * gains more — on a held-out dose-1e5 study 5–7 — so the full set is more than twice as good as a half, and the halves'
 * 2·FRC/(1+FRC) would damp detail the full set holds (README item 39).
 */
export function densityGain(halfCurve: readonly number[], quarterCurve: readonly number[]): number {
  const half = pooledFrc(halfCurve);
  const quarter = pooledFrc(quarterCurve);
  const ratios: number[] = [];
  for (let k = 1; k < Math.min(half.length, quarter.length); k++) {
    const h = half[k];
    const q = quarter[k];
    if (!(q >= DENSITY_GAIN_MIN_FRC) || !(h < 1) || !(q < 1)) continue;
    ratios.push((h / (1 - h)) / (q / (1 - q)));
  }
  if (!ratios.length) return 2;
  ratios.sort((a, b) => a - b);
  const m = ratios.length >> 1;
  const median = ratios.length % 2 ? ratios[m] : (ratios[m - 1] + ratios[m]) / 2;
  return Math.min(MAX_DENSITY_GAIN, Math.max(2, median));
}

/** Shell k's FRC is read as the mean of the signed FRC over shells k ± floor(k / FRC_POOL_DIVISOR). */
export const FRC_POOL_DIVISOR = 4;

/**
 * The half-set FRC pooled over neighbouring shells: the mean of the signed values over k ± floor(k / FRC_POOL_DIVISOR)
 * (NaN counts as 0). A shell's FRC scatters by about 1/√(its coefficients) about its expectation, enough to give a
 * noise-only shell a Wiener weight of 0.2–0.4 (README item 38); the curve is smooth in k, and the higher the shell
 * the more neighbours share its expectation. The first shells, which hold the large scales, stay as measured.
 */
export function pooledFrc(curve: readonly number[]): number[] {
  return curve.map((_, k) => {
    const h = Math.floor(k / FRC_POOL_DIVISOR);
    let sum = 0;
    let count = 0;
    for (let j = Math.max(0, k - h); j <= Math.min(curve.length - 1, k + h); j++) {
      sum += Number.isFinite(curve[j]) ? curve[j] : 0;
      count++;
    }
    return sum / count;
  });
}

/** The halves' resolution criterion: the pooled FRC's first fall below 1/7 (cryo-EM's gold-standard threshold). */
export const FRC_CUT = 1 / 7;

/** The Wiener weight at FRC_CUT, 2·FRC/(1 + FRC) = 1/4: the cut read on the weights. */
export const WEIGHT_AT_CUT = (2 * FRC_CUT) / (1 + FRC_CUT);

/**
 * Where the weights roll off: the first shell past the highest weight (shell 0, the mean, aside) whose weight is below
 * WEIGHT_AT_CUT, i.e. whose pooled FRC is below FRC_CUT — past the highest, so that an image without large scales is
 * not cut below its detail, and read on the phase's lifted weights, so that a dip the lift reads as the halving's
 * does not cut either; undefined when no shell falls below. Shell 1 when no weight reaches the cut: the halves agree
 * nowhere and nothing but the mean is reproduced.
 */
export function resolutionCutShell(weights: readonly number[]): number | undefined {
  if (weights.length < 2) return undefined;
  let peak = 1;
  for (let k = 2; k < weights.length; k++) if (weights[k] > weights[peak]) peak = k;
  const reaches = (w: number): boolean => w >= WEIGHT_AT_CUT - 1e-12;
  if (!reaches(weights[peak])) return 1;
  for (let k = peak + 1; k < weights.length; k++) if (!reaches(weights[k])) return k;
  return undefined;
}

/**
 * `weights` rolled off to 0 from shell `cut` on: a raised cosine over max(2, cut/4) shells, 0 beyond (a new array).
 * Past the halves' resolution nothing two halves reproduce is read as signal: what is left there (about 0.05 of FRC on
 * a dose-1e3 smooth specimen, README item 38) is their shared systematic error.
 */
export function rolledOff(weights: readonly number[], cut: number | undefined): number[] {
  if (cut === undefined) return weights.slice();
  const width = Math.max(2, cut / 4);
  return weights.map((w, k) => {
    if (k < cut) return w;
    const u = (k - cut) / width;
    return u >= 1 ? 0 : w * Math.cos((Math.PI / 2) * u) ** 2;
  });
}

/** The weights a part gets from its half-set FRC: pooled, Wiener (with the density gain), lifted (the phase), rolled off past the resolution. */
function filterWeights(curve: readonly number[], lift: boolean, gain = 2): { weights: number[]; cut: number | undefined } {
  const wiener = wienerWeights(pooledFrc(curve), gain);
  const weights = lift ? liftedWeights(wiener) : wiener;
  const cut = resolutionCutShell(weights);
  return { weights: rolledOff(weights, cut), cut };
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
  const mask = frcMask(halves[0].weight, halves[1].weight, width, height);
  return frc(throughMask(a.image, mask), throughMask(b.image, mask), width, height);
}

/** Widest edge (px) of the soft mask the halves' FRC looks through; at most an eighth of the centre square's side. */
export const FRC_MASK_EDGE = 16;

/**
 * The soft mask the halves are compared through: 1 where both halves cover a pixel of the centre square (the FRC's)
 * at least an edge's width inside, falling as sin² to 0 at the border of that set. With a hard border the step of a
 * smooth image at it (a hole, the square's cut through the object) holds power at every frequency, the same in both
 * halves, and reads as agreement up to Nyquist.
 */
export function frcMask(weightA: ArrayLike<number>, weightB: ArrayLike<number>, width: number, height: number): Float64Array {
  const n = Math.min(width, height);
  const x0 = (width - n) >> 1;
  const y0 = (height - n) >> 1;
  let mask: Float64Array = new Float64Array(width * height);
  for (let y = y0; y < y0 + n; y++) {
    for (let x = x0; x < x0 + n; x++) {
      const i = y * width + x;
      if (weightA[i] > 0 && weightB[i] > 0) mask[i] = 1;
    }
  }
  // Two box blurs of radius edge/2: a pixel an edge or more inside the set stays 1, one on its border ~0.5 → 0.
  const radius = Math.max(1, Math.round(Math.min(FRC_MASK_EDGE, n / 8) / 2));
  for (let pass = 0; pass < 2; pass++) mask = boxBlur(mask, width, height, radius);
  return mask.map((v) => Math.sin((Math.PI / 2) * Math.min(1, Math.max(0, 2 * v - 1))) ** 2);
}

/** (image − its mask-weighted mean) × mask: no step at the mask's border, and the mean's own no leak through it. */
export function throughMask(image: Float64Array, mask: Float64Array): Float64Array {
  let sum = 0;
  let total = 0;
  for (let i = 0; i < image.length; i++) {
    sum += image[i] * mask[i];
    total += mask[i];
  }
  const mean = total > 0 ? sum / total : 0;
  return image.map((v, i) => (v - mean) * mask[i]);
}

/**
 * Mean over a (2r+1)² box, what lies past the image's border counting as 0 (a new array): the FRC's square is
 * periodic, so the border of the image is an edge of the mask like any other.
 */
function boxBlur(image: Float64Array, width: number, height: number, r: number): Float64Array {
  const area = 2 * r + 1;
  const rows = new Float64Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let j = Math.max(0, x - r); j <= Math.min(width - 1, x + r); j++) sum += image[y * width + j];
      rows[y * width + x] = sum / area;
    }
  }
  const out = new Float64Array(image.length);
  for (let y = 0; y < height; y++) {
    const lo = Math.max(0, y - r);
    const hi = Math.min(height - 1, y + r);
    for (let x = 0; x < width; x++) {
      let sum = 0;
      for (let j = lo; j <= hi; j++) sum += rows[j * width + x];
      out[y * width + x] = sum / area;
    }
  }
  return out;
}

/**
 * Weights the full stitch's amplitude by the half-set FRC of `halves` (in place, covered pixels only; phases and
 * holes unchanged). Returns undefined — and changes nothing — when the region's centre square is smaller than
 * MIN_FILTER_SIZE or a half covers no pixel.
 */
export function filterAmplitudeByHalves(
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number, quarters?: QuarterSets,
): HalfSetFilterSummary | undefined {
  const part = (h: StitchedImage): { image: Float64Array; covered: number } => { const c = coveredAmplitude(h, width, height); return { image: c.amplitude, covered: c.covered }; };
  const curve = halfSetFrc(halves, width, height, part);
  if (!curve) return undefined;
  const gain = quarters ? quarterGain(curve, quarters, width, height, part) : undefined;
  const { weights, cut } = filterWeights(curve.curve, false, gain?.gain);
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
  return summaryOf(curve, weights, cut, counts, gain);
}

/** Four quarters of the data stitched apart (gridsize 2), the halves' halves: quarters 0 and 2 make half 0. */
export interface QuarterSets {
  images: readonly StitchedImage[];
  counts: number[];
}

/** The density gain of one part from its halves' FRC curve and the quarters' (the mean of the FRC over all six pairs). */
function quarterGain(
  half: FrcResult, quarters: QuarterSets, width: number, height: number, part: (image: StitchedImage) => { image: Float64Array; covered: number },
): { gain: number; counts: number[] } | undefined {
  const curves: number[][] = [];
  for (let a = 0; a < quarters.images.length; a++) {
    for (let b = a + 1; b < quarters.images.length; b++) {
      const c = halfSetFrc([quarters.images[a], quarters.images[b]], width, height, part);
      if (c && c.size === half.size) curves.push(c.curve);
    }
  }
  if (!curves.length) return undefined;
  const mean = half.curve.map((_, k) => curves.reduce((sum, c) => sum + (Number.isFinite(c[k]) ? c[k] : 0), 0) / curves.length);
  return { gain: densityGain(half.curve, mean), counts: quarters.counts };
}

function summaryOf(curve: FrcResult, weights: readonly number[], cut: number | undefined, counts: [number, number], gain?: { gain: number; counts: number[] }): HalfSetFilterSummary {
  return {
    halfSetFrc50: curve.frc50Interpolated / curve.size,
    halfSetFrc1over7: curve.frc1over7 / curve.size,
    shellWeights: weights.map((w) => Math.round(w * 1e4) / 1e4),
    size: curve.size,
    resolutionCut: cut === undefined ? null : cut / curve.size,
    halves: counts,
    ...(gain ? { densityGain: Math.round(gain.gain * 1e3) / 1e3, quarters: gain.counts } : {}),
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
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number, quarters?: QuarterSets,
): HalfSetFilterSummary | undefined {
  const part = (h: StitchedImage): { image: Float64Array; covered: number } => { const f = phaseFrame(h, width, height); return { image: f.phase, covered: f.covered }; };
  const curve = halfSetFrc(halves, width, height, part);
  if (!curve) return undefined;
  const gain = quarters ? quarterGain(curve, quarters, width, height, part) : undefined;
  const { weights, cut } = filterWeights(curve.curve, true, gain?.gain);
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
  return summaryOf(curve, weights, cut, counts, gain);
}

/** The filters a run asked for, amplitude first (each leaves the other part as it is), and what each did. */
export function filterByHalves(
  full: StitchedImage, halves: readonly [StitchedImage, StitchedImage], counts: [number, number], width: number, height: number,
  parts: { amplitude?: boolean; phase?: boolean }, quarters?: QuarterSets,
): { amplitudeFilter?: HalfSetFilterSummary; phaseFilter?: HalfSetFilterSummary } {
  const amplitudeFilter = parts.amplitude ? filterAmplitudeByHalves(full, halves, counts, width, height, quarters) : undefined;
  const phaseFilter = parts.phase ? filterPhaseByHalves(full, halves, counts, width, height, quarters) : undefined;
  return { ...(amplitudeFilter ? { amplitudeFilter } : {}), ...(phaseFilter ? { phaseFilter } : {}) };
}

/** "FRC50 x, FRC 1/7 y cycles/px[; weights rolled off …]" for a log line (a crossing at the last shell: the curve never fell below it). */
export function describeHalfSetFrc(filter: HalfSetFilterSummary): string {
  const nyquist = Math.floor(filter.size / 2) / filter.size;
  const crossing = (f: number): string => (f >= nyquist - 1e-9 ? `above it up to ${nyquist.toFixed(3)}` : f.toFixed(3));
  const cut = filter.resolutionCut === null || filter.resolutionCut === undefined ? '' : `; weights rolled off to 0 from ${filter.resolutionCut.toFixed(3)} cycles/px (the pooled FRC's fall below 1/7)`;
  const gain = filter.densityGain === undefined ? '' : `; twice the data raise the SNR ×${filter.densityGain.toFixed(2)} (four quarters of ${filter.quarters?.join(' + ')} groups)`;
  return `FRC50 ${crossing(filter.halfSetFrc50)}, FRC 1/7 ${crossing(filter.halfSetFrc1over7)} cycles/px${cut}${gain}`;
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
