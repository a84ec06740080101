// Configuration of the study simulator: defaults (study design, domain.md §1) and validation with
// one-sentence errors.
import { isPowerOfTwo } from '../fft';
import { GROUP_SIZE } from './grouping';

export interface OverlapViewConfig {
  /** Folder and file stem of the view, e.g. `dense` → phase_d/dose_<int>/dense/dense_train.npz. */
  name: string;
  /** Fraction of the split's images kept (s_img ∈ (0, 1]). */
  sImg: number;
  /** Groups per split; 0 (or less) means "as many as images after subsampling". */
  nGroups: number;
}

export interface SimulationConfig {
  /** Study root; writes <outDir>/phase_c/…, <outDir>/phase_d/… and <outDir>/study.json. */
  outDir: string;
  /** Photons per pattern (mean total counts), default [1e3, 1e4, 1e5]. */
  doses: number[];
  /** Patterns per dose before the train/test split, default 400. */
  nImages: number;
  /** Pattern and probe size N (a power of two), default 64. With baseNpz it must equal the probe size. */
  size: number;
  /** Simulation seed (positions, synthetic object, Poisson noise), default 42. */
  seed: number;
  /** Optional base dataset holding objectGuess (complex, H×W) and probeGuess (complex, N×N). */
  baseNpz?: string;
  /** Synthetic object: 'structured' (multi-scale, default) or 'smooth' (specimen-like). Not with baseNpz. */
  objectKind?: 'structured' | 'smooth';
  /** Side of the synthetic object; default defaultObjectSize(size, nImages). Not allowed with baseNpz. */
  objectSize?: number;
  /** Train fraction along y (split_point = min y + fraction·(max y − min y)), default 0.5. */
  splitFraction: number;
  /** Phase D views, default dense (s_img 1.0) and sparse (s_img 0.4), n_groups = images after subsampling. */
  views: OverlapViewConfig[];
  /** K nearest neighbours for gridsize-2 groups and the overlap metrics, default 7 (≥ C = 4). */
  neighborCount: number;
  /** Deflate the arrays (np.savez_compressed); default false: stored members allow random frame access. */
  compress?: boolean;
  /** Seed of the Phase D image subsampling (rng_seed_subsample), default 456 (study design). */
  subsampleSeed?: number;
  /** Seed of the Phase D group formation, default 123 (study design `grouping`). */
  groupingSeed?: number;
  /** Probe diameter D for the overlap metrics; default the probe's FWHM, else 0.6·N. */
  probeDiameterPx?: number;
  /**
   * Creation time written into `_metadata` and study.json (ISO 8601). Default: the time of the run. Fix it
   * to make the arrays, metadata and metrics byte-identical between runs.
   */
  timestamp?: string;
  /**
   * Memory (bytes) the simulator may use to keep clean and noisy patterns between passes; default 512 MiB.
   * Above it patterns are recomputed when needed: identical output, more time.
   */
  cacheBytes?: number;
}

/** Study design seeds (domain.md §1). */
export const DEFAULT_SEEDS = { simulation: 42, grouping: 123, subsampling: 456 } as const;
export const DEFAULT_DOSES: readonly number[] = [1e3, 1e4, 1e5];
export const DEFAULT_CACHE_BYTES = 512 * 1024 ** 2;
export const MAX_SIZE = 512;

export function defaultSimulationConfig(outDir: string): SimulationConfig {
  return {
    outDir,
    doses: [...DEFAULT_DOSES],
    nImages: 400,
    size: 64,
    seed: DEFAULT_SEEDS.simulation,
    splitFraction: 0.5,
    views: [
      { name: 'dense', sImg: 1.0, nGroups: 0 },
      { name: 'sparse', sImg: 0.4, nGroups: 0 },
    ],
    neighborCount: 7,
    compress: false,
  };
}

/**
 * Side of the synthetic object: at least max(4·N, 256), and large enough that nImages random positions
 * have the density of a raster with step N/8 (8 px at N = 64: with the probe's ~N/2 FWHM that is ~75 %
 * linear overlap for the dense view, ~60 % for s_img = 0.4), rounded up to a multiple of 8.
 */
export function defaultObjectSize(n: number, nImages: number): number {
  const scanned = (n / 8) * Math.sqrt(Math.max(1, nImages));
  const side = Math.max(4 * n, 256, Math.ceil(n + 2 + scanned));
  return Math.ceil(side / 8) * 8;
}

/** `dose_<int>` as the study names dose folders. */
export function doseFolder(dose: number): string {
  return `dose_${Math.trunc(dose)}`;
}

const VIEW_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Throws an Error naming the first problem of `cfg`. */
export function validateSimulationConfig(cfg: SimulationConfig): void {
  const fail = (msg: string): never => {
    throw new Error(msg);
  };
  if (typeof cfg.outDir !== 'string' || cfg.outDir.trim() === '') fail('The output folder (outDir) is required.');
  if (!Array.isArray(cfg.doses) || cfg.doses.length === 0) fail('At least one dose is required.');
  const folders = new Map<string, number>();
  for (const d of cfg.doses) {
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 1) fail(`Dose ${d} is not valid: doses are photons per pattern, finite and ≥ 1.`);
    const f = doseFolder(d);
    if (folders.has(f)) fail(`Doses ${folders.get(f)} and ${d} would both be written to ${f}; use distinct integer doses.`);
    folders.set(f, d);
  }
  if (!Number.isSafeInteger(cfg.nImages) || cfg.nImages < 8) fail(`nImages must be an integer ≥ 8 (got ${cfg.nImages}).`);
  if (!isPowerOfTwo(cfg.size) || cfg.size < 8 || cfg.size > MAX_SIZE) fail(`size must be a power of two between 8 and ${MAX_SIZE} (got ${cfg.size}); the study uses 64 or 128.`);
  if (!Number.isSafeInteger(cfg.seed)) fail(`seed must be an integer (got ${cfg.seed}).`);
  for (const [name, v] of [['subsampleSeed', cfg.subsampleSeed], ['groupingSeed', cfg.groupingSeed]] as const) {
    if (v !== undefined && !Number.isSafeInteger(v)) fail(`${name} must be an integer (got ${v}).`);
  }
  if (!(cfg.splitFraction > 0 && cfg.splitFraction < 1)) fail(`splitFraction must be between 0 and 1, exclusive (got ${cfg.splitFraction}).`);
  if (cfg.objectKind !== undefined) {
    if (cfg.objectKind !== 'structured' && cfg.objectKind !== 'smooth') fail(`objectKind must be 'structured' or 'smooth' (got ${String(cfg.objectKind)}).`);
    if (cfg.baseNpz !== undefined) fail('objectKind applies to the synthetic object only; it cannot be combined with baseNpz (the base objectGuess is the object).');
  }
  if (cfg.objectSize !== undefined) {
    if (cfg.baseNpz !== undefined) fail('objectSize applies to the synthetic object only; it cannot be combined with baseNpz (the base objectGuess sets the size).');
    if (!Number.isSafeInteger(cfg.objectSize) || cfg.objectSize < cfg.size + 4) fail(`objectSize must be an integer ≥ size + 4 = ${cfg.size + 4} (got ${cfg.objectSize}).`);
    if (cfg.objectSize > 16384) fail(`objectSize ${cfg.objectSize} is larger than 16384.`);
  }
  if (!Number.isInteger(cfg.neighborCount) || cfg.neighborCount < GROUP_SIZE) {
    fail(`neighborCount must be an integer ≥ ${GROUP_SIZE} (got ${cfg.neighborCount}): gridsize 2 groups choose ${GROUP_SIZE} of the K nearest neighbours (OVERSAMPLING-001).`);
  }
  if (!Array.isArray(cfg.views)) fail('views must be a list (it may be empty).');
  const names = new Set<string>();
  for (const v of cfg.views) {
    if (typeof v.name !== 'string' || !VIEW_NAME.test(v.name)) fail(`View name ${JSON.stringify(v.name)} is not a valid folder name (letters, digits, _ . -).`);
    if (v.name === 'baseline') fail('"baseline" names the gridsize 1 Phase C job; choose another view name.');
    if (names.has(v.name)) fail(`View ${v.name} is listed twice.`);
    names.add(v.name);
    if (!(v.sImg > 0 && v.sImg <= 1)) fail(`View ${v.name}: s_img must be in (0, 1] (got ${v.sImg}).`);
    if (!Number.isInteger(v.nGroups)) fail(`View ${v.name}: nGroups must be an integer (0 = one group per image; got ${v.nGroups}).`);
  }
  if (cfg.probeDiameterPx !== undefined && !(cfg.probeDiameterPx > 0 && Number.isFinite(cfg.probeDiameterPx))) fail(`probeDiameterPx must be a positive number (got ${cfg.probeDiameterPx}).`);
  if (cfg.timestamp !== undefined && Number.isNaN(Date.parse(cfg.timestamp))) fail(`timestamp ${JSON.stringify(cfg.timestamp)} is not an ISO 8601 date.`);
  if (cfg.cacheBytes !== undefined && !(cfg.cacheBytes >= 0)) fail(`cacheBytes must be ≥ 0 (got ${cfg.cacheBytes}).`);
}
