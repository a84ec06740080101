// Full-object stitching (PtychoPINN's reassemble_position, domain.md §11): the central M×M crop of each
// predicted patch is translated to its position (bilinear) and summed; the sum is divided by the summed
// weights. Streams: patches are added batch by batch, so memory is the canvas, not the patch stack (aligned
// stitching keeps each patch's central window until all are known: count·S² pairs of floats).
import { probeCentroidShare, probeIntensity, probePhaseGradient, relativeIntensity } from '../model/physics';
import { addPlanes, centroidMisfit, type CentroidRefinement, type CentroidRefinementSummary, type PatchPatterns } from './centroids';
import type { StitchBlend } from '../study/config';
import { synchronizePhases, type SyncResult } from './phaseSync';

export interface StitchRegion {
  /** Object-pixel coordinates of canvas pixel (0, 0). */
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** A stitched object on its region: interleaved complex values and the summed stitching weight of each pixel. */
export interface StitchedCanvas {
  region: StitchRegion;
  object: Float32Array;
  weight: Float32Array;
}

/** The canvas covering every group centre ± M/2 (integer-aligned with the object's pixel grid). */
export function stitchRegion(centers: Float64Array, cropSize: number): StitchRegion {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < centers.length; i += 2) {
    minX = Math.min(minX, centers[i]);
    maxX = Math.max(maxX, centers[i]);
    minY = Math.min(minY, centers[i + 1]);
    maxY = Math.max(maxY, centers[i + 1]);
  }
  if (!Number.isFinite(minX)) throw new Error('stitching needs at least one position');
  const half = cropSize / 2;
  const x0 = Math.floor(minX - half);
  const y0 = Math.floor(minY - half);
  return { x0, y0, width: Math.ceil(maxX + half) - x0 + 1, height: Math.ceil(maxY + half) - y0 + 1 };
}

/**
 * Hole filling: besides its central M×M crop, each patch adds the rest of its central `size`×`size` window with a
 * weight of `weight` per pixel — only where it predicts something (amplitude ≠ 0: the network's support, N/2 for a
 * pattern, the union of the four supports for a gridsize-2 group) — so that a pixel no crop reaches, a hole of a
 * random scan scored as zero amplitude, takes the nearest patches' prediction, while wherever a crop reaches, crops
 * decide (a ring adds at most a few × 1e-3 of the weight). Coverage (weight ≥ COVERED_WEIGHT) is unchanged.
 */
export interface StitchFill {
  size: number;
  weight: number;
}

/** The ring's weight relative to a crop pixel's 1. */
export const STITCH_FILL_WEIGHT = 1e-3;

/** A ring pixel whose amplitude is below this is outside the prediction's support (a predicted amplitude is ~0.1–1). */
export const SUPPORT_EPSILON = 1e-6;

/** The fill window of N-pixel patches: all of it (what lies outside the prediction's support is skipped). */
export const stitchFillFor = (n: number, cropSize: number): StitchFill => ({ size: Math.max(cropSize, n), weight: STITCH_FILL_WEIGHT });

/** A blend as the stitcher runs it: StitchBlend with 'auto' resolved (resolveStitchBlend). */
export type ResolvedStitchBlend = Exclude<StitchBlend, 'auto'>;

/**
 * The blend `blend` resolves to for patches of `groupSize` patterns predicted on `support` (resolveObjectSupport's): 'auto' is the probe's
 * weights for a gridsize-2 model on the full support (README item 29), the taper for one on the central N/2 (item 23),
 * hard crops for gridsize 1.
 */
export function resolveStitchBlend(blend: StitchBlend | undefined, groupSize: number, support: 'centre' | 'full' = 'centre'): ResolvedStitchBlend {
  if (blend === 'auto') return groupSize > 1 ? (support === 'full' ? 'probe' : 'taper') : 'crop';
  return blend ?? 'crop';
}

/** The taper window's width L in pixels of N-pixel patches blended by `blend` (0: none): N/2, the network's central support. */
export function stitchTaperWidth(blend: ResolvedStitchBlend, n: number): number {
  return blend === 'taper' ? n / 2 : 0;
}

/**
 * The probe blend's weights (README item 29): each patch pixel counts by how much light its patterns' probes put on
 * it, Σ_k |P(x − r_k)|² / max|P|² (pattern k at offset r_k from the patch centre, rounded to pixels), as an iterative
 * engine's object update weights the exit waves. A prediction on the full N × N support is trusted where its data
 * saw the object and fades where they barely did — hard crops throw away most of what such a patch knows about its
 * patterns' slopes, which its centroids then miss (0.218 detector px against 0.115 blended so, on item 26's model).
 */
export interface ProbeBlend {
  /** |P|² / max|P|², N×N row-major. */
  intensity: Float64Array;
}

/** The probe blend of a dataset's probe (interleaved complex, N×N). */
export function probeBlendFor(probe: ArrayLike<number>, n: number): ProbeBlend {
  return { intensity: relativeIntensity(probeIntensity(n * n, (k) => probe[2 * k], (k) => probe[2 * k + 1])) };
}

/** The probe blend's weight of each pixel of the central `side`×`side` of an N-pixel patch whose patterns sit at `offsets` (2 per pattern; none: one pattern at the centre). */
function probeWeights(blend: ProbeBlend, n: number, side: number, offsets: ArrayLike<number> | undefined): Float64Array {
  const out = new Float64Array(side * side);
  const start = n / 2 - Math.floor(side / 2);
  const count = offsets ? offsets.length / 2 : 1;
  for (let k = 0; k < count; k++) {
    const ox = offsets ? Math.round(offsets[2 * k]) : 0;
    const oy = offsets ? Math.round(offsets[2 * k + 1]) : 0;
    for (let i = 0; i < side; i++) {
      const pi = start + i - oy;
      if (pi < 0 || pi >= n) continue;
      for (let j = 0; j < side; j++) {
        const pj = start + j - ox;
        if (pj >= 0 && pj < n) out[i * side + j] += blend.intensity[pi * n + pj];
      }
    }
  }
  return out;
}

/** The per-axis taper cos²(π·d/L) over a window of `side` pixels, d = i − ⌊side/2⌋ (0 where |d| ≥ L/2). */
function taperProfile(side: number, width: number): Float64Array {
  const t = new Float64Array(side);
  for (let i = 0; i < side; i++) {
    const d = i - Math.floor(side / 2);
    t[i] = Math.abs(d) < width / 2 ? Math.cos((Math.PI * d) / width) ** 2 : 0;
  }
  return t;
}

/** What a stitch returns: the object (interleaved complex64), the per-pixel weight and, for AlignedStitch, what it did. */
export interface StitchResult {
  object: Float32Array;
  weight: Float32Array;
  sync?: SyncResult;
  crosstalk?: CrosstalkSummary;
  centroidRefinement?: CentroidRefinementSummary;
  /** The mean phase gradient removed (rad/px, x then y). */
  rampRemoved?: [number, number];
  /**
   * With StitchChoices.halfSets: the even and the odd patches stitched apart (same phases, rotations and removed
   * phase ramp as the full stitch), and how many each holds, for the half-set FRC (halfSetFilter.ts).
   */
  halves?: { images: [StitchResult, StitchResult]; counts: [number, number] };
}

export class Stitcher {
  readonly re: Float64Array;
  readonly im: Float64Array;
  /** Coverage: the summed crop weights (1 per crop pixel, the fill's ring weight outside). */
  readonly weight: Float64Array;
  /** What the values are normalised by: the coverage, or the taper's weights with `taper`. */
  private readonly blend: Float64Array;

  /**
   * Position-weighted averaging of the central M×M crops (phase alignment: AlignedStitch); `fill`: StitchFill;
   * `taper`: the width L of StitchBlend's cos² window (0: the crops' hard edges); `probe`: ProbeBlend's weights
   * instead (with `fill`, over the whole patch). The coverage stays the crops' whatever the blend, so 'covered'
   * means the same pixels either way, and without `fill` the holes stay holes.
   */
  constructor(readonly region: StitchRegion, readonly n: number, readonly cropSize: number, readonly fill?: StitchFill, readonly taper = 0, readonly probe?: ProbeBlend) {
    if (!(cropSize >= 1 && cropSize <= n)) throw new Error(`stitch crop size must be in [1, N=${n}] (got ${cropSize})`);
    if (fill && !(fill.size >= cropSize && fill.size <= n && fill.weight > 0 && fill.weight < 1)) throw new Error(`stitch fill window ${fill.size} must be in [M=${cropSize}, N=${n}] with a weight in (0, 1)`);
    if (!(taper === 0 || (taper >= 2 && taper <= n))) throw new Error(`stitch taper width must be 0 or in [2, N=${n}] (got ${taper})`);
    if (taper && probe) throw new Error('a stitch blends with the taper or with the probe, not both');
    if (probe && probe.intensity.length !== n * n) throw new Error(`the probe blend needs an N×N probe (N=${n}; got ${probe.intensity.length} values)`);
    const size = region.width * region.height;
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
    this.weight = new Float64Array(size);
    this.blend = taper || probe ? new Float64Array(size) : this.weight;
  }

  /**
   * Adds one predicted patch (amplitude and phase, row-major, `side`×`side` starting at `at`; side N for the
   * network's output, smaller for a buffered central window) centred at object coordinate (cx, cy), its phase
   * turned by `rotation`: crop pixel k ↔ object coordinate c + (k − M/2), patch pixel side/2 ↔ c. `offsets`: its
   * patterns' positions relative to c (2 per pattern), for the probe blend (absent: one pattern at c).
   */
  add(amplitude: ArrayLike<number>, phase: ArrayLike<number>, cx: number, cy: number, at = 0, rotation = 0, side = this.n, offsets?: ArrayLike<number>): void {
    const { cropSize: m, region } = this;
    if (side < m) throw new Error(`a ${side}×${side} patch has no ${m}×${m} crop`);
    const { width: W, height: H } = region;
    // The window added: the crop, or the fill window (as much of it as the patch holds) with the crop inside it;
    // with a taper and hole filling, at least the taper's width; with the probe blend and hole filling, all of it.
    let s = this.fill ? Math.max(m, Math.min(this.fill.size, side)) : m;
    if (this.taper && this.fill) s = Math.max(s, Math.min(this.taper, side));
    if (this.probe && this.fill) s = side;
    const ring = this.fill ? this.fill.weight : 0;
    const profile = this.taper ? taperProfile(s, this.taper) : undefined;
    // The probe's weights over the window (the window is the central s of the patch's N, as the taper's is).
    const lit = this.probe ? probeWeights(this.probe, this.n, s, offsets) : undefined;
    const start = side / 2 - Math.floor(s / 2);
    const c0 = Math.floor(s / 2) - Math.floor(m / 2); // the crop's first row/column inside the window
    const qx = cx - region.x0 - Math.floor(s / 2);
    const qy = cy - region.y0 - Math.floor(s / 2);
    const ix = Math.floor(qx);
    const iy = Math.floor(qy);
    const fx = qx - ix;
    const fy = qy - iy;
    const w = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx];
    const dxs = [0, 1, 0, 1];
    const dys = [0, 0, 1, 1];
    for (let i = 0; i < s; i++) {
      const rowIn = i >= c0 && i < c0 + m;
      for (let j = 0; j < s; j++) {
        const inCrop = rowIn && j >= c0 && j < c0 + m;
        const cover = inCrop ? 1 : ring;
        // The taper's or the probe's weight, floored at the ring's so that every crop pixel and fill pixel still counts.
        const shaped = profile ? profile[i] * profile[j] : lit ? lit[i * s + j] : undefined;
        const blend = shaped !== undefined ? Math.max(shaped, inCrop ? STITCH_FILL_WEIGHT : ring) : cover;
        if (blend === 0) continue;
        const k = at + (start + i) * side + start + j;
        const a = amplitude[k];
        // Outside the prediction's support (0, or ~1e-9 where a graph with baked-in weights rounds it).
        if (!inCrop && a < SUPPORT_EPSILON) continue;
        const p = phase[k] + rotation;
        const vr = a * Math.cos(p);
        const vi = a * Math.sin(p);
        for (let t = 0; t < 4; t++) {
          if (w[t] === 0) continue;
          const y = iy + i + dys[t];
          const x = ix + j + dxs[t];
          if (x < 0 || y < 0 || x >= W || y >= H) continue;
          const q = y * W + x;
          const wt = w[t] * blend;
          this.re[q] += wt * vr;
          this.im[q] += wt * vi;
          if (profile || lit) this.weight[q] += w[t] * cover;
          this.blend[q] += wt;
        }
      }
    }
  }

  /** The stitched object (interleaved complex64) and the per-pixel weight (coverage). */
  result(): StitchResult {
    const size = this.weight.length;
    const object = new Float32Array(2 * size);
    const weight = new Float32Array(size);
    for (let q = 0; q < size; q++) {
      const d = this.blend[q] + 1e-9;
      object[2 * q] = this.re[q] / d;
      object[2 * q + 1] = this.im[q] / d;
      weight[q] = this.weight[q];
    }
    return { object, weight };
  }
}

/**
 * Phase-aligned stitching: the central `side`×`side` window of every patch is kept (side ≥ M; the network's
 * N/2 support gives pairs far more overlap than the M×M crops), the patches' constant phases are synchronised
 * over all overlapping pairs (phaseSync.ts), and the crops are stitched with those rotations.
 */
export class AlignedStitch {
  private readonly amplitude: Float32Array;
  private readonly phase: Float32Array;
  private readonly centers: Float64Array;
  private added = 0;

  readonly side: number;
  /** The window kept per patch: `side`, or more for hole filling (the sync still looks at the central `side`). */
  readonly keep: number;
  private readonly anchor: number | undefined;
  private readonly fill: StitchFill | undefined;
  private readonly taper: number;
  private readonly probe: ProbeBlend | undefined;
  private readonly crosstalk: CrosstalkCorrection | undefined;
  private readonly centroids: CentroidRefinement | undefined;
  private readonly halves: boolean;
  private readonly patterns: (PatchPatterns | undefined)[] = [];
  /** Each patch's patterns' offsets, for the probe blend. */
  private readonly offsets: (Float64Array | undefined)[] = [];

  /**
   * `side`: the window (default alignmentWindow); `anchor`: see PHASE_ANCHOR (0 = pure synchronisation);
   * `crosstalk`: re-explain each pattern's phase slope with the stitched amplitude first (gridsize 1 only);
   * `centroids`: one centroid-consistency step at the end (centroids.ts), for the patches added with their patterns;
   * `taper`: the blend's window width (Stitcher), for the reported stitch and the crosstalk correction's (the
   * centroid step is judged on the crops' stitch); `probe`: the probe blend instead (Stitcher; the centroid step is
   * judged on it, and every patch keeps all of N); `halves`: also stitch the even and the odd patches apart with the
   * final phases and rotations (StitchResult.halves).
   */
  constructor(readonly region: StitchRegion, readonly n: number, readonly cropSize: number, readonly count: number, options: { side?: number; anchor?: number; fill?: StitchFill; taper?: number; probe?: ProbeBlend; crosstalk?: CrosstalkCorrection; centroids?: CentroidRefinement; halves?: boolean } = {}) {
    const side = options.side ?? alignmentWindow(n, cropSize, count);
    this.side = side;
    this.anchor = options.anchor;
    this.fill = options.fill;
    this.taper = options.taper ?? 0;
    this.probe = options.probe;
    this.crosstalk = options.crosstalk;
    this.centroids = options.centroids;
    this.halves = options.halves ?? false;
    if (side < cropSize || side > n || side % 2 !== 0) throw new Error(`alignment window ${side} must be even and in [M=${cropSize}, N=${n}]`);
    // The centroid step predicts each pattern's whole N×N window and the probe blend weights all of it: both keep
    // all of N where memory allows.
    let keep = Math.min(n, Math.max(side, options.fill?.size ?? 0, this.taper, options.crosstalk ? n / 2 : 0, options.centroids || options.probe ? n : 0));
    keep -= keep % 2;
    while (keep > side && 8 * count * keep * keep > ALIGNMENT_MEMORY_BYTES) keep -= 2;
    this.keep = Math.max(keep, side);
    this.amplitude = new Float32Array(count * this.keep * this.keep);
    this.phase = new Float32Array(count * this.keep * this.keep);
    this.centers = new Float64Array(2 * count);
  }

  /** `patterns`: the patch's patterns, their measured centroids and their variances, for the centroid-consistency step. */
  add(amplitude: ArrayLike<number>, phase: ArrayLike<number>, cx: number, cy: number, at = 0, patterns?: PatchPatterns): void {
    if (this.added >= this.count) throw new Error(`aligned stitching was sized for ${this.count} patches`);
    this.patterns.push(patterns && this.centroids
      ? { offsets: Float64Array.from(patterns.offsets), centroids: Float64Array.from(patterns.centroids), ...(patterns.variances ? { variances: Float64Array.from(patterns.variances) } : {}) }
      : undefined);
    this.offsets.push(patterns && this.probe ? Float64Array.from(patterns.offsets) : undefined);
    const { n, keep } = this;
    const start = n / 2 - keep / 2;
    const base = this.added * keep * keep;
    for (let i = 0; i < keep; i++) {
      for (let j = 0; j < keep; j++) {
        const k = at + (start + i) * n + start + j;
        this.amplitude[base + i * keep + j] = amplitude[k];
        this.phase[base + i * keep + j] = phase[k];
      }
    }
    this.centers[2 * this.added] = cx;
    this.centers[2 * this.added + 1] = cy;
    this.added++;
  }

  /** The central `side`×`side` window of every patch as complex values, with `phase` (count·keep² values). */
  private windows(phase: Float32Array): { re: Float32Array; im: Float32Array } {
    const { side, keep } = this;
    const count = this.added;
    const area = side * side;
    const re = new Float32Array(count * area);
    const im = new Float32Array(count * area);
    const off = (keep - side) / 2;
    for (let g = 0; g < count; g++) {
      for (let i = 0; i < side; i++) {
        for (let j = 0; j < side; j++) {
          const k = g * keep * keep + (off + i) * keep + off + j;
          const q = g * area + i * side + j;
          re[q] = this.amplitude[k] * Math.cos(phase[k]);
          im[q] = this.amplitude[k] * Math.sin(phase[k]);
        }
      }
    }
    return { re, im };
  }

  /** `parity`: only the even (0) or the odd (1) patches; `taper` 0 without the probe: the crops' hard edges. */
  private stitch(region: StitchRegion, phase: Float32Array, rotations: Float64Array, fill = this.fill, taper = this.taper, parity?: 0 | 1): StitchResult {
    const stitcher = new Stitcher(region, this.n, this.cropSize, fill, taper, this.probe);
    for (let g = parity ?? 0; g < this.added; g += parity === undefined ? 1 : 2) {
      stitcher.add(this.amplitude, phase, this.centers[2 * g], this.centers[2 * g + 1], g * this.keep * this.keep, rotations[g], this.keep, this.offsets[g]);
    }
    return stitcher.result();
  }

  result(): StitchResult & { sync: SyncResult; rampRemoved: [number, number] } {
    const { side, n } = this;
    const count = this.added;
    const centers = this.centers.subarray(0, 2 * count);
    let sync = synchronizePhases({ side, ...this.windows(this.phase), centers }, { anchor: this.anchor });
    let phase = this.phase;
    let anchor = this.anchor;
    let crosstalk: CrosstalkSummary | undefined;
    // Patterns at the edge of the region see their whole window on a canvas N/2 wider.
    const margin = n / 2;
    const wide: StitchRegion = { x0: this.region.x0 - margin, y0: this.region.y0 - margin, width: this.region.width + 2 * margin, height: this.region.height + 2 * margin };
    if (this.crosstalk && this.keep >= n / 2) {
      // Re-explain each pattern's slope with the synchronised stitch's amplitude, then synchronise again, without the anchor.
      const first = this.stitch(wide, phase, sync.rotations);
      const corrected = crosstalkCorrectedPhases(
        { amplitude: this.amplitude, phase, keep: this.keep, centers, n },
        { region: wide, object: first.object, weight: first.weight }, this.crosstalk.probe,
      );
      phase = corrected.phase;
      anchor = CROSSTALK_SYNC_ANCHOR;
      sync = synchronizePhases({ side, ...this.windows(phase), centers }, { anchor });
      crosstalk = corrected.summary;
    }
    let centroidRefinement: CentroidRefinementSummary | undefined;
    if (this.centroids && this.patterns.some((p) => p)) {
      const probe = this.centroids.probe;
      // The object the centroids are predicted from has no holes, whatever the reported stitch keeps (--keep-holes).
      const predictFrom = this.fill ?? { size: this.keep, weight: STITCH_FILL_WEIGHT };
      // Judged on the crops' stitch with the taper: the guard was measured there, and a taper, averaging more
      // neighbours, lets steps through that hurt (the quick dense model: delivered 0.38 → 0.58, phase SSIM 0.698 → 0.618).
      // With the probe blend, on the probe's stitch: crops of full-support patches miss their patterns' centroids
      // (README item 29).
      const before = centroidMisfit({ region: wide, ...this.stitch(wide, phase, sync.rotations, predictFrom, 0) }, probe, n, centers, this.patterns);
      const stepped = addPlanes(phase, this.keep, n, before.perPatch);
      const resync = synchronizePhases({ side, ...this.windows(stepped), centers }, { anchor });
      const after = centroidMisfit({ region: wide, ...this.stitch(wide, stepped, resync.rotations, predictFrom, 0) }, probe, n, centers, this.patterns);
      // Had the re-stitched object taken every plane the signal asks for, the misfit would fall from m₀² by
      // asked² − noise²: the planes' share of the centroids' Poisson noise (per patch, the mean of its patterns'
      // noise) is no object's to take — an object consistent across overlapping patches averages it away. That
      // holds while the predictions are independent of the noise; a misfit under the noise floor says they are not.
      const askedNoise = before.rms > before.noiseFloor ? before.askedNoise : 0;
      const signal = before.asked ** 2 - askedNoise ** 2;
      const delivered = signal > 0 ? (before.rms ** 2 - after.rms ** 2) / signal : 0;
      const accepted = after.rms < before.rms && delivered >= CENTROID_STEP_MIN_DELIVERED;
      let sq = 0;
      for (const v of before.perPatch) sq += v * v;
      centroidRefinement = {
        patterns: before.patterns, misfitBefore: before.rms, misfitAfter: after.rms, asked: before.asked, noiseFloor: before.noiseFloor, askedNoise, delivered,
        rmsStep: accepted && count ? Math.sqrt(sq / (2 * count)) : 0, accepted,
      };
      if (accepted) { phase = stepped; sync = resync; }
    }
    const final = this.stitch(this.region, phase, sync.rotations);
    const rampRemoved = removeMeanPhaseGradient(final.object, final.weight, this.region.width);
    const halves: StitchResult['halves'] = this.halves
      ? { images: [0, 1].map((parity) => this.stitch(this.region, phase, sync.rotations, this.fill, this.taper, parity as 0 | 1)) as [StitchResult, StitchResult], counts: [Math.ceil(count / 2), Math.floor(count / 2)] }
      : undefined;
    // The halves lose the full stitch's ramp too, so that what they share is what it has.
    for (const half of halves?.images ?? []) rotateByPlane(half.object, this.region.width, rampRemoved);
    return {
      ...final, ...(halves ? { halves } : {}), sync, ...(crosstalk ? { crosstalk } : {}), ...(centroidRefinement ? { centroidRefinement } : {}),
      rampRemoved,
    };
  }
}

/** The run's stitching settings (training.stitchPhaseAlignment, stitchFillHoles, stitchCrosstalkCorrection, …). */
export interface StitchChoices {
  /** Synchronise the patches' constant phases over all overlapping pairs (AlignedStitch) instead of plain averaging. */
  alignPhase?: boolean;
  /** Fill the holes between crops from the rest of each patch's N/2 support (StitchFill). */
  fillHoles?: boolean;
  /**
   * With alignPhase, gridsize 1: re-explain each pattern's phase slope with the stitched amplitude before the
   * final synchronisation (crosstalkCorrectedPhases; the probe is the dataset's).
   */
  crosstalkCorrection?: boolean;
  /** With alignPhase: one centroid-consistency step (centroids.ts) for the patches added with their patterns. */
  centroidRefinement?: boolean;
  /** How patches are blended (absent: 'crop'); a run's setting resolves to it once (resolveStitchBlend, runStitchBlend). */
  blend?: ResolvedStitchBlend;
  /** Also stitch the even and the odd patches apart (StitchResult.halves), for the half-set filters. */
  halfSets?: boolean;
}

/** What stitcherFor hands out: predictions in, one stitched object out. */
export interface PredictionStitcher {
  add(amplitude: ArrayLike<number>, phase: ArrayLike<number>, cx: number, cy: number, at?: number, patterns?: PatchPatterns): void;
  result(): StitchResult;
}

/**
 * The stitcher those settings ask for, for `count` patches of N-pixel predictions: plain or phase-aligned, with hole
 * filling, and with the crosstalk correction for gridsize 1 (`groupSize` 1; `probe` the dataset's, interleaved). The
 * probe blend and the centroid step need each patch added with its patterns (PredictionStitcher.add).
 * The final reconstruction and the per-epoch quality window both stitch through it.
 */
export function stitcherFor(
  region: StitchRegion, n: number, cropSize: number, count: number, choices: StitchChoices, probe: ArrayLike<number>, groupSize: number,
): PredictionStitcher {
  const fill = choices.fillHoles ? stitchFillFor(n, cropSize) : undefined;
  const blend = choices.blend ?? 'crop';
  const taper = stitchTaperWidth(blend, n);
  const probeBlend = blend === 'probe' ? probeBlendFor(probe, n) : undefined;
  if (!choices.alignPhase) {
    const make = (): Stitcher => new Stitcher(region, n, cropSize, fill, taper, probeBlend);
    const plain = make();
    const halves = choices.halfSets ? [make(), make()] : undefined;
    const counts: [number, number] = [0, 0];
    // Plain averaging has no patch phases to refine: of the patterns only the offsets count (the probe blend's).
    return {
      add: (amplitude, phase, cx, cy, at, patterns) => {
        if (halves) {
          const parity = (counts[0] + counts[1]) % 2;
          halves[parity].add(amplitude, phase, cx, cy, at, 0, n, patterns?.offsets);
          counts[parity]++;
        }
        plain.add(amplitude, phase, cx, cy, at, 0, n, patterns?.offsets);
      },
      result: () => ({ ...plain.result(), ...(halves ? { halves: { images: [halves[0].result(), halves[1].result()], counts } } : {}) }),
    };
  }
  // Both corrections read the same probe, split once.
  const split = choices.centroidRefinement || choices.crosstalkCorrection ? crosstalkCorrectionFor(probe, n) : undefined;
  const centroids = choices.centroidRefinement ? split : undefined;
  const halves = choices.halfSets;
  if (groupSize > 1) return new AlignedStitch(region, n, cropSize, count, { fill, taper, probe: probeBlend, anchor: GROUP_SYNC_ANCHOR, centroids, halves });
  return new AlignedStitch(region, n, cropSize, count, { fill, taper, probe: probeBlend, crosstalk: choices.crosstalkCorrection ? split : undefined, centroids, halves });
}

/**
 * Anchor of a gridsize-2 model's synchronisation: 0, pure synchronisation. A group's absolute phase carries little,
 * and the anchor's pull towards it acts most on the largest scales, which the pairs constrain least: with 0.1 the
 * stitched phase's part wider than 32 px kept 0.17–0.34 of the truth's contrast (0.29–0.49 without), and the
 * covered phase r of five study-scale dense models rose by 0.00–0.08 without it (README item 20). Models trained for
 * a few epochs only (the quick benchmark) stitch better anchored: their neighbours still disagree.
 */
export const GROUP_SYNC_ANCHOR = 0;

/**
 * The centroid-consistency step is kept only when the re-stitched object delivers at least this share of the
 * centroid change its planes asked for (and lowers the misfit). Where neighbouring patches ask for planes they cannot
 * share, the stitch averages them away — it delivers little, loses amplitude where the planes disagree and scrambles
 * the phase. Measured (README item 21): the study-scale models it helps deliver 0.50–1.06; the 6-epoch quick dense
 * model, where it hurt (phase SSIM 0.687 → 0.590), 0.38; planes alternating from patch to patch, ~0.
 */
export const CENTROID_STEP_MIN_DELIVERED = 0.45;

/** Canvas pixels count as covered from this summed stitching weight (a crop's interior contributes 1). */
export const COVERED_WEIGHT = 0.5;

/**
 * Removes, in place, the mean phase gradient of the covered pixels (complex domain: arg Σ z_{k+1}·conj(z_k) per
 * axis, so nothing is unwrapped) as a plane over the whole canvas; returns it (rad/px, x then y). Synchronisation
 * fixes the patches' constant phases relative to each other, but a common bias of their slopes integrates into a
 * ramp across the field — radians over a study-scale scan — that the data of any one pattern barely constrain, and
 * whose wraps spoil the phase image and the study's plane fit on wrapped phases (README item 17). A zero mean
 * gradient is the gauge the stitched object is reported in.
 */
export function removeMeanPhaseGradient(object: Float32Array, weight: Float32Array, width: number): [number, number] {
  const [gu, gv] = meanPhaseGradient(object, weight, width);
  if (gu === 0 && gv === 0) return [0, 0];
  rotateByPlane(object, width, [gu, gv]);
  return [gu, gv];
}

/** The covered pixels' mean phase gradient (rad/px, x then y; see removeMeanPhaseGradient), the image unchanged. */
export function meanPhaseGradient(object: Float32Array, weight: Float32Array, width: number): [number, number] {
  const height = weight.length / width;
  let ur = 0, ui = 0, vr = 0, vi = 0;
  const covered = (k: number): boolean => weight[k] >= COVERED_WEIGHT;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = y * width + x;
      if (!covered(k)) continue;
      const ar = object[2 * k], ai = object[2 * k + 1];
      if (x + 1 < width && covered(k + 1)) {
        ur += object[2 * k + 2] * ar + object[2 * k + 3] * ai;
        ui += object[2 * k + 3] * ar - object[2 * k + 2] * ai;
      }
      if (y + 1 < height && covered(k + width)) {
        const q = 2 * (k + width);
        vr += object[q] * ar + object[q + 1] * ai;
        vi += object[q + 1] * ar - object[q] * ai;
      }
    }
  }
  return [ur === 0 && ui === 0 ? 0 : Math.atan2(ui, ur), vr === 0 && vi === 0 ? 0 : Math.atan2(vi, vr)];
}

/** Multiplies an interleaved complex image by exp(−i(gu·x + gv·y)), in place: removes that phase plane. */
export function rotateByPlane(object: Float32Array, width: number, [gu, gv]: readonly [number, number]): void {
  if (gu === 0 && gv === 0) return;
  const height = object.length / 2 / width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const k = y * width + x;
      const t = -(gu * x + gv * y);
      const c = Math.cos(t), s = Math.sin(t);
      const re = object[2 * k], im = object[2 * k + 1];
      object[2 * k] = re * c - im * s;
      object[2 * k + 1] = re * s + im * c;
    }
  }
}

/** The probe whose phase curvature couples amplitude and centroid (the dataset's probeGuess; its scale does not matter). */
export interface CrosstalkCorrection {
  probe: { re: ArrayLike<number>; im: ArrayLike<number> };
}

/** The correction for a dataset's probe as TrainingDataset holds it (interleaved complex, N×N). */
export function crosstalkCorrectionFor(probe: ArrayLike<number>, n: number): CrosstalkCorrection {
  return { probe: { re: Float32Array.from({ length: n * n }, (_, k) => probe[2 * k]), im: Float32Array.from({ length: n * n }, (_, k) => probe[2 * k + 1]) } };
}

export interface CrosstalkSummary {
  patches: number;
  /** rms over patches of the slope change, in detector pixels (a ramp of g pixels shifts the pattern by g). */
  rmsShift: number;
}

/**
 * Anchor of the synchronisation after the crosstalk correction: 0. The anchor exists because uncorrected
 * neighbours disagree systematically; once the slopes are re-explained it only pulls patches towards absolute
 * phases that carry nothing (README item 17: r of the patches' mean phase with the truth's −0.26).
 */
export const CROSSTALK_SYNC_ANCHOR = 0;

/**
 * Probe crosstalk correction (README item 17). Under a curved probe an amplitude edge moves a pattern's far-field
 * centroid as a phase ramp would (probePhaseGradient), so a network whose amplitude under the probe is slightly
 * wrong fits the centroid with a wrong ramp, and synchronising such patches copies the amplitude's errors into the
 * large-scale phase. Each patch's model explains its centroid with its own amplitude A_p plus its phase; with the
 * stitched amplitude A_s (many patterns averaged) the same centroid needs the ramp to change by
 * share(A_p) − share(A_s), which is added as a plane on the network's support (the central N/2). Where the canvas
 * has no weight the patch's own amplitude stands in.
 */
export function crosstalkCorrectedPhases(
  patches: { amplitude: Float32Array; phase: Float32Array; keep: number; centers: Float64Array; n: number },
  canvas: StitchedCanvas,
  probe: { re: ArrayLike<number>; im: ArrayLike<number> },
): { phase: Float32Array; summary: CrosstalkSummary } {
  const { n, keep } = patches;
  const count = patches.centers.length / 2;
  if (keep < n / 2) throw new Error(`crosstalk correction needs each patch's central N/2 (kept ${keep} of N=${n})`);
  const maps = probePhaseGradient(probe, n);
  const q = n / 4;
  const off = (n - keep) / 2; // patch pixel (i, j) is window pixel (i − off, j − off)
  const support = (i: number, j: number): boolean => i >= q && i < n - q && j >= q && j < n - q;
  const { region, object, weight } = canvas;
  const W = region.width;
  const H = region.height;
  const phase = Float32Array.from(patches.phase);
  let sumSq = 0;
  for (let g = 0; g < count; g++) {
    const base = g * keep * keep;
    const own = (k: number): number => {
      const i = Math.floor(k / n) - off, j = (k % n) - off;
      return i >= 0 && j >= 0 && i < keep && j < keep ? patches.amplitude[base + i * keep + j] : 0;
    };
    // Patch pixel (i, j) ↔ object (cx + j − N/2, cy + i − N/2) ↔ canvas (that − region origin), bilinear.
    const ox = patches.centers[2 * g] - region.x0 - n / 2;
    const oy = patches.centers[2 * g + 1] - region.y0 - n / 2;
    const stitched = (k: number): number => {
      const x = ox + (k % n), y = oy + Math.floor(k / n);
      const ix = Math.floor(x), iy = Math.floor(y), fx = x - ix, fy = y - iy;
      let a = 0, wsum = 0;
      for (const [dx, dy, wt] of [[0, 0, (1 - fx) * (1 - fy)], [1, 0, fx * (1 - fy)], [0, 1, (1 - fx) * fy], [1, 1, fx * fy]]) {
        const xx = ix + dx, yy = iy + dy;
        if (wt === 0 || xx < 0 || yy < 0 || xx >= W || yy >= H || !(weight[yy * W + xx] > 0)) continue;
        a += wt * Math.hypot(object[2 * (yy * W + xx)], object[2 * (yy * W + xx) + 1]);
        wsum += wt;
      }
      return wsum > 0 ? a / wsum : own(k);
    };
    const [pu, pv] = probeCentroidShare(own, maps, n, support);
    const [su, sv] = probeCentroidShare(stitched, maps, n, support);
    const du = Number.isFinite(pu - su) ? pu - su : 0;
    const dv = Number.isFinite(pv - sv) ? pv - sv : 0;
    sumSq += du * du + dv * dv;
    for (let i = Math.max(q, off); i < Math.min(n - q, off + keep); i++) {
      for (let j = Math.max(q, off); j < Math.min(n - q, off + keep); j++) {
        phase[base + (i - off) * keep + (j - off)] += (2 * Math.PI * (du * (j - n / 2) + dv * (i - n / 2))) / n;
      }
    }
  }
  return { phase, summary: { patches: count, rmsShift: count ? Math.sqrt(sumSq / (2 * count)) : 0 } };
}

/** Memory the aligned stitching may keep for the patches' windows (four float32 planes each). */
export const ALIGNMENT_MEMORY_BYTES = 512 * 2 ** 20;

/**
 * The window used to align phases: the network's N/2 support (at least the crop, even), narrowed towards the
 * crop when `count` windows would not fit in ALIGNMENT_MEMORY_BYTES.
 */
export function alignmentWindow(n: number, cropSize: number, count = 1): number {
  const floor = Math.min(n, cropSize + (cropSize % 2));
  let s = Math.min(n, Math.max(n / 2, cropSize));
  s += s % 2;
  while (s > floor && 16 * count * s * s > ALIGNMENT_MEMORY_BYTES) s -= 2;
  return Math.max(s, floor);
}

/** The ground truth over the same region, pixel for pixel (zero where the region leaves the object). */
export function cropObject(object: { width: number; height: number; data: Float32Array }, region: StitchRegion): Float32Array {
  const out = new Float32Array(2 * region.width * region.height);
  for (let y = 0; y < region.height; y++) {
    const oy = region.y0 + y;
    if (oy < 0 || oy >= object.height) continue;
    for (let x = 0; x < region.width; x++) {
      const ox = region.x0 + x;
      if (ox < 0 || ox >= object.width) continue;
      const s = 2 * (oy * object.width + ox);
      const d = 2 * (y * region.width + x);
      out[d] = object.data[s];
      out[d + 1] = object.data[s + 1];
    }
  }
  return out;
}
