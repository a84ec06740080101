// Rerunning a finished job from its manifest alone (issue 12, "Rerun from the manifest alone"): the manifest's
// `config` is the plan that ran (run-config.json beside it when the manifest lacks one), its `data` the datasets
// with their sha256. Every dataset the plan reads is hashed again and must match (a changed or missing file is
// refused, naming the file and both hashes, before anything is written); the plan is rewritten for a new folder
// (artifactDir = that folder; no study record is rewritten by the rerun) and checked as a worker checks it; the
// original folder is never written. compareMetrics then says whether the new metrics.json reproduces the old.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACT } from '../study/layout';
import { MANIFEST_MAX_BYTES } from '../study/manifest';
import type { RunConfig } from './plan';
import { checkReconstructionConfig, type ReconstructionConfig } from '../study/reconstructJobs';
import { checkRunConfig, readRunPlan } from '../study/runConfigFile';
import { sha256File } from './artifacts';
import { startRun, type RunHandle } from './launcher';
import { startReconstruction } from './reconstructionLauncher';
import { readSmallFile, readSmallFileSync } from './safeFiles';
import { isInside } from '../paths';

export class RerunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RerunError';
  }
}

/** A dataset the rerun reads, with the hash the original run recorded. */
export interface RecordedDataset {
  role: string;
  path: string;
  sha256: string;
}

export interface RerunSource {
  kind: 'train' | 'reconstruct';
  jobId: string;
  jobDir: string;
  manifestPath: string;
  manifest: Record<string, unknown>;
  config: RunConfig | ReconstructionConfig;
  datasets: RecordedDataset[];
  /** onnxruntime intra-op threads of the original run (training). */
  threads?: number;
  providerUsed?: string;
}

/** Reads the job folder (or its manifest.json) a rerun starts from. Throws RerunError saying what is wrong. */
export async function readRerunSource(target: string): Promise<RerunSource> {
  const abs = path.resolve(target);
  const st = await fs.promises.stat(abs).catch(() => undefined);
  if (!st) throw new RerunError(`${abs} does not exist: give a job folder or its manifest.json.`);
  const manifestPath = st.isDirectory() ? path.join(abs, ARTIFACT.manifest) : abs;
  const jobDir = path.dirname(manifestPath);
  let manifest: Record<string, unknown>;
  try {
    manifest = JSON.parse(await readSmallFile(manifestPath, MANIFEST_MAX_BYTES)) as Record<string, unknown>;
  } catch (err) {
    throw new RerunError(`${manifestPath} cannot be read as a manifest: ${(err as Error).message}`);
  }
  const kind = manifest.kind === 'ptycho-study-job' ? 'train' : manifest.kind === 'ptycho-study-reconstruction' ? 'reconstruct' : undefined;
  if (!kind) throw new RerunError(`${manifestPath} is not a job manifest (kind ${JSON.stringify(manifest.kind)}).`);
  if (manifest.status === 'dry-run' || manifest.status === 'running') {
    throw new RerunError(`${manifestPath} records a run that is ${manifest.status === 'dry-run' ? 'only planned (a dry run)' : 'still running'}: nothing to reproduce yet.`);
  }
  let config = manifest.config as Record<string, unknown> | undefined;
  if (!config || typeof config !== 'object') {
    try {
      config = await readRunPlan(jobDir);
    } catch (err) {
      throw new RerunError(`${manifestPath} records no configuration and ${(err as Error).message}`);
    }
  }
  const data = (manifest.data ?? {}) as Record<string, { path?: unknown; sha256?: unknown } | undefined>;
  const wanted: [string, string | undefined][] = kind === 'train'
    ? [['train', config.trainPath as string], ['test', config.testPath as string | undefined], ['evaluation', (config.evaluation as { datasetPath?: string } | undefined)?.datasetPath]]
    : [['input', config.dataPath as string], ['evaluation', (config.evaluation as { datasetPath?: string } | undefined)?.datasetPath]];
  const datasets: RecordedDataset[] = [];
  for (const [role, file] of wanted) {
    if (!file) continue;
    // The evaluation set is recorded on its own only when it is not one of the run's splits.
    const hashed = (r: { path?: unknown; sha256?: unknown } | undefined): boolean => typeof r?.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256);
    const rec = hashed(data[role]) ? data[role] : Object.values(data).find((r) => r?.path === file && hashed(r));
    if (!rec || !hashed(rec)) {
      throw new RerunError(`${manifestPath} records no sha256 for its ${role} dataset ${file}: the data cannot be verified, so the run is not reproduced from it.`);
    }
    if (rec.path !== file) throw new RerunError(`${manifestPath}: data.${role}.path ${JSON.stringify(rec.path)} is not the file the plan reads (${file}).`);
    if (!datasets.some((d) => d.path === file)) datasets.push({ role, path: file, sha256: rec.sha256 as string });
  }
  const runtime = (manifest.runtime ?? {}) as { threads?: unknown; executionProviderUsed?: unknown };
  return {
    kind, jobId: String(config.jobId ?? (manifest.job as { id?: unknown } | undefined)?.id ?? path.basename(jobDir)), jobDir, manifestPath, manifest,
    config: config as unknown as RunConfig | ReconstructionConfig, datasets,
    ...(kind === 'train' && Number.isInteger(runtime.threads) && (runtime.threads as number) > 0 ? { threads: runtime.threads as number } : {}),
    ...(typeof runtime.executionProviderUsed === 'string' ? { providerUsed: runtime.executionProviderUsed } : {}),
  };
}

/** Hashes every recorded dataset again; throws RerunError naming the first that is missing or changed. */
export async function verifyDatasets(source: RerunSource): Promise<void> {
  for (const d of source.datasets) {
    let now: string;
    try {
      now = await sha256File(d.path);
    } catch (err) {
      throw new RerunError(`The ${d.role} dataset ${d.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the run recorded sha256 ${d.sha256}. Nothing was written.`);
    }
    if (now !== d.sha256) {
      throw new RerunError(`The ${d.role} dataset ${d.path} has changed since the run: its sha256 is now ${now}, the manifest recorded ${d.sha256}. A rerun on other data would not reproduce the run; nothing was written.`);
    }
  }
}

/** `<job folder>.rerun-<UTC time>`, beside the original. */
export function defaultRerunDir(jobDir: string, now: Date = new Date()): string {
  return `${path.resolve(jobDir)}.rerun-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
}

/**
 * Checks the rerun's folder (never the original or inside it, and not a folder that already holds files) and
 * returns the plan rewritten to write there, checked as the worker will check it.
 */
export async function rerunPlan(source: RerunSource, outDir: string): Promise<RunConfig | ReconstructionConfig> {
  const out = path.resolve(outDir);
  if (isInside(source.jobDir, out)) throw new RerunError(`Refusing to rerun into ${out}: it is the original job folder or inside it, which a rerun never writes.`);
  if (isInside(out, source.jobDir)) throw new RerunError(`Refusing to rerun into ${out}: it contains the original job folder.`);
  const st = await fs.promises.lstat(out).catch(() => undefined);
  if (st && (!st.isDirectory() || (await fs.promises.readdir(out)).length > 0)) {
    throw new RerunError(`Refusing to rerun into ${out}: it already exists and is not an empty folder (a rerun never overwrites).`);
  }
  const file = path.join(out, ARTIFACT.runConfig);
  const { study: _study, ...rest } = source.config as unknown as Record<string, unknown>;
  const plan: Record<string, unknown> = { ...rest, artifactDir: out };
  if (source.kind === 'train') return checkRunConfig(plan, file, out);
  const root = plan.phaseFRoot as string;
  if (typeof root !== 'string' || !isInside(root, out)) plan.phaseFRoot = path.dirname(out);
  return checkReconstructionConfig(plan, file, out);
}

export interface MetricDifference {
  path: string;
  original: unknown;
  rerun: unknown;
  /** |a − b| for numbers. */
  absDiff?: number;
}

export interface MetricsComparison {
  reproduced: boolean;
  /** Numbers compared. */
  compared: number;
  /** Largest |a − b| / max(|a|, |b|, 1e-12) among the numbers. */
  maxRelDiff: number;
  differences: MetricDifference[];
  tolerance: { rtol: number; atol: number };
}

/** Timing and throughput: they change from run to run and are not results. */
const volatile = (key: string): boolean => /seconds|persec/i.test(key) || key === 'time' || /[a-z]At$/.test(key);

/** Compares two metrics.json documents leaf by leaf: numbers to `rtol`/`atol`, everything else exactly. */
export function compareMetrics(original: unknown, rerun: unknown, tolerance = { rtol: 1e-5, atol: 1e-7 }): MetricsComparison {
  const differences: MetricDifference[] = [];
  let compared = 0;
  let maxRelDiff = 0;
  const walk = (a: unknown, b: unknown, p: string): void => {
    const key = p.split(/[.[]/).pop() ?? '';
    if (volatile(key)) return;
    if (typeof a === 'number' && typeof b === 'number') {
      compared++;
      const d = Math.abs(a - b);
      const rel = d / Math.max(Math.abs(a), Math.abs(b), 1e-12);
      if (Number.isFinite(rel)) maxRelDiff = Math.max(maxRelDiff, a === b ? 0 : rel);
      if (!(a === b || d <= tolerance.atol + tolerance.rtol * Math.max(Math.abs(a), Math.abs(b)))) differences.push({ path: p, original: a, rerun: b, absDiff: d });
      return;
    }
    if (Array.isArray(a) && Array.isArray(b)) {
      if (a.length !== b.length) differences.push({ path: `${p}.length`, original: a.length, rerun: b.length });
      for (let i = 0; i < Math.min(a.length, b.length); i++) walk(a[i], b[i], `${p}[${i}]`);
      return;
    }
    if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
      const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
      for (const k of keys) walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p ? `${p}.${k}` : k);
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) differences.push({ path: p, original: a, rerun: b });
  };
  walk(original, rerun, '');
  return { reproduced: differences.length === 0, compared, maxRelDiff, differences, tolerance };
}

/** Starts the rerun of `source` (its plan rewritten for `outDir` by rerunPlan) through the launcher train/reconstruct use. */
export async function startRerun(source: RerunSource, config: RunConfig | ReconstructionConfig, launch: { workerScript: string; nodePath?: string }): Promise<RunHandle> {
  return source.kind === 'train'
    ? startRun(config as RunConfig, { ...launch, threads: source.threads, threadsSource: 'cli' })
    : startReconstruction(config as ReconstructionConfig, launch);
}

export interface RerunOutcome extends MetricsComparison {
  runtime: { original: { provider: string | null; threads: number | null }; rerun: { provider: string | null; threads: number | null } };
}

/**
 * Compares a finished rerun in `outDir` with the original: metrics.json number by number, and the provider and
 * thread count each ran with. Throws RerunError when a metrics.json cannot be read (capped, non-blocking reads).
 */
export function compareRerun(source: RerunSource, outDir: string, tolerance = { rtol: 1e-5, atol: 1e-7 }): RerunOutcome {
  const read = (dir: string, what: string): unknown => {
    try {
      return JSON.parse(readSmallFileSync(path.join(dir, ARTIFACT.metrics), MANIFEST_MAX_BYTES));
    } catch (err) {
      throw new RerunError(`${what} has no readable metrics.json to compare (${(err as Error).message}).`);
    }
  };
  const original = read(source.jobDir, `the original ${source.jobDir}`);
  const cmp = compareMetrics(original, read(outDir, `the rerun ${outDir}`), tolerance);
  const m = source.manifest.runtime as { executionProviderUsed?: string; threads?: number } | undefined;
  let now: { runtime?: { executionProviderUsed?: string; threads?: number } } = {};
  try {
    now = JSON.parse(readSmallFileSync(path.join(outDir, ARTIFACT.manifest), MANIFEST_MAX_BYTES));
  } catch {
    // the comparison stands without the runtime line
  }
  return {
    ...cmp,
    runtime: {
      original: { provider: m?.executionProviderUsed ?? null, threads: m?.threads ?? null },
      rerun: { provider: now.runtime?.executionProviderUsed ?? null, threads: now.runtime?.threads ?? null },
    },
  };
}
