// The study as the extension sees it: per workspace folder, the discovered layout and its jobs.
// Refreshes are coalesced (one at a time, at most one queued) and debounced for file-change storms.
// A header-only pass fills the tree at once; a second pass samples frames for the Problems panel.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { ProgressReader, type LiveProgress } from '../core/run/liveProgress';
import { discoverStudy, listJobs, refreshRunState, studyFingerprint, type StudyJob, type StudyLayout } from '../core/study';
import { defaultPhaseFRoot, listReconstructionJobs, type ReconstructionJob } from '../core/study/reconstructJobs';
import { discoverOptionsFor, listedReconstructionAlgorithms, phaseFRootFor, pollIntervalMs, trainingSettingsFor } from './settings';

export interface FolderStudy {
  folder: vscode.WorkspaceFolder;
  layout?: StudyLayout;
  jobs: StudyJob[];
  /** Phase F iterative-reconstruction jobs (dose × view × split × algorithm), beside the training jobs. */
  recons: ReconstructionJob[];
  /** The Phase F root: `ptychoStudy.phaseFRoot`, else `phase_f` beside Phase C. */
  phaseFRoot?: string;
  /** Why discovery failed (e.g. a configured root that does not exist). */
  error?: string;
  /** True once frame-sampling validation has run for these jobs. */
  deepValidated: boolean;
}

export type StudyState = 'loading' | 'empty' | 'ready';

export class StudyModel implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private studies: FolderStudy[] = [];
  private running: Promise<void> | undefined;
  private queued = false;
  private debounce: NodeJS.Timeout | undefined;
  private idleWaiters: (() => void)[] = [];
  private generation = 0;
  /** Fingerprint per folder at the start of the last refresh (see core/study/fingerprint.ts). */
  private fingerprints = new Map<string, string>();
  private poll: NodeJS.Timeout | undefined;
  private polling = false;
  state: StudyState = 'loading';
  refreshCount = 0;
  /** Job-only updates done (a change inside one job's artifact folder): each re-read one manifest. */
  jobRefreshCount = 0;
  /** Pending job-only updates, by artifact folder (debounced: a run writes several files at once). */
  private jobTimers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly log: vscode.LogOutputChannel) {
    this.restartPolling();
  }

  /** (Re)starts the change poll with the current `ptychoStudy.pollIntervalSeconds`. */
  restartPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
    const ms = pollIntervalMs();
    if (ms > 0) this.poll = setInterval(() => void this.pollOnce(), ms);
  }

  /** Refreshes when a folder's fingerprint differs from the one taken at the last refresh. */
  private async pollOnce(): Promise<void> {
    if (this.polling || this.running || this.debounce) return;
    this.polling = true;
    try {
      for (const folder of vscode.workspace.workspaceFolders ?? []) {
        const now = await studyFingerprint(discoverOptionsFor(folder));
        const last = this.fingerprints.get(folder.uri.toString());
        if (last !== undefined && now !== last) {
          this.log.info(`${folder.name}: files changed without a file-system event; refreshing.`);
          this.requestRefresh(0);
          return;
        }
      }
    } finally {
      this.polling = false;
    }
  }

  get folders(): readonly FolderStudy[] {
    return this.studies;
  }

  allJobs(): StudyJob[] {
    return this.studies.flatMap((s) => s.jobs);
  }

  allRecons(): ReconstructionJob[] {
    return this.studies.flatMap((s) => s.recons);
  }

  /** Phase F jobs with this id (one per workspace folder that has it). */
  findRecons(id: string): { job: ReconstructionJob; folder: vscode.WorkspaceFolder }[] {
    return this.studies.flatMap((s) => s.recons.filter((j) => j.id === id).map((job) => ({ job, folder: s.folder })));
  }

  /** Jobs with this id (one per workspace folder that has it). */
  findJobs(id: string): { job: StudyJob; folder: vscode.WorkspaceFolder }[] {
    return this.studies.flatMap((s) => s.jobs.filter((j) => j.id === id).map((job) => ({ job, folder: s.folder })));
  }

  folderOf(job: StudyJob | ReconstructionJob): vscode.WorkspaceFolder | undefined {
    return this.studies.find((s) => (s.jobs as unknown[]).includes(job) || (s.recons as unknown[]).includes(job))?.folder;
  }

  /**
   * Whether a changed path can change the jobs: a dataset, a manifest, a dose folder, or anything inside a
   * Phase C/D root. Logs and checkpoints under the artifact root are not (they change every training step).
   */
  isStudyPath(fsPath: string): boolean {
    const base = path.basename(fsPath);
    if (base.endsWith('.npz') || base === 'manifest.json' || base.startsWith('dose_')) return true;
    if (base.endsWith('.log') || base.endsWith('.tmp') || base.includes('.tmp-')) return false;
    const inside = (root?: string): boolean => !!root && (fsPath === root || fsPath.startsWith(root + path.sep));
    return this.studies.some((s) => inside(s.layout?.phaseCRoot) || inside(s.layout?.phaseDRoot) || inside(s.phaseFRoot));
  }

  /** The listed job (training or reconstruction) whose artifact folder directly holds `fsPath`, if any. */
  jobOwning(fsPath: string): StudyJob | ReconstructionJob | undefined {
    const dir = path.dirname(fsPath);
    for (const s of this.studies) {
      const hit = s.jobs.find((j) => j.artifactDir === dir) ?? s.recons.find((j) => j.artifactDir === dir);
      if (hit) return hit;
    }
    return undefined;
  }

  /**
   * A file changed inside one job's artifact folder (its manifest, checkpoint, log, events): re-read that job's
   * run record only and update its state — the study's datasets are not touched. Debounced per job.
   */
  requestJobRefresh(job: StudyJob | ReconstructionJob, delayMs = 200): void {
    const key = job.artifactDir;
    const pending = this.jobTimers.get(key);
    if (pending) clearTimeout(pending);
    this.jobTimers.set(key, setTimeout(() => {
      this.jobTimers.delete(key);
      void this.refreshJob(job);
    }, delayMs));
  }

  private async refreshJob(job: StudyJob | ReconstructionJob): Promise<void> {
    // A full refresh in flight replaces the jobs anyway (and reads this manifest too).
    if (this.running) return;
    try {
      await refreshRunState(job, 'kind' in job && job.kind === 'reconstruct');
      await this.followProgress(job);
    } catch (err) {
      this.log.warn(`${job.id}: reading its run record failed: ${(err as Error).message}`);
      return;
    }
    this.jobRefreshCount++;
    // The tree and panels re-read the job from here (its progress may have moved even when its state did not).
    this.changed.fire();
  }

  // ---- live progress: one source for every run, whoever started it (core/run/liveProgress.ts)

  private readonly progressReaders = new Map<string, ProgressReader>();

  /** The live progress of a running job, from its events.jsonl (undefined until read, or when it is not running). */
  liveProgress(job: StudyJob | ReconstructionJob): LiveProgress | undefined {
    return this.progressReaders.get(job.artifactDir)?.current;
  }

  /** Reads what the job's worker appended to events.jsonl since the last poll. */
  pollProgress(job: StudyJob | ReconstructionJob): Promise<LiveProgress> {
    let r = this.progressReaders.get(job.artifactDir);
    if (!r) this.progressReaders.set(job.artifactDir, (r = new ProgressReader(job.artifactDir)));
    const since = job.run?.manifest.startedAt;
    return r.poll(typeof since === 'string' ? since : undefined);
  }

  /** A running job's progress is followed; a job that stopped running drops its reader. */
  private async followProgress(job: StudyJob | ReconstructionJob): Promise<void> {
    if (job.state === 'running') await this.pollProgress(job);
    else this.progressReaders.delete(job.artifactDir);
  }

  /** Schedules a refresh after file changes settle. */
  requestRefresh(delayMs = 300): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      void this.refresh();
    }, delayMs);
  }

  /** Re-discovers every folder. Concurrent calls coalesce into at most one more pass. */
  refresh(): Promise<void> {
    if (this.running) {
      this.queued = true;
      return this.running.then(() => this.running ?? Promise.resolve());
    }
    this.running = this.runPasses().finally(() => {
      this.running = undefined;
      if (this.queued) {
        this.queued = false;
        void this.refresh();
      } else if (!this.debounce) {
        this.idleWaiters.splice(0).forEach((r) => r());
      }
    });
    return this.running;
  }

  /** Resolves when no refresh is running, queued or debounced (tests and commands wait on it). */
  whenIdle(): Promise<void> {
    if (!this.running && !this.queued && !this.debounce) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async runPasses(): Promise<void> {
    const gen = ++this.generation;
    const started = Date.now();
    const folders = vscode.workspace.workspaceFolders ?? [];
    // Fingerprints first: a change during discovery then shows up at the next poll.
    for (const folder of folders) this.fingerprints.set(folder.uri.toString(), await studyFingerprint(discoverOptionsFor(folder)));
    const next: FolderStudy[] = [];
    for (const folder of folders) next.push(await this.discoverFolder(folder, false));
    if (gen !== this.generation) return;
    this.studies = next;
    this.refreshCount++;
    this.state = next.some((s) => s.jobs.length > 0) ? 'ready' : 'empty';
    // Running jobs (this window's or another process's): their progress from events.jsonl; the others drop theirs.
    const running = new Set<string>();
    for (const j of [...this.allJobs(), ...this.allRecons()]) {
      if (j.state !== 'running') continue;
      running.add(j.artifactDir);
      await this.pollProgress(j).catch(() => undefined);
    }
    for (const dir of [...this.progressReaders.keys()]) if (!running.has(dir)) this.progressReaders.delete(dir);
    const jobs = this.allJobs();
    this.log.info(`Discovered ${jobs.length} jobs in ${folders.length} folder(s) in ${Date.now() - started} ms (headers only).`);
    for (const s of next) {
      if (s.error) this.log.warn(`${s.folder.name}: ${s.error}`);
      for (const n of s.layout?.notes ?? []) this.log.info(`${s.folder.name}: ${n}`);
      for (const f of s.layout?.findings ?? []) this.log.warn(`${s.folder.name}: ${f.file}: ${f.message}`);
    }
    this.changed.fire();
    // Second pass: sampled-frame validation for the Problems panel (fixed cost per file).
    const deepStarted = Date.now();
    const deep: FolderStudy[] = [];
    for (const folder of folders) deep.push(await this.discoverFolder(folder, true));
    if (gen !== this.generation) return;
    this.studies = deep;
    this.log.info(`Validated ${this.allJobs().length} jobs (sampled frames) in ${Date.now() - deepStarted} ms.`);
    this.changed.fire();
  }

  private async discoverFolder(folder: vscode.WorkspaceFolder, deep: boolean): Promise<FolderStudy> {
    try {
      const layout = await discoverStudy(discoverOptionsFor(folder));
      const { neighborCount, allowIntensityData } = trainingSettingsFor(folder);
      const jobs = layout.doses.length > 0 ? await listJobs(layout, { deep, neighborCount, allowIntensityData }) : [];
      const phaseFRoot = phaseFRootFor(folder) ?? defaultPhaseFRoot(layout);
      // Header checks only: the training jobs' pass above already sampled the same split files.
      const recons = layout.doses.length > 0 ? await listReconstructionJobs(layout, { phaseFRoot, algorithms: listedReconstructionAlgorithms(folder) }) : [];
      return { folder, layout, jobs, recons, phaseFRoot, deepValidated: deep };
    } catch (err) {
      return { folder, jobs: [], recons: [], error: (err as Error).message, deepValidated: deep };
    }
  }

  dispose(): void {
    if (this.debounce) clearTimeout(this.debounce);
    for (const t of this.jobTimers.values()) clearTimeout(t);
    if (this.poll) clearInterval(this.poll);
    this.changed.dispose();
  }
}
