// Quality while training: after each epoch, the model as it stands infers a fixed small window of the test
// object (the groups whose centres lie nearest the scan's centre), stitched as the final reconstruction is (phase
// synchronisation, hole filling, crosstalk correction, and for gridsize 1 the half-set weightings: the run's
// stitching settings), and scored against the ground truth (Pearson r on the covered pixels, as the final's
// headline, and SSIM, of amplitude and of plane-removed phase). One inference
// session with the parameters as inputs serves every epoch; its cost is measured and kept under a budget (a
// fraction of the epoch's time) by skipping epochs when it would exceed it.
import type { Tensor } from 'onnxruntime-node';
import { buildInferenceGraph, IO, type ModelGraphSpec } from '../model';
import { evaluateSsim, pearsonOnPixels } from '../metrics';
import type { TrainingDataset } from './data';
import type { PatternGroups } from './groups';
import { createSession, type OrtModule, type OrtSession } from './runtime';
import { addPredictions } from './reconstruct';
import { filterByHalves, halvesFromSamePredictions } from './halfSetFilter';
import { COVERED_WEIGHT, cropObject, stitcherFor, type StitchChoices, type StitchRegion } from './stitch';

export interface EpochQuality {
  epoch: number;
  amplitude: { pearson: number | null; ssim: number | null };
  phase: { pearson: number | null; ssim: number | null };
  /** The window (object pixels) and how many groups were inferred for it. */
  region: StitchRegion;
  groups: number;
  seconds: number;
  /** The stitched window itself (interleaved re, im) and its stitching weight: the epoch's preview. */
  image: { object: Float32Array; weight: Float32Array };
}

export interface QualityMonitorOptions {
  ort: OrtModule;
  provider: string;
  intraOpThreads?: number;
  /** Side of the square window, object pixels (default 96). */
  windowSize?: number;
  /** Its centre, object pixels (default: the centre of all groups). */
  center?: readonly [number, number];
  /** At most this many groups are inferred (default 64). */
  maxGroups?: number;
  cropSize: number;
  /** Largest share of an epoch's time the monitor may take (default 0.05). */
  budget?: number;
  /**
   * The final reconstruction's stitching choices (training.stitchPhaseAlignment, stitchFillHoles,
   * stitchCrosstalkCorrection, stitchCentroidRefinement), so that the window's phase is the one the run will report; default plain averaging.
   */
  stitch?: StitchChoices;
  /**
   * The run's half-set weightings (training.stitchAmplitudeFilter, stitchPhaseFilter). Gridsize 1 applies them to the
   * window as the final reconstruction does: its even and odd patches come from the same predictions, at no
   * inference cost. Gridsize 2's halves are groups of their own, inferred apart; the window leaves them out.
   */
  halfSetFilters?: { amplitude: boolean; phase: boolean };
  /** Photon counts per unit of the patterns' x², for the centroid step (ReconstructOptions.countScale). */
  countScale?: number;
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Indices of the groups nearest the centre of all group centres, at most `max`, whose crops fit a window. */
export function centralGroups(groups: PatternGroups, windowSize: number, cropSize: number, max: number, center?: readonly [number, number]): { which: Int32Array; region: StitchRegion } {
  let mx = 0;
  let my = 0;
  if (center) {
    // A window the user picked (training.previewCenter), in object pixels.
    [mx, my] = center;
  } else {
    for (let g = 0; g < groups.count; g++) {
      mx += groups.centers[2 * g];
      my += groups.centers[2 * g + 1];
    }
    mx /= groups.count;
    my /= groups.count;
  }
  const half = windowSize / 2;
  const region: StitchRegion = { x0: Math.round(mx - half), y0: Math.round(my - half), width: windowSize, height: windowSize };
  const reach = half - cropSize / 2;
  const inside: number[] = [];
  for (let g = 0; g < groups.count; g++) {
    if (Math.abs(groups.centers[2 * g] - mx) <= reach && Math.abs(groups.centers[2 * g + 1] - my) <= reach) inside.push(g);
  }
  const d = (g: number): number => (groups.centers[2 * g] - mx) ** 2 + (groups.centers[2 * g + 1] - my) ** 2;
  inside.sort((a, b) => d(a) - d(b) || a - b);
  return { which: Int32Array.from(inside.slice(0, max)), region };
}

/** Patterns a 96-px window infers at most: 64 gridsize-2 groups. */
const WINDOW_PATTERNS_96 = 256;

/**
 * The most groups a window of `size` px infers: WINDOW_PATTERNS_96 patterns per 96² px (no fewer for a smaller
 * window), in groups of `groupSize`.
 * Counted in patterns, not groups: 64 single patterns left a third of a gridsize-1 window uncovered on a study's
 * random scan, and those holes, scored as zero amplitude, read as an amplitude r of 0.15 while the run's final
 * one was 0.96. The time budget still skips epochs when the window costs too much.
 */
export function windowGroupBudget(size: number, groupSize: number): number {
  return Math.max(1, Math.round(Math.max(WINDOW_PATTERNS_96, WINDOW_PATTERNS_96 * (size / 96) ** 2) / Math.max(1, groupSize)));
}

export class QualityMonitor {
  private session?: OrtSession;
  private which: Int32Array;
  readonly region: StitchRegion;
  private skip = 1;
  /** The cheapest measurement so far: the steady cost (the first run of a session also allocates and warms up). */
  private fastest = Infinity;

  private constructor(
    readonly spec: ModelGraphSpec,
    readonly data: TrainingDataset,
    readonly groups: PatternGroups,
    readonly options: QualityMonitorOptions,
  ) {
    const size = options.windowSize ?? 96;
    const picked = centralGroups(groups, size, options.cropSize, options.maxGroups ?? windowGroupBudget(size, groups.size), options.center);
    this.which = picked.which;
    this.region = picked.region;
  }

  /** Undefined when the data has no ground truth or no group lies in the window (nothing to score). */
  static async create(spec: ModelGraphSpec, data: TrainingDataset, groups: PatternGroups, options: QualityMonitorOptions): Promise<QualityMonitor | undefined> {
    if (!data.object || groups.count === 0) return undefined;
    const monitor = new QualityMonitor(spec, data, groups, options);
    if (monitor.which.length === 0) return undefined;
    const model = buildInferenceGraph({ ...spec, batch: monitor.which.length }, 'inputs').model;
    monitor.session = (await createSession(options.ort, model, { providers: [options.provider], optimization: 'all', intraOpThreads: options.intraOpThreads })).session;
    return monitor;
  }

  /**
   * Whether epoch `epoch` (1-based) is measured, given the cost so far: every `skip`-th epoch, and always the last
   * planned one (`final`), so a run's last preview and quality are of the model it ends with.
   */
  due(epoch: number, final = false): boolean {
    return final || epoch % this.skip === 0;
  }

  async measure(epoch: number, params: ReadonlyMap<string, Float32Array>, epochSeconds: number): Promise<EpochQuality> {
    const started = performance.now();
    const { ort } = this.options;
    const n = this.data.n;
    const c = this.groups.size;
    const b = this.which.length;
    const feeds: Record<string, Tensor> = {};
    for (const p of this.spec.arch.params) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!, [...p.shape]);
    const patterns = new Int32Array(b * c);
    const offsets = new Float32Array(b * c * 2);
    for (let k = 0; k < b; k++) {
      const g = this.which[k];
      patterns.set(this.groups.indices.subarray(g * c, (g + 1) * c), k * c);
      offsets.set(this.groups.offsets.subarray(g * c * 2, (g + 1) * c * 2), k * c * 2);
    }
    const x = new Float32Array(b * c * n * n);
    await this.data.patterns.read(patterns, x);
    feeds[IO.diffraction] = new ort.Tensor('float32', x, [b, c, n, n]);
    if (c > 1) feeds[IO.offsets] = new ort.Tensor('float32', offsets, [b, c, 2]);
    const out = await this.session!.run(feeds);
    const amp = out[IO.amplitude].data as Float32Array;
    const phase = out[IO.phase].data as Float32Array;
    const { object, weight } = this.stitch(amp, phase, x);
    const truth = cropObject(this.data.object!, this.region);
    // Score the covered pixels' bounding rows/cols only: the window's corners may be outside every crop.
    const scored = scoreWindow(object, truth, weight, this.region.width, this.region.height);
    const seconds = (performance.now() - started) / 1000;
    this.fastest = Math.min(this.fastest, seconds);
    const budget = (this.options.budget ?? 0.05) * Math.max(epochSeconds, 1e-3);
    this.skip = Math.max(1, Math.ceil(this.fastest / budget));
    return { epoch, ...scored, region: this.region, groups: b, seconds, image: { object, weight } };
  }

  /** The batch's patches stitched into the window as the final reconstruction stitches (options.stitch). */
  private stitch(amp: Float32Array, phase: Float32Array, x: Float32Array): { object: Float32Array; weight: Float32Array } {
    const n = this.data.n;
    const c = this.groups.size;
    const choices = this.options.stitch ?? {};
    // A gridsize-2 window is not weighted: its halves would be groups of their own, a third and fourth inference.
    const asked = this.options.halfSetFilters;
    const filters = halvesFromSamePredictions(c) && (asked?.amplitude || asked?.phase) ? asked : undefined;
    const halfSets = filters !== undefined;
    const stitcher = stitcherFor(this.region, n, this.options.cropSize, this.which.length, { ...choices, halfSets }, this.data.probe.data, c);
    addPredictions(stitcher, this.groups, { amp, phase, x, count: this.which.length, groupOf: (k) => this.which[k] }, n, !!choices.centroidRefinement, this.options.countScale);
    const stitched = stitcher.result();
    // Weighted in place, as reconstruct() weights the final object (a window too small for an FRC is left as it is).
    if (filters && stitched.halves) filterByHalves(stitched, stitched.halves.images, stitched.halves.counts, this.region.width, this.region.height, filters);
    return stitched;
  }

  /** The ground truth of the window (interleaved re, im). */
  truthWindow(): Float32Array {
    return cropObject(this.data.object!, this.region);
  }

  async release(): Promise<void> {
    await this.session?.release();
    this.session = undefined;
  }
}

/** Global phase removed, then the study's alignment; pixels no crop reached are left out by cropping to the covered box. */
function scoreWindow(object: Float32Array, truth: Float32Array, weight: Float32Array, w: number, h: number): Pick<EpochQuality, 'amplitude' | 'phase'> {
  let x0 = w;
  let y0 = h;
  let x1 = -1;
  let y1 = -1;
  let re = 0;
  let im = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const q = y * w + x;
      if (!(weight[q] >= COVERED_WEIGHT)) continue;
      x0 = Math.min(x0, x);
      y0 = Math.min(y0, y);
      x1 = Math.max(x1, x);
      y1 = Math.max(y1, y);
      const a = object[2 * q];
      const b = object[2 * q + 1];
      re += a * truth[2 * q] + b * truth[2 * q + 1];
      im += a * truth[2 * q + 1] - b * truth[2 * q];
    }
  }
  const empty = { amplitude: { pearson: null, ssim: null }, phase: { pearson: null, ssim: null } };
  const bw = x1 - x0 + 1;
  const bh = y1 - y0 + 1;
  if (x1 < 0 || bw < 12 || bh < 12) return empty;
  const rot = Math.atan2(im, re);
  const cr = Math.cos(rot);
  const sr = Math.sin(rot);
  const pred = new Float32Array(2 * bw * bh);
  const gt = new Float32Array(2 * bw * bh);
  const covered: number[] = [];
  for (let y = 0; y < bh; y++) {
    for (let x = 0; x < bw; x++) {
      const q = (y0 + y) * w + x0 + x;
      const d = y * bw + x;
      if (weight[q] >= COVERED_WEIGHT) covered.push(d);
      pred[2 * d] = object[2 * q] * cr - object[2 * q + 1] * sr;
      pred[2 * d + 1] = object[2 * q] * sr + object[2 * q + 1] * cr;
      gt[2 * d] = truth[2 * q];
      gt[2 * d + 1] = truth[2 * q + 1];
    }
  }
  const s = evaluateSsim(pred, gt, bw, bh);
  // r on the covered pixels, the final evaluation's headline; SSIM on the covered box, holes included, as the
  // final's region figures (a hole read as zero amplitude would dominate r on a window the scan does not fill).
  const r = pearsonOnPixels(pred, gt, covered, bw);
  return {
    amplitude: { pearson: finite(r.amplitude), ssim: finite(s.amplitude) },
    phase: { pearson: finite(r.phase), ssim: finite(s.phase) },
  };
}
