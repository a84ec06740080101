// The study's training jobs as one Slurm job array (issue 14): the selected jobs are frozen into
// `<artifactRoot>/slurm/<submitId>/plan.json` — each job's complete RunConfig, no hidden globals — with the sbatch
// script beside it; `sbatch --parsable` submits one array (`--array=0-(n-1)%K`), and each task runs
// `ptycho-study train --plan plan.json --index $SLURM_ARRAY_TASK_ID`, which trains exactly its frozen job into the
// job folder on the shared file system through the same launcher and worker as a local run. The submission is
// recorded (`submission.json`) only after sbatch returned a job id; nothing is half-written (atomic writes).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { newRunId } from './lock';
import { planRun, type RunConfig } from './plan';
import type { StudyJob } from '../study/jobs';
import type { TrainingSettings } from '../study/config';
import type { JobManifest } from '../study/manifest';
import { checkRunConfig } from '../study/runConfigFile';
import { readSmallFile } from './safeFiles';

export const SUBMIT_PLAN_FORMAT = 'ptycho-study-submit/1';

export interface SlurmOptions {
  partition?: string;
  /** Wall-clock limit, HH:MM:SS (or anything sbatch --time takes). */
  time?: string;
  cpusPerTask?: number;
  gpusPerTask?: number;
  /** Memory per task, as sbatch --mem takes it (e.g. 8G). */
  mem?: string;
  /** At most this many tasks at once (the array's %K). */
  arrayLimit?: number;
  account?: string;
}

export interface SubmitPlan {
  format: typeof SUBMIT_PLAN_FORMAT;
  submitId: string;
  createdAt: string;
  backend: 'slurm';
  study: { phaseCRoot?: string; phaseDRoot?: string; artifactRoot: string };
  slurm: SlurmOptions;
  /** Task i trains jobs[i]: the complete plan each local run would write to run-config.json. */
  jobs: RunConfig[];
  /** Every task continues its job from the checkpoint.npz in its folder (a resubmission after a cancel or TIMEOUT). */
  resume?: boolean;
}

export class SlurmError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SlurmError';
  }
}

/** Values that go into #SBATCH lines: no newlines, quotes or shell metacharacters. */
function safeValue(name: string, v: string): string {
  if (!/^[\w.:%@+=,/-]{1,200}$/.test(v)) throw new SlurmError(`--${name} ${JSON.stringify(v)}: only letters, digits and . : % @ + = , / - are allowed.`);
  return v;
}

export function newSubmitPlan(jobs: RunConfig[], study: SubmitPlan['study'], slurm: SlurmOptions, now = new Date(), resume = false): SubmitPlan {
  if (jobs.length === 0) throw new SlurmError('No runnable job to submit.');
  return { format: SUBMIT_PLAN_FORMAT, submitId: newRunId(now), createdAt: now.toISOString(), backend: 'slurm', study, slurm, jobs, ...(resume ? { resume: true } : {}) };
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The sbatch script of a plan: one array, each task training its frozen job. */
export function sbatchScript(plan: SubmitPlan, files: { planFile: string; dir: string; node: string; cli: string }): string {
  const o = plan.slurm;
  const n = plan.jobs.length;
  const lines = [
    '#!/bin/bash',
    `#SBATCH --job-name=ptycho-study-${plan.submitId.slice(-6)}`,
    `#SBATCH --array=0-${n - 1}${o.arrayLimit ? `%${o.arrayLimit}` : ''}`,
    `#SBATCH --output=${files.dir}/%A_%a.out`,
    `#SBATCH --error=${files.dir}/%A_%a.err`,
    // SIGTERM to the task 60 s before the time limit: the worker finishes its step and checkpoints (TIMEOUT resumes).
    '#SBATCH --signal=B:TERM@60',
  ];
  if (o.partition) lines.push(`#SBATCH --partition=${safeValue('partition', o.partition)}`);
  if (o.time) lines.push(`#SBATCH --time=${safeValue('time', o.time)}`);
  if (o.cpusPerTask) lines.push(`#SBATCH --cpus-per-task=${o.cpusPerTask}`);
  if (o.gpusPerTask) lines.push(`#SBATCH --gpus-per-task=${o.gpusPerTask}`);
  if (o.mem) lines.push(`#SBATCH --mem=${safeValue('mem', o.mem)}`);
  if (o.account) lines.push(`#SBATCH --account=${safeValue('account', o.account)}`);
  lines.push(
    `# ${n} job(s) of ${plan.study.artifactRoot}; plan ${files.planFile}`,
    `exec ${quote(files.node)} ${quote(files.cli)} train --plan ${quote(files.planFile)} --index "$SLURM_ARRAY_TASK_ID"${plan.resume ? ' --resume' : ''}`,
    '',
  );
  return lines.join('\n');
}

/** Writes plan.json and submit.sh into `<artifactRoot>/slurm/<submitId>/` (atomically). */
export async function writeSubmission(plan: SubmitPlan, files: { node: string; cli: string }): Promise<{ dir: string; planFile: string; scriptFile: string; script: string }> {
  const dir = path.join(plan.study.artifactRoot, 'slurm', plan.submitId);
  await fs.promises.mkdir(dir, { recursive: true });
  const planFile = path.join(dir, 'plan.json');
  const scriptFile = path.join(dir, 'submit.sh');
  const script = sbatchScript(plan, { planFile, dir, ...files });
  await writeJsonAtomic(planFile, plan);
  const tmp = `${scriptFile}.${process.pid}.tmp`;
  await fs.promises.writeFile(tmp, script, { mode: 0o755 });
  await fs.promises.rename(tmp, scriptFile);
  return { dir, planFile, scriptFile, script };
}

/** Runs `sbatch --parsable` on the script; returns the array's job id. Clear errors for a missing sbatch or a refusal. */
export function submitArray(scriptFile: string, env: NodeJS.ProcessEnv = process.env): { jobId: string } {
  const r = spawnSync('sbatch', ['--parsable', scriptFile], { encoding: 'utf8', env, timeout: 60_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SlurmError('sbatch was not found: run this on a machine with the Slurm client (a login node), or install it (slurm-client).');
    throw new SlurmError(`sbatch could not run: ${r.error.message}`);
  }
  if (r.status !== 0) throw new SlurmError(`sbatch refused the submission (exit ${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  const jobId = r.stdout.trim().split(';')[0];
  if (!/^\d+$/.test(jobId)) throw new SlurmError(`sbatch answered ${JSON.stringify(r.stdout.trim())}, not a job id.`);
  return { jobId };
}

/** Reads a plan.json back for one task; each job's plan is checked as the worker checks run-config.json. */
export async function readSubmitPlan(file: string): Promise<SubmitPlan> {
  let plan: SubmitPlan;
  try {
    plan = JSON.parse(await readSmallFile(file, 64 << 20)) as SubmitPlan;
  } catch (err) {
    throw new SlurmError(`${file} cannot be read as a submission plan: ${(err as Error).message}`);
  }
  if (plan?.format !== SUBMIT_PLAN_FORMAT || !Array.isArray(plan.jobs)) throw new SlurmError(`${file} is not a submission plan (format ${String(plan?.format)}).`);
  plan.jobs = plan.jobs.map((c, i) => {
    try {
      return checkRunConfig(c as unknown as Record<string, unknown>, `${file} job ${i}`, (c as RunConfig).artifactDir);
    } catch (err) {
      throw new SlurmError((err as Error).message);
    }
  });
  return plan;
}

/** What the manifest records of the scheduler when a run is a Slurm task (from the task's environment). */
export function schedulerOf(env: NodeJS.ProcessEnv = process.env): NonNullable<JobManifest['scheduler']> | undefined {
  if (!env.SLURM_JOB_ID) return undefined;
  const task = env.SLURM_ARRAY_TASK_ID !== undefined ? Number(env.SLURM_ARRAY_TASK_ID) : undefined;
  return {
    kind: 'slurm', jobId: env.SLURM_JOB_ID,
    ...(env.SLURM_ARRAY_JOB_ID ? { arrayJobId: env.SLURM_ARRAY_JOB_ID } : {}),
    ...(task !== undefined && Number.isInteger(task) ? { arrayTaskId: task } : {}),
    ...(env.SLURMD_NODENAME ? { node: env.SLURMD_NODENAME } : {}),
    ...(env.SLURM_JOB_PARTITION ? { partition: env.SLURM_JOB_PARTITION } : {}),
    ...(env[TASK_STDOUT_ENV] ? { stdout: env[TASK_STDOUT_ENV] } : {}),
    ...(env[TASK_STDERR_ENV] ? { stderr: env[TASK_STDERR_ENV] } : {}),
  };
}

/** Where `train --plan` tells the worker its task's output files are (sbatch's %A_%a.out/.err beside the plan). */
export const TASK_STDOUT_ENV = 'PTYCHO_TASK_STDOUT';
export const TASK_STDERR_ENV = 'PTYCHO_TASK_STDERR';

/** The task's output files of a plan's array task, as the sbatch script names them. */
export function taskOutputFiles(planFile: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const a = env.SLURM_ARRAY_JOB_ID;
  const t = env.SLURM_ARRAY_TASK_ID;
  if (!a || t === undefined || !/^\d+$/.test(a) || !/^\d+$/.test(t)) return {};
  const base = path.join(path.dirname(planFile), `${a}_${t}`);
  return { [TASK_STDOUT_ENV]: `${base}.out`, [TASK_STDERR_ENV]: `${base}.err` };
}

// ---------------------------------------------------------------------------------------------------------
// Tracking a submission (the VS Code tree; the job folder's manifest is the truth once a task has run)

export interface SubmissionRecord {
  dir: string;
  submitId: string;
  slurmJobId: string;
  tasks: { index: number; jobId: string; artifactDir: string }[];
}

/** The submissions recorded under `<artifactRoot>/slurm/` (capped, non-blocking reads; unreadable ones skipped). */
export async function readSubmissions(artifactRoot: string): Promise<SubmissionRecord[]> {
  const root = path.join(artifactRoot, 'slurm');
  let names: string[];
  try {
    names = (await fs.promises.readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).slice(0, 1000);
  } catch {
    return [];
  }
  const out: SubmissionRecord[] = [];
  for (const name of names) {
    try {
      const s = JSON.parse(await readSmallFile(path.join(root, name, 'submission.json'), 4 << 20)) as { submitId?: unknown; slurmJobId?: unknown; tasks?: unknown };
      if (typeof s.slurmJobId !== 'string' || !/^\d+$/.test(s.slurmJobId) || !Array.isArray(s.tasks)) continue;
      const tasks = s.tasks.filter((t): t is SubmissionRecord['tasks'][number] => !!t && typeof t.index === 'number' && typeof t.jobId === 'string' && typeof t.artifactDir === 'string');
      out.push({ dir: path.join(root, name), submitId: String(s.submitId ?? name), slurmJobId: s.slurmJobId, tasks });
    } catch {
      // no submission.json (a dry run, or sbatch failed): nothing was submitted
    }
  }
  return out;
}

export interface QueueState {
  /** Slurm's state: PENDING, RUNNING, CONFIGURING, COMPLETING, SUSPENDED. */
  state: string;
  /** Slurm's reason for a pending task (Resources, Priority, JobArrayTaskLimit, …). */
  reason: string;
}

/**
 * The queued or running tasks of these arrays, by `<arrayJobId>_<taskId>` (`squeue -h -r`; finished tasks are not
 * listed: their manifests tell). Undefined when squeue cannot run (no Slurm here, the controller unreachable).
 */
export function queueStates(arrayJobIds: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, QueueState> | undefined {
  const ids = arrayJobIds.filter((id) => /^\d+$/.test(id));
  if (ids.length === 0) return new Map();
  const r = spawnSync('squeue', ['-h', '-r', '-j', ids.join(','), '-t', 'PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED', '-o', '%F|%K|%T|%r'], { encoding: 'utf8', env, timeout: 20_000 });
  if (r.error || r.status !== 0) return undefined;
  const out = new Map<string, QueueState>();
  for (const line of r.stdout.split('\n')) {
    const [array, task, state, reason] = line.trim().split('|');
    if (!array || task === undefined || !state) continue;
    out.set(`${array}_${task}`, { state, reason: reason ?? '' });
  }
  return out;
}

/** Slurm's final job states and the job state each means for a task whose run never recorded its end. */
export const FINAL_SLURM_STATES: Record<string, 'cancelled' | 'failed' | 'succeeded'> = {
  COMPLETED: 'succeeded', CANCELLED: 'cancelled', FAILED: 'failed', TIMEOUT: 'failed', NODE_FAIL: 'failed',
  OUT_OF_MEMORY: 'failed', PREEMPTED: 'cancelled', BOOT_FAIL: 'failed', DEADLINE: 'failed',
};

/**
 * A task that has left the queue, as `scontrol show job -o <array>_<task>` remembers it (for MinJobAge, 300 s by
 * default; clusters without accounting have no sacct history): its final state and reason. Undefined when Slurm no
 * longer knows it or scontrol cannot run.
 */
export function finishedTaskState(arrayJobId: string, task: number, env: NodeJS.ProcessEnv = process.env): QueueState | undefined {
  if (!/^\d+$/.test(arrayJobId) || !Number.isInteger(task) || task < 0) return undefined;
  const show = (id: string): string | undefined => {
    const r = spawnSync('scontrol', ['show', 'job', '-o', id], { encoding: 'utf8', env, timeout: 20_000 });
    return r.error || r.status !== 0 ? undefined : r.stdout;
  };
  // A task that was split off the array has its own record; tasks cancelled while still pending in the array's
  // record (never split) are only in that record, whose ArrayTaskId is the remaining set (`2-5%1`, `1,3`) or NO_VAL.
  let line = show(`${arrayJobId}_${task}`)?.split('\n').find((l) => l.includes('JobState='));
  if (!line) {
    const lines = (show(arrayJobId) ?? '').split('\n').filter((l) => l.includes('JobState='));
    line = lines.find((l) => taskSetHas(/\bArrayTaskId=(\S+)/.exec(l)?.[1], task));
  }
  const state = line ? /\bJobState=(\S+)/.exec(line)?.[1] : undefined;
  if (!line || !state) return undefined;
  return { state, reason: /\bReason=(\S+)/.exec(line)?.[1] ?? '' };
}

/** Whether Slurm's ArrayTaskId value (`3`, `2-5`, `1,3,5-7%2`, or NO_VAL for the whole unsplit remainder) holds `task`. */
export function taskSetHas(value: string | undefined, task: number): boolean {
  if (!value) return false;
  if (value === '4294967294') return true;
  return value.replace(/%\d+$/, '').split(',').some((part) => {
    const m = /^(\d+)(?:-(\d+))?(?::(\d+))?$/.exec(part);
    if (!m) return false;
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    return task >= lo && task <= hi && (task - lo) % step === 0;
  });
}

/** Plans `jobs` as `train` would (missing or not runnable ones are skipped with the reason). */
export function planSubmission(
  jobs: readonly StudyJob[], settings: Partial<TrainingSettings> | undefined, study: SubmitPlan['study'], workerScript: string,
): { configs: RunConfig[]; skipped: { id: string; reason: string }[] } {
  const configs: RunConfig[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const job of jobs) {
    if (job.state === 'missing') {
      skipped.push({ id: job.id, reason: job.reason ?? 'data not found' });
      continue;
    }
    if (job.state === 'running') {
      skipped.push({ id: job.id, reason: 'it is running' });
      continue;
    }
    const plan = planRun(job, { settings, workerScript, study });
    if (!plan.runnable) skipped.push({ id: job.id, reason: plan.blockers.join(' ') });
    else configs.push(plan.config);
  }
  return { configs, skipped };
}

/** Freezes, writes and submits: the whole submission, as the CLI and VS Code run it. */
export async function submitJobs(configs: RunConfig[], skipped: { id: string; reason: string }[], study: SubmitPlan['study'], slurm: SlurmOptions, files: { node: string; cli: string }, resume = false): Promise<{ plan: SubmitPlan; slurmJobId: string; dir: string; planFile: string; scriptFile: string }> {
  const plan = newSubmitPlan(configs, study, slurm, new Date(), resume);
  const w = await writeSubmission(plan, files);
  const { jobId } = submitArray(w.scriptFile);
  await writeJsonAtomic(path.join(w.dir, 'submission.json'), {
    submitId: plan.submitId, slurmJobId: jobId, submittedAt: new Date().toISOString(),
    tasks: configs.map((c, i) => ({ index: i, jobId: c.jobId, artifactDir: c.artifactDir })), skipped, ...(resume ? { resume: true } : {}),
  });
  return { plan, slurmJobId: jobId, dir: w.dir, planFile: w.planFile, scriptFile: w.scriptFile };
}
