// `ptycho-study train`: runs the matching jobs one after another in worker processes, printing their progress.
// Ctrl-C is a cancel: the running worker finishes its step, writes its checkpoint and stops (`--resume`
// continues from there); a second Ctrl-C stops at once. A job another run holds is skipped and makes the exit
// non-zero (the caller asked for it and it did not run here); a job that cannot start (a bad checkpoint, a full
// disk) fails alone and the loop goes on.
import * as path from 'node:path';
import { JobLockedError, RunAlreadyActiveError, startRun, type RunExit, type RunHandle } from '../core/run/launcher';
import { writeStudyManifest } from '../core/run/studyManifest';
import { describeEvent, type RunEvent } from '../core/run/events';
import { listJobs, planRun, PlanError, type StudyLayout } from '../core/study';
import { checkRequestedThreads, ThreadsError } from '../core/runtime/threads';
import { bool, str, UsageError, type Parsed } from './args';
import type { CliIO } from './commands';

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
  const threads = threadsOf(p);
  const layout = await deps.loadStudy(p, io);
  const jobs = await listJobs(layout, { filter, deep: true, neighborCount: settings?.neighborCount });
  if (jobs.length === 0) throw new Error('No job matches the filter.');
  const say = (line: string): void => {
    if (!json) io.out(line);
  };
  const emitJson = (o: Record<string, unknown>): void => {
    if (json) io.out(JSON.stringify(o));
  };
  const study = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot };
  const exits: RunExit[] = [];
  const skipped: { jobId: string; reason: string }[] = [];
  let busy = 0;
  const refused: { jobId: string; reason: string }[] = [];
  let current: RunHandle | undefined;
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    if (current) {
      say(`Cancelling ${current.jobId}: finishing the current step and writing a checkpoint…`);
      current.cancel();
    }
  };
  io.signal?.addEventListener('abort', onAbort);
  try {
    for (const job of jobs) {
      if (aborted) break;
      if (job.state === 'missing') {
        say(`SKIP ${job.id}: ${job.reason}`);
        emitJson({ type: 'skipped', jobId: job.id, reason: job.reason });
        skipped.push({ jobId: job.id, reason: job.reason ?? 'data not found' });
        continue;
      }
      let plan;
      try {
        plan = planRun(job, { settings, workerScript: path.join(io.distDir, 'worker.js'), study });
      } catch (err) {
        if (!(err instanceof PlanError) && (err as Error).name !== 'ConfigError') throw err;
        say(`ERROR ${job.id}: ${(err as Error).message}`);
        emitJson({ type: 'refused', jobId: job.id, reason: (err as Error).message });
        refused.push({ jobId: job.id, reason: (err as Error).message });
        continue;
      }
      if (!plan.runnable) {
        say(`NOT RUNNABLE ${job.id}: ${plan.blockers.join(' ')}`);
        emitJson({ type: 'refused', jobId: job.id, reason: plan.blockers.join(' ') });
        refused.push({ jobId: job.id, reason: plan.blockers.join(' ') });
        continue;
      }
      say(`TRAIN ${job.id}${resume ? ' (resume)' : restart ? ' (restart)' : ''} → ${job.artifactDir}`);
      try {
        current = await startRun(plan.config, { workerScript: path.join(io.distDir, 'worker.js'), resume, restart, threads, threadsSource: 'cli' });
      } catch (err) {
        const reason = (err as Error).message;
        if (err instanceof JobLockedError || err instanceof RunAlreadyActiveError) {
          busy++;
          say(`SKIP ${job.id}: ${reason}`);
          emitJson({ type: 'skipped', jobId: job.id, reason });
          skipped.push({ jobId: job.id, reason });
        } else {
          say(`FAILED ${job.id}: ${reason}`);
          emitJson({ type: 'refused', jobId: job.id, reason });
          refused.push({ jobId: job.id, reason });
        }
        continue;
      }
      current.onEvent((e: RunEvent) => {
        if (json) io.out(JSON.stringify(e));
        else say(`  ${describeEvent(e)}`);
      });
      const exit = await current.done;
      current = undefined;
      exits.push(exit);
      say(`${exit.status.toUpperCase()} ${job.id}${exit.reason ? `: ${exit.reason}` : ''}`);
    }
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
  }
  try {
    await writeStudyManifest(study);
  } catch (err) {
    io.err(`warning: could not update training_manifest.json: ${(err as Error).message}`);
  }
  const count = (s: string): number => exits.filter((r) => r.status === s).length;
  const summary = { succeeded: count('succeeded'), failed: count('failed') + refused.length, cancelled: count('cancelled'), skipped: skipped.length };
  if (json) io.out(JSON.stringify({ type: 'summary', ...summary, jobs: exits, refused, skipped, artifactRoot: layout.artifactRoot }));
  else io.out(`${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.cancelled} cancelled, ${summary.skipped} skipped.`);
  if (aborted || summary.cancelled > 0) return 130;
  return summary.failed > 0 || busy > 0 ? 1 : 0;
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
