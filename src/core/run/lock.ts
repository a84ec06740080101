// The per-job run lock (`<job>/run.lock`): one run (training, or a Phase F reconstruction) per job folder at a
// time, across CLI processes, VS Code windows and hosts sharing the folder. Created with O_EXCL before anything
// else is written to the job folder; it records who holds it (launcher pid, host, process start time, run id,
// and the worker once forked). It is released when the run ends, on exit (Ctrl-C included) if the worker has
// stopped, and broken by another starter only when provably stale: same host, the launcher is no longer the
// process that wrote it (pid dead, or now a different process by its start time), and neither is the worker,
// or the worker has already recorded the run's end in manifest.json. A lock from another host is never broken
// automatically.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isPlausiblePid, isProcessAlive, isSameProcess, processStartTime } from '../processInfo';
import { MANIFEST_MAX_BYTES } from '../study/manifest';
import { readSmallFileSync } from './safeFiles';

export const LOCK_FILE = 'run.lock';

export interface LockHolder {
  pid: number;
  /** ms since the epoch, where the OS gives it (Linux). */
  startTime?: number;
}

export interface LockRecord extends LockHolder {
  hostname: string;
  runId: string;
  jobId: string;
  createdAt: string;
  /** The worker process, once forked (it outlives a launcher killed without cleanup). */
  worker?: LockHolder;
}

export class JobLockedError extends Error {
  constructor(message: string, readonly holder?: LockRecord) {
    super(message);
    this.name = 'JobLockedError';
  }
}

/** A run id: the start time (UTC, to the second) and a short random part, e.g. `20260101T120000Z-3fa9c1`. */
export function newRunId(now = new Date()): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '')}-${randomBytes(3).toString('hex')}`;
}

/** Locks this process holds, released synchronously on exit. */
const held = new Map<string, JobLock>();
let exitHookInstalled = false;

export class JobLock {
  private released = false;
  constructor(readonly file: string, readonly record: LockRecord) {}

  /** Records the forked worker, so the lock stays valid while it runs even if the launcher dies. */
  setWorker(pid: number | undefined): void {
    if (!isPlausiblePid(pid)) return;
    this.record.worker = { pid, startTime: processStartTime(pid) };
    // Replace by rename: a concurrent starter always sees a whole lock file.
    const tmp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.record));
    fs.renameSync(tmp, this.file);
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    held.delete(this.file);
    if (readLock(this.file)?.runId === this.record.runId) fs.rmSync(this.file, { force: true });
  }
}

export function readLock(file: string): LockRecord | undefined {
  try {
    // Non-blocking and capped: a FIFO or a huge file planted as run.lock reads as unreadable, never hangs.
    const r = JSON.parse(readSmallFileSync(file, 64 << 10)) as LockRecord;
    return r && typeof r === 'object' && typeof r.runId === 'string' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** An unreadable lock younger than this is being written (a holder writes its record right after creating it). */
const UNREADABLE_GRACE_MS = 60_000;
/** A `.break` marker older than this was left by a starter that died while breaking a stale lock. */
const BREAK_STALE_MS = 10_000;

/** Why a lock is provably stale, or undefined when it may be held. */
export function staleReason(dir: string, r: LockRecord | undefined, mtimeMs: number, now = Date.now()): string | undefined {
  if (!r) return now - mtimeMs > UNREADABLE_GRACE_MS ? 'unreadable and old' : undefined;
  if (r.hostname !== os.hostname()) return undefined; // another host's pids mean nothing here
  // Our own pid in a lock we do not hold is a previous process that had our pid (a restarted container).
  const ours = r.pid === process.pid && [...held.values()].some((l) => l.record.runId === r.runId);
  const launcher = ours || (r.pid !== process.pid && isSameProcess(r.pid, r.startTime));
  if (launcher) return undefined;
  const worker = r.worker !== undefined && r.worker.pid !== process.pid && isSameProcess(r.worker.pid, r.worker.startTime);
  // An orphaned worker (its launcher killed) that has recorded its run's end writes nothing more to the folder.
  if (worker && !runEnded(dir, r.runId)) return undefined;
  return `pid ${r.pid}${r.worker ? ` and worker pid ${r.worker.pid}` : ''} no longer running`;
}

function runEnded(dir: string, runId: string): boolean {
  try {
    const m = JSON.parse(readSmallFileSync(path.join(dir, 'manifest.json'), MANIFEST_MAX_BYTES)) as { runId?: string; status?: string };
    return m.runId === runId && (m.status === 'succeeded' || m.status === 'failed' || m.status === 'cancelled');
  } catch {
    return false;
  }
}

function describeHolder(file: string, r: LockRecord | undefined): string {
  if (!r) return `${file} is being written by another starter`;
  const worker = r.worker ? `, worker pid ${r.worker.pid}` : '';
  return `run ${r.runId} of pid ${r.pid} on ${r.hostname}${worker}, since ${r.createdAt}`;
}

/**
 * Takes the job folder's run lock or throws JobLockedError naming the holder's pid and host. `dir` must exist.
 * Breaking a stale lock is serialised by a `.break` marker (also O_EXCL), so two starters that both judge the
 * same lock stale cannot each remove the other's fresh lock.
 */
export function acquireJobLock(dir: string, ids: { jobId: string; runId: string; /** For the refusal: `trained` (default), `reconstructed`. */ activity?: string }): JobLock {
  const file = path.join(dir, LOCK_FILE);
  const record: LockRecord = {
    pid: process.pid, hostname: os.hostname(), startTime: processStartTime(process.pid), runId: ids.runId, jobId: ids.jobId, createdAt: new Date().toISOString(),
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o644);
      try {
        fs.writeSync(fd, JSON.stringify(record));
      } finally {
        fs.closeSync(fd);
      }
      const lock = new JobLock(file, record);
      held.set(file, lock);
      installExitHook();
      return lock;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = readLock(file);
    const mtime = fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    const stale = staleReason(dir, current, mtime);
    if (!stale) {
      const remote = current && current.hostname !== os.hostname() ? ` If no run is active on ${current.hostname}, delete ${file}.` : '';
      throw new JobLockedError(`${ids.jobId} is already being ${ids.activity ?? 'trained'} (${describeHolder(file, current)}); cancel that run first.${remote}`, current);
    }
    breakStale(file, current);
  }
  throw new JobLockedError(`${ids.jobId}: could not take ${file} (another starter keeps taking it).`);
}

function breakStale(file: string, judged: LockRecord | undefined): void {
  const marker = `${file}.break`;
  try {
    fs.closeSync(fs.openSync(marker, 'wx'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const age = Date.now() - (fs.statSync(marker, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if (age > BREAK_STALE_MS) fs.rmSync(marker, { force: true });
    return; // someone else is breaking it: retry the create
  }
  try {
    // Still the lock we judged stale (not a fresh one taken meanwhile)?
    const now = readLock(file);
    if (now?.runId === judged?.runId) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(marker, { force: true });
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // On exit (a second Ctrl-C included) release what we hold, except a lock whose worker still runs: it is
  // checkpointing, and the lock turns stale by itself once it stops.
  process.on('exit', () => {
    for (const lock of [...held.values()]) {
      const w = lock.record.worker;
      if (w && isProcessAlive(w.pid)) continue;
      try {
        lock.release();
      } catch {
        // leaving: a stale lock is broken by the next start
      }
    }
  });
}
