// Dry runs: the plan of a job written into its own artifact folder (train.log, run-config.json, a `dry-run`
// manifest through the one manifest writer), under the job's run lock; never trains, touches nothing else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendLines, writeJsonAtomic } from '../atomic';
import type { StudyJob } from '../study/jobs';
import { ARTIFACT } from '../study/layout';
import { readRunRecord } from '../study/manifest';
import { acquireJobLock, JobLockedError, newRunId, type JobLock } from './lock';
import { plannedManifest, writeJobManifest } from './manifestWriter';
import { archivePreviousRun, RUNS_DIR } from './runHistory';
import { describePlan, PlanError, planRun, type PlanOptions, type RunPlan } from './plan';
import { UnsafePathError } from './safeFiles';

export interface DryRunResult {
  plan: RunPlan;
  manifestPath: string;
  runConfigPath: string;
  logPath: string;
  /** Where an earlier real run's manifest was kept (runs/<its run id>/manifest.json), if the dry run replaced one. */
  previousManifest?: string;
}

/**
 * Writes the plan of `job` into its artifact folder: appends to train.log, writes run-config.json and
 * manifest.json (status "dry-run"). Never trains; never touches another job's folder; never replaces the
 * manifest of a live run; keeps an earlier real run's manifest under a dated name. Like a training start, it
 * holds the job's run lock (`<job>/run.lock`) while it writes: a job another run holds is refused with the
 * holder's pid and host, and nothing in its folder changes.
 */
export async function writeDryRun(job: StudyJob, options: PlanOptions, now: Date = new Date()): Promise<DryRunResult> {
  const plan = planRun(job, options);
  try {
    await fs.promises.mkdir(job.artifactDir, { recursive: true });
  } catch (err) {
    // e.g. the artifact root is a file: this job cannot be planned here (the CLI goes on with the others).
    throw new PlanError(`Cannot dry-run ${job.id}: ${(err as Error).message}`);
  }
  let lock: JobLock;
  try {
    lock = acquireJobLock(job.artifactDir, { jobId: job.id, runId: `dry-run-${newRunId(now)}` });
  } catch (err) {
    if (err instanceof JobLockedError) throw new PlanError(`Cannot dry-run ${job.id}: ${err.message}`);
    throw err;
  }
  try {
    return await writeDryRunLocked(job, plan, now);
  } finally {
    lock.release();
  }
}

async function writeDryRunLocked(job: StudyJob, plan: RunPlan, now: Date): Promise<DryRunResult> {
  const dir = job.artifactDir;
  const manifestPath = path.join(dir, ARTIFACT.manifest);
  const runConfigPath = path.join(dir, ARTIFACT.runConfig);
  const previous = await readRunRecord(dir, now);
  if (previous?.status === 'running') {
    throw new PlanError(`${job.id} is running (pid ${previous.manifest.runtime?.pid} on ${previous.manifest.runtime?.hostname ?? 'an unknown host'}); cancel it before a dry run replaces its manifest.`);
  }
  const iso = now.toISOString();
  try {
    await appendLines(job.logPath, dryRunLogLines(plan, iso));
  } catch (err) {
    // A symlink or FIFO planted as train.log: a per-job error (the CLI goes on with the other jobs), nothing written.
    if (err instanceof UnsafePathError) throw new PlanError(`Cannot dry-run ${job.id}: ${err.message}`);
    throw err;
  }
  // An earlier run that ran is kept, as a new run keeps it: its files move to runs/<its run id>/ (runHistory.ts) —
  // renamed, never read (a manifest may be a FIFO or huge). We hold the run lock: no run writes them meanwhile.
  let previousManifest: string | undefined;
  if (previous && previous.status !== 'dry-run') {
    const filed = await archivePreviousRun(dir, now);
    if (filed) previousManifest = path.join(dir, RUNS_DIR, filed, ARTIFACT.manifest);
  }
  await writeJsonAtomic(runConfigPath, plan.config);
  const manifest = plannedManifest(job, plan, now, previousManifest ? path.relative(dir, previousManifest) : undefined);
  await writeJobManifest(dir, manifest);
  return { plan, manifestPath, runConfigPath, logPath: job.logPath, previousManifest };
}

function dryRunLogLines(plan: RunPlan, iso: string): string[] {
  return [`[${iso}] DRY RUN ${plan.config.jobId} (no training)`, ...describePlan(plan).map((l) => `[${iso}]   ${l}`)];
}

