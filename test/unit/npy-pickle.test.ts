// The pickle reader: extracts the string of a pickled 0-d object array for every protocol, never executes,
// and refuses anything else with a typed error.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodePickledString, NpyFormatError } from '../../src/core/npy';
import { assertFormatError, loadExpected, npyFixtures } from './helpers/npy';

const FILE = 'mem.npz';

/** The pickle stream of a fixture .npy (everything after the header). */
function picklePart(name: string): Buffer {
  const buf = fs.readFileSync(path.join(npyFixtures, name));
  return buf.subarray(10 + buf.readUInt16LE(8));
}

function decodeFails(bytes: Uint8Array, problem?: RegExp): NpyFormatError {
  try {
    decodePickledString(bytes, FILE, '_metadata');
  } catch (err) {
    return assertFormatError(err, FILE, '_metadata', problem);
  }
  return assert.fail('expected NpyFormatError');
}

const op = (...parts: Array<number | string | Buffer>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));

function shortUnicode(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return op(0x8c, b.length, b);
}

describe('pickled object strings', () => {
  const expected = loadExpected().files;

  for (let protocol = 0; protocol <= 5; protocol++) {
    it(`decodes numpy's 0-d object array pickled with protocol ${protocol}`, () => {
      const name = `pickle_p${protocol}.npy`;
      assert.equal(decodePickledString(picklePart(name), FILE), expected[name].array!.values[0]);
    });
  }

  it('decodes a short (SHORT_BINUNICODE / BINUNICODE) string', () => {
    assert.equal(decodePickledString(picklePart('pickle_short.npy'), FILE), '{}');
  });

  it('refuses an object array holding two strings', () => {
    decodeFails(picklePart('pickle_two_strings.npy'), /2 objects/);
  });

  it('accepts a bare pickled str and the BINUNICODE8 / BINUNICODE variants', () => {
    const s = 'h\u00e9llo \u{1F600}';
    const b = Buffer.from(s, 'utf8');
    const len8 = Buffer.alloc(8);
    len8.writeBigUInt64LE(BigInt(b.length));
    assert.equal(decodePickledString(op(0x80, 4, 0x8d, len8, b, 0x2e), FILE), s);
    const len4 = Buffer.alloc(4);
    len4.writeUInt32LE(b.length);
    assert.equal(decodePickledString(op(0x80, 3, 'X', len4, b, 0x2e), FILE), s);
    assert.equal(decodePickledString(op(0x80, 2, shortUnicode(s), 0x2e), FILE), s);
    assert.equal(decodePickledString(op('V', 'caf\\u00e9 \\U0001f600\n', '.'), FILE), 'caf\u00e9 \u{1F600}');
  });

  it('never executes: a reduce of os.system is refused, not run', () => {
    const evil = op(0x80, 2, 'c', 'os\nsystem\n', shortUnicode('touch /tmp/pwned-by-pickle'), 0x85, 'R', '.');
    const err = decodeFails(evil, /os\.system/);
    assert.match(err.message, /expected a pickled NumPy array/);
    assert.equal(fs.existsSync('/tmp/pwned-by-pickle'), false);
  });

  it('refuses arrays whose single object is not a string', () => {
    const reconstruct = (item: Buffer): Buffer => op(
      0x80, 2, 'c', 'numpy._core.multiarray\n_reconstruct\n', 'c', 'numpy\nndarray\n', 'K', 0, 0x85, 'C', 1, 'b', 0x87, 'R',
      '(', 'K', 1, ')', 'N', 0x89, ']', item, 'a', 't', 'b', '.',
    );
    decodeFails(reconstruct(op('K', 5)), /a Python int/);
    decodeFails(reconstruct(op('}')), /a Python dict/);
    decodeFails(reconstruct(op('N')), /a Python none/);
    assert.equal(decodePickledString(reconstruct(shortUnicode('ok')), FILE), 'ok');
    // Older pickles name numpy.core.multiarray.
    const old = Buffer.from(reconstruct(shortUnicode('old')).toString('latin1').replace('numpy._core.', 'numpy.core.'), 'latin1');
    assert.equal(decodePickledString(old, FILE), 'old');
  });

  it('refuses truncated streams at every length', () => {
    const full = picklePart('pickle_p4.npy');
    for (let n = 0; n < full.length; n++) decodeFails(full.subarray(0, n));
  });

  it('refuses unsupported or corrupt opcodes', () => {
    decodeFails(op(0x80, 9, '.'), /protocol 9/);
    decodeFails(op(0xff), /unknown pickle opcode 0xff/);
    decodeFails(op('P', '1\n', '.'), /persistent/);
    decodeFails(op(0x82, 1, '.'), /extension/);
    decodeFails(op(0x97, '.'), /out-of-band/);
    decodeFails(op('h', 3, '.'), /memo entry 3/);
    decodeFails(op('a'), /underflow/);
    decodeFails(op('t'), /MARK/);
    decodeFails(op('.'), /underflow/);
    const hugeLength = Buffer.alloc(8, 0xff);
    decodeFails(op(0x8d, hugeLength, '.'), /runs past/);
    decodeFails(op('T', Buffer.from([0, 0, 0, 0x80]), '.'), /negative/);
  });

  it('survives random byte streams with typed errors only', () => {
    let seed = 12345;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    const base = picklePart('pickle_p2.npy');
    for (let i = 0; i < 2000; i++) {
      const b = Buffer.from(base);
      for (let k = 0; k < 1 + (i % 4); k++) b[(rand() << 8 | rand()) % b.length] = rand();
      try {
        decodePickledString(b, FILE, '_metadata');
      } catch (err) {
        assertFormatError(err, FILE, '_metadata');
      }
    }
    for (let i = 0; i < 500; i++) {
      const b = Buffer.alloc(1 + (i % 64));
      for (let k = 0; k < b.length; k++) b[k] = rand();
      try {
        decodePickledString(b, FILE);
      } catch (err) {
        assertFormatError(err, FILE);
      }
    }
  });
});
