// One job panel (viewType ptychoStudy.jobPanel): a WebviewPanel per job with the header (state, live progress,
// actions), the datasets, the loss chart, the run summary, the findings and the live log. The host reads
// train.log and events.jsonl incrementally (FileTail: only appended bytes; a truncated or replaced file is
// read again) and sends them in batches; the job's state follows the study model and the run manager. Every
// action the page asks for names the panel's job, which must exist; the host runs the workbench command.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { halfSetLabel, parseEvents } from '../../core/run/events';
import { ARTIFACT, parseJobId, type StudyJob } from '../../core/study';
import { parseReconstructionJobId, type ReconstructionJob } from '../../core/study/reconstructJobs';
import type { JobAction, JobPanelProtocol, JobPanelState, JobRunChoice, PreviewImage, PreviewImages } from '../../webview/protocol';
import { PREVIEW_DIR, previewName, readPreview, TRUTH_PREVIEW, type Preview } from '../../core/run/previews';
import type { RunManager } from '../runs';
import type { StudyModel } from '../studyModel';
import { Disposable } from '../webview/dispose';
import { webviewHtml, webviewOptions } from '../webview/html';
import { saveCsv, savePng, WebviewHost, type PickSaveUri } from '../webview/host';
import { FileTail, type TailUpdate } from '../../core/run/fileTail';
import { listRunsSync, RUNS_DIR, type RunEntry } from '../../core/run/runHistory';
import { runSegment } from '../../core/run/compareRuns';
import { readSmallFile, readSmallFileSync } from '../../core/run/safeFiles';
import { MANIFEST_MAX_BYTES } from '../../core/study/manifest';
import { buildJobState, buildReconState, notFoundState, toReconEvents, toTrainEvents, type LiveInfo } from './summary';
import { jobPanelValidators } from './validators';
import { FileWatch } from './watch';

export const JOB_PANEL_VIEW_TYPE = 'ptychoStudy.jobPanel';

/** The commands behind the panel's buttons. */
export const ACTION_COMMANDS: Record<Exclude<JobAction, 'openLogFile'>, string> = {
  // (a Phase F job's `train` is Reconstruct: see runAction)
  dryRun: 'ptychoStudy.dryRun',
  train: 'ptychoStudy.train',
  cancel: 'ptychoStudy.cancel',
  resume: 'ptychoStudy.resume',
  revealArtifacts: 'ptychoStudy.revealArtifacts',
  showReconstruction: 'ptychoStudy.showReconstruction',
  showManifest: 'ptychoStudy.showManifest',
};

export interface JobPanelDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  model: StudyModel;
  runs: RunManager;
  /** Where Export PNG saves (tests replace it). */
  pickSaveUri: () => PickSaveUri;
  /** Where Export CSV saves (tests replace it). */
  pickCsvUri: () => PickSaveUri;
}

/** What a panel is about: a job id, and the workspace folder (by name) when the workspace has several. */
export interface JobPanelKey {
  jobId: string;
  folderName?: string;
}

/** The job id of a panel restored without one (its state was lost). */
export const UNKNOWN_JOB = '(unknown job)';

export function panelKey(k: JobPanelKey): string {
  return `${k.folderName ?? ''}::${k.jobId}`;
}

/** Poll intervals of train.log / events.jsonl (fs.watch usually reports sooner). */
const POLL_LIVE_MS = 500;
const POLL_IDLE_MS = 2000;

/** A tailed file whose new lines are sent to the page, one batch at a time (the next read waits for the post). */
class TailStream implements vscode.Disposable {
  private readonly tail: FileTail;
  private readonly watch: FileWatch;
  private busy = false;
  private dirty = false;
  private disposed = false;

  constructor(readonly file: string, private readonly send: (u: TailUpdate) => Promise<void>, pollMs: number, private readonly onError: (e: Error) => void) {
    this.tail = new FileTail(file);
    this.watch = new FileWatch(file, () => void this.pump(), { pollMs });
    void this.pump();
  }

  setPollMs(ms: number): void {
    this.watch.setPollMs(ms);
  }

  async pump(): Promise<void> {
    if (this.disposed) return;
    if (this.busy) {
      this.dirty = true;
      return;
    }
    this.busy = true;
    try {
      do {
        this.dirty = false;
        for (;;) {
          const u = await this.tail.read();
          if (!u || this.disposed) break;
          await this.send(u);
          if (!u.more) break;
        }
      } while (this.dirty && !this.disposed);
    } catch (err) {
      this.onError(err as Error);
    } finally {
      this.busy = false;
    }
  }

  /** Waits until everything on disk now has been sent (tests). */
  async flush(): Promise<void> {
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
    await this.pump();
    while (this.busy) await new Promise((r) => setTimeout(r, 10));
  }

  dispose(): void {
    this.disposed = true;
    this.watch.dispose();
  }
}

export class JobPanel extends Disposable {
  readonly host: WebviewHost<JobPanelProtocol>;
  /** Log lines and batches posted to the page since the panel opened (tests, benchmark). */
  readonly posted = { logBatches: 0, logLines: 0, eventBatches: 0, events: 0, states: 0 };
  private logStream?: TailStream;
  private eventsStream?: TailStream;
  private streamFiles?: { log: string; events: string };
  /** Counts stream restarts: generations sent to the page only grow, so a late batch of an old stream is ignored. */
  private streamSerial = 0;
  private stateTimer?: NodeJS.Timeout;
  private lastState?: JobPanelState;
  /** The earlier run the panel shows (the run picker); undefined: the latest, live. */
  private viewRunId?: string;
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;

  constructor(readonly key: JobPanelKey, readonly panel: vscode.WebviewPanel, private readonly deps: JobPanelDeps) {
    super();
    const webview = panel.webview;
    webview.options = webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'ptycho-study.svg');
    const host = (this.host = this.register(new WebviewHost<JobPanelProtocol>(webview, {
      panel: 'jobPanel', validators: jobPanelValidators, log: deps.log, label: key.jobId,
    })));
    host.onRequest('action', (p) => this.runAction(p.action, p.jobId));
    host.onRequest('copyAll', (p) => this.copyAll(p.jobId));
    host.onRequest('copyText', async (p) => {
      await vscode.env.clipboard.writeText(p.text);
      return { bytes: Buffer.byteLength(p.text) };
    });
    host.onRequest('savePng', (p) => {
      const found = this.lookup();
      if (!found) throw new Error(`${key.jobId} is not in this workspace`);
      return savePng(p, vscode.Uri.file(path.join(found.job.artifactDir, 'loss.png')), deps.pickSaveUri(), deps.log);
    });
    host.onRequest('preview', (p) => this.preview(p.jobId, p.epoch));
    host.onRequest('showRun', (p) => this.showRun(p.jobId, p.runId));
    host.onRequest('saveCsv', async (p) => {
      const found = this.lookup();
      if (!found) throw new Error(`${key.jobId} is not in this workspace`);
      return saveCsv(p, vscode.Uri.file(path.join(found.job.artifactDir, 'metrics.json')), deps.pickCsvUri(), deps.log);
    });
    host.onEvent('log', (e) => {
      const line = `[jobPanel page] ${e.message}`;
      if (e.level === 'error') deps.log.error(line);
      else if (e.level === 'warn') deps.log.warn(line);
      else deps.log.info(line);
    });
    host.onEvent('rendered', () => undefined);
    this.register(host.onDidBecomeReady(() => void this.pageReady()));
    this.register(deps.model.onDidChange(() => this.scheduleState()));
    this.register(deps.runs.onDidChange(() => this.scheduleState()));
    // Without retainContextWhenHidden the page is destroyed when its tab is hidden; the host then stops
    // reading and, at the page's next `ready`, sends the state and the log again (read from the file).
    this.register(panel.onDidChangeViewState(() => {
      if (!panel.visible) {
        host.pageGone();
        this.stopStreams();
      }
    }));
    this.register(panel.onDidDispose(() => this.dispose()));
    this.register({ dispose: () => this.stopStreams() });
    this.register({ dispose: () => clearTimeout(this.stateTimer) });
    panel.title = titleOf(key.jobId);
    webview.html = webviewHtml(webview, deps.extensionUri, { panel: 'jobPanel', title: vscode.l10n.t('Job {0}', key.jobId), loadingText: vscode.l10n.t('Opening {0}…', key.jobId) });
  }

  get jobId(): string {
    return this.key.jobId;
  }

  /** Whether the panel shows a Phase F reconstruction job (id dose_<int>/<view>/<split>/<algorithm>). */
  get isReconstruction(): boolean {
    return parseReconstructionJobId(this.key.jobId) !== undefined;
  }

  /** The job and its workspace folder, if it exists now. */
  lookup(): { job: StudyJob | ReconstructionJob; folder: vscode.WorkspaceFolder } | undefined {
    const matches = this.isReconstruction ? this.deps.model.findRecons(this.key.jobId) : this.deps.model.findJobs(this.key.jobId);
    return (this.key.folderName ? matches.find((m) => m.folder.name === this.key.folderName) : undefined) ?? matches[0];
  }

  /** The state the page shows (recomputed now). */
  currentState(): JobPanelState {
    const found = this.lookup();
    const trusted = vscode.workspace.isTrusted;
    if (!found) {
      const loading = this.deps.model.refreshCount === 0;
      if (this.key.jobId === UNKNOWN_JOB) return notFoundState(this.key.jobId, 'This panel was restored without its job id. Close it and open the job from the Jobs tree.', trusted);
      return notFoundState(this.key.jobId, loading ? 'Looking for the job…'
        : `There is no job ${this.key.jobId}${this.key.folderName ? ` in ${this.key.folderName}` : ''} in this workspace any more: its data were moved, renamed or deleted, or the study roots changed.`, trusted);
    }
    const { job, folder } = found;
    const live = this.deps.runs.get(folder, job);
    const exists = (f: string): boolean => fs.existsSync(path.join(job.artifactDir, f));
    const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    const ctx = {
      display: (p: string) => vscode.workspace.asRelativePath(p, multi),
      trusted,
      folderName: multi ? folder.name : undefined,
      has: { checkpoint: exists(ARTIFACT.checkpoint), reconstruction: exists(ARTIFACT.reconstruction), manifest: exists(ARTIFACT.manifest), log: fs.existsSync(job.logPath) },
    };
    const runs = listRunsSync(job.artifactDir);
    const viewing = this.viewRunId !== undefined ? runs.find((r) => !r.latest && r.id === this.viewRunId) : undefined;
    if (this.viewRunId !== undefined && !viewing) {
      // The run shown was deleted (or became the latest): back to the latest, live.
      this.viewRunId = undefined;
      queueMicrotask(() => {
        this.stopStreams();
        this.startStreams(true);
      });
    }
    // An earlier run: the summary from its own manifest (the state, actions and live progress stay the job's).
    const shown = viewing ? { ...job, run: viewedRecord(viewing) } as typeof job : job;
    const withRuns = (s: JobPanelState): JobPanelState => {
      if (runs.length > 1) s.runs = runs.map(runChoice);
      if (viewing) s.viewing = runChoice(viewing);
      return s;
    };
    if ('kind' in job && job.kind === 'reconstruct') {
      const hs = live ? live.halves ?? this.deps.model.liveProgress(job)?.halves : undefined;
      const it = live?.iteration ?? this.deps.model.liveProgress(job)?.iteration;
      const progress = hs ? { stage: halfSetLabel(hs), iteration: hs.iteration, iterations: hs.iterations, etaSeconds: hs.etaSeconds } : it;
      return withRuns(buildReconState(shown as ReconstructionJob, live ? { state: live.state, ...(progress ? { progress } : {}) } : undefined, ctx));
    }
    const liveInfo: LiveInfo | undefined = live ? {
      state: live.state,
      ...(live.progress ? { progress: {
        epoch: live.progress.epoch, epochs: live.progress.epochs, stepInEpoch: live.progress.stepInEpoch, stepsPerEpoch: live.progress.stepsPerEpoch,
        loss: live.progress.loss, imagesPerSec: live.progress.imagesPerSec, etaSeconds: live.progress.etaSeconds,
      } } : {}),
    } : undefined;
    return withRuns(buildJobState(shown as StudyJob, liveInfo, ctx));
  }

  /**
   * The run picker: an earlier run's summary, its own curves (its segment of the job's journal) and its previews; or
   * (null) the latest run again, live. The log stays the job's journal of every run.
   */
  private async showRun(jobId: string, runId: string | null): Promise<{ viewing: string | null }> {
    const { job } = this.requireJob(jobId);
    if (runId === null) {
      this.viewRunId = undefined;
      await this.sendState();
      this.stopStreams();
      this.startStreams(true);
      return { viewing: null };
    }
    const run = listRunsSync(job.artifactDir).find((r) => r.id === runId);
    if (!run) throw new Error(`${job.id} has no run ${runId}`);
    if (run.latest) return this.showRun(jobId, null);
    this.viewRunId = run.id;
    this.stopStreams();
    await this.sendState();
    const end = (viewedRecord(run).manifest as { finishedAt?: string; updatedAt?: string });
    let events: ReturnType<typeof parseEvents> = [];
    try {
      events = parseEvents(await readSmallFile(path.join(job.artifactDir, ARTIFACT.events), 256 << 20));
    } catch {
      // no journal: the run shows without curves
    }
    const segment = runSegment(events, end.finishedAt ?? end.updatedAt);
    const generation = ++this.streamSerial * 1_000_000;
    await this.host.sendEvent('events', { generation, reset: true, events: this.isReconstruction ? toReconEvents(segment) : toTrainEvents(segment), more: false });
    // The log keeps streaming (the job's journal).
    if (!this.logStream) this.startLogOnly();
    return { viewing: run.id };
  }

  private async pageReady(): Promise<void> {
    const model = this.deps.model;
    if (model.refreshCount === 0) {
      await this.sendState();
      await model.whenIdle();
      if (model.refreshCount === 0) await model.refresh();
    }
    await this.sendState();
    this.startStreams(true);
  }

  private scheduleState(): void {
    if (this.stateTimer || this.isDisposed) return;
    this.stateTimer = setTimeout(() => {
      this.stateTimer = undefined;
      void this.sendState();
      this.startStreams(false);
    }, 100);
  }

  private async sendState(): Promise<void> {
    if (this.isDisposed || !this.host.ready) return;
    const s = this.currentState();
    this.lastState = s;
    this.panel.title = titleOf(this.key.jobId, s.state);
    this.posted.states++;
    await this.host.sendEvent('job', s);
  }

  private live(): boolean {
    const st = this.lastState?.state;
    return st === 'running' || st === 'starting' || st === 'queued' || st === 'cancelling';
  }

  /** (Re)starts reading train.log and events.jsonl: on a page load, or when the job's folder changed. */
  private startStreams(pageLoad: boolean): void {
    if (this.isDisposed || !this.host.ready) return;
    if (this.viewRunId !== undefined) {
      // An earlier run is shown: its events were sent once; only the journal's log streams.
      if (pageLoad) void this.showRun(this.key.jobId, this.viewRunId).catch(() => undefined);
      else if (!this.logStream) this.startLogOnly();
      return;
    }
    const found = this.lookup();
    if (!found) return;
    const files = { log: found.job.logPath, events: path.join(found.job.artifactDir, ARTIFACT.events) };
    const poll = this.live() ? POLL_LIVE_MS : POLL_IDLE_MS;
    if (!pageLoad && this.streamFiles && this.streamFiles.log === files.log && this.streamFiles.events === files.events && this.logStream) {
      this.logStream.setPollMs(poll);
      this.eventsStream?.setPollMs(poll);
      // A run just started or ended: read at once rather than at the next poll.
      void this.logStream.pump();
      void this.eventsStream?.pump();
      return;
    }
    this.stopStreams();
    this.streamFiles = files;
    const base = ++this.streamSerial * 1_000_000;
    const onError = (what: string) => (e: Error): void => this.deps.log.warn(`Job panel ${this.key.jobId}: reading ${what} failed: ${e.message}`);
    this.logStream = this.logTail(files.log, base, poll);
    this.eventsStream = new TailStream(files.events, async (u) => {
      const parsed = parseEvents(u.lines.join('\n'));
      const events = this.isReconstruction ? toReconEvents(parsed) : toTrainEvents(parsed);
      if (events.length === 0 && !u.reset) return;
      this.posted.eventBatches++;
      this.posted.events += events.length;
      await this.host.sendEvent('events', { generation: base + u.generation, reset: u.reset, events, more: u.more });
    }, poll, onError('events.jsonl'));
  }

  /** The log, followed and sent to the page in batches (generations `base` + the tail's). */
  private logTail(file: string, base: number, poll: number): TailStream {
    return new TailStream(file, async (u) => {
      this.posted.logBatches++;
      this.posted.logLines += u.lines.length;
      await this.host.sendEvent('log', {
        generation: base + u.generation, reset: u.reset, lines: u.lines, partial: u.partial, offset: u.offset, more: u.more,
        ...(u.skippedBytes ? { skippedBytes: u.skippedBytes } : {}), ...(u.missing ? { missing: true } : {}),
      });
    }, poll, (e) => this.deps.log.warn(`Job panel ${this.key.jobId}: reading ${path.basename(file)} failed: ${e.message}`));
  }

  /** The log stream alone (while an earlier run is shown). */
  private startLogOnly(): void {
    const found = this.lookup();
    if (!found || this.logStream) return;
    this.logStream = this.logTail(found.job.logPath, ++this.streamSerial * 1_000_000, POLL_IDLE_MS);
  }

  private stopStreams(): void {
    this.logStream?.dispose();
    this.eventsStream?.dispose();
    this.logStream = undefined;
    this.eventsStream = undefined;
    this.streamFiles = undefined;
  }

  /** Everything on disk now has been sent to the page (tests). */
  async flush(): Promise<void> {
    await Promise.all([this.logStream?.flush(), this.eventsStream?.flush()]);
  }

  /** Checks a job id the page sent: a real job, and this panel's. */
  private requireJob(jobId: string): { job: StudyJob | ReconstructionJob; folder: vscode.WorkspaceFolder } {
    const recon = parseReconstructionJobId(jobId) !== undefined;
    if (!parseJobId(jobId) && !recon) throw new Error(`"${jobId}" is not a job id (expected dose_<int>/<view>/gs<g>, or dose_<int>/<view>/<split>/<algorithm>)`);
    if ((recon ? this.deps.model.findRecons(jobId) : this.deps.model.findJobs(jobId)).length === 0) throw new Error(`there is no job ${jobId} in this workspace`);
    if (jobId !== this.key.jobId) throw new Error(`this panel shows ${this.key.jobId}, not ${jobId}`);
    const found = this.lookup();
    if (!found) throw new Error(`there is no job ${jobId} in this workspace`);
    return found;
  }

  private async runAction(action: JobAction, jobId: string): Promise<{ done: true }> {
    const { job, folder } = this.requireJob(jobId);
    const st = this.currentState();
    const a = st.actions[action];
    if (!a.enabled) throw new Error(`${action} is not available for ${job.id} now: ${a.why ?? 'not in this state'}`);
    this.deps.log.info(`Job panel ${job.id}: ${action}`);
    if (action === 'openLogFile') {
      await vscode.window.showTextDocument(vscode.Uri.file(job.logPath), { preview: true, viewColumn: vscode.ViewColumn.Beside });
    } else {
      const command = action === 'train' && 'kind' in job && job.kind === 'reconstruct' ? 'ptychoStudy.reconstruct' : ACTION_COMMANDS[action];
      await vscode.commands.executeCommand(command, { jobId: job.id, folder: folder.uri.fsPath, ...(action === 'showManifest' ? { beside: true } : {}) });
    }
    this.scheduleState();
    return { done: true };
  }

  /** The preview of one epoch and the truth of its window, read from the job's previews/ folder. */
  private async preview(jobId: string, epoch: number): Promise<PreviewImages> {
    const { job } = this.requireJob(jobId);
    const dir = this.viewRunId !== undefined ? path.join(job.artifactDir, RUNS_DIR, this.viewRunId, PREVIEW_DIR) : path.join(job.artifactDir, PREVIEW_DIR);
    let p;
    try {
      p = await readPreview(path.join(dir, previewName(epoch)));
    } catch (err) {
      throw new Error(`${job.id} has no preview of epoch ${epoch}: ${(err as Error).message}`);
    }
    const truth = await readPreview(path.join(dir, TRUTH_PREVIEW)).catch(() => undefined);
    const image = (x: Preview): PreviewImage => ({ width: x.width, height: x.height, amplitude: x.amplitude, amplitudeRange: x.amplitudeRange, phase: x.phase, covered: x.covered });
    return { epoch: p.epoch, region: p.region, image: image(p), ...(truth && truth.width === p.width && truth.height === p.height ? { truth: image(truth) } : {}) };
  }

  private async copyAll(jobId: string): Promise<{ lines: number; bytes: number }> {
    const { job } = this.requireJob(jobId);
    let text: string;
    try {
      text = await fs.promises.readFile(job.logPath, 'utf8');
    } catch {
      throw new Error(`${job.id} has no ${path.basename(job.logPath)} yet`);
    }
    await vscode.env.clipboard.writeText(text);
    const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    return { lines, bytes: Buffer.byteLength(text) };
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

function runChoice(r: RunEntry): JobRunChoice {
  return { id: r.id, latest: r.latest, status: r.status, ...(r.startedAt ? { startedAt: r.startedAt } : {}), ...(r.epochs !== undefined ? { length: r.epochs } : {}) };
}

/** An earlier run's record as the summary builders read a job's (its manifest read again, bounded). */
function viewedRecord(r: RunEntry): { status: RunEntry['status']; reason?: string; manifest: never; manifestPath: string } {
  let manifest: unknown = {};
  try {
    manifest = JSON.parse(readSmallFileSync(path.join(r.dir, ARTIFACT.manifest), MANIFEST_MAX_BYTES));
  } catch {
    manifest = {};
  }
  return { status: r.status, ...(r.reason ? { reason: r.reason } : {}), manifest: manifest as never, manifestPath: path.join(r.dir, ARTIFACT.manifest) };
}

/** The tab title: the job id, marked while it trains. */
function titleOf(jobId: string, state?: string): string {
  return state === 'running' || state === 'starting' || state === 'cancelling' ? `● ${jobId}` : jobId;
}
