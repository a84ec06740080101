// The job a model command (`score`, `apply`) works on: a training job id found in the study, or a job folder; and
// the intra-op threads it asked for.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkRequestedThreads, resolveThreads, ThreadsError, type ResolvedThreads } from '../core/runtime/threads';
import { parseJobId } from '../core/study/layout';
import { givenRootFlags, str, UsageError, type Parsed } from './args';
import type { CliIO, StudyLookup } from './commands';

const ROOT_FLAG_NAMES = ['workspace', 'phase-c-root', 'phase-d-root', 'artifact-root'];

export interface JobTarget {
  jobDir: string;
  jobId?: string;
  /** The root flags given, for the commands messages suggest. */
  rootHint?: string;
}

export async function jobTargetOf(p: Parsed, io: CliIO, deps: StudyLookup): Promise<JobTarget> {
  const target = p.positionals[0];
  if (!target) throw new UsageError('a job id or a job folder is required.');
  if (parseJobId(target)) {
    const jobId = target.trim();
    return { jobId, jobDir: await deps.jobDirOf(p, io, await deps.loadStudy(p, io), jobId), rootHint: givenRootFlags(p, io.cwd, ROOT_FLAG_NAMES) };
  }
  const jobDir = path.resolve(io.cwd, target);
  const st = fs.statSync(jobDir, { throwIfNoEntry: false });
  if (!st) throw new UsageError(`"${target}" is neither a training job id (dose_<int>/<view>/gs<g>) nor a folder.`);
  if (!st.isDirectory()) throw new UsageError(`"${target}" is not a job folder (give the folder, not a file in it).`);
  const parts = jobDir.split(path.sep).slice(-3).join('/');
  return { jobDir, jobId: parseJobId(parts) ? parts : undefined };
}

/** --threads N (0 or absent: automatic), resolved as a run resolves it. */
export function requestedThreads(p: Parsed): ResolvedThreads {
  let requested: number | undefined;
  try {
    const raw = str(p, 'threads');
    requested = raw === undefined ? undefined : checkRequestedThreads(raw, '--threads') || undefined;
  } catch (err) {
    if (err instanceof ThreadsError) throw new UsageError(err.message);
    throw err;
  }
  return resolveThreads({ requested, requestedFrom: 'cli', env: process.env, available: os.availableParallelism() });
}
