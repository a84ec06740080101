// What the NPZ preview reads, independent of VS Code (no `vscode` import, so plain-Node unit tests run it):
// opening a .npz/.npy lazily (headers only), describing its members, and reading exactly what is shown —
// one 2-D slice (a frame of a stack, block-mean decimated when larger than maxSide), a 1-D series
// (subsampled), or a page of table rows. Array data leave as fresh float32/float64 ArrayBuffers.
import * as path from 'node:path';
import { openNpy, openNpz, type MetadataString, type NdArray, type NpyHeader, type NpzArchive, type NpyFile, type NumericData } from '../../core/npy';
import { BlockMeanAccumulator, decimationFactor } from '../../core/image/stats';
import type {
  MemberInfo, MetadataInfo, NpzInit, SeriesParams, SeriesResult, SliceParams, SliceResult, TableParams, TableResult,
} from '../../webview/protocol';

/** Bytes read per step when a 2-D image is streamed through the decimator. */
const IMAGE_STEP_BYTES = 32 << 20;
/** Longest `_metadata` text sent to the webview. */
const MAX_METADATA_CHARS = 1 << 20;
export const MAX_TABLE_ROWS = 500;
export const MAX_TABLE_CELLS = 20_000;
export const MAX_SERIES_POINTS = 1_000_000;
/** A frame (one row along axis 0) larger than this is refused rather than read. */
const MAX_FRAME_BYTES = 1 << 30;

export interface SourceMember {
  name: string;
  header: NpyHeader;
  compression: 'stored' | 'deflated';
  storedBytes: number;
}

/** An open .npz archive or .npy file behind one interface. */
export interface PreviewSource {
  format: 'npz' | 'npy';
  path: string;
  fileSize: number;
  members: SourceMember[];
  otherEntries: readonly string[];
  readRows(name: string, start: number, end: number): Promise<NdArray>;
  readArray(name: string, maxBytes?: number): Promise<NdArray>;
  /** `_metadata`, through the core's capped reader (refused unread when too large). */
  readMetadata(): Promise<MetadataString | undefined>;
  close(): Promise<void>;
}

export async function openPreviewSource(file: string): Promise<PreviewSource> {
  if (file.toLowerCase().endsWith('.npy')) return npySource(await openNpy(file));
  return npzSource(await openNpz(file));
}

function npzSource(a: NpzArchive): PreviewSource {
  return {
    format: 'npz', path: a.path, fileSize: a.fileSize, otherEntries: a.otherEntries,
    members: [...a.members.values()].map((m) => ({
      name: m.name, header: m.header, compression: m.compression, storedBytes: m.compressedSize,
    })),
    readRows: (name, s, e) => a.readRows(name, s, e),
    readArray: (name, maxBytes) => a.readArray(name, maxBytes !== undefined ? { maxBytes } : undefined),
    readMetadata: () => a.readMetadata(),
    close: () => a.close(),
  };
}

function npySource(f: NpyFile): PreviewSource {
  const name = path.basename(f.path).replace(/\.npy$/i, '');
  const only = (n: string): void => {
    if (n !== name) throw new Error(`no member "${n}" (this .npy file holds one array, "${name}")`);
  };
  return {
    format: 'npy', path: f.path, fileSize: f.fileSize, otherEntries: [],
    members: [{ name, header: f.header, compression: 'stored', storedBytes: f.fileSize - f.header.headerBytes }],
    readRows: async (n, s, e) => (only(n), f.readRows(s, e)),
    readArray: async (n, maxBytes) => (only(n), f.readArray(maxBytes !== undefined ? { maxBytes } : undefined)),
    readMetadata: async () => (name === '_metadata' ? f.readMetadata() : undefined),
    close: () => f.close(),
  };
}

const DTYPE_NAMES: Record<string, string> = {
  b1: 'bool', i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64', u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  f2: 'float16', f4: 'float32', f8: 'float64', c8: 'complex64', c16: 'complex128', O: 'object',
};

export function dtypeName(h: NpyHeader): string {
  return h.dtype.name === 'U' ? `str${h.dtype.itemSize / 4}` : DTYPE_NAMES[h.dtype.name] ?? h.dtype.descr;
}

const isComplex = (h: NpyHeader): boolean => h.dtype.name === 'c8' || h.dtype.name === 'c16';

/** Image layout of a member shown as an image or stack: the image axes and the channel axis. */
function layoutOf(h: NpyHeader): Pick<MemberInfo, 'view' | 'imageAxes' | 'channelAxis' | 'note'> {
  const s = h.shape;
  const big = h.fortranOrder && s.length > 1 && h.dataBytes > (256 << 20);
  const fortranNote = 'Fortran-ordered: each frame is strided across the whole array, so showing one would read all of it';
  switch (s.length) {
    case 2:
      if (Math.min(s[0], s[1]) <= 8) return { view: 'table', note: 'a short side (≤ 8): shown as a table' };
      return big ? { view: 'none', note: fortranNote } : { view: 'image', imageAxes: [0, 1] };
    case 3:
      if (big) return { view: 'none', note: fortranNote };
      if (s[1] <= 1 || s[2] <= 1) return { view: 'table', note: 'frames of a single row or column: shown as a table of the first frame axis' };
      return { view: 'stack', imageAxes: [1, 2] };
    case 4:
      if (big) return { view: 'none', note: fortranNote };
      // Channels last (PtychoPINN's grouped layout n × N × N × C) when the last axis is short, else n × C × H × W.
      return s[3] <= 16 ? { view: 'stack', imageAxes: [1, 2], channelAxis: 3 } : { view: 'stack', imageAxes: [2, 3], channelAxis: 1 };
    default:
      return { view: 'none', note: `${s.length}-D arrays are not shown (only up to 4-D)` };
  }
}

export function classify(name: string, h: NpyHeader): Pick<MemberInfo, 'view' | 'imageAxes' | 'channelAxis' | 'note'> {
  const dims = h.shape.length;
  if (name === '_metadata' && dims === 0 && (h.dtype.name === 'U' || h.dtype.name === 'O')) return { view: 'metadata' };
  if (h.dtype.name === 'O') return dims === 0 ? { view: 'scalar' } : { view: 'none', note: 'object (pickled) arrays are not read; only 0-d strings are' };
  if (dims === 0) return { view: 'scalar' };
  if (h.elementCount === 0) return { view: 'none', note: 'empty array' };
  if (h.dtype.name === 'U') return dims <= 2 ? { view: 'table' } : { view: 'none', note: 'string arrays of more than 2 dimensions are not shown' };
  if (dims === 1) return { view: 'series' };
  return layoutOf(h);
}

export function describeMembers(src: PreviewSource): MemberInfo[] {
  return src.members.map((m) => ({
    name: m.name,
    descr: m.header.dtype.descr,
    dtypeName: dtypeName(m.header),
    shape: [...m.header.shape],
    dataBytes: m.header.dataBytes,
    compression: m.compression,
    storedBytes: m.storedBytes,
    complex: isComplex(m.header),
    fortranOrder: m.header.fortranOrder,
    ...classify(m.name, m.header),
  }));
}

function formatScalar(arr: NdArray): string {
  const d = arr.data;
  if (Array.isArray(d)) {
    const s = d[0] ?? '';
    return JSON.stringify(s.length > 500 ? `${s.slice(0, 500)}…` : s);
  }
  if (arr.dtype.name === 'b1') return d[0] ? 'True' : 'False';
  if (arr.dtype.name === 'c8' || arr.dtype.name === 'c16') {
    const re = Number(d[0]);
    const im = Number(d[1]);
    return `${fmt(re)}${im < 0 || Object.is(im, -0) ? '−' : '+'}${fmt(Math.abs(im))}j`;
  }
  return typeof d[0] === 'bigint' ? d[0].toString() : fmt(Number(d[0]));
}

function fmt(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return String(v);
  return String(Number(v.toPrecision(8)));
}

export function findScan(members: MemberInfo[]): NpzInit['scan'] {
  const get = (n: string): MemberInfo | undefined => members.find((m) => m.name === n && m.view === 'series' && !m.complex);
  for (const [xn, yn] of [['xcoords', 'ycoords'], ['xcoords_start', 'ycoords_start'], ['coords_x', 'coords_y']]) {
    const x = get(xn);
    const y = get(yn);
    if (x && y && x.shape[0] === y.shape[0]) return { x: xn, y: yn, count: x.shape[0] };
  }
  return undefined;
}

export function initialMember(members: MemberInfo[]): string | undefined {
  const by = (pred: (m: MemberInfo) => boolean): MemberInfo | undefined => members.find(pred);
  return (by((m) => (m.name === 'diffraction' || m.name === 'diff3d') && m.view === 'stack')
    ?? by((m) => m.view === 'stack')
    ?? by((m) => m.view === 'image')
    ?? by((m) => m.view !== 'metadata' && m.view !== 'none')
    ?? members[0])?.name;
}

/** Everything the webview needs first: members, scalars, metadata. Reads no array data except 0-d values. */
export async function buildInit(src: PreviewSource, opts: { displayPath: string; maxSide: number; openMs: number }): Promise<NpzInit> {
  const members = describeMembers(src);
  for (const m of members) {
    if (m.view !== 'scalar') continue;
    try {
      m.scalar = formatScalar(await src.readArray(m.name, 1 << 20));
    } catch (err) {
      m.view = 'none';
      m.note = `unreadable: ${(err as Error).message}`;
    }
  }
  let metadata: MetadataInfo | undefined;
  if (members.some((m) => m.view === 'metadata')) {
    try {
      const meta = await src.readMetadata();
      const raw = meta?.raw ?? '';
      const json = meta?.json;
      metadata = raw.length > MAX_METADATA_CHARS
        ? { raw: raw.slice(0, MAX_METADATA_CHARS), truncated: true }
        : { raw, ...(json !== undefined ? { json } : {}) };
    } catch (err) {
      metadata = { raw: '', error: (err as Error).message };
    }
  }
  return {
    fileName: path.basename(src.path),
    displayPath: opts.displayPath,
    fileSize: src.fileSize,
    format: src.format,
    members,
    ...(metadata ? { metadata } : {}),
    otherEntries: [...src.otherEntries],
    initialMember: initialMember(members),
    scan: findScan(members),
    maxSide: opts.maxSide,
    openMs: opts.openMs,
  };
}

function member(src: PreviewSource, name: string): SourceMember {
  const m = src.members.find((x) => x.name === name);
  if (!m) {
    throw new Error(`no member "${name}" in ${path.basename(src.path)} (it holds: ${src.members.map((x) => x.name).join(', ') || 'nothing'})`);
  }
  return m;
}

/** Numeric typed data → float32 (interleaved for complex), copying into `out` from `offset`. */
function copyToFloat32(data: NdArray['data'], out: Float32Array, offset = 0): void {
  if (Array.isArray(data)) throw new Error('string data cannot be shown as an image');
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) out[offset + i] = Number(data[i]);
  } else {
    out.set(data, offset);
  }
}

function toFloat32(data: NdArray['data']): Float32Array {
  const out = new Float32Array((data as ArrayLike<unknown>).length);
  copyToFloat32(data, out);
  return out;
}

/** Picks channel `c` out of one frame's values (layout given by the member's channel axis). */
function pickChannel(frame: Float32Array, shape: number[], channelAxis: number, c: number, w: number): Float32Array {
  if (channelAxis === 3) {
    const [, h, wd, nc] = shape;
    const out = new Float32Array(h * wd * w);
    for (let p = 0, o = 0; p < h * wd; p++, o += w) {
      const i = (p * nc + c) * w;
      out[o] = frame[i];
      if (w === 2) out[o + 1] = frame[i + 1];
    }
    return out;
  }
  const [, , h, wd] = shape; // channel axis 1: n × C × H × W
  return frame.slice(c * h * wd * w, (c + 1) * h * wd * w);
}

/** One 2-D slice of an image or stack member, block-mean decimated to at most maxSide per side. */
export async function readSlice(src: PreviewSource, info: MemberInfo, p: SliceParams, maxSide: number): Promise<SliceResult> {
  const m = member(src, p.member);
  const h = m.header;
  const w = isComplex(h) ? 2 : 1;
  const t0 = performance.now();
  if (info.view === 'image') {
    if (p.frame !== undefined) throw new Error(`"${p.member}" is a 2-D image: it has no frames`);
    const [height, width] = h.shape;
    const factor = decimationFactor(width, height, maxSide);
    const rowBytes = width * h.dtype.itemSize;
    const acc = new BlockMeanAccumulator(width, height, factor, w);
    // Whole block rows per read, about IMAGE_STEP_BYTES each (a Fortran-ordered image is read whole).
    const rowsPerRead = h.fortranOrder ? height : Math.max(factor, Math.floor(IMAGE_STEP_BYTES / Math.max(1, rowBytes) / factor) * factor);
    for (let r = 0; r < height; r += rowsPerRead) {
      const e = Math.min(height, r + rowsPerRead);
      const rows = await src.readRows(p.member, r, e);
      acc.addRows(toFloat32(rows.data), e - r);
    }
    const out = acc.result();
    return {
      member: p.member, sourceWidth: width, sourceHeight: height, width: out.width, height: out.height, factor,
      complex: w === 2, data: out.data.buffer as ArrayBuffer, readMs: performance.now() - t0, bytesRead: h.dataBytes,
    };
  }
  if (info.view !== 'stack' || !info.imageAxes) throw new Error(`"${p.member}" (${info.view}) is not an image or a stack`);
  const frames = h.shape[0];
  if (p.frame === undefined) throw new Error(`"${p.member}" is a stack of ${frames} frames: say which frame`);
  if (!Number.isSafeInteger(p.frame) || p.frame < 0 || p.frame >= frames) throw new Error(`frame ${p.frame} is out of range: "${p.member}" has frames 0–${frames - 1}`);
  const height = h.shape[info.imageAxes[0]];
  const width = h.shape[info.imageAxes[1]];
  const frameBytes = (h.dataBytes / frames);
  if (frameBytes > MAX_FRAME_BYTES) throw new Error(`one frame of "${p.member}" is ${(frameBytes / 2 ** 20).toFixed(0)} MiB, too large to preview`);
  let channel: number | undefined;
  if (info.channelAxis !== undefined) {
    const nc = h.shape[info.channelAxis];
    channel = p.channel ?? 0;
    if (!Number.isSafeInteger(channel) || channel < 0 || channel >= nc) throw new Error(`channel ${channel} is out of range: "${p.member}" has channels 0–${nc - 1}`);
  } else if (p.channel !== undefined) {
    throw new Error(`"${p.member}" has no channel axis`);
  }
  const rows = await src.readRows(p.member, p.frame, p.frame + 1);
  let values = toFloat32(rows.data);
  if (info.channelAxis !== undefined) values = pickChannel(values, h.shape, info.channelAxis, channel!, w);
  const factor = decimationFactor(width, height, maxSide);
  let outW = width;
  let outH = height;
  if (factor > 1) {
    const acc = new BlockMeanAccumulator(width, height, factor, w);
    acc.addRows(values, height);
    const d = acc.result();
    values = d.data;
    outW = d.width;
    outH = d.height;
  }
  return {
    member: p.member, frame: p.frame, ...(channel !== undefined ? { channel } : {}),
    sourceWidth: width, sourceHeight: height, width: outW, height: outH, factor, complex: w === 2,
    data: values.buffer as ArrayBuffer, readMs: performance.now() - t0, bytesRead: frameBytes,
  };
}

/** A 1-D numeric member as float64, every stride-th value so that at most maxPoints are sent. */
export async function readSeries(src: PreviewSource, info: MemberInfo, p: SeriesParams): Promise<SeriesResult> {
  const m = member(src, p.member);
  if (info.view !== 'series') throw new Error(`"${p.member}" is not a 1-D numeric array`);
  const n = m.header.shape[0];
  const maxPoints = Math.min(MAX_SERIES_POINTS, Math.max(1, p.maxPoints));
  const stride = Math.max(1, Math.ceil(n / maxPoints));
  const count = Math.ceil(n / stride);
  const out = new Float64Array(count);
  const w = isComplex(m.header) ? 2 : 1;
  const step = Math.max(stride, Math.floor((16 << 20) / m.header.dtype.itemSize / stride) * stride);
  let o = 0;
  for (let s = 0; s < n; s += step) {
    const e = Math.min(n, s + step);
    const rows = await src.readRows(p.member, s, e);
    const d = rows.data as NumericData;
    for (let i = 0; i < e - s; i += stride) {
      const v = d[i * w];
      out[o++] = typeof v === 'bigint' ? Number(v) : (v as number);
    }
  }
  return { member: p.member, length: n, stride, data: out.buffer };
}

/** Rows [start, start + count) of a 1-D or 2-D member (numbers as float64, strings and 64-bit integers as text). */
export async function readTable(src: PreviewSource, _info: MemberInfo, p: TableParams): Promise<TableResult> {
  const m = member(src, p.member);
  const shape = m.header.shape;
  if (shape.length === 0 || shape.length > 3) throw new Error(`"${p.member}" (${shape.length}-D) cannot be shown as a table`);
  const columns = shape.slice(1).reduce((a, b) => a * b, 1);
  const start = Math.min(p.start, shape[0]);
  const rows = Math.max(0, Math.min(p.count, MAX_TABLE_ROWS, Math.floor(MAX_TABLE_CELLS / Math.max(1, columns)), shape[0] - start));
  const arr = rows > 0 ? await src.readRows(p.member, start, start + rows) : undefined;
  const base = { member: p.member, start, rows, columns };
  if (!arr) return { ...base, numbers: new Float64Array(0).buffer };
  const d = arr.data;
  if (Array.isArray(d)) return { ...base, strings: d };
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return { ...base, strings: Array.from(d, (v) => v.toString()) };
  if (isComplex(m.header)) {
    const s: string[] = [];
    for (let i = 0; i < d.length; i += 2) {
      const re = Number(d[i]);
      const im = Number(d[i + 1]);
      s.push(`${fmt(re)}${im < 0 ? '−' : '+'}${fmt(Math.abs(im))}j`);
    }
    return { ...base, strings: s };
  }
  return { ...base, numbers: Float64Array.from(d as ArrayLike<number>).buffer };
}
