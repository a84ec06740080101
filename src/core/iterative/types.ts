// Public types of the iterative baseline (Phase F): options, per-iteration reports and checkpoints.

/** A complex image, row-major, interleaved (re, im) float32 pairs — the simulator's and loader's layout. */
export interface ComplexImage {
  height: number;
  width: number;
  data: Float32Array;
}

/** A complex image as split float64 planes (the engine's working layout). */
export interface ComplexPlanes {
  width: number;
  height: number;
  re: Float64Array;
  im: Float64Array;
}

export type Algorithm = 'epie' | 'rpie';
export type ProbeMode = 'fixed' | 'refine';

/** Where the measured patterns come from (train/data.ts `PatternSource` fits). */
export interface AmplitudeReader {
  /** Copies patterns `indices` (N×N amplitudes each, fftshifted as stored) into out[offset …]. */
  read(indices: ArrayLike<number>, out: Float32Array, offset?: number): Promise<void>;
}

/**
 * Measured amplitudes: a count×N×N float32 stack in memory (fastest) or a reader. Amplitudes are the dataset's
 * `diffraction` as stored or loader-normalised — any global scale is absorbed by the probe scaling.
 */
export type AmplitudeSource = Float32Array | AmplitudeReader;

export interface ReconstructionOptions {
  /** Pattern and probe size N (a power of two). */
  n: number;
  /** Initial probe, N×N (the dataset's probeGuess). It is scaled once to the data's energy (see engine.ts). */
  probe: ComplexImage;
  /** Scan positions in object pixels (patch pixel (N/2, N/2) ↔ object coordinate (x, y)); may be fractional. */
  positions: { xs: ArrayLike<number>; ys: ArrayLike<number> };
  /** The object grid (objectGuess's shape), so the result lines up pixel for pixel with the ground truth. */
  objectShape: { width: number; height: number };
  /** 'epie' (Maiden & Rodenburg 2009) or 'rpie' (Maiden, Johnson & Li 2017). Default 'epie'. */
  algorithm?: Algorithm;
  /** ePIE: object step size (default 1). rPIE: object regularisation α ∈ (0, 1] (default 0.75; 1 = ePIE). */
  alpha?: number;
  /** ePIE: probe step size (default 1). rPIE: probe regularisation β ∈ [0, 1] (default 1). */
  beta?: number;
  /** Keep the probe ('fixed', default) or refine it ('refine'). */
  probeMode?: ProbeMode;
  /** First iteration (0-based) whose updates refine the probe, when probeMode is 'refine'; default 1. */
  probeStart?: number;
  /**
   * Momentum γ ∈ [0, 1] applied once per iteration (heavy ball, after mPIE; engine.ts applyMomentum); 0 = off
   * (default: the textbook algorithms). Fixed probe only. 0.5 with friction 0.9 is what bench:recon uses.
   */
  momentum?: number;
  /** Momentum friction η ∈ [0, 1); default 0.9. */
  friction?: number;
  /**
   * Annealing: over the last `anneal` fraction of `plannedIterations` the object step falls linearly from 1 to 0.2
   * of its value, so the last iterations average the Poisson noise out of the object instead of chasing each
   * pattern's (engine.ts annealFactor). 0 = off (default). Needs plannedIterations.
   */
  anneal?: number;
  /** The iterations the whole reconstruction will run (resumes included): the annealing schedule's length. */
  plannedIterations?: number;
  /**
   * Threads (1 or 2) for a fixed probe and an in-memory amplitude stack: the object is cut into stripes and two
   * threads update patterns of non-adjacent stripes at once (parallel.ts). The result does not depend on it: with a
   * fixed probe the visiting order is the stripe-grouped one for any thread count. Default 1.
   */
  threads?: number;
  /** The second thread's script (dist/iterative-thread.js); default: found next to the running bundle. */
  threadScript?: string;
  /** Seed of the random update order; default 0. */
  seed?: number;
  /**
   * Mean over patterns of Σ A² of the amplitudes the source delivers (loader-normalised data: (N/2)²).
   * Default: measured from the source on the first `iterate` call.
   */
  measuredEnergy?: number;
}

export interface IterationReport {
  /** Iterations completed, counting from the start of the reconstruction (1 after the first). */
  iteration: number;
  /** Mean squared amplitude error per detector pixel, Σ(|Ψ|/N − A)² / (patterns·N²), as each pattern was visited. */
  mse: number;
  /** The same error relative to the data: Σ(|Ψ|/N − A)² / Σ A². */
  relativeError: number;
  /** Whether this iteration refined the probe. */
  probeUpdated: boolean;
  seconds: number;
}

export interface IterateOptions {
  /** Checked between iterations: an aborted signal stops after the current iteration (AbortError). */
  signal?: AbortSignal;
  /** Called after each iteration (e.g. to log or checkpoint). */
  onIteration?: (report: IterationReport) => void;
}

/** Everything needed to resume bit-identically (the update order is a pure function of seed and iteration). */
export interface ReconstructionSnapshot {
  version: 1;
  algorithm: Algorithm | 'ad';
  n: number;
  width: number;
  height: number;
  patterns: number;
  seed: number;
  iteration: number;
  /** The factor applied to the initial probe (null until the first iteration measured the data's energy). */
  probeScale: number | null;
  objectRe: Float64Array;
  objectIm: Float64Array;
  probeRe: Float64Array;
  probeIm: Float64Array;
  /** The momentum velocity (null without momentum). At iteration boundaries it is the only momentum state. */
  velocityRe: Float64Array | null;
  velocityIm: Float64Array | null;
  /** The ad reconstructor's Adam state: its step count and moments (m_<param>, v_<param>). */
  optimizer?: { step: number; moments: Record<string, Float64Array> };
}
