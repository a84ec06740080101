// Inspection and validation of one study dataset (.npz) against the PtychoPINN NPZ contract
// (domain.md §8: DATA-001, FORMAT-001, NORMALIZATION-001, POISSON-NORM-001, OVERSAMPLING-001).
// Header checks read only the zip directory and .npy headers; `deep` checks sample a fixed number of
// frames in one ordered pass over the member, so their cost does not grow with the file size either
// (except a deflated member, inflated once up to the last sampled frame).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz, NotRegularFileError, NpyFormatError, TruncatedFileError, type NpzArchive, type NpzMember, type NdArray } from '../npy';
import { applyOverrides, type Finding } from './findings';

/** Patterns per group for gridsize 2 (C = gridsize²). */
export const GROUP_SIZE_GS2 = 4;
/** Frames read by the deep checks (evenly spaced). */
export const SAMPLED_FRAMES = 8;
/** Normalized amplitudes stay well below this (domain.md §8.1: "max < ~10"); above it the data look like intensity. */
export const AMPLITUDE_MAX_WARN = 10;
/** A Fortran-ordered stack larger than this is not sampled: each frame is strided across all of it. */
export const FORTRAN_SAMPLE_MAX_BYTES = 1 << 30;
/** Whole-array reads of the small members (coordinates, probe) stop here. */
const SMALL_ARRAY_BYTES = 64 << 20;

export interface DatasetInfo {
  path: string;
  sizeBytes: number;
  mtimeMs: number;
  /** Member holding the diffraction stack: `diffraction` (canonical) or `diff3d`. */
  diffractionKey?: 'diffraction' | 'diff3d';
  /** Number of diffraction patterns (scan positions). */
  patternCount?: number;
  /** Pattern side N (pixels). */
  n?: number;
  /** Axis order of the stack: `nhw` canonical, `hwn` legacy (FORMAT-001, transposed on load). */
  layout?: 'nhw' | 'hwn';
  objectShape?: number[];
  keys: string[];
  /** Parsed `_metadata` JSON, when present and valid. */
  metadata?: unknown;
  findings: Finding[];
}

export interface DatasetCheckOptions {
  /** Gridsize the dataset will be trained with (2 adds the grouping checks). */
  gridsize?: number;
  /** K nearest neighbours used to group gs2 patterns. */
  neighborCount?: number;
  /** Sample frames for value checks (finite, normalized amplitude). */
  deep?: boolean;
  /** Accept diffraction that looks like intensity or counts (its errors become warnings): a deliberate choice. */
  allowIntensityData?: boolean;
}

const REQUIRED_KEYS = ['objectGuess', 'probeGuess', 'xcoords', 'ycoords'] as const;
const FLOAT = new Set(['f2', 'f4', 'f8']);
const COMPLEX = new Set(['c8', 'c16']);
const NUMERIC = new Set(['i1', 'i2', 'i4', 'i8', 'u1', 'u2', 'u4', 'u8', 'f2', 'f4', 'f8']);

/** Inspections of a file that changed while it was read, before it is reported as changing. */
const CHANGED_TRIES = 4;

/**
 * Opens `file`, runs the checks and closes it. Never throws for bad data: problems become findings. The result
 * describes one version of the file: when it changed while being read (rewritten, cut, replaced), it is
 * inspected again, so a truncated file gets the same finding whether the header or the deep pass saw it first.
 */
export async function inspectDataset(file: string, options: DatasetCheckOptions = {}): Promise<DatasetInfo> {
  let info: DatasetInfo | undefined;
  let before = await versionOf(file);
  for (let attempt = 1; attempt <= CHANGED_TRIES; attempt++) {
    info = await inspectOnce(file, options);
    const after = await versionOf(file);
    if (after === before) return info;
    before = after;
    await new Promise((r) => setTimeout(r, 25 * attempt));
  }
  return {
    ...info!,
    findings: [{
      file, rule: 'DATA-CHANGING', severity: 'error',
      message: `${path.basename(file)} kept changing while it was read (${CHANGED_TRIES} tries): is it still being written? It is checked again when it changes next.`,
    }],
  };
}

/** What identifies one version of a file: device, inode, size and modification time (or the stat error). */
async function versionOf(file: string): Promise<string> {
  try {
    const st = await fs.promises.stat(file, { bigint: true });
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

async function inspectOnce(file: string, options: DatasetCheckOptions): Promise<DatasetInfo> {
  const info: DatasetInfo = { path: file, sizeBytes: 0, mtimeMs: 0, keys: [], findings: [] };
  const add: AddFinding = (rule, severity, message, key, override) => {
    info.findings.push({ file, key, rule, severity, message, ...(override ? { override } : {}) });
  };
  let stat: fs.Stats;
  try {
    stat = await fs.promises.stat(file);
  } catch (err) {
    add('DATA-001', 'error', `The file cannot be read: ${(err as Error).message}.`);
    return info;
  }
  info.sizeBytes = stat.size;
  info.mtimeMs = stat.mtimeMs;
  let archive: NpzArchive;
  try {
    archive = await openNpz(file);
  } catch (err) {
    if (err instanceof NotRegularFileError) add('DATA-001', 'error', `${err.message}; it is never opened. Replace it with the real .npz file.`);
    else add('NPZ-FORMAT', 'error', unreadableMessage(file, err));
    return info;
  }
  try {
    info.keys = [...archive.members.keys()];
    checkHeaders(archive, info, options, add);
    await readMetadata(archive, info, add);
    if (options.deep) await checkValues(archive, info, add);
  } catch (err) {
    // A file cut short is unreadable whichever pass finds it: the same finding as when the open finds it.
    add('NPZ-FORMAT', 'error', err instanceof TruncatedFileError ? unreadableMessage(file, err) : `Reading the archive failed: ${problemOf(err)}.`);
  } finally {
    await archive.close();
  }
  info.findings = applyOverrides(info.findings, options);
  return info;
}

type AddFinding = (rule: string, severity: Finding['severity'], message: string, key?: string, override?: Finding['override']) => void;

function problemOf(err: unknown): string {
  if (err instanceof NpyFormatError) return err.problem + (err.member ? ` (member ${err.member})` : '');
  return err instanceof Error ? err.message : String(err);
}

/** The NPZ-FORMAT message of a file that cannot be opened as an archive; a truncated one names the file and the sizes. */
function unreadableMessage(file: string, err: unknown): string {
  if (err instanceof TruncatedFileError) {
    return `Not a readable NumPy .npz archive: ${path.basename(file)} is ${err.problem}. It was cut short (an interrupted write or copy?): regenerate or copy it again.`;
  }
  return `Not a readable NumPy .npz archive: ${problemOf(err)}. Regenerate or replace the file.`;
}

function checkHeaders(archive: NpzArchive, info: DatasetInfo, options: DatasetCheckOptions, add: AddFinding): void {
  const member = (k: string): NpzMember | undefined => (archive.has(k) ? archive.member(k) : undefined);
  const diffKey = archive.has('diffraction') ? 'diffraction' : archive.has('diff3d') ? 'diff3d' : undefined;
  const missing = [...(diffKey ? [] : ['diffraction (or diff3d)']), ...REQUIRED_KEYS.filter((k) => !archive.has(k))];
  if (missing.length > 0) {
    // Arrays saved inside a folder of the zip load as `sub/dir/key`, so the key looks missing: say where it is.
    const nested = [...(diffKey ? [] : ['diffraction', 'diff3d']), ...REQUIRED_KEYS].flatMap((k) => archive.nestedEntries(k));
    const hint = nested.length ? ` The archive holds ${nested.join(', ')}; keys must be at the top level of the zip.` : '';
    add('DATA-001', 'error', `Missing required NPZ keys: ${missing.join(', ')}. A study dataset needs diffraction, objectGuess, probeGuess, xcoords and ycoords.${hint}`);
  }
  const xc = member('xcoords');
  const yc = member('ycoords');
  for (const [key, m] of [['xcoords', xc], ['ycoords', yc]] as const) {
    if (!m) continue;
    if (m.header.shape.length !== 1 || !NUMERIC.has(m.header.dtype.name)) {
      add('DATA-001', 'error', `${key} must be a 1-D numeric array of scan positions (found ${m.header.dtype.descr} with shape (${m.header.shape.join(', ')})).`, key);
    }
  }
  const nPositions = xc && xc.header.shape.length === 1 ? xc.header.shape[0] : undefined;
  if (xc && yc && xc.header.shape[0] !== yc.header.shape[0]) {
    add('DATA-001', 'error', `xcoords has ${xc.header.shape[0]} positions but ycoords has ${yc.header.shape[0]}; they must match.`, 'ycoords');
  }

  if (diffKey) {
    info.diffractionKey = diffKey;
    const d = archive.member(diffKey);
    const { shape, dtype } = d.header;
    if (!FLOAT.has(dtype.name)) {
      const hint = dtype.name.startsWith('u') || dtype.name.startsWith('i')
        ? ' Integer data looks like raw photon counts; convert to normalized amplitude sqrt(counts)/scale (NORMALIZATION-001).'
        : '';
      add('DATA-001', 'error', `${diffKey} must be float amplitude (found ${dtype.descr}).${hint}`, diffKey);
    }
    if (d.compression === 'deflated') {
      add('NPZ-COMPRESSED', 'info', `${diffKey} is deflated (np.savez_compressed): frames cannot be read at random positions, so training streams the member; np.savez makes random access possible.`, diffKey);
    }
    if (shape.length !== 3) {
      add('DATA-001', 'error', `${diffKey} must be a 3-D stack (n, N, N) of patterns (found shape (${shape.join(', ')})).`, diffKey);
    } else {
      let layout: 'nhw' | 'hwn' = 'nhw';
      if (nPositions !== undefined && shape[0] !== nPositions && shape[2] === nPositions) {
        layout = 'hwn';
        add('FORMAT-001', 'warning', `${diffKey} is stored in the legacy (H, W, n) order; it is transposed to (n, H, W) when loaded. Re-save it as (n, N, N) to avoid the copy.`, diffKey);
      } else if (nPositions !== undefined && shape[0] !== nPositions) {
        add('DATA-001', 'error', `xcoords length ${nPositions} != ${diffKey} first axis ${shape[0]}: every pattern needs one scan position.`, diffKey);
      }
      info.layout = layout;
      const [count, h, w] = layout === 'nhw' ? shape : [shape[2], shape[0], shape[1]];
      info.patternCount = count;
      info.n = h;
      if (h !== w) add('DATA-SHAPE', 'error', `Diffraction patterns must be square (found ${h}×${w}).`, diffKey);
      if (count === 0) add('DATA-001', 'error', `${diffKey} holds no patterns.`, diffKey);
      const probe = member('probeGuess');
      if (probe && probe.header.shape.length === 2 && (probe.header.shape[0] !== h || probe.header.shape[1] !== w)) {
        add('DATA-SHAPE', 'error', `probeGuess is ${probe.header.shape.join('×')} but the patterns are ${h}×${w}; the probe must match the pattern size N.`, 'probeGuess');
      }
      if (h === w && h !== 64 && h !== 128) {
        add('DATA-SHAPE', 'warning', `Pattern size N=${h}: the PtychoPINN network is built for N=64 or N=128; training other sizes is not supported.`, diffKey);
      }
      checkGrouping(count, options, add, diffKey);
    }
  }
  for (const key of ['objectGuess', 'probeGuess'] as const) {
    const m = member(key);
    if (!m) continue;
    if (!COMPLEX.has(m.header.dtype.name)) add('DATA-001', 'error', `${key} must be complex (found ${m.header.dtype.descr}).`, key);
    if (m.header.shape.length !== 2) add('DATA-001', 'error', `${key} must be a 2-D array (found shape (${m.header.shape.join(', ')})).`, key);
  }
  const obj = member('objectGuess');
  if (obj) info.objectShape = [...obj.header.shape];
  if (obj && info.n !== undefined && obj.header.shape.length === 2 && Math.min(...obj.header.shape) < info.n) {
    add('DATA-SHAPE', 'error', `objectGuess (${obj.header.shape.join('×')}) is smaller than one pattern (${info.n}×${info.n}).`, 'objectGuess');
  }
  if (nPositions !== undefined) {
    for (const key of ['xcoords_start', 'ycoords_start', 'scan_index']) {
      const m = member(key);
      if (m && m.header.shape[0] !== nPositions) {
        add('DATA-001', 'warning', `${key} has ${m.header.shape[0]} entries but there are ${nPositions} scan positions.`, key);
      }
    }
  }
}

/** OVERSAMPLING-001: a gs2 group takes C=4 of the K nearest neighbours of a seed position. */
function checkGrouping(count: number, options: DatasetCheckOptions, add: AddFinding, key: string): void {
  if ((options.gridsize ?? 1) < 2) return;
  const k = options.neighborCount ?? 7;
  if (k < GROUP_SIZE_GS2) {
    add('OVERSAMPLING-001', 'error', `neighbor_count=${k} < C=${GROUP_SIZE_GS2}: gridsize 2 groups need at least ${GROUP_SIZE_GS2} neighbours to choose from.`, key);
  }
  if (count < GROUP_SIZE_GS2) {
    add('OVERSAMPLING-001', 'error', `Only ${count} scan positions: gridsize 2 needs at least C=${GROUP_SIZE_GS2} positions to form one group.`, key);
  } else if (count < k + 1) {
    add('OVERSAMPLING-001', 'warning', `Only ${count} scan positions for K=${k} nearest neighbours; groups will draw from fewer neighbours than configured.`, key);
  }
}

async function readMetadata(archive: NpzArchive, info: DatasetInfo, add: AddFinding): Promise<void> {
  if (!archive.has('_metadata')) return;
  try {
    const meta = await archive.readMetadata();
    if (meta && meta.json !== undefined) info.metadata = meta.json;
    else if (meta) add('METADATA', 'warning', '_metadata is present but is not valid JSON; it is ignored.', '_metadata');
  } catch (err) {
    // Too large, not one string, or undecodable: the rest of the file is still checked.
    add('METADATA', 'warning', `_metadata cannot be read (${problemOf(err)}); it is ignored.`, '_metadata');
  }
}

async function checkValues(archive: NpzArchive, info: DatasetInfo, add: AddFinding): Promise<void> {
  if (info.diffractionKey) await checkDiffraction(archive, info.diffractionKey, add);
  await checkProbe(archive, add);
  await checkCoordsFinite(archive, add);
}

async function checkDiffraction(archive: NpzArchive, key: string, add: AddFinding): Promise<void> {
  const m = archive.member(key);
  const rows = m.header.shape[0] ?? 0;
  if (rows === 0 || !FLOAT.has(m.header.dtype.name) || m.header.shape.length !== 3) return;
  if (m.header.fortranOrder && m.header.dataBytes > FORTRAN_SAMPLE_MAX_BYTES) {
    add('DATA-ORDER', 'warning', `${key} is Fortran-ordered and ${(m.header.dataBytes / 2 ** 30).toFixed(1)} GiB: every frame is strided across the whole member, so its values were not sampled. Re-save it in C order (np.ascontiguousarray).`, key);
    return;
  }
  const picks = sampleRows(rows, SAMPLED_FRAMES);
  // One ordered pass: a deflated member is inflated once, a Fortran-ordered one read once, never per frame.
  const frames = (await archive.readRowSet(key, picks)).data as Float32Array | Float64Array;
  let max = 0;
  let nonFinite = 0;
  let integerValued = 0;
  let squaredIntegerValued = 0;
  let nonZero = 0;
  let negative = 0;
  for (let i = 0; i < frames.length; i++) {
    const v = frames[i];
    if (!Number.isFinite(v)) { nonFinite++; continue; }
    if (v < 0) negative++;
    if (v === 0) continue;
    nonZero++;
    if (v > max) max = v;
    if (Math.abs(v - Math.round(v)) < 1e-6) integerValued++;
    const sq = v * v;
    if (Math.abs(sq - Math.round(sq)) < 1e-3 * Math.max(1, sq)) squaredIntegerValued++;
  }
  const where = `(${picks.length} sampled frames)`;
  // Intensity is accepted only deliberately (allowIntensityData): the model fits amplitudes, so it would train on the wrong quantity.
  const allowHint = 'Set allowIntensityData (--allow-intensity-data) only to train on the data as they are.';
  if (nonFinite > 0) add('DATA-FINITE', 'error', `${key} holds ${nonFinite} NaN/Inf values in ${frames.length} sampled pixels ${where}; training would diverge.`, key);
  if (negative > 0) add('NORMALIZATION-001', 'error', `${key} holds negative values; diffraction amplitudes are >= 0 (is this a phase or a difference image?).`, key);
  if (nonZero === 0) {
    add('DATA-001', 'error', `The sampled ${key} frames are all zero ${where}: there is nothing to train on.`, key);
  } else if (integerValued === nonZero && max > 1) {
    add('NORMALIZATION-001', 'error', `${key} holds integer values up to ${max} ${where}: this looks like photon counts or intensity, not normalized amplitude. Store sqrt(counts)/scale (POISSON-NORM-001). ${allowHint}`, key, 'allowIntensityData');
  } else if (squaredIntegerValued === nonZero && max > 3) {
    add('POISSON-NORM-001', 'error', `${key} squares to integer counts (max amplitude ${max.toFixed(2)}) ${where}: the amplitude is photon-scaled. Divide by the dataset scale so it is normalized amplitude (NORMALIZATION-001).`, key);
  } else if (max > AMPLITUDE_MAX_WARN) {
    add('NORMALIZATION-001', 'error', `${key} reaches ${max.toFixed(1)} ${where}; normalized amplitudes stay below ~${AMPLITUDE_MAX_WARN}, so this looks like intensity (amplitude squared) or photon-scaled data. Store sqrt(intensity)/scale. ${allowHint}`, key, 'allowIntensityData');
  }
}

/** A NaN or all-zero probe makes every predicted pattern NaN or zero: training cannot start from it. */
async function checkProbe(archive: NpzArchive, add: AddFinding): Promise<void> {
  if (!archive.has('probeGuess')) return;
  const m = archive.member('probeGuess');
  if (!COMPLEX.has(m.header.dtype.name) || m.header.dataBytes > SMALL_ARRAY_BYTES) return;
  const data = (await archive.readArray('probeGuess')).data as Float32Array | Float64Array;
  let bad = 0;
  let nonZero = 0;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) bad++;
    else if (data[i] !== 0) nonZero++;
  }
  if (bad > 0) add('DATA-FINITE', 'error', `probeGuess holds ${bad} NaN/Inf values (real or imaginary parts); every predicted pattern would be NaN.`, 'probeGuess');
  else if (nonZero === 0 && data.length > 0) add('DATA-001', 'error', 'probeGuess is all zero: the model would predict no diffraction at all. Store the probe the data were measured or simulated with.', 'probeGuess');
}

async function checkCoordsFinite(archive: NpzArchive, add: AddFinding): Promise<void> {
  for (const key of ['xcoords', 'ycoords']) {
    if (!archive.has(key)) continue;
    const m = archive.member(key);
    // Coordinates are n scalars: small even for large studies.
    if (m.header.dataBytes > SMALL_ARRAY_BYTES || !NUMERIC.has(m.header.dtype.name)) continue;
    const arr: NdArray = await archive.readArray(key);
    const data = arr.data;
    if (data instanceof BigInt64Array || data instanceof BigUint64Array || Array.isArray(data)) continue;
    let bad = 0;
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) bad++;
    if (bad > 0) add('DATA-FINITE', 'error', `${key} holds ${bad} NaN/Inf scan positions.`, key);
  }
}

export type InspectEachOnce = (file: string, gridsize: number) => Promise<DatasetInfo>;

/**
 * `inspectDataset` with one read per file and gridsize, however many callers ask (a listing's jobs share files:
 * a dose's Phase C training split is the baseline's data and every gridsize-2 view's group count). The shared
 * result is read-only to its callers.
 */
export function inspectEachOnce(options: Omit<DatasetCheckOptions, 'gridsize'> = {}): InspectEachOnce {
  const seen = new Map<string, Promise<DatasetInfo>>();
  return (file, gridsize) => {
    const key = `${gridsize}\0${file}`;
    let info = seen.get(key);
    if (!info) seen.set(key, (info = inspectDataset(file, { ...options, gridsize })));
    return info;
  };
}

/** `count` indices spread evenly over [0, rows). */
export function sampleRows(rows: number, count: number): number[] {
  if (rows <= count) return Array.from({ length: rows }, (_, i) => i);
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.floor(((i + 0.5) * rows) / count));
  return out;
}
