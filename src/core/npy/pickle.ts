// Extracts the one string held by a pickled 0-d NumPy object array (how `np.savez(f, _metadata=
// np.array(json_string, dtype=object))` stores metadata), without executing anything: the opcodes are
// replayed on a stack of inert descriptions (strings, tuples, lists, "call of numpy._core.multiarray.
// _reconstruct", …). Nothing is imported, called or constructed. Protocols 0–5 are understood.
import { NpyFormatError } from './types';

type PVal =
  | { k: 'str'; v: string }
  | { k: 'bytes' }
  | { k: 'int' }
  | { k: 'float' }
  | { k: 'bool' }
  | { k: 'none' }
  | { k: 'tuple'; items: PVal[] }
  | { k: 'list'; items: PVal[] }
  | { k: 'dict' }
  | { k: 'set' }
  | { k: 'global'; module: string; name: string }
  | { k: 'obj'; factory: PVal; state?: PVal };

/** Bounds the inert stack so a hostile stream cannot make us allocate per byte without limit. */
const MAX_STACK = 1_000_000;

const RECONSTRUCT_MODULES = new Set(['numpy.core.multiarray', 'numpy._core.multiarray']);

/** Returns the single string of a pickled object array (or of a bare pickled str). */
export function decodePickledString(bytes: Uint8Array, file: string, member?: string): string {
  const fail = (problem: string): never => {
    throw new NpyFormatError(file, member, `pickled object array: ${problem}`);
  };
  const root = replay(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), fail);
  if (root.k === 'str') return root.v;
  if (root.k !== 'obj' || !isGlobal(root.factory, RECONSTRUCT_MODULES, '_reconstruct')) {
    return fail(`expected a pickled NumPy array, found ${describe(root)}`);
  }
  // ndarray.__setstate__((version, shape, dtype, is_fortran, data)): object arrays carry a list of items.
  const state = root.state;
  if (!state || state.k !== 'tuple' || state.items.length < 5) return fail('pickled ndarray has no recognisable state');
  const data = state.items[state.items.length - 1];
  if (data.k !== 'list') return fail('pickled ndarray does not hold Python objects');
  if (data.items.length !== 1) return fail(`object array holds ${data.items.length} objects; only a single string is supported`);
  const only = data.items[0];
  if (only.k !== 'str') return fail(`object array holds ${describe(only)}; only a single string is supported`);
  return only.v;
}

function isGlobal(v: PVal, modules: Set<string>, name: string): boolean {
  return v.k === 'global' && modules.has(v.module) && v.name === name;
}

function describe(v: PVal): string {
  switch (v.k) {
    case 'global': return `a reference to ${v.module}.${v.name}`;
    case 'obj': return v.factory.k === 'global' ? `a ${v.factory.module}.${v.factory.name} object` : 'an object';
    case 'str': return 'a string';
    default: return `a Python ${v.k}`;
  }
}

function replay(buf: Buffer, fail: (problem: string) => never): PVal {
  let pos = 0;
  const stack: PVal[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PVal>();

  const need = (n: number): number => {
    if (n > buf.length - pos) fail(`truncated pickle stream (at byte ${pos})`);
    const at = pos;
    pos += n;
    return at;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, pos);
    if (end < 0) fail(`unterminated text argument at byte ${pos}`);
    const s = buf.toString('latin1', pos, end);
    pos = end + 1;
    return s;
  };
  const push = (v: PVal): void => {
    if (stack.length >= MAX_STACK) fail('pickle stack too deep');
    stack.push(v);
  };
  const pop = (): PVal => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) fail(`stack underflow at byte ${pos - 1}`);
    return stack.pop()!;
  };
  const top = (): PVal => {
    if (stack.length <= (marks.length ? marks[marks.length - 1] : 0)) fail(`stack underflow at byte ${pos - 1}`);
    return stack[stack.length - 1];
  };
  const popMark = (): PVal[] => {
    if (!marks.length) fail(`no MARK before byte ${pos - 1}`);
    return stack.splice(marks.pop()!);
  };
  const u64Length = (): number => {
    const n = buf.readBigUInt64LE(need(8));
    if (n > BigInt(buf.length)) fail(`length ${n} runs past the pickle stream`);
    return Number(n);
  };
  const utf8 = (n: number): PVal => {
    const at = need(n);
    return { k: 'str', v: buf.toString('utf8', at, at + n) };
  };
  const memoGet = (i: number): void => {
    const v = memo.get(i);
    if (!v) fail(`memo entry ${i} is not defined`);
    push(v!);
  };
  const appendTo = (target: PVal, items: PVal[]): void => {
    if (target.k === 'list') target.items.push(...items);
    else if (target.k !== 'obj') fail(`APPEND to ${describe(target)}`);
  };

  while (true) {
    const op = buf[need(1)];
    switch (op) {
      case 0x80: { // PROTO
        const v = buf[need(1)];
        if (v > 5) fail(`unsupported pickle protocol ${v}`);
        break;
      }
      case 0x95: need(8); break; // FRAME: framing is transparent
      case 0x2e: { // STOP
        const result = pop();
        return result;
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: push(top()); break; // DUP

      // Strings
      case 0x8c: utf8Push(buf[need(1)]); break; // SHORT_BINUNICODE
      case 0x58: utf8Push(buf.readUInt32LE(need(4))); break; // BINUNICODE 'X'
      case 0x8d: utf8Push(u64Length()); break; // BINUNICODE8
      case 0x56: push({ k: 'str', v: rawUnicodeEscape(line()) }); break; // UNICODE 'V' (protocol 0)
      case 0x53: push({ k: 'str', v: pythonStringRepr(line(), fail) }); break; // STRING 'S' (Python 2 str)
      case 0x54: { const n = buf.readInt32LE(need(4)); if (n < 0) fail('negative BINSTRING length'); latin1Push(n); break; }
      case 0x55: latin1Push(buf[need(1)]); break; // SHORT_BINSTRING
      case 0x42: need(buf.readUInt32LE(need(4))); push({ k: 'bytes' }); break; // BINBYTES
      case 0x43: need(buf[need(1)]); push({ k: 'bytes' }); break; // SHORT_BINBYTES
      case 0x8e: case 0x96: need(u64Length()); push({ k: 'bytes' }); break; // BINBYTES8, BYTEARRAY8

      // Numbers and constants
      case 0x4a: need(4); push({ k: 'int' }); break; // BININT
      case 0x4b: need(1); push({ k: 'int' }); break; // BININT1
      case 0x4d: need(2); push({ k: 'int' }); break; // BININT2
      case 0x8a: need(buf[need(1)]); push({ k: 'int' }); break; // LONG1
      case 0x8b: { const n = buf.readInt32LE(need(4)); if (n < 0) fail('negative LONG4 length'); need(n); push({ k: 'int' }); break; }
      case 0x49: { const s = line(); push(s === '00' || s === '01' ? { k: 'bool' } : { k: 'int' }); break; } // INT
      case 0x4c: line(); push({ k: 'int' }); break; // LONG
      case 0x46: line(); push({ k: 'float' }); break; // FLOAT
      case 0x47: need(8); push({ k: 'float' }); break; // BINFLOAT
      case 0x4e: push({ k: 'none' }); break; // NONE
      case 0x88: case 0x89: push({ k: 'bool' }); break; // NEWTRUE, NEWFALSE

      // Containers
      case 0x29: push({ k: 'tuple', items: [] }); break; // EMPTY_TUPLE
      case 0x74: push({ k: 'tuple', items: popMark() }); break; // TUPLE
      case 0x85: push({ k: 'tuple', items: [pop()] }); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); push({ k: 'tuple', items: [a, b] }); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); push({ k: 'tuple', items: [a, b, c] }); break; } // TUPLE3
      case 0x5d: push({ k: 'list', items: [] }); break; // EMPTY_LIST
      case 0x6c: push({ k: 'list', items: popMark() }); break; // LIST
      case 0x61: { const v = pop(); appendTo(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendTo(top(), items); break; } // APPENDS
      case 0x7d: push({ k: 'dict' }); break; // EMPTY_DICT
      case 0x64: popMark(); push({ k: 'dict' }); break; // DICT
      case 0x73: pop(); pop(); top(); break; // SETITEM
      case 0x75: popMark(); top(); break; // SETITEMS
      case 0x8f: push({ k: 'set' }); break; // EMPTY_SET
      case 0x90: popMark(); top(); break; // ADDITEMS
      case 0x91: popMark(); push({ k: 'set' }); break; // FROZENSET

      // Memo
      case 0x70: memo.set(memoIndex(line(), fail), top()); break; // PUT
      case 0x71: memo.set(buf[need(1)], top()); break; // BINPUT
      case 0x72: memo.set(buf.readUInt32LE(need(4)), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x67: memoGet(memoIndex(line(), fail)); break; // GET
      case 0x68: memoGet(buf[need(1)]); break; // BINGET
      case 0x6a: memoGet(buf.readUInt32LE(need(4))); break; // LONG_BINGET

      // References and object construction, recorded but never performed
      case 0x63: { const module = line(); const name = line(); push({ k: 'global', module, name }); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (module.k !== 'str' || name.k !== 'str') fail('STACK_GLOBAL needs two strings');
        push({ k: 'global', module: (module as { v: string }).v, name: (name as { v: string }).v });
        break;
      }
      case 0x52: { pop(); const factory = pop(); push({ k: 'obj', factory }); break; } // REDUCE
      case 0x81: { pop(); const cls = pop(); push({ k: 'obj', factory: cls }); break; } // NEWOBJ
      case 0x92: { pop(); pop(); const cls = pop(); push({ k: 'obj', factory: cls }); break; } // NEWOBJ_EX
      case 0x69: { const module = line(); const name = line(); popMark(); push({ k: 'obj', factory: { k: 'global', module, name } }); break; } // INST
      case 0x6f: { const items = popMark(); if (!items.length) fail('OBJ without a class'); push({ k: 'obj', factory: items[0] }); break; } // OBJ
      case 0x62: { // BUILD
        const state = pop();
        const target = top();
        if (target.k === 'obj') target.state = state;
        break;
      }
      case 0x50: case 0x51: fail('persistent references are not supported'); break;
      case 0x82: case 0x83: case 0x84: fail('extension-registry references are not supported'); break;
      case 0x97: case 0x98: fail('out-of-band buffers are not supported'); break;
      default: fail(`unknown pickle opcode 0x${op.toString(16).padStart(2, '0')} at byte ${pos - 1}`);
    }
  }

  function utf8Push(n: number): void {
    push(utf8(n));
  }
  function latin1Push(n: number): void {
    const at = need(n);
    push({ k: 'str', v: buf.toString('latin1', at, at + n) });
  }
}

function memoIndex(text: string, fail: (problem: string) => never): number {
  if (!/^\d{1,9}$/.test(text)) fail(`bad memo index ${JSON.stringify(text)}`);
  return Number(text);
}

/** Python's raw-unicode-escape (protocol 0 UNICODE): latin-1 text with \uXXXX and \UXXXXXXXX escapes. */
function rawUnicodeEscape(s: string): string {
  return s.replace(/\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})/g, (m, u4?: string, u8?: string) => {
    const cp = parseInt((u4 ?? u8)!, 16);
    return cp <= 0x10ffff ? String.fromCodePoint(cp) : m;
  });
}

/** The repr of a Python 2 str as written by protocol 0 STRING: quoted, with backslash escapes. */
function pythonStringRepr(s: string, fail: (problem: string) => never): string {
  const q = s[0];
  if (s.length < 2 || (q !== "'" && q !== '"') || s[s.length - 1] !== q) fail('STRING argument is not quoted');
  const body = s.slice(1, -1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
  return body.replace(/\\(x[0-9a-fA-F]{2}|.)/g, (_m, e: string) =>
    e.length === 3 ? String.fromCharCode(parseInt(e.slice(1), 16)) : simple[e] ?? `\\${e}`);
}
