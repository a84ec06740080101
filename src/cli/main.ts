// Entry of the `ptycho-study` command. Ctrl-C (SIGINT/SIGTERM) cancels the running command cleanly:
// long operations check the AbortSignal and every file they write is written atomically.
import * as path from 'node:path';
import { runCli } from './commands';

async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      // In a Slurm task a second SIGTERM is the time limit arriving after the early --signal: Slurm kills what is left
      // after KillWait, so leaving now would only cut short the worker's checkpoint. Keep waiting for it.
      if (process.env.SLURM_JOB_ID && sig === 'SIGTERM') {
        process.stderr.write('\nptycho-study: SIGTERM again (the time limit): still waiting for the worker to checkpoint…\n');
        return;
      }
      process.exit(130); // a second Ctrl-C: leave now (files are still whole: atomic writes)
    }
    process.stderr.write(`\nptycho-study: ${sig} received, cancelling…\n`);
    // Why, for the manifest: in a Slurm task a SIGTERM is the scheduler's (its time limit is near, or scancel).
    controller.abort(process.env.SLURM_JOB_ID && sig === 'SIGTERM'
      ? `SIGTERM from Slurm to task ${process.env.SLURM_ARRAY_JOB_ID ? `${process.env.SLURM_ARRAY_JOB_ID}_${process.env.SLURM_ARRAY_TASK_ID}` : process.env.SLURM_JOB_ID}: its time limit is near, or it was cancelled`
      : sig === 'SIGINT' ? 'Ctrl-C in the terminal, SIGINT' : `${sig} to ptycho-study`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // `ptycho-study … | head -1`: the reader went away (EPIPE). Nothing more is written there, and a running command is
  // cancelled as Ctrl-C would cancel it (a shell's SIGPIPE, without a stack trace).
  const closed = { out: false, err: false };
  const onPipeError = (which: 'out' | 'err') => (e: NodeJS.ErrnoException): void => {
    if (e.code !== 'EPIPE') throw e;
    closed[which] = true;
    if (which === 'out' && !controller.signal.aborted) controller.abort('the output pipe was closed (EPIPE)');
  };
  process.stdout.on('error', onPipeError('out'));
  process.stderr.on('error', onPipeError('err'));
  const code = await runCli(process.argv.slice(2), {
    out: (l) => {
      if (!closed.out) process.stdout.write(l + '\n');
    },
    err: (l) => {
      if (!closed.err) process.stderr.write(l + '\n');
    },
    // On a terminal: one redrawn progress line on stderr (cut to the width, so it never wraps).
    ...(process.stderr.isTTY ? {
      status: (l: string | undefined) => {
        if (closed.err) return;
        const width = Math.max(20, (process.stderr.columns || 100) - 1);
        process.stderr.write(l === undefined ? '\r\x1b[K' : `\r\x1b[K${l.length > width ? `${l.slice(0, width - 1)}…` : l}`);
      },
    } : {}),
    distDir: path.dirname(__filename),
    cwd: process.cwd(),
    signal: controller.signal,
  });
  process.exitCode = code;
}

main().catch((err) => {
  try {
    process.stderr.write(`ptycho-study: ${(err as Error).message}\n`);
  } catch {
    // stderr gone too
  }
  process.exitCode = 1;
});
