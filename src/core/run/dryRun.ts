// Dry runs: the plan of a job written into its own artifact folder (train.log, run-config.json, a `dry-run`
// manifest through the one manifest writer), under the job's run lock; never trains, touches nothing else.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { appendLines, writeJsonAtomic } from '../atomic';
import type { StudyJob } from '../study/jobs';
import { ARTIFACT } from '../study/layout';
import { readRunRecord, type JobManifest } from '../study/manifest';
import { acquireJobLock, JobLockedError, newRunId, type JobLock } from './lock';
import { plannedManifest, setManifestAside, writeJobManifest } from './manifestWriter';
import { describePlan, PlanError, planRun, type PlanOptions, type RunPlan } from './plan';
import { UnsafePathError } from './safeFiles';

export interface DryRunResult {
  plan: RunPlan;
  manifestPath: string;
  runConfigPath: string;
  logPath: string;
  /** Where an earlier real run's manifest was kept, if the dry run replaced one. */
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
  let previousManifest: string | undefined;
  if (previous && previous.status !== 'dry-run') {
    const m = previous.manifest as Partial<JobManifest>;
    previousManifest = path.join(dir, `manifest.${stamp(typeof m.finishedAt === 'string' ? m.finishedAt : typeof m.updatedAt === 'string' ? m.updatedAt : undefined, now)}.json`);
  }
  const iso = now.toISOString();
  const manifest = plannedManifest(job, plan, now, previousManifest ? path.basename(previousManifest) : undefined);
  try {
    await appendLines(job.logPath, dryRunLogLines(plan, iso));
  } catch (err) {
    // A symlink or FIFO planted as train.log: a per-job error (the CLI goes on with the other jobs), nothing written.
    if (err instanceof UnsafePathError) throw new PlanError(`Cannot dry-run ${job.id}: ${err.message}`);
    throw err;
  }
  await writeJsonAtomic(runConfigPath, plan.config);
  // We hold the run lock: no run writes the manifest meanwhile.
  if (previousManifest) await setManifestAside(dir, path.basename(previousManifest));
  await writeJobManifest(dir, manifest);
  return { plan, manifestPath, runConfigPath, logPath: job.logPath, previousManifest };
}

function stamp(iso: string | undefined, now: Date): string {
  const t = iso && Number.isFinite(Date.parse(iso)) ? new Date(iso) : now;
  return t.toISOString().replace(/[:.]/g, '-');
}

function dryRunLogLines(plan: RunPlan, iso: string): string[] {
  return [`[${iso}] DRY RUN ${plan.config.jobId} (no training)`, ...describePlan(plan).map((l) => `[${iso}]   ${l}`)];
}

