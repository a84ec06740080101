// The study-level records at the artifact root, keeping the seed study's key names (domain.md §5.4):
// training_manifest.json (every job with its status and results, skipped views with reasons) and
// skip_summary.json. They are rebuilt from the job folders on disk (a pure function of the file system), under
// a lock file so two runs finishing at once cannot interleave their writes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { discoverStudy } from '../study/discovery';
import { listJobs, type StudyJob } from '../study/jobs';
import { isProcessAlive } from '../study/manifest';
import { ARTIFACT, STUDY_ARTIFACT } from '../study/layout';

const LOCK = '.training_manifest.lock';
const LOCK_WAIT_MS = 15_000;
const LOCK_STALE_MS = 60_000;

/** Runs `fn` holding `<dir>/<lockName>` (created O_EXCL; broken when its holder is dead or it is over a minute old). */
export async function withLock<T>(dir: string, fn: () => Promise<T>, lockName: string = LOCK): Promise<T> {
  await fs.promises.mkdir(dir, { recursive: true });
  const lock = path.join(dir, lockName);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const fh = await fs.promises.open(lock, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      // A lock left by a process that died, or held far too long, is stale.
      const holder = Number(await fs.promises.readFile(lock, 'utf8').catch(() => 'NaN'));
      const age = Date.now() - ((await fs.promises.stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if ((Number.isInteger(holder) && !isProcessAlive(holder)) || age > LOCK_STALE_MS) {
        await fs.promises.rm(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lock} is held by process ${holder}; cannot update the study manifest.`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.promises.rm(lock, { force: true });
  }
}

function fileInfo(file: string): { bytes: number } | undefined {
  try {
    return { bytes: fs.statSync(file).size };
  } catch {
    return undefined;
  }
}

function jobEntry(job: StudyJob): Record<string, unknown> {
  const m = job.run?.manifest;
  const entry: Record<string, unknown> = {
    id: job.id,
    dose: job.dose,
    view: job.view,
    gridsize: job.gridsize,
    train_data_path: job.train.path,
    test_data_path: job.test.path,
    log_path: job.logPath,
    artifact_dir: job.artifactDir,
    state: job.state,
  };
  if (job.reason) entry.reason = job.reason;
  if (m && job.run && job.run.status !== 'dry-run') {
    const model = m.artifacts?.[ARTIFACT.model];
    const result = m.result;
    entry.result = {
      status: job.run.status === 'succeeded' ? 'success' : job.run.status,
      bundle_path: model ? ARTIFACT.model : null,
      bundle_sha256: model?.sha256 ?? null,
      bundle_size_bytes: model?.bytes ?? fileInfo(path.join(job.artifactDir, ARTIFACT.model))?.bytes ?? null,
      final_loss: result?.finalLoss ?? null,
      best_val_loss: result?.bestValLoss ?? null,
      epochs_completed: result?.epochs ?? m.progress?.epoch ?? null,
      checkpoint_path: fileInfo(path.join(job.artifactDir, ARTIFACT.checkpoint)) ? ARTIFACT.checkpoint : null,
      metrics: result?.metrics ?? null,
      execution_provider: m.runtime?.executionProviderUsed ?? null,
      reason: job.run.reason ?? null,
    };
  }
  return entry;
}

export interface StudyManifestInput {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot: string;
}

/** Rebuilds training_manifest.json and skip_summary.json from the study on disk. */
export async function writeStudyManifest(roots: StudyManifestInput, now: Date = new Date()): Promise<{ manifestPath: string; skipSummaryPath: string; jobs: number; skipped: number }> {
  const layout = await discoverStudy({ phaseCRoot: roots.phaseCRoot, phaseDRoot: roots.phaseDRoot, artifactRoot: roots.artifactRoot });
  const jobs = await listJobs(layout, { inspect: false });
  const present = jobs.filter((j) => j.state !== 'missing');
  const skipped = jobs.filter((j) => j.state === 'missing').map((j) => ({ dose: j.dose, view: j.view, gridsize: j.gridsize, reason: j.reason ?? 'data not found' }));
  const timestamp = now.toISOString();
  const manifestPath = path.join(layout.artifactRoot, STUDY_ARTIFACT.trainingManifest);
  const skipSummaryPath = path.join(layout.artifactRoot, STUDY_ARTIFACT.skipSummary);
  await withLock(layout.artifactRoot, async () => {
    await writeJsonAtomic(skipSummaryPath, { timestamp, skipped_views: skipped, skipped_count: skipped.length });
    await writeJsonAtomic(manifestPath, {
      timestamp,
      phase_c_root: layout.phaseCRoot ?? null,
      phase_d_root: layout.phaseDRoot ?? null,
      artifact_root: layout.artifactRoot,
      jobs: present.map(jobEntry),
      skipped_views: skipped,
      skipped_count: skipped.length,
      skip_summary_path: STUDY_ARTIFACT.skipSummary,
    });
  });
  return { manifestPath, skipSummaryPath, jobs: present.length, skipped: skipped.length };
}
