// The one writer of a job's manifest.json (training and Phase F alike), so the file tells the truth at every
// moment whoever writes it: the dry run's `dry-run` record (plannedManifest), the worker's live record
// (ManifestKeeper: chained atomic writes, a heartbeat while `running`, the end with status, reason, times and
// peak memory; a failed write kept in `error` so the run stops and fails, since a manifest that stays `running`
// would lie), and the launcher's `failed` for a worker that died without recording its end (recordFailedRun).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic';
import type { Finding } from '../study/findings';
import type { StudyJob } from '../study/jobs';
import { ARTIFACT } from '../study/layout';
import { HEARTBEAT_INTERVAL_MS, MANIFEST_MAX_BYTES, type JobManifest, type RunStatus } from '../study/manifest';
import type { ReconstructionConfig, ReconstructionManifest } from '../study/reconstructJobs';
import { writing } from './ioError';
import { provenance, type RunConfig, type RunPlan } from './plan';
import { readSmallFile } from './safeFiles';

/** The manifest of the job folder `dir`, or undefined when there is none or it cannot be read as one. */
export async function readJobManifest(dir: string): Promise<JobManifest | undefined> {
  try {
    return JSON.parse(await readSmallFile(path.join(dir, ARTIFACT.manifest), MANIFEST_MAX_BYTES)) as JobManifest;
  } catch {
    return undefined;
  }
}

/** Writes `<dir>/manifest.json` atomically (a crash leaves the old file or the new one, never a torn one). */
export function writeJobManifest(dir: string, manifest: object): Promise<void> {
  return writeJsonAtomic(path.join(dir, ARTIFACT.manifest), manifest);
}

/** The `dry-run` record of a plan. */
export function plannedManifest(job: StudyJob, plan: RunPlan, now: Date, previousManifest?: string): JobManifest {
  const iso = now.toISOString();
  return {
    schemaVersion: 1,
    kind: 'ptycho-study-job',
    job: { id: job.id, dose: job.dose, view: job.view, gridsize: job.gridsize },
    status: 'dry-run',
    createdAt: iso,
    updatedAt: iso,
    data: {
      train: provenance(job.train.path, job.train.info),
      test: job.test.exists ? provenance(job.test.path, job.test.info) : undefined,
      layout: job.layout ?? 'unknown',
    },
    config: plan.config,
    runtime: {
      hostname: os.hostname(),
      platform: `${process.platform}-${process.arch}`,
      node: process.version,
      executionProviderRequested: plan.providers.requested,
      executionProviderCandidates: plan.providers.candidates,
    },
    worker: { command: plan.workerCommand },
    findings: plan.findings,
    previousManifest,
  };
}

/** What a `failed` record written by the launcher knows of a run. */
export interface FailedRunAt {
  runId: string;
  startedAt: Date;
  pid?: number;
  /** The folder's earlier manifest: its creation date and findings carry over. */
  previous?: Partial<JobManifest>;
}

/** A whole training manifest for a run whose worker wrote none (status and reason set by recordFailedRun). */
export function failedTrainingManifest(config: RunConfig, { runId, startedAt, pid, previous }: FailedRunAt): JobManifest {
  return {
    schemaVersion: 1,
    kind: 'ptycho-study-job',
    job: { id: config.jobId, dose: config.dose, view: config.view, gridsize: config.gridsize },
    status: 'failed',
    runId,
    createdAt: previous?.createdAt ?? startedAt.toISOString(),
    updatedAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    data: { train: { path: config.trainPath, bytes: 0, mtimeMs: 0 }, layout: previous?.data?.layout ?? 'unknown' },
    config,
    runtime: {
      hostname: os.hostname(), platform: `${process.platform}-${process.arch}`, node: process.version, pid,
      executionProviderRequested: config.training.executionProvider, executionProviderCandidates: [],
    },
    worker: { command: [] },
    findings: previous?.findings ?? [],
    timing: { startedAt: startedAt.toISOString() },
  };
}

/** The same for a Phase F reconstruction. */
export function failedReconstructionManifest(config: ReconstructionConfig, { runId, startedAt, pid, previous }: FailedRunAt): ReconstructionManifest {
  return {
    schemaVersion: 1,
    kind: 'ptycho-study-reconstruction',
    job: { id: config.jobId, dose: config.dose, view: config.view, gridsize: config.gridsize, split: config.split, algorithm: config.algorithm },
    status: 'failed',
    runId,
    createdAt: previous?.createdAt ?? startedAt.toISOString(),
    updatedAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    data: { input: { path: config.dataPath, bytes: 0, mtimeMs: 0 }, layout: config.layout ?? 'unknown' },
    config,
    runtime: {
      hostname: os.hostname(), platform: `${process.platform}-${process.arch}`, node: process.version, pid,
      executionProviderRequested: config.settings.executionProvider, executionProviderCandidates: ['cpu'],
    },
    worker: { command: [] },
    findings: previous?.findings ?? [],
    timing: { startedAt: startedAt.toISOString() },
  };
}

/** The fields recordFailedRun sets on any run manifest. */
export interface RunManifestLike {
  status: RunStatus;
  runId?: string;
  reason?: string;
  updatedAt: string;
  finishedAt?: string;
  timing?: { finishedAt?: string };
}

/**
 * Writes `failed` with `reason` for run `runId`: into its own manifest when the worker wrote one (`current`), else
 * into a new one from `fresh` (never into the previous run's, whose results are not this run's).
 */
export async function recordFailedRun(dir: string, runId: string, reason: string, current: JobManifest | undefined, fresh: (previous?: Partial<JobManifest>) => RunManifestLike): Promise<void> {
  const now = new Date().toISOString();
  const m: RunManifestLike = current?.runId === runId ? current : fresh(current);
  m.status = 'failed';
  m.reason = reason;
  m.updatedAt = now;
  m.finishedAt = now;
  if (m.timing) m.timing.finishedAt = now;
  await writeJobManifest(dir, m);
}

export interface KeptManifest {
  status: RunStatus;
  reason?: string;
  createdAt: string;
  updatedAt: string;
  finishedAt?: string;
  findings: Finding[];
  runtime: { heartbeatAt?: string; peakRssMB?: number };
  timing?: { startedAt: string; finishedAt?: string; seconds?: number };
}

export class ManifestKeeper<M extends KeptManifest> {
  /** The first write that failed; the run must stop and fail with it. */
  error: Error | undefined;
  private chain: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly manifest: M,
    private readonly file: string,
    private readonly jobId: string,
    private readonly startedAt: Date,
    private readonly stderr: (line: string) => void,
  ) {}

  /**
   * Takes over what an earlier manifest in the folder says about the job rather than the run (its creation date
   * and findings); returns the earlier manifest for the caller's own fields, or undefined.
   */
  async carryOver(): Promise<Record<string, unknown> | undefined> {
    try {
      const previous = JSON.parse(await fs.promises.readFile(this.file, 'utf8')) as Partial<KeptManifest> & Record<string, unknown>;
      this.manifest.createdAt = previous.createdAt ?? this.manifest.createdAt;
      this.manifest.findings = previous.findings ?? [];
      return previous;
    } catch {
      return undefined; // no earlier manifest
    }
  }

  /** Writes the manifest now (after the writes already queued); rejects with the first write error. */
  persist(): Promise<void> {
    const m = this.manifest;
    m.updatedAt = new Date().toISOString();
    if (m.status === 'running') m.runtime.heartbeatAt = m.updatedAt;
    const snapshot = JSON.parse(JSON.stringify(m)) as M;
    this.chain = this.chain.then(() => writing(this.jobId, this.file, () => writeJobManifest(path.dirname(this.file), snapshot))).catch((err) => {
      this.error ??= err as Error;
      this.stderr(`manifest write failed: ${(err as Error).message}`);
    });
    return this.chain.then(() => {
      if (this.error) throw this.error;
    });
  }

  /** Persists in the background (a failure is kept in `error`). */
  touch(): void {
    void this.persist().catch(() => undefined);
  }

  startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.touch(), HEARTBEAT_INTERVAL_MS);
    this.heartbeat.unref();
  }

  /** Records the run's end: status, reason, finish time, wall seconds of this process and its peak memory. */
  async finish(status: RunStatus, reason?: string): Promise<void> {
    clearInterval(this.heartbeat);
    const end = new Date();
    const m = this.manifest;
    m.status = status;
    m.reason = reason;
    m.finishedAt = end.toISOString();
    m.timing = { ...m.timing!, finishedAt: end.toISOString(), seconds: (end.getTime() - this.startedAt.getTime()) / 1000 };
    m.runtime.peakRssMB = Math.round(process.resourceUsage().maxRSS / 1024);
    await this.persist();
  }
}
