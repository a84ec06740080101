// How many intra-op threads onnxruntime's sessions get, decided once per run by the worker (and the same way by
// bench:train). Left unset, onnxruntime picks its own default (physical cores, often 1 on a shared or virtual
// machine): a run would use a fraction of the cores it may use. Precedence: an explicit request (CLI --threads or
// the ptychoStudy.training.threads setting) > SLURM_CPUS_PER_TASK > OMP_NUM_THREADS > the cores this process may
// run on (os.availableParallelism(), which honours the CPU affinity mask). Pure: the caller passes env and cores.

export type ThreadsSource = 'setting' | 'cli' | 'SLURM_CPUS_PER_TASK' | 'OMP_NUM_THREADS' | 'available';
export const THREADS_SOURCES: readonly ThreadsSource[] = ['setting', 'cli', 'SLURM_CPUS_PER_TASK', 'OMP_NUM_THREADS', 'available'];

export interface ThreadsRequest {
  /** Explicit thread count; undefined or 0 = automatic. */
  requested?: number;
  /** Where the explicit request came from (default 'cli'). */
  requestedFrom?: 'setting' | 'cli';
  env: NodeJS.ProcessEnv;
  /** Cores this process may use (os.availableParallelism()). */
  available: number;
}

export interface ResolvedThreads {
  threads: number;
  source: ThreadsSource;
  /** Environment values that were ignored, and other facts worth a log line. */
  notes: string[];
}

export class ThreadsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThreadsError';
  }
}

/** Largest thread count accepted (a typo guard, far above any machine). */
export const MAX_THREADS = 1024;

/**
 * Checks an explicit thread count (a number, or the text of a command-line value): a whole number 0 … MAX_THREADS
 * (0 = automatic). Throws ThreadsError naming `what`.
 */
export function checkRequestedThreads(value: unknown, what = 'threads'): number {
  const v = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_THREADS) {
    const got = typeof value === 'string' ? `"${value}"` : typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
    throw new ThreadsError(`${what} must be a whole number from 1 to ${MAX_THREADS}, or 0 for automatic (got ${got}).`);
  }
  return v;
}

/**
 * A thread count from an environment variable: a positive integer (OMP_NUM_THREADS may be a nested list such
 * as "4,2": its first level counts). Anything else is undefined.
 */
function envCount(raw: string | undefined, allowList: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const head = allowList ? raw.split(',')[0] : raw;
  if (!/^\s*\d+\s*$/.test(head)) return undefined;
  const v = Number(head);
  return Number.isSafeInteger(v) && v > 0 ? v : undefined;
}

export function resolveThreads(req: ThreadsRequest): ResolvedThreads {
  const notes: string[] = [];
  const available = Number.isInteger(req.available) && req.available > 0 ? req.available : 1;
  if (req.requested !== undefined) {
    const from = req.requestedFrom ?? 'cli';
    const n = checkRequestedThreads(req.requested, from === 'cli' ? '--threads' : 'ptychoStudy.training.threads');
    if (n > 0) {
      if (n > available) notes.push(`${n} threads requested, more than the ${available} cores available: the threads will share cores.`);
      return { threads: n, source: from, notes };
    }
  }
  for (const name of ['SLURM_CPUS_PER_TASK', 'OMP_NUM_THREADS'] as const) {
    const raw = req.env[name];
    if (raw === undefined || raw.trim() === '') continue;
    const n = envCount(raw, name === 'OMP_NUM_THREADS');
    if (n === undefined) {
      notes.push(`${name}=${JSON.stringify(raw)} is not a positive whole number; ignored.`);
      continue;
    }
    return { threads: n, source: name, notes };
  }
  return { threads: available, source: 'available', notes };
}

const SOURCE_TEXT: Record<ThreadsSource, string> = {
  setting: 'ptychoStudy.training.threads',
  cli: '--threads',
  SLURM_CPUS_PER_TASK: 'SLURM_CPUS_PER_TASK',
  OMP_NUM_THREADS: 'OMP_NUM_THREADS',
  available: 'available cores',
};

/** "onnxruntime: 2 intra-op threads (available cores)". */
export function describeThreads(t: { threads: number; source: ThreadsSource }): string {
  return `onnxruntime: ${t.threads} intra-op thread${t.threads === 1 ? '' : 's'} (${SOURCE_TEXT[t.source] ?? t.source})`;
}
