// The study as the extension sees it: per workspace folder, the discovered layout and its jobs.
// Refreshes are coalesced (one at a time, at most one queued) and debounced for file-change storms.
// A header-only pass fills the tree at once; a second pass samples frames for the Problems panel.
import * as vscode from 'vscode';
import { discoverStudy, listJobs, type StudyJob, type StudyLayout } from '../core/study';
import { discoverOptionsFor, trainingSettingsFor } from './settings';

export interface FolderStudy {
  folder: vscode.WorkspaceFolder;
  layout?: StudyLayout;
  jobs: StudyJob[];
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
  state: StudyState = 'loading';
  refreshCount = 0;

  constructor(private readonly log: vscode.LogOutputChannel) {}

  get folders(): readonly FolderStudy[] {
    return this.studies;
  }

  allJobs(): StudyJob[] {
    return this.studies.flatMap((s) => s.jobs);
  }

  /** Jobs with this id (one per workspace folder that has it). */
  findJobs(id: string): { job: StudyJob; folder: vscode.WorkspaceFolder }[] {
    return this.studies.flatMap((s) => s.jobs.filter((j) => j.id === id).map((job) => ({ job, folder: s.folder })));
  }

  folderOf(job: StudyJob): vscode.WorkspaceFolder | undefined {
    return this.studies.find((s) => s.jobs.includes(job))?.folder;
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
    const next: FolderStudy[] = [];
    for (const folder of folders) next.push(await this.discoverFolder(folder, false));
    if (gen !== this.generation) return;
    this.studies = next;
    this.refreshCount++;
    this.state = next.some((s) => s.jobs.length > 0) ? 'ready' : 'empty';
    const jobs = this.allJobs();
    this.log.info(`Discovered ${jobs.length} jobs in ${folders.length} folder(s) in ${Date.now() - started} ms (headers only).`);
    for (const s of next) {
      if (s.error) this.log.warn(`${s.folder.name}: ${s.error}`);
      for (const n of s.layout?.notes ?? []) this.log.info(`${s.folder.name}: ${n}`);
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
      const neighborCount = trainingSettingsFor(folder).neighborCount;
      const jobs = layout.doses.length > 0 ? await listJobs(layout, { deep, neighborCount }) : [];
      return { folder, layout, jobs, deepValidated: deep };
    } catch (err) {
      return { folder, jobs: [], error: (err as Error).message, deepValidated: deep };
    }
  }

  dispose(): void {
    if (this.debounce) clearTimeout(this.debounce);
    this.changed.dispose();
  }
}
