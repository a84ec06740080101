// What the result panels read from a job folder, independent of VS Code (plain-Node unit tests run it):
// reconstruction.npz headers and arrays (streamed in row chunks through a block-mean decimator, yielding to
// the event loop between chunks, so a multi-GB object neither blocks the extension host nor needs more than
// one chunk in memory besides the result), metrics.json (checked field by field; FRC curves become float64
// ArrayBuffers), and a revision string that changes when any of the job's result files change.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz, type NdArray, type NpzArchive } from '../../core/npy';
import { BlockMeanAccumulator } from '../../core/image/stats';
import { ARTIFACT } from '../../core/study';
import type { ReconMetricsInfo, ResultEvaluationInfo, ResultImageMetrics, ResultMetrics } from '../../webview/protocol';

/** The reconstruction viewer decimates objects larger than this per side (block means). */
export const RECON_MAX_SIDE = 2048;
/** A comparison-grid cell is at most this many pixels per side (the grid shows up to a dozen at once). */
export const GRID_MAX_SIDE = 512;
/** Bytes of one member read per step. */
const CHUNK_BYTES = 16 << 20;

export interface ReconHeader {
  file: string;
  width: number;
  height: number;
  origin: [number, number];
  hasGroundTruth: boolean;
  hasWeight: boolean;
}

const isComplex2d = (a: NpzArchive, name: string): boolean => {
  if (!a.has(name)) return false;
  const h = a.member(name).header;
  return h.shape.length === 2 && (h.dtype.name === 'c8' || h.dtype.name === 'c16');
};

async function readOrigin(a: NpzArchive): Promise<[number, number]> {
  if (!a.has('origin')) return [0, 0];
  const o = await a.readArray('origin', { maxBytes: 1024 });
  const d = o.data as ArrayLike<number | bigint>;
  const x = Number(d[0] ?? 0);
  const y = Number(d[1] ?? 0);
  return [Number.isFinite(x) ? x : 0, Number.isFinite(y) ? y : 0];
}

function checkArchive(a: NpzArchive, file: string): { width: number; height: number } {
  if (!isComplex2d(a, 'object')) throw new Error(`${path.basename(file)} has no 2-D complex "object" array (it holds: ${[...a.members.keys()].join(', ')})`);
  const [height, width] = a.member('object').header.shape;
  for (const name of ['ground_truth', 'weight']) {
    if (!a.has(name)) continue;
    const s = a.member(name).header.shape;
    if (s.length !== 2 || s[0] !== height || s[1] !== width) throw new Error(`${path.basename(file)}: "${name}" is ${s.join('×')}, the object ${height}×${width}`);
  }
  return { width, height };
}

/** The shape and origin of a job's reconstruction (headers and the 8-byte origin only). */
export async function readReconHeader(dir: string): Promise<ReconHeader | undefined> {
  const file = path.join(dir, ARTIFACT.reconstruction);
  if (!fs.existsSync(file)) return undefined;
  const a = await openNpz(file);
  try {
    const { width, height } = checkArchive(a, file);
    return { file, width, height, origin: await readOrigin(a), hasGroundTruth: isComplex2d(a, 'ground_truth'), hasWeight: a.has('weight') };
  } finally {
    await a.close();
  }
}

/** The block factor for a width × height object shown at most maxSide pixels per side. */
export function reconDecimation(width: number, height: number, maxSide: number): { factor: number; width: number; height: number } {
  if (!(maxSide >= 1)) throw new RangeError('maxSide must be at least 1');
  const factor = Math.max(1, Math.ceil(Math.max(width, height) / maxSide));
  return { factor, width: Math.ceil(width / factor), height: Math.ceil(height / factor) };
}

const yieldToEventLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

function asFloat32(a: NdArray): Float32Array {
  const d = a.data;
  if (d instanceof Float32Array) return d;
  if (d instanceof Float64Array) return Float32Array.from(d);
  if (Array.isArray(d)) throw new Error('a string array where numbers were expected');
  return Float32Array.from(d as ArrayLike<number>, Number);
}

/** One member, streamed in chunks of rows, decimated (factor, shift) into a fresh float32 array. */
async function readMember(a: NpzArchive, name: string, factor: number, ox: number, oy: number): Promise<Float32Array> {
  const h = a.member(name).header;
  const [height, width] = h.shape;
  const channels = h.dtype.name === 'c8' || h.dtype.name === 'c16' ? 2 : 1;
  if (factor === 1 && ox === 0 && oy === 0 && h.dataBytes <= CHUNK_BYTES) {
    const arr = asFloat32(await a.readArray(name));
    // Its own buffer, exactly: the buffer is what travels to the webview.
    return arr.byteOffset === 0 && arr.buffer.byteLength === arr.byteLength ? arr : arr.slice();
  }
  const rowBytes = Math.max(1, width * h.dtype.itemSize);
  const step = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
  if (factor === 1) {
    const out = new Float32Array(width * height * channels);
    for (let r = 0; r < height; r += step) {
      const e = Math.min(height, r + step);
      out.set(asFloat32(await a.readRows(name, r, e)), r * width * channels);
      await yieldToEventLoop();
    }
    return out;
  }
  const acc = new BlockMeanAccumulator(width, height, factor, channels, ox, oy);
  for (let r = 0; r < height; r += step) {
    const e = Math.min(height, r + step);
    acc.addRows(asFloat32(await a.readRows(name, r, e)), e - r);
    await yieldToEventLoop();
  }
  return acc.result().data;
}

export interface ReconArrays {
  /** Size after decimation. */
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  factor: number;
  /** Object pixel of source pixel (0, 0). */
  origin: [number, number];
  /** Object pixel of output pixel (0, 0): origin − (ox, oy) when the block grid is shifted. */
  gridOrigin: [number, number];
  object: Float32Array;
  groundTruth?: Float32Array;
  /** Whether the archive holds a ground truth (also when it was not read). */
  hasGroundTruth: boolean;
  weight: Float32Array;
  /** A Phase F reconstruction's probe (float32 interleaved, probeSize × probeSize), when the archive has one. */
  probe?: Float32Array;
  probeSize?: number;
  readMs: number;
}

export interface LoadOptions {
  /** Decimate to at most this many pixels per side (ignored when `factor` is given). */
  maxSide?: number;
  /** A block factor chosen by the caller (the comparison grid uses one factor for every cell). */
  factor?: number;
  /** Align the block grid to this object pixel (the grid's canvas origin). */
  gridAnchor?: [number, number];
  /** false: leave the ground truth out; 'only': read just the ground truth (object and weight come back empty). */
  groundTruth?: boolean | 'only';
}

/** Reads (and decimates) the object, its weight and the ground truth of a job's reconstruction.npz. */
export async function loadReconArrays(dir: string, opts: LoadOptions = {}): Promise<ReconArrays> {
  const t0 = performance.now();
  const file = path.join(dir, ARTIFACT.reconstruction);
  const a = await openNpz(file);
  try {
    const { width, height } = checkArchive(a, file);
    const origin = await readOrigin(a);
    const factor = opts.factor ?? reconDecimation(width, height, opts.maxSide ?? RECON_MAX_SIDE).factor;
    const mod = (v: number): number => ((v % factor) + factor) % factor;
    const ox = opts.gridAnchor ? mod(origin[0] - opts.gridAnchor[0]) : 0;
    const oy = opts.gridAnchor ? mod(origin[1] - opts.gridAnchor[1]) : 0;
    const outW = Math.ceil((width + ox) / factor);
    const outH = Math.ceil((height + oy) / factor);
    const only = opts.groundTruth === 'only';
    const object = only ? new Float32Array(0) : await readMember(a, 'object', factor, ox, oy);
    const weight = only ? new Float32Array(0) : a.has('weight') ? await readMember(a, 'weight', factor, ox, oy) : new Float32Array(outW * outH).fill(1);
    const hasGroundTruth = isComplex2d(a, 'ground_truth');
    const withGt = opts.groundTruth !== false && hasGroundTruth;
    const groundTruth = withGt ? await readMember(a, 'ground_truth', factor, ox, oy) : undefined;
    const probe = !only && isComplex2d(a, 'probe') ? await readProbe(a) : undefined;
    return {
      width: outW, height: outH, sourceWidth: width, sourceHeight: height, factor, origin, gridOrigin: [origin[0] - ox, origin[1] - oy],
      object, weight, ...(groundTruth ? { groundTruth } : {}), ...(probe ? { probe: probe.data, probeSize: probe.size } : {}), hasGroundTruth, readMs: performance.now() - t0,
    };
  } finally {
    await a.close();
  }
}

/** The probe of a Phase F reconstruction.npz: a small square complex array (at most 1024 per side), as float32 pairs. */
async function readProbe(a: NpzArchive): Promise<{ data: Float32Array; size: number } | undefined> {
  const [h, w] = a.member('probe').header.shape;
  if (h !== w || h < 1 || h > 1024) return undefined;
  const arr = await a.readArray('probe');
  const src = arr.data as Float32Array | Float64Array;
  return { data: src instanceof Float32Array ? src : Float32Array.from(src), size: h };
}

// ---------------------------------------------------------------------------------------------------------
// metrics.json

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * One component. metrics.json before schema 2 held FRC crossings as shell indices of the L×L FRC square; they
 * are converted to cycles/px with `legacyFrcSize` = L (the trimmed metric image's shorter side), or dropped
 * when L is unknown, so a number under "cycles/px" is never a shell index.
 */
function imageMetrics(v: unknown, legacyFrcSize?: number | null): ResultImageMetrics | null {
  if (!v || typeof v !== 'object') return null;
  const m = v as Record<string, unknown>;
  const curve = Array.isArray(m.frcCurve) ? m.frcCurve.map((x) => (typeof x === 'number' ? x : NaN)) : [];
  const legacy = legacyFrcSize !== undefined;
  const frc = (x: unknown): number | null => {
    const shell = num(x);
    if (!legacy) return shell;
    return shell !== null && legacyFrcSize ? shell / legacyFrcSize : null;
  };
  return {
    mae: num(m.mae), mse: num(m.mse), psnr: num(m.psnr), psnrStudy: num(m.psnrStudy), ssim: num(m.ssim), msSsim: num(m.msSsim),
    pearson: num(m.pearson),
    frc50: frc(m.frc50), frc50Interpolated: frc(m.frc50Interpolated), frc1over7: frc(m.frc1over7),
    frc50PerMeter: num(m.frc50PerMeter), frc1over7PerMeter: num(m.frc1over7PerMeter),
    frcSize: legacy ? legacyFrcSize ?? null : num(m.frcSize),
    frcCurve: Float64Array.from(curve).buffer,
  };
}

function pair(v: unknown, legacyFrcSize?: number | null): ResultMetrics | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const amplitude = imageMetrics(o.amplitude, legacyFrcSize);
  const phase = imageMetrics(o.phase, legacyFrcSize);
  return amplitude && phase ? { amplitude, phase } : null;
}

function evaluationInfo(v: unknown): ResultEvaluationInfo | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  if (typeof e.dataset !== 'string' || typeof e.source !== 'string') return undefined;
  const r = e.region && typeof e.region === 'object' ? (e.region as Record<string, unknown>) : {};
  const [x0, y0, width, height] = [r.x0, r.y0, r.width, r.height].map(num);
  const px = e.pixelSize && typeof e.pixelSize === 'object' ? num((e.pixelSize as Record<string, unknown>).meters) : null;
  return {
    dataset: e.dataset, source: e.source, ...(typeof e.fallbackReason === 'string' ? { fallbackReason: e.fallbackReason } : {}),
    region: x0 !== null && y0 !== null && width !== null && height !== null ? { x0, y0, width, height } : null,
    pixelSizeMeters: px,
  };
}

function rect(v: unknown): ReconMetricsInfo['metricRegion'] {
  if (!v || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  const [x, y, width, height] = [r.x, r.y, r.width, r.height].map(num);
  return x !== null && y !== null && width !== null && height !== null && width > 0 && height > 0 ? { x, y, width, height } : null;
}

/** The group refinement's iterations behind the headline stitch: the count 'auto' chose, or the count set. */
function groupRefinementOf(m: Record<string, unknown>): unknown {
  const selection = m.groupRefinementSelection as Record<string, unknown> | undefined;
  const set = m.groupRefinement as Record<string, unknown> | undefined;
  return (selection && typeof selection === 'object' ? selection.chosen : undefined) ?? (set && typeof set === 'object' ? set.iterations : undefined);
}

/** metrics.json (already parsed) → what the viewer shows; unknown or malformed fields become null. */
export function parseMetrics(json: unknown): ReconMetricsInfo {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('metrics.json is not a JSON object');
  const m = json as Record<string, unknown>;
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  // Schema 1 (before the common evaluation): FRC as shell indices of the trimmed metric image's centre square.
  const legacy = !(typeof m.schemaVersion === 'number' && m.schemaVersion >= 2);
  const w = num(m.width);
  const h = num(m.height);
  const legacyFrcSize = legacy ? (w !== null && h !== null ? Math.min(w, h) : null) : undefined;
  const evaluation = evaluationInfo(m.evaluation);
  const networkAlone = pair(m.networkAlone, legacyFrcSize);
  const refinement = num(groupRefinementOf(m));
  return {
    trained: pair(m, legacyFrcSize),
    untrained: pair(m.untrained, legacyFrcSize),
    flat: pair(m.flat, legacyFrcSize),
    ...(networkAlone ? { networkAlone } : {}),
    ...(refinement !== null ? { groupRefinement: refinement } : {}),
    ...(evaluation ? { evaluation } : {}),
    coverage: num(m.coverage),
    metricRegion: rect(m.metricRegion),
    globalPhaseOffset: num(m.globalPhaseOffset),
    testLoss: num(m.testLoss),
    ...(str(m.split) ? { split: str(m.split) } : {}),
    ...(num(m.width) !== null ? { width: num(m.width)! } : {}),
    ...(num(m.height) !== null ? { height: num(m.height)! } : {}),
    ...(num(m.trim) !== null ? { trim: num(m.trim)! } : {}),
    ...(str(m.phaseAlign) ? { phaseAlign: str(m.phaseAlign) } : {}),
    ...(str(m.note) ? { note: str(m.note) } : {}),
  };
}

/** Reads and parses `<dir>/metrics.json`: undefined when absent, `{ error }` when unreadable. */
export async function readMetricsFile(dir: string): Promise<{ metrics: ReconMetricsInfo } | { error: string } | undefined> {
  const file = path.join(dir, ARTIFACT.metrics);
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { error: (err as Error).message };
  }
  try {
    return { metrics: parseMetrics(JSON.parse(text)) };
  } catch (err) {
    return { error: `metrics.json cannot be read: ${(err as Error).message}` };
  }
}

/** Changes when reconstruction.npz, metrics.json or manifest.json change (size and mtime). */
export function jobRevision(dir: string): string {
  return [ARTIFACT.reconstruction, ARTIFACT.metrics, ARTIFACT.manifest].map((name) => {
    try {
      const s = fs.statSync(path.join(dir, name));
      return `${s.size}:${Math.round(s.mtimeMs)}`;
    } catch {
      return '-';
    }
  }).join('|');
}

/** At most `limit` tasks at once (decoding several big objects together would only compete for the CPU). */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}
