// The study simulator: one set of scan positions over one object, clean far-field intensities computed once,
// Poisson noise per dose (same positions and object for every dose, so the study compares like with like),
// Phase C train/test files split along y, and Phase D overlap views (subsampled, KNN-grouped, with overlap
// metrics) derived from the same noisy patterns. Files are streamed through the atomic NPZ writer; a
// cancelled or failed run removes what it wrote, so no partial study is left behind.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { writeJsonAtomic } from '../atomic';
import { ndarray, NpzWriter, scalarString, type NdArray } from '../npy';
import { loadBaseDataset } from './base';
import {
  DEFAULT_CACHE_BYTES, DEFAULT_SEEDS, defaultObjectSize, doseFolder, validateSimulationConfig,
  type OverlapViewConfig, type SimulationConfig,
} from './config';
import { isPowerOfTwo } from '../fft';
import { FarField } from './forward';
import { formGroups, GROUP_SIZE, subsampleIndices, type GroupingResult } from './grouping';
import { METADATA_SCHEMA_VERSION, phaseCMetadata, phaseDMetadata, SIMULATOR_SCRIPT, SIMULATOR_VERSION } from './metadata';
import { noisyAmplitude, patternNoiseRng, simulationScale } from './noise';
import { computeOverlapMetrics, METRICS_VERSION, type OverlapMetrics } from './overlap';
import { Rng } from './rng';
import { probeDiameterPx, smoothObject, syntheticObject, syntheticProbe, type ComplexImage } from './synthetic';
import { abortError } from '../abort';

export interface SimulationReport {
  /** Every file written, absolute paths, in the order written (study.json last). */
  files: string[];
  doses: { dose: number; train: number; test: number; meanCounts: number }[];
  seconds: number;
}

export type ProgressCallback = (msg: string, fraction: number) => void;

const SPLITS = ['train', 'test'] as const;
type Split = (typeof SPLITS)[number];

/** Bytes of diffraction generated per write call (bounded memory per chunk, frequent cancellation checks). */
const CHUNK_BYTES = 2 * 1024 * 1024;
/** Longest stretch of computation between two turns of the event loop (so a cancellation is seen). */
const MAX_BUSY_MS = 30;

const cancelled = (): Error => abortError('The simulation was cancelled.');

/** Yields to the event loop every MAX_BUSY_MS and throws AbortError once `signal` is aborted. */
class Pacer {
  private last = performance.now();
  constructor(private readonly signal?: AbortSignal) {}

  check(): void {
    if (this.signal?.aborted) throw cancelled();
  }

  async tick(): Promise<void> {
    if (performance.now() - this.last >= MAX_BUSY_MS) {
      await nextTurn();
      this.last = performance.now();
    }
    this.check();
  }
}

class Progress {
  private done = 0;
  total = 1;
  constructor(private readonly cb?: ProgressCallback) {}

  advance(units: number, msg: string): void {
    this.done += units;
    this.report(msg);
  }

  report(msg: string): void {
    this.cb?.(msg, Math.min(1, Math.max(0, this.done / this.total)));
  }

  finish(msg: string): void {
    this.done = this.total;
    this.report(msg);
  }
}

const littleEndian = os.endianness() === 'LE';

function leBytes(a: Float32Array): Uint8Array {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  if (littleEndian) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    out[i] = bytes[i + 3];
    out[i + 1] = bytes[i + 2];
    out[i + 2] = bytes[i + 1];
    out[i + 3] = bytes[i];
  }
  return out;
}

/** Clean intensities, kept in memory when the budget allows, else recomputed (rounded to float32 either way). */
class CleanPatterns {
  private readonly scratch: Float32Array;
  constructor(
    private readonly farField: FarField,
    private readonly object: ComplexImage,
    private readonly xs: Float64Array,
    private readonly ys: Float64Array,
    private readonly n2: number,
    readonly cache: Float32Array | undefined,
  ) {
    this.scratch = new Float32Array(n2);
  }

  /** Computes pattern p (into the cache when there is one) and returns Σ I in double precision. */
  compute(p: number): number {
    return this.farField.intensity(this.object, this.xs[p], this.ys[p], this.cache ?? this.scratch, this.cache ? p * this.n2 : 0);
  }

  get(p: number): { data: Float32Array; offset: number } {
    if (this.cache) return { data: this.cache, offset: p * this.n2 };
    this.compute(p);
    return { data: this.scratch, offset: 0 };
  }
}

/** Noisy normalized amplitudes of one dose; each pattern's noise has its own stream, so any order gives the same data. */
class NoisyPatterns {
  readonly counts: Float64Array;
  constructor(
    readonly dose: number,
    readonly sSim: number,
    private readonly seed: number,
    private readonly clean: CleanPatterns,
    private readonly n2: number,
    count: number,
    private readonly cache: Float32Array | undefined,
  ) {
    this.counts = new Float64Array(count).fill(NaN);
  }

  get cached(): boolean {
    return this.cache !== undefined;
  }

  fill(p: number, out: Float32Array, offset: number): void {
    const n2 = this.n2;
    if (this.cache && !Number.isNaN(this.counts[p])) {
      out.set(this.cache.subarray(p * n2, (p + 1) * n2), offset);
      return;
    }
    const c = this.clean.get(p);
    this.counts[p] = noisyAmplitude(c.data, c.offset, n2, this.sSim, patternNoiseRng(this.seed, this.dose, p), out, offset);
    if (this.cache) this.cache.set(out.subarray(offset, offset + n2), p * n2);
  }

  meanCounts(rows: ArrayLike<number>): number {
    let s = 0;
    for (let i = 0; i < rows.length; i++) s += this.counts[rows[i]];
    return rows.length > 0 ? s / rows.length : 0;
  }
}

interface ViewSplitPlan {
  view: OverlapViewConfig;
  split: Split;
  /** Global pattern indices of the view file's rows (ascending). */
  rows: Int32Array;
  nImagesTotal: number;
  nGroups: number;
  grouping: GroupingResult;
  metrics: OverlapMetrics;
}

/** Writes files and directories, remembering what it created so a failed run can take it back. */
class OutputTracker {
  readonly files: string[] = [];
  private readonly createdDirs: string[] = [];

  async ensureDir(dir: string): Promise<void> {
    const missing: string[] = [];
    for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) {
      missing.push(d);
      if (path.dirname(d) === d) break;
    }
    await fs.promises.mkdir(dir, { recursive: true });
    this.createdDirs.push(...missing);
  }

  async rollback(): Promise<void> {
    for (const f of [...this.files].reverse()) await fs.promises.rm(f, { force: true }).catch(() => undefined);
    const dirs = [...new Set(this.createdDirs)].sort((a, b) => b.length - a.length);
    for (const d of dirs) await fs.promises.rmdir(d).catch(() => undefined); // only empty folders go
  }
}

function rowsWhere(n: number, pred: (i: number) => boolean): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) if (pred(i)) out.push(i);
  return Int32Array.from(out);
}

function pick(src: Float64Array, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = src[rows[i]];
  return out;
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

function formatDoseLabel(dose: number): string {
  const e = Math.log10(dose);
  return Number.isInteger(e) ? `1e${e}` : String(dose);
}

/** Runs the whole simulation described by `cfg`. See SimulationConfig for the layout written. */
export async function simulateStudy(cfg: SimulationConfig, onProgress?: ProgressCallback, signal?: AbortSignal): Promise<SimulationReport> {
  const started = performance.now();
  validateSimulationConfig(cfg);
  const pacer = new Pacer(signal);
  pacer.check();
  const progress = new Progress(onProgress);
  const timestamp = cfg.timestamp ?? new Date().toISOString();
  const outDir = path.resolve(cfg.outDir);
  const subsampleSeed = cfg.subsampleSeed ?? DEFAULT_SEEDS.subsampling;
  const groupingSeed = cfg.groupingSeed ?? DEFAULT_SEEDS.grouping;
  const K = cfg.neighborCount;
  const nImages = cfg.nImages;

  // ---- ground truth
  progress.report(cfg.baseNpz ? `Reading objectGuess and probeGuess from ${cfg.baseNpz}` : 'Building the synthetic object and probe');
  let object: ComplexImage;
  let probe: ComplexImage;
  let objectSource: string;
  let probeSource: string;
  if (cfg.baseNpz) {
    ({ object, probe } = await loadBaseDataset(cfg.baseNpz));
    objectSource = probeSource = path.resolve(cfg.baseNpz);
    if (probe.height !== probe.width) throw new Error(`probeGuess in base dataset ${cfg.baseNpz} must be square, but it is ${probe.height}×${probe.width}.`);
    if (!isPowerOfTwo(probe.width) || probe.width < 8) {
      throw new Error(`probeGuess in base dataset ${cfg.baseNpz} is ${probe.width}×${probe.width}; the simulator needs a power-of-two probe size of at least 8 (the study uses 64 or 128).`);
    }
    if (probe.width !== cfg.size) {
      throw new Error(`probeGuess in base dataset ${cfg.baseNpz} is ${probe.width}×${probe.width}, so the patterns would be ${probe.width}×${probe.width}, but size is ${cfg.size}; set size to ${probe.width} (the pattern size is the probe size).`);
    }
    if (object.width <= cfg.size + 2 || object.height <= cfg.size + 2) {
      throw new Error(`objectGuess in base dataset ${cfg.baseNpz} is ${object.height}×${object.width}: too small for ${cfg.size}×${cfg.size} patterns (each side must exceed ${cfg.size + 2} pixels).`);
    }
  } else {
    const m = cfg.objectSize ?? defaultObjectSize(cfg.size, nImages);
    probe = syntheticProbe(cfg.size);
    await pacer.tick();
    const smooth = cfg.objectKind === 'smooth';
    object = smooth ? smoothObject(m, cfg.size, cfg.seed) : syntheticObject(m, cfg.size, cfg.seed);
    objectSource = `synthetic ${smooth ? 'smooth' : 'structured'} (seed ${cfg.seed})`;
    probeSource = 'synthetic (disc radius N/4, quadratic phase)';
  }
  await pacer.tick();
  const N = probe.width;
  const n2 = N * N;
  const measured = probeDiameterPx(probe);
  const diameter = cfg.probeDiameterPx ?? measured.diameter;
  const diameterSource = cfg.probeDiameterPx !== undefined ? 'config' : measured.measured ? 'probe FWHM (half-maximum area)' : 'fallback 0.6·N';

  // ---- scan positions (domain.md §3.2: uniform inside the object minus a border; +1 for the bilinear neighbour)
  const buffer = N / 2 + 1;
  const posRng = new Rng(cfg.seed, 'scan-positions');
  const xs = new Float64Array(nImages);
  const ys = new Float64Array(nImages);
  for (let i = 0; i < nImages; i++) {
    xs[i] = posRng.uniformIn(buffer, object.width - buffer);
    ys[i] = posRng.uniformIn(buffer, object.height - buffer);
  }

  // ---- train/test split along y (split_dataset_tool: train = y < min + f·(max − min))
  let minY = Infinity;
  let maxY = -Infinity;
  for (const y of ys) {
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  }
  const splitPoint = minY + (maxY - minY) * cfg.splitFraction;
  const splitRows: Record<Split, Int32Array> = {
    train: rowsWhere(nImages, (i) => ys[i] < splitPoint),
    test: rowsWhere(nImages, (i) => ys[i] >= splitPoint),
  };
  for (const s of SPLITS) {
    if (splitRows[s].length === 0) throw new Error(`The ${s} split is empty (split fraction ${cfg.splitFraction} of ${nImages} positions); use more images or a split fraction nearer 0.5.`);
  }

  // ---- Phase D plans: subsampling, groups and metrics depend only on positions, so they serve every dose.
  const plans: ViewSplitPlan[] = [];
  for (const view of cfg.views) {
    for (const split of SPLITS) {
      const parentRows = splitRows[split];
      let sub: Int32Array;
      try {
        sub = subsampleIndices(parentRows.length, view.sImg, new Rng(subsampleSeed, 'subsample', view.name, split));
      } catch (err) {
        throw new Error(`View ${view.name}, ${split} split: ${(err as Error).message}.`);
      }
      if (sub.length < GROUP_SIZE) {
        throw new Error(`View ${view.name}, ${split} split: s_img=${view.sImg} keeps ${sub.length} of ${parentRows.length} images, but a gridsize 2 group needs ${GROUP_SIZE}; simulate more images or raise s_img.`);
      }
      const rows = Int32Array.from(sub, (i) => parentRows[i]);
      const vx = pick(xs, rows);
      const vy = pick(ys, rows);
      const nGroups = view.nGroups > 0 ? view.nGroups : rows.length;
      const grouping = formGroups(vx, vy, nGroups, K, new Rng(groupingSeed, 'grouping', view.name, split));
      const metrics = computeOverlapMetrics({
        xs: vx, ys: vy, nImagesTotal: parentRows.length, gridsize: 2, sImg: view.sImg, nGroups, neighborCount: K,
        probeDiameterPx: diameter, rngSeedSubsample: subsampleSeed, groups: grouping.groups,
      });
      plans.push({ view, split, rows, nImagesTotal: parentRows.length, nGroups, grouping, metrics });
      await pacer.tick();
    }
  }

  // ---- memory plan and progress units
  const patternBytes = n2 * 4;
  let budget = cfg.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const cacheClean = nImages * patternBytes <= budget;
  if (cacheClean) budget -= nImages * patternBytes;
  const cacheNoisy = nImages * patternBytes <= budget;
  const viewRows = plans.reduce((a, p) => a + p.rows.length, 0);
  progress.total = nImages + cfg.doses.length * (nImages + viewRows * (cacheNoisy ? 0.2 : 1));

  const tracker = new OutputTracker();
  try {
    // ---- clean far field, once for all doses
    const farField = new FarField(probe);
    const clean = new CleanPatterns(farField, object, xs, ys, n2, cacheClean ? new Float32Array(nImages * n2) : undefined);
    let energy = 0;
    const cleanMsg = `Computing the clean far field of ${nImages} positions (N=${N}, object ${object.height}×${object.width})`;
    progress.report(cleanMsg);
    for (let p = 0; p < nImages; p++) {
      energy += clean.compute(p);
      if ((p & 63) === 63 || p === nImages - 1) {
        progress.advance((p & 63) + 1, cleanMsg);
        await pacer.tick();
      }
    }
    const meanEnergy = energy / nImages;

    const objectArr = ndarray('<c8', [object.height, object.width], object.data);
    const probeArr = ndarray('<c8', [N, N], probe.data);
    const hostname = os.hostname();
    const doseResults: { dose: number; folder: string; sSim: number; meanCounts: number; train: number; test: number }[] = [];
    const phaseCParents = new Map<string, Record<string, unknown>>();

    /** Streams one dataset file: diffraction rows, fixed arrays, optional group indices, then `_metadata`. */
    const writeDataset = async (
      file: string, rows: Int32Array, noisy: NoisyPatterns, unitsPerRow: number, label: string,
      groupIndices: Int32Array | undefined, metadata: (meanCounts: number) => Record<string, unknown>,
    ): Promise<void> => {
      await tracker.ensureDir(path.dirname(file));
      pacer.check();
      const writer = await NpzWriter.create(file, { compress: cfg.compress === true });
      try {
        const perChunk = Math.max(1, Math.floor(CHUNK_BYTES / patternBytes));
        const chunks = async function* (): AsyncGenerator<Uint8Array> {
          for (let s = 0; s < rows.length; s += perChunk) {
            await pacer.tick();
            const e = Math.min(rows.length, s + perChunk);
            const buf = new Float32Array((e - s) * n2);
            for (let r = s; r < e; r++) noisy.fill(rows[r], buf, (r - s) * n2);
            progress.advance((e - s) * unitsPerRow, label);
            yield leBytes(buf);
          }
        };
        await writer.addRawData('diffraction', '<f4', [rows.length, N, N], chunks());
        const rx = pick(xs, rows);
        const ry = pick(ys, rows);
        const arrays: [string, NdArray][] = [
          ['objectGuess', objectArr],
          ['probeGuess', probeArr],
          ['xcoords', ndarray('<f8', [rows.length], rx)],
          ['ycoords', ndarray('<f8', [rows.length], ry)],
          ['xcoords_start', ndarray('<f8', [rows.length], rx.slice())],
          ['ycoords_start', ndarray('<f8', [rows.length], ry.slice())],
          ['scan_index', ndarray('<i8', [rows.length], new BigInt64Array(rows.length))],
        ];
        if (groupIndices) {
          const gi = new BigInt64Array(groupIndices.length);
          for (let i = 0; i < gi.length; i++) gi[i] = BigInt(groupIndices[i]);
          arrays.push(['group_indices', ndarray('<i8', [groupIndices.length / GROUP_SIZE, GROUP_SIZE], gi)]);
        }
        for (const [name, arr] of arrays) await writer.add(name, arr);
        await writer.add('_metadata', scalarString(JSON.stringify(metadata(noisy.meanCounts(rows)))));
        pacer.check();
        await writer.finish();
      } catch (err) {
        await writer.abort();
        throw err;
      }
      tracker.files.push(file);
    };

    for (const dose of cfg.doses) {
      pacer.check();
      const folder = doseFolder(dose);
      const label = formatDoseLabel(dose);
      const sSim = simulationScale(dose, meanEnergy);
      const noisy = new NoisyPatterns(dose, sSim, cfg.seed, clean, n2, nImages, cacheNoisy ? new Float32Array(nImages * n2) : undefined);

      // Phase C
      for (const split of SPLITS) {
        const file = path.join(outDir, 'phase_c', folder, `patched_${split}.npz`);
        const rows = splitRows[split];
        await writeDataset(file, rows, noisy, 1, `dose ${label}: phase_c/${folder}/patched_${split}.npz (${rows.length} patterns)`, undefined, (meanCounts) => {
          const meta = phaseCMetadata({
            timestamp, hostname, dose, n: N, nImages, seed: cfg.seed, buffer, sSim, meanCountsPerPattern: meanCounts,
            objectShape: [object.height, object.width], objectSource, probeSource, baseNpz: cfg.baseNpz ? path.resolve(cfg.baseNpz) : undefined,
            split, splitFraction: cfg.splitFraction, splitPoint, trainCount: splitRows.train.length, testCount: splitRows.test.length,
          });
          phaseCParents.set(`${folder}/${split}`, meta);
          return meta;
        });
      }

      // Phase D
      for (const view of cfg.views) {
        const dir = path.join(outDir, 'phase_d', folder, view.name);
        const bundle: Record<string, OverlapMetrics> = {};
        for (const split of SPLITS) {
          const plan = plans.find((p) => p.view === view && p.split === split)!;
          const file = path.join(dir, `${view.name}_${split}.npz`);
          const sourceFile = `phase_c/${folder}/patched_${split}.npz`;
          await writeDataset(file, plan.rows, noisy, noisy.cached ? 0.2 : 1, `dose ${label}: phase_d/${folder}/${view.name}/${view.name}_${split}.npz (${plan.rows.length} patterns, ${plan.nGroups} groups)`, plan.grouping.groups, (meanCounts) =>
            phaseDMetadata(phaseCParents.get(`${folder}/${split}`)!, {
              timestamp, view: view.name, sImg: view.sImg, nGroups: plan.nGroups, neighborCount: K, sourceFile,
              rngSeedSubsample: subsampleSeed, groupingSeed, probeDiameterPx: diameter,
              geometryAcceptanceBound: plan.metrics.geometry_acceptance_bound, effectiveMinAcceptance: plan.metrics.effective_min_acceptance,
              metricsVersion: METRICS_VERSION, nImagesTotal: plan.nImagesTotal, nImagesSubsampled: plan.rows.length,
              meanCountsPerPattern: meanCounts, oversampled: plan.grouping.oversampled,
            }));
          const metricsFile = path.join(dir, `${view.name}_${split}_metrics.json`);
          await writeJsonAtomic(metricsFile, plan.metrics);
          tracker.files.push(metricsFile);
          bundle[split] = plan.metrics;
        }
        const bundleFile = path.join(dir, 'metrics_bundle.json');
        await writeJsonAtomic(bundleFile, { train: bundle.train, test: bundle.test });
        tracker.files.push(bundleFile);
      }

      let total = 0;
      for (let p = 0; p < nImages; p++) total += noisy.counts[p];
      doseResults.push({ dose, folder, sSim, meanCounts: total / nImages, train: splitRows.train.length, test: splitRows.test.length });
    }

    // ---- study.json: written last, so its presence marks a complete study
    pacer.check();
    const studyFile = path.join(outDir, 'study.json');
    const seconds = (performance.now() - started) / 1000;
    const study = {
      generator: { script: SIMULATOR_SCRIPT, version: SIMULATOR_VERSION, node: process.version },
      versions: { simulator: SIMULATOR_VERSION, metadata_schema: METADATA_SCHEMA_VERSION, metrics: METRICS_VERSION },
      created: timestamp,
      seconds,
      config: {
        doses: cfg.doses, n_images: nImages, size: N, seed: cfg.seed, split_fraction: cfg.splitFraction, split_axis: 'y',
        neighbor_count: K, compress: cfg.compress === true, base_npz: cfg.baseNpz ? path.resolve(cfg.baseNpz) : null,
        object_size: cfg.baseNpz ? null : object.width,
        views: cfg.views.map((v) => ({ name: v.name, s_img: v.sImg, n_groups: v.nGroups > 0 ? v.nGroups : 'images after subsampling' })),
      },
      rng_seeds: { simulation: cfg.seed, subsampling: subsampleSeed, grouping: groupingSeed },
      object: { source: objectSource, shape: [object.height, object.width] },
      probe: { source: probeSource, shape: [N, N], diameter_px: diameter, diameter_source: diameterSource },
      scan: { positions: nImages, buffer, distribution: 'uniform', mean_clean_energy: meanEnergy },
      split: { axis: 'y', fraction: cfg.splitFraction, split_point: splitPoint, train_count: splitRows.train.length, test_count: splitRows.test.length },
      doses: doseResults.map((d) => ({
        dose: d.dose, folder: d.folder, s_sim: d.sSim, mean_counts_per_pattern: d.meanCounts, train: d.train, test: d.test,
      })),
      views: cfg.views.map((v) => ({
        name: v.name,
        s_img: v.sImg,
        splits: Object.fromEntries(plans.filter((p) => p.view === v).map((p) => [p.split, {
          n_images_total: p.nImagesTotal, n_images_subsampled: p.rows.length, n_groups: p.nGroups, oversampled: p.grouping.oversampled,
          metric_1_group_based_avg: p.metrics.metric_1_group_based_avg, metric_2_image_based_avg: p.metrics.metric_2_image_based_avg,
          metric_3_group_to_group_avg: p.metrics.metric_3_group_to_group_avg,
        }])),
      })),
      files: [...tracker.files.map((f) => relative(outDir, f)), 'study.json'],
    };
    await writeJsonAtomic(studyFile, study);
    tracker.files.push(studyFile);
    progress.finish(`Simulated ${cfg.doses.length} doses × ${nImages} patterns into ${outDir}`);
    return {
      files: [...tracker.files],
      doses: doseResults.map((d) => ({ dose: d.dose, train: d.train, test: d.test, meanCounts: d.meanCounts })),
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    await tracker.rollback();
    throw err;
  }
}
