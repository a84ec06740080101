// The per-job manifest (`<artifactDir>/manifest.json`) and how a job's run state is read back from disk,
// so that a reload, another window or the CLI all see the same truth.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ARTIFACT } from './layout';
import type { Finding } from './findings';
import type { RunConfig } from './plan';

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
  /** Why the run ended as it did (failed/cancelled), in one sentence. */
  reason?: string;
  /** `evaluation`: the dataset the headline metrics were computed on (the dose's Phase C test split). */
  data: { train: DatasetProvenance; test?: DatasetProvenance; evaluation?: DatasetProvenance; layout: string };
  config: RunConfig;
  runtime: RuntimeInfo;
  worker: { command: string[] };
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

export interface RunRecord {
  status: RunStatus;
  /** `running` manifests whose process is gone read as `failed` with this reason. */
  reason?: string;
  manifest: JobManifest;
  manifestPath: string;
}

/** Reads `<artifactDir>/manifest.json`; undefined when absent. A corrupt manifest reads as failed. */
export async function readRunRecord(artifactDir: string, now: Date = new Date()): Promise<RunRecord | undefined> {
  const manifestPath = path.join(artifactDir, ARTIFACT.manifest);
  let text: string;
  try {
    text = await fs.promises.readFile(manifestPath, 'utf8');
  } catch {
    return undefined;
  }
  let manifest: JobManifest;
  try {
    manifest = JSON.parse(text) as JobManifest;
    if (!manifest || typeof manifest !== 'object' || !RUN_STATUSES.includes(manifest.status)) throw new Error('unknown status');
  } catch (err) {
    return {
      status: 'failed',
      reason: `manifest.json cannot be read (${(err as Error).message}); the job's earlier files are kept in ${artifactDir}.`,
      manifest: {} as JobManifest,
      manifestPath,
    };
  }
  if (manifest.status === 'running') {
    const gone = runningProcessGone(manifest.runtime, now);
    if (gone) return { status: 'failed', reason: gone, manifest, manifestPath };
  }
  return { status: manifest.status, reason: manifest.reason, manifest, manifestPath };
}

/** Heartbeats older than this mean a run on another machine is no longer alive. */
export const HEARTBEAT_STALE_MS = 5 * 60 * 1000;

/**
 * A manifest says `running`; is anything still running it? On this host we ask the OS about the pid;
 * elsewhere we trust a recent heartbeat only. Returns the reason it is not running, or undefined.
 */
export function runningProcessGone(runtime: RuntimeInfo | undefined, now: Date): string | undefined {
  if (!runtime) return 'The manifest says running but records no process; the run was interrupted.';
  if (runtime.hostname === os.hostname() && runtime.pid !== undefined) {
    if (isProcessAlive(runtime.pid)) return undefined;
    return `The worker process (pid ${runtime.pid}) is no longer running: it was killed or crashed. Files written before that are kept; resume from the last checkpoint.`;
  }
  const beat = runtime.heartbeatAt ? Date.parse(runtime.heartbeatAt) : NaN;
  if (Number.isFinite(beat) && now.getTime() - beat < HEARTBEAT_STALE_MS) return undefined;
  return `The run on ${runtime.hostname} has not reported for over ${HEARTBEAT_STALE_MS / 60000} minutes; it is treated as interrupted.`;
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
