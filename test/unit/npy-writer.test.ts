// Writer round trips: arrays written with writeNpz / writeNpy / NpzWriter read back identically, output is
// little-endian, and writes are atomic. (numpy.load compatibility was verified by hand, see the report.)
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { parse as npyjsParse } from 'npyjs';
import {
  encodeNpy, ndarray, NpzWriter, openNpy, parseNpyHeader, scalarString, withNpz, writeNpy, writeNpz,
  type NdArray,
} from '../../src/core/npy';
import { encodeValues, expectFormatError, npyFixtures } from './helpers/npy';
import { tempDir } from './helpers/paths';

/** Deterministic arrays of every dtype, including edge values. */
function sampleArrays(): Record<string, NdArray> {
  const f32 = Float32Array.from([1.5, -0, Infinity, -Infinity, NaN, 1e-40, 3.4e38, -2.25, 0.1, 7]);
  return {
    b1: ndarray('|b1', [2, 3], Uint8Array.from([1, 0, 1, 1, 0, 0])),
    i1: ndarray('|i1', [4], Int8Array.from([-128, 127, 0, -1])),
    u1: ndarray('|u1', [2, 2], Uint8Array.from([0, 255, 7, 8])),
    i2: ndarray('<i2', [3], Int16Array.from([-32768, 32767, 5])),
    u2: ndarray('<u2', [3], Uint16Array.from([0, 65535, 5])),
    i4: ndarray('<i4', [2, 2], Int32Array.from([-(2 ** 31), 2 ** 31 - 1, 0, 9])),
    u4: ndarray('<u4', [2], Uint32Array.from([0, 2 ** 32 - 1])),
    i8: ndarray('<i8', [3], BigInt64Array.from([-(2n ** 63n), 2n ** 63n - 1n, 42n])),
    u8: ndarray('<u8', [2], BigUint64Array.from([0n, 2n ** 64n - 1n])),
    f2: ndarray('<f2', [5], Float32Array.from([1, -2, 65504, 2 ** -24, Infinity])),
    f4: ndarray('<f4', [2, 5], f32),
    f8: ndarray('<f8', [3], Float64Array.from([Math.PI, -0, 1e308])),
    c8: ndarray('<c8', [2, 2], Float32Array.from([1, 2, 3, 4, -5, 6, NaN, Infinity])),
    c16: ndarray('<c16', [1], Float64Array.from([1e-300, -1e300])),
    scalar: ndarray('<f8', [], Float64Array.from([2.5])),
    empty: ndarray('<f4', [0, 4], new Float32Array(0)),
    strings: ndarray('<U6', [2, 2], ['a', '', 'caf\u00e9', '\u{1F600}x']),
    _metadata: scalarString(JSON.stringify({ dose: 1e6, note: 'caf\u00e9 \u{1F52C}' })),
  };
}

function assertSameArray(got: NdArray, want: NdArray, label: string): void {
  assert.equal(got.dtype.name, want.dtype.name, `${label} dtype`);
  assert.deepEqual(got.shape, want.shape, `${label} shape`);
  if (want.dtype.name === 'b1') assert.deepEqual([...(got.data as Uint8Array)], [...(want.data as Uint8Array)].map((v) => (v ? 1 : 0)));
  else assert.deepStrictEqual(encodeValues(got.data), encodeValues(want.data), `${label} values`);
}

describe('npy writer', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('npy-write-')));
  afterEach(() => cleanup());

  for (const compress of [false, true]) {
    it(`writeNpz round-trips every dtype (${compress ? 'deflated' : 'stored'})`, async () => {
      const arrays = sampleArrays();
      const file = path.join(dir, 'out.npz');
      await writeNpz(file, arrays, { compress });
      await withNpz(file, async (a) => {
        assert.deepEqual([...a.members.keys()], Object.keys(arrays));
        for (const [name, want] of Object.entries(arrays)) {
          const m = a.member(name);
          assert.equal(m.compression, compress ? 'deflated' : 'stored');
          assert.equal(m.header.version, 1);
          assert.equal(m.header.headerBytes % 64, 0);
          assertSameArray(await a.readArray(name), want, name);
          if (want.shape.length > 0 && want.shape[0] > 1) {
            const rows = await a.readRows(name, 1, want.shape[0]);
            assert.equal(rows.shape[0], want.shape[0] - 1);
          }
        }
        const meta = await a.readMetadata();
        assert.deepEqual(meta?.json, { dose: 1e6, note: 'caf\u00e9 \u{1F52C}' });
      });
      assert.deepEqual(fs.readdirSync(dir), ['out.npz'], 'no temporary files left behind');
    });
  }

  it('writes little-endian data for big-endian dtypes and never truncates strings', async () => {
    const file = path.join(dir, 'be.npz');
    await writeNpz(file, {
      f: ndarray('>f8', [2], Float64Array.from([1.25, -3])),
      c: ndarray('>c8', [1], Float32Array.from([1, -1])),
      u: ndarray('>U2', [2], ['abcd', 'e']),
      b: ndarray('|b1', [3], Uint8Array.from([0, 5, 1])),
    });
    await withNpz(file, async (a) => {
      assert.equal(a.member('f').header.dtype.descr, '<f8');
      assert.equal(a.member('c').header.dtype.descr, '<c8');
      assert.equal(a.member('u').header.dtype.descr, '<U4');
      assert.deepEqual([...((await a.readArray('f')).data as Float64Array)], [1.25, -3]);
      assert.deepEqual((await a.readArray('u')).data, ['abcd', 'e']);
      assert.deepEqual([...((await a.readArray('b')).data as Uint8Array)], [0, 1, 1]);
    });
  });

  it('converts float32 data to half floats with numpy rounding', async () => {
    const file = path.join(dir, 'half.npy');
    await writeNpy(file, ndarray('<f2', [4], Float32Array.from([0.1, 1 + 2 ** -11, 70000, -1e-8])));
    const f = await openNpy(file);
    try {
      const data = (await f.readArray()).data as Float32Array;
      assert.deepEqual([...data], [0.0999755859375, 1, Infinity, -0]);
    } finally {
      await f.close();
    }
  });

  it('encodeNpy produces a .npy stream npyjs reads', () => {
    for (const [name, arr] of Object.entries(sampleArrays())) {
      if (name === 'strings' || name === '_metadata') continue; // npyjs splits non-BMP strings wrongly
      const bytes = Buffer.concat(encodeNpy(arr));
      const h = parseNpyHeader(bytes, name);
      assert.equal(bytes.length, h.headerBytes + h.dataBytes);
      const ab = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      const parsed = npyjsParse(ab);
      assert.deepEqual(parsed.shape, arr.shape);
      if (name === 'b1') continue; // npyjs returns booleans for |b1
      assert.deepStrictEqual(encodeValues(parsed.data as unknown as ArrayLike<number>), encodeValues(arr.data), name);
    }
  });

  it('writeNpy round-trips and replaces an existing file atomically', async () => {
    const file = path.join(dir, 'a.npy');
    fs.writeFileSync(file, 'old contents');
    const arr = ndarray('<i4', [2, 3], Int32Array.from([1, 2, 3, 4, 5, 6]));
    await writeNpy(file, arr);
    const f = await openNpy(file);
    try {
      assertSameArray(await f.readArray(), arr, 'a');
      assertSameArray(await f.readRows(1, 2), ndarray('<i4', [1, 3], Int32Array.from([4, 5, 6])), 'row 1');
    } finally {
      await f.close();
    }
    assert.deepEqual(fs.readdirSync(dir), ['a.npy']);
  });

  it('a failed write leaves the previous file untouched and no temporary file', async () => {
    const file = path.join(dir, 'keep.npz');
    await writeNpz(file, { x: ndarray('<f4', [1], Float32Array.from([1])) });
    const before = fs.readFileSync(file);
    const w = await NpzWriter.create(file);
    await w.add('ok', ndarray('<f4', [2], Float32Array.from([1, 2])));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(8);
      throw new Error('disk on fire');
    }
    await assert.rejects(w.addRawData('bad', '<f4', [4], failing()), /disk on fire/);
    await assert.rejects(w.finish(), /aborted/);
    assert.deepEqual(fs.readFileSync(file), before);
    assert.deepEqual(fs.readdirSync(dir), ['keep.npz']);
  });

  it('refuses inconsistent arrays before creating any file', async () => {
    const file = path.join(dir, 'never.npz');
    const bad = { dtype: { descr: '<f4', name: 'f4' as const, byteOrder: '<' as const, itemSize: 4 }, shape: [3], data: new Float32Array(2) };
    await assert.rejects(writeNpz(file, { bad }), /needs 3 value/);
    await assert.rejects(writeNpz(file, { bad: { ...bad, data: new Float64Array(3) } }), /needs Float32Array/);
    assert.throws(() => ndarray('<f4', [-1], new Float32Array(0)), /non-negative/);
    assert.throws(() => ndarray('<U3', [2], ['a', 3 as unknown as string]), /string/);
    assert.throws(() => ndarray('<f16', [1], new Float32Array(1)), /unsupported dtype/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('NpzWriter streams raw chunks, checks their total and rejects duplicate names', async () => {
    const file = path.join(dir, 'raw.npz');
    for (const compress of [false, true]) {
      const w = await NpzWriter.create(file, { compress, level: 1 });
      const frame = new Float32Array(16).fill(0.5);
      const frames = function* (): Generator<Uint8Array> {
        for (let i = 0; i < 10; i++) yield new Uint8Array(frame.buffer);
      };
      await w.addRawData('diffraction', '<f4', [10, 4, 4], frames());
      await assert.rejects(w.addRawData('diffraction', '<f4', [1], [new Uint8Array(4)]), /twice/);
      await assert.rejects(NpzWriter.create(file).then(async (w2) => {
        try {
          await w2.addRawData('short', '<f4', [4], [new Uint8Array(8)]);
        } finally {
          await w2.abort();
        }
      }), /got 8 data bytes/);
      await w.abort();
    }
    const w = await NpzWriter.create(file, { compress: true, level: 1 });
    await w.addRawData('d', '<f4', [3, 2], [new Uint8Array(new Float32Array([0, 1, 2, 3, 4, 5]).buffer)]);
    await w.finish();
    await withNpz(file, async (a) => assert.deepEqual([...((await a.readRows('d', 1, 3)).data as Float32Array)], [2, 3, 4, 5]));
  });

  it('streams large deflated members in range without buffering them whole', async () => {
    const n = 3_000_000; // 12 MB of float32: many inflate chunks
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = (i * 7919) % 1000;
    const file = path.join(dir, 'big.npz');
    await writeNpz(file, { big: ndarray('<f4', [n / 100, 100], data) }, { compress: true, level: 1 });
    await withNpz(file, async (a) => {
      const m = a.member('big');
      assert.ok(m.compressedSize < m.uncompressedSize);
      const rows = await a.readRows('big', 20000, 20003);
      assert.deepEqual([...(rows.data as Float32Array)], [...data.subarray(2_000_000, 2_000_300)]);
      const whole = (await a.readArray('big')).data as Float32Array;
      assert.equal(whole.length, n);
      assert.equal(Buffer.compare(Buffer.from(whole.buffer), Buffer.from(data.buffer)), 0);
    });
    // Independent check of the deflate stream and the CRC with zlib.
    const buf = fs.readFileSync(file);
    const nameLength = buf.readUInt16LE(26);
    const extraLength = buf.readUInt16LE(28);
    const csize = buf.readUInt32LE(18);
    const raw = zlib.inflateRawSync(buf.subarray(30 + nameLength + extraLength, 30 + nameLength + extraLength + csize));
    assert.equal(zlib.crc32(raw), buf.readUInt32LE(14));

    // A wrong CRC is caught by whole reads of a streamed member; partial reads cannot check it.
    const cd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
    buf.writeUInt32LE((buf.readUInt32LE(cd + 16) ^ 0x80) >>> 0, cd + 16);
    const bad = path.join(dir, 'bad-crc.npz');
    fs.writeFileSync(bad, buf);
    await withNpz(bad, async (a) => {
      await expectFormatError(a.readArray('big'), bad, 'big', /CRC-32 mismatch/);
      assert.equal((await a.readRows('big', 0, 10)).shape[0], 10);
    });
  });

  it('writes decoded object strings (a pickled _metadata read back) as <U', async () => {
    const src = path.join(npyFixtures, 'study_pickled_meta.npz');
    const copy = path.join(dir, 'copy.npz');
    const arrays: Record<string, NdArray> = {};
    await withNpz(src, async (a) => {
      for (const name of a.members.keys()) arrays[name] = await a.readArray(name);
    });
    assert.equal(arrays._metadata.dtype.descr, '|O');
    await writeNpz(copy, arrays);
    await withNpz(copy, async (a) => {
      assert.match(a.member('_metadata').header.dtype.descr, /^<U\d+$/);
      assert.equal((await a.readMetadata())?.raw, arrays._metadata.data[0]);
      assertSameArray(await a.readArray('diffraction'), arrays.diffraction, 'diffraction');
    });
  });

  it('accepts typed-array subclasses such as Buffer as data', async () => {
    const file = path.join(dir, 'buf.npz');
    await writeNpz(file, { u: ndarray('|u1', [3], Buffer.from([1, 2, 3])) });
    await withNpz(file, async (a) => {
      assert.deepEqual([...((await a.readArray('u')).data as Uint8Array)], [1, 2, 3]);
      const out = Buffer.alloc(8);
      await a.readRowsInto('u', 1, 3, out);
      assert.deepEqual([...out.subarray(0, 2)], [2, 3]);
    });
  });

  it('scalarString sizes <U by code points', () => {
    assert.equal(scalarString('').dtype.descr, '<U1');
    assert.equal(scalarString('ab\u{1F600}').dtype.descr, '<U3');
    assert.deepEqual(scalarString('x').shape, []);
  });
});
