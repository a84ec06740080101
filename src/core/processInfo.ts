// Who a pid is: alive or not, and when it started, so a recorded pid that the OS has since handed to another
// process (pid reuse, a container restart) is not mistaken for the run that recorded it.
import * as fs from 'node:fs';

/** A pid that can be a worker or a launcher of ours: a positive integer, not init (1). */
export function isPlausiblePid(pid: unknown): pid is number {
  return typeof pid === 'number' && Number.isInteger(pid) && pid > 1;
}

export function isProcessAlive(pid: number): boolean {
  if (!isPlausiblePid(pid)) return false; // kill(0) / kill(-n) would signal a whole process group
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let bootMs: number | null | undefined;

/**
 * When `pid` started, ms since the epoch, where the OS tells (Linux: /proc/<pid>/stat field 22, clock ticks
 * since boot, plus `btime` of /proc/stat); undefined elsewhere or when the process does not exist.
 * Precision: 10 ms ticks on a whole-second boot time, so compare with START_TIME_TOLERANCE_MS.
 */
export function processStartTime(pid: number): number | undefined {
  if (process.platform !== 'linux' || !isPlausiblePid(pid)) return undefined;
  try {
    if (bootMs === undefined) {
      const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
      bootMs = m ? Number(m[1]) * 1000 : null;
    }
    if (bootMs === null) return undefined;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[22 - 3]);
    // USER_HZ is 100 on every Linux ABI Node supports (sysconf(_SC_CLK_TCK) is not reachable from Node).
    return Number.isFinite(ticks) ? bootMs + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** btime can move by a second when the clock is adjusted; a reused pid starts far later than that. */
export const START_TIME_TOLERANCE_MS = 2000;

/**
 * Is `pid` (on this host) still the process that recorded `startedAt`? Alive, and where both the record and
 * the OS give a start time, the same one; without a start time, alive is all we can tell.
 */
export function isSameProcess(pid: unknown, startedAt: number | string | undefined): boolean {
  if (!isPlausiblePid(pid) || !isProcessAlive(pid)) return false;
  const recorded = typeof startedAt === 'string' ? Date.parse(startedAt) : startedAt;
  if (recorded === undefined || !Number.isFinite(recorded)) return true;
  const now = processStartTime(pid);
  return now === undefined || Math.abs(now - recorded) <= START_TIME_TOLERANCE_MS;
}
