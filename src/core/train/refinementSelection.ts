// How many iterations of group refinement the data support, decided by the data (training.groupRefinement 'auto';
// README item 44). Refining a group on its own four patterns corrects what the network missed but, past some
// iteration count, fits the patterns' Poisson noise: at dose 1e5 the held-out study gained most from 30 iterations,
// at 1e3 three already cost amplitude SSIM (item 43). Cross-validation tells the two apart without ground truth: the
// evaluation's two pattern-disjoint halves are each refined and stitched at the candidate counts, and each half's
// stitch predicts the OTHER half's patterns (which it never saw). Detail the object really has predicts them better;
// noise fitted into one half does not. The count with the lowest held-out misfit is chosen. The counts come in steps
// (REFINEMENT_STEPS): the next step is refined only where the largest count tried so far won.
import type { ComplexArray } from './data';
import { misfit, misfitKindOf, PatternPredictor, patternsLitOn, usableCountScale, type CalibrationPatterns, type MisfitKind } from './patternFit';
import type { StitchRegion } from './stitch';

/**
 * The counts compared, in steps; each step costs one refinement pass of the halves (to its largest count) and is
 * taken only where the largest count of the steps before it won on held-out patterns. None against one first: every
 * curve item 44 measured was monotone (falling to 30, or rising from 1), so where nothing is gained this costs a
 * thirtieth of the full pass. 100 only where 30 beat 10: the held-out deviance of the benchmark's structured dense
 * model and of the held-out independent study still fell at 30 (README item 46).
 */
export const REFINEMENT_STEPS: readonly (readonly number[])[] = [[0, 1], [3, 10, 30], [100]];
/** Every count the selection may compare. */
export const REFINEMENT_CANDIDATES: readonly number[] = REFINEMENT_STEPS.flat();
/** Held-out patterns each half's stitch predicts at most (spread evenly): the check's cost stays bounded. */
export const SELECTION_MAX_PATTERNS = 256;
/** Fewer held-out patterns than this in all: too few to judge by (a small or sparse evaluation); nothing is refined. */
export const SELECTION_MIN_PATTERNS = 16;

/** What the selection measured (metrics.json `groupRefinementSelection`). */
export interface RefinementSelection {
  /** The iterations chosen (0 when refinement did not help held-out patterns, or could not be judged). */
  chosen: number;
  /** Each candidate and its held-out misfit per detector pixel (mean over the two directions). */
  candidates: { iterations: number; misfit: number }[];
  misfit: MisfitKind;
  /** Held-out patterns predicted: by half 0's stitch (half 1's patterns), by half 1's (half 0's). */
  patterns: [number, number];
  /** Why nothing could be judged, when so. */
  reason?: string;
  /** Why the larger candidates were not tried (the largest count tried did not win), when so. */
  stopped?: string;
  seconds: number;
}

/** A half's stitch on the evaluation region: interleaved complex object and summed weights. */
export interface HalfStitch { object: Float32Array; weight: Float32Array }

/**
 * Chooses among `stitches[h][s]` (half h's stitch refined by `candidates[s]` iterations) by how well each predicts
 * the other half's patterns. `patterns[h]`: half h's patterns at their object positions.
 */
export async function selectRefinement(
  candidates: readonly number[], region: StitchRegion, stitches: readonly [readonly HalfStitch[], readonly HalfStitch[]],
  patterns: readonly [CalibrationPatterns, CalibrationPatterns], probe: ComplexArray, countScale?: number,
): Promise<RefinementSelection> {
  const started = performance.now();
  const photons = usableCountScale(countScale);
  const kind = misfitKindOf(countScale);
  const n = probe.width;
  const sums = candidates.map(() => 0);
  const used: [number, number] = [0, 0];
  for (const h of [0, 1] as const) {
    const held = patterns[1 - h];
    const first = stitches[h][0];
    // The same held-out patterns for every candidate: the weights do not depend on the refinement.
    const chosen = patternsLitOn(first.weight, region, probe, held, SELECTION_MAX_PATTERNS);
    used[h] = chosen.length;
    if (chosen.length === 0) continue;
    const measured = new Float32Array(chosen.length * n * n);
    await held.read(chosen, measured);
    const predictor = new PatternPredictor(probe, region);
    const intensity = new Float64Array(chosen.length * n * n);
    candidates.forEach((_, s) => {
      predictor.load(stitches[h][s].object);
      predictor.predict(held, chosen, intensity);
      sums[s] += misfit(intensity, measured, photons);
    });
  }
  const seconds = (performance.now() - started) / 1000;
  const directions = (used[0] > 0 ? 1 : 0) + (used[1] > 0 ? 1 : 0);
  const scored = candidates.map((iterations, s) => ({ iterations, misfit: directions > 0 ? sums[s] / directions : NaN }));
  const reason = used[0] + used[1] < SELECTION_MIN_PATTERNS
    ? `${used[0] + used[1]} held-out patterns have ≥ 95 % of their probe light on the other half's covered canvas; ${SELECTION_MIN_PATTERNS} are needed to judge`
    : scored.some((c) => !Number.isFinite(c.misfit)) ? 'a stitch predicts no light for the held-out patterns' : undefined;
  if (reason) return { chosen: 0, candidates: scored, misfit: kind, patterns: used, reason, seconds };
  // The lowest held-out misfit; a tie goes to fewer iterations (the network's own estimate first).
  let best = 0;
  scored.forEach((c, s) => { if (c.misfit < scored[best].misfit) best = s; });
  return { chosen: scored[best].iterations, candidates: scored, misfit: kind, patterns: used, seconds };
}

/** Stitches of the two halves, one per count asked for, each refined by that many iterations. */
export type HalfStitcher<S extends HalfStitch> = (counts: readonly number[]) => Promise<readonly [readonly S[], readonly S[]]>;

/**
 * The selection in REFINEMENT_STEPS: none against one iteration first, each further step only where the largest count
 * tried so far won. Returns what was measured and the two halves' stitches at each count tried.
 */
export async function chooseRefinement<S extends HalfStitch>(
  stitchHalves: HalfStitcher<S>, region: StitchRegion, patterns: readonly [CalibrationPatterns, CalibrationPatterns], probe: ComplexArray, countScale?: number,
): Promise<{ selection: RefinementSelection; halvesAt: (iterations: number) => [S, S] }> {
  let counts: number[] = [...REFINEMENT_STEPS[0]];
  let staged = await stitchHalves(counts);
  let selection = await selectRefinement(counts, region, staged, patterns, probe, countScale);
  let seconds = selection.seconds;
  for (let step = 1; step < REFINEMENT_STEPS.length && !selection.reason; step++) {
    const largest = counts[counts.length - 1];
    if (selection.chosen !== largest) {
      const untried = REFINEMENT_STEPS.slice(step).flat().join(', ');
      selection.stopped = largest === 1
        ? `1 iteration did not lower the held-out misfit; ${untried} not tried`
        : `${largest} iterations did not lower the held-out misfit below ${selection.chosen}'s; ${untried} not tried`;
      break;
    }
    const next = await stitchHalves(REFINEMENT_STEPS[step]);
    staged = [[...staged[0], ...next[0]], [...staged[1], ...next[1]]];
    counts = [...counts, ...REFINEMENT_STEPS[step]];
    selection = await selectRefinement(counts, region, staged, patterns, probe, countScale);
    seconds += selection.seconds;
  }
  selection.seconds = seconds;
  const tried = selection.candidates.map((candidate) => candidate.iterations);
  const halvesAt = (iterations: number): [S, S] => {
    const s = tried.indexOf(iterations);
    if (s < 0) throw new Error(`the halves were not stitched at ${iterations} iterations (tried: ${tried.join(', ')})`);
    return [staged[0][s], staged[1][s]];
  };
  return { selection, halvesAt };
}

/** One log line: what each count's held-out misfit was, and the count chosen. */
export function describeRefinementSelection(s: RefinementSelection): string {
  const list = s.candidates.map((c) => `${c.iterations}: ${Number.isFinite(c.misfit) ? c.misfit.toExponential(4) : '—'}`).join(', ');
  const what = s.misfit === 'poisson-deviance' ? 'Poisson deviance' : 'squared amplitude error';
  if (s.reason) return `Group refinement 'auto': not judged (${s.reason}); the network's predictions stitched as they are.`;
  return `Group refinement 'auto': ${s.chosen} iterations chosen — each half's stitch predicting the other half's patterns (${s.patterns[0]} + ${s.patterns[1]} held out), ${what} per detector pixel by iterations ${list}${s.stopped ? ` (${s.stopped})` : ''}; ${s.seconds.toFixed(1)} s.`;
}
