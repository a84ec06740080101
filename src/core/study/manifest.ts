// The per-job manifest (`<artifactDir>/manifest.json`) and how a job's run state is read back from disk,
// so that a reload, another window or the CLI all see the same truth.
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACT } from './layout';
import type { Finding } from './findings';
import type { RunConfig } from '../run/plan';
import { isPlausiblePid, isProcessAlive, isSameProcess } from '../processInfo';
import { readSmallFile } from '../run/safeFiles';

export type RunStatus = 'dry-run' | 'running' | 'succeeded' | 'failed' | 'cancelled';
export const RUN_STATUSES: readonly RunStatus[] = ['dry-run', 'running', 'succeeded', 'failed', 'cancelled'];

/** Where a run's data came from. Key names are a contract (manifest.json `data.train` / `data.test`). */
export interface DatasetProvenance {
  path: string;
  bytes: number;
  mtimeMs: number;
  /** SHA-256 of the file (written by training runs; dry runs stay header-only and omit it). */
  sha256?: string;
  nPatterns?: number;
  N?: number;
  diffractionKey?: string;
  layout?: string;
}

export interface RuntimeInfo {
  hostname: string;
  platform: string;
  /** Node.js version running the worker (or the planner, for dry runs). */
  node: string;
  /** onnxruntime-node version (training runs). */
  onnxruntime?: string;
  pid?: number;
  /** When the worker process started (ISO), where the OS tells: tells the worker from a later process with its pid. */
  processStartedAt?: string;
  /** The provider the config asked for (`auto`, `cuda`, `webgpu`, `cpu`). */
  executionProviderRequested: string;
  /** Providers that will be tried, in order. */
  executionProviderCandidates: string[];
  executionProviderUsed?: string;
  /** Why the requested provider was not used (absent when it was). */
  fallbackReason?: string;
  heartbeatAt?: string;
  /** Intra-op threads of the onnxruntime sessions. */
  threads?: number;
  /** What decided `threads`: `cli`, `setting`, `SLURM_CPUS_PER_TASK`, `OMP_NUM_THREADS` or `available` (cores). */
  threadsSource?: string;
  /** Peak resident memory of the worker, MiB. */
  peakRssMB?: number;
}

export interface RunTiming {
  startedAt: string;
  finishedAt?: string;
  /** Wall-clock seconds of this process's run (resumed runs add the earlier time in trainingSeconds). */
  seconds?: number;
  trainingSeconds?: number;
}

/** Results of a training run (manifest.json `result`). */
export interface RunResult {
  epochs: number;
  steps: number;
  finalLoss: number | null;
  bestValLoss: number | null;
  stopReason: string;
  /** Metrics of the stitched test reconstruction (metrics.json holds the full set and the FRC curves). */
  metrics?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface JobManifest {
  schemaVersion: 1;
  kind: 'ptycho-study-job';
  job: { id: string; dose: number; view: string; gridsize: number };
  status: RunStatus;
  createdAt: string;
  updatedAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** The run that wrote this manifest (start time + random); the launcher trusts only a manifest with its own. */
  runId?: string;
  /** Why the run ended as it did (failed/cancelled), in one sentence. */
  reason?: string;
  /** `evaluation`: the dataset the headline metrics were computed on (the dose's Phase C test split). */
  data: { train: DatasetProvenance; test?: DatasetProvenance; evaluation?: DatasetProvenance; layout: string };
  config: RunConfig;
  runtime: RuntimeInfo;
  worker: { command: string[] };
  /** When the run is a task of a scheduler (Slurm): which (core/run/slurm.ts schedulerOf). */
  scheduler?: { kind: 'slurm'; jobId: string; arrayJobId?: string; arrayTaskId?: number; node?: string; partition?: string; stdout?: string; stderr?: string };
  findings: Finding[];
  timing?: RunTiming;
  /** Training progress while running (epoch/step), so a reload shows where a run is. */
  progress?: { epoch: number; epochs: number; step: number; stepsPerEpoch: number; loss?: number; imagesPerSec?: number; etaSeconds?: number };
  result?: RunResult;
  /** Artifact file names (relative to the job folder) → size in bytes. */
  artifacts?: Record<string, { bytes: number; sha256?: string }>;
  /** The training plan that was run (model size, batch, groups, canvas). */
  training?: Record<string, unknown>;
  /** When a dry run replaced the manifest of an earlier real run, where that manifest was kept. */
  previousManifest?: string;
}

/** What every run manifest (training: JobManifest; Phase F reconstruction) has for its state to be read back. */
export interface RunStateFields {
  status: RunStatus;
  reason?: string;
  runtime?: RuntimeInfo;
}

export interface RunRecord<M extends RunStateFields = JobManifest> {
  status: RunStatus;
  /** `running` manifests whose process is gone read as `failed` with this reason. */
  reason?: string;
  manifest: M;
  manifestPath: string;
}

/** Reads `<artifactDir>/manifest.json`; undefined when absent. A corrupt manifest reads as failed. */
export async function readRunRecord<M extends RunStateFields = JobManifest>(artifactDir: string, now: Date = new Date()): Promise<RunRecord<M> | undefined> {
  const manifestPath = path.join(artifactDir, ARTIFACT.manifest);
  const unreadable = (why: string): RunRecord<M> => ({
    status: 'failed',
    reason: `manifest.json cannot be read (${why}); the job's earlier files are kept in ${artifactDir}.`,
    manifest: {} as M,
    manifestPath,
  });
  let text: string;
  try {
    // Never blocks on a FIFO, never reads a device or an oversized file: this runs on every listing.
    text = await readSmallFile(manifestPath, MANIFEST_MAX_BYTES);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return unreadable((err as Error).message);
  }
  let manifest: M;
  try {
    manifest = JSON.parse(text) as M;
    if (!manifest || typeof manifest !== 'object' || !RUN_STATUSES.includes(manifest.status)) throw new Error('unknown status');
  } catch (err) {
    return unreadable((err as Error).message);
  }
  if (manifest.status === 'running') {
    const gone = runningProcessGone(manifest.runtime, now);
    if (gone) return { status: 'failed', reason: gone, manifest, manifestPath };
  }
  // A hand-edited or foreign manifest: a reason that is not a string is not shown as one.
  return { status: manifest.status, reason: typeof manifest.reason === 'string' ? manifest.reason : undefined, manifest, manifestPath };
}

/** Largest manifest.json read (a real one is a few KB to a few hundred KB). */
export const MANIFEST_MAX_BYTES = 16 << 20;

/** The worker rewrites its manifest (the heartbeat) this often while it runs. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
/**
 * A heartbeat older than this means the run is gone or hung: 6 intervals, so an event loop blocked for most of
 * a minute (building a large graph, stitching) is not mistaken for a dead run.
 */
export const HEARTBEAT_STALE_MS = 6 * HEARTBEAT_INTERVAL_MS;
/** Clock skew allowed between hosts: a heartbeat further in the future than this is invalid, not fresh. */
export const CLOCK_SKEW_MS = 30_000;

/**
 * A manifest says `running`; is anything still running it? On this host: the pid must be a plausible worker
 * (a positive integer, not 1, not this process), alive, and still the process that wrote the manifest (its
 * start time, where the OS gives one); on every host the heartbeat must be fresh (no older than
 * HEARTBEAT_STALE_MS, not in the future beyond CLOCK_SKEW_MS). Returns the reason it is not running, or undefined.
 */
export function runningProcessGone(runtime: RuntimeInfo | undefined, now: Date): string | undefined {
  if (!runtime) return 'The manifest says running but records no process; the run was interrupted.';
  if (runtime.hostname === os.hostname()) {
    const pid: unknown = runtime.pid;
    if (!isPlausiblePid(pid) || pid === process.pid) return `The manifest says running with pid ${JSON.stringify(pid)}, which cannot be its worker; the run was interrupted.`;
    if (!isSameProcess(pid, runtime.processStartedAt)) {
      return `The worker process (pid ${pid}) is no longer running: it was killed or crashed${isProcessAlive(pid) ? ' (that pid now belongs to another process)' : ''}. Files written before that are kept; resume from the last checkpoint.`;
    }
  }
  const beat = typeof runtime.heartbeatAt === 'string' ? Date.parse(runtime.heartbeatAt) : NaN;
  const where = `The run on ${runtime.hostname} (pid ${String(runtime.pid)})`;
  if (!Number.isFinite(beat)) return `${where} records no valid heartbeat; it is treated as interrupted.`;
  if (beat - now.getTime() > CLOCK_SKEW_MS) return `${where} has a heartbeat in the future (${runtime.heartbeatAt}); it is treated as interrupted.`;
  if (now.getTime() - beat > HEARTBEAT_STALE_MS) return `${where} has not reported for over ${HEARTBEAT_STALE_MS / 1000} s; it is treated as interrupted.`;
  return undefined;
}

export { isProcessAlive };
