// Lazy readers for .npz archives and bare .npy files. Opening reads only the zip end records, the central
// directory and each member's local header + .npy header; array data is read on demand, by positional
// reads (stored) or streaming inflate (deflated).
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { checkRowsTarget, formatBytes, readRowRange, readRowRangeInto, readRowSet, readWholeArray, type NpyStream, type ReadOptions } from './arrays';
import { NPY_PREAMBLE_BYTES, npyHeaderLength, parseNpyHeader, shapeRepr } from './header';
import { DeflatedSource, inflateHead, readAt, StoredSource, wholeBuffer, type NpyByteSource } from './source';
import { NotRegularFileError, NpyFormatError, TruncatedFileError, type NdArray, type NpyHeader, type NpzMember, type NumericData } from './types';
import {
  applyZip64Record, EOCD_BYTES, findEndOfCentralDirectory, LOCAL_HEADER_BYTES, localHeaderLength,
  MAX_CENTRAL_DIRECTORY_BYTES, MAX_COMMENT, METHOD_DEFLATED, METHOD_STORED, parseCentralDirectory,
  CENTRAL_HEADER_BYTES, ZIP64_EOCD_BYTES, ZIP64_LOCATOR_BYTES, SIG_CENTRAL, SIG_EOCD, SIG_LOCAL, SIG_ZIP64_EOCD, type CentralEntry, type EndOfCentralDirectory,
} from './zip';

/** Bytes read speculatively after a local header: covers the zip64 extra and a typical .npy header. */
const PROBE_BYTES = 4096;

/** Deflate cannot expand data by more than ~1032:1; anything claiming more is corrupt. */
const MAX_DEFLATE_RATIO = 1032;

export interface MetadataString {
  raw: string;
  json: unknown;
}

/**
 * Largest `_metadata` read (stored bytes after decompression: UTF-32 for `<U`, the pickle for `|O`). Metadata
 * is read on every listing, so a hostile member must cost nothing: its size is judged from the .npy header
 * before a byte of it is read or inflated.
 */
export const METADATA_MAX_BYTES = 1 << 20;

/** Reads a metadata member (one string) through `read`, refusing anything larger than METADATA_MAX_BYTES unread. */
async function readMetadataMember(
  file: string, member: string | undefined, h: NpyHeader, streamLength: number, read: (opts: ReadOptions) => Promise<NdArray>,
): Promise<MetadataString> {
  const what = `${h.dtype.descr} of shape ${shapeRepr(h.shape)}`;
  if ((h.dtype.name !== 'U' && h.dtype.name !== 'O') || h.elementCount !== 1) {
    throw new NpyFormatError(file, member, `expected one string (0-d <U or pickled str), found ${what} (${h.elementCount} elements); it is not read`);
  }
  const bytes = h.dtype.name === 'O' ? streamLength - h.headerBytes : h.dataBytes;
  if (bytes > METADATA_MAX_BYTES) {
    throw new NpyFormatError(file, member, `${what} holds ${formatBytes(bytes)}, over the ${formatBytes(METADATA_MAX_BYTES)} limit for metadata; it is not read`);
  }
  const arr = await read({ maxBytes: METADATA_MAX_BYTES });
  const raw = String((arr.data as string[])[0] ?? '');
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    json = undefined;
  }
  return { raw, json };
}

/** An open .npz archive. Keep it open while reading; `close()` (or `withNpz`) releases the file. */
export class NpzArchive {
  private closed = false;

  /** @internal Use openNpz. */
  constructor(
    readonly path: string,
    readonly fileSize: number,
    private readonly fh: FileHandle,
    readonly members: ReadonlyMap<string, NpzMember>,
    private readonly sources: ReadonlyMap<string, NpyByteSource>,
    /** Zip entries that are not `.npy` arrays (directories, other files); listed, never read. */
    readonly otherEntries: readonly string[],
  ) {}

  has(name: string): boolean {
    return this.members.has(name);
  }

  member(name: string): NpzMember {
    const m = this.members.get(name);
    if (!m) {
      const names = [...this.members.keys()];
      const nested = this.nestedEntries(name);
      const hint = nested.length ? `; the archive holds ${nested.join(', ')}; keys must be at the top level` : '';
      throw new NpyFormatError(this.path, name, `no such member (the archive holds: ${names.length ? names.join(', ') : 'nothing'})${hint}`);
    }
    return m;
  }

  /**
   * Entries whose last path component is `key` (`sub/dir/diffraction.npy` for `diffraction`): arrays saved
   * under a folder, which numpy.load names `sub/dir/diffraction`, so `key` is missing.
   */
  nestedEntries(key: string): string[] {
    return [...this.members.values()].filter((m) => m.name.endsWith(`/${key}`)).map((m) => m.entryName);
  }

  /** The whole array in C order (Fortran-ordered members are transposed). */
  readArray(name: string, opts?: ReadOptions): Promise<NdArray> {
    return this.guarded(name, (s) => readWholeArray(s, opts));
  }

  /** Rows `rows` (strictly increasing) along axis 0, reading the member at most once (see readRowSet). */
  readRowSet(name: string, rows: readonly number[], opts?: ReadOptions): Promise<NdArray> {
    return this.guarded(name, (s) => readRowSet(s, rows, opts));
  }

  /** Rows [start, end) along axis 0, shape [end - start, ...rest]. */
  readRows(name: string, start: number, end: number, opts?: ReadOptions): Promise<NdArray> {
    return this.guarded(name, (s) => readRowRange(s, start, end, opts));
  }

  /**
   * Like readRows, but into a caller-owned typed array (the class `NdArray.data` uses for the dtype),
   * so a training loop can reuse one buffer. The result's data is a view of `out`.
   */
  async readRowsInto(name: string, start: number, end: number, out: NumericData, opts?: ReadOptions): Promise<NdArray> {
    checkRowsTarget(this.member(name).header, start, end, out);
    return this.guarded(name, (s) => readRowRangeInto(s, start, end, out, opts));
  }

  /**
   * The `_metadata` member: a 0-d `<U` string or a pickled 0-d object string. `json` is the parsed JSON, or
   * undefined when the string is not valid JSON. Undefined when the archive has no `_metadata`. Throws
   * NpyFormatError, before reading anything, when it is not one string of at most METADATA_MAX_BYTES.
   */
  async readMetadata(): Promise<MetadataString | undefined> {
    if (!this.has('_metadata')) return undefined;
    const m = this.member('_metadata');
    return readMetadataMember(this.path, '_metadata', m.header, m.uncompressedSize, (o) => this.readArray('_metadata', o));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private async guarded(name: string, fn: (s: NpyStream) => Promise<NdArray>): Promise<NdArray> {
    if (this.closed) throw new Error(`${this.path}: archive is closed`);
    const m = this.member(name);
    const stream: NpyStream = { file: this.path, member: name, header: m.header, source: this.sources.get(name)!, streamLength: m.uncompressedSize };
    return asFormatError(this.path, name, () => fn(stream));
  }
}

/** An open bare .npy file. */
export class NpyFile {
  private closed = false;

  /** @internal Use openNpy. */
  constructor(
    readonly path: string,
    readonly fileSize: number,
    readonly header: NpyHeader,
    private readonly fh: FileHandle,
  ) {}

  /** Absolute offset of the first data byte. */
  get dataOffset(): number {
    return this.header.headerBytes;
  }

  readArray(opts?: ReadOptions): Promise<NdArray> {
    return this.guarded((s) => readWholeArray(s, opts));
  }

  readRows(start: number, end: number, opts?: ReadOptions): Promise<NdArray> {
    return this.guarded((s) => readRowRange(s, start, end, opts));
  }

  readRowSet(rows: readonly number[], opts?: ReadOptions): Promise<NdArray> {
    return this.guarded((s) => readRowSet(s, rows, opts));
  }

  /** The file's array read as metadata (one string, capped like NpzArchive.readMetadata). */
  readMetadata(): Promise<MetadataString> {
    return readMetadataMember(this.path, undefined, this.header, this.fileSize, (o) => this.readArray(o));
  }

  /** Like readRows, into a caller-owned typed array (see NpzArchive.readRowsInto). */
  async readRowsInto(start: number, end: number, out: NumericData, opts?: ReadOptions): Promise<NdArray> {
    checkRowsTarget(this.header, start, end, out);
    return this.guarded((s) => readRowRangeInto(s, start, end, out, opts));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }

  private guarded(fn: (s: NpyStream) => Promise<NdArray>): Promise<NdArray> {
    if (this.closed) return Promise.reject(new Error(`${this.path}: file is closed`));
    const stream: NpyStream = { file: this.path, header: this.header, source: new StoredSource(this.fh, 0, this.path), streamLength: this.fileSize };
    return asFormatError(this.path, undefined, () => fn(stream));
  }
}

/** Node system errors (ENOENT, EACCES, EISDIR, …) pass through; anything else from parsing becomes typed. */
function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

async function asFormatError<T>(file: string, member: string | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof NpyFormatError || isSystemError(err)) throw err;
    if (err instanceof RangeError && /allocation failed|Array buffer allocation/i.test(err.message)) throw err; // out of memory is not a format problem
    throw new NpyFormatError(file, member, `unreadable data: ${(err as Error).message ?? String(err)}`);
  }
}

/** What a non-regular file is, for the error that refuses it ("a FIFO", "a directory", …). */
export function fileKind(st: fs.Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'a special file';
}

/**
 * Opens a regular file for reading, and nothing else: opening a FIFO blocks until a writer appears and a
 * device can stream forever, so the type is checked with stat before opening, and the open is non-blocking
 * (should the path be swapped for a FIFO in between, open returns at once and fstat refuses it).
 */
async function openRegularFile(path: string): Promise<{ fh: FileHandle; size: number }> {
  const before = await fs.promises.stat(path);
  if (!before.isFile()) throw new NotRegularFileError(path, fileKind(before));
  const fh = await fs.promises.open(path, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new NotRegularFileError(path, fileKind(st));
    return { fh, size: st.size };
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/**
 * Reads and parses a .npy header from a stream of `streamLength` bytes, starting from `initial` (what a
 * first speculative read returned) and fetching more through `get(n)` (the first n stream bytes) if needed.
 */
async function readNpyHead(
  initial: Buffer, streamLength: number, get: (n: number) => Promise<Buffer>, file: string, member?: string,
): Promise<NpyHeader> {
  let head = initial.subarray(0, Math.min(initial.length, streamLength));
  let total = npyHeaderLength(head, file, member);
  if (total === undefined && head.length < Math.min(streamLength, NPY_PREAMBLE_BYTES)) {
    head = await get(Math.min(streamLength, NPY_PREAMBLE_BYTES));
    total = npyHeaderLength(head, file, member);
  }
  if (total === undefined) {
    throw new NpyFormatError(file, member, `truncated .npy header (the stream is only ${streamLength} bytes)`);
  }
  if (total > streamLength) {
    throw new NpyFormatError(file, member, `.npy header claims ${total} bytes but the stream is only ${streamLength} bytes`);
  }
  if (head.length < total) head = await get(total);
  return parseNpyHeader(head, file, member);
}

function checkDataFits(header: NpyHeader, streamLength: number, file: string, member?: string): void {
  const needed = header.headerBytes + header.dataBytes;
  if (needed > streamLength) {
    throw new NpyFormatError(file, member,
      `shape ${shapeRepr(header.shape)} × ${header.dtype.itemSize}-byte ${header.dtype.descr} needs ${header.dataBytes} data bytes, ` +
      `but only ${Math.max(0, streamLength - header.headerBytes)} follow the header`);
  }
}

/** Opens a .npz archive, reading only headers. The caller must `close()` it (or use `withNpz`). */
export async function openNpz(path: string): Promise<NpzArchive> {
  const { fh, size } = await openRegularFile(path);
  try {
    return await asFormatError(path, undefined, () => readDirectory(path, fh, size));
  } catch (err) {
    await fh.close();
    throw err;
  }
}

async function readDirectory(path: string, fh: FileHandle, size: number): Promise<NpzArchive> {
  const found = await endOfCentralDirectory(path, fh, size);
  let eocd = found;
  let directoryLimit = found.eocdOffset; // the central directory ends before the end records
  if (found.zip64RecordOffset !== undefined) {
    const at = found.zip64RecordOffset;
    if (at + ZIP64_EOCD_BYTES > found.locatorOffset!) {
      throw new NpyFormatError(path, undefined, `zip64 end record offset ${at} does not precede its locator`);
    }
    eocd = applyZip64Record(found, await readAt(fh, at, ZIP64_EOCD_BYTES, size, path), at, path);
    directoryLimit = at;
  }
  const { cdOffset, cdSize, entries: count } = eocd;
  if (cdOffset + cdSize > directoryLimit) {
    throw new NpyFormatError(path, undefined, `central directory (offset ${cdOffset}, ${cdSize} bytes) runs past the end records at ${directoryLimit}`);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) {
    throw new NpyFormatError(path, undefined, `central directory of ${cdSize} bytes is larger than the ${MAX_CENTRAL_DIRECTORY_BYTES}-byte limit`);
  }
  if (count * CENTRAL_HEADER_BYTES > cdSize) {
    throw new NpyFormatError(path, undefined, `${count} entries cannot fit in a ${cdSize}-byte central directory`);
  }
  const entries = parseCentralDirectory(await readAt(fh, cdOffset, cdSize, size, path), count, path);

  const members = new Map<string, NpzMember>();
  const sources = new Map<string, NpyByteSource>();
  const others: string[] = [];
  for (const entry of entries) {
    if (!entry.name.endsWith('.npy')) {
      others.push(entry.name);
      continue;
    }
    const name = entry.name.slice(0, -'.npy'.length);
    if (members.has(name)) throw new NpyFormatError(path, name, 'the archive holds this member twice');
    const { member, source } = await readMember(path, fh, entry, name, cdOffset);
    members.set(name, member);
    sources.set(name, source);
  }
  return new NpzArchive(path, size, fh, members, sources, others);
}

/**
 * The end records, or an error that says why there are none: a file that starts like a zip archive but was cut
 * short (mid-member, in its directory) is a TruncatedFileError saying how long it is and what it would need,
 * whichever part the cut fell in; anything else is "not a zip archive".
 */
async function endOfCentralDirectory(path: string, fh: FileHandle, size: number): Promise<EndOfCentralDirectory & { locatorOffset?: number }> {
  try {
    if (size < EOCD_BYTES) throw new NpyFormatError(path, undefined, `not a zip archive (the file is only ${size} bytes)`);
    const tailLength = Math.min(size, EOCD_BYTES + MAX_COMMENT + ZIP64_LOCATOR_BYTES);
    const tail = await readAt(fh, size - tailLength, tailLength, size, path);
    return findEndOfCentralDirectory(tail, size - tailLength, path);
  } catch (err) {
    if (!(err instanceof NpyFormatError)) throw err;
    throw (await truncationOf(path, fh, size)) ?? err;
  }
}

/** Local headers walked at most when telling a truncated archive from a foreign file. */
const MAX_WALKED_ENTRIES = 10_000;
const FLAG_DATA_DESCRIPTOR = 0x0008;

/**
 * Where an archive without end records was cut: walks the local headers from the start of the file (each gives
 * its data size) and then the central directory. Undefined when the file does not start like a zip archive, or
 * its structure is whole and something else is wrong (a damaged end record).
 */
async function truncationOf(path: string, fh: FileHandle, size: number): Promise<TruncatedFileError | undefined> {
  const cut = (member: string | undefined, problem: string, needed?: number): TruncatedFileError =>
    new TruncatedFileError(path, member, `truncated: the file is ${size} bytes${problem}`, needed, size);
  const keyOf = (name: string): string => (name.endsWith('.npy') ? name.slice(0, -4) : name);
  const sig = async (at: number): Promise<number | undefined> => (at + 4 <= size ? (await readAt(fh, at, 4, size, path)).readUInt32LE(0) : undefined);
  if ((await sig(0)) !== SIG_LOCAL) return undefined;
  let pos = 0;
  let last: string | undefined;
  for (let i = 0; i < MAX_WALKED_ENTRIES; i++) {
    if (pos === size) return last === undefined ? undefined : cut(undefined, ` and ends after member ${keyOf(last)}, where the zip directory should start`);
    const s = await sig(pos);
    if (s === SIG_CENTRAL) break;
    if (s !== SIG_LOCAL) {
      // Cut inside the 4 bytes of a signature, or not a local header at all.
      return s === undefined ? cut(undefined, `, but the zip header at offset ${pos} needs ${pos + LOCAL_HEADER_BYTES} bytes`, pos + LOCAL_HEADER_BYTES) : undefined;
    }
    const which = `the zip header of member #${i + 1} (offset ${pos})`;
    if (pos + LOCAL_HEADER_BYTES > size) return cut(undefined, `, but ${which} needs ${pos + LOCAL_HEADER_BYTES} bytes`, pos + LOCAL_HEADER_BYTES);
    const head = await readAt(fh, pos, LOCAL_HEADER_BYTES, size, path);
    const flags = head.readUInt16LE(6);
    let csize = head.readUInt32LE(18);
    const nameLength = head.readUInt16LE(26);
    const extraLength = head.readUInt16LE(28);
    const dataStart = pos + LOCAL_HEADER_BYTES + nameLength + extraLength;
    if (dataStart > size) return cut(undefined, `, but ${which} needs ${dataStart} bytes`, dataStart);
    const rest = await readAt(fh, pos + LOCAL_HEADER_BYTES, nameLength + extraLength, size, path);
    const name = rest.subarray(0, nameLength).toString('utf8');
    if (csize === 0xffffffff) {
      // Zip64: the local extra holds both sizes (uncompressed, then compressed).
      const extra = rest.subarray(nameLength);
      for (let q = 0; q + 4 <= extra.length; q += 4 + extra.readUInt16LE(q + 2)) {
        if (extra.readUInt16LE(q) === 0x0001 && extra.readUInt16LE(q + 2) >= 16 && q + 20 <= extra.length) {
          csize = Number(extra.readBigUInt64LE(q + 12));
          break;
        }
      }
    }
    if (csize === 0 && flags & FLAG_DATA_DESCRIPTOR) {
      // Streamed entry: its size is only in the directory that is missing.
      return cut(keyOf(name), ` and has no zip directory at its end; member ${keyOf(name)} (offset ${pos}) is the last one found`);
    }
    const end = dataStart + csize;
    if (end > size) return cut(keyOf(name), `, but member ${keyOf(name)} needs ${end} bytes (the zip directory at its end is missing)`, end);
    pos = end;
    if (flags & FLAG_DATA_DESCRIPTOR) pos += (await sig(pos)) === 0x08074b50 ? 16 : 12;
    last = name;
  }
  // The central directory: entries of 46 bytes plus name, extra and comment, then the end records.
  for (let i = 0; i < MAX_WALKED_ENTRIES; i++) {
    const s = await sig(pos);
    if (s === SIG_CENTRAL) {
      if (pos + CENTRAL_HEADER_BYTES > size) return cut(undefined, ' and ends inside its zip directory');
      const h = await readAt(fh, pos, CENTRAL_HEADER_BYTES, size, path);
      pos += CENTRAL_HEADER_BYTES + h.readUInt16LE(28) + h.readUInt16LE(30) + h.readUInt16LE(32);
      if (pos > size) return cut(undefined, ' and ends inside its zip directory');
      continue;
    }
    if (s === undefined) return cut(undefined, ' and ends before the end record of its zip directory');
    if (s === SIG_EOCD && pos + EOCD_BYTES > size) return cut(undefined, ' and ends inside the end record of its zip directory');
    if (s === SIG_ZIP64_EOCD && pos + ZIP64_EOCD_BYTES + ZIP64_LOCATOR_BYTES + EOCD_BYTES > size) {
      return cut(undefined, ' and ends inside the zip64 end records of its zip directory');
    }
    return undefined; // whole, but the end record is damaged
  }
  return undefined;
}

async function readMember(
  path: string, fh: FileHandle, entry: CentralEntry, name: string, cdOffset: number,
): Promise<{ member: NpzMember; source: NpyByteSource }> {
  const fail = (problem: string): never => {
    throw new NpyFormatError(path, name, problem);
  };
  if (entry.method !== METHOD_STORED && entry.method !== METHOD_DEFLATED) {
    fail(`unsupported compression method ${entry.method} (only stored (0) and deflated (8) are supported)`);
  }
  const lho = entry.localHeaderOffset;
  if (lho + LOCAL_HEADER_BYTES > cdOffset) fail(`local header offset ${lho} lies past the start of the central directory (${cdOffset})`);

  const probe = await readAt(fh, lho, LOCAL_HEADER_BYTES + entry.nameBytes.length + PROBE_BYTES, cdOffset, path, name);
  const localLength = localHeaderLength(probe, entry, path, name)!;
  const dataStart = lho + localLength;
  if (dataStart + entry.compressedSize > cdOffset) {
    fail(`member data (offset ${dataStart}, ${entry.compressedSize} bytes) runs past the start of the central directory (${cdOffset}); the file may be truncated`);
  }
  const usize = entry.uncompressedSize;
  const initial = probe.subarray(Math.min(localLength, probe.length));

  let header: NpyHeader;
  let source: NpyByteSource;
  if (entry.method === METHOD_STORED) {
    if (entry.compressedSize !== usize) fail(`stored member has compressed size ${entry.compressedSize} but uncompressed size ${usize}`);
    source = new StoredSource(fh, dataStart, path, name);
    header = await readNpyHead(initial, usize, (n) => readAt(fh, dataStart, n, dataStart + usize, path, name), path, name);
  } else {
    if (usize > entry.compressedSize * MAX_DEFLATE_RATIO + 1024) {
      fail(`declared uncompressed size ${usize} is impossible for ${entry.compressedSize} deflated bytes`);
    }
    const deflated = new DeflatedSource(fh, dataStart, entry.compressedSize, usize, entry.crc32, path, name);
    source = deflated;
    const head = await inflateHead(fh, dataStart, entry.compressedSize, 512, path, name);
    header = await readNpyHead(head, usize, async (n) => {
      const ab = new ArrayBuffer(n);
      await deflated.fill(wholeBuffer(ab), 0);
      return Buffer.from(ab);
    }, path, name);
  }
  checkDataFits(header, usize, path, name);
  const member: NpzMember = {
    name,
    entryName: entry.name,
    compression: entry.method === METHOD_STORED ? 'stored' : 'deflated',
    compressedSize: entry.compressedSize,
    uncompressedSize: usize,
    localHeaderOffset: lho,
    dataOffset: entry.method === METHOD_STORED ? dataStart + header.headerBytes : -1,
    header,
  };
  return { member, source };
}

/** Opens an archive, runs `fn`, and always closes it. */
export async function withNpz<T>(path: string, fn: (archive: NpzArchive) => Promise<T>): Promise<T> {
  const archive = await openNpz(path);
  try {
    return await fn(archive);
  } finally {
    await archive.close();
  }
}

/** Opens a bare .npy file, reading only its header. */
export async function openNpy(path: string): Promise<NpyFile> {
  const { fh, size } = await openRegularFile(path);
  try {
    return await asFormatError(path, undefined, async () => {
      const initial = await readAt(fh, 0, PROBE_BYTES, size, path);
      const header = await readNpyHead(initial, size, (n) => readAt(fh, 0, n, size, path), path);
      checkDataFits(header, size, path);
      return new NpyFile(path, size, header, fh);
    });
  } catch (err) {
    await fh.close();
    throw err;
  }
}

/** Opens a bare .npy file, runs `fn`, and always closes it. */
export async function withNpy<T>(path: string, fn: (file: NpyFile) => Promise<T>): Promise<T> {
  const file = await openNpy(path);
  try {
    return await fn(file);
  } finally {
    await file.close();
  }
}
