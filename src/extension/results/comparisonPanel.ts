// The study comparison (WebviewPanel ptychoStudy.comparison, one per study folder): the dose × (method, view)
// grid of reconstructions — the PINN jobs and the Phase F iterative reconstructions — on one common object canvas (so the cells zoom and pan together pixel for pixel), the
// metrics of every job with the best values, the config keys that differ, and a metric-vs-dose chart.
// It is live: when the study changes (a job finishes, starts, fails) the host rebuilds what the page shows
// and re-sends `init` if anything changed; the page then re-reads only the cells whose files changed.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ARTIFACT, type StudyJob } from '../../core/study';
import { parseReconstructionJobId, type ReconstructionJob } from '../../core/study/reconstructJobs';
import type { CellImage, ComparisonCellInfo, ComparisonInit, ComparisonProtocol, ComparisonReference, ComparisonRow, ReconMetricsInfo } from '../../webview/protocol';
import { columnKey, differingConfigKeys, flattenConfig, gridLayout, methodDeltas, PINN, TABLE_METRICS, type GridJob, type MetricKey } from '../../webview/shared/results';
import { isReconJob, type RunManager } from '../runs';
import { representativeRun, type RepresentativeRun } from '../../core/run/runHistory';
import type { FolderStudy, StudyModel } from '../studyModel';
import { Disposable, nextEvent } from '../webview/dispose';
import { PanelSet } from '../webview/panelSet';
import { webviewHtml, webviewOptions } from '../webview/html';
import { saveCsv, savePng, WebviewHost, type PickSaveUri } from '../webview/host';
import { debounce, jobFromPage, pageLogger, RenderLog } from './common';
import { GRID_MAX_SIDE, jobRevision, loadReconArrays, readMetricsFile, readReconHeader, reconDecimation, type Limiter, type ReconHeader } from './reconData';
import type { ReconstructionPanels } from './reconPanel';
import { comparisonValidators } from './validators';

export const COMPARISON_VIEW_TYPE = 'ptychoStudy.comparison';

export interface ComparisonPageState {
  folder?: string;
}

export interface ComparisonDeps {
  extensionUri: vscode.Uri;
  model: StudyModel;
  runs?: RunManager;
  log: vscode.LogOutputChannel;
  limiter: Limiter;
  recon: ReconstructionPanels;
  pickSaveUri: () => PickSaveUri;
}

interface JobCache {
  revision: string;
  header?: ReconHeader;
  metrics?: ReconMetricsInfo;
  error?: string;
}

const METRIC_ROW_KEYS: readonly MetricKey[] = [...TABLE_METRICS, 'mse', 'frc1over7'];

export class ComparisonPanel extends Disposable {
  readonly host: WebviewHost<ComparisonProtocol>;
  readonly renders = this.register(new RenderLog());
  /** init messages sent (1 + live refreshes). */
  initsSent = 0;
  lastInit?: ComparisonInit;
  /** Cell images sent (tests check they left as ArrayBuffers). */
  readonly cellsSent: { jobId: string; bytes: number; binary: boolean }[] = [];
  private readonly cache = new Map<string, JobCache>();
  private sentRevision = '';
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;
  private readonly initEmitter = this.register(new vscode.EventEmitter<ComparisonInit>());
  /** Fires after each init was posted. */
  readonly onDidSendInit = this.initEmitter.event;

  constructor(readonly panel: vscode.WebviewPanel, readonly folderUri: string | undefined, private readonly deps: ComparisonDeps) {
    super();
    const webview = panel.webview;
    webview.options = webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'ptycho-study.svg');
    const host = (this.host = this.register(new WebviewHost<ComparisonProtocol>(webview, {
      panel: 'comparison', validators: comparisonValidators, log: deps.log, label: this.folderName(),
    })));
    host.onRequest('readCell', (p) => this.readCell(p.jobId, p.groundTruth));
    host.onRequest('openReconstruction', async (p) => {
      const { job, folder } = this.anyJobFromPage(p.jobId);
      // Either kind opens in the reconstruction viewer (a Phase F job with its probe).
      deps.recon.show(job, folder, vscode.ViewColumn.Beside);
      return { opened: true };
    });
    host.onRequest('reconstruct', async (p) => {
      const { job } = this.anyJobFromPage(p.jobId);
      if (!isReconJob(job)) throw new Error(`${job.id} is a training job: use Train`);
      const run = await vscode.commands.executeCommand('ptychoStudy.reconstruct', job.id);
      return run ? { started: true } : { started: false, message: 'The reconstruction did not start (see the message in the corner).' };
    });
    host.onRequest('train', async (p) => {
      const { job } = this.jobFromPage(p.jobId);
      const run = await vscode.commands.executeCommand('ptychoStudy.train', job.id);
      return run ? { started: true } : { started: false, message: 'Training did not start (see the message in the corner).' };
    });
    host.onRequest('exportReport', async () => {
      const study = this.study();
      const report = await vscode.commands.executeCommand<{ outDir: string; jobs: number; absent: unknown[] } | undefined>('ptychoStudy.exportStudyReport', { folder: study?.folder.uri.toString() });
      return report ? { written: true, outDir: report.outDir, jobs: report.jobs, absent: report.absent.length } : { written: false, message: 'No report written (cancelled, or see the message in the corner).' };
    });
    host.onRequest('savePng', (p) => {
      const study = this.study();
      const near = study?.layout?.artifactRoot ?? study?.folder.uri.fsPath;
      if (!near) throw new Error('the study has no folder to save next to');
      return savePng(p, vscode.Uri.file(path.join(near, 'comparison.png')), deps.pickSaveUri(), deps.log);
    });
    host.onRequest('saveCsv', (p) => {
      const study = this.study();
      const near = study?.layout?.artifactRoot ?? study?.folder.uri.fsPath;
      if (!near) throw new Error('the study has no folder to save next to');
      return saveCsv(p, vscode.Uri.file(path.join(near, 'comparison.csv')), deps.pickSaveUri(), deps.log);
    });
    host.onEvent('log', pageLogger(deps.log, 'comparison'));
    host.onEvent('rendered', (e) => {
      const rec = this.renders.add(e);
      if (e.first) deps.log.info(`Study comparison: first cells drawn ${rec.sinceOpenMs.toFixed(0)} ms after opening`);
    });
    this.register(host.onDidBecomeReady(() => void this.sendInit(true)));
    this.register(panel.onDidChangeViewState(() => {
      if (!panel.visible) host.pageGone();
    }));
    // Live: the study model refreshes on manifest / reconstruction changes (file events and polling); the
    // run manager on queue and progress changes.
    const refresh = debounce(() => void this.sendInit(false), 400);
    this.register({ dispose: () => refresh.cancel() });
    this.register(deps.model.onDidChange(refresh));
    if (deps.runs) this.register(deps.runs.onDidChange(refresh));
    this.register(panel.onDidDispose(() => this.dispose()));
    panel.title = this.multiFolder() ? vscode.l10n.t('Study comparison ({0})', this.folderName()) : vscode.l10n.t('Study comparison');
    webview.html = webviewHtml(webview, deps.extensionUri, { panel: 'comparison', title: vscode.l10n.t('Study comparison'), loadingText: vscode.l10n.t('Collecting the study\'s results…') });
  }

  private multiFolder(): boolean {
    return this.deps.model.folders.filter((s) => s.jobs.length > 0).length > 1;
  }

  private folderName(): string {
    return vscode.workspace.workspaceFolders?.find((f) => f.uri.toString() === this.folderUri)?.name ?? 'study';
  }

  study(): FolderStudy | undefined {
    return this.deps.model.folders.find((s) => s.folder.uri.toString() === this.folderUri) ?? (this.folderUri ? undefined : this.deps.model.folders.find((s) => s.jobs.length > 0));
  }

  private jobFromPage(jobId: string): { job: StudyJob; folder: vscode.WorkspaceFolder } {
    return jobFromPage(this.deps.model, jobId, this.study()?.folder);
  }

  /** A training or Phase F job the page named (it must be one of the study's jobs now). */
  private anyJobFromPage(jobId: string): { job: StudyJob | ReconstructionJob; folder: vscode.WorkspaceFolder } {
    if (!parseReconstructionJobId(jobId)) return this.jobFromPage(jobId);
    const folder = this.study()?.folder;
    const m = this.deps.model.findRecons(jobId).find((x) => !folder || x.folder.uri.toString() === folder.uri.toString());
    if (!m) throw new Error(`there is no reconstruction job ${jobId.slice(0, 80)} in this study`);
    return m;
  }

  /**
   * The Phase F jobs the comparison shows: every job of a (view, algorithm) column in which some job has run
   * (or runs in this window). A column no job of has been reconstructed is left out ("when present").
   */
  private shownRecons(study: FolderStudy | undefined): ReconstructionJob[] {
    const recons = study?.recons ?? [];
    const present = new Set(recons.filter((j) => j.run || (study && this.deps.runs?.get(study.folder, j))).map((j) => columnKey({ ...j, method: j.algorithm })));
    return recons.filter((j) => j.split === 'test' && present.has(columnKey({ ...j, method: j.algorithm })));
  }

  /** The folder of the run that stands for a job (the chosen run, else the latest if it succeeded, else the latest that did). */
  private runOf(job: StudyJob | ReconstructionJob): { dir: string; rep?: RepresentativeRun } {
    const rep = representativeRun(job.artifactDir);
    return { dir: rep?.dir ?? job.artifactDir, ...(rep ? { rep } : {}) };
  }

  private async jobCache(job: StudyJob | ReconstructionJob): Promise<JobCache> {
    const { dir } = this.runOf(job);
    const revision = jobRevision(dir);
    const hit = this.cache.get(dir);
    if (hit && hit.revision === revision) return hit;
    const entry: JobCache = { revision };
    try {
      if (fs.existsSync(path.join(dir, ARTIFACT.reconstruction))) entry.header = await readReconHeader(dir);
      const m = await readMetricsFile(dir);
      if (m && 'metrics' in m) entry.metrics = m.metrics;
      if (m && 'error' in m) entry.error = m.error;
    } catch (err) {
      entry.error = (err as Error).message;
    }
    this.cache.set(dir, entry);
    return entry;
  }

  async buildInit(): Promise<ComparisonInit> {
    const study = this.study();
    const jobs: (StudyJob | ReconstructionJob)[] = [...(study?.jobs ?? []), ...this.shownRecons(study)];
    const caches = new Map<string, JobCache>();
    for (const j of jobs) caches.set(j.id, await this.jobCache(j));
    const live = (j: StudyJob | ReconstructionJob) => (study ? this.deps.runs?.get(study.folder, j) : undefined);
    // An earlier run standing for a job whose latest did not succeed (or one the user chose).
    const standIn = new Map<string, RepresentativeRun>();
    for (const j of jobs) {
      const rep = this.runOf(j).rep;
      if (rep && rep.why !== 'latest') standIn.set(j.id, rep);
    }
    const methodOf = (j: StudyJob | ReconstructionJob): string => (isReconJob(j) ? j.algorithm : PINN);
    const gridJobs: GridJob[] = jobs.map((j) => {
      const run = live(j);
      const p = run?.progress;
      const it = run?.iteration;
      const state = run && run.state === 'queued' ? 'queued' : run ? 'running' : j.state;
      return {
        id: j.id, dose: j.dose, view: j.view, gridsize: j.gridsize, method: methodOf(j), state, ...(j.reason ? { reason: j.reason } : {}),
        // Only a finished run's files: the latest when it succeeded, or the earlier run that stands for the job.
        hasReconstruction: !!caches.get(j.id)?.header && (state === 'succeeded' || (standIn.has(j.id) && !standIn.get(j.id)!.latest)),
        ...(p ? { progress: `epoch ${p.epoch}/${p.epochs}, step ${p.stepInEpoch}/${p.stepsPerEpoch}` } : {}),
        ...(it ? { progress: `iteration ${it.iteration}/${it.iterations}` } : {}),
        ...(run?.halves ? { progress: `half set ${run.halves.half}/2, iteration ${run.halves.iteration}/${run.halves.iterations}` } : {}),
      };
    });
    const layout = gridLayout(gridJobs);
    // The common canvas: the union of every reconstruction's object region, decimated as one.
    const regions = jobs.map((j) => caches.get(j.id)?.header).filter((h): h is ReconHeader => !!h);
    let canvas: ComparisonInit['canvas'];
    if (regions.length > 0) {
      const x0 = Math.min(...regions.map((r) => r.origin[0]));
      const y0 = Math.min(...regions.map((r) => r.origin[1]));
      const x1 = Math.max(...regions.map((r) => r.origin[0] + r.width));
      const y1 = Math.max(...regions.map((r) => r.origin[1] + r.height));
      const d = reconDecimation(x1 - x0, y1 - y0, GRID_MAX_SIDE);
      canvas = { x0, y0, width: x1 - x0, height: y1 - y0, factor: d.factor };
    }
    const cells: ComparisonCellInfo[] = layout.rows.flat().map((c) => {
      const h = c.job ? caches.get(c.job.id)?.header : undefined;
      return {
        dose: c.dose, column: c.column, ...(c.job ? { jobId: c.job.id } : {}), ...(c.empty ? { empty: c.empty } : {}),
        ...(h && !c.empty ? { region: { x0: h.origin[0], y0: h.origin[1], width: h.width, height: h.height }, hasGroundTruth: h.hasGroundTruth, revision: caches.get(c.job!.id)!.revision } : {}),
      };
    });
    const pick = (m: ReconMetricsInfo['trained'] | undefined, comp: 'amplitude' | 'phase'): Partial<Record<MetricKey, number | null>> =>
      Object.fromEntries(METRIC_ROW_KEYS.map((k) => [k, m ? (m[comp][k] as number | null) : null]));
    const rows: ComparisonRow[] = jobs.map((j, i) => {
      const c = caches.get(j.id)!;
      const result = j.run?.manifest?.result as { epochs?: unknown; finalLoss?: unknown } | undefined;
      const metrics = c.header ? c.metrics?.trained : undefined;
      return {
        jobId: j.id, dose: j.dose, view: j.view, gridsize: j.gridsize, method: gridJobs[i].method!, column: columnKey(gridJobs[i]),
        state: gridJobs[i].state, ...(j.reason ? { reason: j.reason } : {}),
        epochs: typeof result?.epochs === 'number' ? result.epochs : null,
        finalLoss: typeof result?.finalLoss === 'number' && Number.isFinite(result.finalLoss) ? result.finalLoss : null,
        hasReconstruction: gridJobs[i].hasReconstruction,
        amplitude: pick(metrics, 'amplitude'), phase: pick(metrics, 'phase'),
        ...(c.header && c.metrics?.evaluation ? { evaluation: c.metrics.evaluation } : {}), revision: c.revision,
        ...(standIn.has(j.id) ? { run: { id: standIn.get(j.id)!.id, why: standIn.get(j.id)!.why as 'chosen' | 'latest-succeeded', ...(standIn.get(j.id)!.latestStatus ? { latestStatus: standIn.get(j.id)!.latestStatus } : {}) } } : {}),
      };
    });
    // The flat predictor of each dose: the same for every job scored on the dose's common evaluation.
    const references: ComparisonReference[] = [];
    for (const dose of layout.doses) {
      const scored = jobs.filter((j, i) => j.dose === dose && gridJobs[i].hasReconstruction && caches.get(j.id)?.metrics?.flat);
      const common = scored.find((j) => caches.get(j.id)!.metrics!.evaluation?.source === 'phase-c-test') ?? scored[0];
      if (!common) continue;
      const m = caches.get(common.id)!.metrics!;
      const ev = m.evaluation;
      references.push({
        dose, label: 'flat predictor',
        description: `constant amplitude = mean of the ground truth, zero phase; scored on ${ev ? `${path.basename(ev.dataset)}${ev.region ? `, region ${ev.region.width}×${ev.region.height} at (${ev.region.x0}, ${ev.region.y0})` : ''}` : 'the evaluation set'}${ev?.source === 'phase-c-test' ? '' : ` (from ${common.id}'s own split)`}`,
        amplitude: pick(m.flat!, 'amplitude'), phase: pick(m.flat!, 'phase'),
      });
    }
    // A refined PINN job's network alone (README item 45): its predictions stitched the same way, unrefined.
    jobs.forEach((j, i) => {
      const m = caches.get(j.id)?.metrics;
      if (isReconJob(j) || !gridJobs[i].hasReconstruction || !m?.networkAlone) return;
      references.push({
        dose: j.dose, kind: 'network-alone', jobId: j.id, label: `${j.view} (gs${j.gridsize}) · network alone`,
        description: `${j.id}: the trained network's predictions stitched with the same groups, weightings and region, without the group refinement (${m.groupRefinement ?? '?'} iterations) behind its headline row`,
        amplitude: pick(m.networkAlone, 'amplitude'), phase: pick(m.networkAlone, 'phase'),
      });
    });
    // By dose, the flat predictor first (a stable sort keeps the jobs' order).
    references.sort((a, b) => a.dose - b.dose || Number(a.kind === 'network-alone') - Number(b.kind === 'network-alone'));
    // The training jobs' configurations (a Phase F job's settings are another kind: every key would differ).
    const trained = (study?.jobs ?? []).filter((j, i) => gridJobs[i].hasReconstruction && j.run?.manifest?.config);
    const diff = differingConfigKeys(trained.map((j) => ({
      jobId: j.id,
      config: {
        ...flattenConfig(j.run!.manifest.config),
        ...(j.run!.manifest.runtime?.executionProviderUsed ? { 'runtime.executionProviderUsed': j.run!.manifest.runtime.executionProviderUsed } : {}),
      },
    })));
    return {
      title: 'Study comparison', folder: study?.folder.name ?? '(no study)',
      doses: layout.doses, columns: layout.columns, cells, rows, references, deltas: methodDeltas(rows.filter((r) => r.hasReconstruction)),
      config: { jobs: diff.jobs, keys: diff.keys.map((k) => ({ key: k.key, values: k.values.map((v) => (v === undefined ? null : v)) })), identical: diff.identical, omitted: diff.omitted },
      ...(canvas ? { canvas } : {}), maxSide: GRID_MAX_SIDE, revision: '', updatedAt: new Date().toISOString(),
    };
  }

  /** Sends `init` when the page is new (`force`) or anything it shows changed. */
  private async sendInit(force: boolean): Promise<void> {
    if (!this.host.ready && !force) return;
    try {
      const init = await this.buildInit();
      const { updatedAt: _u, revision: _r, ...content } = init;
      const revision = JSON.stringify(content);
      if (!force && revision === this.sentRevision) return;
      this.sentRevision = revision;
      init.revision = String(hashString(revision));
      this.lastInit = init;
      this.initsSent++;
      await this.host.sendEvent('init', init);
      this.initEmitter.fire(init);
    } catch (err) {
      this.deps.log.error(`Study comparison: ${(err as Error).stack ?? err}`);
    }
  }

  private async readCell(jobId: string, groundTruth: boolean): Promise<CellImage> {
    const { job } = this.anyJobFromPage(jobId);
    const canvas = this.lastInit?.canvas;
    const cache = await this.jobCache(job);
    if (!cache.header || !canvas) throw new Error(`${job.id} has no reconstruction to show`);
    const dir = this.runOf(job).dir;
    const r = await this.deps.limiter.run(() => loadReconArrays(dir, { factor: canvas.factor, gridAnchor: [canvas.x0, canvas.y0], groundTruth }));
    const object = r.object.buffer as ArrayBuffer;
    const weight = r.weight.buffer as ArrayBuffer;
    const gt = r.groundTruth?.buffer as ArrayBuffer | undefined;
    this.cellsSent.push({ jobId: job.id, bytes: object.byteLength + weight.byteLength + (gt?.byteLength ?? 0), binary: object instanceof ArrayBuffer });
    if (this.cellsSent.length > 100) this.cellsSent.splice(0, this.cellsSent.length - 100);
    return {
      jobId: job.id, revision: cache.revision, x0: r.gridOrigin[0], y0: r.gridOrigin[1], width: r.width, height: r.height, factor: r.factor,
      object, weight, ...(gt ? { groundTruth: gt } : {}), globalPhaseOffset: cache.metrics?.globalPhaseOffset ?? null, readMs: r.readMs,
    };
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The open comparison panels (one per study folder); opens, reveals and restores them. */
export class ComparisonPanels extends PanelSet<ComparisonPanel> implements vscode.WebviewPanelSerializer<ComparisonPageState> {

  constructor(private readonly deps: Omit<ComparisonDeps, 'pickSaveUri'>) {
    super();
  }

  show(folder: vscode.WorkspaceFolder | undefined): ComparisonPanel {
    const key = folder?.uri.toString() ?? '';
    const existing = this.panels.get(key);
    if (existing) {
      existing.renders.openedAt = performance.now();
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(COMPARISON_VIEW_TYPE, vscode.l10n.t('Study comparison'), vscode.ViewColumn.Active, {
      // The page keeps its view settings in getState/setState and re-reads the cells when shown again.
      retainContextWhenHidden: false, enableFindWidget: false,
      ...webviewOptions(this.deps.extensionUri),
    });
    return this.adopt(panel, folder?.uri.toString());
  }

  private adopt(panel: vscode.WebviewPanel, folderUri: string | undefined): ComparisonPanel {
    return this.track(folderUri ?? '', new ComparisonPanel(panel, folderUri, { ...this.deps, pickSaveUri: () => this.pickSaveUri }));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: ComparisonPageState | undefined): Promise<void> {
    await this.deps.model.whenIdle();
    if (this.deps.model.refreshCount === 0) await this.deps.model.refresh();
    const folder = typeof state?.folder === 'string' ? state.folder : undefined;
    this.adopt(panel, folder && vscode.workspace.workspaceFolders?.some((f) => f.uri.toString() === folder) ? folder : undefined);
  }

  async whenReady(timeoutMs = 30_000): Promise<ComparisonPanel> {
    const p = this.all()[0] ?? await nextEvent(this.onDidCreate, () => true, timeoutMs, 'no study comparison');
    await p.host.whenReady();
    return p;
  }

}
