// `ptycho-study notebook <job id | job folder> [--out FILE] [--force] [--json]`: writes a Jupyter notebook beside a
// training or Phase F job (src/core/export/notebook.ts) that loads its reconstruction.npz, metrics.json and
// events.jsonl by paths relative to the notebook, and plots amplitude, phase and the loss / error history.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeJobNotebook } from '../core/export/notebook';
import { parseJobId } from '../core/study/layout';
import { parseReconstructionJobId } from '../core/study/reconstructJobs';
import { bool, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO, StudyLookup } from './commands';
import { PHASE_F_ROOT_FLAG, PHASE_F_ROOT_HELP } from './reconstruct';

export const NOTEBOOK_USAGE = 'ptycho-study notebook <job id | job folder> [roots] [--phase-f-root DIR] [--out FILE.ipynb] [--force] [--json]';
export const NOTEBOOK_FLAGS: FlagSpec = { ...PHASE_F_ROOT_FLAG, out: { type: 'string' }, force: { type: 'boolean' }, json: { type: 'boolean' } };
export const NOTEBOOK_HELP = [
  'Writes a Jupyter notebook (nbformat 4.5, Python 3 kernel; needs numpy and matplotlib where it is run) for a training',
  'job (dose_<int>/<view>/gs<g>) or a Phase F job (dose_<int>/<view>/<split>/<algorithm>), looked up in the study with',
  'the root flags, or for a job folder given as a path (anything that is not a job id, e.g. ./dose_1000/dense/gs2).',
  'Its cells: the job, run, status and key settings (manifest.json); reconstruction.npz loaded with allow_pickle=False',
  'and the headline metrics of metrics.json; amplitude (gray) and phase (twilight, −π…π) with colorbars, the ground',
  'truth beside them when the file has it (and the probe of a Phase F job); the loss per epoch or error per iteration',
  'of the run, from events.jsonl. Paths in it are relative to the notebook\'s folder: it keeps working after the job',
  'folder is moved. The job must have a reconstruction.npz (train or reconstruct it first).',
  'Default file: <job folder>/analysis.ipynb. A notebook this command wrote and nobody edited is refreshed; anything',
  'else there is kept and the notebook goes to analysis-2.ipynb (then -3, …). A symlink or FIFO is always refused.',
];
export const NOTEBOOK_OPTIONS_HELP = [
  PHASE_F_ROOT_HELP,
  '  --out FILE.ipynb       write this file instead (paths in it stay relative); refused when it holds anything but an',
  '                         unedited notebook of this command, unless --force',
  '  --force                replace the file (analysis.ipynb or --out) whatever it holds (never through a symlink)',
  '  --json                 one JSON object: the notebook file, the job, what was replaced',
];

export async function cmdNotebook(p: Parsed, io: CliIO, deps: StudyLookup): Promise<number> {
  const target = p.positionals[0];
  if (!target) throw new UsageError('a job id or a job folder is required.');
  let jobDir: string;
  let jobId: string | undefined;
  let kind: 'train' | 'reconstruct' | undefined;
  if (parseJobId(target) || parseReconstructionJobId(target)) {
    jobId = target.trim();
    kind = parseJobId(target) ? 'train' : 'reconstruct';
    jobDir = await deps.jobDirOf(p, io, await deps.loadStudy(p, io), jobId);
  } else {
    jobDir = path.resolve(io.cwd, target);
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(jobDir);
    } catch {
      throw new UsageError(`"${target}" is neither a job id (dose_<int>/<view>/gs<g>, dose_<int>/<view>/<split>/<algorithm>) nor a folder.`);
    }
    if (!st.isDirectory()) throw new UsageError(`"${target}" is not a job folder (give the folder, not a file in it).`);
  }
  const out = str(p, 'out');
  if (out !== undefined && !out.toLowerCase().endsWith('.ipynb')) throw new UsageError(`--out must name a .ipynb file (got "${out}").`);
  // A NotebookError (no reconstruction.npz, a file in the way) is a failure (exit 1) naming its file.
  const { file, info, replaced, notebook } = await writeJobNotebook(jobDir, { file: out !== undefined ? path.resolve(io.cwd, out) : undefined, force: bool(p, 'force'), jobId, kind });
  if (bool(p, 'json')) {
    io.out(JSON.stringify({
      notebook: file, job: info.jobId, kind: info.kind, runId: info.runId ?? null, status: info.status ?? null, artifactDir: jobDir,
      relativeJobDir: info.jobDir, replaced: replaced === 'none' ? null : replaced, cells: notebook.cells.length, arrays: info.arrays,
    }));
    return 0;
  }
  io.out(`NOTEBOOK ${file}`);
  io.out(`  job ${info.jobId} (${info.kind === 'train' ? 'training' : 'Phase F reconstruction'}), run ${info.runId ?? '?'}, ${info.status ?? 'status unknown'}`);
  io.out(`  ${notebook.cells.length} cells; reads ${info.jobDir === '.' ? 'the files beside it' : `the job folder at ${info.jobDir} (relative)`}: reconstruction.npz (${info.arrays.join(', ')})`
    + `${info.files.metrics ? ', metrics.json' : ''}${info.files.events ? ', events.jsonl' : ''}`);
  if (replaced === 'ours') io.out('  (refreshed the notebook this command wrote before)');
  else if (replaced !== 'none') io.out(`  (replaced a file that ${replaced === 'edited' ? 'had been edited' : 'this command had not written'}: --force)`);
  io.out('Open it in VS Code or Jupyter (a Python 3 kernel with numpy and matplotlib).');
  return 0;
}
