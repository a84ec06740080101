// Training and Phase F reconstruction runs from VS Code: one queue (one job at a time by default, the setting
// `training.maxConcurrentJobs` shared by both kinds) of worker processes started through the core launchers,
// the same path as the CLI (run lock, run id, checkpoint check; never onnxruntime or the iterative engine in the
// extension host), live progress for the tree and the status bar, a cancellable notification per run, and an
// actionable message when a run ends.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { JobLockedError, RunAlreadyActiveError, type RunHandle, type RunExit } from '../core/run/launcher';
import { prepareLaunch } from '../core/run/launch';
import type { IterationEvent, ProgressEvent, ReconHalvesEvent, RunEvent } from '../core/run/events';
import { startReconstruction, writeReconstructionManifest } from '../core/run/reconstructionLauncher';
import { type StudyJob } from '../core/study';
import { PlanError } from '../core/run/plan';
import { planReconstruction, type ReconstructionJob } from '../core/study/reconstructJobs';
import { reconstructionSettingsFor, runDetachedFor, trainingSettingsFor, trainingThreadsFor, SECTION } from './settings';
import type { StudyModel } from './studyModel';

/** A job the queue runs: a training job or a Phase F reconstruction job. */
export type RunJob = StudyJob | ReconstructionJob;

export const isReconJob = (job: RunJob | undefined): job is ReconstructionJob => (job as ReconstructionJob | undefined)?.kind === 'reconstruct';

/** `Training` / `Reconstruction`, for messages. */
export const runNoun = (job: RunJob): string => (isReconJob(job) ? 'Reconstruction' : 'Training');

export interface LiveRun {
  job: RunJob;
  folder: vscode.WorkspaceFolder;
  key: string;
  handle?: RunHandle;
  state: 'queued' | 'starting' | 'running' | 'cancelling';
  /** Training progress (twice a second), as read from the job's events.jsonl. */
  progress?: ProgressEvent;
  /** Reconstruction progress: the last iteration, as read from the job's events.jsonl. */
  iteration?: IterationEvent;
  /** The half sets' last iteration, once the run's own are done (events.jsonl). */
  halves?: ReconHalvesEvent;
  resume: boolean;
  /** Resolves when the run ends (or is removed from the queue). */
  finished: Promise<RunExit | undefined>;
  settle: (e: RunExit | undefined) => void;
  startedAt?: number;
  /** Started detached (ptychoStudy.training.runDetached): it outlives this window. */
  detached?: boolean;
}

export class RunManager implements vscode.Disposable {
  private readonly runs = new Map<string, LiveRun>();
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly status: vscode.StatusBarItem;
  private fireTimer?: NodeJS.Timeout;
  private runsActiveKey?: boolean;

  constructor(private readonly model: StudyModel, private readonly log: vscode.LogOutputChannel, private readonly extensionPath: string) {
    this.status = vscode.window.createStatusBarItem('ptychoStudy.runs', vscode.StatusBarAlignment.Left, 50);
    this.status.name = vscode.l10n.t('PtychoPINN training and reconstruction');
    this.status.command = 'ptychoStudy.showRuns';
    // Runs of other processes (a detached run left by a closed window, the CLI) are shown too, from the job folders.
    this.modelSub = model.onDidChange(() => this.updateStatus());
  }

  private readonly modelSub: vscode.Disposable;

  /** Jobs running in another process (their manifests say so; this window did not start them). */
  elsewhere(): { id: string; progress?: string }[] {
    const mine = new Set(this.all().map((r) => r.key));
    const out: { id: string; progress?: string }[] = [];
    for (const s of this.model.folders) {
      for (const j of [...s.jobs, ...s.recons]) {
        if (j.state !== 'running' || mine.has(RunManager.keyOf(s.folder, j))) continue;
        const live = this.model.liveProgress(j);
        const p = (live?.progress ?? live?.iteration ?? j.run?.manifest.progress) as { epoch?: number; epochs?: number; iteration?: number; iterations?: number } | undefined;
        const progress = live?.halves ? `half set ${live.halves.half}/2 ${live.halves.iteration}/${live.halves.iterations}`
          : p?.epoch !== undefined ? `epoch ${p.epoch}/${p.epochs}` : p?.iteration !== undefined ? `iteration ${p.iteration}/${p.iterations}` : undefined;
        out.push({ id: j.id, progress });
      }
    }
    return out;
  }

  static keyOf(folder: vscode.WorkspaceFolder | undefined, job: RunJob): string {
    return `${folder?.uri.toString() ?? ''}::${job.id}`;
  }

  /** The live run of a job (queued, starting, running or cancelling), if any. */
  get(folder: vscode.WorkspaceFolder | undefined, job: RunJob): LiveRun | undefined {
    return this.runs.get(RunManager.keyOf(folder, job));
  }

  all(): LiveRun[] {
    return [...this.runs.values()];
  }

  private maxConcurrent(): number {
    return Math.max(1, vscode.workspace.getConfiguration(SECTION).get<number>('training.maxConcurrentJobs') ?? 1);
  }

  /** Queues jobs; returns their live runs (a job already queued or running is returned as it is). */
  enqueue(entries: { job: RunJob; folder: vscode.WorkspaceFolder }[], resume = false): LiveRun[] {
    const out: LiveRun[] = [];
    for (const { job, folder } of entries) {
      const key = RunManager.keyOf(folder, job);
      const existing = this.runs.get(key);
      if (existing) {
        out.push(existing);
        continue;
      }
      let settle!: (e: RunExit | undefined) => void;
      const finished = new Promise<RunExit | undefined>((r) => (settle = r));
      const run: LiveRun = { job, folder, key, state: 'queued', resume, finished, settle };
      this.runs.set(key, run);
      out.push(run);
      this.log.info(`Queued ${job.id}${resume ? ' (resume)' : ''}.`);
    }
    this.pump();
    this.fire(true);
    return out;
  }

  /** Cancels a queued run (removed) or a running one (the worker checkpoints and stops). */
  cancel(run: LiveRun): void {
    if (run.state === 'queued') {
      this.runs.delete(run.key);
      run.settle(undefined);
      this.log.info(`Removed ${run.job.id} from the queue.`);
    } else if (run.handle && run.state !== 'cancelling') {
      run.state = 'cancelling';
      run.handle.cancel(undefined, 'Cancel in VS Code');
      this.log.info(`Cancelling ${run.job.id}: the worker finishes its ${isReconJob(run.job) ? 'iteration' : 'step'} and writes a checkpoint.`);
    }
    this.fire(true);
    this.pump();
  }

  private pump(): void {
    const active = this.all().filter((r) => r.state !== 'queued').length;
    const free = this.maxConcurrent() - active;
    const queued = this.all().filter((r) => r.state === 'queued').slice(0, Math.max(0, free));
    for (const run of queued) void this.start(run);
  }

  private async start(run: LiveRun): Promise<void> {
    run.state = 'starting';
    run.startedAt = Date.now();
    this.fire(true);
    try {
      const layout = this.model.folders.find((s) => s.folder === run.folder)?.layout;
      if (isReconJob(run.job)) {
        await this.startReconstruction(run, run.job, layout);
        return;
      }
      // In desktop VS Code process.execPath is Electron: ELECTRON_RUN_AS_NODE makes it a plain Node for the worker.
      run.detached = runDetachedFor(run.folder);
      const launch = prepareLaunch(run.job, {
        settings: trainingSettingsFor(run.folder),
        study: layout ? { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot } : undefined,
        workerScript: path.join(this.extensionPath, 'dist', 'worker.js'),
        nodePath: process.execPath,
        resume: run.resume,
        detached: run.detached,
        threads: trainingThreadsFor(run.folder),
        threadsSource: 'setting',
        env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
      });
      if (!launch.runnable) throw new PlanError(`${run.job.id} is not runnable: ${launch.blockers.join(' ')}`);
      run.handle = await launch.start();
      this.log.info(`Started ${run.job.id} (worker pid ${run.handle.pid}) → ${launch.config.artifactDir}`);
      run.state = run.state === 'starting' ? 'running' : run.state;
      run.handle.onEvent((e) => this.onEvent(run, e));
      this.notify(run);
      const exit = await run.handle.done;
      this.finish(run, exit);
    } catch (err) {
      const message = (err as Error).message;
      this.log.error(`${run.job.id}: ${message}`);
      // One message: busy (another run holds the job's lock) is a warning, anything else an error.
      const notStarted = isReconJob(run.job) ? vscode.l10n.t('Reconstruction {0} did not start: {1}', run.job.id, message) : vscode.l10n.t('Training {0} did not start: {1}', run.job.id, message);
      if (err instanceof JobLockedError || err instanceof RunAlreadyActiveError) void vscode.window.showWarningMessage(notStarted);
      else void vscode.window.showErrorMessage(notStarted);
      this.finish(run, { jobId: run.job.id, status: 'failed', code: null, signal: null, reason: message }, true);
    }
  }

  /** A Phase F job: planned with the `reconstruction.*` settings, started by the reconstruction launcher. */
  private async startReconstruction(run: LiveRun, job: ReconstructionJob, layout: { phaseCRoot?: string; phaseDRoot?: string; artifactRoot: string } | undefined): Promise<void> {
    const study = layout ? { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot, phaseFRoot: job.phaseFRoot } : undefined;
    const plan = planReconstruction(job, { settings: reconstructionSettingsFor(run.folder, job.algorithm), study });
    if (!plan.runnable) throw new PlanError(`${job.id} is not runnable: ${plan.blockers.join(' ')}`);
    run.detached = runDetachedFor(run.folder);
    run.handle = await startReconstruction(plan.config, {
      workerScript: path.join(this.extensionPath, 'dist', 'worker.js'),
      nodePath: process.execPath,
      resume: run.resume,
      detached: run.detached,
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    this.log.info(`Started ${job.id} (${job.algorithm}, worker pid ${run.handle.pid}) → ${plan.config.artifactDir}`);
    run.state = run.state === 'starting' ? 'running' : run.state;
    run.handle.onEvent((e) => this.onEvent(run, e));
    this.notify(run);
    const exit = await run.handle.done;
    // The Phase F root's records (reconstruction_manifest.json, skip_summary.json), as the CLI keeps them.
    if (study) {
      await writeReconstructionManifest(study).catch((err: Error) => this.log.warn(`Could not update reconstruction_manifest.json: ${err.message}`));
    }
    this.finish(run, exit);
  }

  private onEvent(run: LiveRun, e: RunEvent): void {
    if (e.type === 'progress' || e.type === 'iteration' || e.type === 'recon-halves') {
      // The IPC event is a nudge; the progress itself is read from the job's events.jsonl, the one source every run
      // writes (a run of another process or a closed window is followed the same way: StudyModel.liveProgress).
      void this.model.pollProgress(run.job).then((p) => {
        run.progress = p.progress;
        run.iteration = p.iteration;
        run.halves = p.halves;
        this.fire(false);
      }, () => undefined);
      return;
    }
    if ((e.type === 'started' || e.type === 'recon-started') && e.fallbackReason) {
      void vscode.window.showWarningMessage(vscode.l10n.t('{0}: {1}', run.job.id, e.fallbackReason));
    }
    if (e.type === 'log' && e.level !== 'info') this.log.warn(`${run.job.id}: ${e.message}`);
    else if (e.type !== 'checkpoint' && e.type !== 'recon-checkpoint') this.log.info(`${run.job.id}: ${e.type}${e.type === 'epoch' ? ` ${e.epoch}/${e.epochs} train ${e.trainLoss.toPrecision(5)} val ${e.valLoss?.toPrecision(5) ?? '—'}` : ''}`);
    this.fire(true);
  }

  /** A cancellable notification that follows the run. */
  private notify(run: LiveRun): void {
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: isReconJob(run.job) ? vscode.l10n.t('Reconstructing {0}', run.job.id) : vscode.l10n.t('Training {0}', run.job.id), cancellable: true },
      (progress, token) => new Promise<void>((resolve) => {
        token.onCancellationRequested(() => this.cancel(run));
        let last = 0;
        const off = run.handle!.onEvent((e) => {
          if (e.type === 'progress') {
            const done = ((e.epoch - 1) * e.stepsPerEpoch + e.stepInEpoch) / (e.epochs * e.stepsPerEpoch);
            const pct = Math.floor(done * 100);
            progress.report({ increment: pct - last, message: vscode.l10n.t('epoch {0}/{1} · loss {2} · {3} img/s · ETA {4}', e.epoch, e.epochs, e.loss.toPrecision(4), e.imagesPerSec.toFixed(1), formatEta(e.etaSeconds)) });
            last = pct;
          } else if (e.type === 'iteration') {
            const pct = Math.floor((e.iteration / e.iterations) * 100);
            progress.report({ increment: pct - last, message: describeIteration(e) });
            last = pct;
          } else if (e.type === 'recon-halves') {
            progress.report({ message: describeHalves(e) });
          } else if (e.type === 'log') {
            progress.report({ message: e.message });
          }
        });
        void run.finished.then(() => {
          off();
          resolve();
        });
      }),
    );
  }

  private finish(run: LiveRun, exit: RunExit, notified = false): void {
    this.runs.delete(run.key);
    run.settle(exit);
    this.log.info(`${run.job.id} ${exit.status}${exit.reason ? `: ${exit.reason}` : ''}`);
    const openLog = vscode.l10n.t('Open Log');
    if (isReconJob(run.job)) {
      this.finishReconstruction(run.job, exit, notified);
    } else if (exit.status === 'succeeded') {
      const show = vscode.l10n.t('Show Reconstruction');
      void vscode.window.showInformationMessage(vscode.l10n.t('Trained {0}.', run.job.id), show, openLog).then((c) => {
        if (c === show) void vscode.commands.executeCommand('ptychoStudy.showReconstruction', run.job.id);
        if (c === openLog) void vscode.commands.executeCommand('ptychoStudy.openLog', run.job.id);
      });
    } else if (exit.status === 'cancelled') {
      const resume = vscode.l10n.t('Resume');
      void vscode.window.showInformationMessage(vscode.l10n.t('Cancelled {0}; its checkpoint is kept.', run.job.id), resume).then((c) => {
        if (c === resume) void vscode.commands.executeCommand('ptychoStudy.resume', run.job.id);
      });
    } else if (!notified) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Training {0} failed: {1}', run.job.id, exit.reason ?? vscode.l10n.t('see the log')), openLog).then((c) => {
        if (c === openLog) void vscode.commands.executeCommand('ptychoStudy.openLog', run.job.id);
      });
    }
    this.model.requestRefresh(0);
    this.fire(true);
    this.pump();
  }

  private finishReconstruction(job: ReconstructionJob, exit: RunExit, notified: boolean): void {
    const openLog = vscode.l10n.t('Open Log');
    const showLog = (c: string | undefined): void => {
      if (c === openLog) void vscode.window.showTextDocument(vscode.Uri.file(job.logPath), { preview: true });
    };
    if (exit.status === 'succeeded') {
      const compare = vscode.l10n.t('Compare Study');
      void vscode.window.showInformationMessage(vscode.l10n.t('Reconstructed {0}.', job.id), compare, openLog).then((c) => {
        if (c === compare) void vscode.commands.executeCommand('ptychoStudy.compareStudy');
        showLog(c);
      });
    } else if (exit.status === 'cancelled') {
      const resume = vscode.l10n.t('Resume');
      void vscode.window.showInformationMessage(vscode.l10n.t('Cancelled {0}; its checkpoint is kept.', job.id), resume).then((c) => {
        if (c === resume) void vscode.commands.executeCommand('ptychoStudy.resume', job.id);
      });
    } else if (!notified) {
      void vscode.window.showErrorMessage(vscode.l10n.t('Reconstruction {0} failed: {1}', job.id, exit.reason ?? vscode.l10n.t('see the log')), openLog).then(showLog);
    }
  }

  /** Coalesces change notifications (progress arrives twice a second per run). */
  private fire(now: boolean): void {
    this.updateStatus();
    if (now) {
      if (this.fireTimer) clearTimeout(this.fireTimer);
      this.fireTimer = undefined;
      this.changed.fire();
      return;
    }
    this.fireTimer ??= setTimeout(() => {
      this.fireTimer = undefined;
      this.changed.fire();
    }, 500);
  }

  private updateStatus(): void {
    const runs = this.all();
    const active = runs.filter((r) => r.state !== 'queued');
    const queued = runs.length - active.length;
    const others = this.elsewhere();
    // `Cancel Run` is offered in the palette only while there is something to cancel.
    const anyRun = runs.length > 0 || others.length > 0;
    if (anyRun !== this.runsActiveKey) {
      this.runsActiveKey = anyRun;
      void vscode.commands.executeCommand('setContext', 'ptychoStudy.runsActive', anyRun);
    }
    if (runs.length === 0 && others.length === 0) {
      this.status.hide();
      return;
    }
    if (runs.length === 0) {
      this.status.text = `$(sync~spin) ${others.length === 1
        ? vscode.l10n.t('{0} (another process)', `${others[0].id}${others[0].progress ? ` ${others[0].progress}` : ''}`)
        : vscode.l10n.t('{0} runs (another process)', others.length)}`;
      this.status.tooltip = others.map((o) => (o.progress ? vscode.l10n.t('{0}: running in another process ({1})', o.id, o.progress) : vscode.l10n.t('{0}: running in another process', o.id))).join('\n');
      this.status.show();
      return;
    }
    const first = active[0];
    const p = first?.progress;
    const it = first?.iteration;
    const hs = first?.halves;
    const head = !first ? vscode.l10n.t('Queued') : isReconJob(first.job)
      ? (hs ? vscode.l10n.t('Reconstructing {0}: half set {1}/2 {2}/{3}', first.job.id, hs.half, hs.iteration, hs.iterations)
        : it ? vscode.l10n.t('Reconstructing {0} {1}/{2}', first.job.id, it.iteration, it.iterations) : vscode.l10n.t('Reconstructing {0}', first.job.id))
      : (p ? vscode.l10n.t('Training {0} {1}/{2}', first.job.id, p.epoch, p.epochs) : vscode.l10n.t('Training {0}', first.job.id));
    this.status.text = `$(sync~spin) ${head}${active.length > 1 ? ` +${active.length - 1}` : ''}${queued ? ` · ${vscode.l10n.t('{0} queued', queued)}` : ''}`;
    this.status.tooltip = runs.map((r) => `${r.job.id}: ${r.state}${r.progress ? ` ${vscode.l10n.t('(epoch {0}/{1}, loss {2})', r.progress.epoch, r.progress.epochs, r.progress.loss.toPrecision(4))}` : ''}${r.halves ? ` (${describeHalves(r.halves)})` : r.iteration ? ` (${describeIteration(r.iteration)})` : ''}`).join('\n');
    this.status.show();
  }

  dispose(): void {
    // Detached runs outlive the window: the next window finds them through their job folders (manifest heartbeat,
    // events.jsonl, the log) and can cancel them (cancelExternalRun). Attached ones see the IPC channel close and
    // stop after their step with a checkpoint; ask explicitly too. Queued runs never started: they are dropped.
    const kept: string[] = [];
    for (const run of this.runs.values()) {
      if (run.handle && run.detached && run.state !== 'cancelling') kept.push(`${run.job.id} (pid ${run.handle.pid})`);
      else run.handle?.cancel();
    }
    if (kept.length) this.log.info(`The window closes; ${kept.length} detached run(s) continue: ${kept.join(', ')}.`);
    this.modelSub.dispose();
    this.status.dispose();
    this.changed.dispose();
  }
}

/** One line for a reconstruction's last iteration. */
export function describeIteration(e: IterationEvent): string {
  const q = e.quality;
  const r = q && q.amplitude !== null
    ? ` · ${vscode.l10n.t('amplitude r {0}', q.amplitude.toFixed(3))}${q.phase !== null ? ` · ${vscode.l10n.t('phase r {0}', q.phase.toFixed(3))}` : ''}`
    : '';
  return `${vscode.l10n.t('iteration {0}/{1} · error {2}', e.iteration, e.iterations, e.relativeError.toPrecision(3))}${r} · ${vscode.l10n.t('{0} updates/s · ETA {1}', Math.round(e.updatesPerSec), formatEta(e.etaSeconds))}`;
}

/** One line for a reconstruction's half sets (run after its own iterations, for the half-set weightings). */
export function describeHalves(e: ReconHalvesEvent): string {
  return vscode.l10n.t('half set {0}/2 ({1} {2} patterns) · iteration {3}/{4} · ETA {5}', e.half, e.patterns, e.half === 1 ? vscode.l10n.t('even') : vscode.l10n.t('odd'), e.iteration, e.iterations, formatEta(e.etaSeconds));
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
