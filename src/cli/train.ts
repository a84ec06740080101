// `ptycho-study train`: runs the matching jobs one after another in worker processes, printing their progress.
// Ctrl-C is a cancel: the running worker finishes its step, writes its checkpoint and stops (`--resume`
// continues from there); a second Ctrl-C stops at once. A job another run holds is skipped and makes the exit
// non-zero (the caller asked for it and it did not run here); a job that cannot start (a bad checkpoint, a full
// disk) fails alone and the loop goes on.
import * as path from 'node:path';
import { prepareLaunch } from '../core/run/launch';
import { writeStudyManifest } from '../core/run/studyManifest';
import { listJobs, type StudyLayout } from '../core/study';
import { PlanError, type planRun } from '../core/run/plan';
import { checkRequestedThreads, ThreadsError } from '../core/runtime/threads';
import { bool, str, UsageError, type Parsed } from './args';
import type { CliIO } from './commands';
import { finishQueue, runQueue, type QueuedJob } from './runQueue';
import { settingsSourcesOf, threadsWithFiles } from './settingsFiles';

export interface TrainDeps {
  loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout>;
  filterOf(p: Parsed): { dose?: number; view?: string; gridsize?: number };
  settingsOf(p: Parsed): Parameters<typeof planRun>[1]['settings'];
}

export async function cmdTrain(p: Parsed, io: CliIO, deps: TrainDeps): Promise<number> {
  const filter = deps.filterOf(p);
  const settings = deps.settingsOf(p);
  const json = bool(p, 'json');
  const resume = bool(p, 'resume');
  const restart = bool(p, 'restart');
  if (resume && restart) throw new UsageError('--resume and --restart exclude each other.');
  // --threads, else the workspace's training.threads (recorded as such: threadsSource 'setting').
  const { threads, source: threadsSource } = threadsWithFiles(p, io, { given: str(p, 'threads') !== undefined, threads: threadsOf(p) });
  const layout = await deps.loadStudy(p, io);
  const jobs = await listJobs(layout, { filter, deep: true, neighborCount: settings?.neighborCount, allowIntensityData: settings?.allowIntensityData });
  if (jobs.length === 0) throw new Error('No job matches the filter.');
  const study = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot };
  const workerScript = path.join(io.distDir, 'worker.js');
  const settingsSources = settingsSourcesOf(p, io);
  const queue: QueuedJob[] = jobs.map((job) => ({
    id: job.id,
    ...(job.state === 'missing' ? { missing: job.reason ?? 'data not found' } : {}),
    plan: () => {
      const launch = prepareLaunch(job, { settings, study, workerScript, resume, restart, threads, threadsSource, settingsSources });
      if (!launch.runnable) return { notRunnable: launch.blockers.join(' ') };
      return { banner: `TRAIN ${job.id}${resume ? ' (resume)' : restart ? ' (restart)' : ''} → ${job.artifactDir}`, start: launch.start };
    },
  }));
  const outcome = await runQueue(io, json, queue, (err) => err instanceof PlanError || (err as Error).name === 'ConfigError', bool(p, 'quiet'));
  try {
    await writeStudyManifest(study);
  } catch (err) {
    io.err(`warning: could not update training_manifest.json: ${(err as Error).message}`);
  }
  return finishQueue(io, json, outcome, { artifactRoot: layout.artifactRoot });
}

/** `--threads N`: a whole number, 0 = automatic (undefined: the worker decides). */
function threadsOf(p: Parsed): number | undefined {
  const raw = str(p, 'threads');
  if (raw === undefined) return undefined;
  try {
    return checkRequestedThreads(raw, '--threads') || undefined;
  } catch (err) {
    if (err instanceof ThreadsError) throw new UsageError(err.message);
    throw err;
  }
}
