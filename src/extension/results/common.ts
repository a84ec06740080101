// Shared by the reconstruction viewer and the study comparison: resolving a job id that came from a page
// (it must name a real job of the study — never a path), the job summary the pages show, page log lines,
// and the record of `rendered` events that tests and the benchmark wait on.
import * as vscode from 'vscode';
import { parseJobId, type StudyJob } from '../../core/study';
import type { ReconstructionJob } from '../../core/study/reconstructJobs';
import type { RenderedEvent, ResultJobSummary } from '../../webview/protocol';
import type { StudyModel } from '../studyModel';
import { nextEvent } from '../webview/dispose';

/**
 * The job a page named: `jobId` must be a well-formed id of a job the study has now (in `folder` when
 * given). Throws (the page gets `{ error }`) otherwise.
 */
export function jobFromPage(model: StudyModel, jobId: string, folder?: vscode.WorkspaceFolder): { job: StudyJob; folder: vscode.WorkspaceFolder } {
  if (!parseJobId(jobId)) throw new Error(`"${jobId.slice(0, 80)}" is not a job id (dose_<int>/<view>/gs<g>)`);
  const matches = model.findJobs(jobId).filter((m) => !folder || m.folder.uri.toString() === folder.uri.toString());
  if (matches.length === 0) throw new Error(`there is no job ${jobId} in this study`);
  return matches[0];
}

export function jobSummary(job: StudyJob): ResultJobSummary {
  const m = job.run?.manifest;
  const result = m?.result;
  return {
    jobId: job.id, dose: job.dose, view: job.view, gridsize: job.gridsize, state: job.state,
    ...(job.reason ? { reason: job.reason } : {}),
    ...(result ? { epochs: result.epochs, finalLoss: result.finalLoss, bestValLoss: result.bestValLoss, stopReason: result.stopReason } : {}),
    ...(m?.runtime?.executionProviderUsed ? { executionProvider: m.runtime.executionProviderUsed } : {}),
    ...(m?.finishedAt ? { finishedAt: m.finishedAt } : {}),
    ...(m?.timing?.trainingSeconds !== undefined ? { trainingSeconds: m.timing.trainingSeconds } : {}),
    folder: vscode.workspace.asRelativePath(vscode.Uri.file(job.artifactDir), false),
  };
}

/** The summary of a Phase F job the reconstruction viewer shows. */
export function reconJobSummary(job: ReconstructionJob): ResultJobSummary {
  const m = job.run?.manifest as { result?: { iterations?: number }; runtime?: { executionProviderUsed?: string }; finishedAt?: string; timing?: { reconstructionSeconds?: number } } | undefined;
  return {
    jobId: job.id, dose: job.dose, view: job.view, gridsize: job.gridsize, state: job.state, kind: 'reconstruct', algorithm: job.algorithm,
    ...(job.reason ? { reason: job.reason } : {}),
    ...(m?.result?.iterations !== undefined ? { iterations: m.result.iterations } : {}),
    ...(m?.runtime?.executionProviderUsed ? { executionProvider: m.runtime.executionProviderUsed } : {}),
    ...(m?.finishedAt ? { finishedAt: m.finishedAt } : {}),
    ...(m?.timing?.reconstructionSeconds !== undefined ? { trainingSeconds: m.timing.reconstructionSeconds } : {}),
    folder: vscode.workspace.asRelativePath(vscode.Uri.file(job.artifactDir), false),
  };
}

export function pageLogger(log: vscode.LogOutputChannel, panel: string): (e: { level: 'info' | 'warn' | 'error'; message: string }) => void {
  return (e) => {
    const line = `[${panel} page] ${e.message}`;
    if (e.level === 'error') log.error(line);
    else if (e.level === 'warn') log.warn(line);
    else log.info(line);
  };
}

export interface RenderRecord {
  event: RenderedEvent;
  /** Host time from the panel's creation (or its last `show`) to the page's `rendered`, ms. */
  sinceOpenMs: number;
}

/** The `rendered` events of one panel, with waiting for one (tests, the benchmark). */
export class RenderLog implements vscode.Disposable {
  readonly records: RenderRecord[] = [];
  private readonly emitter = new vscode.EventEmitter<RenderRecord>();
  /** performance.now() of the last open/show, the origin of sinceOpenMs. */
  openedAt = performance.now();

  add(event: RenderedEvent): RenderRecord {
    const rec = { event, sinceOpenMs: performance.now() - this.openedAt };
    this.records.push(rec);
    if (this.records.length > 200) this.records.splice(0, this.records.length - 200);
    this.emitter.fire(rec);
    return rec;
  }

  /** The first render so far that matches, or the next one. */
  when(match: (r: RenderRecord) => boolean = () => true, timeoutMs = 30_000): Promise<RenderRecord> {
    const done = this.records.find(match);
    return done ? Promise.resolve(done) : this.next(match, timeoutMs);
  }

  next(match: (r: RenderRecord) => boolean = () => true, timeoutMs = 30_000): Promise<RenderRecord> {
    return nextEvent(this.emitter.event, match, timeoutMs, 'no matching render');
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

/** Resolves after `ms` of quiet: coalesces bursts of study changes into one refresh. */
export function debounce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const f = (): void => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
  f.cancel = () => clearTimeout(timer);
  return f;
}
