// The two half-set reconstructions behind a Phase F run's amplitude and phase weightings (reconstructionEvaluation.ts), so
// that they are scored as a training job's is (train/halfSetFilter.ts, README items 24–25): the even and the
// odd patterns of the job's split, each reconstructed on its own by the same engine with the same settings and
// iterations. Their FRC says which spatial frequencies independent halves of the data reproduce.
// Not checkpointed: they are a pure function of the data and the settings, and a resume re-scores by running them
// again. Together they cost about what the full reconstruction did (each visits half the patterns).
import type { AmplitudeReader, AmplitudeSource, ComplexImage, ComplexPlanes } from '../iterative';
import { probePeak } from '../iterative';
import type { EventBody, ReconHalvesEvent } from './events';
import { normalizedIllumination } from './reconstructionEvaluation';

/** What a half needs of an engine (ePIE/rPIE's Reconstruction and AdReconstruction both fit). */
export interface HalfEngine {
  readonly iteration: number;
  readonly probe: ComplexPlanes;
  iterate(source: AmplitudeSource, count: number): Promise<unknown>;
  weight(): Float64Array;
  objectImage(): ComplexImage;
  release(): void | Promise<void>;
}

/** One half's result on the full object grid. */
export interface HalfReconstruction {
  object: ComplexImage;
  /** Illumination in units of one exposure at the half's final probe's peak (as the full run's weight). */
  weight: Float64Array;
  patterns: number;
}

export interface HalfSetResult {
  halves: [HalfReconstruction, HalfReconstruction];
  seconds: number;
}

/** The pattern indices of the even and of the odd half (interleaved, so both halves span the whole scan). */
export function halfIndices(count: number): [Int32Array, Int32Array] {
  const even = Int32Array.from({ length: Math.ceil(count / 2) }, (_, k) => 2 * k);
  const odd = Int32Array.from({ length: Math.floor(count / 2) }, (_, k) => 2 * k + 1);
  return [even, odd];
}

/** The patterns `indices` of `source`, as the engines read them (a copied stack, or a reader that maps indices). */
export function subsetSource(source: AmplitudeSource, indices: Int32Array, n: number): AmplitudeSource {
  const size = n * n;
  if (source instanceof Float32Array) {
    const out = new Float32Array(indices.length * size);
    for (let k = 0; k < indices.length; k++) out.set(source.subarray(indices[k] * size, (indices[k] + 1) * size), k * size);
    return out;
  }
  const reader: AmplitudeReader = {
    read: (wanted, out, offset = 0) => source.read(Int32Array.from(wanted as ArrayLike<number>, (k) => indices[k]), out, offset),
  };
  return reader;
}

/** The scan positions of `indices`. */
export function subsetPositions(positions: { xs: ArrayLike<number>; ys: ArrayLike<number> }, indices: Int32Array): { xs: Float64Array; ys: Float64Array } {
  return { xs: Float64Array.from(indices, (i) => positions.xs[i]), ys: Float64Array.from(indices, (i) => positions.ys[i]) };
}

/** Where the halves stand after one of their iterations: the run's `recon-halves` event. */
export type HalfSetProgress = EventBody<ReconHalvesEvent>;

/**
 * Reconstructs the even and the odd half, one after the other, for `iterations` each; `progress` hears of every
 * iteration. Returns undefined when `cancelled()` turned true between two iterations (nothing of the halves is kept).
 */
export async function reconstructHalves(opts: {
  count: number;
  n: number;
  source: AmplitudeSource;
  iterations: number;
  create: (indices: Int32Array) => Promise<HalfEngine>;
  cancelled: () => boolean;
  progress?: (p: HalfSetProgress) => void;
}): Promise<HalfSetResult | undefined> {
  const started = performance.now();
  const results: HalfReconstruction[] = [];
  // The ETA uses the mean time per iteration over both halves so far: one iteration's time swings with the load.
  let iterated = 0;
  let iteratedSeconds = 0;
  for (const [k, indices] of halfIndices(opts.count).entries()) {
    const half = (k + 1) as 1 | 2;
    const engine = await opts.create(indices);
    try {
      const source = subsetSource(opts.source, indices, opts.n);
      while (engine.iteration < opts.iterations) {
        if (opts.cancelled()) return undefined;
        const t0 = performance.now();
        await engine.iterate(source, 1);
        const seconds = (performance.now() - t0) / 1000;
        iterated += 1;
        iteratedSeconds += seconds;
        const left = opts.iterations - engine.iteration + (half === 1 ? opts.iterations : 0);
        opts.progress?.({ type: 'recon-halves', half, patterns: indices.length, iteration: engine.iteration, iterations: opts.iterations, seconds, etaSeconds: left * (iteratedSeconds / iterated) });
      }
      results.push({ object: engine.objectImage(), weight: normalizedIllumination(engine.weight(), probePeak(engine.probe)), patterns: indices.length });
    } finally {
      await engine.release();
    }
  }
  return { halves: [results[0], results[1]], seconds: (performance.now() - started) / 1000 };
}
