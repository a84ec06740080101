// Zip64 paths: a synthetic archive whose sizes and offsets all live in zip64 extras (with a zip64 end
// record), and a sparse archive whose second member sits after a 4.3 GB hole.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { encodeNpy, ndarray, withNpz, formatNpyHeader } from '../../src/core/npy';
import { encodeCentralHeader, encodeEndRecords, encodeLocalHeader, type EntryRecord } from '../../src/core/npy/zip';
import { expectFormatError } from './helpers/npy';
import { tempDir } from './helpers/paths';

/** A central directory entry with every size/offset forced into the zip64 extra (as big archives have). */
function forcedZip64Central(name: string, method: number, crc: number, csize: number, usize: number, offset: number): Buffer {
  const nameBytes = Buffer.from(name);
  const b = Buffer.alloc(46 + nameBytes.length + 28);
  b.writeUInt32LE(0x02014b50, 0);
  b.writeUInt16LE(45, 4);
  b.writeUInt16LE(45, 6);
  b.writeUInt16LE(method, 10);
  b.writeUInt32LE(crc, 16);
  b.writeUInt32LE(0xffffffff, 20);
  b.writeUInt32LE(0xffffffff, 24);
  b.writeUInt16LE(nameBytes.length, 28);
  b.writeUInt16LE(28, 30);
  b.writeUInt32LE(0xffffffff, 42);
  nameBytes.copy(b, 46);
  const x = 46 + nameBytes.length;
  b.writeUInt16LE(0x0001, x);
  b.writeUInt16LE(24, x + 2);
  b.writeBigUInt64LE(BigInt(usize), x + 4); // order: uncompressed, compressed, offset
  b.writeBigUInt64LE(BigInt(csize), x + 12);
  b.writeBigUInt64LE(BigInt(offset), x + 20);
  return b;
}

function forcedZip64End(entries: number, cdOffset: number, cdSize: number): Buffer {
  const rec = Buffer.alloc(56);
  rec.writeUInt32LE(0x06064b50, 0);
  rec.writeBigUInt64LE(44n, 4);
  rec.writeUInt16LE(45, 12);
  rec.writeUInt16LE(45, 14);
  rec.writeBigUInt64LE(BigInt(entries), 24);
  rec.writeBigUInt64LE(BigInt(entries), 32);
  rec.writeBigUInt64LE(BigInt(cdSize), 40);
  rec.writeBigUInt64LE(BigInt(cdOffset), 48);
  const loc = Buffer.alloc(20);
  loc.writeUInt32LE(0x07064b50, 0);
  loc.writeBigUInt64LE(BigInt(cdOffset + cdSize), 8);
  loc.writeUInt32LE(1, 16);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0xffff, 8);
  eocd.writeUInt16LE(0xffff, 10);
  eocd.writeUInt32LE(0xffffffff, 12);
  eocd.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([rec, loc, eocd]);
}

function record(name: string, method: number, body: Buffer, compressed: Buffer, offset: number, localZip64: boolean): EntryRecord {
  return {
    nameBytes: Buffer.from(name), method, crc32: zlib.crc32(body), compressedSize: compressed.length,
    uncompressedSize: body.length, localHeaderOffset: offset, dosTime: 0, dosDate: 33, localZip64,
  };
}

describe('npz zip64 support', function () {
  this.timeout(30000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('npy-zip64-')));
  afterEach(() => cleanup());

  it('reads sizes and offsets from zip64 extras and the zip64 end record', async () => {
    const a = ndarray('<f4', [3, 2], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const b = ndarray('<i8', [4], BigInt64Array.from([1n, -2n, 3n, -(2n ** 62n)]));
    const parts: Buffer[] = [];
    const central: Buffer[] = [];
    let offset = 0;
    for (const [name, arr, method] of [['a.npy', a, 0], ['b.npy', b, 8]] as const) {
      const body = Buffer.concat(encodeNpy(arr));
      const data = method === 8 ? zlib.deflateRawSync(body) : body;
      const rec = record(name, method, body, data, offset, true);
      const local = encodeLocalHeader(rec);
      parts.push(local, data);
      central.push(forcedZip64Central(name, method, rec.crc32, data.length, body.length, offset));
      offset += local.length + data.length;
    }
    const cd = Buffer.concat(central);
    const file = path.join(dir, 'z64.npz');
    fs.writeFileSync(file, Buffer.concat([...parts, cd, forcedZip64End(2, offset, cd.length)]));
    await withNpz(file, async (z) => {
      assert.deepEqual([...z.members.keys()], ['a', 'b']);
      assert.equal(z.member('a').localHeaderOffset, 0);
      assert.deepEqual([...((await z.readRows('a', 1, 3)).data as Float32Array)], [3, 4, 5, 6]);
      assert.deepEqual([...((await z.readArray('b')).data as BigInt64Array)], [1n, -2n, 3n, -(2n ** 62n)]);
      assert.equal(z.member('b').compression, 'deflated');
    });

    // A zip64 extra too short for the fields it must hold.
    const broken = Buffer.concat([...parts, cd, forcedZip64End(2, offset, cd.length)]);
    broken.writeUInt16LE(16, offset + 46 + 5 + 2);
    const bad = path.join(dir, 'short-extra.npz');
    fs.writeFileSync(bad, broken);
    await expectFormatError(withNpz(bad, async () => undefined), bad, 'a.npy', /zip64 extra field too short/);

    // A zip64 locator pointing at garbage.
    const badLocator = Buffer.concat([...parts, cd, forcedZip64End(2, offset, cd.length)]);
    badLocator.writeBigUInt64LE(3n, badLocator.length - 22 - 20 + 8);
    const bad2 = path.join(dir, 'bad-locator.npz');
    fs.writeFileSync(bad2, badLocator);
    await expectFormatError(withNpz(bad2, async () => undefined), bad2, null, /zip64 end/);
  });

  it('our encoders switch to zip64 only where needed', () => {
    const rec: EntryRecord = {
      nameBytes: Buffer.from('x.npy'), method: 0, crc32: 1, compressedSize: 5_000_000_000, uncompressedSize: 5_000_000_000,
      localHeaderOffset: 10, dosTime: 0, dosDate: 33, localZip64: true,
    };
    const c = encodeCentralHeader(rec);
    assert.equal(c.readUInt32LE(20), 0xffffffff);
    assert.equal(c.readUInt32LE(24), 0xffffffff);
    assert.equal(c.readUInt32LE(42), 10, 'small offset stays in the 32-bit field');
    assert.equal(c.readUInt16LE(30), 4 + 16);
    assert.equal(encodeEndRecords(2, 100, 50).length, 22);
    assert.equal(encodeEndRecords(2, 5_000_000_000, 50).length, 22 + 56 + 20);
    assert.equal(encodeEndRecords(70000, 100, 50).length, 22 + 56 + 20);
    const plain = encodeLocalHeader({ ...rec, compressedSize: 10, uncompressedSize: 10, localZip64: false });
    assert.equal(plain.readUInt16LE(28), 0);
    assert.throws(() => encodeLocalHeader({ ...rec, localZip64: false }), /zip64/);
  });

  it('reads a member stored after a 4.3 GB sparse hole', async function () {
    const started = Date.now();
    const file = path.join(dir, 'sparse.npz');
    const hole = 4_300_000_000; // > 4 GiB: offsets and sizes need zip64
    const fh = await fs.promises.open(file, 'w');
    let cdOffset = 0;
    const frames = ndarray('<f4', [5, 4, 4], Float32Array.from({ length: 80 }, (_, i) => i * 0.25));
    try {
      // Member 1: a |u1 vector whose data is the hole itself.
      const padHeader = formatNpyHeader('|u1', [hole], false);
      const padRec: EntryRecord = {
        nameBytes: Buffer.from('pad.npy'), method: 0, crc32: 0, compressedSize: padHeader.length + hole,
        uncompressedSize: padHeader.length + hole, localHeaderOffset: 0, dosTime: 0, dosDate: 33, localZip64: true,
      };
      const padLocal = encodeLocalHeader(padRec);
      await fh.write(padLocal, 0, padLocal.length, 0);
      await fh.write(padHeader, 0, padHeader.length, padLocal.length);
      // Member 2, after the hole: real frames.
      const framesOffset = padLocal.length + padHeader.length + hole;
      const body = Buffer.concat(encodeNpy(frames));
      const framesRec: EntryRecord = {
        nameBytes: Buffer.from('frames.npy'), method: 0, crc32: zlib.crc32(body), compressedSize: body.length,
        uncompressedSize: body.length, localHeaderOffset: framesOffset, dosTime: 0, dosDate: 33, localZip64: false,
      };
      const framesLocal = encodeLocalHeader(framesRec);
      await fh.write(framesLocal, 0, framesLocal.length, framesOffset);
      await fh.write(body, 0, body.length, framesOffset + framesLocal.length);
      cdOffset = framesOffset + framesLocal.length + body.length;
      const cd = Buffer.concat([encodeCentralHeader(padRec), encodeCentralHeader(framesRec)]);
      const end = encodeEndRecords(2, cdOffset, cd.length);
      await fh.write(Buffer.concat([cd, end]), 0, cd.length + end.length, cdOffset);
    } catch (err) {
      await fh.close();
      if ((err as NodeJS.ErrnoException).code === 'EFBIG' || (err as NodeJS.ErrnoException).code === 'ENOSPC') this.skip();
      throw err;
    }
    await fh.close();
    const st = fs.statSync(file);
    if (st.blocks === undefined || st.blocks * 512 > 64 * 1024 * 1024) {
      fs.rmSync(file, { force: true });
      this.skip(); // no sparse files here: do not spend real disk space
    }
    assert.ok(st.size > 2 ** 32);

    await withNpz(file, async (z) => {
      const pad = z.member('pad');
      const fr = z.member('frames');
      assert.equal(pad.uncompressedSize, pad.header.headerBytes + hole);
      assert.ok(fr.localHeaderOffset > 2 ** 32);
      assert.ok(fr.dataOffset > 2 ** 32);
      const rows = await z.readRows('frames', 1, 3);
      assert.deepEqual(rows.shape, [2, 4, 4]);
      assert.deepEqual([...(rows.data as Float32Array)], [...(frames.data as Float32Array).subarray(16, 48)]);
      const tail = await z.readRows('pad', hole - 10, hole);
      assert.deepEqual([...(tail.data as Uint8Array)], new Array(10).fill(0));
      await expectFormatError(z.readArray('pad'), file, 'pad', /readRows/);
    });
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  });
});
