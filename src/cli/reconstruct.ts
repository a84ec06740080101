// `ptycho-study reconstruct`: the Phase F iterative reconstructions (ePIE, rPIE, ad) of the matching dose × view
// jobs, one after another, each in a worker process (dist/worker.js; never in this process), with the same run
// lock, progress, Ctrl-C cancel (checkpoint kept), --resume and exit codes as `train` (runQueue.ts). Also what
// `list` shows of Phase F.
import * as path from 'node:path';
import { writeReconstructionManifest, startReconstruction } from '../core/run/reconstructionLauncher';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '../core/study/config';
import type { StudyLayout } from '../core/study/discovery';
import type { JobFilter } from '../core/study/jobs';
import { formatDose, SPLITS, type Split } from '../core/study/layout';
import { PlanError } from '../core/run/plan';
import {
  AD_LOSSES, defaultPhaseFRoot, listReconstructionJobs, planReconstruction, PROBE_MODES, RECON_ALGORITHMS, resolveReconstructionSettings,
  type ReconAlgorithm, type ReconstructionJob, type ReconstructionSettings,
} from '../core/study/reconstructJobs';
import { bool, num, onOffChoice, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO } from './commands';
import { finishQueue, runQueue, type QueuedJob } from './runQueue';
import { listedAlgorithmsFromFiles, phaseFRootFromFiles, reconstructionSettingsWithFiles, settingsSourcesOf } from './settingsFiles';

export const PHASE_F_ROOT_FLAG: FlagSpec = { 'phase-f-root': { type: 'string' } };
export const PHASE_F_ROOT_HELP = '  --phase-f-root DIR     where Phase F reconstruction folders go (default: the settings files\' phaseFRoot, else phase_f beside Phase C)';

export const RECONSTRUCT_USAGE = 'ptycho-study reconstruct [roots] [--dose X] [--view V] [--gridsize G] [--split train|test] [--algorithm epie|rpie|ad] '
  + '[--iterations N] [--probe fixed|refine] [--ep auto|cuda|webgpu|cpu] [--learning-rate X] [--loss amplitude|poisson] [--batch-size B] [--no-amplitude-filter] [--no-phase-filter] [--resume] [--json]';

export const RECONSTRUCT_FLAGS: FlagSpec = {
  ...PHASE_F_ROOT_FLAG, json: { type: 'boolean' }, quiet: { type: 'boolean' }, resume: { type: 'boolean' },
  split: { type: 'string' }, algorithm: { type: 'string' }, iterations: { type: 'string' }, probe: { type: 'string' },
  ep: { type: 'string' }, seed: { type: 'string' }, momentum: { type: 'string' }, anneal: { type: 'string' },
  alpha: { type: 'string' }, beta: { type: 'string' }, 'checkpoint-every': { type: 'string' },
  'learning-rate': { type: 'string' }, loss: { type: 'string' }, 'batch-size': { type: 'string' },
  'amplitude-filter': { type: 'boolean' }, 'no-amplitude-filter': { type: 'boolean' }, 'phase-filter': { type: 'boolean' }, 'no-phase-filter': { type: 'boolean' },
};

export const RECONSTRUCT_HELP = [
  'Each job reconstructs the view\'s split with known scan positions (object initialised to ones, the probe from',
  'probeGuess) in its own worker process; progress goes to the terminal, <job>/recon.log and <job>/events.jsonl',
  '(every iteration: its error and, against objectGuess, amplitude and phase Pearson r). The results go to',
  '<phase_f>/dose_<int>/<view>/<split>/<algorithm>/: manifest.json, checkpoint.npz, reconstruction.npz (object,',
  'amplitude, phase, probe, weight, origin, ground_truth), metrics.json (scored on the dose\'s common evaluation, as',
  'the training jobs), amplitude.png, phase.png; reconstruction_manifest.json and skip_summary.json at the root.',
  'Ctrl-C cancels after the current iteration and writes checkpoint.npz; --resume continues from it.',
  'One run per job at a time (<job>/run.lock). Exit codes as for train (0, 1, 130; 2 for bad options).',
];

export const RECONSTRUCT_OPTIONS_HELP = [
  PHASE_F_ROOT_HELP,
  '  --split train|test     the view\'s split to reconstruct (default test)',
  '  --algorithm A          epie (default; Maiden & Rodenburg 2009), rpie (Maiden, Johnson & Li 2017), or ad:',
  '                         automatic differentiation — the object (and with --probe refine the probe) fitted by',
  '                         Adam in mini-batches through an ONNX graph of the PINN\'s far-field physics, on --ep',
  '  --iterations N         iterations in total, each visiting every pattern once (default 50)',
  '  --probe fixed|refine   keep probeGuess (default) or refine the probe from iteration 2 on',
  '  --momentum G           heavy-ball momentum per iteration, fixed probe only (default 0; 0.5 speeds up the phase)',
  '  --anneal F             epie/rpie: over the last fraction F of the iterations the object step falls to 0.2 of its',
  '                         value, averaging the noise out (default 0 = off; --momentum 1 --anneal 0.3 converges best)',
  '  --alpha X  --beta X    object / probe step (ePIE, default 1) or regularisation (rPIE, default 0.75 / 1)',
  '  --seed S               seed of the random pattern order (default 42)',
  '  --checkpoint-every N   write checkpoint.npz every N iterations (default 10; also on cancel and at the end)',
  `  --ep P                 ${EXECUTION_PROVIDERS.join(', ')}: where ad runs (falling back to the CPU, recorded); epie and`,
  '                         rpie always run in TypeScript on the CPU (the request is recorded)',
  '  --learning-rate X      ad: Adam\'s initial step (default 0.1, a cosine schedule takes it to 5 % by the end)',
  `  --loss L               ad: ${AD_LOSSES.join(' or ')} (Gaussian on amplitudes, default; or the PINN's Poisson NLL)`,
  '  --batch-size B         ad: patterns per Adam step (default 32)',
  '  --no-amplitude-filter  score the amplitude as reconstructed (default: the even and the odd patterns are also',
  '                         reconstructed apart, and each spatial frequency of the amplitude is weighted by how well',
  '                         the two halves agree on it, 2·FRC/(1+FRC) — as train weights a PINN\'s; about twice',
  '                         the time); --amplitude-filter turns it on over a settings file. With --resume a',
  '                         finished reconstruction is scored again, with or without it',
  '  --no-phase-filter      score the phase as reconstructed (default: weighted the same way by the halves\' phase',
  '                         FRC, as train weights a PINN\'s); --phase-filter turns it on over a settings file',
  '  --resume               continue each job from its checkpoint.npz (refused when it is missing or unreadable)',
  '  --json                 one JSON event per line, then a summary',
  '  --quiet                only skips, refusals, failures and each job\'s final status',
];

export interface ReconstructDeps {
  loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout>;
  filterOf(p: Parsed): JobFilter;
}

function oneOf<T extends string>(p: Parsed, flag: string, allowed: readonly T[]): T | undefined {
  const v = str(p, flag);
  if (v !== undefined && !allowed.includes(v as T)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')} (got "${v}").`);
  return v as T | undefined;
}

/** The Phase F root of a command: --phase-f-root, else the workspace settings' phaseFRoot, else phase_f beside Phase C. */
export function phaseFRootOf(p: Parsed, io: CliIO, layout: StudyLayout): string {
  const given = str(p, 'phase-f-root');
  return given ? path.resolve(io.cwd, given) : phaseFRootFromFiles(p, io) ?? defaultPhaseFRoot(layout);
}

/** The settings of the flags for `algorithm`, completed from the workspace's settings files, each value checked. */
function settingsOf(p: Parsed, io: CliIO, algorithm: ReconAlgorithm): Partial<ReconstructionSettings> {
  const ep = str(p, 'ep');
  if (ep !== undefined && !EXECUTION_PROVIDERS.includes(ep as ExecutionProvider)) throw new UsageError(`--ep must be one of ${EXECUTION_PROVIDERS.join(', ')} (got "${ep}").`);
  const settings: Partial<ReconstructionSettings> = {
    iterations: num(p, 'iterations', { integer: true, min: 1 }),
    probeMode: oneOf(p, 'probe', PROBE_MODES),
    seed: num(p, 'seed', { integer: true }),
    momentum: num(p, 'momentum', { min: 0 }),
    anneal: num(p, 'anneal', { min: 0 }),
    alpha: num(p, 'alpha'),
    beta: num(p, 'beta'),
    checkpointEvery: num(p, 'checkpoint-every', { integer: true, min: 1 }),
    executionProvider: ep as ExecutionProvider | undefined,
    learningRate: num(p, 'learning-rate'),
    loss: oneOf(p, 'loss', AD_LOSSES),
    batchSize: num(p, 'batch-size', { integer: true, min: 1 }),
    amplitudeFilter: onOffChoice(p, 'amplitude-filter'),
    phaseFilter: onOffChoice(p, 'phase-filter'),
  };
  try {
    resolveReconstructionSettings(settings); // every value checked before the study is read
  } catch (err) {
    if (err instanceof PlanError) throw new UsageError(err.message);
    throw err;
  }
  return reconstructionSettingsWithFiles(p, io, algorithm, settings);
}

export async function cmdReconstruct(p: Parsed, io: CliIO, deps: ReconstructDeps): Promise<number> {
  const algorithm: ReconAlgorithm = oneOf(p, 'algorithm', RECON_ALGORITHMS) ?? 'epie';
  const split: Split = oneOf(p, 'split', SPLITS) ?? 'test';
  const settings = settingsOf(p, io, algorithm);
  const filter = deps.filterOf(p);
  const json = bool(p, 'json');
  const resume = bool(p, 'resume');
  const layout = await deps.loadStudy(p, io);
  const phaseFRoot = phaseFRootOf(p, io, layout);
  const jobs = await listReconstructionJobs(layout, { phaseFRoot, filter: { ...filter, split, algorithm }, deep: true });
  if (jobs.length === 0) throw new Error('No job matches the filter.');
  const study = { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot, phaseFRoot };
  const workerScript = path.join(io.distDir, 'worker.js');
  const ep = settings.executionProvider;
  const settingsSources = settingsSourcesOf(p, io);
  const queue: QueuedJob[] = jobs.map((job) => ({
    id: job.id,
    ...(job.state === 'missing' ? { missing: job.reason ?? 'data not found' } : {}),
    plan: () => {
      const plan = planReconstruction(job, { settings, study, settingsSources });
      if (!plan.runnable) return { notRunnable: plan.blockers.join(' ') };
      return {
        banner: `RECONSTRUCT ${job.id}${resume ? ' (resume)' : ''} → ${job.artifactDir}`
          + ((ep === 'cuda' || ep === 'webgpu') && algorithm !== 'ad' ? ` (--ep ${ep} recorded; ${algorithm} runs on the CPU)` : ''),
        start: () => startReconstruction(plan.config, { workerScript, resume }),
      };
    },
  }));
  const outcome = await runQueue(io, json, queue, (err) => err instanceof PlanError, bool(p, 'quiet'));
  try {
    await writeReconstructionManifest(study);
  } catch (err) {
    io.err(`warning: could not update reconstruction_manifest.json: ${(err as Error).message}`);
  }
  return finishQueue(io, json, outcome, { phaseFRoot });
}

/** The Phase F jobs `list` shows beside the training jobs (the algorithms of the settings files' reconstruction.algorithms). */
export function listedReconstructions(p: Parsed, io: CliIO, layout: StudyLayout, filter: JobFilter): Promise<ReconstructionJob[]> {
  return listReconstructionJobs(layout, { phaseFRoot: phaseFRootOf(p, io, layout), filter, deep: bool(p, 'deep'), algorithms: listedAlgorithmsFromFiles(p, io) });
}

export function reconstructionJobToJson(j: ReconstructionJob): Record<string, unknown> {
  return {
    kind: 'reconstruct', id: j.id, dose: j.dose, view: j.view, gridsize: j.gridsize, split: j.split, algorithm: j.algorithm, state: j.state,
    reason: j.reason ?? null, data: { path: j.data.path, exists: j.data.exists, patternCount: j.data.info?.patternCount ?? null, n: j.data.info?.n ?? null },
    artifactDir: j.artifactDir, logPath: j.logPath, layout: j.layout ?? null, n: j.data.info?.n ?? null, findings: j.findings,
    lastRun: j.run ? { status: j.run.status, manifest: j.run.manifestPath } : null,
  };
}

/** Lines of `list`'s Phase F part: a table of the jobs and a count by state. */
export function reconstructionListLines(jobs: readonly ReconstructionJob[], phaseFRoot: string, table: (head: string[], rows: string[][]) => string): string[] {
  if (jobs.length === 0) return [`Phase F (${phaseFRoot}): no reconstruction job matches the filter.`];
  const counts = new Map<string, number>();
  for (const j of jobs) counts.set(j.state, (counts.get(j.state) ?? 0) + 1);
  return [
    `\nPhase F reconstructions: ${phaseFRoot}`,
    table(['job', 'dose', 'view', 'split', 'algorithm', 'state', 'patterns', 'N', 'reason'], jobs.map((j) => [
      j.id, formatDose(j.dose), j.view, j.split, j.algorithm, j.state, j.data.exists ? String(j.data.info?.patternCount ?? '?') : '-',
      String(j.data.info?.n ?? '-'), j.reason ?? '',
    ])),
    `${jobs.length} reconstruction jobs: ${[...counts].map(([s, n]) => `${n} ${s}`).join(', ')}`,
  ];
}
