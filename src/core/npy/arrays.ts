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
    // Rows of a Fortran-ordered array are strided across the whole data: read it all, then slice.
    const whole = await readWholeArray(s, opts);
    const w = valuesPerElement(dtype);
    return { dtype, shape: [end - start, ...rest], data: whole.data.slice(start * rowElements * w, end * rowElements * w) };
  }
  const count = (end - start) * rowElements;
  const bytes = count * dtype.itemSize;
  guard(s, bytes, opts, `rows [${start}, ${end}) of ${dtype.descr} ${shapeRepr(shape)}`, 'read fewer rows at a time, or raise maxBytes');
  const ab = new ArrayBuffer(bytes);
  if (bytes > 0) await s.source.fill(wholeBuffer(ab), header.headerBytes + start * rowElements * dtype.itemSize);
  return { dtype, shape: [end - start, ...rest], data: decodeElements(dtype, ab, count, file, member) };
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
