// Run history (issue 15): a job's earlier runs are never overwritten. The job folder's top level is its latest run —
// so every path of the study contract (manifest.json, metrics.json, reconstruction.npz, …) still resolves — and when a
// fresh run starts (not a resume, which continues the same run) the previous run's files move to
// `runs/<run id>/` first: its manifest, plan, checkpoint, model, reconstruction, metrics, images and previews. The
// logs (train.log / recon.log, events.jsonl) are the job's journals, appended by every run, and stay where they are.
// The move goes through `runs/.<id>.partial/` and one final rename, under the job's run lock: a crash part-way leaves
// the partial folder, which the next start completes before anything else. Old runs go only on request (deleteRun).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACT } from '../study/layout';
import { readRunRecord, runningProcessGone, type JobManifest, type RunStatus } from '../study/manifest';
import { PREVIEW_DIR } from './previews';
import { assertInsideRoot, readSmallFileSync } from './safeFiles';
import { MANIFEST_MAX_BYTES, RUN_STATUSES } from '../study/manifest';
import { writeFileAtomic } from '../atomic';

export const RUNS_DIR = 'runs';
/** What belongs to one run (everything else in the job folder is the job's: its logs, its lock). */
export const RUN_FILES: readonly string[] = [
  ARTIFACT.manifest, ARTIFACT.runConfig, ARTIFACT.checkpoint, ARTIFACT.model, ARTIFACT.reconstruction, ARTIFACT.metrics,
  ARTIFACT.amplitudePng, ARTIFACT.phasePng, ARTIFACT.ptychodusProduct, PREVIEW_DIR,
];
const PARTIAL = /^\.(.+)\.partial$/;
const SAFE_ID = /^[\w.-]{1,100}$/;

export class RunHistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunHistoryError';
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.promises.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** Moves what is left of the run into a partial folder, then renames it into place (idempotent). */
async function complete(jobDir: string, partial: string, id: string): Promise<string> {
  for (const name of RUN_FILES) {
    const from = path.join(jobDir, name);
    if (await exists(from)) await fs.promises.rename(from, path.join(partial, name));
  }
  let target = path.join(jobDir, RUNS_DIR, id);
  for (let k = 2; await exists(target); k++) target = path.join(jobDir, RUNS_DIR, `${id}-${k}`);
  await fs.promises.rename(partial, target);
  return path.basename(target);
}

/** A partial move left by a crash: finished now (its run's remaining files join it). */
export async function recoverPartialArchive(jobDir: string): Promise<string[]> {
  // A runs/ planted as a symlink out of the job folder is refused before anything moves (UnsafePathError).
  assertInsideRoot(jobDir, path.join(jobDir, RUNS_DIR));
  let names: string[];
  try {
    names = await fs.promises.readdir(path.join(jobDir, RUNS_DIR));
  } catch {
    return [];
  }
  const done: string[] = [];
  for (const n of names) {
    const m = PARTIAL.exec(n);
    if (m && SAFE_ID.test(m[1])) done.push(await complete(jobDir, path.join(jobDir, RUNS_DIR, n), m[1]));
  }
  return done;
}

/**
 * Before a fresh run: the job's previous run (a manifest that ran: succeeded, failed or cancelled) moves to
 * `runs/<its run id>/`. Returns the id it was filed under, or undefined when there was nothing to keep. The caller
 * holds the job's run lock.
 */
export async function archivePreviousRun(jobDir: string, now: Date = new Date()): Promise<string | undefined> {
  await recoverPartialArchive(jobDir);
  const record = await readRunRecord(jobDir, now);
  if (!record || record.status === 'dry-run' || record.status === 'running') return undefined;
  const m = record.manifest as Partial<JobManifest>;
  const started = typeof m.startedAt === 'string' ? m.startedAt : typeof m.createdAt === 'string' ? m.createdAt : now.toISOString();
  let id = typeof m.runId === 'string' && SAFE_ID.test(m.runId) ? m.runId : `run-${started.replace(/[:.]/g, '-')}`;
  if (!SAFE_ID.test(id)) id = `run-${now.getTime()}`;
  const partial = path.join(jobDir, RUNS_DIR, `.${id}.partial`);
  await fs.promises.mkdir(partial, { recursive: true });
  return complete(jobDir, partial, id);
}

export interface RunEntry {
  /** The run id (the folder name under runs/, or the latest run's id). */
  id: string;
  latest: boolean;
  dir: string;
  status: RunStatus;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  epochs?: number;
  /** Pearson r of amplitude and phase on the covered pixels of the common evaluation, when scored. */
  amplitudeR?: number | null;
  phaseR?: number | null;
  /** The settings the run was planned with (its RunConfig's training or reconstruction settings). */
  settings?: Record<string, unknown>;
}

/** Every run of a job, newest first (listRunsSync; async for callers that await it). */
export async function listRuns(jobDir: string): Promise<RunEntry[]> {
  return listRunsSync(jobDir);
}

/** The archived runs' ids (folders under runs/), without reading them: cheap enough for every tree render. */
export function archivedRunIds(jobDir: string): string[] {
  try {
    return fs.readdirSync(path.join(jobDir, RUNS_DIR), { withFileTypes: true }).filter((d) => d.isDirectory() && SAFE_ID.test(d.name) && !d.name.startsWith('.')).map((d) => d.name);
  } catch {
    return [];
  }
}

/**
 * Every run of a job, newest first: the latest (the top level), then the archived ones under runs/. Synchronous,
 * bounded reads (the VS Code tree renders from it); an unreadable manifest reads as failed, and a `running` one whose
 * process is gone as failed with the reason, as readRunRecord judges it.
 */
export function listRunsSync(jobDir: string, max = 200): RunEntry[] {
  const read = (dir: string, latest: boolean, fallbackId: string): RunEntry | undefined => {
    let m: Record<string, unknown> & { result?: { epochs?: number; iterations?: number; metrics?: { amplitude?: { pearsonCovered?: number | null; pearson?: number | null }; phase?: { pearsonCovered?: number | null; pearson?: number | null } } }; config?: { training?: Record<string, unknown>; settings?: Record<string, unknown> } };
    try {
      m = JSON.parse(readSmallFileSync(path.join(dir, ARTIFACT.manifest), MANIFEST_MAX_BYTES));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return { id: fallbackId, latest, dir, status: 'failed', reason: `manifest.json cannot be read (${(err as Error).message})` };
    }
    let status = RUN_STATUSES.includes(m.status as RunStatus) ? m.status as RunStatus : 'failed';
    if (status === 'dry-run') return undefined;
    const gone = status === 'running' ? runningProcessGone(m.runtime as JobManifest['runtime'], new Date()) : undefined;
    if (gone) status = 'failed';
    const met = m.result?.metrics;
    return {
      id: latest && typeof m.runId === 'string' ? m.runId : fallbackId, latest, dir, status, reason: gone ?? (typeof m.reason === 'string' ? m.reason : undefined),
      startedAt: typeof m.startedAt === 'string' ? m.startedAt : undefined, finishedAt: typeof m.finishedAt === 'string' ? m.finishedAt : undefined,
      epochs: m.result?.epochs ?? m.result?.iterations, amplitudeR: met?.amplitude?.pearsonCovered ?? met?.amplitude?.pearson, phaseR: met?.phase?.pearsonCovered ?? met?.phase?.pearson,
      settings: (m.config?.training ?? m.config?.settings) as Record<string, unknown> | undefined,
    };
  };
  const latest = read(jobDir, true, 'latest');
  const older = archivedRunIds(jobDir).slice(0, max).map((id) => read(path.join(jobDir, RUNS_DIR, id), false, id)).filter((e): e is RunEntry => !!e);
  older.sort((a, b) => (b.startedAt ?? b.id).localeCompare(a.startedAt ?? a.id));
  return latest ? [latest, ...older] : older;
}

/** The settings of `b` that differ from `a`, as `key value` strings (what a run changed against the latest). */
export function settingsDiff(a: Record<string, unknown> | undefined, b: Record<string, unknown> | undefined): string[] {
  if (!a || !b) return [];
  const out: string[] = [];
  for (const k of Object.keys(b).sort()) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(`${k} ${JSON.stringify(b[k])}`);
  return out;
}

/** Deletes an archived run (the latest run is the job's current state: it is replaced by training again, not deleted). */
export async function deleteRun(jobDir: string, id: string): Promise<void> {
  if (!SAFE_ID.test(id) || id.startsWith('.')) throw new RunHistoryError(`"${id}" is not a run id.`);
  const dir = path.join(jobDir, RUNS_DIR, id);
  const st = await fs.promises.lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new RunHistoryError(`${jobDir} has no archived run ${id} (the latest run is not under runs/ and cannot be deleted here).`);
  await fs.promises.rm(dir, { recursive: true, force: true });
}

/** The job's own file naming the run that represents it in the study comparison and report (when not the default). */
export const RUN_CHOICE_FILE = 'comparison_run.json';

/** Which run stands for a job in the study comparison and the report, and why. */
export interface RepresentativeRun {
  /** The run's folder: the job folder (latest) or runs/<id>/. */
  dir: string;
  id: string;
  latest: boolean;
  /** 'chosen': named in comparison_run.json; 'latest': the latest run succeeded (or none did); 'latest-succeeded': an earlier run, because the latest did not succeed. */
  why: 'chosen' | 'latest' | 'latest-succeeded';
  /** The latest run's status when an earlier run stands in for it. */
  latestStatus?: RunStatus;
}

/** The run id the user chose for the comparison (comparison_run.json), if any. */
export function chosenRunId(jobDir: string): string | undefined {
  try {
    const v = JSON.parse(readSmallFileSync(path.join(jobDir, RUN_CHOICE_FILE), 64 << 10)) as { runId?: unknown };
    return typeof v.runId === 'string' && SAFE_ID.test(v.runId) && !v.runId.startsWith('.') ? v.runId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The run that represents a job in comparisons: the one chosen (comparison_run.json, while it exists and succeeded),
 * else the latest run when it succeeded, else the newest earlier run that succeeded, else the latest (whatever it is).
 */
export function representativeRun(jobDir: string, runs: readonly RunEntry[] = listRunsSync(jobDir)): RepresentativeRun | undefined {
  const latest = runs.find((r) => r.latest);
  const chosen = chosenRunId(jobDir);
  const pick = (r: RunEntry, why: RepresentativeRun['why']): RepresentativeRun => ({
    dir: r.dir, id: r.id, latest: r.latest, why, ...(!r.latest && latest ? { latestStatus: latest.status } : {}),
  });
  const named = chosen !== undefined ? runs.find((r) => r.id === chosen && r.status === 'succeeded') : undefined;
  if (named) return pick(named, 'chosen');
  if (latest?.status === 'succeeded') return pick(latest, 'latest');
  const earlier = runs.find((r) => !r.latest && r.status === 'succeeded');
  if (earlier) return pick(earlier, 'latest-succeeded');
  return latest ? pick(latest, 'latest') : undefined;
}

/** Names the run that represents the job in comparisons (undefined: back to the default, the latest succeeded). */
export async function chooseRepresentativeRun(jobDir: string, runId: string | undefined): Promise<void> {
  const file = path.join(jobDir, RUN_CHOICE_FILE);
  if (runId === undefined) {
    await fs.promises.rm(file, { force: true });
    return;
  }
  const run = listRunsSync(jobDir).find((r) => r.id === runId);
  if (!run) throw new RunHistoryError(`${jobDir} has no run ${runId}.`);
  if (run.status !== 'succeeded') throw new RunHistoryError(`Run ${runId} ${run.status === 'running' ? 'is still running' : `${run.status}`}: only a succeeded run has the reconstruction and metrics a comparison shows.`);
  await writeFileAtomic(file, `${JSON.stringify({ runId, chosenAt: new Date().toISOString() }, null, 2)}\n`);
}
