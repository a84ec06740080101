// The common evaluation of a dose (domain.md §7.3): every job of a dose is scored like-for-like, on the same
// evaluation set and the same object region, so the study's comparison compares models, not test sets.
//
//   dataset   the dose's Phase C test split (RunConfig.evaluation, resolved at plan time); a dose without one
//             falls back to the job's own test (or train) split, and metrics.json says why;
//   groups    gridsize 1: every pattern is one group at its own position (offset 0) — the study's
//             BASELINE-OFFSET-001 flattening; gridsize 2: groups of C = 4 built from that split with the
//             trainer's grouping (K nearest neighbours, the run's seed, stream 'evaluation'): deterministic, so
//             every gs2 run of a dose with the same seed and K sees the same groups;
//   region    the bounding box of the split's scan positions ± M/2 (M = stitchCropSize), integer-aligned as the
//             stitcher's canvas: identical for every job of the dose;
//   scoring   on the whole region, holes included (pixels no crop reaches are 0 in the reconstruction and
//             count against it), after removing the global phase offset; then evaluateReconstruction: trim,
//             plane-removed phase, mean-scaled amplitude, MAE/MSE/PSNR/SSIM/MS-SSIM/Pearson r/FRC (cycles/px,
//             and 1/m when the dataset's _metadata gives an object pixel size);
//   references the untrained network and the flat predictor (constant amplitude = mean of the ground truth
//             over the region, zero phase), scored identically.
// The job's own split scored on its largest covered rectangle (the earlier protocol) stays as `ownSplit`.
import { DEFAULT_MS_SSIM_SIGMA, DEFAULT_TRIM, evaluateReconstruction, pearsonOnPixels, toJsonMetrics, type JsonImageMetrics, type JsonReconstructionMetrics } from '../metrics';
import { buildInferenceGraph, canvasSize, predictsFullPatch, type ModelGraphSpec } from '../model';
import { openNpz } from '../npy';
import type { EvaluationPlan, EvaluationSource, RunConfig } from './plan';
import { resolveGridsizeTwoSwitch, resolveObjectSupport } from '../study/config';
import { openTrainingDataset, type TrainingDataset } from '../train/data';
import { buildGroups, halfSetGroups, type HalfSetGroups, type PatternGroups } from '../train/groups';
import { reconstruct, type Reconstruction, type ReconstructOptions } from '../train/reconstruct';
import type { OrtModule } from '../train/runtime';
import { resolveStitchBlend, stitchRegion, stitchTaperWidth, type ResolvedStitchBlend, type StitchRegion } from '../train/stitch';
import { COVERED_WEIGHT, globalPhaseOffset, rotatePhase, scoreReconstruction } from './artifacts';

/** Random stream of the evaluation groups (gridsize 2), distinct from the trainer's 'train' and 'test'. */
export const EVALUATION_STREAM = 'evaluation';

/** How the headline numbers were aligned before scoring (recorded in metrics.json `evaluation.alignment`). */
export interface EvaluationAlignment {
  globalPhase: true;
  phase: 'plane';
  amplitude: 'mean-scale';
  trim: number;
  holes: 'included';
}

export const EVALUATION_ALIGNMENT: EvaluationAlignment = { globalPhase: true, phase: 'plane', amplitude: 'mean-scale', trim: DEFAULT_TRIM, holes: 'included' };

/** The bounding box of the scan positions ± M/2, integer-aligned (the canvas the stitcher would use for them). */
export function scanRegion(xs: ArrayLike<number>, ys: ArrayLike<number>, cropSize: number): StitchRegion {
  if (xs.length !== ys.length) throw new RangeError(`scanRegion: ${xs.length} x but ${ys.length} y positions`);
  const centers = new Float64Array(2 * xs.length);
  for (let i = 0; i < xs.length; i++) {
    centers[2 * i] = xs[i];
    centers[2 * i + 1] = ys[i];
  }
  return stitchRegion(centers, cropSize);
}

/** The groups a model of `gridsize` sees on the evaluation set (deterministic in seed and K). */
export function evaluationGroups(xs: Float64Array, ys: Float64Array, o: { gridsize: number; neighborCount: number; seed: number }): PatternGroups {
  return buildGroups(xs, ys, { gridsize: o.gridsize, neighborCount: o.neighborCount, seed: o.seed, stream: EVALUATION_STREAM });
}

/** Keys that name the object-plane pixel size (metres) in a dataset's `_metadata`, most specific first. */
const PIXEL_SIZE_KEYS = ['objectpixelsize', 'objectpixelsizem', 'objpixelsize', 'pixelsizeobject', 'dxobj', 'pixelsize', 'pixelsizem'];

/**
 * The object pixel size (metres) recorded anywhere in a dataset's `_metadata` JSON, under one of
 * object_pixel_size[_m], obj_pixel_size, pixel_size_object, dx_obj, or a bare pixel_size[_m] (case and
 * separators ignored; object-specific names win). Detector pixel sizes (detector_pixel_size, …) never match.
 * Only plausible values count (0 < size < 1 cm). The simulator's files (and the study's, domain.md §3.4)
 * record none, so their FRC is in cycles/pixel only.
 */
export function pixelSizeFromMetadata(meta: unknown): { meters: number; key: string } | undefined {
  const q = metadataQuantity(meta, Object.fromEntries(PIXEL_SIZE_KEYS.map((k) => [k, 1])), (v) => v > 0 && v < 1e-2);
  return q && { meters: q.value, key: q.key };
}

/**
 * One quantity recorded anywhere in a `_metadata` JSON under a key that names it and its unit (`keys`: normalised
 * name → factor to the wanted unit; case and separators ignored; earlier names win); only `plausible` values count.
 */
export function metadataQuantity(meta: unknown, keys: Record<string, number>, plausible: (v: number) => boolean): { value: number; key: string } | undefined {
  const found: { value: number; key: string; rank: number }[] = [];
  const names = Object.keys(keys);
  const walk = (v: unknown, at: string, depth: number): void => {
    if (depth > 8 || !v || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, `${at}[${i}]`, depth + 1));
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const key = at ? `${at}.${k}` : k;
      const norm = k.toLowerCase().replace(/[^a-z]/g, '');
      const rank = names.indexOf(norm);
      const raw = typeof x === 'number' ? x : typeof x === 'string' && x.trim() !== '' ? Number(x) : NaN;
      const value = rank >= 0 ? raw * keys[norm] : NaN;
      if (rank >= 0 && Number.isFinite(value) && plausible(value)) found.push({ value, key, rank });
      else walk(x, key, depth + 1);
    }
  };
  walk(meta, '', 0);
  found.sort((a, b) => a.rank - b.rank);
  return found.length ? { value: found[0].value, key: found[0].key } : undefined;
}

/** pixelSizeFromMetadata of a .npz's `_metadata`; undefined when absent or unreadable. */
export async function readPixelSize(file: string): Promise<{ meters: number; key: string } | undefined> {
  try {
    const a = await openNpz(file);
    try {
      return pixelSizeFromMetadata((await a.readMetadata())?.json);
    } finally {
      await a.close();
    }
  } catch {
    return undefined;
  }
}

export interface EvaluationSet {
  /** Path of the dataset scored. */
  dataset: string;
  /** `named`: a dataset the user named (`ptycho-study score`), never a job's metrics.json. */
  source: EvaluationSource | 'named';
  /** Why it is not the dose's Phase C test split (plan-time or run-time fallback). */
  fallbackReason?: string;
  data: TrainingDataset;
  groups: PatternGroups;
  region: StitchRegion;
  pixelSize?: { meters: number; key: string };
  /** Closes the dataset when it was opened here (never the job's own). */
  close(): Promise<void>;
}

/** The dataset a job is scored on: the planned one, or the job's own split with the reason. */
export interface EvaluationData {
  data: TrainingDataset;
  source: EvaluationSource;
  fallbackReason?: string;
  /** Closes the dataset when it was opened here (never the job's own). */
  close(): Promise<void>;
}

/**
 * Opens the planned evaluation dataset when it can be scored — readable, with patterns of size `n` and a ground
 * truth (of `objectShape`, when given) — else falls back to the job's own split, with the reason. Shared by the
 * training runs (openEvaluationSet) and the Phase F reconstructions.
 */
export async function openEvaluationData(
  plan: EvaluationPlan | undefined, own: { data: TrainingDataset; split: 'test' | 'train' }, n: number, objectShape?: { width: number; height: number },
): Promise<EvaluationData> {
  const ownSource: EvaluationSource = own.split === 'test' ? 'own-test' : 'own-train';
  let data = own.data;
  let source: EvaluationSource = ownSource;
  let fallbackReason: string | undefined = plan ? plan.fallbackReason : 'the run config names no evaluation set (planned before the common evaluation): scored on the job\'s own split.';
  let opened = false;
  if (plan && plan.datasetPath === own.data.path) {
    source = plan.source;
  } else if (plan) {
    try {
      const d = await openTrainingDataset(plan.datasetPath);
      const shape = objectShape && d.object && (d.object.width !== objectShape.width || d.object.height !== objectShape.height);
      if (d.n !== n) {
        await d.close();
        fallbackReason = `the evaluation set ${plan.datasetPath} holds ${d.n}×${d.n} patterns but the job's are N=${n}: scored on the job's own ${own.split} split.`;
      } else if (!d.object && own.data.object) {
        await d.close();
        fallbackReason = `the evaluation set ${plan.datasetPath} has no objectGuess (no ground truth): scored on the job's own ${own.split} split.`;
      } else if (shape) {
        await d.close();
        fallbackReason = `the evaluation set ${plan.datasetPath} has a ${d.object!.height}×${d.object!.width} objectGuess but the job's is ${objectShape.height}×${objectShape.width}: scored on the job's own ${own.split} split.`;
      } else {
        data = d;
        opened = true;
        source = plan.source;
      }
    } catch (err) {
      fallbackReason = `the evaluation set ${plan.datasetPath} cannot be read (${(err as Error).message}): scored on the job's own ${own.split} split.`;
    }
  }
  return {
    data, source, ...(fallbackReason ? { fallbackReason } : {}),
    close: async () => {
      if (opened) await data.close();
    },
  };
}

/**
 * Opens the evaluation set of a run: the planned dataset (config.evaluation) when it can be scored — readable,
 * with patterns of the run's N and a ground truth — else the job's own split, with the reason recorded.
 */
export async function openEvaluationSet(config: RunConfig, own: { data: TrainingDataset; split: 'test' | 'train' }): Promise<EvaluationSet> {
  const opened = await openEvaluationData(config.evaluation, own, config.n);
  const { data } = opened;
  const t = config.training;
  const groups = evaluationGroups(data.xs, data.ys, { gridsize: config.gridsize, neighborCount: t.neighborCount, seed: t.seed });
  const region = scanRegion(data.xs, data.ys, t.stitchCropSize);
  const pixelSize = await readPixelSize(data.path);
  return {
    dataset: data.path, source: opened.source, ...(opened.fallbackReason ? { fallbackReason: opened.fallbackReason } : {}), data, groups, region,
    ...(pixelSize ? { pixelSize } : {}), close: opened.close,
  };
}

/** The flat predictor over a region: constant amplitude = mean |ground truth|, zero phase (interleaved complex). */
export function flatPredictor(groundTruth: Float32Array): { object: Float32Array; amplitude: number } {
  const size = groundTruth.length / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += Math.hypot(groundTruth[2 * i], groundTruth[2 * i + 1]);
  const amplitude = size > 0 ? s / size : 0;
  const object = new Float32Array(2 * size);
  for (let i = 0; i < size; i++) object[2 * i] = amplitude;
  return { object, amplitude };
}

export interface RegionScore {
  metrics: JsonReconstructionMetrics;
  /** Radians: object·e^{i·offset} best matches the ground truth (arg Σ conj(object)·truth over the region). */
  globalPhaseOffset: number;
}

/**
 * Scores `object` against `groundTruth` (both width × height, interleaved complex) on the whole region, holes
 * included: global phase removed over every pixel, then evaluateReconstruction (trim, plane-removed phase,
 * mean-scaled amplitude). Throws a RangeError when the region is too small for the metrics.
 */
export function scoreOnRegion(
  object: Float32Array, groundTruth: Float32Array, width: number, height: number, opts: { pixelSizeMeters?: number; weight?: Float32Array } = {},
): RegionScore {
  const offset = globalPhaseOffset(object, groundTruth);
  const aligned = rotatePhase(object, offset);
  const m = evaluateReconstruction(aligned, groundTruth, width, height, {
    trim: EVALUATION_ALIGNMENT.trim, phaseAlign: EVALUATION_ALIGNMENT.phase, msSsimSigma: DEFAULT_MS_SSIM_SIGMA,
    ...(opts.pixelSizeMeters !== undefined ? { pixelSizeMeters: opts.pixelSizeMeters } : {}),
  });
  const metrics = toJsonMetrics(m);
  if (opts.weight) {
    const covered = coveredPearson(aligned, groundTruth, opts.weight, width);
    metrics.amplitude.pearsonCovered = covered.amplitude;
    metrics.phase.pearsonCovered = covered.phase;
  }
  return { metrics, globalPhaseOffset: offset };
}

/**
 * Pearson r on the covered pixels only (summed stitching weight ≥ COVERED_WEIGHT): amplitude, and phase after a
 * plane a·x + b·y + c fitted on those pixels is removed from each. The headline `pearson` scores the whole
 * region with its holes (the study's protocol); this one says how good the reconstruction is where it exists.
 */
export function coveredPearson(object: Float32Array, truth: Float32Array, weight: Float32Array, width: number): { amplitude: number | null; phase: number | null } {
  const idx: number[] = [];
  for (let q = 0; q < weight.length; q++) if (weight[q] >= COVERED_WEIGHT) idx.push(q);
  if (idx.length < 3) return { amplitude: null, phase: null };
  const r = pearsonOnPixels(object, truth, idx, width);
  const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);
  return { amplitude: finiteOrNull(r.amplitude), phase: finiteOrNull(r.phase) };
}

/** Fraction of a reconstruction's pixels covered by at least half a crop's weight. */
export function coverageOf(weight: Float32Array): number {
  let covered = 0;
  for (const w of weight) if (w >= COVERED_WEIGHT) covered++;
  return weight.length > 0 ? covered / weight.length : 0;
}

function sameGroups(a: PatternGroups, b: PatternGroups): boolean {
  if (a.count !== b.count || a.size !== b.size) return false;
  for (let i = 0; i < a.indices.length; i++) if (a.indices[i] !== b.indices[i]) return false;
  for (let i = 0; i < a.offsets.length; i++) if (a.offsets[i] !== b.offsets[i]) return false;
  return true;
}

const sameRegion = (a: StitchRegion, b: StitchRegion): boolean => a.x0 === b.x0 && a.y0 === b.y0 && a.width === b.width && a.height === b.height;

export interface RunEvaluationInput {
  config: RunConfig;
  ort: OrtModule;
  provider: string;
  intraOpThreads?: number;
  /** Groups per inference batch. */
  batch: number;
  /** The trained model's graph spec; the canvas is widened here when the evaluation groups need more room. */
  spec: ModelGraphSpec;
  trained: ReadonlyMap<string, Float32Array>;
  untrained: ReadonlyMap<string, Float32Array>;
  /** The job's own split and groups (the secondary `ownSplit` scoring); absent when a named dataset is scored (`score`). */
  own?: { data: TrainingDataset; groups: PatternGroups; split: 'test' | 'train' };
  /** The evaluation set, opened by the caller (`score`); else config.evaluation is opened, falling back to `own`. */
  set?: EvaluationSet;
  /** Photon counts per unit intensity of the evaluation set's patterns (default: the run's, runCountScale). */
  countScale?: number;
  /** Model metadata (as in model.onnx). */
  metadata?: Record<string, string>;
  /** The trained inference model already built from `spec` (model.onnx), to avoid building it twice. */
  trainedModel?: Uint8Array;
  log?: (line: string) => void;
  /** Aborted (`score`'s Ctrl-C): the reconstructions stop at their next batch with an AbortError. */
  signal?: AbortSignal;
}

/** metrics.json `evaluation`. */
export interface EvaluationRecord {
  dataset: string;
  /** `named`: a dataset the user named (`ptycho-study score`), never a job's metrics.json. */
  source: EvaluationSource | 'named';
  fallbackReason?: string;
  /** Object pixels of the scored region: identical for every job of a dose on the common evaluation. */
  region: { x0: number; y0: number; width: number; height: number };
  alignment: EvaluationAlignment;
  /** How the model's groups were formed on the evaluation set. */
  grouping: { gridsize: number; groups: number; neighborCount?: number; seed?: number; stream?: string; note?: string };
  patterns: number;
  stitchCropSize: number;
  /** Fraction of the region covered by the trained model's stitched crops (the rest are holes, scored as 0). */
  coverage: number;
  frcUnit: 'cycles/px';
  /** Object pixel size from the dataset's _metadata (then FRC also in 1/m); null when none is recorded. */
  pixelSize: { meters: number; key: string } | null;
}

export interface RunEvaluation {
  /** The trained model on the evaluation set, stitched on the common region (reconstruction.npz). */
  reconstruction: Reconstruction;
  /** Split name of the evaluation set for reconstruction.npz (`test` unless it fell back to the train split). */
  split: 'test' | 'train';
  evaluation: EvaluationRecord;
  /** The body of metrics.json (without schemaVersion, jobId, testLoss). */
  metrics: Record<string, unknown>;
  /** manifest.json result.metrics and the `finished` event: the headline numbers per part. */
  summary: { amplitude: Record<string, number | null>; phase: Record<string, number | null> } | undefined;
}

/** The keys of the manifest's metric summary. */
export const SUMMARY_KEYS = ['mae', 'mse', 'psnr', 'ssim', 'msSsim', 'pearson', 'pearsonCovered', 'frc50'] as const;

/** The manifest's summary of one part's metrics (SUMMARY_KEYS). */
export const summaryOf = (m: JsonImageMetrics): Record<string, number | null> => Object.fromEntries(SUMMARY_KEYS.map((k) => [k, m[k] ?? null]));

const pair = (m: JsonReconstructionMetrics): { amplitude: JsonImageMetrics; phase: JsonImageMetrics } => ({ amplitude: m.amplitude, phase: m.phase });

/** The blend a run's stitching resolves to: its setting, for its gridsize and the object support its network has. */
export function runStitchBlend(config: RunConfig): ResolvedStitchBlend {
  return resolveStitchBlend(config.training.stitchBlend, config.gridsize * config.gridsize, resolveObjectSupport(config.training, config.gridsize));
}

/** The photon counts per unit of normalized intensity that a run's Poisson loss assumes (the centroid step's noise floor). */
export const runCountScale = (config: RunConfig): number => config.intensityScale ** 2;

/** How a run stitches its reconstructions (its training settings), run in batches of `batch` groups. */
export function runStitchOptions(config: RunConfig, batch: number, intraOpThreads?: number, countScale?: number) {
  const t = config.training;
  return { batch, cropSize: t.stitchCropSize, alignPhase: t.stitchPhaseAlignment, fillHoles: t.stitchFillHoles, crosstalkCorrection: t.stitchCrosstalkCorrection, centroidRefinement: t.stitchCentroidRefinement, groupRefinement: config.gridsize > 1 ? t.groupRefinement : 0, blend: runStitchBlend(config), amplitudeFilter: t.stitchAmplitudeFilter, phaseFilter: t.stitchPhaseFilter, contrastCalibration: resolveGridsizeTwoSwitch(t.stitchContrastCalibration, config.gridsize), intraOpThreads, countScale: countScale ?? runCountScale(config) };
}

/**
 * The model's graph spec for other groups (each set given; undefined ones skipped): the gs2 merge canvas must hold
 * all their offsets too (weights do not depend on it).
 */
export function specForGroups(spec: ModelGraphSpec, config: RunConfig, ...groupSets: (PatternGroups | undefined)[]): ModelGraphSpec {
  const maxOffset = Math.max(0, ...groupSets.map((g) => g?.maxOffset ?? 0));
  const canvas = config.gridsize > 1 ? Math.max(spec.canvas, canvasSize(config.n, maxOffset, predictsFullPatch(spec.arch.spec))) : spec.canvas;
  return canvas === spec.canvas ? spec : { ...spec, canvas };
}

/** Every group set of a HalfSetGroups (none when undefined), e.g. for specForGroups. */
export const halfSetGroupList = (sets: HalfSetGroups | undefined): PatternGroups[] => (sets ? [...sets.halves, ...sets.quarters] : []);

/**
 * Gridsize 2 with a half-set weighting (training.stitchAmplitudeFilter / stitchPhaseFilter) or groupRefinement
 * 'auto' (which cross-validates on the halves): the groups of the two pattern-disjoint halves (and quarters) of
 * `groups`' patterns (halfSetGroups), with the run's K and seed.
 */
export function runHalfSetGroups(config: RunConfig, data: { xs: Float64Array; ys: Float64Array }, groups: PatternGroups): HalfSetGroups | undefined {
  const t = config.training;
  if (config.gridsize === 1 || !(t.stitchAmplitudeFilter || t.stitchPhaseFilter || t.groupRefinement === 'auto')) return undefined;
  return halfSetGroups(data.xs, data.ys, groups, { neighborCount: t.neighborCount, seed: t.seed });
}

/** The inference model (batch symbolic) of `spec` with `params`. */
export const inferenceModel = (spec: ModelGraphSpec, params: ReadonlyMap<string, Float32Array>, metadata: Record<string, string> = {}): Uint8Array =>
  buildInferenceGraph(spec, params, metadata, { symbolicBatch: true }).model;

/**
 * Reconstructs the evaluation set with the trained and the untrained model on the common region, scores them
 * and the flat predictor, and scores the job's own split as before (`ownSplit`).
 */
export async function evaluateRun(input: RunEvaluationInput): Promise<RunEvaluation> {
  const { config, ort, provider } = input;
  const t = config.training;
  if (!input.set && !input.own) throw new Error('evaluateRun needs the evaluation set or the job\'s own split.');
  const set = input.set ?? await openEvaluationSet(config, input.own!);
  try {
    if (set.fallbackReason) input.log?.(`Evaluation: ${set.fallbackReason}`);
    const stitch = { ...runStitchOptions(config, input.batch, input.intraOpThreads, input.countScale), signal: input.signal };
    const build = (spec: ModelGraphSpec, params: ReadonlyMap<string, Float32Array>): Uint8Array => inferenceModel(spec, params, input.metadata);
    const halves = runHalfSetGroups(config, set.data, set.groups);
    const ownHalves = input.own ? runHalfSetGroups(config, input.own.data, input.own.groups) : undefined;
    const evalSpec = specForGroups(input.spec, config, set.groups, ...halfSetGroupList(halves));
    const ownSpec = specForGroups(input.spec, config, input.own?.groups, ...halfSetGroupList(ownHalves));
    const trainedModel = input.trainedModel ?? build(input.spec, input.trained);
    const untrainedModel = build(input.spec, input.untrained);
    const forSpec = (spec: ModelGraphSpec): { trained: Uint8Array; untrained: Uint8Array } =>
      spec === input.spec ? { trained: trainedModel, untrained: untrainedModel } : { trained: build(spec, input.trained), untrained: build(spec, input.untrained) };
    const evalModels = forSpec(evalSpec);

    const common = await reconstruct(set.data, set.groups, { ort, provider, model: evalModels.trained, ...stitch, region: set.region, halfSetGroups: halves, networkAlone: true });
    // One selection per evaluation ('auto'): the untrained model and the job's own split are stitched with the count
    // the trained model's common evaluation chose, so every column goes through the same pipeline.
    const chosen = common.groupRefinementSelection ? { ...stitch, groupRefinement: common.groupRefinementSelection.chosen } : stitch;
    const commonUntrained = await reconstruct(set.data, set.groups, { ort, provider, model: evalModels.untrained, ...chosen, region: set.region, halfSetGroups: halves });
    const ownModels = input.own ? (ownSpec === evalSpec ? evalModels : forSpec(ownSpec)) : undefined;
    const ownSplit = input.own ? await scoreOwnSplit(input.own, common, commonUntrained, set, { ort, provider, trainedModel: ownModels!.trained, untrainedModel: ownModels!.untrained, stitch: { ...chosen, halfSetGroups: ownHalves } }) : undefined;

    const coverage = coverageOf(common.weight);
    const blend = stitch.blend;
    const taperWidth = stitchTaperWidth(blend, config.n);
    const evaluation: EvaluationRecord = {
      dataset: set.dataset, source: set.source, ...(set.fallbackReason ? { fallbackReason: set.fallbackReason } : {}),
      region: { x0: set.region.x0, y0: set.region.y0, width: set.region.width, height: set.region.height },
      alignment: EVALUATION_ALIGNMENT,
      grouping: config.gridsize > 1
        ? { gridsize: config.gridsize, groups: set.groups.count, neighborCount: t.neighborCount, seed: t.seed, stream: EVALUATION_STREAM }
        : { gridsize: 1, groups: set.groups.count, note: 'every pattern is one group at its own position (offset 0), as the study flattens groups for the gs1 baseline (BASELINE-OFFSET-001)' },
      patterns: set.data.count,
      stitchCropSize: t.stitchCropSize,
      coverage,
      frcUnit: 'cycles/px',
      pixelSize: set.pixelSize ?? null,
    };
    const pixel = set.pixelSize ? { pixelSizeMeters: set.pixelSize.meters } : {};
    const split: 'test' | 'train' = set.source === 'own-train' ? 'train' : 'test';
    const inference = { groups: common.groups, seconds: common.seconds, groupsPerSec: common.groupsPerSec };
    const base = {
      evaluation, split, region: common.region, stitchCropSize: t.stitchCropSize, stitchPhaseAlignment: t.stitchPhaseAlignment,
      // The blend the setting resolved to for this gridsize, and its window width (px; 0 = hard crops).
      stitchBlend: blend, stitchTaperWidth: taperWidth,
      ...(common.crosstalk ? { crosstalkCorrection: common.crosstalk } : {}),
      ...(common.centroidRefinement ? { centroidRefinement: common.centroidRefinement } : {}),
      // Truth-free: each group's prediction refined on its own patterns, and their amplitude misfit before and after.
      ...(common.groupRefinement ? { groupRefinement: common.groupRefinement } : {}),
      // Truth-free: with groupRefinement 'auto', each candidate count's held-out misfit and the count chosen.
      ...(common.groupRefinementSelection ? { groupRefinementSelection: common.groupRefinementSelection } : {}),
      ...(common.phaseRampRemoved ? { phaseRampRemoved: common.phaseRampRemoved } : {}),
      // Truth-free: the half-set FRC of the amplitude, of the phase, and the weights they set (absent: the setting is off).
      ...(common.amplitudeFilter ? { amplitudeFilter: { ...common.amplitudeFilter, unit: 'cycles/px' } } : {}),
      ...(common.phaseFilter ? { phaseFilter: { ...common.phaseFilter, unit: 'cycles/px' } } : {}),
      // Truth-free: the phase gain the evaluation's own patterns fit best, and their misfit before and after.
      ...(common.contrastCalibration ? { contrastCalibration: common.contrastCalibration } : {}),
      coverage, metricRegion: { x: 0, y: 0, width: common.width, height: common.height },
    };
    if (!common.groundTruth) {
      return {
        reconstruction: common, split, evaluation, summary: undefined,
        metrics: { ...base, globalPhaseOffset: null, note: 'the evaluation set has no objectGuess: no ground truth to compare with', untrained: null, flat: null, ...(ownSplit ? { ownSplit } : {}), inference },
      };
    }
    const w = common.width;
    const h = common.height;
    let trained: RegionScore;
    try {
      trained = scoreOnRegion(common.object, common.groundTruth, w, h, { ...pixel, weight: common.weight });
    } catch (err) {
      return {
        reconstruction: common, split, evaluation, summary: undefined,
        metrics: { ...base, globalPhaseOffset: null, note: `the evaluation region is too small for the metrics (${(err as Error).message})`, untrained: null, flat: null, ...(ownSplit ? { ownSplit } : {}), inference },
      };
    }
    const untrained = scoreOnRegion(commonUntrained.object, common.groundTruth, w, h, { ...pixel, weight: commonUntrained.weight });
    const flat = flatPredictor(common.groundTruth);
    const flatScore = scoreOnRegion(flat.object, common.groundTruth, w, h, { ...pixel, weight: common.weight });
    const alone = common.networkAlone && scoreOnRegion(common.networkAlone.object, common.groundTruth, w, h, { ...pixel, weight: common.networkAlone.weight });
    return {
      reconstruction: common, split, evaluation,
      summary: { amplitude: summaryOf(trained.metrics.amplitude), phase: summaryOf(trained.metrics.phase) },
      metrics: {
        ...base, globalPhaseOffset: trained.globalPhaseOffset,
        ...trained.metrics,
        untrained: { ...pair(untrained.metrics), globalPhaseOffset: untrained.globalPhaseOffset },
        flat: { ...pair(flatScore.metrics), amplitudeValue: flat.amplitude, description: 'constant amplitude = mean |ground truth| over the region, zero phase' },
        // The headline is the refined stitch; this is the trained network's own estimate, stitched and weighted the same way.
        ...(alone ? { networkAlone: { ...pair(alone.metrics), globalPhaseOffset: alone.globalPhaseOffset, description: 'the trained network\'s predictions stitched without group refinement (the same groups, weightings and region)' } } : {}),
        ...(ownSplit ? { ownSplit } : {}),
        inference,
      },
    };
  } finally {
    await set.close();
  }
}

/**
 * The job's own split on its largest covered rectangle (metrics.json `ownSplit`, secondary): the common evaluation's
 * stitched objects when it is the same data, groups and region (the gs1 baseline), else reconstructed here.
 */
async function scoreOwnSplit(
  own: NonNullable<RunEvaluationInput['own']>, common: Reconstruction, commonUntrained: Reconstruction, set: EvaluationSet,
  o: { ort: OrtModule; provider: string; trainedModel: Uint8Array; untrainedModel: Uint8Array; stitch: Omit<ReconstructOptions, 'ort' | 'provider' | 'model'> },
): Promise<Record<string, unknown>> {
  const ownRegion = stitchRegion(own.groups.centers, o.stitch.cropSize);
  const reuse = set.data === own.data && sameGroups(set.groups, own.groups) && sameRegion(set.region, ownRegion);
  const recon = reuse ? common : await reconstruct(own.data, own.groups, { ort: o.ort, provider: o.provider, model: o.trainedModel, ...o.stitch });
  const untrained = reuse ? commonUntrained : await reconstruct(own.data, own.groups, { ort: o.ort, provider: o.provider, model: o.untrainedModel, ...o.stitch });
  const scored = scoreReconstruction(recon);
  const baseline = scoreReconstruction(untrained);
  return {
    split: own.split, dataset: own.data.path, region: recon.region, coverage: scored?.coverage ?? coverageOf(recon.weight),
    metricRegion: scored?.metricRegion ?? null, globalPhaseOffset: scored?.phaseOffset ?? null,
    ...(scored ? scored.metrics : { note: recon.groundTruth ? 'the scan covers too little of the object for the metrics (no 12×12 covered rectangle)' : 'the dataset has no objectGuess: no ground truth to compare with' }),
    untrained: baseline ? pair(baseline.metrics) : null,
    protocol: 'the job\'s own split, on the largest fully covered rectangle of its stitched canvas (secondary; not comparable between jobs)',
  };
}
