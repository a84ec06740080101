// The study report (issue 12, "The study report"): one folder holding
//   comparison_metrics.csv      tidy rows dose,view,method,split,part,metric,value (every job with metrics)
//   metrics_summary.json        per job (headline metrics, evaluation, flat predictor) and aggregates
//   metrics_delta_summary.json  PINN − iterative per dose × view × algorithm for ms_ssim, ssim, mae, psnr, frc50
//   comparison_figure.png/.svg  the dose × view × method figure (figure.ts)
//   jobs/<job id>/              each job's manifest.json, amplitude.png, phase.png
//   README.md                   what was compared, when, software versions, the configuration keys that differ
//                               between jobs, the command that regenerates each job, and what is absent and why.
// Every file is written atomically (temporary file + rename) and only inside the report folder; a report folder
// inside a job's artifact folder, or equal to a study root, is refused.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic';
import { csvDocument } from '../text/csv';
import { openNpz } from '../npy';
import { assertInsideRoot, UnsafePathError } from '../run/safeFiles';
import { formatDose, type Split } from '../study/layout';
import { reconstructArgs, shellCommand, trainArgs, type CommandRoots } from '../study/cliCommand';
import type { TrainingSettings } from '../study/config';
import { RECON_ALGORITHMS, type ReconAlgorithm, type ReconstructionSettings } from '../study/reconstructJobs';
import { collectStudyResults, compareJobs, PARTS, type JobResult, type Part, type StudyResults, type StudyRoots } from './collect';
import { renderFigurePng, renderFigureSvg, type CellImage, type FigureRow } from './figure';
import { isInside, realLocation } from '../paths';

export const REPORT_FILES = {
  csv: 'comparison_metrics.csv',
  summary: 'metrics_summary.json',
  delta: 'metrics_delta_summary.json',
  figurePng: 'comparison_figure.png',
  figureSvg: 'comparison_figure.svg',
  readme: 'README.md',
  jobs: 'jobs',
} as const;

/** CSV metric name → metrics.json key (amplitude/phase objects). */
export const REPORT_METRICS: readonly (readonly [string, string])[] = [
  ['mae', 'mae'], ['mse', 'mse'], ['psnr', 'psnr'], ['ssim', 'ssim'], ['ms_ssim', 'msSsim'], ['pearson', 'pearson'],
  ['pearson_covered', 'pearsonCovered'], ['frc50', 'frc50'], ['frc1over7', 'frc1over7'],
];
/** The metrics of the deltas (the original study's), with the direction that is better. */
export const DELTA_METRICS: readonly { metric: string; key: string; lowerIsBetter: boolean }[] = [
  { metric: 'ms_ssim', key: 'msSsim', lowerIsBetter: false },
  { metric: 'ssim', key: 'ssim', lowerIsBetter: false },
  { metric: 'mae', key: 'mae', lowerIsBetter: true },
  { metric: 'psnr', key: 'psnr', lowerIsBetter: false },
  { metric: 'frc50', key: 'frc50', lowerIsBetter: false },
];

export interface WriteStudyReportOptions {
  roots: StudyRoots;
  outDir: string;
  /** The command line that produced the report, for its README. */
  command?: string;
  /** Only these jobs (as `list` filters). */
  filter?: { dose?: number; view?: string; gridsize?: number };
  now?: Date;
}

/**
 * The CSV's method for a training job's network alone: its predictions stitched the same way as the headline but
 * without group refinement (metrics.json `networkAlone`, README item 45). The headline (`pinn`) may be refined.
 */
export const NETWORK_ALONE_METHOD = 'pinn_network_alone';

/** metrics.json `networkAlone` of a training job, when its evaluation scored it. */
function networkAloneOf(j: JobResult): Record<string, unknown> | undefined {
  const alone = j.kind === 'train' ? j.metrics?.networkAlone : undefined;
  return alone && typeof alone === 'object' && !Array.isArray(alone) ? alone as Record<string, unknown> : undefined;
}

/** How many refinement iterations the headline took (metrics.json `groupRefinement.iterations`; 0 when unrefined). */
function refinementOf(m: Record<string, unknown> | undefined): number {
  const it = (m?.groupRefinement as { iterations?: unknown } | undefined)?.iterations;
  return typeof it === 'number' && Number.isFinite(it) ? it : 0;
}

export interface CsvRow {
  dose: number;
  view: string;
  method: string;
  split: string;
  part: Part;
  metric: string;
  value: number;
}

export interface DeltaEntry {
  dose: number;
  view: string;
  pinnJob: string;
  iterativeJob: string;
  algorithm: string;
  part: Part;
  metric: string;
  pinn: number | null;
  iterative: number | null;
  /** PINN − iterative. */
  delta: number | null;
  /** Which PINN estimate: the job's headline (refined where its evaluation chose to) or the network alone. */
  pinnEstimate: 'headline' | 'network_alone';
  lowerIsBetter: boolean;
  better: 'pinn' | 'iterative' | 'tie' | null;
}

export interface StudyReport {
  outDir: string;
  generatedAt: string;
  files: { csv: string; summary: string; delta: string; figurePng: string; figureSvg: string; readme: string; copied: string[] };
  /** Jobs with metrics. */
  jobs: number;
  /** Jobs without, with why. */
  absent: { id: string; state: string; reason: string }[];
  rows: CsvRow[];
  summary: Record<string, unknown>;
  deltas: Record<string, unknown>;
  csvText: string;
}

export class ReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportError';
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const partOf = (m: Record<string, unknown> | undefined, part: Part): Record<string, unknown> => (m?.[part] && typeof m[part] === 'object' ? m[part] as Record<string, unknown> : {});

/** Refuses a report folder inside a job's artifact folder (it would mix with the run's files) or equal to a study root. */
export function checkReportDir(outDir: string, results: Pick<StudyResults, 'jobs' | 'roots'>): void {
  const out = realLocation(outDir);
  for (const j of results.jobs) {
    if (isInside(realLocation(j.artifactDir), out)) throw new ReportError(`Refusing to write the report into ${outDir}: it is inside the artifact folder of job ${j.id} (${j.artifactDir}). Choose a folder outside every job folder.`);
  }
  for (const [name, root] of Object.entries(results.roots)) {
    if (root && realLocation(root) === out) throw new ReportError(`Refusing to write the report into ${outDir}: it is the study's ${name}. Choose a folder of its own (e.g. ${path.join(root, 'report')}).`);
  }
}

export const CSV_HEADER = ['dose', 'view', 'method', 'split', 'part', 'metric', 'value'] as const;

export function csvRowsOf(jobs: readonly JobResult[]): CsvRow[] {
  const rows: CsvRow[] = [];
  for (const j of jobs) {
    if (!j.metrics) continue;
    const alone = networkAloneOf(j);
    for (const [method, metrics] of [[j.method, j.metrics], ...(alone ? [[NETWORK_ALONE_METHOD, alone] as const] : [])] as const) {
      for (const part of PARTS) {
        const m = partOf(metrics, part);
        for (const [metric, key] of REPORT_METRICS) {
          const value = num(m[key]);
          if (value !== null) rows.push({ dose: j.dose, view: j.view, method, split: j.split, part, metric, value });
        }
      }
    }
  }
  return rows;
}

export function csvText(rows: readonly CsvRow[]): string {
  return csvDocument([CSV_HEADER, ...rows.map((r) => [r.dose, r.view, r.method, r.split, r.part, r.metric, r.value])]);
}

function scalars(m: Record<string, unknown>): Record<string, number | null> {
  const o: Record<string, number | null> = {};
  for (const [metric, key] of REPORT_METRICS) o[metric] = num(m[key]);
  return o;
}

function evaluationKey(m: Record<string, unknown> | undefined): string {
  const ev = (m?.evaluation ?? {}) as { dataset?: unknown; region?: unknown };
  return JSON.stringify([ev.dataset ?? null, ev.region ?? null]);
}

/** PINN − iterative for every dose × view with a PINN job and a test-split iterative job, both with metrics. */
export function deltasOf(jobs: readonly JobResult[]): { entries: DeltaEntry[]; notes: string[] } {
  const entries: DeltaEntry[] = [];
  const notes: string[] = [];
  const done = jobs.filter((j) => j.metrics);
  for (const p of done.filter((j) => j.kind === 'train')) {
    for (const it of done.filter((j) => j.kind === 'reconstruct' && j.dose === p.dose && j.view === p.view)) {
      if (it.split !== 'test') {
        notes.push(`${it.id} reconstructs the train split (scored on its own region): not compared with ${p.id}.`);
        continue;
      }
      if (evaluationKey(p.metrics) !== evaluationKey(it.metrics)) {
        notes.push(`${p.id} and ${it.id} were scored on different evaluation sets or regions: not compared.`);
        continue;
      }
      // Either side's amplitude and phase may be weighted by its half-set FRC (README items 24–25): like for like
      // only when both or neither are, part by part.
      for (const [part, key, flag] of [['amplitude', 'amplitudeFilter', 'amplitude-filter'], ['phase', 'phaseFilter', 'phase-filter']] as const) {
        const pinnWeighted = !!p.metrics?.[key];
        const iterativeWeighted = !!it.metrics?.[key];
        if (pinnWeighted && !iterativeWeighted) {
          notes.push(`${p.id}'s ${part} is weighted by its half-set FRC and ${it.id}'s is not: its ${part} deltas compare a filtered with an unfiltered image ('reconstruct --resume' re-scores the iterative one with the weighting, 'train --resume --no-${flag}' the trained model without it).`);
        } else if (iterativeWeighted && !pinnWeighted) {
          notes.push(`${it.id}'s ${part} is weighted by its half-set FRC and ${p.id}'s is not: its ${part} deltas compare an unfiltered with a filtered image ('train --resume' re-scores the trained model with the weighting, 'reconstruct --resume --no-${flag}' the iterative one without it).`);
        }
      }
      // The headline, then the network alone where the job's evaluation kept it (same groups, weightings, region).
      const alone = networkAloneOf(p);
      for (const [pinnEstimate, pm] of [['headline', p.metrics], ...(alone ? [['network_alone', alone] as const] : [])] as const) {
        for (const part of PARTS) {
          for (const d of DELTA_METRICS) {
            const a = num(partOf(pm, part)[d.key]);
            const b = num(partOf(it.metrics, part)[d.key]);
            const delta = a !== null && b !== null ? a - b : null;
            const better = delta === null ? null : delta === 0 ? 'tie' : (delta < 0) === d.lowerIsBetter ? 'pinn' : 'iterative';
            entries.push({ dose: p.dose, view: p.view, pinnJob: p.id, iterativeJob: it.id, algorithm: it.method, part, metric: d.metric, pinn: a, iterative: b, delta, lowerIsBetter: d.lowerIsBetter, better, pinnEstimate });
          }
        }
      }
    }
  }
  return { entries, notes };
}

function stats(values: number[]): { n: number; mean: number | null; min: number | null; max: number | null } {
  if (values.length === 0) return { n: 0, mean: null, min: null, max: null };
  return { n: values.length, mean: values.reduce((s, v) => s + v, 0) / values.length, min: Math.min(...values), max: Math.max(...values) };
}

/** Mean/min/max per method × part × metric, and per dose × method × part × metric. */
function aggregates(rows: readonly CsvRow[]): Record<string, unknown> {
  const group = (key: (r: CsvRow) => string[]): Record<string, unknown> => {
    const acc = new Map<string, { path: string[]; values: number[] }>();
    for (const r of rows) {
      const k = key(r);
      const id = k.join('\u0000');
      if (!acc.has(id)) acc.set(id, { path: k, values: [] });
      acc.get(id)!.values.push(r.value);
    }
    const out: Record<string, unknown> = {};
    for (const { path: k, values } of acc.values()) {
      let o = out;
      for (const part of k.slice(0, -1)) o = (o[part] ??= {}) as Record<string, unknown>;
      o[k[k.length - 1]] = stats(values);
    }
    return out;
  };
  const comparable = rows.filter((r) => r.split === 'test');
  return {
    note: 'over the jobs with metrics on the common evaluation (split test); n = jobs',
    byMethod: group((r) => [r.method, r.part, r.metric]),
    byDoseMethod: group((r) => [String(r.dose), r.method, r.part, r.metric]),
    ...(comparable.length !== rows.length ? { trainSplitRowsLeftOut: rows.length - comparable.length } : {}),
  };
}

// ---------------------------------------------------------------- configuration and commands

function flatten(v: unknown, prefix: string, out: Map<string, string>): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) flatten(x, prefix ? `${prefix}.${k}` : k, out);
  } else if (v !== undefined) {
    out.set(prefix, JSON.stringify(v));
  }
}

/** The run settings of a run's manifest (training settings, or the reconstruction's), flattened to JSON strings. */
export function runSettings(manifest: { config?: unknown; runtime?: unknown } | undefined, kind: 'train' | 'reconstruct'): Map<string, string> {
  const out = new Map<string, string>();
  const config = (manifest?.config ?? {}) as Record<string, unknown>;
  if (kind === 'train') {
    flatten(config.training, 'training', out);
    for (const k of ['nGroups', 'intensityScale', 'n']) if (config[k] !== undefined) out.set(k, JSON.stringify(config[k]));
  } else {
    flatten(config.settings, 'settings', out);
    for (const k of ['n', 'patterns']) if (config[k] !== undefined) out.set(k, JSON.stringify(config[k]));
  }
  const runtime = (manifest?.runtime ?? {}) as Record<string, unknown>;
  for (const k of ['executionProviderUsed', 'threads']) if (runtime[k] !== undefined) out.set(`runtime.${k}`, JSON.stringify(runtime[k]));
  return out;
}

const settingsOf = (j: JobResult): Map<string, string> => runSettings(j.manifest as { config?: unknown; runtime?: unknown } | undefined, j.kind);

/** Keys whose values differ between the jobs of one kind, with each job's value. */
export function differingKeys(jobs: readonly JobResult[]): { key: string; values: Record<string, string> }[] {
  const per = jobs.filter((j) => j.manifest?.config).map((j) => ({ id: j.id, s: settingsOf(j) }));
  const keys = new Set(per.flatMap((p) => [...p.s.keys()]));
  const out: { key: string; values: Record<string, string> }[] = [];
  for (const key of [...keys].sort()) {
    const values: Record<string, string> = {};
    for (const p of per) values[p.id] = p.s.get(key) ?? '(unset)';
    if (new Set(Object.values(values)).size > 1) out.push({ key, values });
  }
  return out;
}

/**
 * The commands that regenerate a job: `rerun` from its manifest (exact), and the study command with every setting of
 * its run written out — the same argv as Copy CLI Command (core/study/cliCommand.ts), so there is one settings → flags
 * mapping. A run whose settings no flag can carry gets only `rerun`, and says why.
 */
export function regenerateCommands(j: JobResult, roots: StudyResults['roots']): string[] {
  const cmds = [`ptycho-study ${shellCommand(['rerun', path.join(j.artifactDir, 'manifest.json')])}`];
  const config = (j.manifest?.config ?? {}) as Record<string, unknown>;
  const study: CommandRoots = { phaseCRoot: roots.phaseCRoot, phaseDRoot: roots.phaseDRoot, artifactRoot: roots.artifactRoot, phaseFRoot: roots.phaseFRoot };
  try {
    if (j.kind === 'train') {
      const threads = (j.manifest?.runtime as { threads?: unknown } | undefined)?.threads;
      const args = trainArgs({ dose: j.dose, view: j.view, gridsize: j.gridsize }, study, (config.training ?? {}) as Partial<TrainingSettings>, typeof threads === 'number' ? threads : undefined);
      cmds.push(`ptycho-study ${shellCommand([...args, '--restart'])}`);
    } else if ((RECON_ALGORITHMS as readonly string[]).includes(j.method)) {
      const args = reconstructArgs({ dose: j.dose, view: j.view, split: j.split as Split, algorithm: j.method as ReconAlgorithm }, study, (config.settings ?? {}) as Partial<ReconstructionSettings>);
      cmds.push(`ptycho-study ${shellCommand(args)}`);
    }
  } catch (err) {
    cmds.push(`# no ${j.kind === 'train' ? 'train' : 'reconstruct'} command reproduces this run: ${(err as Error).message}`);
  }
  return cmds;
}

// ---------------------------------------------------------------- figure data

async function readCell(j: JobResult): Promise<{ recon: CellImage; truth?: CellImage }> {
  const a = await openNpz(path.join(j.artifactDir, 'reconstruction.npz'));
  try {
    const obj = await a.readArray('object');
    const [height, width] = obj.shape;
    const o = obj.data as Float32Array;
    const weight = a.has('weight') ? (await a.readArray('weight')).data as Float32Array : undefined;
    const gt = a.has('ground_truth') ? (await a.readArray('ground_truth')).data as Float32Array : undefined;
    const offset = num(j.metrics?.globalPhaseOffset) ?? 0;
    const c = Math.cos(offset);
    const s = Math.sin(offset);
    const n = width * height;
    const amp = new Float32Array(n);
    const ph = new Float32Array(n);
    let sumP = 0;
    let sumT = 0;
    for (let i = 0; i < n; i++) {
      const re = o[2 * i] * c - o[2 * i + 1] * s;
      const im = o[2 * i] * s + o[2 * i + 1] * c;
      const lit = !weight || weight[i] > 0;
      amp[i] = lit ? Math.hypot(re, im) : NaN;
      ph[i] = lit ? Math.atan2(im, re) : NaN;
      if (lit && gt) {
        sumP += amp[i];
        sumT += Math.hypot(gt[2 * i], gt[2 * i + 1]);
      }
    }
    if (gt && sumP > 0) for (let i = 0; i < n; i++) amp[i] *= sumT / sumP; // mean-scaled, as the metrics
    const recon = { width, height, amplitude: amp, phase: ph };
    if (!gt) return { recon };
    const tAmp = new Float32Array(n);
    const tPh = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      tAmp[i] = Math.hypot(gt[2 * i], gt[2 * i + 1]);
      tPh[i] = Math.atan2(gt[2 * i + 1], gt[2 * i]);
    }
    return { recon, truth: { width, height, amplitude: tAmp, phase: tPh } };
  } finally {
    await a.close();
  }
}

function percentile(values: Float32Array, p: number): number {
  const finite = Array.from(values).filter(Number.isFinite).sort((x, y) => x - y);
  if (finite.length === 0) return NaN;
  return finite[Math.min(finite.length - 1, Math.max(0, Math.round((p / 100) * (finite.length - 1))))];
}

async function figureInput(results: StudyResults): Promise<{ input: Parameters<typeof renderFigurePng>[0]; warnings: string[] }> {
  const warnings: string[] = [];
  const all = results.jobs.filter((j) => j.split === 'test');
  const methods = [...new Set(all.map((j) => j.method))].sort((a, b) => compareJobs({ dose: 0, view: '', method: a, split: 'test' }, { dose: 0, view: '', method: b, split: 'test' }));
  const rowKeys = [...new Map(all.map((j) => [`${j.dose}/${j.view}`, j])).values()].sort(compareJobs);
  const rows: FigureRow[] = [];
  const truths: Float32Array[] = [];
  const truthOfDose = new Map<number, CellImage>();
  for (const r of rowKeys) {
    const cells = new Map<string, CellImage | string>();
    for (const m of methods) {
      const j = all.find((x) => x.dose === r.dose && x.view === r.view && x.method === m);
      if (!j) {
        cells.set(m, 'no such job');
        continue;
      }
      if (!j.metrics) {
        cells.set(m, j.state === 'ready' ? 'never run' : j.state);
        continue;
      }
      try {
        const { recon, truth } = await readCell(j);
        cells.set(m, recon);
        if (truth && !truthOfDose.has(r.dose)) {
          truthOfDose.set(r.dose, truth);
          truths.push(truth.amplitude);
        }
      } catch (err) {
        cells.set(m, 'unreadable');
        warnings.push(`${j.id}: reconstruction.npz cannot be read for the figure (${(err as Error).message}).`);
      }
    }
    rows.push({ dose: r.dose, view: r.view, label: `${formatDose(r.dose)} ${r.view}`, cells });
  }
  // Every job of a dose is scored on the same region: its ground truth stands in every row of the dose.
  for (const row of rows) row.cells.set('truth', truthOfDose.get(row.dose) ?? 'no result');
  const lo = Math.min(...truths.map((t) => percentile(t, 1)));
  const hi = Math.max(...truths.map((t) => percentile(t, 99)));
  const amplitudeWindow = Number.isFinite(lo) && Number.isFinite(hi) && hi > lo ? { lo, hi } : { lo: 0, hi: 1 };
  return {
    input: {
      title: 'dose x view x method, common evaluation region',
      columns: [{ key: 'truth', label: 'ground truth' }, ...methods.map((m) => ({ key: m, label: m === 'pinn' ? 'PINN' : m }))],
      rows, amplitudeWindow,
    },
    warnings,
  };
}

// ---------------------------------------------------------------- writing

/** Path of `rel` (slash-separated) inside `outDir`, refused when it would leave it. */
function target(outDir: string, rel: string): string {
  const parts = rel.split('/').map((p) => p.replace(/[^\w.+=-]/g, '_')).map((p) => (p === '.' || p === '..' || p === '' ? '_' : p));
  const file = path.join(outDir, ...parts);
  if (!isInside(outDir, file)) throw new UnsafePathError(`${rel} would be written outside the report folder ${outDir}.`);
  assertInsideRoot(outDir, path.dirname(file));
  return file;
}

async function readBinary(file: string, max: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new UnsafePathError(`${file} is not a regular file; not copied.`);
    if (st.size > max) throw new UnsafePathError(`${file} is larger than ${max} bytes; not copied.`);
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

function softwareOf(jobs: readonly JobResult[]): Record<string, string[]> {
  const sets: Record<string, Set<string>> = { node: new Set(), onnxruntime: new Set(), platform: new Set(), engine: new Set(), executionProviderUsed: new Set() };
  for (const j of jobs) {
    const rt = (j.manifest?.runtime ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(sets)) if (typeof rt[k] === 'string') sets[k].add(rt[k] as string);
  }
  return Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, [...v].sort()]));
}

function workbenchVersion(): string {
  for (const dir of [path.join(__dirname, '..'), path.join(__dirname, '..', '..'), path.join(__dirname, '..', '..', '..')]) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.version && /ptycho/i.test(pkg.name ?? '')) return `${pkg.name} ${pkg.version}`;
    } catch {
      // not here
    }
  }
  return 'unknown';
}

const fmt = (v: number | null): string => (v === null ? '—' : Math.abs(v) >= 100 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : v.toFixed(4));

function readme(report: { generatedAt: string; command?: string; results: StudyResults; done: JobResult[]; absent: JobResult[]; deltas: DeltaEntry[]; deltaNotes: string[]; warnings: string[] }): string {
  const { results, done, absent } = report;
  const sw = softwareOf(results.jobs);
  const lines: string[] = [
    '# PtychoPINN study report', '',
    `Generated ${report.generatedAt} by ${workbenchVersion()} (Node ${process.version})${report.command ? ` with\n\n\`\`\`\n${report.command}\n\`\`\`` : '.'}`, '',
    '## What was compared', '',
    'The PtychoPINN reconstructions (training jobs, Phase E: `pinn`) and the iterative reconstructions (Phase F: `epie`, `rpie`) of',
    'every dose × view of the study, each scored by its own run on the dose\'s **common evaluation** (the dose\'s Phase C test split,',
    'the same object region for every method; holes count as 0; global phase removed, plane-removed phase, mean-scaled amplitude):',
    'the numbers in one dose are comparable. Metrics are copied from each job\'s `metrics.json`, not recomputed.', '',
    `- Phase C: ${results.roots.phaseCRoot ?? '(none)'}`, `- Phase D: ${results.roots.phaseDRoot ?? '(none)'}`,
    `- Phase E (training artifacts): ${results.roots.artifactRoot}`, `- Phase F (reconstructions): ${results.roots.phaseFRoot}`, '',
    `${done.length} jobs with metrics, ${absent.length} without.`, '',
    '| job | method | split | evaluation | amplitude SSIM | phase SSIM | amplitude MS-SSIM | phase MS-SSIM | amplitude MAE | phase MAE | amplitude FRC50 c/px | phase FRC50 c/px |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...done.flatMap((j) => {
      const ev = (j.metrics?.evaluation ?? {}) as { source?: string };
      const row = (method: string, m: Record<string, unknown> | undefined): string => {
        const a = partOf(m, 'amplitude');
        const p = partOf(m, 'phase');
        return `| ${j.id} | ${method} | ${j.split} | ${ev.source ?? '?'} | ${fmt(num(a.ssim))} | ${fmt(num(p.ssim))} | ${fmt(num(a.msSsim))} | ${fmt(num(p.msSsim))} | ${fmt(num(a.mae))} | ${fmt(num(p.mae))} | ${fmt(num(a.frc50))} | ${fmt(num(p.frc50))} |`;
      };
      const refined = j.kind === 'train' ? refinementOf(j.metrics) : 0;
      const alone = networkAloneOf(j);
      return [row(refined > 0 ? `${j.method} (refined ${refined})` : j.method, j.metrics), ...(alone ? [row(NETWORK_ALONE_METHOD, alone)] : [])];
    }),
    '',
    ...(done.some((j) => networkAloneOf(j)) ? [
      `\`pinn (refined N)\`: the trained network's gridsize-2 predictions, each refined by N iterations on its own group's patterns (as many as held-out patterns supported; \`training.groupRefinement\`). \`${NETWORK_ALONE_METHOD}\`: the same network's predictions stitched the same way without refinement — the network's own estimate. Both are in the CSV, the summary and the deltas (\`pinnEstimate\`).`,
      '',
    ] : []),
    '## PINN − iterative', '',
    report.deltas.length === 0 ? 'No dose × view has both a finished PINN job and a finished iterative reconstruction of its test split.' : 'Lower MAE is better; higher is better for every other metric. `better` names the method with the better value.',
    '',
  ];
  const deltaTable = (entries: readonly DeltaEntry[]): void => {
    lines.push('| dose | view | algorithm | part | metric | PINN | iterative | PINN − iterative | better |', '|---|---|---|---|---|---|---|---|---|');
    for (const d of entries) lines.push(`| ${formatDose(d.dose)} | ${d.view} | ${d.algorithm} | ${d.part} | ${d.metric} | ${fmt(d.pinn)} | ${fmt(d.iterative)} | ${fmt(d.delta)} | ${d.better ?? '—'} |`);
    lines.push('');
  };
  const headline = report.deltas.filter((d) => d.pinnEstimate === 'headline');
  const alone = report.deltas.filter((d) => d.pinnEstimate === 'network_alone');
  if (headline.length > 0) deltaTable(headline);
  if (alone.length > 0) {
    lines.push('### The network alone − iterative', '', 'The same comparison with the trained network\'s own estimate (no group refinement) in place of the headline.', '');
    deltaTable(alone);
  }
  for (const n of report.deltaNotes) lines.push(`- ${n}`);
  const standIns = done.filter((j) => j.run && j.run.why !== 'latest');
  if (standIns.length > 0) {
    lines.push('', '## Runs that stand for their job', '', 'Each job is represented by its latest run when it succeeded; otherwise:', '');
    for (const j of standIns) {
      lines.push(`- \`${j.id}\`: run ${j.run!.id}${j.run!.why === 'chosen' ? ' (chosen for comparisons)' : ` (the latest that succeeded; the latest run ${j.run!.latestStatus ?? 'did not'})`}`);
    }
  }
  lines.push('', '## Absent jobs', '');
  if (absent.length === 0) lines.push('None: every job of the study has metrics.');
  else for (const j of absent) lines.push(`- \`${j.id}\` (${j.kind === 'train' ? 'training' : 'reconstruction'}, ${j.state}): ${j.absentReason}`);
  lines.push('', '## Software', '');
  lines.push(`- workbench: ${workbenchVersion()}`);
  for (const [k, v] of Object.entries(sw)) lines.push(`- ${k} (from the job manifests): ${v.length ? v.join(', ') : '—'}`);
  lines.push('', '## Configuration keys that differ between jobs', '');
  for (const kind of ['train', 'reconstruct'] as const) {
    const jobs = results.jobs.filter((j) => j.kind === kind);
    const diff = differingKeys(jobs);
    lines.push(`### ${kind === 'train' ? 'Training jobs' : 'Reconstruction jobs'}`, '');
    if (jobs.filter((j) => j.manifest?.config).length < 2) lines.push('Fewer than two jobs with a manifest: nothing to compare.', '');
    else if (diff.length === 0) lines.push('None: every job ran with the same settings.', '');
    else for (const d of diff) lines.push(`- \`${d.key}\`: ${Object.entries(d.values).map(([id, v]) => `${id} = ${v}`).join('; ')}`);
    lines.push('');
  }
  lines.push('## Regenerating each job', '',
    '`rerun` recreates a run from its manifest alone (same configuration and seeds, datasets checked against their recorded sha256) into a new',
    'folder and compares the metrics; the second command reruns it in place with the study commands.', '');
  for (const j of results.jobs.filter((x) => x.manifest?.config)) {
    lines.push(`- \`${j.id}\`:`, '', '  ```', ...regenerateCommands(j, results.roots).map((c) => `  ${c}`), '  ```', '');
  }
  lines.push('## Files', '',
    `- \`${REPORT_FILES.csv}\`: tidy rows ${CSV_HEADER.join(', ')} (metrics ${REPORT_METRICS.map((m) => m[0]).join(', ')}).`,
    `- \`${REPORT_FILES.summary}\`: per job (metrics, evaluation, flat predictor, the network alone and the refinement count of training jobs) and aggregates; \`${REPORT_FILES.delta}\`: PINN − iterative (the headline, and the network alone where scored).`,
    `- \`${REPORT_FILES.figurePng}\`, \`${REPORT_FILES.figureSvg}\`: the dose × view × method figure (amplitude mean-scaled to the truth on one viridis scale; phase on twilight −π…π after the global phase; black: never reached by the scan).`,
    `- \`${REPORT_FILES.jobs}/<job id>/\`: each job's manifest.json, amplitude.png, phase.png.`, '');
  if (report.warnings.length) lines.push('## Warnings', '', ...report.warnings.map((w) => `- ${w}`), '');
  return lines.join('\n');
}

/** Writes the study report into `options.outDir` (see the top of this file) and returns what it wrote. */
export async function writeStudyReport(options: WriteStudyReportOptions): Promise<StudyReport> {
  const now = options.now ?? new Date();
  const generatedAt = now.toISOString();
  const outDir = path.resolve(options.outDir);
  const results = await collectStudyResults(options.roots, options.filter ?? {});
  checkReportDir(outDir, results);
  const done = results.jobs.filter((j) => j.metrics);
  const absent = results.jobs.filter((j) => !j.metrics);
  const rows = csvRowsOf(done);
  const text = csvText(rows);
  const { entries, notes } = deltasOf(done);
  const warnings: string[] = [];
  const jobEntry = (j: JobResult): Record<string, unknown> => {
    const m = j.metrics;
    const ev = (m?.evaluation ?? null) as Record<string, unknown> | null;
    const flat = (m?.flat ?? null) as Record<string, unknown> | null;
    const alone = networkAloneOf(j);
    return {
      id: j.id, kind: j.kind, dose: j.dose, view: j.view, gridsize: j.gridsize, method: j.method, split: j.split, state: j.state, artifactDir: j.artifactDir,
      ...(m ? {
        evaluation: ev ? { dataset: ev.dataset ?? null, source: ev.source ?? null, region: ev.region ?? null, coverage: ev.coverage ?? null } : null,
        amplitude: scalars(partOf(m, 'amplitude')), phase: scalars(partOf(m, 'phase')),
        ...(j.kind === 'train' ? { groupRefinementIterations: refinementOf(m) } : {}),
        ...(alone ? { networkAlone: { amplitude: scalars(partOf(alone, 'amplitude')), phase: scalars(partOf(alone, 'phase')) } } : {}),
        flat: flat ? { amplitude: scalars(partOf(flat, 'amplitude')), phase: scalars(partOf(flat, 'phase')) } : null,
        executionProviderUsed: (j.manifest?.runtime as { executionProviderUsed?: unknown } | undefined)?.executionProviderUsed ?? null,
        runId: j.manifest?.runId ?? null,
        // Which run stands for the job (runHistory.representativeRun): chosen, the latest, or the latest that succeeded.
        run: j.run ?? null,
      } : { absentReason: j.absentReason }),
    };
  };
  const summary = {
    schemaVersion: 1, kind: 'ptycho-study-report', generatedAt, command: options.command ?? null, roots: results.roots,
    metrics: REPORT_METRICS.map((m) => m[0]),
    jobs: done.map(jobEntry), absent: absent.map(jobEntry), aggregates: aggregates(rows),
  };
  const deltas = {
    schemaVersion: 1, kind: 'ptycho-study-report-deltas', generatedAt,
    definition: 'PINN − iterative, per dose × view × iterative algorithm (test split, same evaluation set and region); lower MAE is better, higher is better for the rest; pinnEstimate: the job\'s headline, or the network alone (no group refinement) where its metrics.json has one',
    metrics: DELTA_METRICS, deltas: entries, notes,
    tally: Object.fromEntries(['pinn', 'iterative', 'tie'].map((b) => [b, entries.filter((e) => e.pinnEstimate === 'headline' && e.better === b).length])),
    ...(entries.some((e) => e.pinnEstimate === 'network_alone')
      ? { tallyNetworkAlone: Object.fromEntries(['pinn', 'iterative', 'tie'].map((b) => [b, entries.filter((e) => e.pinnEstimate === 'network_alone' && e.better === b).length])) }
      : {}),
  };
  await fs.promises.mkdir(outDir, { recursive: true });
  const files = {
    csv: target(outDir, REPORT_FILES.csv), summary: target(outDir, REPORT_FILES.summary), delta: target(outDir, REPORT_FILES.delta),
    figurePng: target(outDir, REPORT_FILES.figurePng), figureSvg: target(outDir, REPORT_FILES.figureSvg), readme: target(outDir, REPORT_FILES.readme), copied: [] as string[],
  };
  // Copies first: the summary files then describe a folder that is complete.
  for (const j of results.jobs) {
    for (const name of ['manifest.json', 'amplitude.png', 'phase.png']) {
      if (name !== 'manifest.json' && !j.metrics) continue;
      const src = path.join(j.artifactDir, name);
      let bytes: Buffer;
      try {
        bytes = await readBinary(src, 64 << 20);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warnings.push(`${j.id}: ${name} not copied (${(err as Error).message}).`);
        continue;
      }
      const dest = target(outDir, `${REPORT_FILES.jobs}/${j.id}/${name}`);
      await writeFileAtomic(dest, bytes);
      files.copied.push(dest);
    }
  }
  const figure = await figureInput(results);
  warnings.push(...figure.warnings);
  await writeFileAtomic(files.figurePng, renderFigurePng(figure.input));
  await writeFileAtomic(files.figureSvg, renderFigureSvg(figure.input));
  await writeFileAtomic(files.csv, text);
  await writeFileAtomic(files.summary, JSON.stringify(summary, null, 2) + '\n');
  await writeFileAtomic(files.delta, JSON.stringify(deltas, null, 2) + '\n');
  await writeFileAtomic(files.readme, readme({ generatedAt, command: options.command, results, done, absent, deltas: entries, deltaNotes: notes, warnings }));
  return {
    outDir, generatedAt, files, jobs: done.length,
    absent: absent.map((j) => ({ id: j.id, state: j.state, reason: j.absentReason ?? '' })),
    rows, summary, deltas, csvText: text,
  };
}
