// I/O benchmark of the .npy/.npz layer (npm run bench:io [-- --quick]). Prints numbers, no thresholds:
//  1. discovery: opening every archive (headers only) of a tree of large files vs the same tree of tiny
//     files — the ratio should stay near 1, since cost must not grow with file size;
//  2. whole-member read throughput of a stored float32 member from page cache, and of the same member
//     deflated (zlib level 1);
//  3. latency of reading 16 random frames from a multi-GB stored member (a sparse file);
//  4. listing a job's 20 runs (the Jobs tree and the run picker do it on every render).
// Everything lives in a temp folder that is removed at the end, on errors and on Ctrl-C.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatNpyHeader, ndarray, NpzWriter, openNpz, scalarString, withNpz, type NdArray } from '../src/core/npy';
import { encodeCentralHeader, encodeEndRecords, encodeLocalHeader, type EntryRecord } from '../src/core/npy/zip';
import { listRunsSync, representativeRun } from '../src/core/run/runHistory';

const quick = process.argv.includes('--quick');
const scale = quick ? 0.1 : 1;
const N = 64; // frame size
const FRAME_BYTES = N * N * 4;
const LARGE_FILES = 3;
const LARGE_FRAMES = Math.round((500e6 * scale) / FRAME_BYTES); // ≈ 500 MB (50 MB with --quick)
const TINY_FRAMES = 8;
const SPARSE_FRAMES = Math.round((2.5e9 * scale) / FRAME_BYTES); // ≈ 2.5 GB (250 MB with --quick)
const DISCOVERY_ROUNDS = 30;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-bench-io-'));
let cleaned = false;
function cleanup(): void {
  if (cleaned) return;
  cleaned = true;
  fs.rmSync(root, { recursive: true, force: true });
}
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6; // ms
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmtMs = (ms: number): string => (ms < 10 ? ms.toFixed(3) : ms.toFixed(1)) + ' ms';
const fmtMB = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
const gbps = (bytes: number, ms: number): string => `${(bytes / 1e9 / (ms / 1000)).toFixed(2)} GB/s`;

/** 64 MB of Poisson-like photon counts as float32 (compresses roughly like real diffraction data). */
function countsBlock(): Float32Array {
  const block = new Float32Array(16 << 20);
  let s = 0x9e3779b9;
  for (let i = 0; i < block.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const u = (s >>> 0) / 2 ** 32;
    block[i] = Math.floor(-Math.log(1 - u) * 3); // geometric-ish small counts
  }
  return block;
}

/** `frames` frames of data, as chunks cycling through `block`. */
function* frameChunks(block: Float32Array, frames: number): Generator<Uint8Array> {
  const bytes = new Uint8Array(block.buffer);
  let left = frames * FRAME_BYTES;
  while (left > 0) {
    const n = Math.min(left, bytes.length);
    yield bytes.subarray(0, n);
    left -= n;
  }
}

/** A study-like archive: diffraction frames, probe, object, coordinates, metadata. */
async function writeStudyFile(file: string, frames: number, block: Float32Array, compress = false): Promise<void> {
  const w = await NpzWriter.create(file, { compress, level: 1 });
  try {
    await w.addRawData('diffraction', '<f4', [frames, N, N], frameChunks(block, frames));
    const small: Record<string, NdArray> = {
      probeGuess: ndarray('<c8', [N, N], block.subarray(0, 2 * N * N).slice()),
      objectGuess: ndarray('<c8', [256, 256], block.subarray(0, 2 * 256 * 256).slice()),
      xcoords: ndarray('<f8', [frames], Float64Array.from({ length: frames }, (_, i) => i * 0.5)),
      ycoords: ndarray('<f8', [frames], Float64Array.from({ length: frames }, (_, i) => i * 0.25)),
      _metadata: scalarString(JSON.stringify({ study: 'bench', frames, N })),
    };
    for (const [name, arr] of Object.entries(small)) await w.add(name, arr);
    await w.finish();
  } catch (err) {
    await w.abort();
    throw err;
  }
}

/** Opens every archive of a folder (headers only) and touches each member's header. */
async function discover(folder: string): Promise<number> {
  let members = 0;
  for (const f of fs.readdirSync(folder).sort()) {
    const a = await openNpz(path.join(folder, f));
    for (const m of a.members.values()) members += m.header.elementCount > 0 ? 1 : 0;
    await a.close();
  }
  return members;
}

/** A stored `<f4 [frames, N, N]` member whose data is a sparse hole (no disk space, reads as zeros). */
async function writeSparseArchive(file: string, frames: number): Promise<void> {
  const header = formatNpyHeader('<f4', [frames, N, N], false);
  const size = header.length + frames * FRAME_BYTES;
  const rec: EntryRecord = {
    nameBytes: Buffer.from('diffraction.npy'), method: 0, crc32: 0, compressedSize: size, uncompressedSize: size,
    localHeaderOffset: 0, dosTime: 0, dosDate: 33, localZip64: size >= 0xffffffff,
  };
  const local = encodeLocalHeader(rec);
  const cdOffset = local.length + size;
  const cd = encodeCentralHeader(rec);
  const fh = await fs.promises.open(file, 'w');
  try {
    await fh.write(Buffer.concat([local, header]), 0, local.length + header.length, 0);
    await fh.truncate(cdOffset); // the hole: the array data
    const tail = Buffer.concat([cd, encodeEndRecords(1, cdOffset, cd.length)]);
    await fh.write(tail, 0, tail.length, cdOffset);
  } finally {
    await fh.close();
  }
}

async function main(): Promise<void> {
  const t0 = now();
  console.log(`bench-io${quick ? ' (--quick: 10× smaller)' : ''} — node ${process.version}, ${os.cpus().length} CPUs, temp ${root}`);
  const block = countsBlock();

  // 1. Discovery: large tree vs tiny tree.
  const largeDir = path.join(root, 'large');
  const tinyDir = path.join(root, 'tiny');
  fs.mkdirSync(largeDir);
  fs.mkdirSync(tinyDir);
  let t = now();
  for (let i = 0; i < LARGE_FILES; i++) {
    await writeStudyFile(path.join(largeDir, `scan_${i}.npz`), LARGE_FRAMES, block);
    await writeStudyFile(path.join(tinyDir, `scan_${i}.npz`), TINY_FRAMES, block);
  }
  const largeBytes = fs.readdirSync(largeDir).reduce((a, f) => a + fs.statSync(path.join(largeDir, f)).size, 0);
  const tinyBytes = fs.readdirSync(tinyDir).reduce((a, f) => a + fs.statSync(path.join(tinyDir, f)).size, 0);
  console.log(`\n[setup] wrote ${LARGE_FILES} large (${fmtMB(largeBytes)} total) and ${LARGE_FILES} tiny (${fmtMB(tinyBytes)} total) archives in ${fmtMs(now() - t)}`);

  await discover(largeDir); // warm: file metadata and headers in page cache
  await discover(tinyDir);
  const largeTimes: number[] = [];
  const tinyTimes: number[] = [];
  for (let r = 0; r < DISCOVERY_ROUNDS; r++) {
    t = now();
    await discover(largeDir);
    largeTimes.push(now() - t);
    t = now();
    await discover(tinyDir);
    tinyTimes.push(now() - t);
  }
  const ml = median(largeTimes);
  const mt = median(tinyTimes);
  console.log('\n1. discovery (open every archive, headers only; median of', DISCOVERY_ROUNDS, 'rounds)');
  console.log(`   large tree: ${fmtMs(ml)} (${fmtMs(ml / LARGE_FILES)} per ${fmtMB(largeBytes / LARGE_FILES)} file)`);
  console.log(`   tiny tree:  ${fmtMs(mt)} (${fmtMs(mt / LARGE_FILES)} per ${fmtMB(tinyBytes / LARGE_FILES)} file)`);
  console.log(`   ratio large/tiny: ${(ml / mt).toFixed(2)} (file size ratio ${(largeBytes / tinyBytes).toFixed(0)}×)`);

  // 2. Whole-member throughput, stored and deflated.
  const storedFile = path.join(largeDir, 'scan_0.npz');
  const memberBytes = LARGE_FRAMES * FRAME_BYTES;
  console.log(`\n2. read throughput of a ${fmtMB(memberBytes)} float32 member (readArray)`);
  await withNpz(storedFile, async (a) => {
    await a.readArray('diffraction'); // warm the page cache
    const times: number[] = [];
    for (let r = 0; r < 3; r++) {
      t = now();
      await a.readArray('diffraction');
      times.push(now() - t);
    }
    console.log(`   stored, readArray (fresh result buffer): ${gbps(memberBytes, median(times))} (median ${fmtMs(median(times))}, best ${gbps(memberBytes, Math.min(...times))})`);
    // Fresh buffers cost a page fault per 4 KiB on first touch; a reused buffer shows the read path itself.
    const out = new Float32Array(LARGE_FRAMES * N * N);
    await a.readRowsInto('diffraction', 0, LARGE_FRAMES, out);
    const into: number[] = [];
    for (let r = 0; r < 3; r++) {
      t = now();
      await a.readRowsInto('diffraction', 0, LARGE_FRAMES, out);
      into.push(now() - t);
    }
    console.log(`   stored, readRowsInto (reused buffer):    ${gbps(memberBytes, median(into))} (median ${fmtMs(median(into))})`);
    t = now();
    new Float32Array(LARGE_FRAMES * N * N).fill(1);
    console.log(`   (for scale: allocating + touching ${fmtMB(memberBytes)} of fresh memory alone: ${gbps(memberBytes, now() - t)})`);
  });
  const deflatedFile = path.join(root, 'deflated.npz');
  t = now();
  await writeStudyFile(deflatedFile, LARGE_FRAMES, block, true);
  const writeMs = now() - t;
  await withNpz(deflatedFile, async (a) => {
    const m = a.member('diffraction');
    console.log(`   (deflate level 1 wrote ${fmtMB(m.compressedSize)} for ${fmtMB(m.uncompressedSize)}, ratio ${(m.uncompressedSize / m.compressedSize).toFixed(2)}, in ${fmtMs(writeMs)})`);
    await a.readArray('diffraction'); // warm
    t = now();
    await a.readArray('diffraction');
    const ms = now() - t;
    console.log(`   deflated: ${gbps(memberBytes, ms)} of uncompressed output (${fmtMs(ms)}, CRC-checked)`);
    t = now();
    await a.readRows('diffraction', LARGE_FRAMES - 1, LARGE_FRAMES);
    console.log(`   deflated, last frame only (inflates everything before it): ${fmtMs(now() - t)}`);
    t = now();
    await a.readRows('diffraction', 0, 1);
    console.log(`   deflated, first frame only: ${fmtMs(now() - t)}`);
  });

  // 3. Random frames from a multi-GB stored member (sparse file: reads come from the hole, i.e. no disk).
  const sparseFile = path.join(root, 'sparse.npz');
  await writeSparseArchive(sparseFile, SPARSE_FRAMES);
  const st = fs.statSync(sparseFile);
  console.log(`\n3. 16 random frames (${N}×${N} float32) from a ${fmtMB(st.size)} stored member (sparse file, ${fmtMB(st.blocks * 512)} on disk)`);
  await withNpz(sparseFile, async (a) => {
    let s = 12345;
    const pick = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) % SPARSE_FRAMES;
    await a.readRows('diffraction', 0, 1); // warm the code path
    const seq: number[] = [];
    for (let round = 0; round < 5; round++) {
      t = now();
      for (let i = 0; i < 16; i++) {
        const f = pick();
        await a.readRows('diffraction', f, f + 1);
      }
      seq.push(now() - t);
    }
    const par: number[] = [];
    for (let round = 0; round < 5; round++) {
      const frames = Array.from({ length: 16 }, pick);
      t = now();
      await Promise.all(frames.map((f) => a.readRows('diffraction', f, f + 1)));
      par.push(now() - t);
    }
    console.log(`   sequential: ${fmtMs(median(seq))} for 16 frames (${fmtMs(median(seq) / 16)} per frame, median of 5)`);
    console.log(`   concurrent: ${fmtMs(median(par))} for 16 frames (Promise.all, median of 5)`);
    const batch = new Float32Array(N * N);
    const into: number[] = [];
    for (let round = 0; round < 5; round++) {
      t = now();
      for (let i = 0; i < 16; i++) {
        const f = pick();
        await a.readRowsInto('diffraction', f, f + 1, batch);
      }
      into.push(now() - t);
    }
    console.log(`   sequential into one reused buffer: ${fmtMs(median(into))} for 16 frames`);
  });
  // 4. Run history: a job with 20 runs (what the Jobs tree and the job panel's run picker read on every render).
  const job = path.join(root, 'job');
  const manifestOf = (i: number, status: string): string => JSON.stringify({
    schemaVersion: 1, kind: 'ptycho-study-job', status, runId: `r${i}`, startedAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
    config: { training: { epochs: 50 + i, learningRate: 2.5e-4, batchSize: 16, nFiltersScale: 2 } },
    result: { epochs: 50, metrics: { amplitude: { pearsonCovered: 0.9, pearson: 0.5 }, phase: { pearsonCovered: 0.6, pearson: 0.5 } } },
    padding: 'x'.repeat(6000), // a real manifest is a few kB
  });
  fs.mkdirSync(path.join(job, 'runs'), { recursive: true });
  fs.writeFileSync(path.join(job, 'manifest.json'), manifestOf(20, 'failed'));
  for (let i = 0; i < 19; i++) {
    fs.mkdirSync(path.join(job, 'runs', `r${i}`));
    fs.writeFileSync(path.join(job, 'runs', `r${i}`, 'manifest.json'), manifestOf(i, i % 3 ? 'succeeded' : 'cancelled'));
  }
  listRunsSync(job); // warm
  const listTimes: number[] = [];
  for (let r = 0; r < 50; r++) {
    t = now();
    const runs = listRunsSync(job);
    representativeRun(job, runs);
    listTimes.push(now() - t);
  }
  console.log(`\n4. a job with 20 runs: listing them (listRunsSync, every manifest read) and choosing the one that stands for it: ${fmtMs(median(listTimes))} (median of 50, max ${fmtMs(Math.max(...listTimes))}; target < 100 ms)`);
  console.log(`\ntotal ${((now() - t0) / 1000).toFixed(1)} s`);
}

main()
  .catch((err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(cleanup);
