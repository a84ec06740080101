// `ptycho-study score <job id | job folder> --data FILE.npz [--threads N] [--json]`: a finished training job's model
// scored on a dataset the user names (src/core/run/scoreRun.ts), e.g. a specimen it never saw. Prints; writes nothing.
import * as path from 'node:path';
import { scoreTrainedJob } from '../core/run/scoreRun';
import { describeScore } from '../core/run/scoreSummary';
import { bool, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO, StudyLookup } from './commands';
import { jobTargetOf, requestedThreads } from './jobTarget';

export const SCORE_SUMMARY = 'score a trained job\'s model on a dataset it was not evaluated on (another specimen, another split)';
export const SCORE_USAGE = 'ptycho-study score <job id | job folder> --data FILE.npz [roots] [--latest-checkpoint] [--threads N] [--json]';
export const SCORE_FLAGS: FlagSpec = { data: { type: 'string' }, 'latest-checkpoint': { type: 'boolean' }, threads: { type: 'string' }, json: { type: 'boolean' } };
export const SCORE_HELP = [
  'The job (dose_<int>/<view>/gs<g>, found in the study as `runs` does, or its folder) must have a finished run. Its',
  'checkpoint — matched to its run config as a resume is — reconstructs the patterns of --data, grouped as its own',
  'evaluation groups them, and the stitched object is scored against the file\'s objectGuess on the common evaluation\'s',
  'protocol (its scan box ± M/2, holes included): amplitude and phase Pearson r, SSIM, MS-SSIM, FRC50, for the trained',
  'model, the untrained network and the flat predictor. The file needs the study\'s NPZ keys (diffraction, xcoords,',
  'ycoords, probeGuess, objectGuess) and the job\'s N. Said when it matters: a probe other than the training one (the',
  'network learnt to read its training probe\'s patterns), another dose, the job\'s own training data. Nothing is written.',
];
export const SCORE_OPTIONS_HELP = [
  '  --data FILE.npz        the dataset to score on (required)',
  '  --latest-checkpoint    a run that has not finished (running, cancelled, failed): score its latest checkpoint',
  '                         (said in a note) instead of refusing',
  '  --threads N            onnxruntime intra-op threads (default: SLURM_CPUS_PER_TASK, OMP_NUM_THREADS, else every core)',
  '  --json                 one JSON object: the model, the dataset, the evaluation record, the metrics as metrics.json has them',
];

export async function cmdScore(p: Parsed, io: CliIO, deps: StudyLookup): Promise<number> {
  if (!p.positionals[0]) throw new UsageError('a job id or a job folder is required.');
  const data = str(p, 'data');
  if (data === undefined || data.trim() === '') throw new UsageError('--data FILE.npz is required: the dataset to score the model on.');
  const threads = requestedThreads(p);
  const target = await jobTargetOf(p, io, deps);
  const r = await scoreTrainedJob(target.jobDir, {
    dataPath: path.resolve(io.cwd, data), threads, jobId: target.jobId, rootHint: target.rootHint, signal: io.signal, latestCheckpoint: bool(p, 'latest-checkpoint'),
    log: (line) => (bool(p, 'json') ? undefined : io.err(line)),
  });
  if (bool(p, 'json')) {
    io.out(JSON.stringify({ type: 'score', ...r }));
    return 0;
  }
  for (const line of describeScore(r)) io.out(line);
  return 0;
}
