// `ptycho-study apply <job id | job folder> --data FILE.npz --out DIR [--force] [--threads N] [--json]`: a finished
// training job's model reconstructs patterns the user names (src/core/run/applyRun.ts), e.g. a new scan without a
// ground truth, and the result is written to DIR. Nothing is written in the study.
import * as path from 'node:path';
import { applyTrainedJob } from '../core/run/applyRun';
import { describeApply } from '../core/run/scoreSummary';
import { bool, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO, StudyLookup } from './commands';
import { jobTargetOf, requestedThreads } from './jobTarget';

export const APPLY_SUMMARY = 'reconstruct a dataset (a new scan, no ground truth needed) with a trained job\'s model and write the result';
export const APPLY_USAGE = 'ptycho-study apply <job id | job folder> --data FILE.npz --out DIR [roots] [--force] [--latest-checkpoint] [--threads N] [--json]';
export const APPLY_FLAGS: FlagSpec = { data: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' }, 'latest-checkpoint': { type: 'boolean' }, threads: { type: 'string' }, json: { type: 'boolean' } };
export const APPLY_HELP = [
  'The job (dose_<int>/<view>/gs<g>, found in the study as `runs` does, or its folder) must have a finished run. Its',
  'checkpoint — matched to its run config as a resume is — reconstructs the patterns of --data, grouped as its own',
  'evaluation groups them and stitched with the run\'s stitching settings (all of them truth-free) over the scan\'s box',
  '± M/2. The file needs diffraction, xcoords, ycoords and probeGuess and the job\'s N; an objectGuess is not needed',
  '(`score` scores against one). Written to --out: reconstruction.npz (object, amplitude, phase, weight, origin),',
  'amplitude.png, phase.png, and apply.json (the model, the dataset, the stitch, the notes) last. Said when it matters:',
  'a probe other than the training one, another dose, the job\'s own training data. Nothing is written in the study.',
  'One apply writes into a folder at a time (DIR/run.lock while it writes; another one is refused, naming it).',
];
export const APPLY_OPTIONS_HELP = [
  '  --data FILE.npz        the patterns to reconstruct (required)',
  '  --out DIR              the folder to write to (required; created when missing)',
  '  --force                replace the results an earlier apply left in DIR (else refused)',
  '  --latest-checkpoint    a run that has not finished (running, cancelled, failed): apply its latest checkpoint',
  '                         (said in a note) instead of refusing',
  '  --threads N            onnxruntime intra-op threads (default: SLURM_CPUS_PER_TASK, OMP_NUM_THREADS, else every core)',
  '  --json                 one JSON object: apply.json\'s record',
];

export async function cmdApply(p: Parsed, io: CliIO, deps: StudyLookup): Promise<number> {
  if (!p.positionals[0]) throw new UsageError('a job id or a job folder is required.');
  const data = str(p, 'data');
  if (data === undefined || data.trim() === '') throw new UsageError('--data FILE.npz is required: the patterns to reconstruct.');
  const out = str(p, 'out');
  if (out === undefined || out.trim() === '') throw new UsageError('--out DIR is required: the folder the reconstruction is written to.');
  const threads = requestedThreads(p);
  const target = await jobTargetOf(p, io, deps);
  const r = await applyTrainedJob(target.jobDir, {
    dataPath: path.resolve(io.cwd, data), outDir: path.resolve(io.cwd, out), force: bool(p, 'force'), threads,
    jobId: target.jobId, rootHint: target.rootHint, signal: io.signal, latestCheckpoint: bool(p, 'latest-checkpoint'),
    log: (line) => (bool(p, 'json') ? undefined : io.err(line)),
  });
  if (bool(p, 'json')) {
    io.out(JSON.stringify(r));
    return 0;
  }
  for (const line of describeApply(r)) io.out(line);
  return 0;
}
