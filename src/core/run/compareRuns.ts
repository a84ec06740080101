// Compare Runs (issue 15): two or more runs — of one job (its history under runs/) or of different jobs — side by
// side: the settings that differ, the metrics of the common evaluation with the better value marked, and each
// run's loss (or, for a Phase F run, relative-error) curve. Pure Node, no vscode: the CLI's `compare-runs` and the
// VS Code panel both build on it.
//
// A job's events.jsonl is its journal across runs (runHistory.ts keeps it at the top level), so a run's curve is cut
// out of it: the journal splits at each fresh start (a `started`/`recon-started` without `resumedFrom`; a resume
// continues the segment it resumes), and a run owns the last segment that began before it ended.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARTIFACT } from '../study/layout';
import { MANIFEST_MAX_BYTES, RUN_STATUSES, type RunStatus } from '../study/manifest';
import { runSettings } from '../report/write';
import { parseEvents, type RunEvent } from './events';
import { listRunsSync, RUNS_DIR } from './runHistory';
import { readSmallFile } from './safeFiles';

/** A run: the job's latest (`runId` undefined or 'latest') or one kept under runs/<runId>/. */
export interface RunRef {
  jobId: string;
  jobDir: string;
  runId?: string;
}

export interface RunCurve {
  /** epoch (training) or iteration (Phase F). */
  xLabel: 'epoch' | 'iteration';
  /** loss (training: the epoch's mean train loss) or relative error (Phase F). */
  yLabel: 'loss' | 'relative error';
  x: number[];
  y: number[];
  /** Validation loss per epoch (training; null where the epoch had none). */
  val: (number | null)[];
}

export type ComparedPart = 'amplitude' | 'phase';

export interface ComparedRun {
  /** `<job id>@<run id>`: unique within a comparison. */
  key: string;
  jobId: string;
  runId: string;
  latest: boolean;
  dir: string;
  kind: 'train' | 'reconstruct';
  status: RunStatus;
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Epochs (training) or iterations (Phase F) run. */
  length?: number;
  seconds?: number;
  curve: RunCurve;
  /** metrics.json of the run (amplitude and phase objects), when it has one. */
  metrics?: Record<ComparedPart, Record<string, number | null>>;
  hasReconstruction: boolean;
  /** The run's settings, flattened (`training.learningRate` → its JSON value). */
  settings: Record<string, string>;
}

export interface ComparedMetric {
  part: ComparedPart | 'run';
  /** metrics.json key (`pearsonCovered`, `msSsim`, …) or a run figure (`bestValLoss`, `seconds`). */
  key: string;
  label: string;
  lowerIsBetter: boolean;
  /** One per run, in the comparison's order. */
  values: (number | null)[];
  /** Indexes of the best value (empty when fewer than two runs have one, or all are equal). */
  best: number[];
}

export interface RunComparison {
  runs: ComparedRun[];
  /** Settings whose values differ between the runs (a run without the key shows `(unset)`). */
  settings: { key: string; values: string[] }[];
  metrics: ComparedMetric[];
  notes: string[];
}

/** The metrics compared, with their direction (the study's headline set; metrics.json keys). */
export const COMPARED_METRICS: readonly { key: string; label: string; lowerIsBetter: boolean }[] = [
  { key: 'pearsonCovered', label: 'Pearson r (covered)', lowerIsBetter: false },
  { key: 'pearson', label: 'Pearson r (region)', lowerIsBetter: false },
  { key: 'ssim', label: 'SSIM', lowerIsBetter: false },
  { key: 'msSsim', label: 'MS-SSIM', lowerIsBetter: false },
  { key: 'frc50', label: 'FRC50 (cycles/px)', lowerIsBetter: false },
  { key: 'psnr', label: 'PSNR (dB)', lowerIsBetter: false },
  { key: 'mae', label: 'MAE', lowerIsBetter: true },
];

/** Bigger files are not parsed (a 50-epoch run's journal is a few MB). */
const EVENTS_MAX_BYTES = 256 << 20;
const SAFE_ID = /^[\w.-]{1,100}$/;

export class RunCompareError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunCompareError';
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

async function readJson(file: string, maxBytes = MANIFEST_MAX_BYTES): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await readSmallFile(file, maxBytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const v = JSON.parse(text) as unknown;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new Error('not a JSON object');
  return v as Record<string, unknown>;
}

const time = (e: RunEvent): number => Date.parse(e.time);
const isFreshStart = (e: RunEvent): boolean => (e.type === 'started' || e.type === 'recon-started') && !e.resumedFrom;

/**
 * The journal's events of the run that ended at `endedAt` (or of the last run, when it has not ended): the segment of
 * the last fresh start at or before that time. No slack: the next run can start within a second of this one's end,
 * and both times come from the same clock (a run's own start precedes its end).
 */
export function runSegment(events: readonly RunEvent[], endedAt: string | undefined): RunEvent[] {
  const starts: number[] = [];
  events.forEach((e, i) => {
    if (isFreshStart(e)) starts.push(i);
  });
  if (starts.length === 0) return [];
  const end = endedAt ? Date.parse(endedAt) : Infinity;
  let s = -1;
  for (let k = 0; k < starts.length; k++) if (time(events[starts[k]]) <= end) s = k;
  if (s < 0) return [];
  return events.slice(starts[s], s + 1 < starts.length ? starts[s + 1] : events.length);
}

/** The curve of one run's segment: epochs (a resumed epoch replaces its first record) or iterations. */
export function curveOf(segment: readonly RunEvent[], kind: 'train' | 'reconstruct'): RunCurve {
  const byX = new Map<number, { y: number; val: number | null }>();
  for (const e of segment) {
    if (kind === 'train' && e.type === 'epoch' && Number.isFinite(e.trainLoss)) byX.set(e.epoch, { y: e.trainLoss, val: num(e.valLoss) });
    if (kind === 'reconstruct' && e.type === 'iteration' && Number.isFinite(e.relativeError)) byX.set(e.iteration, { y: e.relativeError, val: null });
  }
  const xs = [...byX.keys()].sort((a, b) => a - b);
  return {
    xLabel: kind === 'train' ? 'epoch' : 'iteration', yLabel: kind === 'train' ? 'loss' : 'relative error',
    x: xs, y: xs.map((x) => byX.get(x)!.y), val: xs.map((x) => byX.get(x)!.val),
  };
}

function metricsOf(json: Record<string, unknown> | undefined): ComparedRun['metrics'] {
  if (!json) return undefined;
  const part = (v: unknown): Record<string, number | null> => {
    const o = v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
    return Object.fromEntries(COMPARED_METRICS.map((m) => [m.key, num(o[m.key])]));
  };
  if (!json.amplitude && !json.phase) return undefined;
  return { amplitude: part(json.amplitude), phase: part(json.phase) };
}

/** Indexes of the best among values (at least two present and not all equal). */
export function bestOf(values: readonly (number | null)[], lowerIsBetter: boolean): number[] {
  const present = values.map((v, i) => [v, i] as const).filter((p): p is readonly [number, number] => p[0] !== null);
  if (present.length < 2) return [];
  const target = lowerIsBetter ? Math.min(...present.map((p) => p[0])) : Math.max(...present.map((p) => p[0]));
  if (present.every((p) => p[0] === target)) return [];
  return present.filter((p) => p[0] === target).map((p) => p[1]);
}

/** The folder of a run: the job folder for its latest, runs/<id>/ for an earlier one (checked to exist). */
export function runDir(ref: RunRef): { dir: string; latest: boolean } {
  if (ref.runId === undefined || ref.runId === 'latest') return { dir: ref.jobDir, latest: true };
  const latest = listRunsSync(ref.jobDir, 0)[0];
  if (latest?.latest && latest.id === ref.runId) return { dir: ref.jobDir, latest: true };
  if (!SAFE_ID.test(ref.runId) || ref.runId.startsWith('.')) throw new RunCompareError(`"${ref.runId}" is not a run id.`);
  return { dir: path.join(ref.jobDir, RUNS_DIR, ref.runId), latest: false };
}

/** One run, read for comparison (its manifest, metrics and curve). */
export async function loadComparedRun(ref: RunRef): Promise<ComparedRun> {
  const { dir, latest } = runDir(ref);
  let manifest: Record<string, unknown> | undefined;
  try {
    manifest = await readJson(path.join(dir, ARTIFACT.manifest));
  } catch (err) {
    throw new RunCompareError(`${ref.jobId}${latest ? '' : ` run ${ref.runId}`}: ${path.join(dir, ARTIFACT.manifest)} cannot be read (${(err as Error).message}).`);
  }
  if (!manifest) {
    throw new RunCompareError(latest ? `${ref.jobId} has not run yet: there is no ${path.join(dir, ARTIFACT.manifest)}.` : `${ref.jobId} has no run ${ref.runId} (no ${path.join(dir, ARTIFACT.manifest)}).`);
  }
  const entry = latest ? listRunsSync(ref.jobDir, 0)[0] : undefined;
  const kind: ComparedRun['kind'] = manifest.kind === 'ptycho-study-reconstruction' ? 'reconstruct' : 'train';
  let status: RunStatus = RUN_STATUSES.includes(manifest.status as RunStatus) ? manifest.status as RunStatus : 'failed';
  if (entry?.latest) status = entry.status; // a `running` manifest whose process is gone reads as failed
  const runId = latest ? (typeof manifest.runId === 'string' ? manifest.runId : 'latest') : ref.runId!;
  const finishedAt = typeof manifest.finishedAt === 'string' ? manifest.finishedAt : undefined;
  let events: RunEvent[] = [];
  try {
    events = parseEvents(await readSmallFile(path.join(ref.jobDir, ARTIFACT.events), EVENTS_MAX_BYTES));
  } catch {
    // No journal (or an unreadable one): the run has no curve.
  }
  const endedAt = status === 'running' && latest ? undefined : finishedAt ?? (typeof manifest.updatedAt === 'string' ? manifest.updatedAt : undefined);
  const curve = curveOf(runSegment(events, endedAt), kind);
  let metricsJson: Record<string, unknown> | undefined;
  try {
    metricsJson = await readJson(path.join(dir, ARTIFACT.metrics), 64 << 20);
  } catch {
    metricsJson = undefined;
  }
  const result = (manifest.result ?? {}) as Record<string, unknown>;
  const timing = (manifest.timing ?? {}) as Record<string, unknown>;
  const seconds = num(timing.trainingSeconds) ?? num(timing.reconstructionSeconds) ?? num(timing.seconds) ?? undefined;
  let hasReconstruction = false;
  try {
    hasReconstruction = (await fs.promises.stat(path.join(dir, ARTIFACT.reconstruction))).isFile();
  } catch {
    hasReconstruction = false;
  }
  return {
    key: `${ref.jobId}@${runId}`, jobId: ref.jobId, runId, latest, dir, kind, status,
    ...(typeof manifest.reason === 'string' ? { reason: manifest.reason } : {}),
    ...(typeof manifest.startedAt === 'string' ? { startedAt: manifest.startedAt } : {}),
    ...(finishedAt ? { finishedAt } : {}),
    ...(num(result.epochs) ?? num(result.iterations)) !== null ? { length: (num(result.epochs) ?? num(result.iterations))! } : {},
    ...(seconds !== undefined ? { seconds } : {}),
    curve, metrics: metricsOf(metricsJson), hasReconstruction,
    settings: Object.fromEntries(runSettings(manifest, kind)),
  };
}

/** Compares runs (two or more; the same run twice is refused). */
export async function compareRuns(refs: readonly RunRef[]): Promise<RunComparison> {
  if (refs.length < 2) throw new RunCompareError(`Compare Runs needs two or more runs (got ${refs.length}).`);
  const runs: ComparedRun[] = [];
  for (const ref of refs) runs.push(await loadComparedRun(ref));
  const seen = new Set<string>();
  for (const r of runs) {
    if (seen.has(r.dir)) throw new RunCompareError(`${r.key} is listed twice.`);
    seen.add(r.dir);
  }
  const notes: string[] = [];
  const kinds = new Set(runs.map((r) => r.kind));
  if (kinds.size > 1) notes.push('Training runs and Phase F reconstructions are compared: their curves measure different things (loss vs relative error); the metrics share the common evaluation.');
  for (const r of runs) {
    if (!r.metrics) notes.push(`${r.key} has no metrics.json (${r.status}${r.reason ? `: ${r.reason}` : ''}).`);
    if (r.curve.x.length === 0) notes.push(`${r.key}: no ${r.curve.xLabel}s found in ${path.join(r.jobId, ARTIFACT.events)}.`);
  }
  const keys = [...new Set(runs.flatMap((r) => Object.keys(r.settings)))].sort();
  const settings = keys.map((key) => ({ key, values: runs.map((r) => r.settings[key] ?? '(unset)') })).filter((s) => new Set(s.values).size > 1);
  const metrics: ComparedMetric[] = [];
  for (const part of ['amplitude', 'phase'] as const) {
    for (const m of COMPARED_METRICS) {
      const values = runs.map((r) => r.metrics?.[part][m.key] ?? null);
      if (values.every((v) => v === null)) continue;
      metrics.push({ part, key: m.key, label: m.label, lowerIsBetter: m.lowerIsBetter, values, best: bestOf(values, m.lowerIsBetter) });
    }
  }
  const finalY = runs.map((r) => (r.curve.y.length ? r.curve.y[r.curve.y.length - 1] : null));
  if (runs.every((r) => r.kind === 'train')) {
    const bestVal = runs.map((r) => {
      const v = r.curve.val.filter((x): x is number => x !== null);
      return v.length ? Math.min(...v) : null;
    });
    metrics.push({ part: 'run', key: 'bestValLoss', label: 'best validation loss', lowerIsBetter: true, values: bestVal, best: bestOf(bestVal, true) });
    metrics.push({ part: 'run', key: 'finalLoss', label: 'final train loss', lowerIsBetter: true, values: finalY, best: bestOf(finalY, true) });
  } else if (runs.every((r) => r.kind === 'reconstruct')) {
    metrics.push({ part: 'run', key: 'relativeError', label: 'final relative error', lowerIsBetter: true, values: finalY, best: bestOf(finalY, true) });
  }
  const secs = runs.map((r) => r.seconds ?? null);
  metrics.push({ part: 'run', key: 'seconds', label: 'run time (s)', lowerIsBetter: true, values: secs, best: bestOf(secs, true) });
  return { runs, settings, metrics, notes };
}

/** Parses `<job id>` or `<job id>@<run id>` (the CLI's and the panel's run reference). */
export function parseRunRef(text: string): { jobId: string; runId?: string } {
  const at = text.lastIndexOf('@');
  if (at < 0) return { jobId: text };
  const runId = text.slice(at + 1);
  if (!runId || !(runId === 'latest' || (SAFE_ID.test(runId) && !runId.startsWith('.')))) throw new RunCompareError(`"${text}": "${runId}" is not a run id.`);
  return { jobId: text.slice(0, at), runId };
}
