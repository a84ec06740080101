// Running jobs one after another in worker processes, for `train` and `reconstruct`: each job is skipped (its
// data is missing), refused (it cannot be planned or is not runnable, or it cannot start: a bad checkpoint, a
// full disk), skipped as busy (another run holds it) or run, with its events printed as they come. Ctrl-C is a
// cancel: the running worker finishes its step or iteration, writes its checkpoint and stops; a second Ctrl-C
// stops at once. The exit code: 0 when every run succeeded, 130 when cancelled, 1 when a job failed, was
// refused or was busy (the caller asked for it and it did not run here).
import { JobLockedError, RunAlreadyActiveError, type RunExit, type RunHandle } from '../core/run/launcher';
import { describeEvent, type RunEvent } from '../core/run/events';
import type { CliIO } from './commands';

/** One job of the queue, planned lazily (in order, so a slow plan never delays an earlier run). */
export interface QueuedJob {
  id: string;
  /** Set when the job's data is missing: it is skipped with this reason. */
  missing?: string;
  /**
   * Plans the run: `start` and the line announcing it, or `notRunnable` with the blockers. A planning error
   * that `isRefusal` accepts refuses this job only; any other error ends the command.
   */
  plan(): { start: () => Promise<RunHandle>; banner: string } | { notRunnable: string };
}

export interface QueueOutcome {
  exits: RunExit[];
  refused: { jobId: string; reason: string }[];
  skipped: { jobId: string; reason: string }[];
  busy: number;
  aborted: boolean;
}

/**
 * `quiet`: only what decides the outcome (skips, refusals, failures, each job's final status). Live progress (the
 * worker's 500-ms `progress` events) goes to the terminal's redrawn status line (io.status) and nowhere else.
 */
export async function runQueue(io: CliIO, json: boolean, jobs: readonly QueuedJob[], isRefusal: (err: unknown) => boolean, quiet = false): Promise<QueueOutcome> {
  const say = (line: string): void => {
    if (json) return;
    io.status?.(undefined);
    io.out(line);
  };
  const emitJson = (o: Record<string, unknown>): void => {
    if (json) io.out(JSON.stringify(o));
  };
  const out: QueueOutcome = { exits: [], refused: [], skipped: [], busy: 0, aborted: false };
  const refuse = (jobId: string, reason: string, line: string): void => {
    say(line);
    emitJson({ type: 'refused', jobId, reason });
    out.refused.push({ jobId, reason });
  };
  const skip = (jobId: string, reason: string): void => {
    say(`SKIP ${jobId}: ${reason}`);
    emitJson({ type: 'skipped', jobId, reason });
    out.skipped.push({ jobId, reason });
  };
  let current: RunHandle | undefined;
  const onAbort = (): void => {
    out.aborted = true;
    if (current) {
      say(`Cancelling ${current.jobId}: finishing the current step and writing a checkpoint…`);
      const why = io.signal?.reason;
      current.cancel(undefined, typeof why === 'string' ? why : undefined);
    }
  };
  io.signal?.addEventListener('abort', onAbort);
  try {
    for (const job of jobs) {
      if (out.aborted) break;
      if (job.missing !== undefined) {
        skip(job.id, job.missing);
        continue;
      }
      let plan;
      try {
        plan = job.plan();
      } catch (err) {
        if (!isRefusal(err)) throw err;
        refuse(job.id, (err as Error).message, `ERROR ${job.id}: ${(err as Error).message}`);
        continue;
      }
      if ('notRunnable' in plan) {
        refuse(job.id, plan.notRunnable, `NOT RUNNABLE ${job.id}: ${plan.notRunnable}`);
        continue;
      }
      if (!quiet) say(plan.banner);
      try {
        current = await plan.start();
      } catch (err) {
        const reason = (err as Error).message;
        if (err instanceof JobLockedError || err instanceof RunAlreadyActiveError) {
          out.busy++;
          skip(job.id, reason);
        } else {
          refuse(job.id, reason, `FAILED ${job.id}: ${reason}`);
        }
        continue;
      }
      current.onEvent((e: RunEvent) => {
        if (json) io.out(JSON.stringify(e));
        else if (e.type === 'progress') io.status?.(`${e.jobId}  ${describeEvent(e)}`);
        else if (!quiet || e.type === 'failed') say(`  ${describeEvent(e)}`);
      });
      // A Ctrl-C (or Slurm's SIGTERM) that came while the worker was being started found no run to cancel: cancel now.
      if (out.aborted) onAbort();
      const exit = await current.done;
      current = undefined;
      io.status?.(undefined);
      out.exits.push(exit);
      say(`${exit.status.toUpperCase()} ${job.id}${exit.reason ? `: ${exit.reason}` : ''}`);
    }
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
  }
  return out;
}

/** Prints the summary (a line, or the `summary` JSON object with `extra`) and returns the exit code. */
export function finishQueue(io: CliIO, json: boolean, out: QueueOutcome, extra: Record<string, unknown>): number {
  const count = (s: string): number => out.exits.filter((r) => r.status === s).length;
  const summary = { succeeded: count('succeeded'), failed: count('failed') + out.refused.length, cancelled: count('cancelled'), skipped: out.skipped.length };
  if (json) io.out(JSON.stringify({ type: 'summary', ...summary, jobs: out.exits, refused: out.refused, skipped: out.skipped, ...extra }));
  else io.out(`${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.cancelled} cancelled, ${summary.skipped} skipped.`);
  if (out.aborted || summary.cancelled > 0) return 130;
  return summary.failed > 0 || out.busy > 0 ? 1 : 0;
}
