// Incremental reading of a growing text file (train.log, events.jsonl): each `read()` returns only the bytes
// appended since the last one, split into complete lines plus the unterminated last line. A file that was
// truncated or replaced (a new inode, a shorter size, or different bytes just before the old end) is read
// again from the start as a new generation. The first read of a very large file starts near its end
// (`maxInitialBytes`), at a line boundary. Node only (no vscode), so plain mocha tests it.
import * as fs from 'node:fs';

export interface TailOptions {
  /** At most this many bytes are read per `read()` call (the caller loops while `more`). Default 1 MiB. */
  chunkBytes?: number;
  /** A first read of a longer file skips to the last `maxInitialBytes`. Default 32 MiB. */
  maxInitialBytes?: number;
  /** An unterminated line longer than this is cut and delivered as a line. Default 1 MiB. */
  maxLineBytes?: number;
}

export interface TailUpdate {
  generation: number;
  /** First update of a generation: the reader starts over (after truncation or replacement, or at the start). */
  reset: boolean;
  lines: string[];
  /** The unterminated last line as it stands now ('' when the file ends with a newline). */
  partial: string;
  /** With reset: bytes skipped at the start of the file (it was longer than maxInitialBytes). */
  skippedBytes: number;
  /** File offset up to which bytes have been read. */
  offset: number;
  /** More bytes are waiting beyond this update (read again at once). */
  more: boolean;
  /** The file does not exist. */
  missing: boolean;
}

/** Bytes kept from just before the read offset to recognise a rewritten file of at least the same size. */
const GUARD_BYTES = 64;

export class FileTail {
  private generation = 0;
  private offset = 0;
  private ino: number | undefined;
  private guard: Buffer = Buffer.alloc(0);
  private pending: Buffer = Buffer.alloc(0);
  private started = false;
  private wasMissing: boolean | undefined;
  private readonly chunkBytes: number;
  private readonly maxInitialBytes: number;
  private readonly maxLineBytes: number;

  constructor(readonly file: string, opts: TailOptions = {}) {
    this.chunkBytes = Math.max(1024, opts.chunkBytes ?? 1 << 20);
    this.maxInitialBytes = Math.max(1024, opts.maxInitialBytes ?? 32 << 20);
    this.maxLineBytes = Math.max(256, opts.maxLineBytes ?? 1 << 20);
  }

  /** Offset read so far. */
  get position(): number {
    return this.offset;
  }

  /**
   * Reads what was appended since the last call. Returns undefined when nothing changed (no new bytes, no
   * reset, same existence), so a caller can poll cheaply.
   */
  async read(): Promise<TailUpdate | undefined> {
    let fh: fs.promises.FileHandle;
    try {
      // Non-blocking: a FIFO planted as the log opens at once (and is refused below) instead of blocking a thread.
      fh = await fs.promises.open(this.file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return this.missingUpdate();
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error(`${this.file} is ${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a directory' : 'not a regular file'}, not a log file; it is not read.`);
      let reset = !this.started || this.wasMissing === true;
      if (!reset && (st.ino !== this.ino || st.size < this.offset)) reset = true;
      if (!reset && this.guard.length > 0) {
        // Same inode, at least as long: are the bytes before our offset still the ones we read?
        const check = Buffer.alloc(this.guard.length);
        const { bytesRead } = await fh.read(check, 0, check.length, this.offset - this.guard.length);
        if (bytesRead !== check.length || !check.equals(this.guard)) reset = true;
      }
      let skippedBytes = 0;
      if (reset) {
        this.generation++;
        this.started = true;
        this.ino = st.ino;
        this.pending = Buffer.alloc(0);
        this.guard = Buffer.alloc(0);
        this.offset = 0;
        if (st.size > this.maxInitialBytes) {
          // Start at the first line boundary inside the last maxInitialBytes.
          const start = st.size - this.maxInitialBytes;
          const probe = Buffer.alloc(Math.min(64 * 1024, st.size - start));
          const { bytesRead } = await fh.read(probe, 0, probe.length, start);
          const nl = probe.subarray(0, bytesRead).indexOf(0x0a);
          this.offset = nl >= 0 ? start + nl + 1 : start;
          skippedBytes = this.offset;
        }
      }
      this.wasMissing = false;
      const available = st.size - this.offset;
      if (!reset && available <= 0) return undefined;
      const want = Math.max(0, Math.min(available, this.chunkBytes));
      const buf = Buffer.alloc(want);
      let got = 0;
      while (got < want) {
        const { bytesRead } = await fh.read(buf, got, want - got, this.offset + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
      const data = buf.subarray(0, got);
      this.offset += got;
      // The guard is the last bytes before the new offset (across reads when this one is short).
      this.guard = Buffer.concat([this.guard, data]).subarray(-Math.min(GUARD_BYTES, this.offset));
      const lines = this.split(data);
      return {
        generation: this.generation, reset, lines, partial: this.pending.toString('utf8'), skippedBytes,
        offset: this.offset, more: this.offset < st.size, missing: false,
      };
    } finally {
      await fh.close();
    }
  }

  /** Reads until the end of the file: every update, in order (tests; small files). */
  async readAll(): Promise<TailUpdate[]> {
    const out: TailUpdate[] = [];
    for (;;) {
      const u = await this.read();
      if (!u) return out;
      out.push(u);
      if (!u.more) return out;
    }
  }

  private missingUpdate(): TailUpdate | undefined {
    if (this.wasMissing === true) return undefined;
    this.wasMissing = true;
    this.started = true;
    this.generation++;
    this.offset = 0;
    this.ino = undefined;
    this.guard = Buffer.alloc(0);
    this.pending = Buffer.alloc(0);
    return { generation: this.generation, reset: true, lines: [], partial: '', skippedBytes: 0, offset: 0, more: false, missing: true };
  }

  /** Complete lines of pending + data; the rest stays pending (a UTF-8 character is never split). */
  private split(data: Buffer): string[] {
    const buf = this.pending.length > 0 ? Buffer.concat([this.pending, data]) : data;
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      let end = nl;
      if (end > start && buf[end - 1] === 0x0d) end--; // CRLF
      lines.push(buf.toString('utf8', start, end));
      start = nl + 1;
    }
    let rest = buf.subarray(start);
    while (rest.length > this.maxLineBytes) {
      // A runaway line without a newline: deliver it in pieces rather than hold it forever.
      let cut = this.maxLineBytes;
      while (cut > 0 && (rest[cut] & 0xc0) === 0x80) cut--; // not inside a UTF-8 sequence
      lines.push(rest.toString('utf8', 0, cut));
      rest = rest.subarray(cut);
    }
    this.pending = Buffer.from(rest);
    return lines;
  }
}
