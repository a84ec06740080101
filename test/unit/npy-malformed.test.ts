// Corrupted inputs: every malformed file must give an NpyFormatError naming the file (and member), never a
// crash, a hang, another exception type or a huge allocation.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NpyFormatError, openNpy, openNpz, withNpz, withNpy } from '../../src/core/npy';
import { assertFormatError, expectFormatError, npyFixtures } from './helpers/npy';
import { tempDir } from './helpers/paths';

/** Opens and reads everything in an archive; returns how many operations failed (all with typed errors). */
async function readEverythingNpz(file: string): Promise<number> {
  let failures = 0;
  const attempt = async (fn: () => Promise<unknown>, member?: string): Promise<void> => {
    try {
      await fn();
    } catch (err) {
      failures++;
      assertFormatError(err, file, member);
    }
  };
  let archive;
  try {
    archive = await openNpz(file);
  } catch (err) {
    assertFormatError(err, file);
    return 1;
  }
  try {
    for (const [name, m] of archive.members) {
      await attempt(() => archive.readArray(name), name);
      if (m.header.shape.length > 0 && m.header.dtype.name !== 'O') {
        await attempt(() => archive.readRows(name, 0, Math.min(1, m.header.shape[0])), name);
      }
    }
    await attempt(() => archive.readMetadata(), '_metadata');
  } finally {
    await archive.close();
  }
  return failures;
}

async function readEverythingNpy(file: string): Promise<number> {
  try {
    await withNpy(file, async (f) => {
      await f.readArray();
      if (f.header.shape.length > 0 && f.header.dtype.name !== 'O') await f.readRows(0, Math.min(1, f.header.shape[0]));
    });
    return 0;
  } catch (err) {
    assertFormatError(err, file, null);
    return 1;
  }
}

/**
 * Offsets worth corrupting: every byte of small files; for larger ones, the first and last `edge` bytes
 * (first headers, central directory, end records) and a stride through the middle.
 */
function offsetsOf(size: number, edge = 2048, stride = 97): number[] {
  if (size <= 2 * edge) return Array.from({ length: size }, (_, i) => i);
  const out = new Set<number>();
  for (let i = 0; i < edge; i++) {
    out.add(i);
    out.add(size - 1 - i);
  }
  for (let i = edge; i < size - edge; i += stride) out.add(i);
  return [...out].sort((a, b) => a - b);
}

/**
 * Every byte of the zip and .npy headers and of the central directory and end records; a stride through
 * array data (flipping data bytes only changes values) and through deflated streams.
 */
async function structuralOffsets(file: string, buf: Buffer): Promise<number[]> {
  const out = new Set<number>();
  const addRange = (from: number, to: number, step = 1): void => {
    for (let i = from; i < to; i += step) out.add(i);
  };
  const eocd = buf.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  addRange(buf.readUInt32LE(eocd + 16), buf.length); // central directory + end record
  await withNpz(file, async (a) => {
    for (const m of a.members.values()) {
      const lho = m.localHeaderOffset;
      const dataStart = lho + 30 + buf.readUInt16LE(lho + 26) + buf.readUInt16LE(lho + 28);
      addRange(lho, dataStart);
      if (m.compression === 'stored') {
        addRange(dataStart, m.dataOffset);
        addRange(m.dataOffset, m.dataOffset + m.header.dataBytes, 29);
      } else addRange(dataStart, dataStart + m.compressedSize, 5);
    }
  });
  return [...out].sort((x, y) => x - y);
}

describe('malformed .npz and .npy input', function () {
  this.timeout(120000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('npy-bad-')));
  afterEach(() => cleanup());

  const copy = (name: string, as = name): string => {
    const p = path.join(dir, as);
    fs.copyFileSync(path.join(npyFixtures, name), p);
    return p;
  };
  const mutate = (name: string, fn: (b: Buffer) => Buffer | void, as = `bad-${name}`): string => {
    const buf = fs.readFileSync(path.join(npyFixtures, name));
    const out = fn(buf) ?? buf;
    const p = path.join(dir, as);
    fs.writeFileSync(p, out);
    return p;
  };

  for (const name of ['study_unicode_meta.npz', 'study_pickled_meta.npz', 'fortran_compressed.npz', 'meta_not_json.npz']) {
    it(`${name}: truncation at every offset fails cleanly`, async () => {
      const full = fs.readFileSync(path.join(npyFixtures, name));
      const p = path.join(dir, name);
      for (const n of offsetsOf(full.length, 512, 7)) {
        fs.writeFileSync(p, full.subarray(0, n));
        const err = await expectFormatError(openNpz(p), p);
        assert.ok(err.problem.length > 0);
      }
    });
  }

  for (const name of ['v1.npy', 'v2.npy', 'v3_utf8.npy', 'be_fortran_c16.npy', 'pickle_p4.npy']) {
    it(`${name}: truncation at every offset fails cleanly`, async () => {
      const full = fs.readFileSync(path.join(npyFixtures, name));
      const p = path.join(dir, name);
      for (let n = 0; n < full.length; n++) {
        fs.writeFileSync(p, full.subarray(0, n));
        assert.equal(await readEverythingNpy(p), 1, `truncated to ${n} bytes`);
      }
    });
  }

  // [file, keep every k-th offset]: the 39-member archives are sampled to keep the suite quick.
  const flips: Array<[string, number]> = [
    ['study_unicode_meta.npz', 1], ['study_pickled_meta.npz', 1], ['fortran.npz', 1], ['fortran_compressed.npz', 1],
    ['dtypes.npz', 11], ['dtypes_compressed.npz', 23],
  ];
  for (const [name, every] of flips) {
    it(`${name}: flipping ${every === 1 ? 'any' : 'sampled'} structural bytes gives data or a typed error`, async () => {
      const full = fs.readFileSync(path.join(npyFixtures, name));
      const p = path.join(dir, name);
      let failures = 0;
      const offsets = (await structuralOffsets(path.join(npyFixtures, name), full)).filter((_, i) => i % every === 0);
      for (const off of offsets) {
        const b = Buffer.from(full);
        b[off] ^= 0xff;
        fs.writeFileSync(p, b);
        failures += (await readEverythingNpz(p)) > 0 ? 1 : 0;
      }
      assert.ok(failures > offsets.length / 10, `most header corruptions are detected (${failures}/${offsets.length})`);
    });
  }

  it('flipping any byte of a bare .npy gives data or a typed error', async () => {
    for (const name of ['v1.npy', 'be_fortran_c16.npy', 'pickle_p0.npy', 'pickle_p4.npy']) {
      const full = fs.readFileSync(path.join(npyFixtures, name));
      const p = path.join(dir, name);
      for (let off = 0; off < full.length; off++) {
        for (const x of [0xff, 0x01]) {
          const b = Buffer.from(full);
          b[off] ^= x;
          fs.writeFileSync(p, b);
          await readEverythingNpy(p);
        }
      }
    }
  });

  it('random bytes, empty files and tiny files are not zip archives', async () => {
    let seed = 7;
    const rand = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
    for (const size of [0, 1, 21, 22, 100, 4096, 70000]) {
      const p = path.join(dir, `random-${size}.npz`);
      fs.writeFileSync(p, Buffer.from(Array.from({ length: size }, rand)));
      await expectFormatError(openNpz(p), p, null, /not a zip/);
      await expectFormatError(openNpy(p), p, null);
    }
  });

  it('a folder is refused with a typed error; a missing file keeps its system error', async () => {
    await expectFormatError(openNpz(dir), dir, null, /regular file/);
    await assert.rejects(openNpz(path.join(dir, 'missing.npz')), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && !(err instanceof NpyFormatError));
  });

  it('bad end-of-central-directory and central directory records', async () => {
    const eocdOf = (b: Buffer): number => b.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    let p = mutate('study_unicode_meta.npz', (b) => void b.writeUInt32LE(0, eocdOf(b)));
    await expectFormatError(openNpz(p), p, null, /not a zip/);
    // Central directory offset beyond the file.
    p = mutate('study_unicode_meta.npz', (b) => {
      // numpy's small archives have no zip64 end record: the plain EOCD is authoritative.
      const at = eocdOf(b);
      b.writeUInt32LE(b.length + 1000, at + 16);
    });
    await expectFormatError(openNpz(p), p, null, /central directory/);
    // Entry count disagreeing with the directory.
    p = mutate('study_unicode_meta.npz', (b) => {
      const at = eocdOf(b);
      b.writeUInt16LE(b.readUInt16LE(at + 10) + 1, at + 10);
      b.writeUInt16LE(b.readUInt16LE(at + 8) + 1, at + 8);
    });
    await expectFormatError(openNpz(p), p, null, /entries/);
    // Broken central directory entry signature.
    p = mutate('study_unicode_meta.npz', (b) => void b.writeUInt32LE(0x12345678, b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))));
    await expectFormatError(openNpz(p), p, null, /central directory entry/);
    // Multi-disk archive.
    p = mutate('study_unicode_meta.npz', (b) => void b.writeUInt16LE(1, eocdOf(b) + 4));
    await expectFormatError(openNpz(p), p, null, /multi-disk/);
    // Zip64 values without the zip64 locator.
    p = mutate('study_unicode_meta.npz', (b) => void b.writeUInt32LE(0xffffffff, eocdOf(b) + 16));
    await expectFormatError(openNpz(p), p, null, /zip64/);
  });

  it('a trailing archive comment is fine', async () => {
    const p = mutate('study_unicode_meta.npz', (b) => {
      const comment = Buffer.from('written by a test \x50\x4b\x05\x06 with a fake signature inside');
      const out = Buffer.concat([b, comment]);
      out.writeUInt16LE(comment.length, b.length - 2);
      return out;
    });
    await withNpz(p, async (a) => assert.equal((await a.readRows('diffraction', 0, 2)).shape[0], 2));
    // Junk appended after the end record (comment length not updated) is tolerated like Python's zipfile.
    const junk = mutate('study_unicode_meta.npz', (b) => Buffer.concat([b, Buffer.from('trailing junk')]), 'junk.npz');
    await withNpz(junk, async (a) => assert.equal(a.members.size, 6));
  });

  it('a bad local header names the member', async () => {
    const p = mutate('study_unicode_meta.npz', (b) => {
      const second = b.indexOf(Buffer.from([0x50, 0x4b, 0x03, 0x04]), 4);
      b.writeUInt32LE(0xdeadbeef, second);
    });
    await expectFormatError(openNpz(p), p, 'probeGuess', /local header/);
    const renamed = mutate('study_unicode_meta.npz', (b) => {
      const at = b.indexOf(Buffer.from('xcoords.npy'));
      b.write('xcoordz', at, 'latin1'); // local name only; the central directory still says xcoords
    });
    await expectFormatError(openNpz(renamed), renamed, 'xcoords', /local header names/);
  });

  it('unsupported compression methods are named', async () => {
    const p = mutate('study_unicode_meta.npz', (b) => {
      for (let at = b.indexOf(Buffer.from('ycoords.npy')); at >= 0; at = b.indexOf(Buffer.from('ycoords.npy'), at + 1)) {
        const local = b.readUInt32LE(at - 30) === 0x04034b50;
        b.writeUInt16LE(12, local ? at - 30 + 8 : at - 46 + 10); // bzip2
      }
    });
    await expectFormatError(openNpz(p), p, 'ycoords', /unsupported compression method 12/);
  });

  /** Rewrites the .npy header dict of a stored member in place (same length, numpy padding). */
  async function withHeader(member: string, dict: string): Promise<string> {
    const src = path.join(npyFixtures, 'study_unicode_meta.npz');
    const m = await withNpz(src, async (a) => a.member(member));
    return mutate('study_unicode_meta.npz', (b) => {
      const start = m.dataOffset - m.header.headerBytes;
      const text = dict.padEnd(m.header.headerBytes - 10 - 1, ' ') + '\n';
      assert.equal(text.length, m.header.headerBytes - 10, 'dict fits the existing header');
      b.write(text, start + 10, 'latin1');
    }, `hdr-${Math.random().toString(36).slice(2)}.npz`);
  }

  it('header problems name the member', async () => {
    const cases: Array<[string, RegExp]> = [
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (9, 8, 8), }", /needs 2304 data bytes, but only 1792/],
      ["{'descr': '<f8', 'fortran_order': False, 'shape': (7, 8, 8), }", /needs/],
      ["{'descr': '<f16', 'fortran_order': False, 'shape': (7, 8, 8), }", /unsupported dtype descr "<f16"/],
      ["{'descr': '<M8', 'fortran_order': False, 'shape': (7, 8, 8), }", /unsupported dtype descr "<M8"/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 40}, ${2 ** 40}), }`, /more than 2\^53/],
      [`{'descr': '<f4', 'fortran_order': False, 'shape': (${2 ** 31}, ${2 ** 19}), }`, /needs/],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (-7, 8, 8), }", /negative/],
      ["{'descr': '<f4', 'fortran_order': Maybe, 'shape': (7, 8, 8), }", /bad .npy header/],
    ];
    for (const [dict, problem] of cases) {
      const p = await withHeader('diffraction', dict);
      await expectFormatError(openNpz(p), p, 'diffraction', problem);
    }
    const magic = mutate('study_unicode_meta.npz', (b) => void (b[b.indexOf(Buffer.from('\x93NUMPY', 'latin1')) + 1] = 0x41));
    await expectFormatError(openNpz(magic), magic, 'diffraction', /magic/);
  });

  it('corrupt deflate data and CRC mismatches are detected when reading', async () => {
    const name = 'study_pickled_meta.npz';
    const m = await withNpz(path.join(npyFixtures, name), async (a) => a.member('diffraction'));
    const full = fs.readFileSync(path.join(npyFixtures, name));
    const dataStart = m.localHeaderOffset + 30 + full.readUInt16LE(m.localHeaderOffset + 26) + full.readUInt16LE(m.localHeaderOffset + 28);
    let detected = 0;
    for (let off = dataStart + 40; off < dataStart + m.compressedSize; off += 7) {
      const b = Buffer.from(full);
      b[off] ^= 0x55;
      const p = path.join(dir, 'crc.npz');
      fs.writeFileSync(p, b);
      try {
        await withNpz(p, (a) => a.readArray('diffraction'));
      } catch (err) {
        assertFormatError(err, p, 'diffraction');
        detected++;
      }
    }
    assert.ok(detected > 0);
    // A wrong CRC in the directory alone.
    const p = mutate(name, (b) => {
      const at = b.indexOf(Buffer.from('diffraction.npy'), b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02])));
      b.writeUInt32LE((b.readUInt32LE(at - 46 + 16) ^ 1) >>> 0, at - 46 + 16);
    });
    await withNpz(p, async (a) => {
      await expectFormatError(a.readArray('diffraction'), p, 'diffraction', /CRC-32 mismatch/);
      // Small members are inflated whole, so even partial reads are checked.
      await expectFormatError(a.readRows('diffraction', 0, 2), p, 'diffraction', /CRC-32 mismatch/);
    });
  });

  it('impossible deflate ratios are refused before allocating', async () => {
    const p = mutate('study_pickled_meta.npz', (b) => {
      const cd = b.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]));
      const at = b.indexOf(Buffer.from('diffraction.npy'), cd);
      b.writeUInt32LE(0xfffffff0, at - 46 + 24);
    });
    await expectFormatError(openNpz(p), p, 'diffraction', /impossible/);
  });

  it('rows out of range, 0-d rows and object rows are typed errors', async () => {
    const p = copy('dtypes.npz');
    await withNpz(p, async (a) => {
      for (const [s, e] of [[-1, 1], [0, 3], [2, 1], [0.5, 1], [0, NaN], [0, Infinity]]) {
        await expectFormatError(a.readRows('f4_le', s, e), p, 'f4_le', /out of range/);
      }
      await expectFormatError(a.readRows('scalar_f8', 0, 1), p, 'scalar_f8', /0-d/);
      await expectFormatError(a.readRows('_metadata', 0, 1), p, '_metadata', /0-d|object/);
      await expectFormatError(a.readArray('nope'), p, 'nope', /no such member/);
      assert.throws(() => a.member('nope'), (err) => assertFormatError(err, p, 'nope') instanceof NpyFormatError);
    });
  });

  it('maxBytes guards whole-array and row reads', async () => {
    const p = copy('study_unicode_meta.npz');
    await withNpz(p, async (a) => {
      const err = await expectFormatError(a.readArray('diffraction', { maxBytes: 1000 }), p, 'diffraction', /maxBytes/);
      assert.match(err.message, /readRows/);
      await expectFormatError(a.readRows('diffraction', 0, 7, { maxBytes: 1000 }), p, 'diffraction', /maxBytes/);
      assert.equal((await a.readRows('diffraction', 0, 3, { maxBytes: 1000 })).shape[0], 3);
    });
  });

  it('reading after close is a clear usage error', async () => {
    const p = copy('v1.npy');
    const f = await openNpy(p);
    await f.close();
    await f.close();
    await assert.rejects(f.readArray(), /closed/);
    const z = await openNpz(copy('dtypes.npz'));
    await z.close();
    await assert.rejects(z.readArray('f4_le'), /closed/);
  });
});
