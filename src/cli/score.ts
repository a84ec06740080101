// `ptycho-study score <job id | job folder> --data FILE.npz [--threads N] [--json]`: a finished training job's model
// scored on a dataset the user names (src/core/run/scoreRun.ts), e.g. a specimen it never saw. Prints; writes nothing.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { COMPARED_METRICS } from '../core/run/compareRuns';
import { scoreTrainedJob, type ScoreResult } from '../core/run/scoreRun';
import { checkRequestedThreads, resolveThreads, ThreadsError } from '../core/runtime/threads';
import type { StudyLayout } from '../core/study/discovery';
import { parseJobId } from '../core/study/layout';
import { bool, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO } from './commands';
import { table } from './table';

export const SCORE_SUMMARY = 'score a trained job\'s model on a dataset it was not evaluated on (another specimen, another split)';
export const SCORE_USAGE = 'ptycho-study score <job id | job folder> --data FILE.npz [roots] [--threads N] [--json]';
export const SCORE_FLAGS: FlagSpec = { data: { type: 'string' }, threads: { type: 'string' }, json: { type: 'boolean' } };
export const SCORE_HELP = [
  'The job (dose_<int>/<view>/gs<g>, found in the study as `runs` does, or its folder) must have a finished run. Its',
  'checkpoint — matched to its run config as a resume is — reconstructs the patterns of --data, grouped as its own',
  'evaluation groups them, and the stitched object is scored against the file\'s objectGuess on the common evaluation\'s',
  'protocol (its scan box ± M/2, holes included): amplitude and phase Pearson r, SSIM, MS-SSIM, FRC50, for the trained',
  'model, the untrained network and the flat predictor. The file needs the study\'s NPZ keys (diffraction, xcoords,',
  'ycoords, probeGuess, objectGuess) and the job\'s N. Said when it matters: a probe other than the training one (the',
  'network learnt to read its training probe\'s patterns), another dose, the job\'s own training data. Nothing is written.',
];
export const SCORE_OPTIONS_HELP = [
  '  --data FILE.npz        the dataset to score on (required)',
  '  --threads N            onnxruntime intra-op threads (default: SLURM_CPUS_PER_TASK, OMP_NUM_THREADS, else every core)',
  '  --json                 one JSON object: the model, the dataset, the evaluation record, the metrics as metrics.json has them',
];

export interface ScoreDeps {
  loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout>;
  jobDirOf(p: Parsed, io: CliIO, layout: StudyLayout, id: string): Promise<string>;
}

const ROOT_FLAG_NAMES = ['workspace', 'phase-c-root', 'phase-d-root', 'artifact-root'];
const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

export async function cmdScore(p: Parsed, io: CliIO, deps: ScoreDeps): Promise<number> {
  const target = p.positionals[0];
  if (!target) throw new UsageError('a job id or a job folder is required.');
  const data = str(p, 'data');
  if (data === undefined || data.trim() === '') throw new UsageError('--data FILE.npz is required: the dataset to score the model on.');
  let requested: number | undefined;
  try {
    const raw = str(p, 'threads');
    requested = raw === undefined ? undefined : checkRequestedThreads(raw, '--threads') || undefined;
  } catch (err) {
    if (err instanceof ThreadsError) throw new UsageError(err.message);
    throw err;
  }
  let jobDir: string;
  let jobId: string | undefined;
  let rootHint: string | undefined;
  if (parseJobId(target)) {
    jobId = target.trim();
    jobDir = await deps.jobDirOf(p, io, await deps.loadStudy(p, io), jobId);
    rootHint = ROOT_FLAG_NAMES.filter((f) => str(p, f) !== undefined).map((f) => `--${f} ${quote(path.resolve(io.cwd, str(p, f)!))}`).join(' ') || undefined;
  } else {
    jobDir = path.resolve(io.cwd, target);
    const st = fs.statSync(jobDir, { throwIfNoEntry: false });
    if (!st) throw new UsageError(`"${target}" is neither a training job id (dose_<int>/<view>/gs<g>) nor a folder.`);
    if (!st.isDirectory()) throw new UsageError(`"${target}" is not a job folder (give the folder, not a file in it).`);
    const parts = jobDir.split(path.sep).slice(-3).join('/');
    jobId = parseJobId(parts) ? parts : undefined;
  }
  const threads = resolveThreads({ requested, requestedFrom: 'cli', env: process.env, available: os.availableParallelism() });
  const r = await scoreTrainedJob(jobDir, {
    dataPath: path.resolve(io.cwd, data), threads, jobId, rootHint, signal: io.signal,
    log: (line) => (bool(p, 'json') ? undefined : io.err(line)),
  });
  if (bool(p, 'json')) {
    io.out(JSON.stringify({ type: 'score', ...r }));
    return 0;
  }
  for (const line of describeScore(r)) io.out(line);
  return 0;
}

type Part = Record<string, unknown>;
const partOf = (m: Record<string, unknown> | null | undefined, part: 'amplitude' | 'phase'): Part | undefined => (m && typeof m[part] === 'object' ? (m[part] as Part) : undefined);
const cell = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(Number(v.toPrecision(4))) : '—');

/** The score in a few lines: what was scored on what, then trained / untrained / flat per metric. */
export function describeScore(r: ScoreResult): string[] {
  const ev = r.evaluation;
  const lines = [
    `SCORED ${r.jobId}${r.runId ? `@${r.runId}` : ''} (gridsize ${r.model.gridsize}, N=${r.model.n}, ${r.model.objectSupport} support, trained at dose ${r.model.dose}, ${r.model.epochs} epochs)`,
    `  on ${r.dataset.path}: ${r.dataset.patterns} patterns${r.dataset.job ? ` — the job's own ${r.dataset.job} data` : ''}`,
    `  region ${ev.region.width}×${ev.region.height} at (${ev.region.x0}, ${ev.region.y0}), ${ev.grouping.groups} groups, coverage ${(100 * ev.coverage).toFixed(1)} %; probe overlap with the training probe ${r.probeOverlap === null ? '— (another shape)' : r.probeOverlap.toFixed(3)}`,
    `  ${r.provider}, ${r.threads} thread${r.threads === 1 ? '' : 's'}, ${r.seconds.toFixed(1)} s`,
  ];
  const m = r.metrics;
  const columns = [m, m.untrained as Record<string, unknown> | null, m.flat as Record<string, unknown> | null];
  if (!partOf(m, 'amplitude')) {
    lines.push(`  no metrics: ${typeof m.note === 'string' ? m.note : 'the evaluation gave none'}`);
  } else {
    const rows: string[][] = [];
    for (const part of ['amplitude', 'phase'] as const) {
      for (const metric of COMPARED_METRICS.filter((x) => ['pearsonCovered', 'pearson', 'ssim', 'msSsim', 'frc50'].includes(x.key))) {
        rows.push([part, metric.label, ...columns.map((c) => cell(partOf(c, part)?.[metric.key]))]);
      }
    }
    for (const line of table(['part', 'metric', 'trained', 'untrained', 'flat'], rows).split('\n')) lines.push(`  ${line}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines;
}
