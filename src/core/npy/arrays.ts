// Whole-array and row-range reads of one .npy stream, given its parsed header and a byte source.
// Shared by bare .npy files and .npz members.
import { decodeElements, halfToFloat, isStorageFor, nativeInPlace, needsSwap, storageClassName, swapInPlace, valuesPerElement } from './dtype';
import { shapeRepr } from './header';
import { decodePickledString } from './pickle';
import { wholeBuffer, type NpyByteSource } from './source';
import { NpyFormatError, type NdArray, type NpyHeader, type NumericData } from './types';

export interface ReadOptions {
  /** Refuse to allocate more than this many bytes for the result (default 2 GiB). */
  maxBytes?: number;
}

export const DEFAULT_MAX_BYTES = 2 * 1024 ** 3;

/** The stream being read: its header, source and total length (for pickles, which have no fixed size). */
export interface NpyStream {
  file: string;
  member?: string;
  header: NpyHeader;
  source: NpyByteSource;
  streamLength: number;
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

function guard(s: NpyStream, bytes: number, opts: ReadOptions | undefined, what: string, hint: string): void {
  const limit = opts?.maxBytes ?? DEFAULT_MAX_BYTES;
  if (bytes > limit) {
    throw new NpyFormatError(s.file, s.member,
      `${what} is ${formatBytes(bytes)}, over the maxBytes limit of ${formatBytes(limit)}; ${hint}`);
  }
}

export async function readWholeArray(s: NpyStream, opts?: ReadOptions): Promise<NdArray> {
  const { header, file, member } = s;
  const { dtype, shape } = header;
  if (dtype.name === 'O') {
    if (header.elementCount !== 1) {
      throw new NpyFormatError(file, member, `object array of shape ${shapeRepr(shape)}: only a single pickled string is supported`);
    }
    const n = s.streamLength - header.headerBytes;
    guard(s, n, opts, 'the pickled object', 'raise maxBytes if this is expected');
    const ab = new ArrayBuffer(n);
    await s.source.fill(wholeBuffer(ab), header.headerBytes);
    return { dtype, shape: [...shape], data: [decodePickledString(new Uint8Array(ab), file, member)] };
  }
  guard(s, header.dataBytes, opts, `the ${dtype.descr} array of shape ${shapeRepr(shape)}`,
    'read it in parts with readRows(name, start, end), or raise maxBytes');
  const ab = new ArrayBuffer(header.dataBytes);
  if (ab.byteLength > 0) await s.source.fill(wholeBuffer(ab), header.headerBytes);
  let data = decodeElements(dtype, ab, header.elementCount, file, member);
  if (header.fortranOrder && shape.length > 1) data = fortranToC(data, shape, valuesPerElement(dtype));
  return { dtype, shape: [...shape], data };
}

function checkRows(s: NpyStream, start: number, end: number): void {
  const { header: { dtype, shape }, file, member } = s;
  if (shape.length === 0) throw new NpyFormatError(file, member, 'a 0-d array has no rows; use readArray');
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > shape[0]) {
    throw new NpyFormatError(file, member, `rows [${start}, ${end}) are out of range for axis 0 of length ${shape[0]}`);
  }
  if (dtype.name === 'O') throw new NpyFormatError(file, member, 'rows of a pickled object array cannot be read; use readArray');
}

export async function readRowRange(s: NpyStream, start: number, end: number, opts?: ReadOptions): Promise<NdArray> {
  const { header, file, member } = s;
  const { dtype, shape } = header;
  checkRows(s, start, end);
  const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
  const rest = shape.slice(1);
  if (header.fortranOrder && shape.length > 1) {
    // Rows of a Fortran-ordered array are strided across the whole data: one pass picks them out.
    return readRowSet(s, Array.from({ length: end - start }, (_, i) => start + i), opts);
  }
  const count = (end - start) * rowElements;
  const bytes = count * dtype.itemSize;
  guard(s, bytes, opts, `rows [${start}, ${end}) of ${dtype.descr} ${shapeRepr(shape)}`, 'read fewer rows at a time, or raise maxBytes');
  const ab = new ArrayBuffer(bytes);
  if (bytes > 0) await s.source.fill(wholeBuffer(ab), header.headerBytes + start * rowElements * dtype.itemSize);
  return { dtype, shape: [end - start, ...rest], data: decodeElements(dtype, ab, count, file, member) };
}

/**
 * The given rows along axis 0 (strictly increasing), shape [rows.length, ...rest], reading the member at
 * most once: stored C-order rows are read where they lie; deflated C-order rows come from one inflate pass
 * that stops after the last of them; Fortran-order rows, strided across the whole data, from one pass over
 * it. Memory is the rows plus one chunk, never the whole array.
 */
export async function readRowSet(s: NpyStream, rows: readonly number[], opts?: ReadOptions): Promise<NdArray> {
  const { header, file, member } = s;
  const { dtype, shape } = header;
  checkRows(s, 0, 0);
  rows.forEach((r, i) => {
    if (!Number.isSafeInteger(r) || r < 0 || r >= shape[0] || (i > 0 && r <= rows[i - 1])) {
      throw new NpyFormatError(file, member, `row ${r} is out of range for axis 0 of length ${shape[0]} or out of order`);
    }
  });
  const rest = shape.slice(1);
  const rowElements = rest.reduce((a, b) => a * b, 1);
  const item = dtype.itemSize;
  const rowBytes = rowElements * item;
  const bytes = rows.length * rowBytes;
  guard(s, bytes, opts, `${rows.length} rows of ${dtype.descr} ${shapeRepr(shape)}`, 'read fewer rows at a time, or raise maxBytes');
  const ab = new ArrayBuffer(bytes);
  const out = new Uint8Array(ab);
  const base = header.headerBytes;
  const fortran = header.fortranOrder && shape.length > 1;
  if (rows.length > 0 && rowBytes > 0 && !fortran && s.source.randomAccess) {
    for (let i = 0; i < rows.length; i++) await s.source.fill({ buffer: ab, byteOffset: i * rowBytes, byteLength: rowBytes }, base + rows[i] * rowBytes);
  } else if (rows.length > 0 && rowBytes > 0 && !fortran) {
    let first = 0; // rows before this one are complete
    await s.source.stream(base + rows[0] * rowBytes, base + (rows[rows.length - 1] + 1) * rowBytes, (chunk, pos) => {
      const end = pos + chunk.length;
      for (let i = first; i < rows.length; i++) {
        const r0 = base + rows[i] * rowBytes;
        if (r0 >= end) break;
        const a = Math.max(r0, pos);
        const b = Math.min(r0 + rowBytes, end);
        if (b > a) out.set(chunk.subarray(a - pos, b - pos), i * rowBytes + a - r0);
        if (r0 + rowBytes <= end) first = i + 1;
      }
    });
  } else if (rows.length > 0 && rowBytes > 0) {
    // Fortran order: element (r, t) — t the column-major index over the other axes — lies at (t·n0 + r)·item.
    const n0 = shape[0];
    const colBytes = n0 * item;
    await s.source.stream(base, base + header.dataBytes, (chunk, pos) => {
      const p0 = pos - base;
      const p1 = p0 + chunk.length;
      for (let t = Math.floor(p0 / colBytes); t * colBytes < p1; t++) {
        for (let i = 0; i < rows.length; i++) {
          const e0 = t * colBytes + rows[i] * item;
          const a = Math.max(e0, p0);
          const b = Math.min(e0 + item, p1);
          const dst = i * rowBytes + t * item - e0;
          for (let k = a; k < b; k++) out[dst + k] = chunk[k - p0];
        }
      }
    });
  }
  let data = decodeElements(dtype, ab, rows.length * rowElements, file, member);
  if (fortran && rest.length > 1) data = rowsToC(data, rows.length, rest, valuesPerElement(dtype));
  return { dtype, shape: [rows.length, ...rest], data };
}

/** Reorders each of `count` consecutive rows (of shape `rest`, column-major) into C order. */
function rowsToC<T extends NdArray['data']>(data: T, count: number, rest: readonly number[], w: number): T {
  const rv = data.length / Math.max(1, count);
  if (Array.isArray(data)) {
    const parts: string[] = [];
    for (let i = 0; i < count; i++) parts.push(...fortranToC(data.slice(i * rv, (i + 1) * rv), rest, w));
    return parts as T;
  }
  const typed = data as NumericData;
  for (let i = 0; i < count; i++) {
    const row = typed.subarray(i * rv, (i + 1) * rv) as NumericData;
    (typed as Float64Array).set(fortranToC(row, rest, w) as Float64Array, i * rv);
  }
  return data;
}

/**
 * Caller errors of readRowsInto (plain TypeError/RangeError, not format errors): `out` must be the typed
 * array class `NdArray.data` uses for the dtype and hold at least the rows' values.
 */
export function checkRowsTarget(header: NpyHeader, start: number, end: number, out: NumericData): void {
  const want = storageClassName(header.dtype);
  if (want === 'Array') throw new TypeError(`readRowsInto supports numeric arrays only, not ${header.dtype.descr}; use readRows`);
  if (!isStorageFor(header.dtype, out)) throw new TypeError(`readRowsInto of ${header.dtype.descr} needs a ${want} to read into`);
  const rowValues = header.shape.slice(1).reduce((a, b) => a * b, 1) * valuesPerElement(header.dtype);
  if (Number.isSafeInteger(end - start) && end > start && out.length < (end - start) * rowValues) {
    throw new RangeError(`readRowsInto needs room for ${(end - start) * rowValues} values, the target holds ${out.length}`);
  }
}

/**
 * Rows [start, end) read into `out` (reused across calls: no allocation, no page faults on fresh memory);
 * returns an NdArray whose data is a view of the start of `out`. Stored C-order members are read straight
 * into `out`'s memory.
 */
export async function readRowRangeInto(s: NpyStream, start: number, end: number, out: NumericData, opts?: ReadOptions): Promise<NdArray> {
  const { header } = s;
  const { dtype, shape } = header;
  checkRows(s, start, end);
  checkRowsTarget(header, start, end, out);
  const rest = shape.slice(1);
  const rowElements = rest.reduce((a, b) => a * b, 1);
  const count = (end - start) * rowElements;
  const values = count * valuesPerElement(dtype);
  const view = out.subarray(0, values) as NumericData;
  if (header.fortranOrder && shape.length > 1) {
    const rows = await readRowRange(s, start, end, opts);
    (view as Float64Array).set(rows.data as Float64Array);
  } else if (count > 0) {
    const pos = header.headerBytes + start * rowElements * dtype.itemSize;
    if (dtype.name === 'f2') {
      const halves = new Uint16Array(count);
      await s.source.fill(halves, pos);
      if (needsSwap(dtype)) swapInPlace(halves.buffer, 0, halves.byteLength, 2);
      for (let i = 0; i < count; i++) view[i] = halfToFloat(halves[i]);
    } else {
      await s.source.fill({ buffer: view.buffer, byteOffset: view.byteOffset, byteLength: count * dtype.itemSize }, pos);
      nativeInPlace(dtype, view, count);
    }
  }
  return { dtype, shape: [end - start, ...rest], data: view };
}

type Writable = { length: number; [i: number]: number | bigint | string };

/** Reorders Fortran-order (column-major) data into C order; `w` values per element (2 for complex). */
export function fortranToC<T extends NdArray['data']>(src: T, shape: readonly number[], w: number): T {
  const n = src.length;
  const dst = (Array.isArray(src) ? new Array<string>(n) : new (src.constructor as new (len: number) => NumericData)(n)) as T;
  const k = shape.length;
  const fStride: number[] = [];
  let total = 1;
  for (let i = 0; i < k; i++) {
    fStride.push(total);
    total *= shape[i];
  }
  if (total === 0) return dst;
  const from = src as unknown as Writable;
  const to = dst as unknown as Writable;
  const inner = shape[k - 1];
  const innerStride = fStride[k - 1];
  const idx = new Array<number>(k).fill(0);
  let base = 0;
  let o = 0;
  for (let r = total / inner; r > 0; r--) {
    for (let j = 0, p = base; j < inner; j++, p += innerStride) {
      for (let c = 0; c < w; c++) to[o++] = from[p * w + c];
    }
    // Advance the C-order multi-index over the leading k-1 axes (last of them fastest).
    for (let d = k - 2; d >= 0; d--) {
      idx[d]++;
      base += fStride[d];
      if (idx[d] < shape[d]) break;
      base -= fStride[d] * shape[d];
      idx[d] = 0;
    }
  }
  return dst;
}
