// Unit tests of dtype descriptors, half floats and the .npy header parser/formatter.
import { strict as assert } from 'node:assert';
import { NpyFormatError, formatNpyHeader, parseDescr, parseNpyHeader } from '../../src/core/npy';
import { floatToHalf, halfToFloat } from '../../src/core/npy/dtype';
import { assertFormatError } from './helpers/npy';

/** A .npy header for `dict` (a Python literal), version `v`, padded to 64 bytes like numpy. */
function header(dict: string, v = 1): Buffer {
  const prefix = v === 1 ? 10 : 12;
  const unpadded = prefix + Buffer.byteLength(dict, v === 3 ? 'utf8' : 'latin1') + 1;
  const total = unpadded + ((64 - (unpadded % 64)) % 64);
  const out = Buffer.alloc(total, 0x20);
  out.write('\x93NUMPY', 0, 'latin1');
  out[6] = v;
  out[7] = 0;
  if (v === 1) out.writeUInt16LE(total - prefix, 8);
  else out.writeUInt32LE(total - prefix, 8);
  out.write(dict, prefix, v === 3 ? 'utf8' : 'latin1');
  out[total - 1] = 0x0a;
  return out;
}

const FILE = '/data/x.npy';

function parseError(buf: Buffer, problem?: RegExp): NpyFormatError {
  try {
    parseNpyHeader(buf, FILE, 'm');
  } catch (err) {
    return assertFormatError(err, FILE, 'm', problem);
  }
  return assert.fail('expected NpyFormatError');
}

describe('npy dtype descriptors', () => {
  it('parses every supported kind with each byte order', () => {
    const sizes: Record<string, number> = {
      b1: 1, i1: 1, i2: 2, i4: 4, i8: 8, u1: 1, u2: 2, u4: 4, u8: 8, f2: 2, f4: 4, f8: 8, c8: 8, c16: 16,
    };
    for (const [name, size] of Object.entries(sizes)) {
      for (const order of ['<', '>', '|'] as const) {
        const d = parseDescr(`${order}${name}`);
        assert.deepEqual(d, { descr: `${order}${name}`, name, byteOrder: order, itemSize: size });
      }
    }
  });

  it('parses unicode and object descriptors', () => {
    assert.deepEqual(parseDescr('<U12'), { descr: '<U12', name: 'U', byteOrder: '<', itemSize: 48 });
    assert.deepEqual(parseDescr('>U1'), { descr: '>U1', name: 'U', byteOrder: '>', itemSize: 4 });
    assert.deepEqual(parseDescr('|O'), { descr: '|O', name: 'O', byteOrder: '|', itemSize: 0 });
    assert.equal(parseDescr('|O8').name, 'O');
  });

  it('treats a missing or "=" byte order as native', () => {
    assert.equal(parseDescr('f4').byteOrder, '<');
    assert.equal(parseDescr('=i8').byteOrder, '<');
  });

  it('rejects unsupported descriptors with a plain Error', () => {
    for (const bad of ['<f16', '<M8', '<m8[ns]', '|S5', '|V8', '<c32', '<f', 'float32', '', '<U', '<Ux', '<i3', ' <f4', '<f4 ', '<U99999999999']) {
      assert.throws(() => parseDescr(bad), (err: Error) => !(err instanceof NpyFormatError) && /unsupported dtype|too wide/.test(err.message), bad);
    }
  });
});

describe('half floats', () => {
  it('round-trips every finite and infinite half exactly', () => {
    for (let h = 0; h < 0x10000; h++) {
      const f = halfToFloat(h);
      if (Number.isNaN(f)) {
        assert.equal((h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0, true);
        assert.equal(floatToHalf(f), 0x7e00);
        continue;
      }
      assert.equal(floatToHalf(f), h, `half 0x${h.toString(16)} → ${f}`);
    }
  });

  it('decodes known values', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.equal(halfToFloat(0xfc00), -Infinity);
    assert.ok(Object.is(halfToFloat(0x8000), -0));
  });

  it('rounds to nearest even like numpy', () => {
    assert.equal(floatToHalf(1 + 2 ** -11), 0x3c00); // tie → even mantissa 0
    assert.equal(floatToHalf(1 + 3 * 2 ** -11), 0x3c02); // tie → even mantissa 2
    assert.equal(floatToHalf(1 + 2 ** -11 + 2 ** -20), 0x3c01);
    assert.equal(floatToHalf(65519), 0x7bff);
    assert.equal(floatToHalf(65520), 0x7c00);
    assert.equal(floatToHalf(1e10), 0x7c00);
    assert.equal(floatToHalf(-1e10), 0xfc00);
    assert.equal(floatToHalf(2 ** -25), 0x0000); // tie between 0 and the smallest subnormal → 0
    assert.equal(floatToHalf(3 * 2 ** -25), 0x0002);
    assert.equal(floatToHalf(2 ** -14 - 2 ** -26), 0x0400); // rounds up into the normal range
    assert.equal(floatToHalf(-0), 0x8000);
    assert.equal(floatToHalf(1e-10), 0);
  });
});

describe('npy header parsing', () => {
  it('parses numpy-style headers of versions 1, 2 and 3', () => {
    for (const v of [1, 2, 3]) {
      const buf = header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", v);
      const h = parseNpyHeader(buf, FILE);
      assert.equal(h.version, v);
      assert.equal(h.headerBytes, buf.length);
      assert.equal(h.headerBytes % 64, 0);
      assert.deepEqual(h.shape, [3, 4]);
      assert.equal(h.elementCount, 12);
      assert.equal(h.dataBytes, 48);
      assert.equal(h.fortranOrder, false);
      assert.equal(h.dtype.descr, '<f4');
    }
  });

  it('accepts 0-d, 1-d, empty and Fortran shapes, any key order and quoting', () => {
    const cases: Array<[string, number[], boolean]> = [
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (), }", [], false],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (5,), }", [5], false],
      ["{'shape': (0, 7), 'fortran_order': True, 'descr': '>i2'}", [0, 7], true],
      ['{"descr": "|b1", "fortran_order": True, "shape": (2,3,4)}', [2, 3, 4], true],
      ["{'descr': '<i4', 'fortran_order': False, 'shape': (3L, 4L), }", [3, 4], false], // Python 2 longs
      ["{'descr': '<i4', 'fortran_order': False, 'shape': ((5),), }", [5], false],
    ];
    for (const [dict, shape, fortran] of cases) {
      const h = parseNpyHeader(header(dict), FILE);
      assert.deepEqual(h.shape, shape, dict);
      assert.equal(h.fortranOrder, fortran, dict);
      assert.equal(h.elementCount, shape.reduce((a, b) => a * b, 1));
    }
  });

  it('reads the utf-8 header of version 3', () => {
    const h = parseNpyHeader(header("{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", 3), FILE);
    assert.equal(h.dtype.itemSize, 12);
  });

  it('refuses bad magic, versions and truncation', () => {
    const good = header("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }");
    const badMagic = Buffer.from(good);
    badMagic[1] = 0x4d;
    parseError(badMagic, /magic/);
    for (const [major, minor] of [[0, 0], [4, 0], [1, 1]]) {
      const b = Buffer.from(good);
      b[6] = major;
      b[7] = minor;
      parseError(b, /version/);
    }
    for (let n = 0; n < good.length; n++) parseError(good.subarray(0, n), /truncated|magic/);
  });

  it('refuses malformed dicts', () => {
    const bad: Array<[string, RegExp]> = [
      ["{'descr': '<f4', 'fortran_order': False}", /keys/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'extra': 1}", /keys/],
      ["{'descr': '<f4', 'fortran_order': 0, 'shape': (3,)}", /fortran_order/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': [3]}", /shape/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': 3}", /shape/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3.5,)}", /integer/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': ('3',)}", /non-integer/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3)}", /negative/],
      ["{'descr': 5, 'fortran_order': False, 'shape': (3,)}", /descr/],
      ["{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (3,)}", /structured/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'descr': '<f8'}", /duplicate/],
      ["{'descr': '<f4' 'fortran_order': False, 'shape': (3,)}", /expected/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", /trailing/],
      ["__import__('os').system('true')", /unexpected/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (3,", /unexpected end|expected/],
      ["{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}", /./],
      ['(((((((((((((((((((((((((((((((((((((((((1)))))))))))))))))))))))))))))))))))))))))', /too deep/],
      ['', /unexpected end/],
    ];
    for (const [dict, problem] of bad) parseError(header(dict), problem);
  });

  it('refuses unknown dtypes with a typed error', () => {
    for (const d of ['<f16', '<M8', '|S3', '<m8']) {
      parseError(header(`{'descr': '${d}', 'fortran_order': False, 'shape': (3,), }`), new RegExp(`unsupported dtype descr "\\${d}`));
    }
  });

  it('refuses absurd shapes before anything is allocated', () => {
    parseError(header(`{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 40}, ${2 ** 40}), }`), /more than 2\^53/);
    parseError(header(`{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }`), /larger than 2\^53/);
    parseError(header(`{'descr': '<c16', 'fortran_order': False, 'shape': (${2 ** 50},), }`), /bytes/);
    // Huge shapes with a zero dimension hold no data and are fine.
    assert.equal(parseNpyHeader(header(`{'descr': '<f4', 'fortran_order': False, 'shape': (0, ${2 ** 52}), }`), FILE).dataBytes, 0);
  });

  it('refuses headers above the size limit', () => {
    const b = Buffer.alloc(16);
    b.write('\x93NUMPY', 0, 'latin1');
    b[6] = 2;
    b.writeUInt32LE(0xfffffff0, 8);
    parseError(b, /limit/);
  });
});

describe('npy header formatting', () => {
  it('writes numpy-compatible, 64-byte aligned version 1.0 headers', () => {
    for (const shape of [[], [5], [3, 4], [2, 0, 7], [1, 2, 3, 4, 5, 6, 7, 8]]) {
      for (const fortran of [false, true]) {
        const buf = formatNpyHeader('<c8', shape, fortran);
        assert.equal(buf.length % 64, 0);
        assert.equal(buf[6], 1);
        assert.equal(buf[buf.length - 1], 0x0a);
        const h = parseNpyHeader(buf, FILE);
        assert.deepEqual(h.shape, shape);
        assert.equal(h.fortranOrder, fortran);
        assert.equal(h.headerBytes, buf.length);
      }
    }
    assert.equal(
      formatNpyHeader('<f4', [3], false).toString('latin1', 10).trimEnd(),
      "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
    );
  });

  it('switches to version 2.0 when the dict exceeds 65535 bytes', () => {
    const buf = formatNpyHeader(`<U${'1'.repeat(70000)}`, [1], false);
    assert.equal(buf[6], 2);
    assert.equal(buf.length % 64, 0);
    assert.equal(buf.readUInt32LE(8) + 12, buf.length);
  });
});
