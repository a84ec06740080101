// `ptycho-study export-ptychodus <job id | job folder> [--out FILE] [--json]`: writes a finished job's result (a
// training job's or a Phase F reconstruction's) as a Ptychodus NPZ product (src/core/export/ptychodus.ts), by
// default `<job folder>/ptychodus_product.npz`; nothing is written outside the job folder unless --out says so.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { exportPtychodusProduct, PTYCHODUS_PRODUCT_FILE, type PtychodusExportResult } from '../core/export/ptychodus';
import { parseJobId } from '../core/study/layout';
import { parseReconstructionJobId } from '../core/study/reconstructJobs';
import { bool, givenRootFlags, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO, StudyLookup } from './commands';

export const EXPORT_PTYCHODUS_SUMMARY = 'write a finished job\'s result (object, probe, positions in metres, losses) as a Ptychodus NPZ product file';
export const EXPORT_PTYCHODUS_USAGE = 'ptycho-study export-ptychodus <job id | job folder> [roots] [--phase-f-root DIR] [--out FILE] [--json]';
export const EXPORT_PTYCHODUS_FLAGS: FlagSpec = { out: { type: 'string' }, json: { type: 'boolean' } };
export const EXPORT_PTYCHODUS_HELP = [
  'A training job (dose_<int>/<view>/gs<g>) or a Phase F job (dose_<int>/<view>/<split>/<algorithm>), by id (found in',
  'the study, as `runs` does) or by its folder. Its latest run must have succeeded. Writes the keys of Ptychodus\'s',
  'NPZ product reader (src/ptychodus/plugins/npz_product_file.py): the object of reconstruction.npz as (1, H, W)',
  'complex64, the probe as (1, 1, N, N) complex64 (a Phase F job\'s refined probe; a training job\'s dataset',
  'probeGuess), the scan positions of the dataset the reconstruction was made from in metres (object pixels ×',
  'pixel size), the object centre that keeps them on the same pixels, the loss per epoch (training) or relative',
  'error per iteration (Phase F) of the run, and name, comments, energy, distance and photon count (the dose).',
  'The object pixel size, energy and distance come from the data\'s _metadata; when it records none, Ptychodus\'s',
  'default geometry is assumed (10 keV, 1 m, 75 µm pixels: pixel size λz/(N·p)) and the output says so.',
  'The file is written atomically (a temporary file renamed into place).',
];
export const EXPORT_PTYCHODUS_OPTIONS_HELP = [
  `  --out FILE             where to write (default: <job folder>/${PTYCHODUS_PRODUCT_FILE}); a symlink, folder or FIFO is refused`,
  '  --json                 one JSON object: the file, the shapes, the units and where each came from, notes',
];

const ROOT_FLAG_NAMES = ['workspace', 'phase-c-root', 'phase-d-root', 'artifact-root', 'phase-f-root'];


/** The job id a folder stands for, from its last path components (`…/dose_1000/dense/gs2`, `…/dose_1000/dense/test/epie`). */
function jobIdOfFolder(dir: string): string | undefined {
  const parts = path.resolve(dir).split(path.sep);
  const four = parts.slice(-4).join('/');
  if (parseReconstructionJobId(four)) return four;
  const three = parts.slice(-3).join('/');
  return parseJobId(three) ? three : undefined;
}

export async function cmdExportPtychodus(p: Parsed, io: CliIO, deps: StudyLookup): Promise<number> {
  const target = p.positionals[0];
  if (!target) throw new UsageError('a job id or job folder is required.');
  const isId = parseJobId(target) !== undefined || parseReconstructionJobId(target) !== undefined;
  const rootsGiven = ROOT_FLAG_NAMES.filter((f) => str(p, f) !== undefined);
  const asDir = path.resolve(io.cwd, target);
  const st = fs.statSync(asDir, { throwIfNoEntry: false });
  let jobDir: string;
  let jobId: string | undefined;
  let rootHint: string | undefined;
  if (st?.isDirectory() && !(isId && rootsGiven.length > 0)) {
    jobDir = asDir;
    jobId = jobIdOfFolder(asDir);
  } else if (isId) {
    const layout = await deps.loadStudy(p, io);
    jobDir = await deps.jobDirOf(p, io, layout, target);
    jobId = target.trim();
    rootHint = givenRootFlags(p, io.cwd, ROOT_FLAG_NAMES);
  } else if (st) {
    throw new UsageError(`${asDir} is not a folder: give a job folder or a job id (dose_<int>/<view>/gs<g>, or dose_<int>/<view>/<split>/<algorithm>).`);
  } else {
    throw new UsageError(`"${target}" is neither a job folder nor a job id (dose_<int>/<view>/gs<g>, or dose_<int>/<view>/<split>/<algorithm>).`);
  }
  const given = str(p, 'out');
  const outFile = given !== undefined ? path.resolve(io.cwd, given) : path.join(jobDir, PTYCHODUS_PRODUCT_FILE);
  const r = await exportPtychodusProduct(jobDir, outFile, { jobId, rootHint });
  if (bool(p, 'json')) {
    io.out(JSON.stringify({ type: 'export-ptychodus', ...r }));
    return 0;
  }
  for (const line of describeExport(r)) io.out(line);
  return 0;
}

/** The export in a few lines: what went where, in which units, and what was assumed. */
export function describeExport(r: PtychodusExportResult): string[] {
  const e = (v: number): string => v.toExponential(4);
  const lines = [
    `EXPORTED ${r.jobId}${r.runId ? `@${r.runId}` : ''} → ${r.outFile}`,
    `  object     (${r.object.layers}, ${r.object.height}, ${r.object.width}) complex64 from ${r.reconstruction}, centre (${e(r.object.centerM[0])}, ${e(r.object.centerM[1])}) m`,
    `  probe      (${r.probe.shape.join(', ')}) complex64 from ${r.probe.file} [${r.probe.key}]`,
    `  positions  ${r.positions.count} from ${r.positions.dataset}${r.positions.readFrom !== r.positions.dataset ? ` (as recorded in ${r.positions.readFrom}; the dataset cannot be read)` : ''} (object pixels × pixel size, metres)`,
    `  pixel size ${e(r.pixelSize.meters)} m ${r.pixelSize.assumed ? '— ASSUMED (the data record none; see the note)' : `(${r.pixelSize.source})`}`,
    `  energy     ${r.probeEnergyEv.value} eV ${r.probeEnergyEv.assumed ? '— ASSUMED' : `(${r.probeEnergyEv.source})`}; detector distance ${r.detectorDistanceM.value} m ${r.detectorDistanceM.assumed ? '— ASSUMED' : `(${r.detectorDistanceM.source})`}; photons per exposure ${r.probePhotonCount} (the dose)`,
    `  losses     ${r.losses.count} (${r.losses.quantity} per ${r.losses.per}${r.losses.expected !== null ? `; the run had ${r.losses.expected}` : ''})`,
  ];
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push(`Open it in Ptychodus as a product (file type NPZ: ${r.format}).`);
  return lines;
}
