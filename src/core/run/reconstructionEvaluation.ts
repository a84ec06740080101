// Scoring a Phase F reconstruction like the training jobs of its dose (evaluation.ts, domain.md §7.3): the
// iterative object — reconstructed from the job's own split on objectGuess's grid — is cut to the dose's common
// region (the scan box of its Phase C test split ± M/2, the region every training job of the dose is scored on),
// pixels the probe never lit are holes (0, as a training job's uncovered pixels), and it is scored with the same
// alignment (global phase, plane-removed phase, mean-scaled amplitude, 2 px trim) beside the flat predictor.
// A train-split job (another part of the object) is scored on its own scan region and says so.
// Secondary, `scan`: amplitude and phase Pearson r over every pixel the scan lights at least once at the
// probe's peak intensity (the bench:recon protocol, also what the per-iteration events report).
import { compareWithTruth, coverageMask, type ComplexPlanes, type TruthComparison } from '../iterative';
import type { ReconstructionConfig } from '../study/reconstructJobs';
import type { TrainingDataset } from '../train/data';
import type { Reconstruction } from '../train/reconstruct';
import { filterByHalves } from '../train/halfSetFilter';
import { cropObject, type StitchRegion } from '../train/stitch';
import type { HalfReconstruction, HalfSetResult } from './reconstructionHalves';
import {
  coverageOf, EVALUATION_ALIGNMENT, flatPredictor, openEvaluationData, readPixelSize, scanRegion, scoreOnRegion, summaryOf,
  type EvaluationRecord, type RegionScore, type RunEvaluation,
} from './evaluation';

const HALVES_SPLIT = 'the even and the odd patterns of the split, each reconstructed apart with the same settings and iterations';

/** Illumination (in units of one exposure at the probe's peak intensity) below which a pixel was never measured. */
export const UNLIT_WEIGHT = 1e-3;
/** The `scan` protocol's covered pixels: lit at least once at the probe's peak intensity. */
export const SCAN_WEIGHT = 1;

/** Σ_p |P|² over the positions, divided by max|P|²: 1 = one exposure at the probe's peak. */
export function normalizedIllumination(illumination: Float64Array, probePeak: number): Float64Array {
  const out = new Float64Array(illumination.length);
  if (probePeak > 0) for (let i = 0; i < out.length; i++) out[i] = illumination[i] / probePeak;
  return out;
}

/** The mask of the `scan` protocol (and the per-iteration quality events). */
export function scanMask(weight: Float64Array): Uint8Array {
  return coverageMask(weight, SCAN_WEIGHT);
}

/** compareWithTruth, or null when there is no truth or too little is covered. */
export function scanQuality(object: ComplexPlanes, truth: TrainingDataset['object'], mask: Uint8Array): TruthComparison | null {
  if (!truth) return null;
  try {
    return compareWithTruth(object, truth, mask);
  } catch {
    return null;
  }
}

/** The weight with the holes (never lit) at 0, as the amplitude filter reads a stitch's. */
function litWeight(weight: Float32Array): Float32Array {
  return weight.map((v) => (v < UNLIT_WEIGHT ? 0 : v));
}

/** A half's object and lit weight on the region. */
function croppedHalf(half: HalfReconstruction, region: StitchRegion): { object: Float32Array; weight: Float32Array } {
  return { object: cropObject(half.object, region), weight: litWeight(croppedWeight(half.weight, half.object, region)) };
}

function croppedWeight(weight: Float64Array, grid: { width: number; height: number }, region: StitchRegion): Float32Array {
  // cropObject crops interleaved complex images: the weight travels as the real parts.
  const image = new Float32Array(2 * weight.length);
  for (let i = 0; i < weight.length; i++) image[2 * i] = weight[i];
  const cropped = cropObject({ width: grid.width, height: grid.height, data: image }, region);
  return Float32Array.from({ length: cropped.length / 2 }, (_, i) => cropped[2 * i]);
}

/** The full object's amplitude and phase (in place, as the settings ask) weighted by the FRC of the two halves' on the region. */
function weightByHalves(object: Float32Array, weight: Float32Array, halves: HalfSetResult, region: StitchRegion, parts: { amplitude: boolean; phase: boolean }): ReturnType<typeof filterByHalves> {
  const [a, b] = halves.halves;
  return filterByHalves({ object, weight: litWeight(weight) }, [croppedHalf(a, region), croppedHalf(b, region)], [a.patterns, b.patterns], region.width, region.height, parts);
}

export interface ReconstructionEvaluationInput {
  config: ReconstructionConfig;
  /** The job's own split (what was reconstructed). */
  data: TrainingDataset;
  /** The object as interleaved complex64 on objectGuess's grid (Reconstruction.objectImage()). */
  object: { width: number; height: number; data: Float32Array };
  /** normalizedIllumination of the final probe, on the same grid. */
  weight: Float64Array;
  scan: TruthComparison | null;
  /** The even and the odd half reconstructed apart (reconstructionHalves.ts): the amplitude is weighted by their FRC. */
  halves?: HalfSetResult;
  iterations: number;
  seconds: number;
  log?: (line: string) => void;
}

/** The same result a training run's evaluation gives (one shape for metrics.json, the manifest and the panels). */
export type ReconstructionEvaluation = RunEvaluation;

export async function evaluateReconstructionRun(input: ReconstructionEvaluationInput): Promise<ReconstructionEvaluation> {
  const { config, data } = input;
  const opened = await openEvaluationData(config.evaluation, { data, split: config.split }, config.n, config.objectShape);
  try {
    if (opened.fallbackReason) input.log?.(`Evaluation: ${opened.fallbackReason}`);
    const region = scanRegion(opened.data.xs, opened.data.ys, config.settings.regionCropSize);
    const pixelSize = await readPixelSize(opened.data.path);
    const { width: w, height: h } = region;
    const object = cropObject(input.object, region);
    const weight = croppedWeight(input.weight, input.object, region);
    let holes = 0;
    for (let i = 0; i < weight.length; i++) {
      if (weight[i] < UNLIT_WEIGHT) {
        object[2 * i] = 0;
        object[2 * i + 1] = 0;
        holes++;
      }
    }
    const { amplitudeFilter, phaseFilter } = input.halves
      ? weightByHalves(object, weight, input.halves, region, { amplitude: config.settings.amplitudeFilter, phase: config.settings.phaseFilter })
      : {};
    const truthSource = opened.data.object ?? data.object;
    const groundTruth = truthSource ? cropObject(truthSource, region) : undefined;
    const reconstruction: Reconstruction = {
      region, width: w, height: h, object, weight, ...(groundTruth ? { groundTruth } : {}),
      groups: data.count, seconds: input.seconds, groupsPerSec: input.seconds > 0 ? (input.iterations * data.count) / input.seconds : 0,
      ...(amplitudeFilter ? { amplitudeFilter } : {}),
      ...(phaseFilter ? { phaseFilter } : {}),
    };
    const coverage = coverageOf(weight);
    const evaluation: EvaluationRecord = {
      dataset: opened.data.path, source: opened.source, ...(opened.fallbackReason ? { fallbackReason: opened.fallbackReason } : {}),
      region: { x0: region.x0, y0: region.y0, width: w, height: h },
      alignment: EVALUATION_ALIGNMENT,
      grouping: {
        gridsize: 1, groups: data.count,
        note: `iterative reconstruction: every pattern of the job's own ${config.split} split (${data.path}) updates the object at its own position; the evaluation set gives the region and the ground truth`,
      },
      patterns: data.count,
      stitchCropSize: config.settings.regionCropSize,
      coverage,
      frcUnit: 'cycles/px',
      pixelSize: pixelSize ?? null,
    };
    const split: 'test' | 'train' = opened.source === 'own-train' ? 'train' : 'test';
    const base = {
      evaluation, split, region, regionCropSize: config.settings.regionCropSize, coverage, metricRegion: { x: 0, y: 0, width: w, height: h },
      holes: { pixels: holes, weightBelow: UNLIT_WEIGHT, note: 'pixels the probe never lit (illumination below this many peak exposures) hold only the initial object; they are 0 here and count against the reconstruction, as a training job\'s uncovered pixels' },
      weight: 'illumination Σ|P|² over the positions with the final probe, in units of one exposure at its peak intensity; covered = weight ≥ 0.5',
      scan: input.scan ? { amplitudeR: input.scan.amplitudeR, phaseR: input.scan.phaseR, pixels: input.scan.pixels, protocol: 'Pearson r over every pixel lit at least once at the probe\'s peak intensity, global phase removed, phase plane-removed (bench:recon)' } : null,
      reconstruction: { algorithm: config.algorithm, iterations: input.iterations, seconds: input.seconds, updatesPerSec: reconstruction.groupsPerSec },
      untrained: null,
      ...(amplitudeFilter ? { amplitudeFilter: { ...amplitudeFilter, unit: 'cycles/px', halvesSeconds: input.halves!.seconds, halvesSplit: HALVES_SPLIT } } : {}),
      ...(phaseFilter ? { phaseFilter: { ...phaseFilter, unit: 'cycles/px', halvesSeconds: input.halves!.seconds, halvesSplit: HALVES_SPLIT } } : {}),
    };
    if (!groundTruth) {
      return { reconstruction, split, evaluation, summary: undefined, metrics: { ...base, globalPhaseOffset: null, flat: null, note: 'the evaluation set has no objectGuess: no ground truth to compare with' } };
    }
    const pixel = pixelSize ? { pixelSizeMeters: pixelSize.meters } : {};
    let scored: RegionScore;
    try {
      scored = scoreOnRegion(object, groundTruth, w, h, { ...pixel, weight });
    } catch (err) {
      return {
        reconstruction, split, evaluation, summary: undefined,
        metrics: { ...base, globalPhaseOffset: null, flat: null, note: `the evaluation region is too small for the metrics (${(err as Error).message})` },
      };
    }
    const flat = flatPredictor(groundTruth);
    const flatScore = scoreOnRegion(flat.object, groundTruth, w, h, { ...pixel, weight });
    return {
      reconstruction, split, evaluation,
      summary: { amplitude: summaryOf(scored.metrics.amplitude), phase: summaryOf(scored.metrics.phase) },
      metrics: {
        ...base, globalPhaseOffset: scored.globalPhaseOffset, ...scored.metrics,
        flat: { amplitude: flatScore.metrics.amplitude, phase: flatScore.metrics.phase, amplitudeValue: flat.amplitude, description: 'constant amplitude = mean |ground truth| over the region, zero phase' },
      },
    };
  } finally {
    await opened.close();
  }
}
