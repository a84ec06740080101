// `ptycho-study submit --backend slurm`: the matching training jobs as one Slurm job array (core/run/slurm.ts):
// each runnable job is planned exactly as `train` plans it (every training flag frozen into the plan), the plan
// and the sbatch script are written to <artifactRoot>/slurm/<submitId>/, and one array is submitted; --dry-run
// prints the script and the plan's jobs without submitting. Also `train --plan plan.json --index I`: what each
// array task runs — its frozen job, through the same launcher and worker as a local run.
import * as path from 'node:path';
import { startRun } from '../core/run/launcher';
import { SlurmBackend } from '../core/run/backend';
import { newSubmitPlan, planSubmission, readSubmitPlan, sbatchScript, SlurmError, taskOutputFiles, type SlurmOptions } from '../core/run/slurm';
import { listJobs, type StudyLayout } from '../core/study';
import { type planRun } from '../core/run/plan';
import { bool, num, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO } from './commands';
import { runQueue } from './runQueue';
import { settingsSourcesOf, slurmOptionsWithFiles } from './settingsFiles';

export const SUBMIT_FLAGS: FlagSpec = {
  backend: { type: 'string' }, partition: { type: 'string' }, time: { type: 'string' }, 'gpus-per-task': { type: 'string' },
  'cpus-per-task': { type: 'string' }, mem: { type: 'string' }, 'array-limit': { type: 'string' }, account: { type: 'string' },
  'dry-run': { type: 'boolean' }, json: { type: 'boolean' }, resume: { type: 'boolean' },
};

export const SUBMIT_HELP = [
  'Plans every matching job as `train` would (the training flags below are frozen into the plan), writes',
  '<artifact root>/slurm/<submit id>/plan.json and submit.sh, and submits ONE Slurm job array: task i runs',
  '`ptycho-study train --plan plan.json --index i` on a compute node and trains job i into its folder on the shared',
  'file system (manifest, logs, checkpoints, results exactly as a local run; the manifest records the scheduler).',
  'Threads come from SLURM_CPUS_PER_TASK. submission.json is written only after sbatch returned the array\'s job id.',
  '  --backend slurm        the scheduler (the only backend besides local `train`)',
  '  --partition P  --time HH:MM:SS  --cpus-per-task N  --gpus-per-task N  --mem M  --account A',
  '  --array-limit K        at most K tasks at once (--array=0-(n-1)%K)',
  '  --resume               resubmit: every task continues its job from the checkpoint.npz in its folder (after a',
  '                         cancel or a TIMEOUT); jobs without a resumable checkpoint are skipped',
  '  --dry-run              write nothing, submit nothing: print the script and the jobs',
  '  --json                 one JSON object: submit id, Slurm job id, files, jobs',
];

export interface SubmitDeps {
  loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout>;
  filterOf(p: Parsed): { dose?: number; view?: string; gridsize?: number };
  settingsOf(p: Parsed): Parameters<typeof planRun>[1]['settings'];
}

function slurmOptionsOf(p: Parsed): SlurmOptions {
  return {
    partition: str(p, 'partition'), time: str(p, 'time'), mem: str(p, 'mem'), account: str(p, 'account'),
    cpusPerTask: num(p, 'cpus-per-task', { integer: true, min: 1 }), gpusPerTask: num(p, 'gpus-per-task', { integer: true, min: 0 }),
    arrayLimit: num(p, 'array-limit', { integer: true, min: 1 }),
  };
}

export async function cmdSubmit(p: Parsed, io: CliIO, deps: SubmitDeps): Promise<number> {
  const backend = str(p, 'backend') ?? 'slurm';
  if (backend !== 'slurm') throw new UsageError(`--backend must be slurm (got "${backend}"); local runs are \`ptycho-study train\`.`);
  const json = bool(p, 'json');
  const dryRun = bool(p, 'dry-run');
  const resume = bool(p, 'resume');
  const slurm = slurmOptionsWithFiles(p, io, slurmOptionsOf(p));
  const settings = deps.settingsOf(p);
  const layout = await deps.loadStudy(p, io);
  const jobs = await listJobs(layout, { filter: deps.filterOf(p), deep: true, neighborCount: settings?.neighborCount, allowIntensityData: settings?.allowIntensityData });
  if (jobs.length === 0) throw new Error('No job matches the filter.');
  const study = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot };
  const planned = planSubmission(jobs, settings, study, path.join(io.distDir, 'worker.js'));
  const { skipped } = planned;
  // The workspace settings files the plans took their values from, recorded in each frozen run config.
  const settingsSources = settingsSourcesOf(p, io);
  const configs = settingsSources ? planned.configs.map((c) => ({ ...c, settingsSources })) : planned.configs;
  try {
    const files = { node: process.execPath, cli: path.join(io.distDir, 'cli.js') };
    if (dryRun) {
      const plan = newSubmitPlan(configs, study, slurm, new Date(), resume);
      const script = sbatchScript(plan, { planFile: path.join(study.artifactRoot, 'slurm', plan.submitId, 'plan.json'), dir: path.join(study.artifactRoot, 'slurm', plan.submitId), ...files });
      if (json) io.out(JSON.stringify({ type: 'submit', dryRun: true, submitId: plan.submitId, script, jobs: configs.map((c) => c.jobId), skipped }));
      else {
        for (const l of script.trimEnd().split('\n')) io.out(l);
        configs.forEach((c, i) => io.out(`# task ${i}: ${c.jobId} → ${c.artifactDir}`));
        for (const s of skipped) io.out(`# SKIP ${s.id}: ${s.reason}`);
      }
      return 0;
    }
    const sub = await new SlurmBackend(study, slurm, files).submit(configs, { resume });
    const all = [...skipped, ...sub.skipped];
    const w = sub.slurm!;
    const submitted = sub.jobs.map((j) => j.jobId);
    if (json) io.out(JSON.stringify({ type: 'submit', submitId: w.submitId, slurmJobId: w.jobId, dir: w.dir, plan: w.planFile, script: w.scriptFile, resume, jobs: submitted, skipped: all }));
    else {
      io.out(`SUBMITTED Slurm job array ${w.jobId} (${submitted.length} task${submitted.length === 1 ? '' : 's'}${resume ? ', resuming from checkpoints' : ''}${slurm.arrayLimit ? `, at most ${slurm.arrayLimit} at once` : ''}): ${w.scriptFile}`);
      submitted.forEach((id, i) => io.out(`  task ${i}: ${id}`));
      for (const s of all) io.out(`SKIP ${s.id}: ${s.reason}`);
    }
    return all.length ? 1 : 0;
  } catch (err) {
    if (err instanceof SlurmError) {
      io.err(`ptycho-study submit: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

/** `train --plan F --index I`: one array task — its frozen job, through the local launcher (the run lock, the worker). */
export async function cmdTrainPlanned(p: Parsed, io: CliIO): Promise<number> {
  const file = path.resolve(io.cwd, str(p, 'plan')!);
  const index = num(p, 'index', { integer: true, min: 0 });
  if (index === undefined) throw new UsageError('--plan needs --index I (the array task id, $SLURM_ARRAY_TASK_ID).');
  let config;
  try {
    const plan = await readSubmitPlan(file);
    config = plan.jobs[index];
    if (!config) throw new SlurmError(`${file} has ${plan.jobs.length} job(s); there is no index ${index}.`);
  } catch (err) {
    if (err instanceof SlurmError || (err as Error).name === 'RunConfigError') {
      io.err(`ptycho-study train: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
  const workerScript = path.join(io.distDir, 'worker.js');
  const resume = bool(p, 'resume');
  const outcome = await runQueue(io, bool(p, 'json'), [{
    id: config.jobId,
    // The manifest references the task's own output files (sbatch's %A_%a.out/.err beside the plan).
    plan: () => ({ banner: `TRAIN ${config.jobId} (task ${index} of ${file}) → ${config.artifactDir}`, start: () => startRun(config, { workerScript, resume, env: { ...process.env, ...taskOutputFiles(file) } }) }),
  }], () => false);
  const exit = outcome.exits[0];
  if (outcome.aborted || exit?.status === 'cancelled') return 130;
  return exit?.status === 'succeeded' ? 0 : 1;
}
