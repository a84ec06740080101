// Cancelling a run this process did not start — one left running by a closed VS Code window (a detached run), or
// started by the CLI in a terminal: its manifest names the worker (pid, process start time, host); the worker is
// sent SIGINT, which it treats as a cancel (finish the step, write the checkpoint, record `cancelled`). The pid
// must still be that worker — alive, on this host, with the recorded start time — so a pid the OS has since given to
// another process is never signalled.
import * as os from 'node:os';
import * as path from 'node:path';
import { isPlausiblePid, isSameProcess } from '../processInfo';
import { ARTIFACT } from '../study/layout';
import { MANIFEST_MAX_BYTES } from '../study/manifest';
import { readSmallFileSync } from './safeFiles';

export class CancelRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CancelRefusedError';
  }
}

interface RunningManifest {
  status?: string;
  runId?: string;
  runtime?: { pid?: unknown; hostname?: unknown; processStartedAt?: unknown };
}

/**
 * Sends SIGINT to the worker `<jobDir>/manifest.json` records as running. Returns its pid; throws
 * CancelRefusedError saying why when there is nothing (or nothing provably ours) to signal.
 */
export function cancelExternalRun(jobDir: string, jobId: string): { pid: number; runId?: string } {
  let m: RunningManifest;
  try {
    m = JSON.parse(readSmallFileSync(path.join(jobDir, ARTIFACT.manifest), MANIFEST_MAX_BYTES)) as RunningManifest;
  } catch (err) {
    throw new CancelRefusedError(`${jobId} has no readable manifest.json (${(err as Error).message}).`);
  }
  if (m.status !== 'running') throw new CancelRefusedError(`${jobId} is not running (its manifest says ${String(m.status)}).`);
  const rt = m.runtime ?? {};
  const host = typeof rt.hostname === 'string' ? rt.hostname : undefined;
  if (host && host !== os.hostname()) throw new CancelRefusedError(`${jobId} runs on ${host}, not on this host (${os.hostname()}): cancel it there.`);
  if (!isPlausiblePid(rt.pid)) throw new CancelRefusedError(`${jobId}'s manifest names no worker process (pid ${String(rt.pid)}).`);
  const started = typeof rt.processStartedAt === 'string' ? rt.processStartedAt : undefined;
  if (!isSameProcess(rt.pid, started)) {
    throw new CancelRefusedError(`${jobId}'s worker (pid ${rt.pid}${started ? `, started ${started}` : ''}) is no longer running; the job is left as its files say.`);
  }
  try {
    process.kill(rt.pid, 'SIGINT');
  } catch (err) {
    throw new CancelRefusedError(`${jobId}: could not signal pid ${rt.pid} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  return { pid: rt.pid, runId: m.runId };
}
