// Inference and stitching: the inference graph (weights baked in, highest optimisation) runs over every
// group of a split in batches, and the central crops are stitched into the full object at the group centres,
// with the ground truth cropped to the same region pixel for pixel when the dataset has one.
import { abortError } from '../abort';
import type { Tensor } from 'onnxruntime-node';
import { IO } from '../model';
import type { TrainingDataset } from './data';
import type { HalfSetGroups, PatternGroups } from './groups';
import { createSession, type OrtModule } from './runtime';
import type { GroupRefinementSummary, RefinementStage } from './groupRefinement';
import { GroupRefinementThreads } from './refinementThreads';
import { chooseRefinement, type RefinementSelection } from './refinementSelection';
import { misfitKindOf } from './patternFit';
import { groupPatterns, measuredCentroids, type CentroidRefinementSummary } from './centroids';
import { calibratePhaseContrast, type CalibrationPatterns, type ContrastCalibrationSummary } from './contrastCalibration';
import { filterByHalves, halvesFromSamePredictions, type HalfSetFilterSummary } from './halfSetFilter';
import { cropObject, stitcherFor, stitchRegion, type CrosstalkSummary, type StitchChoices, type PredictionStitcher, type StitchRegion, type StitchResult } from './stitch';

export interface Reconstruction {
  region: StitchRegion;
  width: number;
  height: number;
  /** Interleaved complex64, height × width. */
  object: Float32Array;
  /** Summed stitching weights per pixel (0 = not covered by any crop). */
  weight: Float32Array;
  groundTruth?: Float32Array;
  groups: number;
  seconds: number;
  groupsPerSec: number;
  /** Present when the probe crosstalk correction ran (gridsize 1, aligned stitching). */
  crosstalk?: CrosstalkSummary;
  /** Present when the centroid-consistency step ran (aligned stitching, training.stitchCentroidRefinement). */
  centroidRefinement?: CentroidRefinementSummary;
  /** Present when each group's prediction was refined on its patterns (ReconstructOptions.groupRefinement; the main stitch's groups). */
  groupRefinement?: GroupRefinementSummary;
  /** Present when the refinement's iterations were chosen by cross-validation (ReconstructOptions.groupRefinement 'auto'). */
  groupRefinementSelection?: RefinementSelection;
  /** Present when the predictions were refined and ReconstructOptions.networkAlone asked: the network's own predictions, stitched and weighted the same way. */
  networkAlone?: { object: Float32Array; weight: Float32Array };
  /** Aligned stitching: the mean phase gradient removed from the stitched object (rad/px, x then y). */
  phaseRampRemoved?: [number, number];
  /** Present when the amplitude was weighted by its half-set FRC (ReconstructOptions.amplitudeFilter). */
  amplitudeFilter?: HalfSetFilterSummary;
  /** Present when the phase was weighted by its half-set FRC (ReconstructOptions.phaseFilter). */
  phaseFilter?: HalfSetFilterSummary;
  /** Present when the phase contrast was fitted to the patterns (ReconstructOptions.contrastCalibration). */
  contrastCalibration?: ContrastCalibrationSummary;
}

/** The stitching settings (StitchChoices) and how to run the model. */
export interface ReconstructOptions extends Omit<StitchChoices, 'halfSets'> {
  /**
   * Photon counts per unit of the patterns' x² (the run's s², the scale its Poisson loss counts in): with the
   * centroid step, the measured centroids' Poisson noise is told from what an object can deliver (centroids.ts).
   */
  countScale?: number;
  /** Weight the stitched amplitude, and the phase, each by its own half-set FRC (halfSetFilter.ts). */
  amplitudeFilter?: boolean;
  phaseFilter?: boolean;
  /**
   * Gridsize 2 with a half-set weighting: the groups of two pattern-disjoint halves, and of four quarters
   * (groups.ts halfSetGroups), each inferred and stitched apart; the model's canvas must hold their offsets too.
   * Absent there: no weighting (the groups' even and odd halves share patterns). Gridsize 1 stitches its even and
   * odd patterns apart instead.
   */
  halfSetGroups?: HalfSetGroups;
  /**
   * Gridsize 2: iterations of alternating projections refining each group's prediction on its own patterns before
   * it is stitched (groupRefinement.ts), in the main stitch and in the half sets' alike; 0 or absent = none.
   * 'auto': the count among REFINEMENT_CANDIDATES whose half-stitches best predict the other half's patterns
   * (refinementSelection.ts); it needs `halfSetGroups` (absent: none).
   */
  groupRefinement?: number | 'auto';
  /** With refinement: also stitch the network's own predictions, in the same passes (Reconstruction.networkAlone). */
  networkAlone?: boolean;
  /** Last: scale the stitched phase by the gain its own patterns fit best (contrastCalibration.ts). */
  contrastCalibration?: boolean;
  ort: OrtModule;
  provider: string;
  /** The serialised inference graph (for a batch of `batch` groups). */
  model: Uint8Array;
  batch: number;
  cropSize: number;
  intraOpThreads?: number;
  /**
   * The canvas (object pixels) to stitch into, instead of the one covering the group centres ± M/2: e.g. the
   * common evaluation region of a dose. Crops reaching outside it are clipped; pixels no crop reaches stay 0.
   */
  region?: StitchRegion;
  /** Aborted: stop at the next batch (or before stitching) with an AbortError; nothing is returned. */
  signal?: AbortSignal;
}

function checkSignal(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError('The reconstruction was cancelled.');
}

/**
 * Adds one inference batch to a stitcher: prediction k (< count) is group `groupOf(k)`, whose patterns are `x`'s
 * k-th C. Each prediction goes with its patterns' offsets (the probe blend's) and, with the centroid step, their
 * measured centroids.
 */
export function addPredictions(
  stitcher: PredictionStitcher, groups: PatternGroups, batch: { amp: Float32Array; phase: Float32Array; x: Float32Array; count: number; groupOf: (k: number) => number },
  n: number, centroidRefinement: boolean, countScale?: number,
): void {
  const c = groups.size;
  // Without the centroid step the centroids are not measured (NaN: no pattern's counts); the offsets always go along.
  const centroids = new Float64Array(batch.count * c * 2).fill(NaN);
  const noise = centroidRefinement && countScale !== undefined && countScale > 0 ? { out: new Float64Array(batch.count * c * 2), countScale } : undefined;
  if (centroidRefinement) measuredCentroids(batch.x, batch.count * c, n, centroids, 0, 0, noise);
  for (let k = 0; k < batch.count; k++) {
    const g = batch.groupOf(k);
    stitcher.add(batch.amp, batch.phase, groups.centers[2 * g], groups.centers[2 * g + 1], k * n * n, groupPatterns(groups, g, centroids, k, noise?.out));
  }
}

export async function reconstruct(data: TrainingDataset, groups: PatternGroups, options: ReconstructOptions): Promise<Reconstruction> {
  const started = performance.now();
  const { session } = await createSession(options.ort, options.model, { providers: [options.provider], optimization: 'all', intraOpThreads: options.intraOpThreads });
  try {
    const n = data.n;
    const c = groups.size;
    const b = options.batch;
    const region = options.region ?? stitchRegion(groups.centers, options.cropSize);
    const weighted = !!(options.amplitudeFilter || options.phaseFilter);
    const ownHalves = halvesFromSamePredictions(c);
    // Pattern-disjoint halves (gridsize 2): the half-set weightings compare them, the 'auto' refinement cross-validates on them.
    const disjointHalves = ownHalves ? undefined : options.halfSetGroups;
    const halfGroups = weighted ? disjointHalves : undefined;
    let refinedOnce: GroupRefinementSummary | undefined;
    const x = new Float32Array(b * c * n * n);
    const offsets = new Float32Array(b * c * 2);
    const patterns = new Int32Array(b * c);
    // The groups stitched once per entry of `counts`, each prediction refined by that many iterations (one refinement
    // pass serves them all: the smaller counts are its stages).
    const stitchAll = async (these: PatternGroups, halfSets: boolean, counts: readonly number[]): Promise<StitchResult[]> => {
      const most = Math.max(0, ...counts);
      const refiner = most > 0 ? new GroupRefinementThreads({ probe: data.probe, iterations: most, patternsPerGroup: c, countScale: options.countScale }, options.intraOpThreads ?? 1) : undefined;
      try {
        const stitchers = counts.map(() => stitcherFor(region, n, options.cropSize, these.count, { ...options, halfSets }, data.probe.data, c));
        const stages: RefinementStage[] = counts.length > 1 ? counts.map((iterations) => ({ iterations, amp: new Float32Array(b * n * n), phase: new Float32Array(b * n * n) })) : [];
        for (let start = 0; start < these.count; start += b) {
          checkSignal(options.signal);
          const valid = Math.min(b, these.count - start);
          for (let k = 0; k < b; k++) {
            const g = start + (k < valid ? k : 0);
            patterns.set(these.indices.subarray(g * c, (g + 1) * c), k * c);
            offsets.set(these.offsets.subarray(g * c * 2, (g + 1) * c * 2), k * c * 2);
          }
          await data.patterns.read(patterns, x);
          const feeds: Record<string, Tensor> = { [IO.diffraction]: new options.ort.Tensor('float32', x, [b, c, n, n]) };
          if (c > 1) feeds[IO.offsets] = new options.ort.Tensor('float32', offsets, [b, c, 2]);
          const out = await session.run(feeds);
          const amp = out[IO.amplitude].data as Float32Array;
          const phase = out[IO.phase].data as Float32Array;
          if (refiner) await refiner.refineBatch(amp, phase, x, offsets, valid, stages);
          stitchers.forEach((stitcher, s) => {
            const made = stages.length ? stages[s] : { amp, phase };
            addPredictions(stitcher, these, { amp: made.amp, phase: made.phase, x, count: valid, groupOf: (k) => start + k }, n, !!options.centroidRefinement, options.countScale);
          });
        }
        checkSignal(options.signal);
        if (refiner && these === groups) refinedOnce = refiner.summary();
        return stitchers.map((stitcher) => stitcher.result());
      } finally {
        refiner?.close();
      }
    };
    // Each set stitched at each of `counts`, in one pass per set: [count][set].
    const stitchEach = async (sets: readonly PatternGroups[], counts: readonly number[]): Promise<StitchResult[][]> => {
      const out: StitchResult[][] = counts.map(() => []);
      for (const set of sets) (await stitchAll(set, false, counts)).forEach((result, s) => out[s].push(result));
      return out;
    };

    // Gridsize 2 only: one pattern does not hold its own phase (README item 16).
    let refinement = c > 1 && typeof options.groupRefinement === 'number' ? options.groupRefinement : 0;
    let selection: RefinementSelection | undefined;
    let halvesAt: ((iterations: number) => [StitchResult, StitchResult]) | undefined;
    if (c > 1 && options.groupRefinement === 'auto') {
      if (disjointHalves) {
        const positions = [groupPatternPositions(data, disjointHalves.halves[0]), groupPatternPositions(data, disjointHalves.halves[1])] as const;
        const stitchHalves = async (counts: readonly number[]) => {
          const staged = [await stitchAll(disjointHalves.halves[0], false, counts), await stitchAll(disjointHalves.halves[1], false, counts)] as const;
          checkSignal(options.signal);
          return staged;
        };
        ({ selection, halvesAt } = await chooseRefinement(stitchHalves, region, positions, data.probe, options.countScale));
        refinement = selection.chosen;
      } else {
        selection = { chosen: 0, candidates: [], misfit: misfitKindOf(options.countScale), patterns: [0, 0], reason: 'the evaluation has no pattern-disjoint halves to cross-validate on', seconds: 0 };
      }
    }
    // With refinement, the network's own predictions are stitched too, in the same passes (the refiner's stage 0) and
    // through the same weightings and calibration: `networkAlone` keeps the network's estimate beside the refined one.
    const counts = refinement > 0 && options.networkAlone ? [refinement, 0] : [refinement];
    const [stitched, alone] = await stitchAll(groups, weighted && ownHalves, counts);
    const { object, weight } = stitched;
    type Halves = { images: [StitchResult, StitchResult]; counts: [number, number]; quarters?: { images: StitchResult[]; counts: number[] } };
    let halvesByCount: Halves[] | undefined;
    if (halfGroups) {
      const halfImages = halvesAt ? counts.map((k) => halvesAt!(k)) : (await stitchEach(halfGroups.halves, counts)) as [StitchResult, StitchResult][];
      const quarterImages = await stitchEach(halfGroups.quarters, counts);
      const halfCounts: [number, number] = [halfGroups.halves[0].count, halfGroups.halves[1].count];
      halvesByCount = counts.map((_, s) => ({ images: halfImages[s], counts: halfCounts, quarters: { images: quarterImages[s], counts: halfGroups.quarters.map((q) => q.count) } }));
    } else if (stitched.halves) {
      halvesByCount = [{ ...stitched.halves, quarters: undefined }];
    }
    const weigh = (image: StitchResult, halves: Halves | undefined) => halves
      ? filterByHalves(image, halves.images, halves.counts, region.width, region.height, { amplitude: options.amplitudeFilter, phase: options.phaseFilter }, halves.quarters)
      : {};
    const { amplitudeFilter, phaseFilter } = weigh(stitched, halvesByCount?.[0]);
    if (alone) weigh(alone, halvesByCount?.[1]);
    checkSignal(options.signal);
    // The patterns' positions once, for the headline and the network alone alike.
    const positions = options.contrastCalibration ? groupPatternPositions(data, groups) : undefined;
    const calibrate = (image: StitchResult) => positions
      ? calibratePhaseContrast({ region, object: image.object, weight: image.weight }, data.probe, positions, options.countScale)
      : undefined;
    const calibrated = await calibrate(stitched);
    const aloneCalibrated = alone && await calibrate(alone);
    const seconds = (performance.now() - started) / 1000;
    return {
      region, width: region.width, height: region.height, object: calibrated?.object ?? object, weight,
      groundTruth: data.object ? cropObject(data.object, region) : undefined,
      groups: groups.count, seconds, groupsPerSec: groups.count / seconds,
      ...(stitched.crosstalk ? { crosstalk: stitched.crosstalk } : {}),
      ...(stitched.centroidRefinement ? { centroidRefinement: stitched.centroidRefinement } : {}),
      ...(refinedOnce ? { groupRefinement: refinedOnce } : {}),
      ...(selection ? { groupRefinementSelection: selection } : {}),
      ...(alone ? { networkAlone: { object: aloneCalibrated?.object ?? alone.object, weight: alone.weight } } : {}),
      ...(stitched.rampRemoved ? { phaseRampRemoved: stitched.rampRemoved } : {}),
      ...(amplitudeFilter ? { amplitudeFilter } : {}),
      ...(phaseFilter ? { phaseFilter } : {}),
      ...(calibrated ? { contrastCalibration: calibrated.summary } : {}),
    };
  } finally {
    await session.release();
  }
}

/**
 * Each pattern the groups use, once, at its place on the canvas (its group's centre plus its offset, as the stitch
 * and the centroid step place it), read through the dataset.
 */
function groupPatternPositions(data: TrainingDataset, groups: PatternGroups): CalibrationPatterns {
  const c = groups.size;
  const seen = new Map<number, number>();
  for (let g = 0; g < groups.count; g++) {
    for (let k = 0; k < c; k++) {
      const index = groups.indices[g * c + k];
      if (!seen.has(index)) seen.set(index, g * c + k);
    }
  }
  const indices = Int32Array.from(seen.keys());
  const xs = new Float64Array(indices.length), ys = new Float64Array(indices.length);
  indices.forEach((index, i) => {
    const slot = seen.get(index)!, g = Math.floor(slot / c);
    xs[i] = groups.centers[2 * g] + groups.offsets[2 * slot];
    ys[i] = groups.centers[2 * g + 1] + groups.offsets[2 * slot + 1];
  });
  return { xs, ys, count: indices.length, read: (chosen, out) => data.patterns.read(Array.from(chosen, (i) => indices[i]), out) };
}
