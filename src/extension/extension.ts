// Activation: wires the core study model to the Jobs tree, the Problems panel, file watching and the
// commands. Nothing heavy happens here: no onnxruntime, no array data; discovery starts when the tree asks.
import * as vscode from 'vscode';
import {
  dryRunCommand, generateDemoCommand, revealArtifactsCommand, openDatasetCommand, UserError, type CommandContext,
} from './commands';
import { chooseStudyRootCommand } from './chooseStudyRoot';
import { StudyDiagnostics } from './diagnostics';
import { installTerminalCli } from './terminalCli';
import { JobsTreeProvider, type JobsNode } from './jobsTree';
import { StudyModel } from './studyModel';
import { backendFor, SECTION } from './settings';
import { RunManager } from './runs';
import { trainCommand, trainAllCommand, trainSelectedCommand, selectedJobs, cancelCommand, type TrainContext } from './trainCommands';
import { copyCliCommand } from './copyCommand';
import { exportForPtychodus, openInNotebook } from './exportCommands';
import { applyToDataset, scoreOnDataset } from './modelCommands';
import { chooseRepresentativeRun, chosenRunId, deleteRun, RunHistoryError } from '../core/run/runHistory';
import { cancelSubmissionCommand, SlurmTracker, submitToSlurmCommand, type SubmitArg } from './slurm';
import { rerunCommand } from './rerunCommand';
import { cancelReconstruction, isReconArg, reconstructAllCommand, reconstructCommand, revealReconFolder } from './reconCommands';
import { registerJobPanels, type JobPanelsApi } from './jobPanel'; // job panel (ptychoStudy.openLog) and manifest viewer
import { registerResultPanels, resolveStudyFolder, type ResultsApi } from './results'; // reconstruction viewer and study comparison
import { exportStudyReportCommand, showReportFolderDialog, type PickReportFolder, type ReportContext } from './reportCommand';
import { registerNpzPreview, type NpzPreviewApi } from './npzPreview'; // NPZ preview (webview foundation)
import { ProjectSettingsCheck } from './projectSettingsCheck';

/** What `activate` returns: used by the extension-host tests and available to other extensions. */
export interface WorkbenchApi {
  model: StudyModel;
  tree: JobsTreeProvider;
  diagnostics: vscode.DiagnosticCollection;
  refresh(): Promise<void>;
  whenIdle(): Promise<void>;
  /** Training runs started from this window (queue, live progress). */
  runs: RunManager;
  /** NPZ preview custom editor (ptychoStudy.npzPreview): its provider, editors and message channels. */
  npzPreview: NpzPreviewApi;
  /** Reconstruction viewers (ptychoStudy.showReconstruction) and the study comparison (ptychoStudy.compareStudy). */
  results: ResultsApi;
  /** Job panels (ptychoStudy.openLog) and manifest viewers (ptychoStudy.showManifest): panels and message channels. */
  jobPanels: JobPanelsApi;
  /** Slurm submissions of this workspace: the queued tasks' states (squeue), polled while some are unfinished. */
  slurm: SlurmTracker;
  /** How Export Study Report asks for its folder (tests replace it; default: an open-folder dialog). */
  report: { pickFolder: PickReportFolder };
  /** Problems of the folders' ptycho-study.json, as last told to the user. */
  settingsCheck: ProjectSettingsCheck;
  /** The `ptycho-study` launcher put on new terminals' PATH (undefined when it could not be written). */
  terminalCli?: { binDir: string; launcher: string };
}

export function activate(context: vscode.ExtensionContext): WorkbenchApi {
  const started = Date.now();
  const log = vscode.window.createOutputChannel('PtychoPINN Study', { log: true });
  const model = new StudyModel(log);
  const runs = new RunManager(model, log, context.extensionPath);
  const slurm = new SlurmTracker(model, log, context.extensionPath);
  const tree = new JobsTreeProvider(model, runs, slurm);
  const diagnostics = new StudyDiagnostics(model, vscode.Uri.joinPath(context.extensionUri, 'README.md'));
  const view = vscode.window.createTreeView('ptychoStudy.jobs', { treeDataProvider: tree, showCollapseAll: true, canSelectMany: true });
  context.subscriptions.push(log, model, runs, slurm, tree, diagnostics, view);
  const terminalCli = installTerminalCli(context, log);

  // Restricted Mode: the tree still browses and validates; say at the top why writing actions refuse.
  const showTrust = (): void => {
    view.message = vscode.workspace.isTrusted ? undefined
      : vscode.l10n.t('Restricted Mode: browsing and validation work; dry runs, demo generation and training need a trusted workspace.');
  };
  showTrust();
  const setStudyState = (): void => void vscode.commands.executeCommand('setContext', 'ptychoStudy.studyState', model.state);
  setStudyState();
  context.subscriptions.push(model.onDidChange(() => {
    setStudyState();
    const running = model.allJobs().filter((j) => j.state === 'running').length;
    view.badge = running > 0 ? { value: running, tooltip: vscode.l10n.t('{0} job(s) running', running) } : undefined;
  }));

  const ctx: CommandContext = { model, log, extensionPath: context.extensionPath };
  const register = <A extends unknown[], R>(id: string, fn: (...args: A) => Promise<R>): void => {
    context.subscriptions.push(vscode.commands.registerCommand(id, async (...args: A) => {
      try {
        return await fn(...args);
      } catch (err) {
        const message = (err as Error).message;
        if (err instanceof UserError) log.warn(`${id}: ${message}`);
        else log.error(`${id} failed: ${(err as Error).stack ?? message}`);
        const actions = err instanceof UserError ? err.actions : [];
        void vscode.window.showErrorMessage(message, ...actions.map((a) => a.title)).then((chosen) => {
          const action = actions.find((a) => a.title === chosen);
          if (action) void vscode.commands.executeCommand(action.command);
        });
        return undefined;
      }
    }));
  };
  register('ptychoStudy.refresh', async () => {
    await model.refresh();
    return model.allJobs().length;
  });
  register('ptychoStudy.dryRun', (arg?: Parameters<typeof dryRunCommand>[1]) => dryRunCommand(ctx, arg));
  // The walkthrough (contributes.walkthroughs): open or generate a study → preview → dry run → train → compare.
  register('ptychoStudy.getStarted', async () => { await vscode.commands.executeCommand('workbench.action.openWalkthrough', `${context.extension.id}#studyWorkflow`, false); });
  register('ptychoStudy.generateDemoStudy', (args?: Parameters<typeof generateDemoCommand>[1]) => generateDemoCommand(ctx, args));
  register('ptychoStudy.revealArtifacts', (arg?: Parameters<typeof revealArtifactsCommand>[1]) => (isReconArg(arg) ? revealReconFolder(ctx, arg as never) : revealArtifactsCommand(ctx, arg)));
  register('ptychoStudy.openDataset', (arg?: Parameters<typeof openDatasetCommand>[1]) => openDatasetCommand(ctx, arg));
  register('ptychoStudy.showOutput', async () => log.show(true));
  register('ptychoStudy.chooseStudyRoot', (arg?: string) => chooseStudyRootCommand(ctx, typeof arg === 'string' ? arg : undefined));
  const tctx: TrainContext = { ...ctx, runs };
  // Train and Resume: one job, or every selected job (multi-select in the tree); on this machine through the run
  // queue, or — `ptychoStudy.backend` = slurm — submitted as one Slurm array (Resume resubmits from the checkpoints).
  const trainOrSubmit = async (arg: Parameters<typeof trainCommand>[1], selected: readonly unknown[] | undefined, resume: boolean): Promise<unknown> => {
    const many = selectedJobs(selected);
    const first = many?.[0] ?? (arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'job' ? arg.job : typeof arg === 'string' ? model.allJobs().find((j) => j.id === arg) : undefined);
    if (first && backendFor(model.folderOf(first)) === 'slurm') {
      return submitToSlurmCommand(ctx, slurm, { jobIds: many ? many.map((j) => j.id) : [first.id], confirm: false, resume });
    }
    return many ? trainSelectedCommand(tctx, many, resume) : trainCommand(tctx, arg, resume);
  };
  register('ptychoStudy.train', (arg?: Parameters<typeof trainCommand>[1], selected?: unknown[]) => trainOrSubmit(arg, selected, false));
  // Resume and Cancel work on both kinds: a Phase F node or id goes to the reconstruction side.
  register('ptychoStudy.resume', (arg?: Parameters<typeof trainCommand>[1], selected?: unknown[]) => (isReconArg(arg) ? reconstructCommand(tctx, arg, true) : trainOrSubmit(arg, selected, true)));
  register('ptychoStudy.reconstruct', (arg?: Parameters<typeof reconstructCommand>[1]) => reconstructCommand(tctx, arg));
  register('ptychoStudy.exportForPtychodus', (arg?: Parameters<typeof exportForPtychodus>[1]) => exportForPtychodus(ctx, arg));
  register('ptychoStudy.openInNotebook', (arg?: Parameters<typeof openInNotebook>[1]) => openInNotebook(ctx, arg));
  register('ptychoStudy.scoreOnDataset', (arg?: Parameters<typeof scoreOnDataset>[1], dataPath?: unknown) => scoreOnDataset(ctx, arg, typeof dataPath === 'string' ? dataPath : undefined));
  register('ptychoStudy.applyToDataset', (arg?: Parameters<typeof applyToDataset>[1], dataPath?: unknown, outDir?: unknown, replace?: unknown) =>
    applyToDataset(ctx, arg, typeof dataPath === 'string' ? dataPath : undefined, typeof outDir === 'string' ? outDir : undefined, typeof replace === 'boolean' ? replace : undefined));
  register('ptychoStudy.copyCliCommand', (arg?: Parameters<typeof copyCliCommand>[1]) => copyCliCommand(ctx, arg));
  register('ptychoStudy.reconstructAll', (arg?: Parameters<typeof reconstructAllCommand>[1]) => reconstructAllCommand(tctx, arg));
  register('ptychoStudy.rerun', (arg?: Parameters<typeof rerunCommand>[1]) => rerunCommand(ctx, arg));
  register('ptychoStudy.trainAll', (): Promise<unknown> => {
    const folder = model.folders.find((f) => f.jobs.length > 0)?.folder;
    return backendFor(folder) === 'slurm' ? submitToSlurmCommand(ctx, slurm, undefined) : trainAllCommand(tctx);
  });
  const cancelOne = (arg?: Parameters<typeof cancelCommand>[1]): Promise<boolean> => {
    if (isReconArg(arg)) return cancelReconstruction(tctx, arg);
    // A job queued on Slurm (not yet running): scancel its task.
    const queued = typeof arg === 'string' ? model.allJobs().find((j) => j.id === arg) : arg && typeof arg === 'object' && 'kind' in arg && arg.kind === 'job' ? arg.job : undefined;
    if (queued && !runs.get(model.folderOf(queued), queued) && slurm.isQueued(queued)) return slurm.cancel(queued);
    return cancelCommand(tctx, arg);
  };
  register('ptychoStudy.cancel', async (arg?: Parameters<typeof cancelCommand>[1], selected?: unknown[]) => {
    const many = Array.isArray(selected) && selected.length > 1 ? selected as JobsNode[] : undefined;
    if (!many) return cancelOne(arg);
    // Every selected job that runs or waits; one that does not is skipped (reported), the others still cancel.
    const problems: string[] = [];
    let n = 0;
    for (const node of many) {
      if (node.kind !== 'job' && node.kind !== 'recon') continue;
      try {
        if (await cancelOne(node as never)) n++;
      } catch (err) {
        problems.push((err as Error).message);
      }
    }
    if (problems.length) void vscode.window.showWarningMessage(vscode.l10n.t('Cancelled {0} job(s); {1}', n, problems.join(' ')));
    return n > 0;
  });
  // Delete Run: an earlier run of a job, kept under runs/<id>/ (never the latest; nothing is pruned otherwise).
  register('ptychoStudy.deleteRun', async (arg?: JobsNode | { jobId: string; runId: string; confirm?: boolean }) => {
    const node = arg && 'kind' in arg && arg.kind === 'run' ? arg : undefined;
    const job = node?.job ?? (arg && !('kind' in arg) ? [...model.allJobs(), ...model.allRecons()].find((j) => j.id === arg.jobId) : undefined);
    const runId = node ? node.run.id : arg && !('kind' in arg) ? arg.runId : undefined;
    if (!job || !runId) throw new UserError(vscode.l10n.t('Delete Run works on an earlier run of a job (expand the job in the Jobs tree).'));
    if (node?.run.latest) throw new UserError(vscode.l10n.t('{0} is the latest run of {1}: it is replaced by the next run, not deleted.', runId, job.id));
    if (!(arg && !('kind' in arg) && arg.confirm === false)) {
      const go = vscode.l10n.t('Delete Run');
      if (await vscode.window.showWarningMessage(vscode.l10n.t('Delete run {0} of {1}? Its manifest, model, reconstruction, metrics and previews under runs/{0}/ are removed.', runId, job.id), { modal: true }, go) !== go) return false;
    }
    try {
      await deleteRun(job.artifactDir, runId);
    } catch (err) {
      if (err instanceof RunHistoryError) throw new UserError(err.message);
      throw err;
    }
    log.info(`Deleted run ${runId} of ${job.id}.`);
    model.requestRefresh(0);
    return true;
  });
  // Use in Comparisons: the run that stands for its job in the study comparison and report (default: the latest
  // succeeded); on the run that already does, back to the default.
  register('ptychoStudy.useRunInComparison', async (arg?: JobsNode | { jobId: string; runId: string | null }) => {
    const node = arg && 'kind' in arg && arg.kind === 'run' ? arg : undefined;
    const job = node?.job ?? (arg && !('kind' in arg) ? [...model.allJobs(), ...model.allRecons()].find((j) => j.id === arg.jobId) : undefined);
    if (!job) throw new UserError(vscode.l10n.t('Use in Comparisons works on a run of a job (expand the job in the Jobs tree).'));
    let runId = node ? node.run.id : arg && !('kind' in arg) ? arg.runId : null;
    if (node && chosenRunId(job.artifactDir) === runId) runId = null; // chosen already: back to the default
    try {
      await chooseRepresentativeRun(job.artifactDir, runId ?? undefined);
    } catch (err) {
      if (err instanceof RunHistoryError) throw new UserError(err.message);
      throw err;
    }
    log.info(runId ? `Run ${runId} now stands for ${job.id} in the study comparison and report.` : `${job.id} is represented by its latest succeeded run again.`);
    model.requestRefresh(0);
    return runId;
  });
  register('ptychoStudy.cancelSubmission', (arg?: Parameters<typeof cancelSubmissionCommand>[2]) => cancelSubmissionCommand(ctx, slurm, arg));
  register('ptychoStudy.submitToSlurm', (arg?: SubmitArg, selected?: JobsNode[]) => submitToSlurmCommand(ctx, slurm, arg, selected));
  register('ptychoStudy.showRuns', async () => {
    const live = runs.all();
    const others = runs.elsewhere();
    if (live.length === 0 && others.length === 0) return void log.show(true);
    const items = [
      ...live.map((r) => ({ label: r.job.id, description: r.state, id: r.job.id })),
      ...others.map((o) => ({ label: o.id, description: o.progress ? vscode.l10n.t('running in another process · {0}', o.progress) : vscode.l10n.t('running in another process'), id: o.id })),
    ];
    const pick = await vscode.window.showQuickPick(items, { title: vscode.l10n.t('Training and reconstruction runs'), placeHolder: vscode.l10n.t("Open a run's log") });
    if (!pick) return;
    const recon = model.allRecons().find((j) => j.id === pick.id);
    if (recon) await vscode.window.showTextDocument(vscode.Uri.file(recon.logPath), { preview: true });
    else await vscode.commands.executeCommand('ptychoStudy.openLog', pick.id);
  });
  const jobPanels = registerJobPanels(context, { ...ctx, runs }, register); // ptychoStudy.openLog, ptychoStudy.showManifest, ptychoStudy.showStudyManifest
  const results = registerResultPanels(context, ctx, runs, register); // ptychoStudy.showReconstruction, ptychoStudy.compareStudy
  const report = { pickFolder: showReportFolderDialog };
  const rctx: ReportContext = { ...ctx, pickReportFolder: () => report.pickFolder, resolveStudyFolder: (arg) => resolveStudyFolder(ctx, arg) };
  register('ptychoStudy.exportStudyReport', (arg?: Parameters<typeof exportStudyReportCommand>[1]) => exportStudyReportCommand(rctx, arg));

  // ---- NPZ preview: read-only custom editor for *.npz/*.npy (webview foundation: src/extension/webview,
  // src/webview) and its commands ptychoStudy.openNpzPreview / ptychoStudy.previewTrainingData.
  const npzPreview = registerNpzPreview(context, ctx, register);
  // ---- end NPZ preview

  // The tree follows the file system: datasets, manifests, dose folders, and whole folders moved in or out
  // of a study root (a directory rename reports only the directory, not the files inside it).
  const watcher = vscode.workspace.createFileSystemWatcher('**/*');
  // A folder's ptycho-study.json that cannot be honoured as written is told, not silently half-read.
  const settingsCheck = new ProjectSettingsCheck(log, () => model.requestRefresh(0));
  settingsCheck.checkAll();
  const changed = (uri: vscode.Uri): void => {
    if (settingsCheck.fileEvent(uri)) return;
    // One job-state store: a write inside a job's artifact folder (every epoch, every heartbeat) updates that job
    // from its manifest; only dataset, dose-folder and root changes re-scan the study.
    const job = model.jobOwning(uri.fsPath);
    if (job) model.requestJobRefresh(job);
    else if (model.isStudyPath(uri.fsPath)) model.requestRefresh();
  };
  watcher.onDidCreate(changed);
  watcher.onDidChange(changed);
  watcher.onDidDelete(changed);
  context.subscriptions.push(watcher);
  context.subscriptions.push(
    vscode.workspace.onDidChangeWorkspaceFolders(() => {
      model.requestRefresh(0);
      settingsCheck.checkAll();
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      showTrust();
      model.requestRefresh(0);
      settingsCheck.checkAll();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration(`${SECTION}.pollIntervalSeconds`)) model.restartPolling();
      if (e.affectsConfiguration(SECTION)) model.requestRefresh(0);
    }),
  );
  // Submissions left by an earlier window (or the CLI): their queued tasks' Slurm states, once the study is known.
  void model.whenIdle().then(() => slurm.poll()).catch(() => undefined);
  log.info(`Activated in ${Date.now() - started} ms (VS Code ${vscode.version}, Node ${process.version}).`);
  return { model, tree, diagnostics: diagnostics.collection, refresh: () => model.refresh(), whenIdle: () => model.whenIdle(), runs, slurm, npzPreview, results, jobPanels, report, settingsCheck, ...(terminalCli ? { terminalCli } : {}) };
}

export function deactivate(): void {
  // Everything is disposed through context.subscriptions.
}
