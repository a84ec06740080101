// The .npy header: magic, version, header length, and a Python dict literal
// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` padded with spaces and a newline.
import { parseDescr } from './dtype';
import { NpyFormatError, type NpyHeader } from './types';

export const NPY_MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

/**
 * Headers above this are refused before they are read: every member's header is read on every listing.
 * NumPy's own headers for the dtypes read here are under 200 bytes (it refuses > 10 000 unless told
 * otherwise); room is left for a padded version 2.0 header, which starts above 65 535.
 */
export const MAX_HEADER_BYTES = 128 << 10;

/** Most dimensions a shape may have (NumPy 2's limit). */
const MAX_DIMS = 64;

/** Bytes needed to know the total header length (magic, version, length field). */
export const NPY_PREAMBLE_BYTES = 12;

/** NumPy aligns the data start to this many bytes. */
const ALIGN = 64;

/**
 * Total header size (magic + length field + dict) from the first bytes of a .npy stream, or undefined when
 * `buf` is too short to tell. Validates magic and version.
 */
export function npyHeaderLength(buf: Uint8Array, file: string, member?: string): number | undefined {
  if (buf.length < 8) return undefined;
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (!b.subarray(0, 6).equals(NPY_MAGIC)) {
    throw new NpyFormatError(file, member, `not a .npy stream (bad magic ${b.subarray(0, 6).toString('hex')})`);
  }
  const major = b[6];
  const minor = b[7];
  if (major < 1 || major > 3 || minor !== 0) {
    throw new NpyFormatError(file, member, `unsupported .npy format version ${major}.${minor}`);
  }
  const prefix = major === 1 ? 10 : 12;
  if (b.length < prefix) return undefined;
  const len = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  if (prefix + len > MAX_HEADER_BYTES) {
    throw new NpyFormatError(file, member, `.npy header of ${len} bytes is larger than the ${MAX_HEADER_BYTES}-byte limit (NumPy writes headers of under 200 bytes); it is not read`);
  }
  return prefix + len;
}

/** Parses the header from the first bytes of a .npy stream (must include the whole header). */
export function parseNpyHeader(buf: Buffer, file: string, member?: string): NpyHeader {
  const total = npyHeaderLength(buf, file, member);
  if (total === undefined || buf.length < total) {
    throw new NpyFormatError(file, member, `truncated .npy header (${buf.length} bytes available${total ? `, ${total} needed` : ''})`);
  }
  const version = buf[6];
  const prefix = version === 1 ? 10 : 12;
  const text = buf.subarray(prefix, total).toString(version === 3 ? 'utf8' : 'latin1');
  const fail = (problem: string): never => {
    throw new NpyFormatError(file, member, `bad .npy header: ${problem} in ${JSON.stringify(text.trim().slice(0, 200))}`);
  };

  let dict: PyValue;
  try {
    dict = parsePyLiteral(text);
  } catch (err) {
    return fail((err as Error).message);
  }
  if (!(dict instanceof Map)) return fail('not a dict');
  const keys = [...dict.keys()].sort().join(',');
  if (keys !== 'descr,fortran_order,shape') return fail(`keys must be descr, fortran_order, shape (got ${keys || 'none'})`);

  const descr = dict.get('descr');
  if (Array.isArray(descr) || (descr && typeof descr === 'object' && 'list' in descr)) {
    return fail('structured dtypes are not supported');
  }
  if (typeof descr !== 'string') return fail("'descr' is not a string");
  let dtype;
  try {
    dtype = parseDescr(descr);
  } catch (err) {
    throw new NpyFormatError(file, member, (err as Error).message);
  }

  const fortran = dict.get('fortran_order');
  if (typeof fortran !== 'boolean') return fail("'fortran_order' is not True/False");

  const shapeValue = dict.get('shape');
  if (!isTuple(shapeValue)) return fail("'shape' is not a tuple");
  if (shapeValue.tuple.length > MAX_DIMS) return fail(`'shape' has ${shapeValue.tuple.length} dimensions, more than ${MAX_DIMS}`);
  const shape: number[] = [];
  for (const d of shapeValue.tuple) {
    if (typeof d !== 'bigint') return fail("'shape' holds a non-integer");
    if (d < 0n) return fail(`negative dimension ${d}`);
    if (d > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new NpyFormatError(file, member, `dimension ${d} is larger than 2^53`);
    }
    shape.push(Number(d));
  }
  const count = shape.reduce((acc, d) => acc * BigInt(d), 1n);
  if (count > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NpyFormatError(file, member, `shape (${shape.join(', ')}) has ${count} elements, more than 2^53`);
  }
  const bytes = count * BigInt(dtype.itemSize);
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new NpyFormatError(file, member, `shape (${shape.join(', ')}) × ${dtype.itemSize}-byte ${dtype.descr} is more than 2^53 bytes`);
  }
  return {
    dtype, shape, fortranOrder: fortran, version, headerBytes: total,
    elementCount: Number(count), dataBytes: Number(bytes),
  };
}

/** Python's repr of a shape tuple: `()`, `(5,)`, `(3, 4)`. */
export function shapeRepr(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/**
 * A version 1.0 header (2.0 when the dict needs more than 65535 bytes), padded like NumPy pads it so the
 * data starts on a 64-byte boundary.
 */
export function formatNpyHeader(descr: string, shape: readonly number[], fortranOrder: boolean): Buffer {
  const dict = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': ${shapeRepr(shape)}, }`;
  for (const version of [1, 2]) {
    const prefix = version === 1 ? 10 : 12;
    const padded = prefix + dict.length + 1;
    const total = padded + ((ALIGN - (padded % ALIGN)) % ALIGN);
    const len = total - prefix;
    if (version === 1 && len > 0xffff) continue;
    const out = Buffer.alloc(total, 0x20);
    NPY_MAGIC.copy(out, 0);
    out[6] = version;
    out[7] = 0;
    if (version === 1) out.writeUInt16LE(len, 8);
    else out.writeUInt32LE(len, 8);
    out.write(dict, prefix, 'latin1');
    out[total - 1] = 0x0a;
    return out;
  }
  throw new Error('unreachable: header fits version 2.0');
}

// ---- A tiny, non-evaluating parser for the Python literals that appear in .npy headers. ----

type PyValue = string | bigint | boolean | null | { tuple: PyValue[] } | { list: PyValue[] } | Map<string, PyValue>;

function isTuple(v: PyValue | undefined): v is { tuple: PyValue[] } {
  return typeof v === 'object' && v !== null && 'tuple' in v;
}

const MAX_DEPTH = 32;

function parsePyLiteral(text: string): PyValue {
  let pos = 0;
  const skipWs = (): void => {
    while (pos < text.length && /[ \t\r\n\f\v]/.test(text[pos])) pos++;
  };
  const error = (what: string): Error => new Error(`${what} at offset ${pos}`);

  const parseString = (): string => {
    const quote = text[pos++];
    let out = '';
    while (true) {
      if (pos >= text.length) throw error('unterminated string');
      const c = text[pos++];
      if (c === quote) return out;
      if (c === '\n') throw error('newline in string');
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = text[pos++];
      const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', n: '\n', t: '\t', r: '\r', '0': '\0' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'x' || e === 'u' || e === 'U') {
        const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
        const hex = text.slice(pos, pos + n);
        if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== n) throw error('bad escape');
        const cp = parseInt(hex, 16);
        if (cp > 0x10ffff) throw error('bad escape');
        out += String.fromCodePoint(cp);
        pos += n;
      } else throw error('unsupported string escape');
    }
  };

  const parseSeq = (close: string, depth: number): { items: PyValue[]; trailingComma: boolean } => {
    const items: PyValue[] = [];
    let trailingComma = false;
    while (true) {
      skipWs();
      if (text[pos] === close) {
        pos++;
        return { items, trailingComma };
      }
      items.push(parseValue(depth + 1));
      skipWs();
      if (text[pos] === ',') {
        pos++;
        trailingComma = true;
      } else if (text[pos] === close) {
        trailingComma = false;
      } else throw error(`expected ',' or '${close}'`);
    }
  };

  const parseValue = (depth: number): PyValue => {
    if (depth > MAX_DEPTH) throw error('nesting too deep');
    skipWs();
    const c = text[pos];
    if (c === undefined) throw error('unexpected end');
    if (c === "'" || c === '"') return parseString();
    if (c === '(') {
      pos++;
      const { items, trailingComma } = parseSeq(')', depth);
      // `(x)` is just x in Python; a 1-tuple needs the comma.
      if (items.length === 1 && !trailingComma) return items[0];
      return { tuple: items };
    }
    if (c === '[') {
      pos++;
      return { list: parseSeq(']', depth).items };
    }
    if (c === '{') {
      pos++;
      const map = new Map<string, PyValue>();
      while (true) {
        skipWs();
        if (text[pos] === '}') {
          pos++;
          return map;
        }
        const key = parseValue(depth + 1);
        if (typeof key !== 'string') throw error('dict key is not a string');
        skipWs();
        if (text[pos++] !== ':') throw error("expected ':'");
        if (map.has(key)) throw error(`duplicate key '${key}'`);
        map.set(key, parseValue(depth + 1));
        skipWs();
        if (text[pos] === ',') pos++;
        else if (text[pos] !== '}') throw error("expected ',' or '}'");
      }
    }
    const num = /^[-+]?\d+[lL]?/.exec(text.slice(pos, pos + 64));
    if (num) {
      pos += num[0].length;
      if (/^\d/.test(text[pos] ?? '') || text[pos] === '.' || text[pos] === 'e' || text[pos] === 'E') {
        throw error('not an integer');
      }
      return BigInt(num[0].replace(/[lL]$/, '').replace(/^\+/, ''));
    }
    for (const [word, value] of [['True', true], ['False', false], ['None', null]] as const) {
      if (text.startsWith(word, pos) && !/\w/.test(text[pos + word.length] ?? '')) {
        pos += word.length;
        return value;
      }
    }
    throw error(`unexpected ${JSON.stringify(c)}`);
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== text.length) {
    // NumPy's padding is spaces then '\n'; anything else after the literal is not a valid header.
    throw error('trailing characters after the dict');
  }
  return value;
}
