// Byte sources for the uncompressed .npy stream of a member: positional reads for stored data, and
// streaming raw-inflate that keeps only the requested range for deflated data.
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { CHUNK_BYTES } from './dtype';
import { NpyFormatError, TruncatedFileError } from './types';

const inflateRawAsync = promisify(zlib.inflateRaw) as (buf: Buffer, opts: zlib.ZlibOptions) => Promise<Buffer>;

/** Reads `length` bytes at absolute `position` into `target` (any size; ≤ CHUNK_BYTES per call). */
export async function readFully(
  fh: FileHandle, target: ArrayBufferLike, targetOffset: number, length: number, position: number,
  file: string, member?: string,
): Promise<void> {
  let done = 0;
  while (done < length) {
    const n = Math.min(CHUNK_BYTES, length - done);
    const view = new Uint8Array(target, targetOffset + done, n);
    const { bytesRead } = await fh.read(view, 0, n, position + done);
    if (bytesRead === 0) {
      // The open checked that every member fits in the file, so it shrank since: say how long it is now.
      const size = (await fh.stat().catch(() => undefined))?.size;
      const what = member !== undefined ? `member ${member}` : 'its data';
      throw new TruncatedFileError(file, member,
        `truncated: the file is ${size ?? `now under ${position + done}`} bytes, but ${what} needs ${position + length} bytes (it ended while being read)`,
        position + length, size);
    }
    done += bytesRead;
  }
}

/** Reads `length` bytes at `position` into a new Buffer, clipped to `fileSize`. */
export async function readAt(fh: FileHandle, position: number, length: number, fileSize: number, file: string, member?: string): Promise<Buffer> {
  const n = Math.max(0, Math.min(length, fileSize - position));
  const buf = Buffer.alloc(n);
  await readFully(fh, buf.buffer, buf.byteOffset, n, position, file, member);
  return buf;
}

/** A byte region of memory (any typed array qualifies; may exceed what one Uint8Array can view). */
export interface ByteRange {
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  readonly byteLength: number;
}

export function wholeBuffer(buffer: ArrayBuffer): ByteRange {
  return { buffer, byteOffset: 0, byteLength: buffer.byteLength };
}

/** Receives consecutive pieces of a stream; `chunk` is only valid during the call (copy what you keep). */
export type ChunkSink = (chunk: Uint8Array, streamPos: number) => void;

/** The uncompressed bytes of one .npy stream (a bare file, or a zip member). */
export interface NpyByteSource {
  /** True when any range can be read without touching the bytes before it (stored data). */
  readonly randomAccess: boolean;
  /** Fills `target` (all of it) with stream bytes starting at `streamPos`. */
  fill(target: ByteRange, streamPos: number): Promise<void>;
  /** Hands stream bytes [from, to) to `sink` in order, in one pass, in bounded pieces. */
  stream(from: number, to: number, sink: ChunkSink): Promise<void>;
}

/**
 * Array-data bytes delivered by the sources since the process started: `stored` read from disk, `inflated`
 * produced by deflate (including bytes skipped to reach a position). Lets tests assert what a check costs.
 */
export const npyReadStats = { storedBytes: 0, inflatedBytes: 0 };

/** Members up to this size are inflated in one (thread-pool) call: cheaper than a stream, always CRC-checked. */
const SMALL_MEMBER_BYTES = 4 << 20;

/** Compressed bytes read per step while inflating. */
const READ_STEP = 4 << 20;

export class StoredSource implements NpyByteSource {
  readonly randomAccess = true;

  constructor(
    private readonly fh: FileHandle,
    /** Absolute offset of the .npy stream's first byte. */
    private readonly base: number,
    private readonly file: string,
    private readonly member?: string,
  ) {}

  fill(target: ByteRange, streamPos: number): Promise<void> {
    npyReadStats.storedBytes += target.byteLength;
    return readFully(this.fh, target.buffer, target.byteOffset, target.byteLength, this.base + streamPos, this.file, this.member);
  }

  async stream(from: number, to: number, sink: ChunkSink): Promise<void> {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(READ_STEP, to - from)));
    for (let pos = from; pos < to; pos += READ_STEP) {
      const n = Math.min(READ_STEP, to - pos);
      await this.fill({ buffer: buf.buffer, byteOffset: buf.byteOffset, byteLength: n }, pos);
      sink(buf.subarray(0, n), pos);
    }
  }
}

export class DeflatedSource implements NpyByteSource {
  readonly randomAccess = false;

  constructor(
    private readonly fh: FileHandle,
    private readonly compressedStart: number,
    private readonly compressedSize: number,
    private readonly uncompressedSize: number,
    private readonly crc32: number,
    private readonly file: string,
    private readonly member: string,
  ) {}

  fill(target: ByteRange, streamPos: number): Promise<void> {
    return this.stream(streamPos, streamPos + target.byteLength, (chunk, pos) => {
      new Uint8Array(target.buffer, target.byteOffset + pos - streamPos, chunk.length).set(chunk);
    });
  }

  /**
   * Inflates from the start of the member (deflate has no random access), discarding bytes before `from`
   * and stopping at `to`. When the range reaches the end of the member, the whole stream has been seen, so
   * its length and CRC-32 are checked too.
   */
  async stream(from: number, to: number, sink: ChunkSink): Promise<void> {
    if (this.uncompressedSize <= SMALL_MEMBER_BYTES) {
      const out = await this.inflateSmall();
      if (to > from) sink(out.subarray(from, to), from);
      return;
    }
    const end = to;
    const checkWhole = end === this.uncompressedSize;
    const { fh, compressedStart, compressedSize, file, member } = this;

    async function* compressed(): AsyncGenerator<Buffer> {
      for (let off = 0; off < compressedSize; off += READ_STEP) {
        const n = Math.min(READ_STEP, compressedSize - off);
        const buf = Buffer.allocUnsafe(n);
        await readFully(fh, buf.buffer, buf.byteOffset, n, compressedStart + off, file, member);
        yield buf;
      }
    }

    const source = Readable.from(compressed(), { objectMode: false });
    const inflater = zlib.createInflateRaw({ chunkSize: 1 << 20 });
    source.on('error', (err) => inflater.destroy(err));
    source.pipe(inflater);

    let seen = 0; // uncompressed bytes produced so far
    let crc = 0;
    try {
      for await (const chunk of inflater as AsyncIterable<Buffer>) {
        npyReadStats.inflatedBytes += chunk.length;
        if (checkWhole) crc = zlib.crc32(chunk, crc);
        const a = Math.max(from, seen);
        const b = Math.min(end, seen + chunk.length);
        if (b > a) sink(chunk.subarray(a - seen, b - seen), a);
        seen += chunk.length;
        if (seen >= end && !checkWhole) break;
        if (seen > this.uncompressedSize) break;
      }
    } catch (err) {
      if (err instanceof NpyFormatError) throw err;
      throw new NpyFormatError(file, member, `corrupt deflate data: ${(err as Error).message}`);
    } finally {
      source.destroy();
      inflater.destroy();
    }
    if (seen < end) {
      throw new NpyFormatError(file, member, `deflate stream ends after ${seen} bytes; needed bytes up to ${end}`);
    }
    if (checkWhole) {
      if (seen !== this.uncompressedSize) {
        throw new NpyFormatError(file, member, `inflates to more than the ${this.uncompressedSize} bytes the zip directory declares`);
      }
      if (crc >>> 0 !== this.crc32 >>> 0) {
        throw new NpyFormatError(file, member, `CRC-32 mismatch (data 0x${(crc >>> 0).toString(16)}, directory 0x${(this.crc32 >>> 0).toString(16)})`);
      }
    }
  }

  /** The whole (small) member, inflated in one call and checked. */
  private async inflateSmall(): Promise<Buffer> {
    const { compressedSize: csize, uncompressedSize: usize, file, member } = this;
    const input = Buffer.allocUnsafe(csize);
    await readFully(this.fh, input.buffer, input.byteOffset, csize, this.compressedStart, file, member);
    let out: Buffer;
    try {
      out = await inflateRawAsync(input, { maxOutputLength: Math.max(1, usize) });
    } catch (err) {
      const tooBig = (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError;
      throw new NpyFormatError(file, member, tooBig
        ? `inflates to more than the ${usize} bytes the zip directory declares`
        : `corrupt deflate data: ${(err as Error).message}`);
    }
    npyReadStats.inflatedBytes += out.length;
    if (out.length !== usize) {
      throw new NpyFormatError(file, member, `deflate stream ends after ${out.length} bytes; the zip directory declares ${usize}`);
    }
    const crc = zlib.crc32(out) >>> 0;
    if (crc !== this.crc32 >>> 0) {
      throw new NpyFormatError(file, member, `CRC-32 mismatch (data 0x${crc.toString(16)}, directory 0x${(this.crc32 >>> 0).toString(16)})`);
    }
    return out;
  }
}

/**
 * Inflates the first compressed bytes of a deflated member (at most `maxInput`), enough for a typical .npy
 * header; output is bounded by deflate's ~1032:1 ratio. Longer headers are read with DeflatedSource.
 */
export async function inflateHead(
  fh: FileHandle, compressedStart: number, compressedSize: number, maxInput: number, file: string, member: string,
): Promise<Buffer> {
  const take = Math.min(compressedSize, maxInput);
  const input = Buffer.alloc(take);
  await readFully(fh, input.buffer, input.byteOffset, take, compressedStart, file, member);
  try {
    // SYNC_FLUSH returns what a partial stream decodes to instead of failing on the missing end.
    return zlib.inflateRawSync(input, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  } catch (err) {
    throw new NpyFormatError(file, member, `corrupt deflate data: ${(err as Error).message}`);
  }
}
