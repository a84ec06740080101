// The Jobs tree: (workspace folder →) dose → training job, and dose → "Iterative (Phase F)" → reconstruction job,
// with the same state icons, descriptions, rich tooltips and inline actions for both kinds.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { formatDose, type JobState, type StudyJob, type Finding } from '../core/study';
import type { ReconstructionJob } from '../core/study/reconstructJobs';
import type { ProgressEvent } from '../core/run/events';
import type { LiveProgress } from '../core/run/liveProgress';
import { archivedRunIds, listRunsSync, representativeRun, settingsDiff, type RepresentativeRun, type RunEntry } from '../core/run/runHistory';
import type { FolderStudy, StudyModel } from './studyModel';
import { describeHalves, describeIteration, formatEta, type LiveRun, type RunManager } from './runs';
import { FINAL_SLURM_STATES } from '../core/run/slurm';
import type { SlurmTaskState, SlurmTracker } from './slurm';

export type JobsNode =
  | { kind: 'study'; study: FolderStudy }
  | { kind: 'folder'; study: FolderStudy }
  | { kind: 'dose'; study: FolderStudy; dose: number }
  | { kind: 'job'; study: FolderStudy; job: StudyJob }
  /** The Phase F reconstruction jobs of one dose. */
  | { kind: 'reconGroup'; study: FolderStudy; dose: number }
  | { kind: 'recon'; study: FolderStudy; job: ReconstructionJob }
  /** One run of a job (issue 15): the latest, or an earlier one kept under runs/. */
  | { kind: 'run'; study: FolderStudy; job: StudyJob | ReconstructionJob; run: RunEntry; latestSettings?: Record<string, unknown>; represents?: RepresentativeRun['why'] }
  | { kind: 'message'; study: FolderStudy; text: string; detail?: string };

const STATE_ICON: Record<JobState, [string, string | undefined]> = {
  ready: ['circle-large-outline', undefined],
  'dry-run': ['checklist', 'charts.blue'],
  running: ['sync~spin', 'charts.yellow'],
  succeeded: ['pass-filled', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  cancelled: ['circle-slash', 'disabledForeground'],
  invalid: ['warning', 'problemsWarningIcon.foreground'],
  missing: ['question', 'disabledForeground'],
};

/** The state words shown in the tree and quick picks (getters: translated when read). */
export const STATE_LABEL: Readonly<Record<JobState, string>> = {
  get ready() { return vscode.l10n.t('ready'); },
  get 'dry-run'() { return vscode.l10n.t('dry run'); },
  get running() { return vscode.l10n.t('running'); },
  get succeeded() { return vscode.l10n.t('succeeded'); },
  get failed() { return vscode.l10n.t('failed'); },
  get cancelled() { return vscode.l10n.t('cancelled'); },
  get invalid() { return vscode.l10n.t('invalid data'); },
  get missing() { return vscode.l10n.t('missing data'); },
};

export class JobsTreeProvider implements vscode.TreeDataProvider<JobsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<JobsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly sub: vscode.Disposable;

  private readonly runSub?: vscode.Disposable;

  constructor(private readonly model: StudyModel, private readonly runs?: RunManager, private readonly slurm?: SlurmTracker) {
    this.sub = model.onDidChange(() => this.changed.fire(undefined));
    this.runSub = runs?.onDidChange(() => this.changed.fire(undefined));
    this.slurmSub = slurm?.onDidChange(() => this.changed.fire(undefined));
  }

  private readonly slurmSub?: vscode.Disposable;

  getChildren(node?: JobsNode): JobsNode[] {
    if (!node) {
      if (this.model.refreshCount === 0) void this.model.refresh();
      const studies = this.model.folders.filter((s) => s.jobs.length > 0 || s.error);
      if (studies.length === 1 && !studies[0].error) return this.doseNodes(studies[0]);
      return studies.map((study) => ({ kind: 'folder', study }));
    }
    switch (node.kind) {
      case 'folder':
        return node.study.error ? [{ kind: 'message', study: node.study, text: node.study.error }] : this.doseNodes(node.study);
      case 'dose': {
        const jobs: JobsNode[] = node.study.jobs.filter((j) => j.dose === node.dose).map((job) => ({ kind: 'job', study: node.study, job }));
        if (node.study.recons.some((j) => j.dose === node.dose)) jobs.push({ kind: 'reconGroup', study: node.study, dose: node.dose });
        return jobs;
      }
      case 'reconGroup':
        return node.study.recons.filter((j) => j.dose === node.dose).map((job) => ({ kind: 'recon', study: node.study, job }));
      case 'job':
      case 'recon': {
        // Its runs, newest first (only jobs with earlier runs under runs/ expand).
        const runs = listRunsSync(node.job.artifactDir);
        const latest = runs.find((r) => r.latest)?.settings;
        const rep = representativeRun(node.job.artifactDir, runs);
        return runs.map((run) => ({ kind: 'run', study: node.study, job: node.job, run, latestSettings: latest, ...(rep && rep.id === run.id && rep.latest === run.latest ? { represents: rep.why } : {}) }));
      }
      default:
        return [];
    }
  }

  private doseNodes(study: FolderStudy): JobsNode[] {
    const doses = [...new Set(study.jobs.map((j) => j.dose))].sort((a, b) => a - b);
    // The Study node opens the dose × view comparison, the study's deliverable.
    const nodes: JobsNode[] = [{ kind: 'study', study }, ...doses.map((dose): JobsNode => ({ kind: 'dose', study, dose }))];
    for (const note of study.layout?.notes ?? []) nodes.push({ kind: 'message', study, text: note });
    // Tree problems no job carries (a rejected dose or view name); those on a job's split show on the job.
    const onJobs = new Set(study.jobs.flatMap((j) => [j.train.path, j.test.path]));
    for (const f of study.layout?.findings ?? []) {
      if (!onJobs.has(f.file)) nodes.push({ kind: 'message', study, text: `${path.basename(f.file)}: ${f.message}` });
    }
    return nodes;
  }

  getParent(node: JobsNode): JobsNode | undefined {
    const multi = this.model.folders.filter((s) => s.jobs.length > 0 || s.error).length > 1;
    if (node.kind === 'job' || node.kind === 'reconGroup') return { kind: 'dose', study: node.study, dose: node.kind === 'job' ? node.job.dose : node.dose };
    if (node.kind === 'recon') return { kind: 'reconGroup', study: node.study, dose: node.job.dose };
    if ((node.kind === 'dose' || node.kind === 'message' || node.kind === 'study') && multi) return { kind: 'folder', study: node.study };
    return undefined;
  }

  getTreeItem(node: JobsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'study': {
        const jobs = node.study.jobs;
        const item = new vscode.TreeItem(vscode.l10n.t('Study'), vscode.TreeItemCollapsibleState.None);
        item.id = `study:${node.study.folder.uri.toString()}`;
        item.iconPath = new vscode.ThemeIcon('graph');
        const done = jobs.filter((j) => j.state === 'succeeded').length;
        item.description = vscode.l10n.t('{0} jobs · {1} trained — compare doses and views', jobs.length, done);
        item.tooltip = new vscode.MarkdownString(vscode.l10n.t('**Study comparison**\n\nThe dose × view grid of reconstructions and a metrics table across jobs.\n\nArtifacts: {0}', `\`${node.study.layout?.artifactRoot ?? ''}\``));
        item.contextValue = 'study';
        item.command = { command: 'ptychoStudy.compareStudy', title: vscode.l10n.t('Compare Study'), arguments: [] };
        return item;
      }
      case 'folder': {
        const item = new vscode.TreeItem(node.study.folder.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `folder:${node.study.folder.uri.toString()}`;
        item.iconPath = new vscode.ThemeIcon('root-folder');
        item.description = node.study.error ? vscode.l10n.t('error') : vscode.l10n.t('{0} jobs', node.study.jobs.length);
        item.contextValue = 'folder';
        return item;
      }
      case 'dose': {
        const jobs = node.study.jobs.filter((j) => j.dose === node.dose);
        const item = new vscode.TreeItem(vscode.l10n.t('dose {0}', formatDose(node.dose)), vscode.TreeItemCollapsibleState.Expanded);
        item.id = `dose:${node.study.folder.uri.toString()}:${node.dose}`;
        item.iconPath = new vscode.ThemeIcon('pulse');
        item.description = vscode.l10n.t('{0} photons/pattern · {1}', node.dose.toLocaleString('en-US'), summarizeStates(jobs));
        item.tooltip = doseTooltip(node.study, node.dose, jobs);
        item.contextValue = 'dose';
        return item;
      }
      case 'job': {
        const live = this.runs?.get(node.study.folder, node.job);
        const queued = !live && node.job.state !== 'running' ? this.slurm?.stateOf(node.job) : undefined;
        const item = queued ? slurmItem(node.study, node.job, queued) : jobItem(node.study, node.job, live, this.model.liveProgress(node.job));
        return withRuns(item, node.job);
      }
      case 'run':
        return runItem(node);
      case 'reconGroup': {
        const jobs = node.study.recons.filter((j) => j.dose === node.dose);
        const item = new vscode.TreeItem(vscode.l10n.t('Iterative (Phase F)'), vscode.TreeItemCollapsibleState.Expanded);
        item.id = `recons:${node.study.folder.uri.toString()}:${node.dose}`;
        item.iconPath = new vscode.ThemeIcon('symbol-numeric');
        item.description = summarizeStates(jobs);
        const md = new vscode.MarkdownString(undefined, true);
        md.appendMarkdown(`${vscode.l10n.t('**Iterative reconstructions** of dose {0} (ePIE, rPIE; known scan positions, the probe from `probeGuess`)', formatDose(node.dose))}\n\n`);
        md.appendMarkdown(`${vscode.l10n.t('Phase F root: {0}', code(node.study.phaseFRoot ?? ''))}\n\n| ${vscode.l10n.t('job')} | ${vscode.l10n.t('state')} |\n|---|---|\n`);
        for (const j of jobs) md.appendMarkdown(`| ${escape(j.view)} · ${j.split} · ${j.algorithm} | ${STATE_LABEL[j.state]} |\n`);
        item.tooltip = md;
        item.contextValue = 'reconGroup';
        return item;
      }
      case 'recon':
        return withRuns(reconItem(node.study, node.job, this.runs?.get(node.study.folder, node.job), this.model.liveProgress(node.job)), node.job);
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.tooltip = node.detail ?? node.text;
        if (node.text === node.study.layout?.ambiguity?.message) {
          // More than one study here: the note offers the choice.
          item.iconPath = new vscode.ThemeIcon('warning');
          item.contextValue = 'ambiguity';
          item.command = { command: 'ptychoStudy.chooseStudyRoot', title: vscode.l10n.t('Choose Study Root…'), arguments: [] };
          return item;
        }
        item.iconPath = new vscode.ThemeIcon('info');
        item.contextValue = 'message';
        return item;
      }
    }
  }

  dispose(): void {
    this.sub.dispose();
    this.runSub?.dispose();
    this.slurmSub?.dispose();
    this.changed.dispose();
  }
}

function summarizeStates(jobs: readonly { state: JobState }[]): string {
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(STATE_LABEL[j.state], (counts.get(STATE_LABEL[j.state]) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(', ');
}

export function jobItem(study: FolderStudy, job: StudyJob, live?: LiveRun, progress?: LiveProgress): vscode.TreeItem {
  const item = new vscode.TreeItem(`${job.view} (gs${job.gridsize})`, vscode.TreeItemCollapsibleState.None);
  item.id = `job:${study.folder.uri.toString()}:${job.id}`;
  setStateIcon(item, 'job', job.state, live);
  item.description = live ? describeLive(live) : describeJob(job, progress);
  item.tooltip = jobTooltip(job);
  item.command = { command: 'ptychoStudy.openLog', title: vscode.l10n.t('Open Job'), arguments: [job.id] };
  item.accessibilityInformation = { label: `${job.id}, ${live ? live.state : STATE_LABEL[job.state]}${job.reason ? `: ${job.reason}` : ''}` };
  return item;
}

/**
 * The state icon and context value (`job.<state>`, `recon.<state>`) of a job node. A run of this window decides
 * them: queued and running jobs offer Cancel.
 */
function setStateIcon(item: vscode.TreeItem, prefix: 'job' | 'recon', state: JobState, live: LiveRun | undefined): void {
  const [icon, color] = live && live.state !== 'queued' ? STATE_ICON.running : live ? ['watch', 'charts.yellow'] : STATE_ICON[state];
  item.iconPath = new vscode.ThemeIcon(icon, color ? new vscode.ThemeColor(color) : undefined);
  item.contextValue = live ? `${prefix}.${live.state === 'queued' ? 'queued' : 'running'}` : `${prefix}.${state}`;
}

/** A job with earlier runs (runs/<id>/) expands to its runs; a job with one run stays a leaf. */
function withRuns(item: vscode.TreeItem, job: StudyJob | ReconstructionJob): vscode.TreeItem {
  const older = archivedRunIds(job.artifactDir).length;
  if (older > 0) {
    item.collapsibleState = vscode.TreeItemCollapsibleState.Collapsed;
    item.tooltip = item.tooltip instanceof vscode.MarkdownString
      ? item.tooltip.appendMarkdown(`\n\n${older === 1 ? vscode.l10n.t('{0} earlier run kept under `runs/`: expand to see them.', older) : vscode.l10n.t('{0} earlier runs kept under `runs/`: expand to see them.', older)}`)
      : item.tooltip;
  }
  return item;
}

/** One run of a job: id, status, epochs, the headline r values and what it changed against the latest run. */
export function runItem(node: Extract<JobsNode, { kind: 'run' }>): vscode.TreeItem {
  const r = node.run;
  const item = new vscode.TreeItem(r.latest ? vscode.l10n.t('{0} (latest)', r.id) : r.id, vscode.TreeItemCollapsibleState.None);
  item.id = `run:${node.study.folder.uri.toString()}:${node.job.id}:${r.id}:${r.latest ? 'latest' : 'kept'}`;
  const icon: Record<string, [string, string | undefined]> = { succeeded: ['pass', 'charts.green'], failed: ['error', 'charts.red'], cancelled: ['circle-slash', 'charts.orange'], running: ['sync~spin', undefined] };
  const [name, color] = icon[r.status] ?? ['circle-large-outline', undefined];
  item.iconPath = new vscode.ThemeIcon(name, color ? new vscode.ThemeColor(color) : undefined);
  const f = (v: number | null | undefined): string => (v === null || v === undefined ? '—' : v.toFixed(3));
  const diff = r.latest ? [] : settingsDiff(node.latestSettings, r.settings);
  const isRecon = 'kind' in node.job && node.job.kind === 'reconstruct';
  // The run the study comparison and report use, when it is not simply the latest.
  const standsFor = node.represents && node.represents !== 'latest' ? (node.represents === 'chosen' ? vscode.l10n.t('★ in comparisons (chosen)') : vscode.l10n.t('★ in comparisons (latest succeeded)')) : undefined;
  item.description = [standsFor, r.status, r.epochs !== undefined ? (isRecon ? vscode.l10n.t('{0} iterations', r.epochs) : vscode.l10n.t('{0} epochs', r.epochs)) : undefined, r.amplitudeR !== undefined || r.phaseR !== undefined ? `r ${f(r.amplitudeR)} / ${f(r.phaseR)}` : undefined, diff.length ? diff.slice(0, 3).join(', ') : undefined].filter(Boolean).join(' · ');
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`${r.latest
    ? vscode.l10n.t("**Run {0}** of {1} — the latest (the job folder's top level)", escape(r.id), code(node.job.id))
    : vscode.l10n.t('**Run {0}** of {1} — kept under {2}', escape(r.id), code(node.job.id), code(`runs/${r.id}`))}\n\n`);
  md.appendMarkdown(`${vscode.l10n.t('Status: {0}', r.status)}${r.reason ? ` — ${escape(r.reason)}` : ''}\n\n`);
  if (r.startedAt) md.appendMarkdown(`${r.finishedAt ? vscode.l10n.t('Started {0}, finished {1}', escape(r.startedAt), escape(r.finishedAt)) : vscode.l10n.t('Started {0}', escape(r.startedAt))}\n\n`);
  if (r.amplitudeR !== undefined || r.phaseR !== undefined) md.appendMarkdown(`${vscode.l10n.t('Pearson r (common evaluation, covered pixels): amplitude {0}, phase {1}', f(r.amplitudeR), f(r.phaseR))}\n\n`);
  if (diff.length) md.appendMarkdown(`${vscode.l10n.t('Settings that differ from the latest run: {0}', diff.map((d) => code(d)).join(', '))}\n\n`);
  if (node.represents) md.appendMarkdown(node.represents === 'chosen' ? vscode.l10n.t('Stands for the job in the study comparison and report (chosen; **Use in Comparisons** again to go back to the default).') : node.represents === 'latest-succeeded' ? vscode.l10n.t('Stands for the job in the study comparison and report: the latest run did not succeed.') : vscode.l10n.t('Stands for the job in the study comparison and report.'));
  item.tooltip = md;
  item.contextValue = `run.${r.latest ? 'latest' : 'kept'}.${r.status}`;
  item.command = { command: 'ptychoStudy.showManifest', title: vscode.l10n.t('Show Manifest'), arguments: [{ jobId: node.job.id, ...(r.latest ? {} : { runId: r.id }) }] };
  return item;
}

/** A training job queued (or starting) on Slurm: the scheduler's state and reason until its manifest takes over. */
function slurmItem(study: FolderStudy, job: StudyJob, q: SlurmTaskState): vscode.TreeItem {
  const item = jobItem(study, job);
  const pending = q.state === 'PENDING';
  const ended = FINAL_SLURM_STATES[q.state];
  item.iconPath = ended ? new vscode.ThemeIcon(ended === 'cancelled' ? 'circle-slash' : 'error', new vscode.ThemeColor(ended === 'cancelled' ? 'charts.orange' : 'charts.red'))
    : new vscode.ThemeIcon(pending ? 'watch' : 'sync~spin', pending ? new vscode.ThemeColor('charts.yellow') : undefined);
  item.description = `${vscode.l10n.t('{0} on Slurm', pending ? vscode.l10n.t('pending') : q.state.toLowerCase())}${q.reason && !/^None\b/.test(q.reason) && !ended ? ` (${q.reason})` : ''} · ${vscode.l10n.t('array {0}', `${q.arrayJobId}_${q.task}`)}`;
  // A task that ended before its run started is the job's state now: Train (or Submit) again as for any ended job.
  item.contextValue = ended ? `job.${ended}` : 'job.queued';
  item.accessibilityInformation = { label: `${job.id}, ${item.description}` };
  return item;
}

/** A Phase F job: `<view> · <algorithm>` (the split when it is not `test`), state icon as a training job's. */
export function reconItem(study: FolderStudy, job: ReconstructionJob, live?: LiveRun, progress?: LiveProgress): vscode.TreeItem {
  const item = new vscode.TreeItem(`${job.view} · ${job.algorithm}${job.split === 'test' ? '' : ` (${job.split})`}`, vscode.TreeItemCollapsibleState.None);
  item.id = `recon:${study.folder.uri.toString()}:${job.id}`;
  setStateIcon(item, 'recon', job.state, live);
  item.description = live ? describeLive(live) : describeRecon(job, progress);
  item.tooltip = reconTooltip(job);
  // A click opens the job panel, as for a training job: live log, relative error and quality per iteration, actions.
  item.command = { command: 'ptychoStudy.openLog', title: vscode.l10n.t('Open Job'), arguments: [job.id] };
  item.accessibilityInformation = { label: `${job.id}, ${live ? live.state : STATE_LABEL[job.state]}${job.reason ? `: ${job.reason}` : ''}` };
  return item;
}

function describeRecon(job: ReconstructionJob, live?: LiveProgress): string {
  const state = STATE_LABEL[job.state];
  const m = job.run?.manifest;
  if (job.state === 'running' && live?.halves) return `${vscode.l10n.t('running')} · ${describeHalves(live.halves)}`;
  if (job.state === 'running' && live?.iteration) return `${vscode.l10n.t('running')} · ${describeIteration(live.iteration)}`;
  if (job.state === 'running' && m?.progress) return vscode.l10n.t('running · iteration {0}/{1}', m.progress.iteration, m.progress.iterations);
  const phase = (m?.result?.metrics as { phase?: { ssim?: number | null } } | undefined)?.phase;
  if (job.state === 'succeeded' && m?.result) {
    return typeof phase?.ssim === 'number'
      ? vscode.l10n.t('succeeded · {0} iterations · phase SSIM {1}', m.result.iterations, phase.ssim.toFixed(3))
      : vscode.l10n.t('succeeded · {0} iterations', m.result.iterations);
  }
  if (job.state === 'cancelled' && m?.progress) return vscode.l10n.t('cancelled · iteration {0}/{1}', m.progress.iteration, m.progress.iterations);
  if (job.state === 'missing' || job.state === 'invalid' || job.state === 'failed') return `${state}${job.reason ? ` — ${shorten(job.reason, 70)}` : ''}`;
  const n = job.data.info?.patternCount;
  return `${state}${n !== undefined ? ` · ${vscode.l10n.t('{0} patterns', n)}` : ''}${job.data.info?.n ? ` · N=${job.data.info.n}` : ''}`;
}

function reconTooltip(job: ReconstructionJob): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${job.id}** — ${STATE_LABEL[job.state]}\n\n`);
  if (job.reason) md.appendMarkdown(`${escape(job.reason)}\n\n`);
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| ${vscode.l10n.t('algorithm')} | ${job.algorithm} |\n| ${vscode.l10n.t('dose')} | ${vscode.l10n.t('{0} photons/pattern', job.dose.toLocaleString('en-US'))} |\n| ${vscode.l10n.t('split')} | ${job.split} |\n`);
  const info = job.data.info;
  md.appendMarkdown(`| ${vscode.l10n.t('data')} | ${code(path.basename(job.data.path))} — ${!job.data.exists ? vscode.l10n.t('not found') : info?.patternCount !== undefined ? vscode.l10n.t('{0} patterns, N={1}', info.patternCount, String(info.n)) : vscode.l10n.t('unreadable')} |\n`);
  md.appendMarkdown(`| ${vscode.l10n.t('artifacts')} | ${code(job.artifactDir)} |\n`);
  return md;
}

function describeProgress(verb: string, p: ProgressEvent): string {
  return vscode.l10n.t('{0} · epoch {1}/{2} · step {3}/{4} · loss {5} · {6} img/s · ETA {7}', verb, p.epoch, p.epochs, p.stepInEpoch, p.stepsPerEpoch, p.loss.toPrecision(4), p.imagesPerSec.toFixed(1), formatEta(p.etaSeconds));
}

function describeLive(live: LiveRun): string {
  if (live.state === 'queued') return vscode.l10n.t('queued');
  const verb = live.state === 'cancelling' ? vscode.l10n.t('cancelling') : vscode.l10n.t('running');
  if (live.halves) return `${verb} · ${describeHalves(live.halves)}`;
  if (live.iteration) return `${verb} · ${describeIteration(live.iteration)}`;
  const p = live.progress;
  if (!p) return live.state === 'cancelling' ? vscode.l10n.t('cancelling…') : vscode.l10n.t('starting…');
  return describeProgress(verb, p);
}

function describeJob(job: StudyJob, live?: LiveProgress): string {
  const state = STATE_LABEL[job.state];
  // A run in another process (the CLI, a window since closed): its progress from events.jsonl, as for this window's
  // runs; the manifest's (written at each epoch and heartbeat) until that has been read.
  if (job.state === 'running' && live?.progress) return describeProgress(vscode.l10n.t('running'), live.progress);
  const progress = job.state === 'running' ? job.run?.manifest.progress : undefined;
  if (progress) return vscode.l10n.t('running · epoch {0}/{1} · step {2}/{3}', progress.epoch, progress.epochs, progress.step, progress.stepsPerEpoch);
  const result = job.state === 'succeeded' ? job.run?.manifest.result : undefined;
  const phase = (result?.metrics as { phase?: { ssim?: number | null } } | undefined)?.phase;
  if (result && phase?.ssim !== undefined && phase.ssim !== null) return vscode.l10n.t('succeeded · {0} epochs · phase SSIM {1}', result.epochs, phase.ssim.toFixed(3));
  if (job.state === 'missing' || job.state === 'invalid') return `${state} — ${shorten(job.reason ?? '', 70)}`;
  const t = job.train.info?.patternCount;
  const e = job.test.info?.patternCount;
  const n = job.train.info?.n;
  const counts = t !== undefined ? ` · ${vscode.l10n.t('{0} patterns', `${t}${e !== undefined ? `/${e}` : ''}`)}` : '';
  return `${state}${counts}${n ? ` · N=${n}` : ''}`;
}

function shorten(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

function doseTooltip(study: FolderStudy, dose: number, jobs: StudyJob[]): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`${vscode.l10n.t('**dose {0}** — {1} photons per pattern', formatDose(dose), dose.toLocaleString('en-US'))}\n\n`);
  const entry = study.layout?.doses.find((d) => d.dose === dose);
  if (entry?.phaseC) md.appendMarkdown(`${vscode.l10n.t('Phase C: {0}', code(entry.phaseC.dir))}\n\n`);
  md.appendMarkdown(`| ${vscode.l10n.t('job')} | ${vscode.l10n.t('state')} |\n|---|---|\n`);
  for (const j of jobs) md.appendMarkdown(`| ${escape(j.view)} (gs${j.gridsize}) | ${STATE_LABEL[j.state]} |\n`);
  return md;
}

function jobTooltip(job: StudyJob): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.supportThemeIcons = true;
  md.appendMarkdown(`**${job.id}** — ${STATE_LABEL[job.state]}\n\n`);
  if (job.reason) md.appendMarkdown(`${escape(job.reason)}\n\n`);
  md.appendMarkdown(`| | |\n|---|---|\n`);
  md.appendMarkdown(`| ${vscode.l10n.t('dose')} | ${vscode.l10n.t('{0} photons/pattern', job.dose.toLocaleString('en-US'))} |\n| ${vscode.l10n.t('gridsize')} | ${job.gridsize} |\n`);
  for (const ds of [job.train, job.test]) {
    const info = ds.info;
    const what = !ds.exists ? vscode.l10n.t('not found') : info?.patternCount !== undefined ? vscode.l10n.t('{0} patterns, N={1}, {2}', info.patternCount, String(info.n), mib(info.sizeBytes)) : vscode.l10n.t('unreadable');
    md.appendMarkdown(`| ${ds.split} | ${code(path.basename(ds.path))} — ${what} |\n`);
  }
  md.appendMarkdown(`| ${vscode.l10n.t('artifacts')} | ${code(job.artifactDir)} |\n`);
  const findings = job.findings.filter((f) => f.severity !== 'info');
  if (findings.length > 0) {
    md.appendMarkdown(`\n**${vscode.l10n.t('Validation')}**\n\n`);
    for (const f of findings.slice(0, 8)) md.appendMarkdown(`- ${findingIcon(f)} \`${f.rule}\` ${escape(path.basename(f.file))}: ${escape(f.message)}\n`);
    if (findings.length > 8) md.appendMarkdown(`- … ${vscode.l10n.t('{0} more in the Problems panel', findings.length - 8)}\n`);
  }
  return md;
}

function findingIcon(f: Finding): string {
  return f.severity === 'error' ? '$(error)' : f.severity === 'warning' ? '$(warning)' : '$(info)';
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** A Markdown code span (no escaping inside; pipes escaped for table cells). */
function code(s: string): string {
  const fence = s.includes('`') ? '``' : '`';
  return `${fence}${s.replace(/\|/g, '\\|')}${fence}`;
}

function escape(s: string): string {
  return s.replace(/[\\`*_{}[\]()#+!|<>]/g, (c) => `\\${c}`);
}
