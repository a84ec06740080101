// Compare Runs (WebviewPanel ptychoStudy.runCompare): two or more runs — of one job (its history) or of different
// jobs, multi-selected in the Jobs tree — side by side: the settings that differ, the metrics with the better value
// marked, the loss (or relative-error) curves overlaid, and the reconstructions on one colour scale. The host builds
// the comparison with core/run/compareRuns from folders it resolves itself (the page names runs only by key) and
// re-sends it when the study changes (a compared run still training finishes).
import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareRuns, type RunComparison, type RunRef } from '../../core/run/compareRuns';
import type { ComparedRunInfo, RunCompareInit, RunCompareProtocol, RunImage } from '../../webview/runCompare/protocol';
import type { StudyModel } from '../studyModel';
import { Disposable, nextEvent } from '../webview/dispose';
import { PanelSet } from '../webview/panelSet';
import { webviewHtml, webviewOptions } from '../webview/html';
import { saveCsv, savePng, WebviewHost, type PickSaveUri } from '../webview/host';
import { debounce, pageLogger } from './common';
import { jobRevision, loadReconArrays, readMetricsFile, type Limiter } from './reconData';
import { runCompareValidators } from './validators';

export const RUN_COMPARE_VIEW_TYPE = 'ptychoStudy.runCompare';
/** A compared reconstruction is at most this many pixels per side (several sit side by side). */
const IMAGE_MAX_SIDE = 384;

/** A run as the panel (and its saved state) names it: the job, its workspace folder, and the run (undefined: latest). */
export interface RunSelection {
  jobId: string;
  folder?: string;
  runId?: string;
}

export interface RunComparePageState {
  runs?: RunSelection[];
}


export interface RunCompareDeps {
  extensionUri: vscode.Uri;
  model: StudyModel;
  log: vscode.LogOutputChannel;
  limiter: Limiter;
  pickSaveUri: () => PickSaveUri;
}

const f64 = (values: readonly (number | null)[]): ArrayBuffer => Float64Array.from(values, (v) => (v === null ? NaN : v)).buffer;

export class RunComparePanel extends Disposable {
  readonly host: WebviewHost<RunCompareProtocol>;
  lastInit?: RunCompareInit;
  private comparison?: RunComparison;
  private revision = 0;
  private sentSignature = '';
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;
  private readonly initEmitter = this.register(new vscode.EventEmitter<RunCompareInit>());
  /** Fires after each init was posted (tests). */
  readonly onDidSendInit = this.initEmitter.event;

  constructor(readonly panel: vscode.WebviewPanel, readonly selection: readonly RunSelection[], private readonly deps: RunCompareDeps) {
    super();
    const webview = panel.webview;
    webview.options = webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'ptycho-study.svg');
    const host = (this.host = this.register(new WebviewHost<RunCompareProtocol>(webview, {
      panel: 'runCompare', validators: runCompareValidators, log: deps.log, label: 'Compare Runs',
    })));
    host.onRequest('readImage', (p) => this.readImage(p.key));
    host.onRequest('open', async (p) => {
      const run = this.runOf(p.key);
      const folder = this.selection.find((s) => s.jobId === run.jobId)?.folder;
      if (p.what === 'jobPanel') await vscode.commands.executeCommand('ptychoStudy.openLog', { jobId: run.jobId, ...(folder ? { folder } : {}) });
      else await vscode.commands.executeCommand('ptychoStudy.showManifest', { jobId: run.jobId, ...(folder ? { folder } : {}), ...(run.latest ? {} : { runId: run.runId }) });
      return { opened: true };
    });
    host.onRequest('savePng', (p) => {
      const first = this.comparison?.runs[0];
      if (!first) throw new Error('nothing compared yet');
      const near = first.latest ? first.dir : path.dirname(path.dirname(first.dir));
      return savePng(p, vscode.Uri.file(path.join(near, 'run-comparison.png')), deps.pickSaveUri(), deps.log);
    });
    host.onRequest('saveCsv', (p) => {
      const first = this.comparison?.runs[0];
      if (!first) throw new Error('nothing compared yet');
      const near = first.latest ? first.dir : path.dirname(path.dirname(first.dir));
      return saveCsv(p, vscode.Uri.file(path.join(near, 'run-comparison.csv')), deps.pickSaveUri(), deps.log);
    });
    host.onEvent('log', pageLogger(deps.log, 'run comparison'));
    host.onEvent('rendered', () => undefined);
    this.register(host.onDidBecomeReady(() => {
      this.sentSignature = ''; // a new page: everything again
      void this.sendInit();
    }));
    this.register(panel.onDidChangeViewState(() => {
      if (!panel.visible) host.pageGone();
    }));
    const refresh = debounce(() => void this.sendInit(), 500);
    this.register({ dispose: () => refresh.cancel() });
    this.register(deps.model.onDidChange(refresh));
    this.register(panel.onDidDispose(() => this.dispose()));
    panel.title = titleOf(selection);
    webview.html = webviewHtml(webview, deps.extensionUri, { panel: 'runCompare', title: vscode.l10n.t('Compare Runs'), loadingText: vscode.l10n.t('Reading the runs…') });
  }

  /** The runs' folders, resolved from the study as it is now (a job that left the study is an error in the page). */
  refs(): RunRef[] {
    return this.selection.map((s) => {
      const train = this.deps.model.findJobs(s.jobId);
      const recon = this.deps.model.findRecons(s.jobId);
      const all = [...train.map((m) => ({ dir: m.job.artifactDir, folder: m.folder })), ...recon.map((m) => ({ dir: m.job.artifactDir, folder: m.folder }))];
      const hit = all.find((m) => !s.folder || m.folder.uri.fsPath === s.folder || m.folder.name === s.folder) ?? all[0];
      if (!hit) throw new Error(`there is no job ${s.jobId} in this workspace`);
      return { jobId: s.jobId, jobDir: hit.dir, ...(s.runId ? { runId: s.runId } : {}) };
    });
  }

  private async sendInit(): Promise<void> {
    if (this.isDisposed || !this.host.ready) return;
    let init: RunCompareInit;
    try {
      const cmp = (this.comparison = await compareRuns(this.refs()));
      init = {
        runs: cmp.runs.map((r): ComparedRunInfo => ({
          key: r.key, jobId: r.jobId, runId: r.runId, latest: r.latest, kind: r.kind, status: r.status,
          ...(r.reason ? { reason: r.reason } : {}), ...(r.startedAt ? { startedAt: r.startedAt } : {}),
          ...(r.length !== undefined ? { length: r.length } : {}), ...(r.seconds !== undefined ? { seconds: r.seconds } : {}),
          hasReconstruction: r.hasReconstruction, revision: jobRevision(r.dir),
        })),
        curves: cmp.runs.map((r) => ({ key: r.key, xLabel: r.curve.xLabel, yLabel: r.curve.yLabel, x: f64(r.curve.x), y: f64(r.curve.y), val: f64(r.curve.val) })),
        settings: cmp.settings, metrics: cmp.metrics, notes: cmp.notes, revision: ++this.revision, selection: [...this.selection],
      };
    } catch (err) {
      init = { runs: [], curves: [], settings: [], metrics: [], notes: [`The runs cannot be compared: ${(err as Error).message}`], revision: ++this.revision, selection: [...this.selection] };
    }
    // Only what changed goes to the page (the study model fires on every manifest write anywhere in the study).
    const { revision: _r, ...content } = init;
    const signature = JSON.stringify(content, (_k, v) => (v instanceof ArrayBuffer ? Array.from(new Float64Array(v)) : v));
    if (signature === this.sentSignature && this.lastInit) return;
    this.sentSignature = signature;
    this.lastInit = init;
    await this.host.sendEvent('init', init);
    this.initEmitter.fire(init);
  }

  private runOf(key: string): NonNullable<RunComparison['runs']>[number] {
    const run = this.comparison?.runs.find((r) => r.key === key);
    if (!run) throw new Error(`"${key.slice(0, 100)}" is not a run of this comparison`);
    return run;
  }

  private async readImage(key: string): Promise<RunImage> {
    const run = this.runOf(key);
    if (!run.hasReconstruction) throw new Error(`${key} has no reconstruction.npz (${run.status})`);
    const arrays = await this.deps.limiter.run(() => loadReconArrays(run.dir, { maxSide: IMAGE_MAX_SIDE, groundTruth: false }));
    const metrics = await readMetricsFile(run.dir);
    return {
      key, width: arrays.width, height: arrays.height, factor: arrays.factor,
      object: arrays.object.buffer as ArrayBuffer, weight: arrays.weight.buffer as ArrayBuffer,
      globalPhaseOffset: metrics && 'metrics' in metrics ? metrics.metrics.globalPhaseOffset : null,
    };
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

function titleOf(selection: readonly RunSelection[]): string {
  const jobs = [...new Set(selection.map((s) => s.jobId))];
  return jobs.length === 1 ? vscode.l10n.t('Compare Runs: {0} ({1})', jobs[0], selection.length) : vscode.l10n.t('Compare Runs ({0})', selection.length);
}

const selectionKey = (selection: readonly RunSelection[]): string => selection.map((s) => `${s.folder ?? ''}|${s.jobId}@${s.runId ?? 'latest'}`).join('\n');

/** The open Compare Runs panels (one per distinct selection) and their revival after a window reload. */
export class RunComparePanels extends PanelSet<RunComparePanel> implements vscode.WebviewPanelSerializer<RunComparePageState> {

  constructor(private readonly deps: Omit<RunCompareDeps, 'pickSaveUri'>) {
    super();
  }

  show(selection: readonly RunSelection[]): RunComparePanel {
    const existing = this.panels.get(selectionKey(selection));
    if (existing) {
      existing.panel.reveal();
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(RUN_COMPARE_VIEW_TYPE, titleOf(selection), vscode.ViewColumn.Active, {
      retainContextWhenHidden: false, enableFindWidget: true, ...webviewOptions(this.deps.extensionUri),
    });
    return this.adopt(panel, selection);
  }

  private adopt(panel: vscode.WebviewPanel, selection: readonly RunSelection[]): RunComparePanel {
    return this.track(selectionKey(selection), new RunComparePanel(panel, selection, { ...this.deps, pickSaveUri: () => this.pickSaveUri }));
  }

  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: RunComparePageState | undefined): Promise<void> {
    await this.deps.model.whenIdle();
    if (this.deps.model.refreshCount === 0) await this.deps.model.refresh();
    const runs = Array.isArray(state?.runs) ? state!.runs.filter((r): r is RunSelection => !!r && typeof r.jobId === 'string'
      && (r.runId === undefined || (typeof r.runId === 'string' && /^[\w.-]{1,100}$/.test(r.runId) && !r.runId.startsWith('.')))
      && (r.folder === undefined || typeof r.folder === 'string')).slice(0, 16) : [];
    this.adopt(panel, runs);
  }

  async whenReady(timeoutMs = 30_000): Promise<RunComparePanel> {
    const p = this.all().at(-1) ?? await nextEvent(this.onDidCreate, () => true, timeoutMs, 'no run comparison');
    await p.host.whenReady();
    return p;
  }

}
