// What the NPZ preview reads (no VS Code): member descriptions, the initial state, one frame of a stack
// (exactly one frame's bytes), decimated images, complex data, series, tables, .npy files, bad requests.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatNpyHeader, ndarray, scalarString, writeNpy, writeNpz } from '../../src/core/npy';
import { encodeCentralHeader, encodeEndRecords, encodeLocalHeader, type EntryRecord } from '../../src/core/npy/zip';
import {
  buildInit, classify, describeMembers, openPreviewSource, readSeries, readSlice, readTable, type PreviewSource,
} from '../../src/extension/npzPreview/previewService';
import { tempDir } from './helpers/paths';

describe('NPZ preview service', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  let src: PreviewSource;
  const frames = 5;
  const N = 8;

  before(async () => {
    ({ dir, cleanup } = tempDir('ptycho-npzprev-'));
    file = path.join(dir, 'scan.npz');
    const diff = new Float32Array(frames * N * N);
    for (let f = 0; f < frames; f++) for (let i = 0; i < N * N; i++) diff[f * N * N + i] = f * 1000 + i;
    const obj = new Float32Array(2 * 40 * 30);
    for (let i = 0; i < 40 * 30; i++) {
      obj[2 * i] = Math.cos(i / 100);
      obj[2 * i + 1] = Math.sin(i / 100);
    }
    await writeNpz(file, {
      diffraction: ndarray('<f4', [frames, N, N], diff),
      objectGuess: ndarray('<c8', [30, 40], obj),
      xcoords: ndarray('<f8', [frames], Float64Array.from([0, 1, 2, 3, 4])),
      ycoords: ndarray('<f8', [frames], Float64Array.from([5, 6, 7, 8, 9])),
      scan_index: ndarray('<i8', [frames], BigInt64Array.from([0n, 1n, 2n, 3n, 9007199254740993n])),
      group_indices: ndarray('<i4', [3, 4], Int32Array.from({ length: 12 }, (_, i) => i)),
      grouped: ndarray('<f4', [2, N, N, 4], new Float32Array(2 * N * N * 4).map((_, i) => i % 4)),
      dose: ndarray('<f8', [], Float64Array.from([1e4])),
      flag: ndarray('|b1', [], Uint8Array.from([1])),
      names: ndarray('<U5', [2], ['alpha', 'beta']),
      empty: ndarray('<f4', [0, 3], new Float32Array(0)),
      _metadata: scalarString(JSON.stringify({ photons: 1e4, nested: { a: [1, 2] } })),
    });
    src = await openPreviewSource(file);
  });

  after(async () => {
    await src?.close();
    cleanup();
  });

  const info = (name: string) => describeMembers(src).find((m) => m.name === name)!;

  it('describes each member: dtype, shape, bytes, storage and how it is shown', () => {
    const d = info('diffraction');
    assert.deepEqual([d.descr, d.dtypeName, d.shape, d.dataBytes, d.compression, d.view, d.imageAxes], ['<f4', 'float32', [5, 8, 8], 5 * 64 * 4, 'stored', 'stack', [1, 2]]);
    assert.equal(info('objectGuess').view, 'image');
    assert.equal(info('objectGuess').complex, true);
    assert.equal(info('xcoords').view, 'series');
    assert.equal(info('group_indices').view, 'table');
    assert.equal(info('grouped').channelAxis, 3);
    assert.equal(info('dose').view, 'scalar');
    assert.equal(info('names').view, 'table');
    assert.equal(info('empty').view, 'none');
    assert.equal(info('_metadata').view, 'metadata');
  });

  it('the initial state reads scalars and _metadata, finds the scan positions and picks diffraction first', async () => {
    const init = await buildInit(src, { displayPath: 'scan.npz', maxSide: 1024, openMs: 1 });
    assert.equal(init.initialMember, 'diffraction');
    assert.deepEqual(init.scan, { x: 'xcoords', y: 'ycoords', count: 5 });
    assert.equal(init.members.find((m) => m.name === 'dose')!.scalar, '10000');
    assert.equal(init.members.find((m) => m.name === 'flag')!.scalar, 'True');
    assert.deepEqual(init.metadata?.json, { photons: 1e4, nested: { a: [1, 2] } });
    assert.equal(init.format, 'npz');
  });

  it('a frame of a stack is exactly that frame, and only its bytes are read', async () => {
    const r = await readSlice(src, info('diffraction'), { member: 'diffraction', frame: 3 }, 1024);
    assert.deepEqual([r.width, r.height, r.factor, r.complex, r.bytesRead], [8, 8, 1, false, N * N * 4]);
    const v = new Float32Array(r.data as ArrayBuffer);
    assert.equal(v.length, 64);
    assert.equal(v[0], 3000);
    assert.equal(v[63], 3063);
    assert.equal((r.data as ArrayBuffer).byteLength, 256, 'a fresh buffer of exactly the frame');
  });

  it('images larger than maxSide are block-mean decimated on the host; complex stays interleaved', async () => {
    const r = await readSlice(src, info('objectGuess'), { member: 'objectGuess' }, 16);
    assert.deepEqual([r.sourceWidth, r.sourceHeight, r.factor, r.width, r.height, r.complex], [40, 30, 3, 14, 10, true]);
    const v = new Float32Array(r.data as ArrayBuffer);
    assert.equal(v.length, 14 * 10 * 2);
    // First block: mean over rows 0-2, cols 0-2 of cos(i/100).
    let re = 0;
    for (let y = 0; y < 3; y++) for (let x = 0; x < 3; x++) re += Math.cos((y * 40 + x) / 100);
    assert.ok(Math.abs(v[0] - re / 9) < 1e-5);
  });

  it('channels of a 4-D stack are picked out', async () => {
    const r = await readSlice(src, info('grouped'), { member: 'grouped', frame: 1, channel: 2 }, 1024);
    const v = new Float32Array(r.data as ArrayBuffer);
    assert.equal(v.length, 64);
    assert.ok(v.every((x) => x === 2));
  });

  it('bad requests say what is wrong', async () => {
    await assert.rejects(readSlice(src, info('diffraction'), { member: 'diffraction', frame: 5 }, 1024), /frame 5 is out of range: "diffraction" has frames 0–4/);
    await assert.rejects(readSlice(src, info('diffraction'), { member: 'diffraction' }, 1024), /stack of 5 frames: say which frame/);
    await assert.rejects(readSlice(src, info('objectGuess'), { member: 'objectGuess', frame: 0 }, 1024), /2-D image: it has no frames/);
    await assert.rejects(readSlice(src, info('xcoords'), { member: 'xcoords' }, 1024), /not an image or a stack/);
    await assert.rejects(readSlice(src, info('grouped'), { member: 'grouped', frame: 0, channel: 4 }, 1024), /channel 4 is out of range/);
  });

  it('series are float64 and subsampled by stride; tables carry numbers, or text for strings and int64', async () => {
    const s = await readSeries(src, info('ycoords'), { member: 'ycoords', maxPoints: 2 });
    assert.deepEqual([s.length, s.stride, [...new Float64Array(s.data as ArrayBuffer)]], [5, 3, [5, 8]]);
    const t = await readTable(src, info('group_indices'), { member: 'group_indices', start: 1, count: 10 });
    assert.deepEqual([t.start, t.rows, t.columns, [...new Float64Array(t.numbers as ArrayBuffer)]], [1, 2, 4, [4, 5, 6, 7, 8, 9, 10, 11]]);
    const big = await readTable(src, info('scan_index'), { member: 'scan_index', start: 4, count: 1 });
    assert.deepEqual(big.strings, ['9007199254740993'], '64-bit integers stay exact');
    const names = await readTable(src, info('names'), { member: 'names', start: 0, count: 5 });
    assert.deepEqual(names.strings, ['alpha', 'beta']);
  });

  it('a .npy file is one member named after the file', async () => {
    const npy = path.join(dir, 'probe.npy');
    await writeNpy(npy, ndarray('<f8', [16, 16], new Float64Array(256).fill(2)));
    const one = await openPreviewSource(npy);
    try {
      assert.equal(one.format, 'npy');
      const m = describeMembers(one);
      assert.deepEqual(m.map((x) => [x.name, x.view]), [['probe', 'image']]);
      const r = await readSlice(one, m[0], { member: 'probe' }, 1024);
      assert.ok(new Float32Array(r.data as ArrayBuffer).every((x) => x === 2));
      await assert.rejects(one.readRows('other', 0, 1), /this \.npy file holds one array, "probe"/);
    } finally {
      await one.close();
    }
  });

  it('a multi-GB stored stack opens from its headers and a frame is read without touching the rest', async () => {
    // A sparse 3 GB member (the data are a hole: no disk space, reads as zeros): opening and reading frame
    // 20 000 cost milliseconds.
    const big = path.join(dir, 'big.npz');
    const frameBytes = 128 * 128 * 4;
    const n = Math.ceil(3e9 / frameBytes);
    const header = formatNpyHeader('<f4', [n, 128, 128], false);
    const size = header.length + n * frameBytes;
    const rec: EntryRecord = {
      nameBytes: Buffer.from('diffraction.npy'), method: 0, crc32: 0, compressedSize: size, uncompressedSize: size,
      localHeaderOffset: 0, dosTime: 0, dosDate: 33, localZip64: true,
    };
    const local = encodeLocalHeader(rec);
    const cdOffset = local.length + size;
    const cd = encodeCentralHeader(rec);
    const fh = fs.openSync(big, 'w');
    fs.writeSync(fh, Buffer.concat([local, header]), 0, local.length + header.length, 0);
    fs.ftruncateSync(fh, cdOffset);
    const tail = Buffer.concat([cd, encodeEndRecords(1, cdOffset, cd.length)]);
    fs.writeSync(fh, tail, 0, tail.length, cdOffset);
    fs.closeSync(fh);
    const t0 = performance.now();
    const s = await openPreviewSource(big);
    try {
      const openMs = performance.now() - t0;
      const m = describeMembers(s)[0];
      const t1 = performance.now();
      const r = await readSlice(s, m, { member: 'diffraction', frame: 20_000 }, 1024);
      const frameMs = performance.now() - t1;
      assert.equal(r.bytesRead, frameBytes);
      assert.ok(openMs < 500 && frameMs < 500, `open ${openMs.toFixed(1)} ms, frame ${frameMs.toFixed(1)} ms`);
    } finally {
      await s.close();
      fs.rmSync(big);
    }
  });

  it('classify: Fortran-ordered big arrays and 5-D arrays are not shown, with a reason', () => {
    const h = (shape: number[], fortranOrder = false, dataBytes = 1000) => ({
      dtype: { descr: '<f4', name: 'f4' as const, byteOrder: '<' as const, itemSize: 4 }, shape, fortranOrder, version: 1, headerBytes: 128, elementCount: 1, dataBytes,
    });
    assert.match(classify('x', h([10, 10, 10], true, 1 << 30)).note!, /Fortran-ordered/);
    assert.match(classify('x', h([2, 2, 2, 2, 2])).note!, /5-D arrays are not shown/);
  });
});
