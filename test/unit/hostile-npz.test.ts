// Hostile and broken .npz files (issue 13): non-regular files, size bombs in _metadata and .npy headers,
// costs that multiply in deep validation, terminal escapes in names and metadata, and data that would
// break training. The archives are written byte by byte here, so nothing but Node is needed.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  formatNpyHeader, npyReadStats, openNpy, openNpz, scalarString, writeNpz, NotRegularFileError, NpyFormatError,
} from '../../src/core/npy';
import { readRowSet, type NpyStream } from '../../src/core/npy/arrays';
import { parseNpyHeader } from '../../src/core/npy/header';
import type { ChunkSink, NpyByteSource } from '../../src/core/npy/source';
import { inspectDataset, discoverStudy, listJobs, type Finding } from '../../src/core/study';
import { planRun } from '../../src/core/run/plan';
import { escapeControl, escapeJsonControl } from '../../src/core/text/escape';
import { runCli } from '../../src/cli/commands';
import { openPreviewSource, buildInit } from '../../src/extension/npzPreview/previewService';
import { f4, f8, npy, zipBytes, type ZipEntry } from './helpers/hostileCorpus';
import { makeStudy, writeDataset } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';

// Archives are written byte by byte with the corpus's zip writer (any entry name, any bytes, stored or deflated).
type Entry = ZipEntry;
const zip = (entries: Entry[]): Buffer => zipBytes(entries);

/** The five arrays of a valid small dataset (N = 64, 8 patterns), as .npy streams; `over` replaces any. */
function datasetEntries(over: Record<string, Buffer> = {}, deflate = false): Entry[] {
  const n = 64;
  const count = 8;
  const m = 256;
  const diff = new Float32Array(count * n * n).map((_, i) => ((i * 7919) % 97) / 120);
  const obj = new Float32Array(2 * m * m).map((_, i) => (i % 2 ? 0.1 : 0.8));
  const probe = new Float32Array(2 * n * n).map((_, i) => (i % 2 ? 0 : 1));
  const xs = Array.from({ length: count }, (_, i) => 40 + i * 20);
  const base: Record<string, Buffer> = {
    diffraction: npy('<f4', [count, n, n], f4(diff)),
    objectGuess: npy('<c8', [m, m], f4(obj)),
    probeGuess: npy('<c8', [n, n], f4(probe)),
    xcoords: npy('<f8', [count], f8(xs)),
    ycoords: npy('<f8', [count], f8(xs)),
  };
  return Object.entries({ ...base, ...over }).map(([k, data]) => ({ name: `${k}.npy`, data, deflate }));
}

/** A 0-d or n-d `<U<k>` stream of `count` copies of `k` 'a's, without building JS strings. */
function unicodeNpy(chars: number, shape: number[]): Buffer {
  const count = shape.reduce((a, b) => a * b, 1);
  const data = Buffer.alloc(4 * chars * count);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE(0x61, i);
  return npy(`<U${chars}`, shape, data);
}

function capture(): { io: Parameters<typeof runCli>[1]; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l) => out.push(l), err: (l) => err.push(l), distDir: '/nonexistent', cwd: process.cwd() }, out, err };
}

const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;
const errorsOf = (fs: Finding[]): Finding[] => fs.filter((f) => f.severity === 'error');

describe('hostile .npz files', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('ptycho-hostile-')));
  afterEach(() => cleanup());

  const write = (name: string, bytes: Buffer): string => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, bytes);
    return p;
  };

  describe('1. non-regular files are refused without blocking', () => {
    /** Rejects when `p` has not settled within `ms` (a reader blocked on a FIFO never settles). */
    async function settlesWithin<T>(p: Promise<T>, ms: number, unblock: () => void): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          unblock();
          reject(new Error(`still blocked after ${ms} ms`));
        }, ms);
      });
      try {
        return await Promise.race([p, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }

    it('a FIFO: openNpz, openNpy and validation say "X is a FIFO, not a regular file" at once', async function () {
      if (process.platform === 'win32') this.skip();
      const fifo = path.join(dir, 'pipe.npz');
      execFileSync('mkfifo', [fifo]);
      // Should a reader block, open the other end so the test process is not left with a stuck thread.
      const unblock = (): void => {
        try {
          fs.closeSync(fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
        } catch { /* no reader waiting */ }
      };
      for (const open of [openNpz, openNpy]) {
        const err = await settlesWithin(open(fifo).then(() => undefined, (e: unknown) => e), 3000, unblock);
        assert.ok(err instanceof NotRegularFileError && err instanceof NpyFormatError, String(err));
        assert.equal(err.message, `${fifo} is a FIFO, not a regular file`);
      }
      const info = await settlesWithin(inspectDataset(fifo, { deep: true }), 3000, unblock);
      assert.equal(info.findings.length, 1);
      assert.equal(info.findings[0].rule, 'DATA-001');
      assert.match(info.findings[0].message, /is a FIFO, not a regular file/);
    });

    it('a character device (/dev/zero) and a directory are named as such', async function () {
      if (!fs.existsSync('/dev/zero')) this.skip();
      await assert.rejects(openNpz('/dev/zero'), (e: Error) => e.message === '/dev/zero is a character device, not a regular file');
      await assert.rejects(openNpz(dir), (e: Error) => e.message === `${dir} is a directory, not a regular file`);
    });
  });

  describe('2. size bombs are refused from the header, before reading', () => {
    it('a _metadata of 4 M <U1 elements is not read; the rest of the file is still checked', async () => {
      const file = write('meta-elements.npz', zip([
        ...datasetEntries(),
        { name: '_metadata.npy', data: unicodeNpy(1, [4_000_000]), deflate: true },
      ]));
      const before = npyReadStats.inflatedBytes;
      const info = await inspectDataset(file, { deep: true });
      assert.ok(npyReadStats.inflatedBytes - before < 1 << 20, `inflated ${npyReadStats.inflatedBytes - before} bytes`);
      const meta = info.findings.find((f) => f.rule === 'METADATA')!;
      assert.equal(meta.severity, 'warning');
      assert.equal(meta.key, '_metadata');
      assert.match(meta.message, /<U1 of shape \(4000000,\) \(4000000 elements\)/);
      assert.deepEqual(errorsOf(info.findings), []);
      assert.equal(info.patternCount, 8);
    });

    it('a 0-d <U2000000 _metadata (7.6 MiB) is refused with its size, in validation, inspect and the preview', async () => {
      const file = write('meta-wide.npz', zip([
        ...datasetEntries(),
        { name: '_metadata.npy', data: unicodeNpy(2_000_000, []), deflate: true },
      ]));
      const before = npyReadStats.inflatedBytes;
      const info = await inspectDataset(file);
      assert.ok(npyReadStats.inflatedBytes - before < 1 << 20);
      assert.match(info.findings.find((f) => f.rule === 'METADATA')!.message, /<U2000000 of shape \(\) holds 7\.6 MiB, over the 1\.0 MiB limit for metadata/);

      const { io, out } = capture();
      assert.equal(await runCli(['inspect', file], io), 0);
      const text = out.join('\n');
      assert.match(text, /diffraction\s+<f4/);
      assert.match(text, /_metadata: not shown \(<U2000000 of shape \(\) holds 7\.6 MiB/);
      assert.ok(text.length < 10_000, `inspect printed ${text.length} characters`);

      const src = await openPreviewSource(file);
      try {
        const init = await buildInit(src, { displayPath: file, maxSide: 256, openMs: 0 });
        assert.match(init.metadata?.error ?? '', /over the 1\.0 MiB limit/);
      } finally {
        await src.close();
      }
    });

    it('metadata up to the limit is still read', async () => {
      const text = JSON.stringify({ note: 'x'.repeat(200_000) });
      await writeNpz(path.join(dir, 'ok.npz'), { _metadata: scalarString(text) }, { compress: true });
      const a = await openNpz(path.join(dir, 'ok.npz'));
      try {
        assert.equal((await a.readMetadata())!.raw, text);
      } finally {
        await a.close();
      }
    });

    it('a member with a 200 KB .npy header is refused, naming the member', async () => {
      const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
      const len = 200_000;
      const head = Buffer.alloc(12 + len, 0x20);
      Buffer.from('\x93NUMPY', 'latin1').copy(head, 0);
      head[6] = 2;
      head[7] = 0;
      head.writeUInt32LE(len, 8);
      head.write(dict, 12, 'latin1');
      head[head.length - 1] = 0x0a;
      const file = write('head.npz', zip([{ name: 'big.npy', data: Buffer.concat([head, f4([1, 2])]) }]));
      await assert.rejects(openNpz(file), (e: unknown) => e instanceof NpyFormatError && e.member === 'big'
        && /\.npy header of 200000 bytes is larger than the 131072-byte limit/.test(e.problem));
    });

    it('a shape of more than 64 dimensions is refused', () => {
      const h = formatNpyHeader('<f4', new Array(65).fill(1), false);
      assert.throws(() => parseNpyHeader(h, 'x.npy'), /65 dimensions, more than 64/);
    });
  });

  describe('3. deep validation reads each member once', () => {
    it('a deflated diffraction member (> 4 MiB) is inflated once, not once per sampled frame', async () => {
      const file = path.join(dir, 'deflated.npz');
      await writeDataset(file, { count: 320, compress: true });
      const a = await openNpz(file);
      const total = [...a.members.values()].reduce((s, m) => s + m.uncompressedSize, 0);
      const diffBytes = a.member('diffraction').uncompressedSize;
      await a.close();
      assert.ok(diffBytes > 4 << 20, 'large enough to stream');
      const before = npyReadStats.inflatedBytes;
      const info = await inspectDataset(file, { deep: true });
      const inflated = npyReadStats.inflatedBytes - before;
      assert.deepEqual(errorsOf(info.findings), []);
      // Before: 8 passes from byte 0, about 4.5 × the member.
      assert.ok(inflated <= total, `inflated ${inflated} bytes for ${total} bytes of members`);
    });

    it('a Fortran-ordered diffraction member is read once, and its frames come out right', async () => {
      const n = 64;
      const count = 64;
      // Value of (k, y, x) = k·10⁴ + y·100 + x, stored column-major (k fastest).
      const fdata = new Float32Array(count * n * n);
      for (let x = 0, i = 0; x < n; x++) for (let y = 0; y < n; y++) for (let k = 0; k < count; k++) fdata[i++] = (k * 1e4 + y * 100 + x) / 1e6;
      const xs = Array.from({ length: count }, (_, i) => 40 + (i % 8) * 20);
      const file = write('fortran.npz', zip(datasetEntries({
        diffraction: npy('<f4', [count, n, n], f4(fdata), true),
        xcoords: npy('<f8', [count], f8(xs)),
        ycoords: npy('<f8', [count], f8(xs)),
      })));
      const before = npyReadStats.storedBytes;
      const info = await inspectDataset(file, { deep: true });
      const read = npyReadStats.storedBytes - before;
      assert.deepEqual(errorsOf(info.findings), []);
      const diffBytes = count * n * n * 4;
      // diffraction once, plus probe and coordinates (before: the whole member for each of 8 frames).
      assert.ok(read <= diffBytes + 2 * n * n * 8 + 4 * count * 8, `read ${read} bytes; the member is ${diffBytes}`);

      const a = await openNpz(file);
      try {
        const rows = await a.readRows('diffraction', 5, 7);
        assert.deepEqual(rows.shape, [2, n, n]);
        const d = rows.data as Float32Array;
        for (const [r, y, x] of [[0, 0, 0], [0, 3, 9], [1, 63, 1], [1, 10, 62]]) {
          assert.equal(d[(r * n + y) * n + x], Math.fround(((5 + r) * 1e4 + y * 100 + x) / 1e6));
        }
      } finally {
        await a.close();
      }
    });

    it('readRowSet picks rows out of any chunking, C and Fortran order, for multi-byte elements', async () => {
      // A 3 × 4 × 5 complex64 array (8-byte elements) streamed in 7-byte pieces: elements straddle every boundary.
      const shape = [6, 4, 5];
      const value = (k: number, y: number, x: number): number => k * 100 + y * 10 + x;
      for (const fortran of [false, true]) {
        const data = new Float32Array(2 * 120);
        let i = 0;
        const order: number[][] = [];
        if (fortran) { for (let x = 0; x < 5; x++) for (let y = 0; y < 4; y++) for (let k = 0; k < 6; k++) order.push([k, y, x]); }
        else { for (let k = 0; k < 6; k++) for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) order.push([k, y, x]); }
        for (const [k, y, x] of order) { data[i++] = value(k, y, x); data[i++] = -value(k, y, x); }
        const bytes = npy('<c8', shape, Buffer.from(data.buffer), fortran);
        let passes = 0;
        const source: NpyByteSource = {
          randomAccess: false,
          fill: async () => assert.fail('fill is not used for a row set'),
          stream: async (from: number, to: number, sink: ChunkSink) => {
            passes++;
            for (let p = from; p < to; p += 7) sink(new Uint8Array(bytes.subarray(p, Math.min(to, p + 7))), p);
          },
        };
        const header = parseNpyHeader(bytes, 'mem.npy');
        const s: NpyStream = { file: 'mem.npy', header, source, streamLength: bytes.length };
        const got = await readRowSet(s, [1, 4, 5]);
        assert.equal(passes, 1);
        assert.deepEqual(got.shape, [3, 4, 5]);
        const d = got.data as Float32Array;
        [1, 4, 5].forEach((k, r) => {
          for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) {
            const at = 2 * ((r * 4 + y) * 5 + x);
            assert.deepEqual([d[at], d[at + 1]], [value(k, y, x), -value(k, y, x)], `fortran=${fortran} (${k}, ${y}, ${x})`);
          }
        });
        await assert.rejects(readRowSet(s, [3, 2]), /out of order/);
      }
    });
  });

  describe('4. control characters from files never reach the terminal raw', () => {
    it('escapeControl writes C0, DEL, C1 and bidi controls as escapes and keeps text, tabs and newlines', () => {
      assert.equal(escapeControl('a\x1b]0;pwned\x07b'), 'a\\x1b]0;pwned\\x07b');
      assert.equal(escapeControl('line\r\nnext\ttab \x7f \u009b \u202e é ✓'), 'line\\x0d\nnext\ttab \\x7f \\x9b \\u{202e} é ✓');
      const doc = JSON.stringify({ k: 'x\u009by\u202e\x1b' });
      assert.equal(JSON.parse(escapeJsonControl(doc)).k, 'x\u009by\u202e\x1b');
      assert.ok(!RAW_CONTROL.test(escapeJsonControl(doc)));
    });

    it('inspect and validate print an escaped member name "\\x1b]0;pwned\\x07" and escaped metadata', async () => {
      const evil = 'evil\x1b]0;pwned\x07';
      const meta = JSON.stringify({ note: 'title\x1b]2;x\x07 csi\u009b2J' });
      const metaNpy = npy(`<U${meta.length}`, [], Buffer.from(Uint32Array.from([...meta].map((c) => c.codePointAt(0)!)).buffer));
      const file = write('evil.npz', zip([
        { name: `${evil}.npy`, data: npy('<f4', [2], f4([1, 2])) },
        { name: '_metadata.npy', data: metaNpy },
      ]));
      for (const args of [['inspect', file], ['validate', file], ['inspect', file, '--json']]) {
        const { io, out, err } = capture();
        await runCli(args, io);
        const text = [...out, ...err].join('\n');
        assert.ok(!RAW_CONTROL.test(text), `${args.join(' ')} printed a raw control character: ${JSON.stringify(text)}`);
        if (args[0] === 'inspect' && args.length === 2) {
          assert.ok(text.includes('evil\\x1b]0;pwned\\x07'), text);
          assert.ok(text.includes('\\x9b2J'), text);
        }
        if (args.includes('--json')) {
          const parsed = JSON.parse(out.join('\n'));
          assert.equal(parsed.members[0].name, evil, 'JSON output escapes but keeps the value');
          assert.equal(parsed.metadata.note, 'title\x1b]2;x\x07 csi\u009b2J');
        }
      }
    });
  });

  describe('5. validation catches what breaks training', () => {
    const probeOf = (fill: (i: number) => number): Buffer => npy('<c8', [64, 64], f4(new Float32Array(2 * 64 * 64).map((_, i) => fill(i))));

    it('a NaN probeGuess and an all-zero probeGuess are errors', async () => {
      const nan = await inspectDataset(write('nanprobe.npz', zip(datasetEntries({ probeGuess: probeOf((i) => (i === 7 ? NaN : 1)) }))), { deep: true });
      assert.ok(errorsOf(nan.findings).some((f) => f.rule === 'DATA-FINITE' && f.key === 'probeGuess'), JSON.stringify(nan.findings));
      const zero = await inspectDataset(write('zeroprobe.npz', zip(datasetEntries({ probeGuess: probeOf(() => 0) }))), { deep: true });
      assert.ok(errorsOf(zero.findings).some((f) => f.rule === 'DATA-001' && f.key === 'probeGuess' && /all zero/.test(f.message)));
    });

    it('all-zero and non-finite diffraction are errors', async () => {
      const zeros = npy('<f4', [8, 64, 64], f4(new Float32Array(8 * 64 * 64)));
      const z = await inspectDataset(write('zerodiff.npz', zip(datasetEntries({ diffraction: zeros }))), { deep: true });
      assert.ok(errorsOf(z.findings).some((f) => f.key === 'diffraction' && /all zero/.test(f.message)), JSON.stringify(z.findings));
      const inf = npy('<f4', [8, 64, 64], f4(new Float32Array(8 * 64 * 64).map((_, i) => (i === 100 ? Infinity : 0.5))));
      const f = await inspectDataset(write('infdiff.npz', zip(datasetEntries({ diffraction: inf }))), { deep: true });
      assert.ok(errorsOf(f.findings).some((x) => x.rule === 'DATA-FINITE' && x.key === 'diffraction'));
    });

    it('intensity (amplitude squared) is an error unless allowIntensityData accepts it deliberately', async () => {
      const intensity = npy('<f4', [8, 64, 64], f4(new Float32Array(8 * 64 * 64).map((_, i) => (((i * 7919) % 97) / 9.7) ** 2 + 0.01)));
      const file = write('intensity.npz', zip(datasetEntries({ diffraction: intensity })));
      const strict = await inspectDataset(file, { deep: true });
      const e = errorsOf(strict.findings);
      assert.equal(e.length, 1, JSON.stringify(strict.findings));
      assert.equal(e[0].rule, 'NORMALIZATION-001');
      assert.equal(e[0].override, 'allowIntensityData');
      assert.match(e[0].message, /looks like intensity \(amplitude squared\)/);
      const allowed = await inspectDataset(file, { deep: true, allowIntensityData: true });
      assert.deepEqual(errorsOf(allowed.findings), []);
      assert.ok(allowed.findings.some((f) => f.rule === 'NORMALIZATION-001' && f.severity === 'warning' && /Accepted: allowIntensityData/.test(f.message)));

      const { io, out } = capture();
      assert.equal(await runCli(['validate', file], io), 1);
      const ok = capture();
      assert.equal(await runCli(['validate', file, '--allow-intensity-data'], ok.io), 0, ok.out.join('\n'));
      assert.match(out.join('\n'), /INVALID/);
    });

    it('a job with counts-like data is runnable only with allowIntensityData, which the plan records', async () => {
      await makeStudy(dir, { doses: [1000], views: [] });
      await writeDataset(path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz'), { values: 'counts' });
      const job = (await listJobs(await discoverStudy({ workspace: dir }), { deep: true })).find((j) => j.id === 'dose_1000/baseline/gs1')!;
      const strict = planRun(job, { workerScript: '/opt/worker.js' });
      assert.equal(strict.runnable, false);
      assert.match(strict.blockers.join(' '), /NORMALIZATION-001/);
      const allowed = planRun(job, { workerScript: '/opt/worker.js', settings: { allowIntensityData: true } });
      assert.equal(allowed.runnable, true, allowed.blockers.join(' '));
      assert.equal(allowed.config.training.allowIntensityData, true);
      assert.ok(allowed.findings.some((f) => f.rule === 'NORMALIZATION-001' && f.severity === 'warning'));
    });

    it('list, dry-run and the VS Code tree honour allowIntensityData: the job is ready, the finding a warning that says why', async () => {
      await makeStudy(dir, { doses: [1000], views: [] });
      await writeDataset(path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz'), { values: 'counts' });
      const layout = await discoverStudy({ workspace: dir });
      const strict = (await listJobs(layout, { deep: true }))[0];
      assert.equal(strict.state, 'invalid');
      const allowed = (await listJobs(layout, { deep: true, allowIntensityData: true }))[0];
      assert.equal(allowed.state, 'ready', allowed.reason);
      assert.deepEqual(errorsOf(allowed.findings), []);
      const warning = allowed.findings.find((f) => f.rule === 'NORMALIZATION-001')!;
      assert.equal(warning.severity, 'warning');
      assert.match(warning.message, /looks like photon counts or intensity.*\(Accepted: allowIntensityData is set\.\)/);

      // CLI: list --deep [--allow-intensity-data] --json, and the dry run's recorded job state.
      type Listed = { jobs: { id: string; state: string; findings: Finding[] }[] };
      const listed = async (...flags: string[]): Promise<Listed['jobs'][number]> => {
        const { io, out } = capture();
        assert.equal(await runCli(['list', '--workspace', dir, '--deep', '--json', ...flags], io), 0);
        return (JSON.parse(out.join('\n')) as Listed).jobs.find((j) => j.id === 'dose_1000/baseline/gs1')!;
      };
      assert.equal((await listed()).state, 'invalid');
      const cliAllowed = await listed('--allow-intensity-data');
      assert.equal(cliAllowed.state, 'ready');
      assert.ok(cliAllowed.findings.some((f) => f.rule === 'NORMALIZATION-001' && f.severity === 'warning' && /looks like photon counts or intensity/.test(f.message)));
      const dry = capture();
      assert.equal(await runCli(['dry-run', '--workspace', dir, '--view', 'baseline', '--allow-intensity-data', '--json'], dry.io), 0, dry.out.join('\n'));
      const planned = (JSON.parse(dry.out.join('\n')) as { jobs: { plan: { job: { state: string }; config: { training: { allowIntensityData: boolean } } } }[] }).jobs[0].plan;
      assert.equal(planned.job.state, 'ready');
      assert.equal(planned.config.training.allowIntensityData, true);

      // VS Code: a boolean setting, off by default and ignored in untrusted workspaces, which the settings reader
      // passes to training and dry runs, and the study model to the tree's listing.
      const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
      const setting = pkg.contributes.configuration.properties['ptychoStudy.training.allowIntensityData'];
      assert.equal(setting.type, 'boolean');
      assert.equal(setting.default, false);
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('ptychoStudy.training.allowIntensityData'));
      // The key → field mapping is shared with the CLI (core/study/settingsKeys.ts), which never reads this one from workspace files.
      const settingsTs = fs.readFileSync(path.join(repoRoot, 'src', 'extension', 'settings.ts'), 'utf8');
      assert.match(settingsTs, /return trainingSettingsFromSettings\(settingsOf\(folder\)/);
      const keysTs = fs.readFileSync(path.join(repoRoot, 'src', 'core', 'study', 'settingsKeys.ts'), 'utf8');
      assert.match(keysTs, /allowIntensityData: 'training\.allowIntensityData'/);
      assert.match(keysTs, /allowIntensityData: t\('allowIntensityData'\) === true/);
      const modelTs = fs.readFileSync(path.join(repoRoot, 'src', 'extension', 'studyModel.ts'), 'utf8');
      assert.match(modelTs, /listJobs\(layout, \{[^}]*allowIntensityData[^}]*\}\)/);
    });

    it('arrays saved under a folder of the zip are named in the error', async () => {
      const nested = datasetEntries().map((e) => ({ ...e, name: `sub/dir/${e.name}` }));
      const file = write('nested.npz', zip(nested));
      const info = await inspectDataset(file);
      const f = info.findings.find((x) => x.rule === 'DATA-001')!;
      assert.match(f.message, /the archive holds sub\/dir\/diffraction\.npy, .*; keys must be at the top level/i);
      const a = await openNpz(file);
      try {
        await assert.rejects(a.readArray('diffraction'), /the archive holds sub\/dir\/diffraction\.npy; keys must be at the top level/);
      } finally {
        await a.close();
      }
    });
  });
});
