// Public types of the NumPy .npy/.npz data layer. Pure TypeScript: no `vscode`, no onnxruntime.

/** NumPy scalar kinds this layer understands (the `descr` without byte order). */
export type DtypeName =
  | 'b1' | 'i1' | 'i2' | 'i4' | 'i8' | 'u1' | 'u2' | 'u4' | 'u8'
  | 'f2' | 'f4' | 'f8' | 'c8' | 'c16'
  | 'U' // fixed-width unicode, `<U<k>` (UTF-32)
  | 'O'; // pickled Python object (only 0-d string objects are decoded)

export type ByteOrder = '<' | '>' | '|';

export interface Dtype {
  /** The NumPy `descr` exactly as stored, e.g. `<f4`, `>c16`, `|b1`, `<U12`, `|O`. */
  descr: string;
  name: DtypeName;
  byteOrder: ByteOrder;
  /** Bytes per element (for `U<k>`: 4·k; for `O`: 0 — variable). */
  itemSize: number;
}

/** Parsed `.npy` header. */
export interface NpyHeader {
  dtype: Dtype;
  shape: number[];
  fortranOrder: boolean;
  /** Format version (1, 2 or 3). */
  version: number;
  /** Bytes from the start of the .npy stream to the first data byte (magic + header). */
  headerBytes: number;
  /** Number of elements: product of the shape (1 for 0-d). */
  elementCount: number;
  /** elementCount × itemSize (0 for object arrays). */
  dataBytes: number;
}

/** Typed storage of numeric arrays. Complex arrays are interleaved (re, im) pairs. */
export type NumericData =
  | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/**
 * An in-memory array in C (row-major) order and native byte order.
 * - `b1` → Uint8Array (0/1); `f2` → Float32Array (converted); `i8`/`u8` → BigInt64Array/BigUint64Array;
 * - `c8` → Float32Array and `c16` → Float64Array of length 2·elementCount (re, im interleaved);
 * - `U` and `O` (decoded string objects) → string[].
 * `dtype` describes what was stored on disk (or what will be written).
 */
export interface NdArray {
  dtype: Dtype;
  shape: number[];
  data: NumericData | string[];
}

export interface NpzMember {
  /** Key as `numpy.load(...)[key]` sees it (zip entry name without `.npy`). */
  name: string;
  /** Zip entry name, e.g. `diffraction.npy`. */
  entryName: string;
  compression: 'stored' | 'deflated';
  compressedSize: number;
  uncompressedSize: number;
  /** Absolute file offset of the member's local zip header. */
  localHeaderOffset: number;
  /** Absolute file offset of the first array data byte (stored members only; -1 if deflated). */
  dataOffset: number;
  header: NpyHeader;
}

/** Typed error for every malformed input: names the file, the member (if any) and the problem. */
export class NpyFormatError extends Error {
  constructor(
    readonly file: string,
    readonly member: string | undefined,
    readonly problem: string,
  ) {
    super(`${file}${member !== undefined ? ` [${member}]` : ''}: ${problem}`);
    this.name = 'NpyFormatError';
  }
}

/** The path is a FIFO, socket, device or directory: refused before any read that could block. */
export class NotRegularFileError extends NpyFormatError {
  constructor(file: string, readonly kind: string) {
    super(file, undefined, `${kind}, not a regular file`);
    this.message = `${file} is ${kind}, not a regular file`;
    this.name = 'NotRegularFileError';
  }
}

/**
 * The file ends before bytes its own structure says it holds (a member's data, a local header, the zip
 * directory): it was cut short, or it shrank while being read. `neededBytes` is how long the file would have to
 * be (when known), `fileSize` its length when the problem was found (when known).
 */
export class TruncatedFileError extends NpyFormatError {
  constructor(file: string, member: string | undefined, problem: string, readonly neededBytes?: number, readonly fileSize?: number) {
    super(file, member, problem);
    this.name = 'TruncatedFileError';
  }
}
