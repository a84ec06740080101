// Writers for .npy files and .npz archives that numpy.load reads. Output is little-endian, C order, with a
// version 1.0 header (2.0 if it would not fit). Files are written atomically: a temporary file in the
// target's folder is filled, fsynced and renamed over the target, so a crash never leaves a torn file.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as nodePath from 'node:path';
import * as zlib from 'node:zlib';
import { CHUNK_BYTES, checkData, codePointLength, encodeElements, littleEndianDescr, parseDescr } from './dtype';
import { formatNpyHeader } from './header';
import type { NdArray } from './types';
import {
  dosDateTime, encodeCentralHeader, encodeEndRecords, encodeLocalHeader, METHOD_DEFLATED, METHOD_STORED,
  writeLocalSizes, type EntryRecord,
} from './zip';

const U32_MAX = 0xffffffff;

/** Checks and builds an in-memory array (C order, native byte order; see `NdArray`). Throws Error on mismatch. */
export function ndarray(descr: string, shape: number[], data: NdArray['data']): NdArray {
  const arr: NdArray = { dtype: parseDescr(descr), shape: [...shape], data };
  checkArray(arr);
  return arr;
}

/** A 0-d `<U<k>` array holding `s` (how `_metadata` JSON is stored). */
export function scalarString(s: string): NdArray {
  return ndarray(`<U${Math.max(1, codePointLength(s))}`, [], [s]);
}

function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`bad shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new Error(`shape [${shape.join(', ')}] has more than 2^53 elements`);
  return n;
}

function checkArray(arr: NdArray): number {
  const count = elementCount(arr.shape);
  checkData(arr.dtype, count, arr.data);
  return count;
}

/**
 * The array as it will be written: object arrays (which in memory only ever hold decoded strings, e.g. a
 * pickled `_metadata`) become `<U<k>` so archives round-trip without writing pickles.
 */
function writable(arr: NdArray): NdArray {
  checkArray(arr);
  return arr.dtype.name === 'O' ? { ...arr, dtype: parseDescr('<U1') } : arr;
}

/**
 * Header + data chunks of a .npy stream (chunks view the array's memory where no conversion is needed).
 * Output is little-endian C order; `<U` widens to the longest string; `|O` string arrays become `<U`.
 */
export function encodeNpy(input: NdArray): Buffer[] {
  const arr = writable(input);
  let chars = 0;
  if (arr.dtype.name === 'U') {
    // Never truncate: widen `<U<k>` if a string is longer than k code points.
    chars = Math.max(1, arr.dtype.itemSize / 4);
    for (const s of arr.data as string[]) chars = Math.max(chars, codePointLength(s));
  }
  const header = formatNpyHeader(littleEndianDescr(arr.dtype, chars), arr.shape, false);
  const chunks = encodeElements(arr.dtype, arr.data, chars);
  return [header, ...chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))];
}

function tempPath(target: string): string {
  return `${target}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Writes everything, in ≤ 1 GiB calls, at `position`. */
async function writeAll(fh: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.byteLength) {
    const n = Math.min(CHUNK_BYTES, data.byteLength - done);
    const { bytesWritten } = await fh.write(data, done, n, position + done);
    done += bytesWritten;
  }
}

/** fsync the folder so the rename itself survives a crash; not every platform allows it. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const dir = await fs.promises.open(folder, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  } catch {
    // Best effort only (e.g. Windows cannot open folders).
  }
}

export interface NpzWriteOptions {
  /** Deflate members (like np.savez_compressed). Default: stored (like np.savez). */
  compress?: boolean;
  /** zlib level 1–9 when compressing (default 6, zlib's and Python's default). */
  level?: number;
  /** Modification time stamped on the members (default now); fix it for byte-identical output. */
  mtime?: Date;
}

/**
 * Streams arrays into a new .npz archive. Nothing appears at `path` until `finish()`; `abort()` (or any
 * error) removes the temporary file.
 */
export class NpzWriter {
  private offset = 0;
  private readonly entries: EntryRecord[] = [];
  private readonly names = new Set<string>();
  private state: 'open' | 'finished' | 'aborted' = 'open';
  /** Members are appended one after the other; overlapping calls would interleave their bytes. */
  private busy = false;

  private constructor(
    readonly path: string,
    private readonly tmp: string,
    private readonly fh: FileHandle,
    private readonly opts: NpzWriteOptions,
  ) {}

  static async create(path: string, opts: NpzWriteOptions = {}): Promise<NpzWriter> {
    await fs.promises.mkdir(nodePath.dirname(path), { recursive: true });
    const tmp = tempPath(path);
    return new NpzWriter(path, tmp, await fs.promises.open(tmp, 'wx'), opts);
  }

  /** Adds an in-memory array as member `name` (key as numpy.load sees it, without `.npy`). */
  async add(name: string, arr: NdArray): Promise<void> {
    let parts: Buffer[];
    try {
      parts = encodeNpy(arr);
    } catch (err) {
      await this.abort();
      throw new Error(`${this.path}: array ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
    const [header, ...chunks] = parts;
    const dataBytes = chunks.reduce((a, c) => a + c.byteLength, 0);
    await this.addStream(name, header, dataBytes, chunks);
  }

  /**
   * Adds a member whose data arrive as raw chunks (in `descr`'s byte order, C order), without holding the
   * whole array in memory. The chunks must add up to exactly shape × itemsize bytes.
   */
  async addRawData(name: string, descr: string, shape: number[], chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    const dtype = parseDescr(descr);
    if (dtype.name === 'O') throw new Error('object arrays cannot be written as raw data');
    const dataBytes = elementCount(shape) * dtype.itemSize;
    if (!Number.isSafeInteger(dataBytes)) throw new Error(`shape [${shape.join(', ')}] is too large`);
    await this.addStream(name, formatNpyHeader(descr, shape, false), dataBytes, chunks);
  }

  private async addStream(name: string, header: Buffer, dataBytes: number, chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<void> {
    if (this.state !== 'open') throw new Error(`${this.path}: the writer is ${this.state}`);
    if (typeof name !== 'string' || name === '' || name.includes('\0')) throw new Error(`bad member name ${JSON.stringify(name)}`);
    if (this.names.has(name)) throw new Error(`${this.path}: member ${JSON.stringify(name)} added twice`);
    if (this.busy) throw new Error(`${this.path}: await each add before starting the next`);
    const nameBytes = Buffer.from(`${name}.npy`, 'utf8');
    if (nameBytes.length > 0xffff) throw new Error(`member name ${JSON.stringify(name.slice(0, 40))}… is too long`);
    this.busy = true;
    try {
      this.names.add(name);
      const compress = this.opts.compress === true;
      const usize = header.length + dataBytes;
      // Deflate can grow incompressible data slightly; decide on zip64 with margin since the local header
      // is written before the compressed size is known.
      const localZip64 = usize >= U32_MAX || (compress && usize + Math.ceil(usize / 1000) + 65536 >= U32_MAX);
      const rec: EntryRecord = {
        nameBytes, method: compress ? METHOD_DEFLATED : METHOD_STORED, crc32: 0,
        compressedSize: compress ? 0 : usize, uncompressedSize: usize, localHeaderOffset: this.offset,
        ...dosDateTime(this.opts.mtime ?? new Date()), localZip64,
      };
      const local = encodeLocalHeader(rec);
      await this.append(local);

      let crc = zlib.crc32(header);
      let seen = 0;
      const counted = async function* (): AsyncGenerator<Uint8Array> {
        yield header;
        for await (const c of chunks) {
          crc = zlib.crc32(c, crc);
          seen += c.byteLength;
          if (seen > dataBytes) throw new Error(`member ${JSON.stringify(name)}: more data than shape × itemsize (${dataBytes} bytes)`);
          yield c;
        }
      };
      rec.compressedSize = compress ? await this.appendDeflated(counted()) : await this.appendAll(counted());
      if (seen !== dataBytes) throw new Error(`member ${JSON.stringify(name)}: got ${seen} data bytes, shape × itemsize is ${dataBytes}`);
      rec.crc32 = crc >>> 0;
      writeLocalSizes(local, rec);
      await writeAll(this.fh, local, rec.localHeaderOffset);
      this.entries.push(rec);
    } catch (err) {
      await this.abort();
      throw err;
    } finally {
      this.busy = false;
    }
  }

  private async append(data: Uint8Array): Promise<void> {
    await writeAll(this.fh, data, this.offset);
    this.offset += data.byteLength;
  }

  private async appendAll(chunks: AsyncIterable<Uint8Array>): Promise<number> {
    let n = 0;
    for await (const c of chunks) {
      await this.append(c);
      n += c.byteLength;
    }
    return n;
  }

  private async appendDeflated(chunks: AsyncIterable<Uint8Array>): Promise<number> {
    const deflater = zlib.createDeflateRaw({ level: this.opts.level ?? zlib.constants.Z_DEFAULT_COMPRESSION, chunkSize: 1 << 20 });
    let n = 0;
    const drained = (async () => {
      for await (const out of deflater as AsyncIterable<Buffer>) {
        await this.append(out);
        n += out.length;
      }
    })();
    drained.catch(() => undefined); // observed below; avoid an unhandled rejection while we are writing
    try {
      for await (const c of chunks) {
        for (let off = 0; off < c.byteLength; off += CHUNK_BYTES) {
          const piece = c.subarray(off, Math.min(c.byteLength, off + CHUNK_BYTES));
          if (!deflater.write(piece)) await Promise.race([once(deflater, 'drain'), drained]);
        }
      }
      deflater.end();
      await drained;
    } catch (err) {
      deflater.destroy();
      throw err;
    }
    return n;
  }

  /** Writes the central directory, fsyncs and renames the archive into place. */
  async finish(): Promise<void> {
    if (this.state !== 'open') throw new Error(`${this.path}: the writer is ${this.state}`);
    if (this.busy) throw new Error(`${this.path}: await the last add before finish()`);
    try {
      const cdOffset = this.offset;
      const cd = Buffer.concat(this.entries.map(encodeCentralHeader));
      await this.append(cd);
      await this.append(encodeEndRecords(this.entries.length, cdOffset, cd.length));
      await this.fh.sync();
      await this.fh.close();
      this.state = 'finished';
      await fs.promises.rename(this.tmp, this.path);
    } catch (err) {
      await this.abort();
      throw err;
    }
    await syncFolder(nodePath.dirname(this.path));
  }

  /** Discards everything written so far. Safe to call more than once. */
  async abort(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasOpen = this.state === 'open';
    this.state = 'aborted';
    if (wasOpen) await this.fh.close().catch(() => undefined);
    await fs.promises.rm(this.tmp, { force: true });
  }
}

/** Writes `arrays` (member name → array, in key order) as a .npz archive, atomically. */
export async function writeNpz(path: string, arrays: Record<string, NdArray>, opts: NpzWriteOptions = {}): Promise<void> {
  // Validate everything before creating any file.
  for (const [name, arr] of Object.entries(arrays)) {
    try {
      writable(arr);
    } catch (err) {
      throw new Error(`${path}: array ${JSON.stringify(name)}: ${(err as Error).message}`);
    }
  }
  const writer = await NpzWriter.create(path, opts);
  try {
    for (const [name, arr] of Object.entries(arrays)) await writer.add(name, arr);
    await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Writes one array as a bare .npy file, atomically. */
export async function writeNpy(path: string, arr: NdArray): Promise<void> {
  const parts = encodeNpy(arr);
  await fs.promises.mkdir(nodePath.dirname(path), { recursive: true });
  const tmp = tempPath(path);
  const fh = await fs.promises.open(tmp, 'wx');
  try {
    let offset = 0;
    for (const p of parts) {
      await writeAll(fh, p, offset);
      offset += p.byteLength;
    }
    await fh.sync();
    await fh.close();
    await fs.promises.rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await syncFolder(nodePath.dirname(path));
}
