// Registration of the job panel (ptychoStudy.openLog) and the manifest viewer (ptychoStudy.showManifest,
// ptychoStudy.showStudyManifest): one panel per job / per manifest file, revealed when already open, and
// restored after a window reload by their webview panel serializers (the page's state holds only the job id,
// or the folder name for the study manifest; paths are always worked out again by the host).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseJobId, STUDY_ARTIFACT, ARTIFACT } from '../../core/study';
import { resolveJob, UserError, type CommandContext, type JobArg } from '../commands';
import { isReconArg, resolveRecon, type ReconArg } from '../reconCommands';
import { RUNS_DIR } from '../../core/run/runHistory';
import { parseReconstructionJobId } from '../../core/study/reconstructJobs';
import type { JobsNode } from '../jobsTree';
import type { RunManager } from '../runs';
import { showExportSaveDialog, type PickSaveUri } from '../webview/host';
import { nextEvent, trackPanel } from '../webview/dispose';
import { ManifestPanel, manifestKey, MANIFEST_VIEW_TYPE, type ManifestTarget } from './manifestPanel';
import { JobPanel, JOB_PANEL_VIEW_TYPE, panelKey, UNKNOWN_JOB, type JobPanelKey } from './panel';

export { JOB_PANEL_VIEW_TYPE, JobPanel } from './panel';
export { MANIFEST_VIEW_TYPE, ManifestPanel } from './manifestPanel';

type Register = <A extends unknown[], R>(id: string, fn: (...args: A) => Promise<R>) => void;

export interface JobPanelContext extends CommandContext {
  runs: RunManager;
}

/** `{ study: true }` (optionally with a workspace folder name) opens the study-level training_manifest.json. */
export type ManifestArg = JobArg | { study: true; folder?: string } | { jobId: string; folder?: string; beside?: boolean; runId?: string };

const isStudyArg = (a: unknown): a is { study: true; folder?: string } => !!a && typeof a === 'object' && (a as { study?: unknown }).study === true;
const isStudyNode = (a: unknown): a is Extract<JobsNode, { kind: 'study' }> => !!a && typeof a === 'object' && (a as { kind?: unknown }).kind === 'study';

export class JobPanels implements vscode.Disposable {
  readonly panels = new Map<string, JobPanel>();
  readonly manifests = new Map<string, ManifestPanel>();
  private readonly openedEmitter = new vscode.EventEmitter<JobPanel>();
  readonly onDidOpen = this.openedEmitter.event;
  private readonly manifestEmitter = new vscode.EventEmitter<ManifestPanel>();
  readonly onDidOpenManifest = this.manifestEmitter.event;
  /** Where Export PNG saves (tests replace it). */
  pickSaveUri: PickSaveUri = showExportSaveDialog;
  /** Where Export CSV saves (tests replace it). */
  pickCsvUri: PickSaveUri = (defaultUri) => vscode.window.showSaveDialog({ defaultUri, filters: { CSV: ['csv'] }, saveLabel: vscode.l10n.t('Export CSV'), title: vscode.l10n.t('Export the plotted series as CSV') });

  constructor(private readonly extensionUri: vscode.Uri, private readonly ctx: JobPanelContext) {}

  /** ptychoStudy.openLog: the panel of a job (tree node, job id, `{ jobId, folder }`, or a quick pick). */
  async open(arg?: JobArg, opts: { preserveFocus?: boolean } = {}): Promise<JobPanel | undefined> {
    // A Phase F job opens the same panel: its log (recon.log), relative error and quality per iteration.
    const job = isReconArg(arg) ? await resolveRecon(this.ctx, arg as ReconArg, 'Open a reconstruction job') : await resolveJob(this.ctx, arg, 'Open a job');
    if (!job) return undefined;
    const folder = this.ctx.model.folderOf(job);
    const multi = (vscode.workspace.workspaceFolders?.length ?? 0) > 1;
    const key: JobPanelKey = { jobId: job.id, ...(multi && folder ? { folderName: folder.name } : {}) };
    const existing = this.panels.get(panelKey(key));
    if (existing) {
      existing.panel.reveal(undefined, opts.preserveFocus);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(JOB_PANEL_VIEW_TYPE, job.id, { viewColumn: vscode.ViewColumn.Active, preserveFocus: opts.preserveFocus }, {
      // The page keeps its settings with setState and the host re-sends the log when it is shown again, so
      // the page need not live on while hidden (no retainContextWhenHidden).
      retainContextWhenHidden: false,
      enableFindWidget: false,
    });
    return this.adopt(key, panel);
  }

  private adopt(key: JobPanelKey, panel: vscode.WebviewPanel): JobPanel {
    const jp = new JobPanel(key, panel, {
      extensionUri: this.extensionUri, log: this.ctx.log, model: this.ctx.model, runs: this.ctx.runs, pickSaveUri: () => this.pickSaveUri, pickCsvUri: () => this.pickCsvUri,
    });
    return trackPanel(this.panels, panelKey(key), jp, this.openedEmitter);
  }

  /** Restores a panel after a window reload (the serializer): its state names the job. */
  revive(panel: vscode.WebviewPanel, state: unknown): JobPanel {
    const s = (state && typeof state === 'object' ? state : {}) as { jobId?: unknown; folderName?: unknown };
    const jobId = typeof s.jobId === 'string' && (parseJobId(s.jobId) || parseReconstructionJobId(s.jobId)) ? s.jobId : UNKNOWN_JOB;
    const folderName = typeof s.folderName === 'string' ? s.folderName : undefined;
    const key: JobPanelKey = { jobId, ...(folderName ? { folderName } : {}) };
    const existing = this.panels.get(panelKey(key));
    if (existing) {
      // The same job is open already: keep one panel.
      panel.dispose();
      return existing;
    }
    return this.adopt(key, panel);
  }

  get(jobId: string): JobPanel | undefined {
    return [...this.panels.values()].find((p) => p.jobId === jobId);
  }

  /** The panel of `jobId` once its page has said ready (tests). */
  async whenReady(jobId: string, timeoutMs = 30_000): Promise<JobPanel> {
    const jp = this.get(jobId) ?? await nextEvent(this.onDidOpen, (p) => p.jobId === jobId, timeoutMs, `no job panel for ${jobId}`);
    await jp.host.whenReady();
    return jp;
  }

  // ---- manifest viewer

  /** ptychoStudy.showManifest: a job's manifest.json, or with `{ study: true }` the study's training_manifest.json. */
  async showManifest(arg?: ManifestArg): Promise<ManifestPanel | undefined> {
    if (isStudyArg(arg)) return this.showStudyManifest(arg.folder);
    const runId = arg && typeof arg === 'object' && 'runId' in arg && typeof arg.runId === 'string' ? arg.runId : undefined;
    if (runId !== undefined) {
      // An earlier run of a job, kept under runs/<run id>/ (the tree's run nodes).
      if (!/^[\w.-]{1,100}$/.test(runId) || runId.startsWith('.')) throw new UserError(vscode.l10n.t('"{0}" is not a run id.', runId));
      const job = isReconArg(arg) ? await resolveRecon(this.ctx, arg as ReconArg, vscode.l10n.t('Show a run')) : await resolveJob(this.ctx, arg as JobArg, vscode.l10n.t('Show a run'));
      if (!job) return undefined;
      const file = path.join(job.artifactDir, RUNS_DIR, runId, ARTIFACT.manifest);
      if (!fs.existsSync(file)) throw new UserError(vscode.l10n.t('{0} has no run {1} under runs/.', job.id, runId));
      const folder = this.ctx.model.folderOf(job);
      return this.openManifest({ kind: 'job', file, jobId: job.id, ...(folder ? { folderName: folder.name } : {}) }, vscode.ViewColumn.Active);
    }
    if (isStudyNode(arg)) return this.showStudyManifest(arg.study.folder.name);
    if (isReconArg(arg)) {
      // A Phase F job's manifest: the same viewer (its "open job" action opens recon.log).
      const recon = await resolveRecon(this.ctx, arg as ReconArg, vscode.l10n.t('Show the manifest of a reconstruction'), (j) => fs.existsSync(path.join(j.artifactDir, ARTIFACT.manifest)));
      if (!recon) return undefined;
      const folder = this.ctx.model.folderOf(recon);
      return this.openManifest({ kind: 'job', file: path.join(recon.artifactDir, ARTIFACT.manifest), jobId: recon.id, ...(folder ? { folderName: folder.name } : {}) }, vscode.ViewColumn.Active);
    }
    const job = await resolveJob(this.ctx, arg as JobArg, vscode.l10n.t('Show the manifest of a job'), (j) => fs.existsSync(path.join(j.artifactDir, ARTIFACT.manifest)));
    if (!job) return undefined;
    const folder = this.ctx.model.folderOf(job);
    // From a job panel the manifest opens beside it, so the panel stays in view.
    const beside = !!arg && typeof arg === 'object' && (arg as { beside?: unknown }).beside === true;
    return this.openManifest({ kind: 'job', file: path.join(job.artifactDir, ARTIFACT.manifest), jobId: job.id, ...(folder ? { folderName: folder.name } : {}) },
      beside ? vscode.ViewColumn.Beside : vscode.ViewColumn.Active);
  }

  /** ptychoStudy.showStudyManifest: training_manifest.json at the artifact root (asks for the folder when several). */
  async showStudyManifest(folderName?: string): Promise<ManifestPanel | undefined> {
    await this.ctx.model.whenIdle();
    if (this.ctx.model.refreshCount === 0) await this.ctx.model.refresh();
    const studies = this.ctx.model.folders.filter((s) => s.layout?.artifactRoot);
    if (studies.length === 0) throw new UserError(vscode.l10n.t('No study in this workspace, so there is no study manifest.'));
    let study = folderName ? studies.find((s) => s.folder.name === folderName || s.folder.uri.fsPath === folderName) : studies.length === 1 ? studies[0] : undefined;
    if (!study && folderName) throw new UserError(vscode.l10n.t('No study in a workspace folder named {0}.', folderName));
    if (!study) {
      const pick = await vscode.window.showQuickPick(studies.map((s) => ({ label: s.folder.name, description: s.layout!.artifactRoot, s })), { title: vscode.l10n.t('Show the study manifest of…') });
      if (!pick) return undefined;
      study = pick.s;
    }
    const file = path.join(study.layout!.artifactRoot, STUDY_ARTIFACT.trainingManifest);
    return this.openManifest({ kind: 'study', file, ...(studies.length > 1 ? { folderName: study.folder.name } : {}) });
  }

  private openManifest(target: ManifestTarget, column: vscode.ViewColumn = vscode.ViewColumn.Active): ManifestPanel {
    const existing = this.manifests.get(manifestKey(target));
    if (existing) {
      existing.panel.reveal(undefined, column === vscode.ViewColumn.Beside);
      return existing;
    }
    const panel = vscode.window.createWebviewPanel(MANIFEST_VIEW_TYPE, vscode.l10n.t('Manifest'), { viewColumn: column, preserveFocus: column === vscode.ViewColumn.Beside }, {
      // A small document, re-read from disk when the page loads again: no retained context needed.
      retainContextWhenHidden: false,
      enableFindWidget: true,
    });
    return this.adoptManifest(target, panel);
  }

  private adoptManifest(target: ManifestTarget, panel: vscode.WebviewPanel): ManifestPanel {
    const mp = new ManifestPanel(target, panel, { extensionUri: this.extensionUri, log: this.ctx.log, model: this.ctx.model, pickSaveUri: () => this.pickSaveUri });
    return trackPanel(this.manifests, manifestKey(target), mp, this.manifestEmitter);
  }

  /** Restores a manifest viewer after a reload: the state says which manifest (job id, or study + folder name). */
  async reviveManifest(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const s = (state && typeof state === 'object' ? state : {}) as { kind?: unknown; jobId?: unknown; folderName?: unknown };
    await this.ctx.model.whenIdle();
    if (this.ctx.model.refreshCount === 0) await this.ctx.model.refresh();
    const folderName = typeof s.folderName === 'string' ? s.folderName : undefined;
    let target: ManifestTarget | undefined;
    if (s.kind === 'study') {
      const study = this.ctx.model.folders.find((f) => f.layout?.artifactRoot && (!folderName || f.folder.name === folderName));
      if (study) target = { kind: 'study', file: path.join(study.layout!.artifactRoot, STUDY_ARTIFACT.trainingManifest), ...(folderName ? { folderName } : {}) };
    } else if (typeof s.jobId === 'string' && parseJobId(s.jobId)) {
      const m = this.ctx.model.findJobs(s.jobId);
      const hit = m.find((x) => x.folder.name === folderName) ?? m[0];
      if (hit) target = { kind: 'job', file: path.join(hit.job.artifactDir, ARTIFACT.manifest), jobId: s.jobId, folderName: hit.folder.name };
    }
    if (!target) {
      // The manifest's job or study is gone: say so in the panel rather than showing nothing.
      panel.webview.options = { enableScripts: false, localResourceRoots: [] };
      panel.webview.html = `<!DOCTYPE html><html><body><p>This manifest's ${s.kind === 'study' ? 'study' : `job ${typeof s.jobId === 'string' ? s.jobId.replace(/[<>&"]/g, '') : ''}`} is no longer in this workspace.</p></body></html>`;
      return;
    }
    if (this.manifests.get(manifestKey(target))) {
      panel.dispose();
      return;
    }
    this.adoptManifest(target, panel);
  }

  /** The manifest viewer of a file once its page has said ready (tests). */
  async whenManifestReady(match: (t: ManifestTarget) => boolean, timeoutMs = 30_000): Promise<ManifestPanel> {
    const found = [...this.manifests.values()].find((m) => match(m.target));
    const mp = found ?? await nextEvent(this.onDidOpenManifest, (p) => match(p.target), timeoutMs, 'no manifest viewer');
    await mp.host.whenReady();
    return mp;
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.panel.dispose();
    for (const p of [...this.manifests.values()]) p.panel.dispose();
    this.openedEmitter.dispose();
    this.manifestEmitter.dispose();
  }
}

export interface JobPanelsApi {
  jobViewType: string;
  manifestViewType: string;
  /** Open job panels and manifest viewers, their message channels (tests, other extensions). */
  panels: JobPanels;
}

/**
 * Registers the job panel and the manifest viewer: the commands ptychoStudy.openLog, ptychoStudy.showManifest
 * and ptychoStudy.showStudyManifest, and the two webview panel serializers.
 */
export function registerJobPanels(context: vscode.ExtensionContext, ctx: JobPanelContext, register: Register): JobPanelsApi {
  const panels = new JobPanels(context.extensionUri, ctx);
  context.subscriptions.push(panels);
  register('ptychoStudy.openLog', (arg?: JobArg) => panels.open(arg));
  register('ptychoStudy.showManifest', (arg?: ManifestArg) => panels.showManifest(arg));
  register('ptychoStudy.showStudyManifest', (arg?: string | { folder?: string } | JobsNode) =>
    panels.showStudyManifest(typeof arg === 'string' ? arg : isStudyNode(arg) ? arg.study.folder.name : (arg as { folder?: string } | undefined)?.folder));
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(JOB_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => {
        panels.revive(panel, state);
      },
    }),
    vscode.window.registerWebviewPanelSerializer(MANIFEST_VIEW_TYPE, {
      deserializeWebviewPanel: (panel, state) => panels.reviveManifest(panel, state),
    }),
  );
  return { jobViewType: JOB_PANEL_VIEW_TYPE, manifestViewType: MANIFEST_VIEW_TYPE, panels };
}
