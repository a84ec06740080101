// The parent side of a Phase F reconstruction: the same launcher as training (launcher.ts launchWorker: the
// job's run lock, the resume check, run-config.json, the worker process with a run id, a crash recorded as
// `failed`), with the reconstruction's log, checkpoint kind and manifest; and the Phase F root's study records,
// reconstruction_manifest.json and skip_summary.json (the original study's names, domain.md §6), rebuilt from
// the job folders on disk under a lock, as training_manifest.json is.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJsonAtomic } from '../atomic';
import { discoverStudy } from '../study/discovery';
import { ARTIFACT } from '../study/layout';
import {
  checkReconstructionConfig, listReconstructionJobs, PHASE_F_ARTIFACT, RECON_LOG, type ReconstructionConfig, type ReconstructionJob,
} from '../study/reconstructJobs';
import { readRunPlan } from '../study/runConfigFile';
import { failedReconstructionManifest } from './manifestWriter';
import { launchWorker, refuseOtherSettings, type LaunchOptions, type RunHandle, type WorkerJob } from './launcher';
import { RECON_CHECKPOINT, reconLaunchDifferences, reconLaunchKeyOf } from './reconstructionCheckpoint';
import { checkResumable } from './resume';
import { withLock, type StudyManifestInput } from './studyManifest';

/** The launcher's view of a reconstruction job. */
function reconstructionJob(config: ReconstructionConfig): WorkerJob {
  return {
    jobId: config.jobId,
    artifactDir: config.artifactDir,
    config,
    logName: RECON_LOG,
    activity: 'reconstructed',
    checkResumable: async () => {
      const state = await checkResumable(config.artifactDir, config.jobId, RECON_CHECKPOINT);
      await refuseOtherSettings(config, state, reconLaunchKeyOf(config), async () => {
        const ran = checkReconstructionConfig(await readRunPlan(config.artifactDir), path.join(config.artifactDir, ARTIFACT.runConfig), config.artifactDir);
        return { key: reconLaunchKeyOf(ran), differences: reconLaunchDifferences(ran, config) };
      }, 'ptycho-study reconstruct without --resume');
    },
    failedManifest: (at) => failedReconstructionManifest(config, at),
  };
}

/**
 * Starts a reconstruction in a worker process (dist/worker.js, which runs it on seeing the config's kind): refused
 * (JobLockedError) while another run holds the job, and (ResumeError) on a resume without a readable checkpoint.
 */
export function startReconstruction(config: ReconstructionConfig, options: Omit<LaunchOptions, 'threads' | 'threadsSource'>): Promise<RunHandle> {
  return launchWorker(reconstructionJob(config), options);
}

const RETURN_CODES: Record<string, number | null> = { succeeded: 0, failed: 1, cancelled: 130, running: null };

function jobEntry(job: ReconstructionJob): Record<string, unknown> {
  const m = job.run?.manifest;
  const entry: Record<string, unknown> = {
    id: job.id, dose: job.dose, view: job.view, split: job.split, algorithm: job.algorithm, input_npz: job.data.path,
    output_dir: job.artifactDir, log_path: job.logPath, state: job.state,
  };
  if (job.reason) entry.reason = job.reason;
  if (m && job.run && job.run.status !== 'dry-run') {
    entry.result = {
      status: job.run.status === 'succeeded' ? 'success' : job.run.status,
      iterations: m.result?.iterations ?? m.progress?.iteration ?? null,
      relative_error: m.result?.relativeError ?? null,
      metrics: m.result?.metrics ?? null,
      reconstruction_path: m.artifacts?.[ARTIFACT.reconstruction] ? ARTIFACT.reconstruction : null,
      checkpoint_path: fs.existsSync(path.join(job.artifactDir, ARTIFACT.checkpoint)) ? ARTIFACT.checkpoint : null,
      execution_provider: m.runtime?.executionProviderUsed ?? null,
      reason: job.run.reason ?? null,
    };
  }
  return entry;
}

/** The study's roots and its Phase F root. */
export interface ReconstructionRoots extends StudyManifestInput {
  phaseFRoot: string;
}

/** Rebuilds `<phaseFRoot>/reconstruction_manifest.json` and `skip_summary.json` from the study on disk. */
export async function writeReconstructionManifest(roots: ReconstructionRoots, now: Date = new Date()): Promise<{ manifestPath: string; skipSummaryPath: string; jobs: number; skipped: number }> {
  const layout = await discoverStudy({ phaseCRoot: roots.phaseCRoot, phaseDRoot: roots.phaseDRoot, artifactRoot: roots.artifactRoot });
  const jobs = await listReconstructionJobs(layout, { phaseFRoot: roots.phaseFRoot, inspect: false });
  const present = jobs.filter((j) => j.state !== 'missing');
  const skipped = jobs.filter((j) => j.state === 'missing').map((j) => ({ dose: j.dose, view: j.view, split: j.split, algorithm: j.algorithm, reason: j.reason ?? 'data not found' }));
  const timestamp = now.toISOString();
  const manifestPath = path.join(roots.phaseFRoot, PHASE_F_ARTIFACT.reconstructionManifest);
  const skipSummaryPath = path.join(roots.phaseFRoot, PHASE_F_ARTIFACT.skipSummary);
  const executed = present.filter((j) => j.run && j.run.status !== 'dry-run');
  await withLock(roots.phaseFRoot, async () => {
    await writeJsonAtomic(skipSummaryPath, {
      timestamp, skipped_count: skipped.length, skipped_jobs: skipped, missing_phase_d_count: skipped.filter((s) => s.view !== 'baseline').length,
    });
    await writeJsonAtomic(manifestPath, {
      timestamp,
      phase_c_root: layout.phaseCRoot ?? null,
      phase_d_root: layout.phaseDRoot ?? null,
      phase_f_root: roots.phaseFRoot,
      total_jobs: jobs.length,
      jobs: present.map(jobEntry),
      execution_results: executed.map((j) => ({
        dose: j.dose, view: j.view, split: j.split, algorithm: j.algorithm, status: j.run!.status, returncode: RETURN_CODES[j.run!.status] ?? null,
        log_path: j.logPath, manifest_path: j.run!.manifestPath,
      })),
      missing_jobs: skipped,
      skip_summary_path: PHASE_F_ARTIFACT.skipSummary,
    });
  }, '.reconstruction_manifest.lock');
  return { manifestPath, skipSummaryPath, jobs: present.length, skipped: skipped.length };
}
