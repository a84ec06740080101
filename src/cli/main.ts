// Entry of the `ptycho-study` command. Ctrl-C (SIGINT/SIGTERM) cancels the running command cleanly:
// long operations check the AbortSignal and every file they write is written atomically.
import * as path from 'node:path';
import { runCli } from './commands';

async function main(): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) process.exit(130); // a second Ctrl-C: leave now (files are still whole: atomic writes)
    process.stderr.write(`\nptycho-study: ${sig} received, cancelling…\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await runCli(process.argv.slice(2), {
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    distDir: path.dirname(__filename),
    cwd: process.cwd(),
    signal: controller.signal,
  });
  process.exitCode = code;
}

main().catch((err) => {
  process.stderr.write(`ptycho-study: ${(err as Error).message}\n`);
  process.exitCode = 1;
});
