// What the job panel shows, built from the study's job record and the live run (no vscode import, so plain
// mocha tests it): the header state and progress, the datasets, the findings, the last run's summary, and
// which buttons are enabled now. Also the mapping of events.jsonl events to the chart's TrainEvents.
import * as path from 'node:path';
import type { RunEvent } from '../../core/run/events';
import type { StudyJob } from '../../core/study';
import type { ReconstructionJob } from '../../core/study/reconstructJobs';
import type { JobAction, JobPanelState, JobPanelStateName, JobProgressInfo, JobRunSummary, MetricTable, QualityScores, QualityTrainEvent, TrainEvent } from '../../webview/protocol';
import { check } from '../../webview/shared/validate';

export interface LiveInfo {
  state: 'queued' | 'starting' | 'running' | 'cancelling';
  progress?: JobProgressInfo;
}

export interface SummaryContext {
  /** Path for display: relative to the workspace when inside it. */
  display: (fsPath: string) => string;
  trusted: boolean;
  folderName?: string;
  /** Whether files exist in the job folder (the host stats them). */
  has: { checkpoint: boolean; reconstruction: boolean; manifest: boolean; log: boolean };
}

function metricTable(v: unknown): MetricTable | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const out: MetricTable = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
    if (typeof x === 'number' || x === null) out[k] = x;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

export function runSummary(job: StudyJob): JobRunSummary | undefined {
  const rec = job.run;
  if (!rec) return undefined;
  const m = rec.manifest ?? {};
  const result = m.result;
  const metrics = result?.metrics as { amplitude?: unknown; phase?: unknown } | undefined;
  const summary: JobRunSummary = {
    status: rec.status,
    reason: rec.reason ?? m.reason,
    startedAt: m.timing?.startedAt ?? m.startedAt,
    finishedAt: m.timing?.finishedAt ?? m.finishedAt,
    seconds: m.timing?.seconds,
    epochs: result?.epochs,
    steps: result?.steps,
    finalLoss: result?.finalLoss,
    bestValLoss: result?.bestValLoss,
    stopReason: result?.stopReason,
    executionProviderRequested: m.runtime?.executionProviderRequested,
    executionProviderUsed: m.runtime?.executionProviderUsed,
    fallbackReason: m.runtime?.fallbackReason,
  };
  // Runs before the common evaluation recorded FRC50 as a shell index: left out rather than shown as cycles/px.
  const legacyFrc = (metrics as { frcUnit?: unknown } | undefined)?.frcUnit !== 'cycles/px';
  const table = (v: unknown): MetricTable | undefined => {
    const t = metricTable(v);
    if (t && legacyFrc) delete t.frc50;
    return t;
  };
  const amplitude = table(metrics?.amplitude);
  const phase = table(metrics?.phase);
  if (amplitude || phase) summary.metrics = { ...(amplitude ? { amplitude } : {}), ...(phase ? { phase } : {}) };
  for (const k of Object.keys(summary) as (keyof JobRunSummary)[]) if (summary[k] === undefined) delete summary[k];
  return summary;
}

type Actions = JobPanelState['actions'];

export function jobActions(state: JobPanelStateName, live: boolean, ctx: SummaryContext): Actions {
  const untrusted = ctx.trusted ? undefined : 'needs a trusted workspace (Restricted Mode)';
  const on = (enabled: boolean, why?: string): { enabled: boolean; why?: string } => (enabled ? { enabled: true } : { enabled: false, why });
  const busy = live ? 'the job is queued or running in this window' : state === 'running' ? 'the job is running in another process' : undefined;
  const noData = state === 'missing' ? 'its data are missing' : state === 'invalid' ? 'its data are invalid' : undefined;
  const a: Actions = {
    dryRun: on(!untrusted && !busy && state !== 'missing', untrusted ?? busy ?? noData),
    train: on(!untrusted && !busy && !noData, untrusted ?? busy ?? noData),
    cancel: on(live && state !== 'cancelling', state === 'cancelling' ? 'already cancelling' : 'no run of this job in this window'),
    resume: on(!untrusted && !busy && (state === 'failed' || state === 'cancelled') && ctx.has.checkpoint,
      untrusted ?? busy ?? (state === 'failed' || state === 'cancelled' ? 'no checkpoint to resume from' : 'only a failed or cancelled run can be resumed')),
    revealArtifacts: on(true),
    showReconstruction: on(state === 'succeeded' && ctx.has.reconstruction, 'no reconstruction yet: train the job first'),
    showManifest: on(ctx.has.manifest, 'no manifest yet: dry-run or train the job first'),
    openLogFile: on(ctx.has.log, 'no train.log yet'),
  };
  return a;
}

/** A dataset of a job as the panel lists it (training and Phase F jobs alike). */
function datasetInfo(ds: StudyJob['train'], ctx: SummaryContext): JobPanelState['datasets'][number] {
  return {
    split: ds.split, fileName: path.basename(ds.path), displayPath: ctx.display(ds.path), exists: ds.exists,
    ...(ds.info?.patternCount !== undefined ? { patterns: ds.info.patternCount } : {}),
    ...(ds.info?.n !== undefined ? { n: ds.info.n } : {}),
    ...(ds.info?.sizeBytes !== undefined ? { bytes: ds.info.sizeBytes } : {}),
  };
}

function findingInfo(f: StudyJob['findings'][number], ctx: SummaryContext): JobPanelState['findings'][number] {
  return { fileName: path.basename(f.file), displayPath: ctx.display(f.file), ...(f.key ? { key: f.key } : {}), rule: f.rule, severity: f.severity, message: f.message };
}

export function buildJobState(job: StudyJob, live: LiveInfo | undefined, ctx: SummaryContext): JobPanelState {
  const state: JobPanelStateName = live ? live.state : job.state;
  const progress = live?.progress ?? (job.state === 'running' && job.run?.manifest.progress ? fromManifestProgress(job.run.manifest.progress) : undefined);
  const datasets = [job.train, job.test].map((ds) => datasetInfo(ds, ctx));
  const findings = job.findings.map((f) => findingInfo(f, ctx));
  const out: JobPanelState = {
    jobId: job.id, found: true, state, dose: job.dose, view: job.view, gridsize: job.gridsize,
    artifactDisplayPath: ctx.display(job.artifactDir), datasets, findings, actions: jobActions(state, !!live, ctx), trusted: ctx.trusted,
  };
  if (job.reason && !live) out.reason = job.reason;
  if (ctx.folderName) out.folderName = ctx.folderName;
  if (progress) out.progress = progress;
  const run = runSummary(job);
  if (run) out.run = run;
  return out;
}

function fromManifestProgress(p: NonNullable<NonNullable<StudyJob['run']>['manifest']['progress']>): JobProgressInfo {
  const out: JobProgressInfo = { epoch: p.epoch, epochs: p.epochs, stepInEpoch: p.step, stepsPerEpoch: p.stepsPerEpoch };
  if (p.loss !== undefined) out.loss = p.loss;
  if (p.imagesPerSec !== undefined) out.imagesPerSec = p.imagesPerSec;
  if (p.etaSeconds !== undefined) out.etaSeconds = p.etaSeconds;
  return out;
}

/** The panel of a job that is not (or no longer) in the workspace. */
export function notFoundState(jobId: string, message: string, trusted: boolean): JobPanelState {
  const off = { enabled: false, why: 'the job does not exist' };
  const actions = Object.fromEntries((['dryRun', 'train', 'cancel', 'resume', 'revealArtifacts', 'showReconstruction', 'showManifest', 'openLogFile'] as JobAction[]).map((a) => [a, off])) as Actions;
  return { jobId, found: false, notFoundMessage: message, state: 'missing', datasets: [], findings: [], actions, trusted };
}

// ---- Phase F reconstruction jobs in the same panel: iterations are its "epochs", the relative error its loss.

/** A running reconstruction's progress, in the panel's terms (one step per iteration). */
export interface ReconLiveProgress {
  /** What the iterations count when not the run's own (its half sets). */
  stage?: string;
  iteration: number;
  iterations: number;
  relativeError?: number;
  updatesPerSec?: number;
  etaSeconds?: number;
}

function reconProgressInfo(p: ReconLiveProgress): JobProgressInfo {
  const out: JobProgressInfo = { epoch: p.iteration, epochs: p.iterations, stepInEpoch: 1, stepsPerEpoch: 1 };
  if (p.stage !== undefined) out.stage = p.stage;
  if (p.relativeError !== undefined) out.loss = p.relativeError;
  if (p.updatesPerSec !== undefined) out.imagesPerSec = p.updatesPerSec;
  if (p.etaSeconds !== undefined) out.etaSeconds = p.etaSeconds;
  return out;
}

/** The panel state of a Phase F job: Reconstruct instead of Train, no dry run, iterations instead of epochs. */
export function buildReconState(job: ReconstructionJob, live: { state: LiveInfo['state']; progress?: ReconLiveProgress } | undefined, ctx: SummaryContext): JobPanelState {
  const state: JobPanelStateName = live ? live.state : job.state;
  const base = jobActions(state, !!live, ctx);
  const actions: Actions = {
    ...base,
    dryRun: { enabled: false, why: 'a Phase F reconstruction has no dry run: its plan is written when it starts' },
    showReconstruction: ctx.has.reconstruction && state === 'succeeded' ? { enabled: true } : { enabled: false, why: 'no reconstruction yet: run it first' },
    showManifest: ctx.has.manifest ? { enabled: true } : { enabled: false, why: 'no manifest yet: run the reconstruction first' },
    openLogFile: ctx.has.log ? { enabled: true } : { enabled: false, why: 'no recon.log yet' },
  };
  const d = job.data;
  const out: JobPanelState = {
    jobId: job.id, kind: 'reconstruct', split: job.split, algorithm: job.algorithm, found: true, state, dose: job.dose, view: job.view, gridsize: job.gridsize,
    artifactDisplayPath: ctx.display(job.artifactDir),
    datasets: [datasetInfo(d, ctx)],
    findings: job.findings.map((f) => findingInfo(f, ctx)),
    actions, trusted: ctx.trusted,
  };
  if (job.reason && !live) out.reason = job.reason;
  if (ctx.folderName) out.folderName = ctx.folderName;
  const mp = job.state === 'running' ? job.run?.manifest.progress : undefined;
  const progress = live?.progress ?? (mp ? { iteration: mp.iteration, iterations: mp.iterations, relativeError: mp.relativeError, updatesPerSec: mp.updatesPerSec, etaSeconds: mp.etaSeconds } : undefined);
  if (progress) out.progress = reconProgressInfo(progress);
  const rec = job.run;
  if (rec) {
    const m = rec.manifest ?? {};
    const r = m.result;
    const metrics = r?.metrics as { amplitude?: unknown; phase?: unknown } | undefined;
    const run: JobRunSummary = {
      status: rec.status, reason: rec.reason ?? m.reason, startedAt: m.timing?.startedAt ?? m.startedAt, finishedAt: m.timing?.finishedAt ?? m.finishedAt,
      seconds: m.timing?.seconds, epochs: r?.iterations, finalLoss: r?.relativeError ?? undefined, stopReason: r?.stopReason,
      executionProviderRequested: m.runtime?.executionProviderRequested, executionProviderUsed: m.runtime?.executionProviderUsed, fallbackReason: m.runtime?.fallbackReason,
    };
    const amplitude = metricTable(metrics?.amplitude);
    const phase = metricTable(metrics?.phase);
    if (amplitude || phase) run.metrics = { ...(amplitude ? { amplitude } : {}), ...(phase ? { phase } : {}) };
    for (const k of Object.keys(run) as (keyof JobRunSummary)[]) if (run[k] === undefined) delete run[k];
    out.run = run;
  }
  return out;
}

/**
 * A reconstruction's events.jsonl → the chart's events: `recon-started` starts a run of `iterations` "epochs" of one
 * step, each `iteration` is an epoch whose loss is the relative error (no validation loss, no learning rate), its
 * quality (Pearson r on the lit pixels, when there is a ground truth) a quality point; the end events end it.
 */
export function toReconEvents(events: readonly RunEvent[]): TrainEvent[] {
  const out: TrainEvent[] = [];
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  for (const e of events) {
    switch (e.type) {
      case 'recon-started':
        if (!num(e.iterations)) break;
        out.push({ type: 'started', time: e.time, epochs: e.iterations, stepsPerEpoch: 1, executionProviderUsed: e.executionProviderUsed, ...(e.resumedFrom && num(e.resumedFrom.iteration) ? { resumedFrom: { epoch: e.resumedFrom.iteration, step: 0 } } : {}) });
        break;
      case 'iteration': {
        if (!num(e.iteration) || !num(e.iterations) || !num(e.relativeError)) break;
        out.push({ type: 'epoch', time: e.time, epoch: e.iteration, epochs: e.iterations, trainLoss: e.relativeError, valLoss: null, lr: 0, lrReduced: false, seconds: num(e.seconds) ? e.seconds : 0 });
        const q = e.quality;
        if (q && (num(q.amplitude) || num(q.phase))) {
          out.push({
            type: 'quality', time: e.time, epoch: e.iteration, amplitude: { pearson: num(q.amplitude) ? q.amplitude : null, ssim: null },
            phase: { pearson: num(q.phase) ? q.phase : null, ssim: null }, groups: 0, seconds: 0,
          });
        }
        break;
      }
      case 'recon-finished':
        out.push({ type: 'end', time: e.time, status: 'succeeded' });
        break;
      case 'recon-cancelled':
        out.push({ type: 'end', time: e.time, status: 'cancelled' });
        break;
      case 'failed':
        out.push({ type: 'end', time: e.time, status: 'failed', message: e.message });
        break;
      default:
        break;
    }
  }
  return out;
}

/** events.jsonl events → the chart's events (others dropped). */
export function toTrainEvents(events: readonly RunEvent[]): TrainEvent[] {
  const out: TrainEvent[] = [];
  for (const e of events) {
    switch (e.type) {
      case 'started':
        out.push({
          type: 'started', time: e.time, epochs: e.epochs, stepsPerEpoch: e.stepsPerEpoch, executionProviderUsed: e.executionProviderUsed,
          ...(e.resumedFrom ? { resumedFrom: { epoch: e.resumedFrom.epoch, step: e.resumedFrom.step } } : {}),
        });
        break;
      case 'progress':
        out.push({
          type: 'progress', time: e.time, epoch: e.epoch, epochs: e.epochs, stepInEpoch: e.stepInEpoch, stepsPerEpoch: e.stepsPerEpoch,
          loss: e.loss, imagesPerSec: e.imagesPerSec, etaSeconds: e.etaSeconds,
        });
        break;
      case 'epoch':
        out.push({
          type: 'epoch', time: e.time, epoch: e.epoch, epochs: e.epochs, trainLoss: e.trainLoss,
          valLoss: typeof e.valLoss === 'number' && Number.isFinite(e.valLoss) ? e.valLoss : null, lr: e.lr,
          lrReduced: Boolean(e.lrReduced), seconds: e.seconds,
        });
        break;
      case 'quality': {
        // A line of a file (hand-edited, torn, another version's): checked field by field, and only the
        // fields of the protocol are sent on.
        if (qualityEventCheck(e, 'quality event')) break;
        const scores = (q: QualityScores): QualityScores => ({ pearson: q.pearson, ssim: q.ssim });
        out.push({
          type: 'quality', time: e.time, epoch: e.epoch, amplitude: scores(e.amplitude), phase: scores(e.phase),
          region: { x0: e.region.x0, y0: e.region.y0, width: e.region.width, height: e.region.height }, groups: e.groups, seconds: e.seconds,
          ...(typeof e.preview === 'string' ? { preview: true } : {}),
        });
        break;
      }
      case 'finished':
        out.push({ type: 'end', time: e.time, status: 'succeeded' });
        break;
      case 'failed':
        out.push({ type: 'end', time: e.time, status: 'failed', message: e.message });
        break;
      case 'cancelled':
        out.push({ type: 'end', time: e.time, status: 'cancelled' });
        break;
      default:
        break;
    }
  }
  return out.filter((e) => isFiniteEvent(e));
}

const qualityScoresCheck = check.object<QualityScores>({ pearson: check.nullable(check.number()), ssim: check.nullable(check.number()) }, { allowExtra: true });

/** The fields of an events.jsonl `quality` event the quality chart uses (extra fields, e.g. jobId, are allowed). */
export const qualityEventCheck = check.object<Omit<QualityTrainEvent, 'preview'>>({
  type: check.literal('quality'),
  time: check.string({ maxLength: 100 }),
  epoch: check.int({ min: 0 }),
  amplitude: qualityScoresCheck,
  phase: qualityScoresCheck,
  region: check.object<NonNullable<QualityTrainEvent['region']>>({
    x0: check.number(), y0: check.number(), width: check.number({ min: 1 }), height: check.number({ min: 1 }),
  }, { allowExtra: true }),
  groups: check.int({ min: 0 }),
  seconds: check.number({ min: 0 }),
}, { allowExtra: true });

/** A torn or hand-edited line can parse as JSON with missing numbers: keep only events the chart can use. */
function isFiniteEvent(e: TrainEvent): boolean {
  const num = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
  switch (e.type) {
    case 'progress': return num(e.epoch) && num(e.stepInEpoch) && num(e.stepsPerEpoch) && num(e.loss);
    case 'epoch': return num(e.epoch) && num(e.trainLoss) && (e.valLoss === null || num(e.valLoss));
    case 'started': return num(e.epochs);
    default: return true;
  }
}
