// The pure logic of the result panels (reconstruction viewer and study comparison), shared by the host and
// the pages and unit-tested on plain Node: which metric is better, best values, sorting, the dose × view grid
// of jobs with the reason of every empty cell, and the config keys that differ between jobs. No vscode, no
// DOM, no Node APIs.

export type MetricKey = 'mae' | 'mse' | 'psnr' | 'ssim' | 'msSsim' | 'pearson' | 'frc50' | 'frc1over7';
export type Better = 'lower' | 'higher';

export interface MetricSpec {
  key: MetricKey;
  label: string;
  better: Better;
  /** One line for a tooltip. */
  description: string;
}

/** The study's metrics (domain.md §7.3), in table order. */
export const METRICS: readonly MetricSpec[] = [
  { key: 'mae', label: 'MAE', better: 'lower', description: 'mean absolute error against the ground truth (lower is better)' },
  { key: 'mse', label: 'MSE', better: 'lower', description: 'mean squared error (lower is better)' },
  { key: 'psnr', label: 'PSNR', better: 'higher', description: 'peak signal-to-noise ratio in dB, peak = data range of the ground truth (higher is better)' },
  { key: 'ssim', label: 'SSIM', better: 'higher', description: 'structural similarity, 1 = identical (higher is better)' },
  { key: 'msSsim', label: 'MS-SSIM', better: 'higher', description: 'multi-scale SSIM, 5 levels (higher is better)' },
  { key: 'pearson', label: 'Pearson r', better: 'higher', description: 'Pearson correlation with the ground truth (amplitude; phase after plane removal), 1 = perfectly correlated, 0 = none (higher is better)' },
  { key: 'frc50', label: 'FRC50 (cycles/px)', better: 'higher', description: 'spatial frequency (cycles per pixel, 0.5 = Nyquist) of the first FRC shell below 0.5: how fine the details are where the reconstruction still agrees (higher is better)' },
  { key: 'frc1over7', label: 'FRC 1/7 (cycles/px)', better: 'higher', description: 'spatial frequency (cycles per pixel, interpolated) where the FRC drops below 1/7 (higher is better)' },
];

/** The metrics of the study-comparison table (a subset, as the study's summary tables). */
export const TABLE_METRICS: readonly MetricKey[] = ['mae', 'psnr', 'ssim', 'msSsim', 'pearson', 'frc50'];

export const metricSpec = (key: MetricKey): MetricSpec => METRICS.find((m) => m.key === key)!;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Indices of the best values (ties all win); empty when fewer than `minCount` values are finite (a single
 * value is not "best" of anything).
 */
export function bestIndices(values: readonly (number | null | undefined)[], better: Better, minCount = 2): number[] {
  let best: number | undefined;
  let count = 0;
  for (const v of values) {
    if (!finite(v)) continue;
    count++;
    if (best === undefined || (better === 'lower' ? v < best : v > best)) best = v;
  }
  if (best === undefined || count < minCount) return [];
  const out: number[] = [];
  values.forEach((v, i) => {
    if (finite(v) && v === best) out.push(i);
  });
  return out;
}

/** Which of two values is better: 'a', 'b', 'tie', or undefined when either is not a finite number. */
export function better(a: number | null | undefined, b: number | null | undefined, dir: Better): 'a' | 'b' | 'tie' | undefined {
  if (!finite(a) || !finite(b)) return undefined;
  if (a === b) return 'tie';
  return (dir === 'lower' ? a < b : a > b) ? 'a' : 'b';
}

// ---------------------------------------------------------------------------------------------------------
// Sorting table rows

export type SortValue = number | string | null | undefined;

/** Sorts rows by a value: numbers numerically, strings naturally; missing values always last. Stable. */
export function sortRows<T>(rows: readonly T[], value: (row: T) => SortValue, dir: 'asc' | 'desc'): T[] {
  const sign = dir === 'asc' ? 1 : -1;
  return rows
    .map((row, i) => ({ row, i, v: value(row) }))
    .sort((x, y) => {
      const mx = x.v === null || x.v === undefined || (typeof x.v === 'number' && !Number.isFinite(x.v));
      const my = y.v === null || y.v === undefined || (typeof y.v === 'number' && !Number.isFinite(y.v));
      if (mx || my) return mx === my ? x.i - y.i : mx ? 1 : -1;
      const c = typeof x.v === 'number' && typeof y.v === 'number'
        ? x.v - y.v
        : String(x.v).localeCompare(String(y.v), undefined, { numeric: true });
      return c !== 0 ? sign * c : x.i - y.i;
    })
    .map((e) => e.row);
}

// ---------------------------------------------------------------------------------------------------------
// The dose × view grid

/** How a job reconstructs: `pinn` (a trained PtychoPINN) or an iterative algorithm of Phase F (`epie`, `rpie`). */
export type Method = string;
export const PINN: Method = 'pinn';

/** `PINN`, `ePIE`, `rPIE`, or the name as it is. */
export function methodLabel(method: Method | undefined): string {
  const m = method ?? PINN;
  if (m === PINN) return 'PINN';
  if (m === 'epie') return 'ePIE';
  if (m === 'rpie') return 'rPIE';
  return m;
}

/** The grid column of a job: `view/gs<g>` for a PINN (as before), `view/<algorithm>` for an iterative method. */
export function columnKey(job: { view: string; gridsize: number; method?: Method }): string {
  const m = job.method ?? PINN;
  return m === PINN ? `${job.view}/gs${job.gridsize}` : `${job.view}/${m}`;
}

/** What the grid needs of a job (the host fills it from StudyJob or a Phase F job and the artifact folder). */
export interface GridJob {
  id: string;
  dose: number;
  view: string;
  gridsize: number;
  /** Default `pinn`. */
  method?: Method;
  /** StudyJob state, or 'queued' for a run waiting in this window's queue. */
  state: string;
  reason?: string;
  /** reconstruction.npz exists in the artifact folder. */
  hasReconstruction: boolean;
  /** Training progress, when running. */
  progress?: string;
}

export interface GridColumn {
  /** `view/gs<g>` (PINN) or `view/<algorithm>` (iterative). */
  key: string;
  view: string;
  gridsize: number;
  /** `pinn` or the iterative algorithm. */
  method: Method;
  label: string;
}

export type EmptyKind = 'absent' | 'missing' | 'invalid' | 'not-trained' | 'dry-run' | 'running' | 'queued' | 'failed' | 'cancelled' | 'no-reconstruction';

export interface GridCell {
  dose: number;
  column: string;
  job?: GridJob;
  /** Set when there is no reconstruction to show: why, in words. */
  empty?: { kind: EmptyKind; text: string };
}

export interface GridLayout {
  /** Ascending. */
  doses: number[];
  columns: GridColumn[];
  /** rows[i][j]: dose doses[i], column columns[j]. */
  rows: GridCell[][];
}

const VIEW_ORDER = ['baseline', 'dense', 'sparse'];

/** PINN columns first (baseline gs1, then each view's gs2), then the iterative ones per view and algorithm. */
function columnOrder(a: GridColumn, b: GridColumn): number {
  const pa = a.method === PINN ? 0 : 1;
  const pb = b.method === PINN ? 0 : 1;
  if (pa !== pb) return pa - pb;
  return viewOrder(a, b) || a.method.localeCompare(b.method);
}

function viewOrder(a: GridColumn, b: GridColumn): number {
  const ia = VIEW_ORDER.indexOf(a.view);
  const ib = VIEW_ORDER.indexOf(b.view);
  if (ia >= 0 || ib >= 0) return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.gridsize - b.gridsize;
  return a.view.localeCompare(b.view) || a.gridsize - b.gridsize;
}

/** Why a job (or its absence) gives no picture; undefined when it has a reconstruction to show. */
export function emptyReason(job: GridJob | undefined): GridCell['empty'] {
  if (!job) return { kind: 'absent', text: 'no such job: this view does not exist at this dose' };
  const iterative = (job.method ?? PINN) !== PINN;
  const noun = iterative ? 'reconstruction' : 'training';
  const done = iterative ? 'reconstructed' : 'trained';
  if (job.state === 'running') return { kind: 'running', text: `${iterative ? 'reconstructing' : 'training'}${job.progress ? ` · ${job.progress}` : ''}` };
  if (job.state === 'queued') return { kind: 'queued', text: `queued for ${noun}` };
  if (job.hasReconstruction) return undefined;
  const why = job.reason ? `: ${job.reason}` : '';
  switch (job.state) {
    case 'missing': return { kind: 'missing', text: `missing data${why}` };
    case 'invalid': return { kind: 'invalid', text: `invalid data${why}` };
    case 'ready': return { kind: 'not-trained', text: `not ${done} yet` };
    case 'dry-run': return { kind: 'dry-run', text: `not ${done} yet (dry run only)` };
    case 'failed': return { kind: 'failed', text: `${noun} failed${why}` };
    case 'cancelled': return { kind: 'cancelled', text: `${noun} cancelled${why}` };
    default: return { kind: 'no-reconstruction', text: `${job.state}: no reconstruction.npz in the job folder` };
  }
}

/**
 * Rows = doses ascending; columns = the PINN views (baseline, dense, sparse, then other views), then the
 * iterative methods per view; one cell per (dose, column).
 */
export function gridLayout(jobs: readonly GridJob[]): GridLayout {
  const doses = [...new Set(jobs.map((j) => j.dose))].sort((a, b) => a - b);
  const cols = new Map<string, GridColumn>();
  for (const j of jobs) {
    const key = columnKey(j);
    const method = j.method ?? PINN;
    if (!cols.has(key)) cols.set(key, { key, view: j.view, gridsize: j.gridsize, method, label: method === PINN ? `${j.view} (gs${j.gridsize})` : `${j.view} · ${methodLabel(method)}` });
  }
  const columns = [...cols.values()].sort(columnOrder);
  const rows = doses.map((dose) => columns.map((c): GridCell => {
    const job = jobs.find((j) => j.dose === dose && columnKey(j) === c.key);
    const empty = emptyReason(job);
    return { dose, column: c.key, ...(job ? { job } : {}), ...(empty ? { empty } : {}) };
  }));
  return { doses, columns, rows };
}

// ---------------------------------------------------------------------------------------------------------
// PINN − iterative deltas (the original study's metrics_delta_summary)

/** The metrics of the PINN − iterative comparison, in the study's order. */
export const DELTA_METRICS: readonly MetricKey[] = ['msSsim', 'ssim', 'mae', 'psnr', 'frc50'];

/** What the deltas need of a scored job. */
export interface DeltaInput {
  jobId: string;
  dose: number;
  view: string;
  method?: Method;
  amplitude: Partial<Record<MetricKey, number | null>>;
  phase: Partial<Record<MetricKey, number | null>>;
}

export interface DeltaValue {
  part: 'amplitude' | 'phase';
  metric: MetricKey;
  pinn: number | null;
  iterative: number | null;
  /** pinn − iterative; null when either is missing. */
  delta: number | null;
  /** Which is better by the metric's direction (lower MAE is better); undefined when either is missing. */
  better?: 'pinn' | 'iterative' | 'tie';
}

export interface MethodDelta {
  dose: number;
  view: string;
  /** The iterative algorithm compared with. */
  method: Method;
  pinnJobId: string;
  iterativeJobId: string;
  values: DeltaValue[];
}

const hasAnyMetric = (r: DeltaInput): boolean => DELTA_METRICS.some((k) => finite(r.amplitude[k]) || finite(r.phase[k]));

/**
 * PINN − iterative per dose × view × iterative method, for DELTA_METRICS of amplitude and phase: the PINN of the
 * view (gs1 for baseline, gs2 for a Phase D view) against each iterative reconstruction of the same view and
 * dose. Only pairs where both sides have metrics; ordered by dose, view, method.
 */
export function methodDeltas(rows: readonly DeltaInput[]): MethodDelta[] {
  const out: MethodDelta[] = [];
  const scored = rows.filter(hasAnyMetric);
  for (const it of scored) {
    if ((it.method ?? PINN) === PINN) continue;
    const pinn = scored.find((r) => (r.method ?? PINN) === PINN && r.dose === it.dose && r.view === it.view);
    if (!pinn) continue;
    const values: DeltaValue[] = [];
    for (const part of ['amplitude', 'phase'] as const) {
      for (const metric of DELTA_METRICS) {
        const a = pinn[part][metric];
        const b = it[part][metric];
        const p = finite(a) ? a : null;
        const q = finite(b) ? b : null;
        const w = better(p, q, metricSpec(metric).better);
        values.push({ part, metric, pinn: p, iterative: q, delta: p !== null && q !== null ? p - q : null, ...(w ? { better: w === 'a' ? 'pinn' : w === 'b' ? 'iterative' : 'tie' } : {}) });
      }
    }
    out.push({ dose: it.dose, view: it.view, method: it.method!, pinnJobId: pinn.jobId, iterativeJobId: it.jobId, values });
  }
  const vo = (v: string): number => (VIEW_ORDER.indexOf(v) < 0 ? 99 : VIEW_ORDER.indexOf(v));
  return out.sort((x, y) => x.dose - y.dose || vo(x.view) - vo(y.view) || x.view.localeCompare(y.view) || x.method.localeCompare(y.method));
}

// ---------------------------------------------------------------------------------------------------------
// Config keys that differ between jobs

export type FlatValue = string | number | boolean | null;

/** Nested objects flattened to dotted keys; arrays become JSON text; undefined is left out. */
export function flattenConfig(obj: unknown, prefix = '', out: Record<string, FlatValue> = {}): Record<string, FlatValue> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    if (prefix) out[prefix] = Array.isArray(obj) ? JSON.stringify(obj) : (obj as FlatValue);
    return out;
  }
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    if (v === undefined || typeof v === 'function') continue;
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flattenConfig(v, key, out);
    else out[key] = Array.isArray(v) ? JSON.stringify(v) : (v as FlatValue);
  }
  return out;
}

/**
 * Keys that always differ between jobs and say nothing about how they were trained: the job's identity and
 * file paths (the grid and the table show dose, view and gridsize already).
 */
export const IDENTITY_KEYS: readonly RegExp[] = [/^jobId$/, /^dose$/, /^view$/, /^gridsize$/, /Path$/, /^artifactDir$/, /^study\./];

export interface ConfigDiff {
  jobs: string[];
  /** The keys whose values differ between the jobs (sorted; `training.*` first), and each job's value. */
  keys: { key: string; values: (FlatValue | undefined)[] }[];
  /** Keys with the same value in every job (not shown). */
  identical: number;
  /** Identity and path keys left out. */
  omitted: string[];
}

/** Only the config keys that differ between the jobs (a key missing in some job counts as differing). */
export function differingConfigKeys(entries: readonly { jobId: string; config: Record<string, FlatValue> }[], ignore: readonly RegExp[] = IDENTITY_KEYS): ConfigDiff {
  const all = new Set<string>();
  for (const e of entries) for (const k of Object.keys(e.config)) all.add(k);
  const keys: ConfigDiff['keys'] = [];
  const omitted: string[] = [];
  let identical = 0;
  for (const key of all) {
    if (ignore.some((r) => r.test(key))) {
      omitted.push(key);
      continue;
    }
    const values = entries.map((e) => (Object.prototype.hasOwnProperty.call(e.config, key) ? e.config[key] : undefined));
    const first = JSON.stringify(values[0] ?? '∅');
    if (values.every((v) => JSON.stringify(v ?? '∅') === first)) identical++;
    else keys.push({ key, values });
  }
  const rank = (k: string): number => (k.startsWith('training.') ? 0 : k.startsWith('runtime.') ? 2 : 1);
  keys.sort((a, b) => rank(a.key) - rank(b.key) || a.key.localeCompare(b.key));
  return { jobs: entries.map((e) => e.jobId), keys, identical, omitted: omitted.sort() };
}

// ---------------------------------------------------------------------------------------------------------
// Formatting

/** A metric value for a table: 4 significant digits, integers as such, '—' for missing. */
export function formatMetric(v: number | null | undefined): string {
  if (!finite(v)) return '—';
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
}

/** 1000 → "1e3" (the study's dose labels), other values as they are. */
export function doseLabel(dose: number): string {
  const l = Math.log10(dose);
  return dose > 0 && Number.isInteger(l) ? `1e${l}` : String(dose);
}
