// NumPy dtype descriptors (`<f4`, `>c16`, `|b1`, `<U12`, `|O`) and the conversion between on-disk bytes
// and the in-memory representation documented on `NdArray`.
import * as os from 'node:os';
import { NpyFormatError, type ByteOrder, type Dtype, type DtypeName, type NdArray, type NumericData } from './types';

/** Byte order of this machine as a NumPy descr prefix. */
export const NATIVE_ORDER: '<' | '>' = os.endianness() === 'LE' ? '<' : '>';

/** Largest view Node will hand to a single fs/zlib/Buffer call; also keeps work chunks moderate. */
export const CHUNK_BYTES = 1 << 30;

const FIXED_SIZES: Readonly<Record<string, number>> = {
  b1: 1, i1: 1, u1: 1, i2: 2, u2: 2, f2: 2, i4: 4, u4: 4, f4: 4, i8: 8, u8: 8, f8: 8, c8: 8, c16: 16,
};

/** Longest `U<k>` accepted: keeps itemSize well inside safe integers and sane allocations. */
const MAX_UNICODE_CHARS = 1 << 28;

/**
 * Parses a NumPy `descr` string. Accepts the byte-order prefixes `<`, `>`, `|` (and `=` or none, meaning
 * native). Throws a plain Error for anything else (structured, datetime, bytes, float128, …).
 */
export function parseDescr(descr: string): Dtype {
  const m = /^([<>|=]?)(b1|i1|i2|i4|i8|u1|u2|u4|u8|f2|f4|f8|c8|c16|U(\d{1,10})|O(?:8)?)$/.exec(descr);
  if (!m) throw new Error(`unsupported dtype descr ${JSON.stringify(descr)}`);
  const prefix = m[1];
  const byteOrder: ByteOrder = prefix === '' || prefix === '=' ? NATIVE_ORDER : (prefix as ByteOrder);
  const code = m[2];
  if (code.startsWith('O')) return { descr, name: 'O', byteOrder, itemSize: 0 };
  if (m[3] !== undefined) {
    const chars = Number(m[3]);
    if (chars > MAX_UNICODE_CHARS) throw new Error(`unicode dtype ${descr} is too wide (over ${MAX_UNICODE_CHARS} characters)`);
    return { descr, name: 'U', byteOrder, itemSize: 4 * chars };
  }
  return { descr, name: code as DtypeName, byteOrder, itemSize: FIXED_SIZES[code] };
}

/** Bytes that are reversed together when the byte order differs from native (1 = never swapped). */
export function swapUnit(dtype: Dtype): number {
  switch (dtype.name) {
    case 'b1': case 'i1': case 'u1': case 'O': return 1;
    case 'i2': case 'u2': case 'f2': return 2;
    case 'i4': case 'u4': case 'f4': case 'c8': case 'U': return 4;
    default: return 8; // i8 u8 f8 c16 (complex swaps each component)
  }
}

export function needsSwap(dtype: Dtype): boolean {
  return swapUnit(dtype) > 1 && dtype.byteOrder !== '|' && dtype.byteOrder !== NATIVE_ORDER;
}

/** Number of JS values per array element in `NdArray.data` (complex = re, im). */
export function valuesPerElement(dtype: Dtype): number {
  return dtype.name === 'c8' || dtype.name === 'c16' ? 2 : 1;
}

/** The descr written for `dtype` by our writer: little-endian (or `|` for single bytes). */
export function littleEndianDescr(dtype: Dtype, unicodeChars?: number): string {
  switch (dtype.name) {
    case 'b1': case 'i1': case 'u1': return `|${dtype.name}`;
    case 'O': return '|O';
    case 'U': return `<U${unicodeChars ?? dtype.itemSize / 4}`;
    default: return `<${dtype.name}`;
  }
}

/** Reverses each `unit`-byte group of `ab` in place, in chunks Buffer can address. */
export function swapInPlace(ab: ArrayBufferLike, byteOffset: number, byteLength: number, unit: number): void {
  if (unit <= 1) return;
  const step = CHUNK_BYTES - (CHUNK_BYTES % 16);
  for (let off = 0; off < byteLength; off += step) {
    const b = Buffer.from(ab, byteOffset + off, Math.min(step, byteLength - off));
    if (unit === 2) b.swap16();
    else if (unit === 4) b.swap32();
    else b.swap64();
  }
}

/** IEEE half → float, exact (every half is representable as a float). */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1024 + frac) * 2 ** (exp - 25);
}

/** float → IEEE half bits, round to nearest even (NumPy's `astype(np.float16)` rounding). */
export function floatToHalf(value: number): number {
  const f = Math.fround(value);
  if (Number.isNaN(f)) return 0x7e00;
  const sign = f < 0 || Object.is(f, -0) ? 0x8000 : 0;
  const a = Math.abs(f);
  if (a === Infinity) return sign | 0x7c00;
  if (a >= 65520) return sign | 0x7c00; // rounds past the largest half (65504)
  if (a < 2 ** -14) {
    // Subnormal half: a multiple of 2^-24; round the quotient half-to-even.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let exp = Math.floor(Math.log2(a));
  if (2 ** exp > a) exp -= 1; // guard log2 rounding
  if (2 ** (exp + 1) <= a) exp += 1;
  let mant = roundHalfEven((a / 2 ** exp - 1) * 1024);
  if (mant === 1024) { mant = 0; exp += 1; }
  if (exp > 15) return sign | 0x7c00;
  return sign | ((exp + 15) << 10) | mant;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

type TypedArrayClass = { readonly name: string; new (length: number): NumericData };

/** JS storage class for a dtype, as documented on `NdArray` (undefined: string[]). */
function storageClass(name: DtypeName): TypedArrayClass | undefined {
  switch (name) {
    case 'b1': case 'u1': return Uint8Array;
    case 'i1': return Int8Array;
    case 'i2': return Int16Array;
    case 'u2': return Uint16Array;
    case 'i4': return Int32Array;
    case 'u4': return Uint32Array;
    case 'i8': return BigInt64Array;
    case 'u8': return BigUint64Array;
    case 'f2': case 'f4': case 'c8': return Float32Array;
    case 'f8': case 'c16': return Float64Array;
    default: return undefined;
  }
}

/** Whether `data` is stored the way `NdArray` documents for `dtype` (subclasses such as Buffer count). */
export function isStorageFor(dtype: Dtype, data: unknown): boolean {
  const cls = storageClass(dtype.name);
  return cls ? data instanceof cls : Array.isArray(data);
}

/** Name of the typed array class `NdArray.data` uses for `dtype` ('Array' for strings). */
export function storageClassName(dtype: Dtype): string {
  return storageClass(dtype.name)?.name ?? 'Array';
}

/**
 * Makes `count` elements read straight into a typed array's memory native: byte swap, bool 0/1. Not for
 * f2 (needs widening), U or O.
 */
export function nativeInPlace(dtype: Dtype, target: { buffer: ArrayBufferLike; byteOffset: number }, count: number): void {
  const bytes = count * dtype.itemSize;
  if (needsSwap(dtype)) swapInPlace(target.buffer, target.byteOffset, bytes, swapUnit(dtype));
  if (dtype.name === 'b1') {
    const u8 = new Uint8Array(target.buffer, target.byteOffset, bytes);
    for (let i = 0; i < u8.length; i++) if (u8[i] > 1) u8[i] = 1;
  }
}

/** Throws (plain Error) when `data` does not fit `dtype` × `elementCount`. */
export function checkData(dtype: Dtype, elementCount: number, data: NdArray['data']): void {
  const want = storageClassName(dtype);
  if (!isStorageFor(dtype, data)) {
    const got = Array.isArray(data) ? 'an array' : (data as { constructor?: { name?: string } })?.constructor?.name ?? typeof data;
    throw new Error(`dtype ${dtype.descr} needs ${want === 'Array' ? 'string[]' : want} data, got ${got}`);
  }
  if (want === 'Array' && !(data as unknown[]).every((s) => typeof s === 'string')) {
    throw new Error(`dtype ${dtype.descr} needs string[] data`);
  }
  const expected = elementCount * valuesPerElement(dtype);
  if (data.length !== expected) {
    throw new Error(`dtype ${dtype.descr} with ${elementCount} element(s) needs ${expected} value(s), got ${data.length}`);
  }
}

/**
 * Turns `count` on-disk elements held in `ab` (exactly count × itemSize bytes, in the dtype's byte order)
 * into `NdArray.data`. Numeric types reuse `ab` (zero copy) after an in-place byte swap when needed.
 */
export function decodeElements(dtype: Dtype, ab: ArrayBuffer, count: number, file: string, member?: string): NdArray['data'] {
  if (needsSwap(dtype)) swapInPlace(ab, 0, ab.byteLength, swapUnit(dtype));
  switch (dtype.name) {
    case 'b1': {
      const u8 = new Uint8Array(ab);
      for (let i = 0; i < u8.length; i++) if (u8[i] > 1) u8[i] = 1;
      return u8;
    }
    case 'i1': return new Int8Array(ab);
    case 'u1': return new Uint8Array(ab);
    case 'i2': return new Int16Array(ab);
    case 'u2': return new Uint16Array(ab);
    case 'i4': return new Int32Array(ab);
    case 'u4': return new Uint32Array(ab);
    case 'i8': return new BigInt64Array(ab);
    case 'u8': return new BigUint64Array(ab);
    case 'f4': case 'c8': return new Float32Array(ab);
    case 'f8': case 'c16': return new Float64Array(ab);
    case 'f2': {
      const halves = new Uint16Array(ab);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(halves[i]);
      return out;
    }
    case 'U': return decodeUtf32(new Uint32Array(ab), count, dtype.itemSize / 4, file, member);
    case 'O': throw new NpyFormatError(file, member, 'object arrays are pickled; they have no fixed-size elements');
  }
}

function decodeUtf32(units: Uint32Array, count: number, width: number, file: string, member?: string): string[] {
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    const start = i * width;
    let end = start + width;
    while (end > start && units[end - 1] === 0) end--; // NumPy pads with NULs and strips them on read
    let s = '';
    for (let p = start; p < end; p += 8192) {
      const part = units.subarray(p, Math.min(end, p + 8192));
      for (const cp of part) {
        if (cp > 0x10ffff) throw new NpyFormatError(file, member, `invalid unicode code point 0x${cp.toString(16)} in element ${i}`);
      }
      s += String.fromCodePoint(...part);
    }
    out[i] = s;
  }
  return out;
}

/** Number of Unicode code points in `s` (what one `U` element must hold). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Little-endian bytes of `data` for `dtype` (the output dtype descr comes from `littleEndianDescr`).
 * Views the caller's memory when no conversion is needed; chunks stay ≤ CHUNK_BYTES.
 */
export function encodeElements(dtype: Dtype, data: NdArray['data'], unicodeChars: number): Uint8Array[] {
  switch (dtype.name) {
    case 'U': return [encodeUtf32(data as string[], unicodeChars)];
    case 'O': throw new Error('object arrays are written as <U strings (encodeNpy converts them first)');
    case 'b1': {
      const u8 = data as Uint8Array;
      if (u8.every((v) => v <= 1)) return viewChunks(u8);
      return [Uint8Array.from(u8, (v) => (v ? 1 : 0))];
    }
    case 'f2': {
      const f = data as Float32Array;
      const halves = new Uint16Array(f.length);
      for (let i = 0; i < f.length; i++) halves[i] = floatToHalf(f[i]);
      return littleEndian(halves, 2);
    }
    default: {
      const arr = data as NumericData;
      return littleEndian(arr, arr.BYTES_PER_ELEMENT); // complex swaps per component
    }
  }
}

function littleEndian(arr: NumericData | Uint16Array, unit: number): Uint8Array[] {
  if (NATIVE_ORDER === '<' || unit === 1) return viewChunks(arr);
  const copy = new Uint8Array(arr.byteLength);
  copy.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength));
  swapInPlace(copy.buffer, 0, copy.byteLength, unit);
  return viewChunks(copy);
}

function viewChunks(arr: ArrayBufferView): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < arr.byteLength; off += CHUNK_BYTES) {
    out.push(new Uint8Array(arr.buffer, arr.byteOffset + off, Math.min(CHUNK_BYTES, arr.byteLength - off)));
  }
  return out;
}

function encodeUtf32(strings: string[], width: number): Uint8Array {
  const units = new Uint32Array(strings.length * width);
  strings.forEach((s, i) => {
    let p = i * width;
    for (const ch of s) units[p++] = ch.codePointAt(0)!;
  });
  if (NATIVE_ORDER === '>') swapInPlace(units.buffer, 0, units.byteLength, 4);
  return new Uint8Array(units.buffer);
}
