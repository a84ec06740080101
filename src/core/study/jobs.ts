// The dose × view job matrix: `baseline` gs1 on Phase C per dose, every Phase D view gs2.
// Filtering happens before any dataset is opened, and each job is judged on its own files only,
// so a missing or broken view never blocks another job (the seed study's eager-validation lesson).
import * as path from 'node:path';
import type { StudyLayout, SplitFiles, DatasetLayout } from './discovery';
import { inspectEachOnce, type DatasetInfo, type InspectEachOnce } from './dataset';
import { hasErrors, type Finding } from './findings';
import { readRunRecord, type RunRecord, type RunStateFields, type RunStatus } from './manifest';
import {
  ARTIFACT, BASELINE_VIEW, EXPECTED_VIEWS, GRIDSIZE_BASELINE, GRIDSIZE_OVERLAP, SPLITS, type Split,
  artifactDirFor, doseFolderName, jobId, phaseCFiles, phaseDNestedFiles,
} from './layout';

export type JobState = 'ready' | 'invalid' | 'missing' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'dry-run';
export const JOB_STATES: readonly JobState[] = ['ready', 'invalid', 'missing', 'running', 'succeeded', 'failed', 'cancelled', 'dry-run'];

export interface JobDataset {
  split: Split;
  /** Path of the file (expected path when missing). */
  path: string;
  exists: boolean;
  info?: DatasetInfo;
}

export interface StudyJob {
  id: string;
  dose: number;
  view: string;
  gridsize: number;
  /** Where the job's data comes from. */
  layout?: DatasetLayout;
  train: JobDataset;
  test: JobDataset;
  /** The study's artifact root: artifactDir is always inside it (checked again when a run is planned). */
  artifactRoot: string;
  artifactDir: string;
  logPath: string;
  state: JobState;
  /** Why the job is missing, invalid, failed or cancelled: one sentence. */
  reason?: string;
  findings: Finding[];
  /** The last run recorded in the artifact folder. */
  run?: RunRecord;
  /** Missing or invalid data, judged from the job's own files when it was listed (a run record cannot change it). */
  dataProblem?: DataProblem;
  /** Phase D overlap metrics (metrics_bundle.json or per-split files), path only; read on demand. */
  metricsPaths?: SplitFiles['metricsPath'];
  /**
   * The dose's common evaluation set (domain.md §7.3): its Phase C test split, on which every job of the dose
   * is scored. Absent when the dose has no Phase C test file (a run then falls back to its own split).
   */
  evaluation?: { path: string; layout: DatasetLayout };
  /**
   * Gridsize 2: the number of patterns in the dose's Phase C training split (read from its header), the default
   * number of training groups of every view of the dose — so that each view trains as many optimizer steps per epoch
   * (PtychoPINN draws one n_groups for every view). Absent without a readable Phase C training split.
   */
  dosePatterns?: number;
}

export interface JobFilter {
  dose?: number;
  view?: string;
  gridsize?: number;
}

export interface ListJobsOptions {
  filter?: JobFilter;
  /** K for the gs2 grouping checks. */
  neighborCount?: number;
  /** Open the datasets (header checks). Default true. */
  inspect?: boolean;
  /** Also sample frames (values). Default false: listing reads headers only. */
  deep?: boolean;
  /** Upper bound on archives opened at once. */
  concurrency?: number;
  /**
   * Accept diffraction that looks like intensity or counts (`--allow-intensity-data`,
   * `ptychoStudy.training.allowIntensityData`): those errors become warnings that say so, and the job is not invalid.
   */
  allowIntensityData?: boolean;
}

interface JobSlot {
  dose: number;
  view: string;
  gridsize: number;
  source?: SplitFiles;
  /** Why there is no source. */
  missingReason?: string;
  expected: Record<Split, string>;
  /** The dose's Phase C test split, when it exists (the common evaluation set). */
  evaluation?: { path: string; layout: DatasetLayout };
  /** Gridsize 2: the dose's Phase C training split, whose pattern count sets the default training groups. */
  doseTrain?: string;
}

/** Pure: the matrix of job slots from a discovered layout (no I/O). */
export function jobMatrix(layout: StudyLayout): JobSlot[] {
  const slots: JobSlot[] = [];
  const views = new Set<string>();
  if (layout.hasPhaseD) EXPECTED_VIEWS.forEach((v) => views.add(v));
  for (const d of layout.doses) for (const v of d.views.keys()) views.add(v);
  const viewOrder = [...views].sort((a, b) => viewRank(a) - viewRank(b) || a.localeCompare(b));
  for (const d of layout.doses) {
    const base = d.phaseC;
    const hasBaseFiles = base && Object.keys(base.files).length > 0;
    const evaluation = base?.files.test ? { path: base.files.test, layout: base.layout } : undefined;
    slots.push({
      dose: d.dose,
      view: BASELINE_VIEW,
      gridsize: GRIDSIZE_BASELINE,
      source: hasBaseFiles ? base : undefined,
      expected: base?.expected ?? (layout.phaseCRoot ? phaseCFiles(layout.phaseCRoot, d.dose) : { train: 'patched_train.npz', test: 'patched_test.npz' }),
      evaluation,
      missingReason: hasBaseFiles ? undefined
        : layout.phaseCRoot
          ? `Phase C data for dose ${d.dose} not found: expected ${path.join(layout.phaseCRoot, doseFolderName(d.dose))}/patched_{train,test}.npz.`
          : `No Phase C root: the baseline needs <phase_c>/${doseFolderName(d.dose)}/patched_{train,test}.npz (set ptychoStudy.phaseCRoot or --phase-c-root).`,
    });
    for (const view of viewOrder) {
      const found = d.views.get(view);
      const expected = found?.expected
        ?? (layout.phaseDRoot ? phaseDNestedFiles(layout.phaseDRoot, d.dose, view) : { train: `${view}_train.npz`, test: `${view}_test.npz` });
      slots.push({
        dose: d.dose,
        view,
        gridsize: GRIDSIZE_OVERLAP,
        source: found,
        expected,
        evaluation,
        ...(base?.files.train ? { doseTrain: base.files.train } : {}),
        missingReason: found ? undefined
          : `Phase D view "${view}" not found for dose ${d.dose}: expected ${expected.train} (or the flat ${doseFolderName(d.dose)}/${view}_train.npz).`,
      });
    }
  }
  return slots;
}

function viewRank(v: string): number {
  const i = (EXPECTED_VIEWS as readonly string[]).indexOf(v);
  return i < 0 ? EXPECTED_VIEWS.length : i;
}

export function matchesFilter(slot: { dose: number; view: string; gridsize: number }, filter: JobFilter = {}): boolean {
  if (filter.dose !== undefined && Math.abs(slot.dose - filter.dose) > 1e-9 * Math.max(1, filter.dose)) return false;
  if (filter.view !== undefined && slot.view !== filter.view) return false;
  if (filter.gridsize !== undefined && slot.gridsize !== filter.gridsize) return false;
  return true;
}

/** Builds the jobs that pass the filter, inspects their datasets and reads their run state. */
export async function listJobs(layout: StudyLayout, options: ListJobsOptions = {}): Promise<StudyJob[]> {
  const slots = jobMatrix(layout).filter((s) => matchesFilter(s, options.filter));
  // The dose's Phase C training split is the baseline's data and every gridsize-2 job's group count: read once.
  const inspect = inspectEachOnce({ neighborCount: options.neighborCount, deep: options.deep, allowIntensityData: options.allowIntensityData });
  const tasks = slots.map((slot) => () => buildJob(layout, slot, options, inspect));
  return runLimited(tasks, options.concurrency ?? 8);
}

async function buildJob(layout: StudyLayout, slot: JobSlot, options: ListJobsOptions, inspect: InspectEachOnce): Promise<StudyJob> {
  const artifactDir = artifactDirFor(layout.artifactRoot, slot.dose, slot.view, slot.gridsize);
  const datasets = {} as Record<Split, JobDataset>;
  for (const split of SPLITS) {
    const file = slot.source?.files[split];
    datasets[split] = { split, path: file ?? slot.expected[split], exists: Boolean(file) };
  }
  const job: StudyJob = {
    id: jobId(slot.dose, slot.view, slot.gridsize),
    dose: slot.dose,
    view: slot.view,
    gridsize: slot.gridsize,
    layout: slot.source?.layout,
    train: datasets.train,
    test: datasets.test,
    artifactRoot: layout.artifactRoot,
    artifactDir,
    logPath: path.join(artifactDir, ARTIFACT.trainLog),
    state: 'ready',
    findings: [],
    metricsPaths: slot.source?.metricsPath,
    ...(slot.evaluation ? { evaluation: slot.evaluation } : {}),
  };
  // Discovery's findings about this job's own split paths (e.g. a FIFO where a dataset should be).
  job.findings.push(...(layout.findings ?? []).filter((f) => f.file === job.train.path || f.file === job.test.path));
  if (options.inspect !== false) {
    for (const split of SPLITS) {
      const ds = datasets[split];
      if (!ds.exists) continue;
      ds.info = await inspect(ds.path, slot.gridsize);
      job.findings.push(...ds.info.findings);
    }
    crossCheckSplits(job);
    if (slot.doseTrain && slot.doseTrain !== job.train.path) {
      // The baseline job reports this file's findings; here only its pattern count is wanted (the baseline's read).
      const count = (await inspect(slot.doseTrain, GRIDSIZE_BASELINE)).patternCount;
      if (count !== undefined && count > 0) job.dosePatterns = count;
    }
  }
  const problem = dataStateOf(job, slot);
  if (problem) job.dataProblem = problem;
  await refreshRunState(job);
  return job;
}

export interface DataProblem {
  state: 'missing' | 'invalid';
  reason: string;
}

/**
 * A job's state from its run record and its data problem: a running run wins, then missing/invalid data, then
 * the last run's status (a reconstruction job ignores dry-run records: `ignoreDryRun`), else ready.
 */
export function stateOf(run: { status: RunStatus; reason?: string } | undefined, dataProblem: DataProblem | undefined, ignoreDryRun = false): { state: JobState; reason?: string } {
  if (run?.status === 'running') return { state: 'running', reason: run.reason };
  if (dataProblem) return { state: dataProblem.state, reason: dataProblem.reason };
  if (run && !(ignoreDryRun && run.status === 'dry-run')) return { state: run.status, reason: run.reason };
  return { state: 'ready' };
}

/**
 * Re-reads a listed job's run record from its artifact folder and updates its state, without touching its
 * datasets: what a change inside one job's folder (a manifest write, a heartbeat) needs — one small read
 * instead of a re-scan of the study.
 */
export async function refreshRunState<M extends RunStateFields, J extends { artifactDir: string; run?: RunRecord<M>; dataProblem?: DataProblem; state: JobState; reason?: string }>(job: J, ignoreDryRun = false): Promise<J> {
  const run = await readRunRecord<M>(job.artifactDir);
  job.run = run;
  const next = stateOf(run, job.dataProblem, ignoreDryRun);
  job.state = next.state;
  if (next.reason === undefined) delete job.reason;
  else job.reason = next.reason;
  return job;
}

/** Missing or invalid data, judged on this job's own files only. */
function dataStateOf(job: StudyJob, slot: JobSlot): { state: 'missing' | 'invalid'; reason: string } | undefined {
  const errors = job.findings.filter((f) => f.severity === 'error');
  // A split that is there but unusable (not a regular file) makes the job invalid, not missing.
  if (!slot.source && errors.length === 0) return { state: 'missing', reason: slot.missingReason ?? 'Data not found.' };
  if (!job.train.exists && errors.length === 0) return { state: 'missing', reason: `Training split not found: ${job.train.path}.` };
  if (errors.length > 0) {
    const first = errors[0];
    const more = errors.length > 1 ? ` (+${errors.length - 1} more)` : '';
    return { state: 'invalid', reason: `${path.basename(first.file)}: ${first.message}${more}` };
  }
  return undefined;
}

/** Train and test must describe the same experiment geometry. */
function crossCheckSplits(job: StudyJob): void {
  const a = job.train.info;
  const b = job.test.info;
  if (!job.test.exists) {
    job.findings.push({
      file: job.test.path, rule: 'DATA-001', severity: 'warning',
      message: `Test split not found (${path.basename(job.test.path)}); training can run, but there is nothing to evaluate the reconstruction on.`,
    });
  }
  if (!a || !b || hasErrors(a.findings) || hasErrors(b.findings)) return;
  if (a.n !== undefined && b.n !== undefined && a.n !== b.n) {
    job.findings.push({ file: b.path, rule: 'DATA-SHAPE', severity: 'error', message: `Train patterns are ${a.n}×${a.n} but test patterns are ${b.n}×${b.n}.` });
  }
}

/** Runs async tasks with at most `limit` in flight, keeping the order of results. */
export async function runLimited<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}
