// The reconstruction viewer: one WebviewPanel (viewType ptychoStudy.reconstruction) per job, revealed when
// open, restored after a reload by a panel serializer (the page keeps its job id in getState). The page
// gets the job's summary and metrics in `init`, then asks for the arrays (object, ground truth, weight) as
// ArrayBuffers; the host reads them asynchronously in row chunks, block-mean decimated above
// RECON_MAX_SIDE per side, at most two objects at a time. A job without reconstruction.npz gets a message
// and a Train button. The panel follows the job: a retrain (new files) re-sends `init`. Phase F jobs open here
// too (same reconstruction.npz contract): the summary names the algorithm, the button reconstructs, and the
// reconstruction's final probe is drawn beside the metrics.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ARTIFACT, type StudyJob } from '../../core/study';
import { parseReconstructionJobId, type ReconstructionJob } from '../../core/study/reconstructJobs';
import type { ReconGroundTruth, ReconImages, ReconInit, ReconstructionProtocol, ResultArtifact } from '../../webview/protocol';
import type { StudyModel } from '../studyModel';
import { Disposable, nextEvent } from '../webview/dispose';
import { PanelSet } from '../webview/panelSet';
import { webviewHtml, webviewOptions } from '../webview/html';
import { saveCsv, savePng, WebviewHost, type PickSaveUri } from '../webview/host';
import { debounce, jobFromPage, jobSummary, pageLogger, reconJobSummary, RenderLog } from './common';
import { jobRevision, Limiter, loadReconArrays, readMetricsFile, readReconHeader, reconDecimation, RECON_MAX_SIDE } from './reconData';
import { reconstructionValidators } from './validators';

export const RECONSTRUCTION_VIEW_TYPE = 'ptychoStudy.reconstruction';

/** A training job or a Phase F job: both write reconstruction.npz and metrics.json with the same contract. */
export type ViewedJob = StudyJob | ReconstructionJob;
const isRecon = (j: ViewedJob): j is ReconstructionJob => 'kind' in j && j.kind === 'reconstruct';

/** What the page keeps with setState (the serializer reads `jobId` and `folder` back). */
export interface ReconPageState {
  jobId?: string;
  folder?: string;
}

export interface ResultDeps {
  extensionUri: vscode.Uri;
  model: StudyModel;
  log: vscode.LogOutputChannel;
  /** Where Export PNG saves; tests replace it. */
  pickSaveUri: () => PickSaveUri;
  /** Decoding big objects is CPU work on the extension host: a few at a time. */
  limiter: Limiter;
}

export class ReconstructionPanel extends Disposable {
  readonly host: WebviewHost<ReconstructionProtocol>;
  readonly renders = this.register(new RenderLog());
  /** What was last sent for the images (tests check sizes and that the arrays left as ArrayBuffers). */
  lastImages?: { width: number; height: number; factor: number; bytes: number; binary: boolean; readMs: number };
  /** readGroundTruth requests answered (tests). */
  groundTruthsSent = 0;
  private revision = '';
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;

  constructor(readonly panel: vscode.WebviewPanel, readonly jobId: string, readonly folderUri: string | undefined, private readonly deps: ResultDeps) {
    super();
    const webview = panel.webview;
    // Data come through messages: no local resources besides the extension's own media and dist.
    webview.options = webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'ptycho-study.svg');
    const host = (this.host = this.register(new WebviewHost<ReconstructionProtocol>(webview, {
      panel: 'reconstruction', validators: reconstructionValidators, log: deps.log, label: jobId,
    })));
    host.onRequest('readImages', (p) => this.readImages(p.jobId, p.groundTruth !== false));
    host.onRequest('readGroundTruth', (p) => this.readGroundTruth(p.jobId));
    host.onRequest('train', async (p) => {
      const { job } = this.ownJob(p.jobId);
      const recon = isRecon(job);
      const run = await vscode.commands.executeCommand(recon ? 'ptychoStudy.reconstruct' : 'ptychoStudy.train', job.id);
      return run ? { started: true } : { started: false, message: `${recon ? 'The reconstruction' : 'Training'} did not start (see the message in the corner).` };
    });
    host.onRequest('openArtifact', (p) => this.openArtifact(p.jobId, p.artifact));
    host.onRequest('previewHere', async (p) => {
      const { job } = this.ownJob(p.jobId);
      if (isRecon(job)) throw new Error(`${job.id} is an iterative reconstruction: previews are a training run's`);
      // The workspace folder's setting (what a run from the tree and from the CLI with the same settings use).
      const folder = deps.model.folderOf(job);
      const target = folder ? vscode.ConfigurationTarget.WorkspaceFolder : vscode.ConfigurationTarget.Workspace;
      await vscode.workspace.getConfiguration('ptychoStudy', folder?.uri).update('training.previewCenter', [p.x, p.y], target);
      deps.log.info(`Training previews will be centred at object (${p.x}, ${p.y}) (ptychoStudy.training.previewCenter), from ${job.id}'s reconstruction viewer.`);
      void vscode.window.showInformationMessage(vscode.l10n.t('The next training runs score and preview the window centred at object ({0}, {1}) after each epoch.', p.x, p.y));
      return { x: p.x, y: p.y };
    });
    host.onRequest('savePng', (p) => {
      const job = this.job();
      if (!job) throw new Error(`${jobId} is not a job of this study any more`);
      // The save dialog suggests the job folder.
      return savePng(p, vscode.Uri.file(path.join(job.artifactDir, ARTIFACT.reconstruction)), deps.pickSaveUri(), deps.log);
    });
    host.onRequest('saveCsv', (p) => {
      const job = this.job();
      if (!job) throw new Error(`${jobId} is not a job of this study any more`);
      return saveCsv(p, vscode.Uri.file(path.join(job.artifactDir, ARTIFACT.reconstruction)), deps.pickSaveUri(), deps.log);
    });
    host.onEvent('log', pageLogger(deps.log, 'reconstruction'));
    host.onEvent('rendered', (e) => {
      const rec = this.renders.add(e);
      if (e.first) {
        deps.log.info(`Reconstruction ${jobId}: first pixels ${rec.sinceOpenMs.toFixed(0)} ms after opening (page: data ${e.requestMs.toFixed(1)} ms, draw ${e.drawMs.toFixed(1)} ms)`);
      }
    });
    this.register(host.onDidBecomeReady(() => void this.sendInit()));
    // Without retainContextWhenHidden the page is destroyed when hidden and rebuilt from getState when shown.
    this.register(panel.onDidChangeViewState(() => {
      if (!panel.visible) host.pageGone();
    }));
    const refresh = debounce(() => void this.refreshIfChanged(), 300);
    this.register({ dispose: () => refresh.cancel() });
    this.register(deps.model.onDidChange(refresh));
    this.register(panel.onDidDispose(() => this.dispose()));
    panel.title = vscode.l10n.t('Reconstruction {0}', jobId);
    webview.html = webviewHtml(webview, deps.extensionUri, { panel: 'reconstruction', title: vscode.l10n.t('Reconstruction {0}', jobId), loadingText: vscode.l10n.t('Opening the reconstruction of {0}…', jobId) });
  }

  /** The panel's job as the study has it now (undefined when it is gone). */
  job(): ViewedJob | undefined {
    const inFolder = (m: { folder: vscode.WorkspaceFolder }): boolean => !this.folderUri || m.folder.uri.toString() === this.folderUri;
    if (parseReconstructionJobId(this.jobId)) return this.deps.model.findRecons(this.jobId).filter(inFolder)[0]?.job;
    return this.deps.model.findJobs(this.jobId).filter(inFolder)[0]?.job;
  }

  /** A job id from the page: a real job, and this panel's. */
  private ownJob(jobId: string): { job: ViewedJob } {
    if (jobId !== this.jobId) {
      // Still say what is wrong with an id that is not even a job's.
      if (!parseReconstructionJobId(jobId)) jobFromPage(this.deps.model, jobId);
      throw new Error(`this panel shows ${this.jobId}, not ${jobId}`);
    }
    const job = this.job();
    if (!job) throw new Error(`there is no job ${jobId.slice(0, 80)} in this study`);
    return { job };
  }

  private async refreshIfChanged(): Promise<void> {
    const job = this.job();
    const rev = `${job?.state ?? 'gone'}#${job ? jobRevision(job.artifactDir) : ''}`;
    if (rev !== this.revision && this.host.ready) await this.sendInit();
  }

  async buildInit(): Promise<ReconInit> {
    const job = this.job();
    if (!job) {
      this.revision = 'gone#';
      return {
        job: { jobId: this.jobId, dose: 0, view: '', gridsize: 0, state: 'missing', folder: '' },
        available: false, revision: this.revision,
        unavailable: { title: `${this.jobId} is not a job of this study`, message: 'The study no longer has this job (its data were moved, or the window opened another folder).', canTrain: false },
      };
    }
    const revision = jobRevision(job.artifactDir);
    this.revision = `${job.state}#${revision}`;
    const summary = isRecon(job) ? reconJobSummary(job) : jobSummary(job);
    const file = path.join(job.artifactDir, ARTIFACT.reconstruction);
    const base = { job: summary, revision: this.revision };
    if (!fs.existsSync(file)) {
      return { ...base, available: false, unavailable: unavailableText(job) };
    }
    try {
      const header = (await readReconHeader(job.artifactDir))!;
      const d = reconDecimation(header.width, header.height, RECON_MAX_SIDE);
      const metrics = await readMetricsFile(job.artifactDir);
      return {
        ...base, available: true,
        image: { width: d.width, height: d.height, sourceWidth: header.width, sourceHeight: header.height, factor: d.factor, origin: header.origin, hasGroundTruth: header.hasGroundTruth, maxSide: RECON_MAX_SIDE },
        ...(metrics && 'metrics' in metrics ? { metrics: metrics.metrics } : {}),
        ...(metrics && 'error' in metrics ? { metricsError: metrics.error } : {}),
      };
    } catch (err) {
      return { ...base, available: false, unavailable: { title: `The reconstruction of ${job.id} cannot be read`, message: (err as Error).message, canTrain: job.state !== 'running' } };
    }
  }

  private async sendInit(): Promise<void> {
    try {
      await this.host.sendEvent('init', await this.buildInit());
    } catch (err) {
      this.deps.log.error(`Reconstruction ${this.jobId}: ${(err as Error).stack ?? err}`);
    }
  }

  private async readImages(jobId: string, withGroundTruth: boolean): Promise<ReconImages> {
    const { job } = this.ownJob(jobId);
    const r = await this.deps.limiter.run(() => loadReconArrays(job.artifactDir, { maxSide: RECON_MAX_SIDE, groundTruth: withGroundTruth }));
    const object = r.object.buffer as ArrayBuffer;
    const weight = r.weight.buffer as ArrayBuffer;
    const groundTruth = r.groundTruth?.buffer as ArrayBuffer | undefined;
    this.lastImages = {
      width: r.width, height: r.height, factor: r.factor, readMs: r.readMs,
      bytes: object.byteLength + weight.byteLength + (groundTruth?.byteLength ?? 0),
      binary: object instanceof ArrayBuffer && weight instanceof ArrayBuffer,
    };
    return {
      jobId: job.id, revision: this.revision, width: r.width, height: r.height, sourceWidth: r.sourceWidth, sourceHeight: r.sourceHeight,
      factor: r.factor, origin: r.origin, hasGroundTruth: r.hasGroundTruth, maxSide: RECON_MAX_SIDE,
      object, weight, ...(groundTruth ? { groundTruth } : {}),
      ...(r.probe && r.probeSize ? { probe: r.probe.buffer as ArrayBuffer, probeSize: r.probeSize } : {}), readMs: r.readMs,
    };
  }

  private async readGroundTruth(jobId: string): Promise<ReconGroundTruth> {
    const { job } = this.ownJob(jobId);
    const r = await this.deps.limiter.run(() => loadReconArrays(job.artifactDir, { maxSide: RECON_MAX_SIDE, groundTruth: 'only' }));
    if (!r.groundTruth) throw new Error(`${job.id}: reconstruction.npz has no ground_truth (the dataset had no objectGuess)`);
    this.groundTruthsSent++;
    return { jobId: job.id, revision: this.revision, width: r.width, height: r.height, factor: r.factor, groundTruth: r.groundTruth.buffer as ArrayBuffer, readMs: r.readMs };
  }

  private async openArtifact(jobId: string, artifact: ResultArtifact): Promise<{ opened: boolean }> {
    const { job } = this.ownJob(jobId);
    if (artifact === 'folder') {
      await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(job.artifactDir));
      return { opened: true };
    }
    const name = artifact === 'metrics' ? ARTIFACT.metrics : artifact === 'manifest' ? ARTIFACT.manifest : isRecon(job) ? path.basename(job.logPath) : ARTIFACT.trainLog;
    const file = path.join(job.artifactDir, name);
    if (!fs.existsSync(file)) throw new Error(`${job.id} has no ${name}`);
    await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true, viewColumn: vscode.ViewColumn.Beside });
    return { opened: true };
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

function unavailableText(job: ViewedJob): { title: string; message: string; canTrain: boolean } {
  const trainable = job.state !== 'missing' && job.state !== 'invalid' && job.state !== 'running';
  if (isRecon(job)) {
    const whyRecon: Record<string, string> = {
      ready: 'This Phase F job has not been reconstructed yet.',
      running: 'This job is reconstructing now; the result appears here when it finishes.',
      failed: `The reconstruction failed${job.reason ? `: ${job.reason}` : '.'}`,
      cancelled: `The reconstruction was cancelled${job.reason ? `: ${job.reason}` : '.'} Resume or reconstruct it again.`,
    };
    return {
      title: `No reconstruction for ${job.id} yet`,
      message: `${whyRecon[job.state] ?? `State: ${job.state}.`} Expected ${vscode.workspace.asRelativePath(path.join(job.artifactDir, ARTIFACT.reconstruction), false)}.`,
      canTrain: trainable,
    };
  }
  const why: Record<string, string> = {
    ready: 'This job has not been trained yet.',
    'dry-run': 'This job has only been dry-run: it has a plan but no trained model yet.',
    running: 'This job is training now; the reconstruction appears here when it finishes.',
    failed: `Training failed${job.reason ? `: ${job.reason}` : '.'}`,
    cancelled: `Training was cancelled${job.reason ? `: ${job.reason}` : '.'} Resume or retrain it to get a reconstruction.`,
    missing: `The job's data are missing${job.reason ? `: ${job.reason}` : '.'}`,
    invalid: `The job's data are invalid${job.reason ? `: ${job.reason}` : '.'}`,
    succeeded: 'The run finished but wrote no reconstruction.npz.',
  };
  return {
    title: `No reconstruction for ${job.id} yet`,
    message: `${why[job.state] ?? `State: ${job.state}.`} Expected ${vscode.workspace.asRelativePath(path.join(job.artifactDir, ARTIFACT.reconstruction), false)}.`,
    canTrain: trainable,
  };
}

/** Every open reconstruction viewer; opens, reveals and restores them. */
export class ReconstructionPanels extends PanelSet<ReconstructionPanel> implements vscode.WebviewPanelSerializer<ReconPageState> {

  constructor(private readonly deps: Omit<ResultDeps, 'pickSaveUri'>) {
    super();
  }

  private key(jobId: string, folderUri?: string): string {
    return `${folderUri ?? ''}::${jobId}`;
  }

  get(jobId: string): ReconstructionPanel | undefined {
    return this.all().find((p) => p.jobId === jobId);
  }

  /** Opens the viewer of `job` (reveals it when open). */
  show(job: ViewedJob, folder: vscode.WorkspaceFolder | undefined, column = vscode.ViewColumn.Active): ReconstructionPanel {
    const existing = this.panels.get(this.key(job.id, folder?.uri.toString()));
    if (existing) {
      existing.renders.openedAt = performance.now();
      existing.panel.reveal(column);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(RECONSTRUCTION_VIEW_TYPE, vscode.l10n.t('Reconstruction {0}', job.id), column, {
      // The page keeps its view in getState/setState, so it may be destroyed while hidden.
      retainContextWhenHidden: false, enableFindWidget: false,
      ...webviewOptions(this.deps.extensionUri),
    });
    return this.adopt(panel, job.id, folder?.uri.toString());
  }

  private adopt(panel: vscode.WebviewPanel, jobId: string, folderUri: string | undefined): ReconstructionPanel {
    return this.track(this.key(jobId, folderUri), new ReconstructionPanel(panel, jobId, folderUri, { ...this.deps, pickSaveUri: () => this.pickSaveUri }));
  }

  /** After a reload: the page's saved job id (only its shape is trusted; the panel checks the job). */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ReconPageState | undefined): Promise<void> {
    const jobId = typeof state?.jobId === 'string' && state.jobId.length < 200 ? state.jobId : undefined;
    if (!jobId) {
      panel.dispose();
      return;
    }
    await this.deps.model.whenIdle();
    if (this.deps.model.refreshCount === 0) await this.deps.model.refresh();
    const folderUri = typeof state?.folder === 'string' ? state.folder : undefined;
    this.adopt(panel, jobId, folderUri);
  }

  /** The viewer of `jobId` once its page is ready (tests). */
  async whenReady(jobId: string, timeoutMs = 30_000): Promise<ReconstructionPanel> {
    const p = this.get(jobId) ?? await nextEvent(this.onDidCreate, (x) => x.jobId === jobId, timeoutMs, `no reconstruction viewer of ${jobId}`);
    await p.host.whenReady();
    return p;
  }

}
