// ZIP structures used by .npz files (PKWARE APPNOTE 6.3): end of central directory (plain and zip64),
// central directory entries, local headers, and their encoders. Only what .npz needs: one disk, stored or
// deflated entries, no encryption.
import { NpyFormatError } from './types';

export const SIG_LOCAL = 0x04034b50;
export const SIG_CENTRAL = 0x02014b50;
export const SIG_EOCD = 0x06054b50;
export const SIG_ZIP64_EOCD = 0x06064b50;
export const SIG_ZIP64_LOCATOR = 0x07064b50;

export const EOCD_BYTES = 22;
export const ZIP64_LOCATOR_BYTES = 20;
export const ZIP64_EOCD_BYTES = 56;
export const LOCAL_HEADER_BYTES = 30;
export const CENTRAL_HEADER_BYTES = 46;
/** Largest EOCD comment, hence how far from the end the EOCD may start. */
export const MAX_COMMENT = 0xffff;

export const METHOD_STORED = 0;
export const METHOD_DEFLATED = 8;

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;
const ZIP64_EXTRA_ID = 0x0001;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_UTF8 = 0x0800;

/** Central directory bigger than this is refused before allocating (≈ 1 million entries). */
export const MAX_CENTRAL_DIRECTORY_BYTES = 64 << 20;

export interface EndOfCentralDirectory {
  /** Absolute offset of the (plain) EOCD record. */
  eocdOffset: number;
  entries: number;
  cdOffset: number;
  cdSize: number;
  /** Absolute offset of the zip64 EOCD record when the archive has one. */
  zip64RecordOffset?: number;
}

export interface CentralEntry {
  name: string;
  nameBytes: Buffer;
  flags: number;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
}

function u64(buf: Buffer, at: number, what: string, file: string, member?: string): number {
  const v = buf.readBigUInt64LE(at);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new NpyFormatError(file, member, `${what} ${v} is larger than 2^53`);
  return Number(v);
}

/**
 * Finds the EOCD in `tail` (the last bytes of the file, starting at absolute `tailOffset`). Returns the
 * plain record's fields and, when a zip64 locator precedes it, where the zip64 record is; the caller reads
 * that record and applies it with `applyZip64Record`.
 */
export function findEndOfCentralDirectory(tail: Buffer, tailOffset: number, file: string): EndOfCentralDirectory & { locatorOffset?: number } {
  // Prefer the last record whose comment ends exactly at the end of the file; else accept one followed by
  // trailing junk, like Python's zipfile; never one whose comment would run past the end.
  let exact: number | undefined;
  let loose: number | undefined;
  for (let i = tail.length - EOCD_BYTES; i >= 0 && exact === undefined; i--) {
    if (tail.readUInt32LE(i) !== SIG_EOCD) continue;
    const end = i + EOCD_BYTES + tail.readUInt16LE(i + 20);
    if (end === tail.length) exact = i;
    else if (end < tail.length) loose ??= i;
  }
  const i = exact ?? loose;
  if (i === undefined) throw new NpyFormatError(file, undefined, 'not a zip archive (no end of central directory record)');
  const disk = tail.readUInt16LE(i + 4);
  const cdDisk = tail.readUInt16LE(i + 6);
  const entriesOnDisk = tail.readUInt16LE(i + 8);
  const entries = tail.readUInt16LE(i + 10);
  const cdSize = tail.readUInt32LE(i + 12);
  const cdOffset = tail.readUInt32LE(i + 16);
  const needsZip64 = entries === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX;
  if (!needsZip64 && (disk !== 0 || cdDisk !== 0 || entriesOnDisk !== entries)) {
    throw new NpyFormatError(file, undefined, 'multi-disk (split) zip archives are not supported');
  }
  const eocdOffset = tailOffset + i;
  const result: EndOfCentralDirectory & { locatorOffset?: number } = { eocdOffset, entries, cdOffset, cdSize };
  const loc = i - ZIP64_LOCATOR_BYTES;
  if (loc >= 0 && tail.readUInt32LE(loc) === SIG_ZIP64_LOCATOR) {
    if (tail.readUInt32LE(loc + 4) !== 0 || tail.readUInt32LE(loc + 16) > 1) {
      throw new NpyFormatError(file, undefined, 'multi-disk (split) zip64 archives are not supported');
    }
    result.locatorOffset = tailOffset + loc;
    result.zip64RecordOffset = u64(tail, loc + 8, 'zip64 end record offset', file);
  } else if (needsZip64) {
    throw new NpyFormatError(file, undefined, 'end of central directory needs zip64 values but the zip64 locator is missing');
  }
  return result;
}

/** Applies the zip64 EOCD record (56+ bytes read at `recordOffset`). */
export function applyZip64Record(eocd: EndOfCentralDirectory, record: Buffer, recordOffset: number, file: string): EndOfCentralDirectory {
  if (record.length < ZIP64_EOCD_BYTES || record.readUInt32LE(0) !== SIG_ZIP64_EOCD) {
    throw new NpyFormatError(file, undefined, `bad zip64 end of central directory record at offset ${recordOffset}`);
  }
  if (record.readUInt32LE(16) !== 0 || record.readUInt32LE(20) !== 0) {
    throw new NpyFormatError(file, undefined, 'multi-disk (split) zip64 archives are not supported');
  }
  const entries = u64(record, 32, 'zip64 entry count', file);
  const cdSize = u64(record, 40, 'zip64 central directory size', file);
  const cdOffset = u64(record, 48, 'zip64 central directory offset', file);
  return { eocdOffset: eocd.eocdOffset, entries, cdSize, cdOffset, zip64RecordOffset: recordOffset };
}

/** cp437, the zip default for names without the UTF-8 flag (upper half only; the lower half is ASCII). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeName(bytes: Buffer, flags: number): string {
  if (flags & FLAG_UTF8 || bytes.every((b) => b < 0x80)) return bytes.toString('utf8');
  let s = '';
  for (const b of bytes) s += b < 0x80 ? String.fromCharCode(b) : CP437_HIGH[b - 0x80];
  return s;
}

/** Parses `count` central directory entries from `cd` (the whole directory, `cdSize` bytes). */
export function parseCentralDirectory(cd: Buffer, count: number, file: string): CentralEntry[] {
  const entries: CentralEntry[] = [];
  let p = 0;
  while (p < cd.length) {
    if (p + CENTRAL_HEADER_BYTES > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL) {
      throw new NpyFormatError(file, undefined, `bad central directory entry #${entries.length} (offset ${p} in the directory)`);
    }
    const flags = cd.readUInt16LE(p + 8);
    const method = cd.readUInt16LE(p + 10);
    const crc32 = cd.readUInt32LE(p + 16);
    let compressedSize = cd.readUInt32LE(p + 20);
    let uncompressedSize = cd.readUInt32LE(p + 24);
    const nameLength = cd.readUInt16LE(p + 28);
    const extraLength = cd.readUInt16LE(p + 30);
    const commentLength = cd.readUInt16LE(p + 32);
    const diskStart = cd.readUInt16LE(p + 34);
    let localHeaderOffset = cd.readUInt32LE(p + 42);
    const end = p + CENTRAL_HEADER_BYTES + nameLength + extraLength + commentLength;
    if (end > cd.length) throw new NpyFormatError(file, undefined, `central directory entry #${entries.length} runs past the directory`);
    const nameBytes = Buffer.from(cd.subarray(p + CENTRAL_HEADER_BYTES, p + CENTRAL_HEADER_BYTES + nameLength));
    const name = decodeName(nameBytes, flags);
    const extra = cd.subarray(p + CENTRAL_HEADER_BYTES + nameLength, p + CENTRAL_HEADER_BYTES + nameLength + extraLength);

    // Zip64 extra: only the fields whose 32-bit slot is 0xFFFFFFFF are present, in this order.
    const z = findExtra(extra, ZIP64_EXTRA_ID);
    if (uncompressedSize === U32_MAX || compressedSize === U32_MAX || localHeaderOffset === U32_MAX || diskStart === U16_MAX) {
      if (!z) throw new NpyFormatError(file, name, 'central directory entry needs a zip64 extra field but has none');
      let q = 0;
      const take = (what: string): number => {
        if (q + 8 > z.length) throw new NpyFormatError(file, name, `zip64 extra field too short for the ${what}`);
        const v = u64(z, q, `zip64 ${what}`, file, name);
        q += 8;
        return v;
      };
      if (uncompressedSize === U32_MAX) uncompressedSize = take('uncompressed size');
      if (compressedSize === U32_MAX) compressedSize = take('compressed size');
      if (localHeaderOffset === U32_MAX) localHeaderOffset = take('local header offset');
      if (diskStart === U16_MAX && q + 4 > z.length) throw new NpyFormatError(file, name, 'zip64 extra field too short for the disk number');
    } else if (diskStart !== 0) {
      throw new NpyFormatError(file, name, 'entry lives on another disk (split archives are not supported)');
    }
    if (flags & FLAG_ENCRYPTED) throw new NpyFormatError(file, name, 'encrypted zip entries are not supported');
    entries.push({ name, nameBytes, flags, method, crc32, compressedSize, uncompressedSize, localHeaderOffset });
    p = end;
  }
  if (entries.length !== count) {
    throw new NpyFormatError(file, undefined, `central directory holds ${entries.length} entries, the end record says ${count}`);
  }
  return entries;
}

function findExtra(extra: Buffer, id: number): Buffer | undefined {
  let p = 0;
  while (p + 4 <= extra.length) {
    const headerId = extra.readUInt16LE(p);
    const size = extra.readUInt16LE(p + 2);
    if (p + 4 + size > extra.length) return undefined; // malformed tail: ignore like Python's zipfile
    if (headerId === id) return extra.subarray(p + 4, p + 4 + size);
    p += 4 + size;
  }
  return undefined;
}

/**
 * Validates the local header at the start of `buf` against its central entry and returns the length of
 * the local header (offset of the entry data from the local header start), or undefined if `buf` is too
 * short to tell.
 */
export function localHeaderLength(buf: Buffer, entry: CentralEntry, file: string, member: string): number | undefined {
  if (buf.length < LOCAL_HEADER_BYTES) return undefined;
  if (buf.readUInt32LE(0) !== SIG_LOCAL) {
    throw new NpyFormatError(file, member, `bad local header signature at offset ${entry.localHeaderOffset}`);
  }
  const method = buf.readUInt16LE(8);
  if (method !== entry.method) {
    throw new NpyFormatError(file, member, `local header says compression method ${method}, central directory says ${entry.method}`);
  }
  const nameLength = buf.readUInt16LE(26);
  const extraLength = buf.readUInt16LE(28);
  if (buf.length >= LOCAL_HEADER_BYTES + nameLength) {
    const localName = buf.subarray(LOCAL_HEADER_BYTES, LOCAL_HEADER_BYTES + nameLength);
    if (!localName.equals(entry.nameBytes)) {
      throw new NpyFormatError(file, member, `local header names ${JSON.stringify(localName.toString('latin1'))}, central directory names ${JSON.stringify(entry.name)}`);
    }
  }
  return LOCAL_HEADER_BYTES + nameLength + extraLength;
}

// ---- Encoders ----

export interface EntryRecord {
  nameBytes: Buffer;
  method: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  localHeaderOffset: number;
  dosTime: number;
  dosDate: number;
  /** Whether the local header carries a zip64 extra (decided before the sizes were known). */
  localZip64: boolean;
}

/** MS-DOS time and date (local time, 2-second resolution, 1980..2107). */
export function dosDateTime(d: Date): { dosTime: number; dosDate: number } {
  const year = Math.min(Math.max(d.getFullYear(), 1980), 2107);
  if (year !== d.getFullYear()) return { dosTime: 0, dosDate: (year - 1980) << 9 | 1 << 5 | 1 };
  return {
    dosTime: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    dosDate: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

function versionNeeded(zip64: boolean, method: number): number {
  return zip64 ? 45 : method === METHOD_DEFLATED ? 20 : 10;
}

function generalFlags(nameBytes: Buffer): number {
  return nameBytes.every((b) => b < 0x80) ? 0 : FLAG_UTF8;
}

/**
 * A local header. With `localZip64`, the 32-bit sizes are 0xFFFFFFFF and a zip64 extra holds both sizes
 * (APPNOTE 4.5.3 requires both in the local header). Sizes may be patched later with `patchLocalHeader`.
 */
export function encodeLocalHeader(e: EntryRecord): Buffer {
  const extraLength = e.localZip64 ? 20 : 0;
  const b = Buffer.alloc(LOCAL_HEADER_BYTES + e.nameBytes.length + extraLength);
  b.writeUInt32LE(SIG_LOCAL, 0);
  b.writeUInt16LE(versionNeeded(e.localZip64, e.method), 4);
  b.writeUInt16LE(generalFlags(e.nameBytes), 6);
  b.writeUInt16LE(e.method, 8);
  b.writeUInt16LE(e.dosTime, 10);
  b.writeUInt16LE(e.dosDate, 12);
  e.nameBytes.copy(b, LOCAL_HEADER_BYTES);
  b.writeUInt16LE(e.nameBytes.length, 26);
  b.writeUInt16LE(extraLength, 28);
  writeLocalSizes(b, e);
  return b;
}

/** Rewrites CRC and sizes of an encoded local header (same layout, so it can overwrite the file bytes). */
export function writeLocalSizes(b: Buffer, e: EntryRecord): void {
  b.writeUInt32LE(e.crc32 >>> 0, 14);
  if (e.localZip64) {
    b.writeUInt32LE(U32_MAX, 18);
    b.writeUInt32LE(U32_MAX, 22);
    const x = LOCAL_HEADER_BYTES + e.nameBytes.length;
    b.writeUInt16LE(ZIP64_EXTRA_ID, x);
    b.writeUInt16LE(16, x + 2);
    b.writeBigUInt64LE(BigInt(e.uncompressedSize), x + 4);
    b.writeBigUInt64LE(BigInt(e.compressedSize), x + 12);
  } else {
    if (e.compressedSize >= U32_MAX || e.uncompressedSize >= U32_MAX) {
      throw new Error(`zip entry sizes ${e.compressedSize}/${e.uncompressedSize} need a zip64 local header`);
    }
    b.writeUInt32LE(e.compressedSize, 18);
    b.writeUInt32LE(e.uncompressedSize, 22);
  }
}

/** A central directory entry; zip64 extra only for the fields that overflow 32 bits. */
export function encodeCentralHeader(e: EntryRecord): Buffer {
  const z: bigint[] = [];
  const usize = e.uncompressedSize >= U32_MAX ? (z.push(BigInt(e.uncompressedSize)), U32_MAX) : e.uncompressedSize;
  const csize = e.compressedSize >= U32_MAX ? (z.push(BigInt(e.compressedSize)), U32_MAX) : e.compressedSize;
  const offset = e.localHeaderOffset >= U32_MAX ? (z.push(BigInt(e.localHeaderOffset)), U32_MAX) : e.localHeaderOffset;
  const extraLength = z.length ? 4 + 8 * z.length : 0;
  const zip64 = z.length > 0 || e.localZip64;
  const b = Buffer.alloc(CENTRAL_HEADER_BYTES + e.nameBytes.length + extraLength);
  b.writeUInt32LE(SIG_CENTRAL, 0);
  b.writeUInt16LE((3 << 8) | versionNeeded(zip64, e.method), 4); // made by: Unix
  b.writeUInt16LE(versionNeeded(zip64, e.method), 6);
  b.writeUInt16LE(generalFlags(e.nameBytes), 8);
  b.writeUInt16LE(e.method, 10);
  b.writeUInt16LE(e.dosTime, 12);
  b.writeUInt16LE(e.dosDate, 14);
  b.writeUInt32LE(e.crc32 >>> 0, 16);
  b.writeUInt32LE(csize, 20);
  b.writeUInt32LE(usize, 24);
  b.writeUInt16LE(e.nameBytes.length, 28);
  b.writeUInt16LE(extraLength, 30);
  b.writeUInt32LE((0o100644 << 16) >>> 0, 38); // regular file, rw-r--r--
  b.writeUInt32LE(offset, 42);
  e.nameBytes.copy(b, CENTRAL_HEADER_BYTES);
  if (z.length) {
    const x = CENTRAL_HEADER_BYTES + e.nameBytes.length;
    b.writeUInt16LE(ZIP64_EXTRA_ID, x);
    b.writeUInt16LE(8 * z.length, x + 2);
    z.forEach((v, i) => b.writeBigUInt64LE(v, x + 4 + 8 * i));
  }
  return b;
}

/** EOCD, preceded by the zip64 EOCD record and locator when any count, size or offset overflows. */
export function encodeEndRecords(entries: number, cdOffset: number, cdSize: number): Buffer {
  const zip64 = entries >= U16_MAX || cdOffset >= U32_MAX || cdSize >= U32_MAX;
  const parts: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(ZIP64_EOCD_BYTES);
    rec.writeUInt32LE(SIG_ZIP64_EOCD, 0);
    rec.writeBigUInt64LE(BigInt(ZIP64_EOCD_BYTES - 12), 4);
    rec.writeUInt16LE((3 << 8) | 45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(entries), 24);
    rec.writeBigUInt64LE(BigInt(entries), 32);
    rec.writeBigUInt64LE(BigInt(cdSize), 40);
    rec.writeBigUInt64LE(BigInt(cdOffset), 48);
    const loc = Buffer.alloc(ZIP64_LOCATOR_BYTES);
    loc.writeUInt32LE(SIG_ZIP64_LOCATOR, 0);
    loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
    loc.writeUInt32LE(1, 16);
    parts.push(rec, loc);
  }
  const eocd = Buffer.alloc(EOCD_BYTES);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(Math.min(entries, U16_MAX), 8);
  eocd.writeUInt16LE(Math.min(entries, U16_MAX), 10);
  eocd.writeUInt32LE(Math.min(cdSize, U32_MAX), 12);
  eocd.writeUInt32LE(Math.min(cdOffset, U32_MAX), 16);
  parts.push(eocd);
  return Buffer.concat(parts);
}
