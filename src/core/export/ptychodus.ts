// "Export for Ptychodus": a finished job's result (training or Phase F) written as a Ptychodus NPZ *product* file,
// which Ptychodus (https://github.com/AdvancedPhotonSource/ptychodus) opens as a product: object, probe, scan
// positions, loss history and metadata. Pure Node, no vscode: the CLI's `export-ptychodus` builds on it.
//
// The format follows Ptychodus's own reader/writer, src/ptychodus/plugins/npz_product_file.py (NPZProductFileIO,
// read from the repository at commit 7ccf5817bf9216929f66e897cd4974553b446299). Its keys, as `numpy.savez` writes
// them from Python values (0-d arrays for scalars; lists become 1-d float64 / int64 arrays):
//   name                      0-d <U    product name                      (the job id and run id)
//   comments                  0-d <U    free text                         (provenance and what was assumed)
//   detector_object_distance_m 0-d <f8  detector–object distance, metres
//   probe_energy_eV           0-d <f8   photon energy, eV
//   probe_photon_count        0-d <f8   photons per exposure              (the job's dose, PtychoPINN's nphotons)
//   exposure_time_s           0-d <f8   seconds (0: not known; Ptychodus's default)
//   mass_attenuation_m2_kg    0-d <f8   m²/kg (0: not known; Ptychodus's default)
//   probe_position_indexes    (n,) <i8  scan point index
//   probe_position_x_m        (n,) <f8  scan positions, metres
//   probe_position_y_m        (n,) <f8
//   probe                     (1, 1, N, N) <c8  ProbeSequence array: (OPR modes, incoherent modes, height, width)
//   probe_pixel_width_m       0-d <f8
//   probe_pixel_height_m      0-d <f8
//   object                    (1, H, W) <c8     Object array: (layers, height, width)
//   object_center_x_m         0-d <f8
//   object_center_y_m         0-d <f8
//   object_pixel_width_m      0-d <f8
//   object_pixel_height_m     0-d <f8
//   object_layer_spacing_m    (0,) <f8  one entry fewer than the layers (a single layer: empty)
//   loss_epochs               (k,) <i8  0-based, as Ptychodus's reconstructors count (its reader's fallback is arange)
//   loss_values               (k,) <f8
// Not written: opr_weights (optional; this project has no OPR modes) and tomography_angle_deg (read as optional,
// never written by Ptychodus's writer).
//
// Geometry. The study's positions (xcoords/ycoords) are object pixels of the dataset's objectGuess, the centre of
// each pattern's patch; reconstruction.npz holds the object on a region whose pixel (0, 0) is objectGuess pixel
// `origin` = (x0, y0). Positions are written as pixels × pixel size, and the object centre is chosen so that
// Ptychodus's ObjectGeometry.map_coordinates_probe_to_object (x_px = (x_m − center_x_m) / dx + width_px / 2, the
// mapping Ptychodus's own PtychoPINN reconstructor uses to make xcoords) lands each position on the same pixel of
// the exported object: center_x_m = (x0 + W / 2) · dx, center_y_m = (y0 + H / 2) · dy. The probe shares the object's
// pixel grid (far-field ptychography with unpadded N×N patterns), so its pixel size is the object's.
//
// Units. The object pixel size comes from the data's `_metadata` (run/evaluation.ts pixelSizeFromMetadata) when it
// records one; otherwise it is ASSUMED: the far-field sampling λ·z / (N·p) of Ptychodus's default geometry (10 keV,
// 1 m, 75 µm detector pixels; model/product/settings.py and model/diffraction/settings.py), and the result says so.
// Photon energy and detector distance likewise come from `_metadata` keys that name their unit, else those defaults.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz, scalarString, ndarray, writeNpz, type NdArray, type NpzArchive } from '../npy';
import { metadataQuantity, pixelSizeFromMetadata } from '../run/evaluation';
import { curveOf, runSegment } from '../run/compareRuns';
import { parseEvents } from '../run/events';
import { readSmallFile } from '../run/safeFiles';
import { ARTIFACT, formatDose, parseJobId } from '../study/layout';
import { readRunRecord, type DatasetProvenance, type RunStateFields } from '../study/manifest';
import { parseReconstructionJobId, RECON_LOG } from '../study/reconstructJobs';

/** Where the format comes from (recorded in the product's comments and the result). */
export const PTYCHODUS_FORMAT_SOURCE = 'AdvancedPhotonSource/ptychodus src/ptychodus/plugins/npz_product_file.py (NPZProductFileIO)';
/** The default file name, in the job folder. */
export const PTYCHODUS_PRODUCT_FILE = ARTIFACT.ptychodusProduct;

/** Ptychodus's physical constants (api/product.py) and default geometry (model/product/settings.py, model/diffraction/settings.py). */
const ELECTRON_VOLT_J = 1.602176634e-19;
const LIGHT_SPEED_M_PER_S = 299792458;
const PLANCK_CONSTANT_J_PER_HZ = 6.62607015e-34;
export const PTYCHODUS_DEFAULTS = {
  probeEnergyEv: 10000,
  detectorDistanceM: 1,
  detectorPixelSizeM: 75e-6,
  exposureTimeS: 0,
  massAttenuationM2Kg: 0,
} as const;

/** Wavelength (m) of photons of `energyEv`. */
export function wavelengthM(energyEv: number): number {
  return (PLANCK_CONSTANT_J_PER_HZ * LIGHT_SPEED_M_PER_S) / (energyEv * ELECTRON_VOLT_J);
}

/**
 * The object pixel size assumed when the data record none: λ·z / (N·p) for Ptychodus's default geometry and N×N
 * patterns (N = 64: 2.583e-8 m).
 */
export function assumedPixelSizeM(n: number): number {
  return (wavelengthM(PTYCHODUS_DEFAULTS.probeEnergyEv) * PTYCHODUS_DEFAULTS.detectorDistanceM) / (n * PTYCHODUS_DEFAULTS.detectorPixelSizeM);
}

/** Every refusal of an export: a job without a finished result, unreadable data, an output path that cannot be written. */
export class PtychodusExportError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = 'PtychodusExportError';
  }
}

export interface PtychodusExportOptions {
  /** The job's id, for messages (read from the manifest when absent). */
  jobId?: string;
  /** Command hints in messages: the study's root flags (`--workspace DIR`), appended to the suggested commands. */
  rootHint?: string;
  /** Modification time stamped on the members (default now). */
  mtime?: Date;
}

export interface PtychodusExportResult {
  outFile: string;
  jobId: string;
  jobDir: string;
  kind: 'train' | 'reconstruct';
  runId: string | null;
  /** The reconstruction.npz exported. */
  reconstruction: string;
  name: string;
  object: { layers: number; height: number; width: number; dtype: '<c8'; origin: [number, number]; centerM: [number, number] };
  probe: { shape: number[]; dtype: '<c8'; source: 'reconstruction' | 'dataset'; file: string; key: string };
  /** `readFrom`: the dataset itself, or reconstruction.npz's copy of its positions when the dataset is gone. */
  positions: { count: number; dataset: string; readFrom: string; outsideObject: number };
  pixelSize: { meters: number; assumed: boolean; source: string };
  probeEnergyEv: { value: number; assumed: boolean; source: string };
  detectorDistanceM: { value: number; assumed: boolean; source: string };
  probePhotonCount: number;
  losses: { count: number; quantity: 'training loss' | 'relative error'; per: 'epoch' | 'iteration'; expected: number | null; source: string };
  /** Sentences the user should know: what was assumed, what looks off. */
  notes: string[];
  format: string;
}

type Manifest = RunStateFields & {
  kind?: string;
  runId?: string;
  job?: { id?: string; dose?: number; view?: string; gridsize?: number; split?: string; algorithm?: string };
  finishedAt?: string;
  updatedAt?: string;
  data?: Record<string, DatasetProvenance | string | undefined>;
  result?: { epochs?: number; iterations?: number; history?: { iteration: number; relativeError: number }[] };
};

/** Bigger journals are not parsed (compareRuns.ts uses the same bound). */
const EVENTS_MAX_BYTES = 256 << 20;

/** The command that produces a result for the job, for messages. */
function runCommandHint(jobId: string | undefined, kind: 'train' | 'reconstruct' | undefined, rootHint: string | undefined, extra = ''): string {
  const roots = rootHint ? ` ${rootHint}` : '';
  const t = jobId ? parseJobId(jobId) : undefined;
  if (t) return `ptycho-study train${roots} --dose ${formatDose(t.dose)} --view ${t.view} --gridsize ${t.gridsize}${extra}`;
  const r = jobId ? parseReconstructionJobId(jobId) : undefined;
  if (r) return `ptycho-study reconstruct${roots} --dose ${formatDose(r.dose)} --view ${r.view} --split ${r.split} --algorithm ${r.algorithm}${extra}`;
  return kind === 'reconstruct' ? `ptycho-study reconstruct …${extra}` : `ptycho-study train …${extra}`;
}

/**
 * Refuses an output path that is a symlink, a folder, a FIFO, a socket or a device (the write replaces a regular
 * file atomically and nothing else), and one of the job's own files.
 */
export function checkOutFile(outFile: string, jobDir?: string): void {
  const abs = path.resolve(outFile);
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new PtychodusExportError(`Cannot write ${abs}: ${(err as Error).message}`, abs);
  }
  if (st?.isSymbolicLink()) throw new PtychodusExportError(`Refusing to write ${abs}: it is a symbolic link (the export is never written through a link). Remove it or choose another --out.`, abs);
  if (st?.isDirectory()) throw new PtychodusExportError(`Refusing to write ${abs}: it is a directory. Give --out a file name, e.g. ${path.join(abs, PTYCHODUS_PRODUCT_FILE)}.`, abs);
  if (st && !st.isFile()) {
    const kind = st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : 'not a regular file';
    throw new PtychodusExportError(`Refusing to write ${abs}: it is ${kind}. Choose another --out.`, abs);
  }
  if (jobDir && path.dirname(abs) === path.resolve(jobDir)) {
    const own = new Set<string>([...Object.values(ARTIFACT).filter((f) => f !== PTYCHODUS_PRODUCT_FILE), RECON_LOG]);
    if (own.has(path.basename(abs))) throw new PtychodusExportError(`Refusing to write ${abs}: it is one of the job's own files. Choose another --out (default ${PTYCHODUS_PRODUCT_FILE}).`, abs);
  }
}

function numericData(arr: NdArray, file: string, key: string): Float64Array {
  const d = arr.data;
  if (Array.isArray(d)) throw new PtychodusExportError(`${file}: "${key}" must be numeric (it is ${arr.dtype.descr}).`, file);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, (v) => Number(v));
  if (arr.dtype.name === 'c8' || arr.dtype.name === 'c16') throw new PtychodusExportError(`${file}: "${key}" must be real (it is ${arr.dtype.descr}).`, file);
  return Float64Array.from(d as ArrayLike<number>);
}

/** A 2-D complex array as interleaved complex64 (a real one gets zero phase). */
function complex2d(arr: NdArray, file: string, key: string): { height: number; width: number; data: Float32Array } {
  const shape = arr.shape.length === 3 && arr.shape[0] === 1 ? arr.shape.slice(1) : arr.shape;
  if (shape.length !== 2) throw new PtychodusExportError(`${file}: "${key}" must be a 2-D array (its shape is (${arr.shape.join(', ')})).`, file);
  const [height, width] = shape;
  const d = arr.data;
  if (Array.isArray(d)) throw new PtychodusExportError(`${file}: "${key}" must be numeric (it is ${arr.dtype.descr}).`, file);
  if (arr.dtype.name === 'c8') return { height, width, data: d as Float32Array };
  if (arr.dtype.name === 'c16') return { height, width, data: Float32Array.from(d as Float64Array) };
  const real = numericData(arr, file, key);
  const data = new Float32Array(2 * real.length);
  for (let i = 0; i < real.length; i++) data[2 * i] = real[i];
  return { height, width, data };
}

/** Keys (normalised) → factor to eV. */
const ENERGY_KEYS: Record<string, number> = { probeenergyev: 1, photonenergyev: 1, beamenergyev: 1, energyev: 1, probeenergykev: 1e3, photonenergykev: 1e3, beamenergykev: 1e3, energykev: 1e3 };
/** Keys (normalised) → factor to metres. */
const DISTANCE_KEYS: Record<string, number> = { detectorobjectdistancem: 1, detectordistancem: 1, sampledetectordistancem: 1, distancem: 1, zm: 1, detectordistancemm: 1e-3 };

async function readMetadataJson(a: NpzArchive): Promise<unknown> {
  try {
    return (await a.readMetadata())?.json;
  } catch {
    return undefined;
  }
}

interface DatasetPart {
  xs: Float64Array;
  ys: Float64Array;
  probe?: { height: number; width: number; data: Float32Array };
  meta: unknown;
}

async function readDataset(file: string, withProbe: boolean, why: string): Promise<DatasetPart> {
  let a: NpzArchive;
  try {
    a = await openNpz(file);
  } catch (err) {
    throw new PtychodusExportError(`The dataset ${why} (${file}) cannot be read: ${(err as Error).message}. The export needs its scan positions${withProbe ? ' and probeGuess' : ''}; restore the file and retry.`, file);
  }
  try {
    for (const k of ['xcoords', 'ycoords', ...(withProbe ? ['probeGuess'] : [])]) {
      if (!a.has(k)) throw new PtychodusExportError(`The dataset ${why} (${file}) has no "${k}" member; the export needs it.`, file);
    }
    const xs = numericData(await a.readArray('xcoords'), file, 'xcoords');
    const ys = numericData(await a.readArray('ycoords'), file, 'ycoords');
    if (xs.length !== ys.length || xs.length === 0) throw new PtychodusExportError(`${file}: ${xs.length} xcoords but ${ys.length} ycoords.`, file);
    for (let i = 0; i < xs.length; i++) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) throw new PtychodusExportError(`${file}: scan position ${i} is not finite (${xs[i]}, ${ys[i]}).`, file);
    }
    const probe = withProbe ? complex2d(await a.readArray('probeGuess'), file, 'probeGuess') : undefined;
    return { xs, ys, probe, meta: await readMetadataJson(a) };
  } catch (err) {
    if (err instanceof PtychodusExportError) throw err;
    throw new PtychodusExportError(`The dataset ${why} (${file}) cannot be read: ${(err as Error).message}.`, file);
  } finally {
    await a.close();
  }
}

/** Refuses, with what to do, a job that has no finished result to export. */
async function readFinishedManifest(jobDir: string, o: PtychodusExportOptions): Promise<Manifest> {
  const record = await readRunRecord<Manifest>(jobDir);
  const id = o.jobId ?? path.basename(jobDir);
  const manifestPath = path.join(jobDir, ARTIFACT.manifest);
  if (!record) {
    throw new PtychodusExportError(`${id} has no finished result to export: it has not run yet (there is no ${manifestPath}). Run it first (${runCommandHint(o.jobId, undefined, o.rootHint)}), then export it.`, manifestPath);
  }
  const m = record.manifest;
  const jobId = o.jobId ?? m.job?.id ?? id;
  const kind = m.kind === 'ptycho-study-reconstruction' ? 'reconstruct' : 'train';
  const run = typeof m.runId === 'string' ? ` (run ${m.runId})` : '';
  switch (record.status) {
    case 'succeeded':
      return m;
    case 'running':
      throw new PtychodusExportError(`${jobId} is still running${run}: there is no finished result yet. Export it when the run has finished.`, manifestPath);
    case 'dry-run':
      throw new PtychodusExportError(`${jobId} has no finished result to export: it was only planned (dry run). Run it first (${runCommandHint(jobId, kind, o.rootHint)}), then export it.`, manifestPath);
    default:
      throw new PtychodusExportError(
        `${jobId} has no finished result to export: its latest run${run} ${record.status}${record.reason ? ` (${record.reason.replace(/\.$/, '')})` : ''}. `
        + `Resume it (${runCommandHint(jobId, kind, o.rootHint, ' --resume')}) or run it again, then export it.`, manifestPath);
  }
}

/** The run's curve: the journal's segment of this run (training loss per epoch, relative error per iteration). */
async function lossHistory(jobDir: string, m: Manifest, kind: 'train' | 'reconstruct'): Promise<{ x: number[]; y: number[]; source: string }> {
  const eventsFile = path.join(jobDir, ARTIFACT.events);
  try {
    const events = parseEvents(await readSmallFile(eventsFile, EVENTS_MAX_BYTES));
    const curve = curveOf(runSegment(events, m.finishedAt ?? m.updatedAt), kind);
    if (curve.x.length > 0) return { x: curve.x, y: curve.y, source: eventsFile };
  } catch {
    // No journal, or an unreadable one: the manifest's history below, or no curve.
  }
  const history = Array.isArray(m.result?.history) ? m.result!.history.filter((h) => Number.isFinite(h?.iteration) && Number.isFinite(h?.relativeError)) : [];
  if (kind === 'reconstruct' && history.length > 0) {
    return { x: history.map((h) => h.iteration), y: history.map((h) => h.relativeError), source: `${path.join(jobDir, ARTIFACT.manifest)} result.history` };
  }
  return { x: [], y: [], source: 'none found' };
}

/** The provenance the manifest records for `file` (any of its data entries), if any. */
function provenanceOf(m: Manifest, file: string): DatasetProvenance | undefined {
  for (const v of Object.values(m.data ?? {})) {
    if (v && typeof v === 'object' && path.resolve(v.path) === path.resolve(file)) return v;
  }
  return undefined;
}

/**
 * Writes the job's latest finished result as a Ptychodus NPZ product at `outFile` (atomically: a temporary file
 * beside it, renamed into place). Reads `<jobDir>/manifest.json` (must say succeeded), `reconstruction.npz`, the
 * run's segment of `events.jsonl`, and the dataset the reconstruction was stitched from (positions, its
 * `_metadata`; for a training job also its probeGuess). Throws PtychodusExportError with what to do.
 */
export async function exportPtychodusProduct(jobDir: string, outFile: string, o: PtychodusExportOptions = {}): Promise<PtychodusExportResult> {
  const dir = path.resolve(jobDir);
  const out = path.resolve(outFile);
  const m = await readFinishedManifest(dir, o);
  checkOutFile(out, dir);
  const jobId = o.jobId ?? m.job?.id ?? path.basename(dir);
  const kind: 'train' | 'reconstruct' = m.kind === 'ptycho-study-reconstruction' ? 'reconstruct' : 'train';
  const notes: string[] = [];

  // reconstruction.npz: object (complex64, H×W), origin, probe (Phase F), _metadata (datasetPath).
  const recFile = path.join(dir, ARTIFACT.reconstruction);
  let rec: NpzArchive;
  try {
    rec = await openNpz(recFile);
  } catch (err) {
    throw new PtychodusExportError(`${jobId}'s run succeeded but its ${ARTIFACT.reconstruction} cannot be read (${(err as Error).message}). Run the job again (${runCommandHint(jobId, kind, o.rootHint)}), then export it.`, recFile);
  }
  let object: { height: number; width: number; data: Float32Array };
  let origin: [number, number] = [0, 0];
  let recProbe: { height: number; width: number; data: Float32Array } | undefined;
  let recMeta: Record<string, unknown> = {};
  // What the run recorded of its dataset (positions, probeGuess): the fallback when the dataset is gone.
  let recorded: { positions: boolean; probeGuess: boolean } = { positions: false, probeGuess: false };
  try {
    if (!rec.has('object')) throw new PtychodusExportError(`${recFile} has no "object" member.`, recFile);
    object = complex2d(await rec.readArray('object'), recFile, 'object');
    if (rec.has('origin')) {
      const o2 = numericData(await rec.readArray('origin'), recFile, 'origin');
      if (o2.length === 2) origin = [o2[0], o2[1]];
    } else {
      notes.push(`${recFile} records no origin: the object is taken to start at objectGuess pixel (0, 0).`);
    }
    if (rec.has('probe')) recProbe = complex2d(await rec.readArray('probe'), recFile, 'probe');
    recorded = { positions: rec.has('xcoords') && rec.has('ycoords'), probeGuess: rec.has('probeGuess') };
    const meta = await readMetadataJson(rec);
    if (meta && typeof meta === 'object' && !Array.isArray(meta)) recMeta = meta as Record<string, unknown>;
  } catch (err) {
    if (err instanceof PtychodusExportError) throw err;
    throw new PtychodusExportError(`${recFile} cannot be read: ${(err as Error).message}.`, recFile);
  } finally {
    await rec.close();
  }

  // The dataset the reconstruction is of: its positions (and, for a training job, its probeGuess).
  const input = m.data?.input as DatasetProvenance | undefined;
  const evaluation = m.data?.evaluation as DatasetProvenance | undefined;
  const test = m.data?.test as DatasetProvenance | undefined;
  const datasetPath = typeof recMeta.datasetPath === 'string' ? recMeta.datasetPath
    : kind === 'reconstruct' ? input?.path : evaluation?.path ?? test?.path;
  if (!datasetPath) throw new PtychodusExportError(`${jobId}: neither ${recFile} nor the manifest names the dataset the reconstruction is of; its scan positions cannot be exported.`, recFile);
  const needProbe = !recProbe;
  let ds: DatasetPart;
  // Where the positions, the probeGuess and the units were read: the dataset, or the copy the run recorded.
  let sourceFile = datasetPath;
  try {
    ds = await readDataset(datasetPath, needProbe, `${jobId}'s reconstruction was made from`);
  } catch (err) {
    if (!(err instanceof PtychodusExportError) || !recorded.positions || (needProbe && !recorded.probeGuess)) throw err;
    ds = await readDataset(recFile, needProbe, `${jobId}'s reconstruction recorded`);
    ds.meta = recMeta.datasetMetadata;
    sourceFile = recFile;
    notes.push(`${err.message.replace(/; restore the file and retry\.$/, '.')} Exported from the copies ${recFile} recorded when the run read it instead: its positions${needProbe ? ', probeGuess' : ''} and units.`);
  }
  const prov = sourceFile === datasetPath ? provenanceOf(m, datasetPath) : undefined;
  if (prov) {
    const st = fs.statSync(datasetPath, { throwIfNoEntry: false });
    if (st && (st.size !== prov.bytes || Math.abs(st.mtimeMs - prov.mtimeMs) > 1)) {
      notes.push(`${datasetPath} has changed since the run (size or modification time differ from the manifest's record): its positions may not be the ones the run used.`);
    }
  }
  const probe = recProbe ?? ds.probe!;
  const probeSource: PtychodusExportResult['probe'] = recProbe
    ? { shape: [1, 1, probe.height, probe.width], dtype: '<c8', source: 'reconstruction', file: recFile, key: 'probe' }
    : { shape: [1, 1, probe.height, probe.width], dtype: '<c8', source: 'dataset', file: sourceFile, key: 'probeGuess' };
  if (!recProbe) notes.push(`The probe is the dataset's probeGuess (${sourceFile === datasetPath ? datasetPath : `${datasetPath}, as recorded in ${recFile}`}): a training job does not refine the probe.`);

  // Units: pixel size, energy and distance from the data's _metadata, else assumed (and said).
  const found = pixelSizeFromMetadata(ds.meta) ?? pixelSizeFromMetadata(recMeta);
  const pixelSize = found
    ? { meters: found.meters, assumed: false, source: `_metadata ${found.key} of ${sourceFile === datasetPath ? datasetPath : `${datasetPath} (recorded in ${recFile})`}` }
    : { meters: assumedPixelSizeM(probe.width), assumed: true, source: `assumed: λz/(N·p) of Ptychodus's default geometry (${PTYCHODUS_DEFAULTS.probeEnergyEv} eV, ${PTYCHODUS_DEFAULTS.detectorDistanceM} m, ${PTYCHODUS_DEFAULTS.detectorPixelSizeM * 1e6} µm detector pixels, N = ${probe.width})` };
  if (pixelSize.assumed) notes.push(`The data record no object pixel size: ${pixelSize.meters.toExponential(4)} m is ASSUMED (${pixelSize.source.replace(/^assumed: /, '')}); positions and sizes in metres scale with it.`);
  const energy = metadataQuantity(ds.meta, ENERGY_KEYS, (v) => v >= 10 && v <= 1e7);
  const distance = metadataQuantity(ds.meta, DISTANCE_KEYS, (v) => v > 1e-4 && v <= 1e3);
  const probeEnergyEv = energy ? { value: energy.value, assumed: false, source: `_metadata ${energy.key}` } : { value: PTYCHODUS_DEFAULTS.probeEnergyEv, assumed: true, source: 'assumed: Ptychodus\'s default' };
  const detectorDistanceM = distance ? { value: distance.value, assumed: false, source: `_metadata ${distance.key}` } : { value: PTYCHODUS_DEFAULTS.detectorDistanceM, assumed: true, source: 'assumed: Ptychodus\'s default' };
  if (probeEnergyEv.assumed || detectorDistanceM.assumed) {
    notes.push(`The data record no ${[probeEnergyEv.assumed ? 'photon energy' : '', detectorDistanceM.assumed ? 'detector distance' : ''].filter(Boolean).join(' or ')}: Ptychodus's defaults are written (${probeEnergyEv.value} eV, ${detectorDistanceM.value} m).`);
  }
  const dose = typeof m.job?.dose === 'number' && Number.isFinite(m.job.dose) ? m.job.dose : 0;

  // Positions in metres, and the object centre that puts them on the same object pixels in Ptychodus.
  const dx = pixelSize.meters;
  const n = ds.xs.length;
  const xM = new Float64Array(n);
  const yM = new Float64Array(n);
  const idx = new BigInt64Array(n);
  let outside = 0;
  for (let i = 0; i < n; i++) {
    xM[i] = ds.xs[i] * dx;
    yM[i] = ds.ys[i] * dx;
    idx[i] = BigInt(i);
    const cx = ds.xs[i] - origin[0];
    const cy = ds.ys[i] - origin[1];
    if (cx < 0 || cy < 0 || cx > object.width || cy > object.height) outside++;
  }
  if (outside > 0) notes.push(`${outside} of ${n} scan positions lie outside the exported object (it is cropped to the evaluation region).`);
  const centerM: [number, number] = [(origin[0] + object.width / 2) * dx, (origin[1] + object.height / 2) * dx];

  // Loss history: this run's journal segment.
  const curve = await lossHistory(dir, m, kind);
  const expected = kind === 'train' ? m.result?.epochs : m.result?.iterations;
  const expectedCount = typeof expected === 'number' && Number.isFinite(expected) ? expected : null;
  if (curve.x.length === 0) notes.push(`No ${kind === 'train' ? 'epoch losses' : 'iteration costs'} were found in ${path.join(dir, ARTIFACT.events)}: the loss history is empty.`);
  else if (expectedCount !== null && curve.x.length !== expectedCount) notes.push(`The journal holds ${curve.x.length} ${kind === 'train' ? 'epochs' : 'iterations'} of this run, the manifest ${expectedCount}.`);

  const runId = typeof m.runId === 'string' ? m.runId : null;
  const name = runId ? `${jobId}@${runId}` : jobId;
  const comments = [
    `PtychoPINN Study Workbench (ptycho-study export-ptychodus): ${kind === 'train' ? 'PtychoPINN training job' : `Phase F ${m.job?.algorithm ?? 'iterative'} reconstruction`} ${jobId}${runId ? `, run ${runId}` : ''}.`,
    `Object: ${recFile} (object, complex64, region origin x0=${origin[0]}, y0=${origin[1]} of objectGuess).`,
    `Probe: ${probeSource.file} [${probeSource.key}]. Positions: xcoords/ycoords of ${datasetPath}${sourceFile === datasetPath ? '' : ` (as recorded in ${recFile})`} × pixel size.`,
    `Object pixel size: ${dx} m (${pixelSize.source}). Energy: ${probeEnergyEv.value} eV (${probeEnergyEv.source}). Distance: ${detectorDistanceM.value} m (${detectorDistanceM.source}).`,
    `Losses: ${kind === 'train' ? 'mean training loss per epoch' : 'relative amplitude error per iteration'}, epochs counted from 0 (${curve.source}).`,
    `Format: ${PTYCHODUS_FORMAT_SOURCE}.`,
  ].join('\n');

  const f8 = (v: number): NdArray => ndarray('<f8', [], Float64Array.of(v));
  const arrays: Record<string, NdArray> = {
    name: scalarString(name),
    comments: scalarString(comments),
    detector_object_distance_m: f8(detectorDistanceM.value),
    probe_energy_eV: f8(probeEnergyEv.value),
    probe_photon_count: f8(dose),
    exposure_time_s: f8(PTYCHODUS_DEFAULTS.exposureTimeS),
    mass_attenuation_m2_kg: f8(PTYCHODUS_DEFAULTS.massAttenuationM2Kg),
    probe_position_indexes: ndarray('<i8', [n], idx),
    probe_position_x_m: ndarray('<f8', [n], xM),
    probe_position_y_m: ndarray('<f8', [n], yM),
    probe: ndarray('<c8', [1, 1, probe.height, probe.width], probe.data),
    probe_pixel_width_m: f8(dx),
    probe_pixel_height_m: f8(dx),
    object: ndarray('<c8', [1, object.height, object.width], object.data),
    object_center_x_m: f8(centerM[0]),
    object_center_y_m: f8(centerM[1]),
    object_pixel_width_m: f8(dx),
    object_pixel_height_m: f8(dx),
    object_layer_spacing_m: ndarray('<f8', [0], new Float64Array(0)),
    loss_epochs: ndarray('<i8', [curve.x.length], BigInt64Array.from(curve.x, (x) => BigInt(Math.round(x) - 1))),
    loss_values: ndarray('<f8', [curve.y.length], Float64Array.from(curve.y)),
  };
  try {
    await writeNpz(out, arrays, { mtime: o.mtime });
  } catch (err) {
    throw new PtychodusExportError(`Cannot write ${out}: ${(err as Error).message}`, out);
  }
  return {
    outFile: out, jobId, jobDir: dir, kind, runId, reconstruction: recFile, name,
    object: { layers: 1, height: object.height, width: object.width, dtype: '<c8', origin, centerM },
    probe: probeSource,
    positions: { count: n, dataset: datasetPath, readFrom: sourceFile, outsideObject: outside },
    pixelSize, probeEnergyEv, detectorDistanceM, probePhotonCount: dose,
    losses: { count: curve.x.length, quantity: kind === 'train' ? 'training loss' : 'relative error', per: kind === 'train' ? 'epoch' : 'iteration', expected: expectedCount, source: curve.source },
    notes, format: PTYCHODUS_FORMAT_SOURCE,
  };
}
