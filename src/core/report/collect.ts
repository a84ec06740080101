// What a study has produced, job by job: every training job (Phase E) and every reconstruction job (Phase F)
// the study's data implies, each with its metrics.json when it finished, or with why it has none (data
// missing, never run, only a dry run, still running, failed, cancelled, metrics unreadable). Read-only: the
// report writer (write.ts) and the VS Code side build on it.
import * as path from 'node:path';
import { discoverStudy, type StudyLayout } from '../study/discovery';
import { listJobs, type JobFilter } from '../study/jobs';
import { ARTIFACT } from '../study/layout';
import { MANIFEST_MAX_BYTES } from '../study/manifest';
import { defaultPhaseFRoot, listReconstructionJobs } from '../study/reconstructJobs';
import { readSmallFile } from '../run/safeFiles';
import { representativeRun, type RepresentativeRun } from '../run/runHistory';

/** The study's folders, as the CLI and the settings give them. */
export interface StudyRoots {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot: string;
  /** Default: phase_f beside Phase C. */
  phaseFRoot?: string;
}

/** `pinn` for a training job, the algorithm (`epie`, `rpie`, …) for a reconstruction. */
export type ReportMethod = string;

/** The two images every job scores. */
export const PARTS = ['amplitude', 'phase'] as const;
export type Part = (typeof PARTS)[number];

/** One job of the study and what it left behind. */
export interface JobResult {
  kind: 'train' | 'reconstruct';
  id: string;
  dose: number;
  view: string;
  gridsize: number;
  method: ReportMethod;
  /** The split scored: `test` for training jobs (the dose's common evaluation), the job's split for Phase F. */
  split: string;
  /** The job's state as `list` shows it. */
  state: string;
  /** The folder of the run that represents the job (the job folder, or runs/<id>/ — runHistory.representativeRun). */
  artifactDir: string;
  /** That run, and why it is the one (absent when the job never ran). */
  run?: { id: string; latest: boolean; why: RepresentativeRun['why']; latestStatus?: string };
  /** Parsed metrics.json of a finished run; absent with `absentReason` otherwise. */
  metrics?: Record<string, unknown>;
  /** Parsed manifest.json, when the folder holds a readable one (any status). */
  manifest?: Record<string, unknown>;
  /** Why the job has no metrics in the report. */
  absentReason?: string;
}

export interface StudyResults {
  roots: Required<Pick<StudyRoots, 'artifactRoot' | 'phaseFRoot'>> & Pick<StudyRoots, 'phaseCRoot' | 'phaseDRoot'>;
  layout: StudyLayout;
  /** Jobs with metrics, then jobs without, each group in study order (dose, view, method). */
  jobs: JobResult[];
}

const METRICS_MAX_BYTES = 64 << 20;

async function readJson(file: string, max: number): Promise<{ value?: Record<string, unknown>; error?: string }> {
  let text: string;
  try {
    text = await readSmallFile(file, max);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? `${path.basename(file)} is missing` : `${path.basename(file)} cannot be read (${(err as Error).message})` };
  }
  try {
    const v = JSON.parse(text) as unknown;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return { error: `${path.basename(file)} does not hold a JSON object` };
    return { value: v as Record<string, unknown> };
  } catch (err) {
    return { error: `${path.basename(file)} is not valid JSON (${(err as Error).message.slice(0, 120)})` };
  }
}

/** Why a job in `state` has no metrics (undefined when it should have them). */
function absentBecause(state: string, reason: string | undefined): string | undefined {
  switch (state) {
    case 'succeeded': return undefined;
    case 'ready': return 'never run (its data is ready)';
    case 'dry-run': return 'only a dry run was written; never trained';
    case 'running': return 'still running';
    case 'missing': return `data missing: ${reason ?? 'not found'}`;
    case 'invalid': return `data invalid: ${reason ?? 'validation failed'}`;
    default: return `${state}${reason ? `: ${reason}` : ''}`;
  }
}

async function finish(r: JobResult, reason: string | undefined): Promise<JobResult> {
  // The run that stands for the job: the chosen one, else the latest if it succeeded, else the latest that did.
  const rep = representativeRun(r.artifactDir);
  if (rep) {
    r.run = { id: rep.id, latest: rep.latest, why: rep.why, ...(rep.latestStatus ? { latestStatus: rep.latestStatus } : {}) };
    if (!rep.latest) r.artifactDir = rep.dir;
  }
  const manifest = await readJson(path.join(r.artifactDir, ARTIFACT.manifest), MANIFEST_MAX_BYTES);
  if (manifest.value) r.manifest = manifest.value;
  // An earlier run standing in for the latest one succeeded (the job's own state stays what `list` says).
  r.absentReason = rep && !rep.latest ? undefined : absentBecause(r.state, reason);
  if (r.absentReason === undefined) {
    const metrics = await readJson(path.join(r.artifactDir, ARTIFACT.metrics), METRICS_MAX_BYTES);
    if (metrics.value && metrics.value.amplitude && typeof metrics.value.amplitude === 'object') r.metrics = metrics.value;
    else r.absentReason = `succeeded, but ${metrics.error ?? 'metrics.json holds no amplitude/phase metrics (no ground truth?)'}`;
  }
  return r;
}

const methodRank = (m: string): number => (m === 'pinn' ? 0 : m === 'epie' ? 1 : m === 'rpie' ? 2 : 3);
const viewRank = (v: string): number => (v === 'baseline' ? 0 : v === 'dense' ? 1 : v === 'sparse' ? 2 : 3);

/** Study order: dose, view (baseline, dense, sparse, others), method (pinn, epie, rpie, others), split. */
export function compareJobs(a: Pick<JobResult, 'dose' | 'view' | 'method' | 'split'>, b: Pick<JobResult, 'dose' | 'view' | 'method' | 'split'>): number {
  return a.dose - b.dose || viewRank(a.view) - viewRank(b.view) || a.view.localeCompare(b.view)
    || methodRank(a.method) - methodRank(b.method) || a.method.localeCompare(b.method) || (a.split === b.split ? 0 : a.split === 'test' ? -1 : 1);
}

/**
 * Every training and reconstruction job of the study under `roots` (optionally filtered), with its metrics.json
 * when it finished and the reason when it did not. Throws StudyNotFoundError when a given root is not a folder.
 */
export async function collectStudyResults(roots: StudyRoots, filter: JobFilter = {}, layout?: StudyLayout): Promise<StudyResults> {
  const study = layout ?? await discoverStudy({ phaseCRoot: roots.phaseCRoot, phaseDRoot: roots.phaseDRoot, artifactRoot: roots.artifactRoot });
  const phaseFRoot = path.resolve(roots.phaseFRoot ?? defaultPhaseFRoot(study));
  const [train, recon] = await Promise.all([
    listJobs(study, { filter }),
    listReconstructionJobs(study, { phaseFRoot, filter }),
  ]);
  const jobs = await Promise.all([
    ...train.map((j) => finish({
      kind: 'train', id: j.id, dose: j.dose, view: j.view, gridsize: j.gridsize, method: 'pinn', split: 'test', state: j.state, artifactDir: j.artifactDir,
    }, j.reason)),
    ...recon.map((j) => finish({
      kind: 'reconstruct', id: j.id, dose: j.dose, view: j.view, gridsize: j.gridsize, method: j.algorithm, split: j.split, state: j.state, artifactDir: j.artifactDir,
    }, j.reason)),
  ]);
  jobs.sort((a, b) => Number(Boolean(a.absentReason)) - Number(Boolean(b.absentReason)) || compareJobs(a, b));
  return {
    roots: { phaseCRoot: study.phaseCRoot, phaseDRoot: study.phaseDRoot, artifactRoot: study.artifactRoot, phaseFRoot },
    layout: study,
    jobs,
  };
}
