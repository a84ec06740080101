// The hostile-input corpus (issue 13): a generator of damaged, malicious or merely strange inputs, written byte by
// byte with Node only, so the unit tier needs no Python. Three families:
//   npz       archives: truncations at many offsets, bad .npy headers, huge declared shapes, wrong dtypes, zip
//             bombs within the limits, nested and escaping member names, duplicates, lying zip records, and paths
//             that are not regular files;
//   tree      study trees: symlinks into and out of the artifact root, FIFOs where files should be, symlink loops,
//             name collisions, odd, unicode and control-character names;
//   run-file  a job folder's manifest.json, events.jsonl and run-config.json: garbage JSON, huge lines, wrong types;
//   webview   messages a compromised or buggy page could post to the extension host: malformed envelopes, wrong
//             panels and protocol versions, unknown and prototype-named types, wrong shapes, huge payloads.
// Each case is a description plus `build(dir)`, which writes the input into an empty folder; what is asserted
// about it is in test/unit/hostile-corpus.test.ts. Deterministic: the same cases and the same bytes every run.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';
import { formatNpyHeader } from '../../../src/core/npy';
import { discoverStudy, listJobs } from '../../../src/core/study';
import { planRun } from '../../../src/core/run/plan';
import { makeStudy, writeDataset } from './study';

// ------------------------------------------------------------------------------------------------ zip writer

export interface ZipEntry {
  name: string;
  /** The member's bytes as stored uncompressed. */
  data: Buffer;
  deflate?: boolean;
  /** Overrides of what the records declare (lying archives). */
  declaredSize?: number;
  crc?: number;
  flags?: number;
  method?: number;
  /** Local header name, when it should differ from the central directory's. */
  localName?: string;
  /** Local header with zero sizes and the data-descriptor flag (a streamed zip), the sizes after the data. */
  streamed?: boolean;
}

/** A zip archive of `entries` (stored or deflated), with optional damage to its end record. */
export function zipBytes(entries: ZipEntry[], opts: { eocdEntries?: number; cdOffset?: number; trailing?: Buffer } = {}): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const localName = Buffer.from(e.localName ?? e.name, 'utf8');
    const body = e.deflate ? zlib.deflateRawSync(e.data) : e.data;
    const crc = e.crc ?? zlib.crc32(e.data) >>> 0;
    const usize = e.declaredSize ?? e.data.length;
    const method = e.method ?? (e.deflate ? 8 : 0);
    const flags = (e.flags ?? 0) | 0x0800 | (e.streamed ? 0x0008 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(e.streamed ? 0 : crc, 14);
    local.writeUInt32LE(e.streamed ? 0 : body.length, 18);
    local.writeUInt32LE(e.streamed ? 0 : usize, 22);
    local.writeUInt16LE(localName.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(flags, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(usize, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    const descriptor = Buffer.alloc(e.streamed ? 16 : 0);
    if (e.streamed) {
      descriptor.writeUInt32LE(0x08074b50, 0);
      descriptor.writeUInt32LE(crc, 4);
      descriptor.writeUInt32LE(body.length, 8);
      descriptor.writeUInt32LE(usize, 12);
    }
    parts.push(local, localName, body, descriptor);
    offset += 30 + localName.length + body.length + descriptor.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(opts.eocdEntries ?? entries.length, 8);
  end.writeUInt16LE(opts.eocdEntries ?? entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(opts.cdOffset ?? offset, 16);
  return Buffer.concat([...parts, cdBytes, end, opts.trailing ?? Buffer.alloc(0)]);
}

// ------------------------------------------------------------------------------------------------ .npy streams

/** A valid .npy stream: numpy's header for (descr, shape, order) and the data bytes. */
export const npy = (descr: string, shape: number[], data: Buffer, fortran = false): Buffer => Buffer.concat([formatNpyHeader(descr, shape, fortran), data]);

/** A version-1 .npy stream with any header text (padded like numpy's), for headers numpy would never write. */
export function npyRawHeader(header: string | Buffer, data: Buffer = Buffer.alloc(0), declaredLength?: number): Buffer {
  const text = Buffer.isBuffer(header) ? header : Buffer.from(header, 'latin1');
  const pad = (64 - ((10 + text.length + 1) % 64)) % 64;
  const body = Buffer.concat([text, Buffer.alloc(pad, 0x20), Buffer.from('\n')]);
  const pre = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, 0, 0]);
  pre.writeUInt16LE(declaredLength ?? body.length, 8);
  return Buffer.concat([pre, body, data]);
}

export const f4 = (values: ArrayLike<number>): Buffer => Buffer.from(Float32Array.from(values).buffer);
export const f8 = (values: ArrayLike<number>): Buffer => Buffer.from(Float64Array.from(values).buffer);

const N = 64;
const COUNT = 8;
const OBJ = 256;

/** The arrays of a valid small dataset (N = 64, 8 patterns) as .npy streams; `over` replaces or adds members. */
export function datasetMembers(over: Record<string, Buffer | undefined> = {}): Record<string, Buffer> {
  const diff = new Float32Array(COUNT * N * N).map((_, i) => ((i * 7919) % 97) / 120);
  const obj = new Float32Array(2 * OBJ * OBJ).map((_, i) => (i % 2 ? 0.1 : 0.8));
  const probe = new Float32Array(2 * N * N).map((_, i) => (i % 2 ? 0 : 1));
  const xs = Array.from({ length: COUNT }, (_, i) => 40 + i * 20);
  const base: Record<string, Buffer | undefined> = {
    diffraction: npy('<f4', [COUNT, N, N], f4(diff)),
    objectGuess: npy('<c8', [OBJ, OBJ], f4(obj)),
    probeGuess: npy('<c8', [N, N], f4(probe)),
    xcoords: npy('<f8', [COUNT], f8(xs)),
    ycoords: npy('<f8', [COUNT], f8(xs)),
    ...over,
  };
  return Object.fromEntries(Object.entries(base).filter((e): e is [string, Buffer] => e[1] !== undefined));
}

const entriesOf = (members: Record<string, Buffer>, deflate = false, prefix = ''): ZipEntry[] =>
  Object.entries(members).map(([k, data]) => ({ name: `${prefix}${k}.npy`, data, deflate }));

/** A valid dataset archive (the base of most NPZ cases). */
export const validArchive = (deflate = false): Buffer => zipBytes(entriesOf(datasetMembers(), deflate));

// ------------------------------------------------------------------------------------------------ special files

export const canMkfifo = process.platform !== 'win32' && spawnSync('mkfifo', ['--help']).error === undefined;

export function mkfifo(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo ${p} failed: ${r.stderr}`);
}

/** A listening Unix socket at `p` (closed at once: the socket file stays, as after a crashed server). */
async function mksocket(p: string): Promise<void> {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.listen(p, resolve).once('error', reject));
  // Closing unlinks the socket file on some systems: keep the server's handle until the process ends.
  server.unref();
}

// ------------------------------------------------------------------------------------------------ cases

export type CaseFamily = 'npz' | 'tree' | 'run-file' | 'webview';

export interface NpzCase {
  family: 'npz';
  id: string;
  what: string;
  /** Writes the input under `dir`; returns the path to validate. */
  build(dir: string): Promise<string>;
  /**
   * What validation must say: `error` (default) an error finding about the file; `valid` no error (odd but
   * legal input); `warning` a warning finding with this rule.
   */
  expect?: 'error' | 'valid' | { warning: string };
  /** The message must match this (besides naming the file). */
  says?: RegExp;
  /** Needs mkfifo. */
  fifo?: boolean;
}

export interface TreeCase {
  family: 'tree' | 'run-file';
  id: string;
  what: string;
  /**
   * Writes a workspace under `dir` (its artifact root is `<workspace>/phase_e`, the default) and anything it
   * links to outside it under `dir/outside`. Returns the workspace and, for run-file cases, the hostile file.
   */
  build(dir: string): Promise<{ workspace: string; file?: string }>;
  /** Text that some message (finding, note, job reason, refusal, CLI output) must contain, e.g. a file name. */
  names?: string;
  /** That message must also match this. */
  says?: RegExp;
  /** Exit code of `ptycho-study list` (default 0). */
  listExit?: number;
  /** The hostile file is a run-config.json: also start the worker on its folder, which must refuse it. */
  worker?: boolean;
  fifo?: boolean;
}

export type WebviewPanelKind = 'npzPreview' | 'jobPanel' | 'manifest' | 'reconstruction' | 'comparison' | 'runCompare';

export interface WebviewCase {
  family: 'webview';
  id: string;
  what: string;
  /** The pages that post it (every panel when omitted). */
  panels?: WebviewPanelKind[];
  /** Whether the page has said ready (default true). */
  ready?: boolean;
  /** The message as the host receives it (structured clones: no functions, getters or proxies). */
  message(panel: WebviewPanelKind): unknown;
  /** The refusal's reason must match this. */
  says: RegExp;
  /** A refused request with a readable id is answered: its id. */
  answers?: number;
}

export type HostileCase = NpzCase | TreeCase | WebviewCase;

const npzCase = (c: Omit<NpzCase, 'family'>): NpzCase => ({ family: 'npz', ...c });

function writeFile(dir: string, name: string, bytes: Buffer | string): string {
  const p = path.join(dir, name);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, bytes);
  return p;
}

/** NPZ archives and dataset paths that are not archives. */
export function npzCases(): NpzCase[] {
  const cases: NpzCase[] = [];
  const stored = validArchive(false);
  const deflated = validArchive(true);
  // Truncations: inside the first local header, the .npy header, the data of each member, the central
  // directory and the end record — stored and deflated.
  const storedCuts = [0, 2, 12, 29, 64, 200, 4096, 0.25, 0.5, 0.75, 0.9, -60, -22, -10, -1];
  for (const at of storedCuts) {
    const n = at >= 1 || at === 0 ? at : at < 0 ? stored.length + at : Math.floor(stored.length * at);
    cases.push(npzCase({
      id: `truncated-stored-${n}`, what: `a stored archive cut to ${n} of ${stored.length} bytes`,
      build: async (dir) => writeFile(dir, 'cut.npz', stored.subarray(0, n)),
      says: n < 4 ? /not a zip archive/ : /truncated/,
    }));
  }
  for (const at of [100, 0.3, 0.7, -40, -5]) {
    const n = at >= 1 ? at : at < 0 ? deflated.length + at : Math.floor(deflated.length * at);
    cases.push(npzCase({
      id: `truncated-deflated-${n}`, what: `a deflated archive cut to ${n} of ${deflated.length} bytes`,
      build: async (dir) => writeFile(dir, 'cut.npz', deflated.subarray(0, n)), says: /truncated/,
    }));
  }

  // .npy headers numpy would never write.
  const diffData = datasetMembers().diffraction.subarray(128);
  const badHeader = (id: string, what: string, header: Buffer, says?: RegExp): void => {
    cases.push(npzCase({ id, what, build: async (dir) => writeFile(dir, 'header.npz', zipBytes(entriesOf(datasetMembers({ diffraction: header })))), says }));
  };
  const magicless = Buffer.from(datasetMembers().diffraction);
  magicless.write('NOTNPY', 0, 'latin1');
  badHeader('npy-bad-magic', 'diffraction without the .npy magic', magicless, /diffraction/);
  badHeader('npy-header-200k', 'a .npy header declaring 200 KB (over the 128 KiB cap)', npyRawHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (8, 64, 64), }`, diffData, 0xffff), /diffraction/);
  badHeader('npy-header-list', 'a header that is a list, not a dict', npyRawHeader('[1, 2, 3]', diffData), /diffraction/);
  badHeader('npy-header-no-shape', 'a header without shape', npyRawHeader(`{'descr': '<f4', 'fortran_order': False, }`, diffData), /diffraction/);
  badHeader('npy-descr-unknown', 'an unknown dtype <x9', npyRawHeader(`{'descr': '<x9', 'fortran_order': False, 'shape': (8, 64, 64), }`, diffData), /diffraction/);
  badHeader('npy-shape-negative', 'a negative dimension', npyRawHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (-8, 64, 64), }`, diffData), /diffraction/);
  badHeader('npy-shape-65-dims', 'a shape of 65 dimensions', npyRawHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (${Array(65).fill('1').join(', ')}), }`, diffData), /diffraction/);
  badHeader('npy-fortran-maybe', "fortran_order: 'maybe'", npyRawHeader(`{'descr': '<f4', 'fortran_order': 'maybe', 'shape': (8, 64, 64), }`, diffData), /diffraction/);
  badHeader('npy-header-code', 'Python code in the header dict', npyRawHeader(`{'descr': __import__('os').system('touch pwned'), 'fortran_order': False, 'shape': (8, 64, 64), }`, diffData), /diffraction/);
  badHeader('npy-header-controls', 'NUL bytes and an ANSI escape in the header', npyRawHeader(Buffer.from(`{'descr': '<f4\u0000\u001b[2J', 'fortran_order': False, 'shape': (8, 64, 64), }`, 'latin1'), diffData), /diffraction/);

  // Declared shapes far beyond the data.
  badHeader('shape-huge', 'diffraction declared (1e9, 64, 64): 16 TB that are not there', npy('<f4', [1e9, 64, 64], Buffer.alloc(0)), /diffraction/);
  badHeader('shape-overflow', 'a shape whose element count passes 2^53', npyRawHeader(`{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1048576, 64), }`, diffData), /diffraction/);
  cases.push(npzCase({
    id: 'shape-huge-coords', what: 'xcoords declared with 2^31 elements',
    build: async (dir) => writeFile(dir, 'coords.npz', zipBytes(entriesOf(datasetMembers({ xcoords: npy('<f8', [2 ** 31], Buffer.alloc(64)) })))), says: /xcoords/,
  }));

  // Wrong dtypes (headers are valid).
  const diffAs = (descr: string, itemSize: number): Buffer => npy(descr, [COUNT, N, N], Buffer.alloc(COUNT * N * N * itemSize, 1));
  const wrongType = (id: string, what: string, over: Record<string, Buffer>, says: RegExp, expect?: NpzCase['expect']): void => {
    cases.push(npzCase({ id, what, build: async (dir) => writeFile(dir, 'dtype.npz', zipBytes(entriesOf(datasetMembers(over)))), says, expect }));
  };
  wrongType('dtype-complex-diffraction', 'complex diffraction', { diffraction: diffAs('<c16', 16) }, /diffraction must be float/);
  wrongType('dtype-bool-diffraction', 'boolean diffraction', { diffraction: diffAs('|b1', 1) }, /diffraction must be float/);
  wrongType('dtype-string-diffraction', 'a string array as diffraction', { diffraction: diffAs('<U10', 40) }, /diffraction must be float/);
  wrongType('dtype-real-probe', 'a real probeGuess', { probeGuess: npy('<f4', [N, N], Buffer.alloc(N * N * 4)) }, /probeGuess must be complex/);
  wrongType('dtype-string-coords', 'string xcoords', { xcoords: npy('<U3', [COUNT], Buffer.alloc(COUNT * 12)) }, /xcoords must be a 1-D numeric/);
  wrongType('dtype-object-diffraction', 'a pickled object array as diffraction', { diffraction: npyRawHeader(`{'descr': '|O', 'fortran_order': False, 'shape': (8, 64, 64), }`, Buffer.from([0x80, 0x04, 0x4e, 0x2e])) }, /diffraction/);
  const bigEndian = Buffer.alloc(COUNT * N * N * 4);
  for (let i = 0; i < COUNT * N * N; i++) bigEndian.writeFloatBE(((i * 7919) % 97) / 120, 4 * i);
  wrongType('dtype-big-endian', 'big-endian float diffraction (legal)', { diffraction: npy('>f4', [COUNT, N, N], bigEndian) }, /./, 'valid');

  // Zip bombs within the limits, and lying sizes.
  cases.push(npzCase({
    id: 'bomb-zeros-64mib', what: 'a 64 MiB all-zero diffraction stack deflated to ~64 KiB',
    build: async (dir) => writeFile(dir, 'bomb.npz', zipBytes([
      { name: 'diffraction.npy', data: npy('<f4', [4096, N, N], Buffer.alloc(4096 * N * N * 4)), deflate: true },
      ...entriesOf(datasetMembers({ diffraction: undefined, xcoords: npy('<f8', [4096], f8(Array.from({ length: 4096 }, (_, i) => 40 + (i % 170)))), ycoords: npy('<f8', [4096], f8(Array.from({ length: 4096 }, (_, i) => 40 + ((i * 7) % 170)))) }), true),
    ])),
    says: /all zero/,
  }));
  cases.push(npzCase({
    id: 'bomb-lying-size', what: 'a deflated member that inflates to more than it declares',
    build: async (dir) => {
      const m = datasetMembers();
      return writeFile(dir, 'lie.npz', zipBytes(entriesOf(m, true).map((e) => (e.name === 'probeGuess.npy' ? { ...e, declaredSize: e.data.length - 4096 } : e))));
    },
    says: /probeGuess/,
  }));
  cases.push(npzCase({
    id: 'bomb-impossible-ratio', what: 'a declared size no deflate stream can reach (ratio > 1032:1)',
    build: async (dir) => writeFile(dir, 'ratio.npz', zipBytes(entriesOf(datasetMembers(), true).map((e) => (e.name === 'diffraction.npy' ? { ...e, declaredSize: 2 ** 31 } : e)))),
    says: /diffraction/,
  }));
  cases.push(npzCase({
    id: 'bomb-metadata', what: 'a 4 M element <U1 _metadata (16 MB inflated from a few KB)',
    build: async (dir) => {
      const meta = Buffer.alloc(4 * 4_000_000);
      for (let i = 0; i < meta.length; i += 4) meta[i] = 0x61;
      return writeFile(dir, 'meta.npz', zipBytes([...entriesOf(datasetMembers()), { name: '_metadata.npy', data: npy('<U1', [4_000_000], meta), deflate: true }]));
    },
    expect: { warning: 'METADATA' }, says: /_metadata cannot be read/,
  }));
  cases.push(npzCase({
    id: 'crc-mismatch', what: 'a deflated probeGuess whose CRC-32 is wrong',
    build: async (dir) => writeFile(dir, 'crc.npz', zipBytes(entriesOf(datasetMembers(), true).map((e) => (e.name === 'probeGuess.npy' ? { ...e, crc: 0x12345678 } : e)))),
    says: /probeGuess/,
  }));

  // Member names: nested folders, climbing out, absolute, duplicates, control characters.
  cases.push(npzCase({
    id: 'nested-members', what: 'every array under sub/dir/ inside the zip',
    build: async (dir) => writeFile(dir, 'nested.npz', zipBytes(entriesOf(datasetMembers(), false, 'sub/dir/'))), says: /sub\/dir\/diffraction\.npy/,
  }));
  cases.push(npzCase({
    id: 'zip-slip-names', what: 'members named ../../x.npy (never extracted, so never written)',
    build: async (dir) => writeFile(dir, 'slip.npz', zipBytes(entriesOf(datasetMembers(), false, '../../'))), says: /Missing required NPZ keys/,
  }));
  cases.push(npzCase({
    id: 'absolute-names', what: 'members named /tmp/x/….npy',
    build: async (dir) => writeFile(dir, 'abs.npz', zipBytes(entriesOf(datasetMembers(), false, '/tmp/ptycho-pwned/'))), says: /Missing required NPZ keys/,
  }));
  cases.push(npzCase({
    id: 'duplicate-members', what: 'diffraction.npy twice',
    build: async (dir) => {
      const e = entriesOf(datasetMembers());
      return writeFile(dir, 'dup.npz', zipBytes([...e, e[0]]));
    },
    says: /twice/,
  }));
  cases.push(npzCase({
    id: 'control-char-names', what: 'extra members named with an OSC title escape, a newline and bidi overrides (legal)',
    build: async (dir) => writeFile(dir, 'names.npz', zipBytes([
      ...entriesOf(datasetMembers()),
      { name: '\u001b]0;pwned\u0007.npy', data: npy('<f4', [2], f4([1, 2])) },
      { name: 'line\nbreak\u202e.npy', data: npy('<f4', [2], f4([1, 2])) },
    ])),
    expect: 'valid',
  }));

  // Lying or damaged zip records.
  cases.push(npzCase({ id: 'empty-file', what: 'an empty file', build: async (dir) => writeFile(dir, 'empty.npz', Buffer.alloc(0)), says: /not a zip archive/ }));
  cases.push(npzCase({
    id: 'random-bytes', what: '70 KB of random bytes',
    build: async (dir) => {
      let s = 11;
      return writeFile(dir, 'random.npz', Buffer.from(Array.from({ length: 70_000 }, () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 16) & 0xff)));
    },
    says: /not a zip archive/,
  }));
  cases.push(npzCase({ id: 'trailing-junk', what: '4 KB of junk after the end record (legal: zipfile searches the last 64 KiB)', build: async (dir) => writeFile(dir, 'junk.npz', zipBytes(entriesOf(datasetMembers()), { trailing: Buffer.alloc(4096, 0x41) })), expect: 'valid' }));
  cases.push(npzCase({ id: 'trailing-junk-100k', what: '100 KB of junk after the end record (past where an end record is searched for)', build: async (dir) => writeFile(dir, 'junk.npz', zipBytes(entriesOf(datasetMembers()), { trailing: Buffer.alloc(100_000, 0x41) })), says: /not a zip archive/ }));
  cases.push(npzCase({ id: 'eocd-count-mismatch', what: 'an end record that counts 7 entries for 5', build: async (dir) => writeFile(dir, 'count.npz', zipBytes(entriesOf(datasetMembers()), { eocdEntries: 7 })), says: /entries/ }));
  cases.push(npzCase({ id: 'cd-offset-past-end', what: 'a central directory offset past the end of the file', build: async (dir) => writeFile(dir, 'cdoff.npz', zipBytes(entriesOf(datasetMembers()), { cdOffset: 0x7fffffff })), says: /central directory/ }));
  cases.push(npzCase({ id: 'encrypted-entry', what: 'an entry flagged encrypted', build: async (dir) => writeFile(dir, 'enc.npz', zipBytes(entriesOf(datasetMembers()).map((e, i) => (i === 0 ? { ...e, flags: 1 } : e)))), says: /encrypted/ }));
  cases.push(npzCase({ id: 'method-lzma', what: 'compression method 14 (LZMA)', build: async (dir) => writeFile(dir, 'lzma.npz', zipBytes(entriesOf(datasetMembers()).map((e, i) => (i === 0 ? { ...e, method: 14 } : e)))), says: /compression method 14/ }));
  cases.push(npzCase({ id: 'local-name-mismatch', what: 'a local header naming another file than the directory', build: async (dir) => writeFile(dir, 'lname.npz', zipBytes(entriesOf(datasetMembers()).map((e, i) => (i === 1 ? { ...e, localName: 'evil.npy' } : e)))), says: /local header names/ }));
  cases.push(npzCase({ id: 'streamed-entries', what: 'data descriptors instead of local sizes (a streamed zip, legal)', build: async (dir) => writeFile(dir, 'streamed.npz', zipBytes(entriesOf(datasetMembers()).map((e) => ({ ...e, streamed: true })))), expect: 'valid' }));
  cases.push(npzCase({
    id: 'twenty-thousand-entries', what: '20,000 extra tiny entries (a 1 MB central directory; legal)',
    build: async (dir) => writeFile(dir, 'many.npz', zipBytes([...entriesOf(datasetMembers()), ...Array.from({ length: 20_000 }, (_, i) => ({ name: `junk/${i}.txt`, data: Buffer.from('x') }))])),
    expect: 'valid',
  }));

  // Dataset paths that are not regular files.
  cases.push(npzCase({ id: 'fifo', what: 'a FIFO named x.npz', fifo: true, build: async (dir) => (mkfifo(path.join(dir, 'fifo.npz')), path.join(dir, 'fifo.npz')), says: /FIFO/ }));
  cases.push(npzCase({ id: 'directory', what: 'a folder named x.npz', build: async (dir) => (fs.mkdirSync(path.join(dir, 'folder.npz')), path.join(dir, 'folder.npz')), says: /director/ }));
  cases.push(npzCase({ id: 'device', what: 'a symlink to /dev/zero (an endless device)', build: async (dir) => (fs.symlinkSync('/dev/zero', path.join(dir, 'zero.npz')), path.join(dir, 'zero.npz')), says: /character device/ }));
  cases.push(npzCase({ id: 'dangling-link', what: 'a symlink to nothing', build: async (dir) => (fs.symlinkSync(path.join(dir, 'gone'), path.join(dir, 'dangling.npz')), path.join(dir, 'dangling.npz')), says: /ENOENT|no such file/i }));
  cases.push(npzCase({
    id: 'link-loop', what: 'two symlinks pointing at each other',
    build: async (dir) => {
      fs.symlinkSync('b.npz', path.join(dir, 'a.npz'));
      fs.symlinkSync('a.npz', path.join(dir, 'b.npz'));
      return path.join(dir, 'a.npz');
    },
    says: /ELOOP|symbolic links/i,
  }));
  cases.push(npzCase({ id: 'socket', what: 'a Unix socket named x.npz', fifo: true, build: async (dir) => (await mksocket(path.join(dir, 's.npz')), path.join(dir, 's.npz')), says: /socket/ }));
  return cases;
}

// ------------------------------------------------------------------------------------------------ trees

/** A one-dose study (baseline + dense), small, at `<dir>/study`. */
async function smallStudy(dir: string, views: string[] = ['dense']): Promise<string> {
  const ws = path.join(dir, 'study');
  await makeStudy(ws, { doses: [1000], views, dataset: { count: 8 } });
  return ws;
}

/** `<dir>/outside`: a folder beside the study with a file in it, the target of links that lead out. */
function outside(dir: string): { folder: string; file: string } {
  const folder = path.join(dir, 'outside');
  fs.mkdirSync(folder, { recursive: true });
  const file = path.join(folder, 'victim.txt');
  fs.writeFileSync(file, 'keep me\n');
  return { folder, file };
}

const jobDirOf = (ws: string, id = 'dose_1000/baseline/gs1'): string => path.join(ws, 'phase_e', ...id.split('/'));

const treeCase = (c: Omit<TreeCase, 'family'>): TreeCase => ({ family: 'tree', ...c });

export function treeCases(): TreeCase[] {
  const cases: TreeCase[] = [];
  const linkInJob = (name: string, names: string | undefined, says?: RegExp): void => {
    cases.push(treeCase({
      id: `link-${name}`, what: `${name} in a job folder is a symlink to a file outside the study`, names, says,
      build: async (dir) => {
        const ws = await smallStudy(dir);
        const { file } = outside(dir);
        fs.mkdirSync(jobDirOf(ws), { recursive: true });
        fs.symlinkSync(file, path.join(jobDirOf(ws), name));
        return { workspace: ws };
      },
    }));
  };
  linkInJob('train.log', 'train.log', /symbolic link/);
  linkInJob('manifest.json', 'manifest.json', /cannot be read/);
  linkInJob('run-config.json', undefined);
  linkInJob('events.jsonl', undefined);
  linkInJob('checkpoint.npz', undefined);
  cases.push(treeCase({
    id: 'job-folder-links-out', what: 'a job folder that is a symlink to a folder outside the artifact root', names: 'gs1', says: /outside the artifact root/,
    build: async (dir) => {
      const ws = await smallStudy(dir);
      const { folder } = outside(dir);
      fs.mkdirSync(path.dirname(jobDirOf(ws)), { recursive: true });
      fs.symlinkSync(folder, jobDirOf(ws));
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'dose-folder-links-out', what: 'an artifact dose folder that is a symlink leading outside', names: 'dose_1000', says: /outside the artifact root/,
    build: async (dir) => {
      const ws = await smallStudy(dir);
      const { folder } = outside(dir);
      fs.mkdirSync(path.join(ws, 'phase_e'), { recursive: true });
      fs.symlinkSync(folder, path.join(ws, 'phase_e', 'dose_1000'));
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'dangling-job-folder', what: 'a job folder that is a dangling symlink', names: 'gs1', says: /dangling/,
    build: async (dir) => {
      const ws = await smallStudy(dir);
      fs.mkdirSync(path.dirname(jobDirOf(ws)), { recursive: true });
      fs.symlinkSync(path.join(dir, 'nowhere'), jobDirOf(ws));
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'link-inside-root', what: 'a dose folder linked to another folder inside the artifact root (allowed)',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      fs.mkdirSync(path.join(ws, 'phase_e', 'big-disk'), { recursive: true });
      fs.symlinkSync(path.join(ws, 'phase_e', 'big-disk'), path.join(ws, 'phase_e', 'dose_1000'));
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'dataset-links-out', what: 'a training split that is a symlink to a dataset outside the study (read, allowed)',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      const { folder } = outside(dir);
      const target = path.join(folder, 'elsewhere.npz');
      const train = path.join(ws, 'phase_c', 'dose_1000', 'patched_train.npz');
      fs.renameSync(train, target);
      fs.symlinkSync(target, train);
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'dataset-link-loop', what: 'a training split that is a symlink loop', names: 'patched_train.npz',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      const train = path.join(ws, 'phase_c', 'dose_1000', 'patched_train.npz');
      fs.rmSync(train);
      fs.symlinkSync('loop.npz', train);
      fs.symlinkSync('patched_train.npz', path.join(path.dirname(train), 'loop.npz'));
      return { workspace: ws };
    },
  }));
  const fifoAt = (id: string, what: string, rel: (ws: string) => string, names: string, says?: RegExp): void => {
    cases.push(treeCase({
      id, what, names, says, fifo: true,
      build: async (dir) => {
        const ws = await smallStudy(dir);
        const p = rel(ws);
        fs.rmSync(p, { force: true });
        mkfifo(p);
        return { workspace: ws };
      },
    }));
  };
  fifoAt('fifo-dataset', 'a FIFO as the dense training split', (ws) => path.join(ws, 'phase_d', 'dose_1000', 'dense', 'dense_train.npz'), 'dense_train.npz', /FIFO/);
  fifoAt('fifo-manifest', 'a FIFO as a job\'s manifest.json', (ws) => path.join(jobDirOf(ws), 'manifest.json'), 'manifest.json', /FIFO/);
  fifoAt('fifo-train-log', 'a FIFO as a job\'s train.log', (ws) => path.join(jobDirOf(ws), 'train.log'), 'train.log', /FIFO/);
  fifoAt('fifo-run-lock', 'a FIFO as a job\'s run.lock', (ws) => path.join(jobDirOf(ws), 'run.lock'), 'run.lock');
  fifoAt('fifo-events', 'a FIFO as a job\'s events.jsonl', (ws) => path.join(jobDirOf(ws), 'events.jsonl'), 'events.jsonl', /FIFO/);
  cases.push(treeCase({
    id: 'workspace-link-loops', what: '12 links to the workspace itself and a cycle through a parent',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      for (let i = 0; i < 12; i++) fs.symlinkSync('.', path.join(ws, `self${i}`));
      fs.mkdirSync(path.join(ws, 'sub'));
      fs.symlinkSync('..', path.join(ws, 'sub', 'up'));
      fs.symlinkSync(ws, path.join(ws, 'phase_d', 'dose_1000', 'loop'));
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'dose-collisions', what: 'dose_1.5, dose_1.7, dose_1e3 and dose_01000 beside dose_1000', names: 'dose_1e3', says: /dose/,
    build: async (dir) => {
      const ws = await smallStudy(dir);
      for (const d of ['dose_1.5', 'dose_1.7', 'dose_1e3', 'dose_01000']) {
        await writeDataset(path.join(ws, 'phase_c', d, 'patched_train.npz'), { count: 8 });
        await writeDataset(path.join(ws, 'phase_d', d, 'dense', 'dense_train.npz'), { count: 8 });
      }
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'odd-view-names', what: 'views named .., "a b", x.y, dénse, an ANSI escape and a newline', names: 'dénse',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      for (const v of ['..', 'a b', 'x.y', 'dénse', 'red\u001b[31m', 'two\nlines']) {
        const folder = path.join(ws, 'phase_d', 'dose_1000', v);
        await writeDataset(path.join(folder, `${v === '..' ? 'dotdot' : v}_train.npz`), { count: 8 });
      }
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'odd-flat-names', what: 'flat view files named .._train.npz, \\x1b[31mred_train.npz and ☃_train.npz', names: '.._train.npz',
    build: async (dir) => {
      const ws = path.join(dir, 'study');
      await makeStudy(ws, { doses: [1000], views: ['dense'], phaseDLayout: 'flat', dataset: { count: 8 } });
      for (const n of ['.._train.npz', '\u001b[31mred_train.npz', '☃_train.npz']) await writeDataset(path.join(ws, 'phase_d', 'dose_1000', n), { count: 8 });
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'odd-workspace-path', what: 'a workspace path with spaces, $(…), quotes, unicode and a newline (legal)',
    build: async (dir) => {
      const ws = path.join(dir, "study $(touch pwned) 'q' ü\nx");
      await makeStudy(ws, { doses: [1000], views: ['dense'], dataset: { count: 8 } });
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'too-deep', what: 'a study 7 folders below the workspace (past the search depth)', listExit: 1, names: 'No study found',
    build: async (dir) => {
      const ws = path.join(dir, 'study');
      await makeStudy(path.join(ws, 'a', 'b', 'c', 'd', 'e', 'f', 'g'), { doses: [1000], views: [], dataset: { count: 8 } });
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'artifact-root-is-file', what: 'phase_e is a regular file, not a folder', names: 'phase_e',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      fs.writeFileSync(path.join(ws, 'phase_e'), 'not a folder');
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'dose-folder-is-file', what: 'a Phase C dose_2000 that is a file, and a dose_3000 that is a FIFO', fifo: true,
    build: async (dir) => {
      const ws = await smallStudy(dir);
      fs.writeFileSync(path.join(ws, 'phase_c', 'dose_2000'), 'x');
      mkfifo(path.join(ws, 'phase_c', 'dose_3000'));
      return { workspace: ws };
    },
  }));
  cases.push(treeCase({
    id: 'view-folder-links-out', what: 'a Phase D view folder linked to data outside the study (read, allowed)',
    build: async (dir) => {
      const ws = await smallStudy(dir);
      const { folder } = outside(dir);
      const view = path.join(ws, 'phase_d', 'dose_1000', 'dense');
      fs.renameSync(view, path.join(folder, 'dense'));
      fs.symlinkSync(path.join(folder, 'dense'), view);
      return { workspace: ws };
    },
  }));
  return cases;
}

// ------------------------------------------------------------------------------------------------ run files

const runFileCase = (c: Omit<TreeCase, 'family'>): TreeCase => ({ family: 'run-file', ...c });

/** A study whose baseline job folder holds `name` with `content` (and, for run-config cases, nothing else). */
function inJobFolder(name: string, content: Buffer | string | (() => Buffer | string)): TreeCase['build'] {
  return async (dir) => {
    const ws = path.join(dir, 'study');
    await makeStudy(ws, { doses: [1000], views: [], dataset: { count: 8 } });
    outside(dir);
    const file = path.join(jobDirOf(ws), name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'function' ? content() : content);
    return { workspace: ws, file };
  };
}

const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) & 0xff));

export function runFileCases(): TreeCase[] {
  const cases: TreeCase[] = [];
  const manifest = (id: string, what: string, content: Buffer | string | (() => Buffer | string), says?: RegExp): void => {
    cases.push(runFileCase({ id: `manifest-${id}`, what: `manifest.json: ${what}`, build: inJobFolder('manifest.json', content), names: says ? 'manifest.json' : undefined, says }));
  };
  manifest('empty', 'empty', '', /cannot be read/);
  manifest('garbage', 'binary garbage', garbage, /cannot be read/);
  manifest('torn', 'torn mid-write', '{"schemaVersion": 1, "status": "runn', /cannot be read/);
  manifest('array', 'a JSON array', '[1, 2, 3]', /cannot be read/);
  manifest('null', 'null', 'null', /cannot be read/);
  manifest('status-number', 'status 42', '{"status": 42}', /cannot be read/);
  manifest('wrong-types', 'a failed run whose reason, runtime, result and timing have the wrong types',
    JSON.stringify({ status: 'failed', reason: { evil: true }, runtime: 'x', result: 'y', timing: [1], job: 7, config: 'z', findings: 'none', progress: 5 }));
  manifest('running-bad-pid', 'running with pid "abc" and a heartbeat in the year 9999',
    JSON.stringify({ status: 'running', runtime: { hostname: 'x', pid: 'abc', heartbeatAt: '9999-01-01T00:00:00Z' }, progress: { epoch: 'x', step: null } }));
  manifest('running-progress-types', 'running on this host (pid 1) with progress fields of the wrong types',
    () => JSON.stringify({ status: 'running', runtime: { hostname: os.hostname(), pid: 1, heartbeatAt: new Date().toISOString() }, progress: { epoch: 'x', epochs: {}, step: [], loss: 'NaN' } }));
  manifest('huge-line', 'one 24 MB line (a huge reason string)', () => JSON.stringify({ status: 'failed', reason: 'x'.repeat(24 << 20) }), /too large|cannot be read/);
  manifest('deep-nesting', '200,000 nested arrays', () => `{"status": "failed", "x": ${'['.repeat(200_000)}${']'.repeat(200_000)}}`);
  manifest('escapes', 'a reason with terminal escapes and bidi overrides', JSON.stringify({ status: 'failed', reason: '\u001b]0;pwned\u0007\u001b[2J\u202ereason' }));

  const events = (id: string, what: string, content: Buffer | string | (() => Buffer | string)): void => {
    cases.push(runFileCase({ id: `events-${id}`, what: `events.jsonl: ${what}`, build: inJobFolder('events.jsonl', content) }));
  };
  events('garbage', 'binary garbage with NULs and invalid UTF-8', garbage);
  events('huge-line', 'one 6 MB line without a newline', () => '{"type":"log","message":"' + 'y'.repeat(6 << 20));
  events('many-lines', '40,000 progress events', () => Array.from({ length: 40_000 }, (_, i) => JSON.stringify({ type: 'progress', time: 't', jobId: 'j', epoch: 1, epochs: 2, stepInEpoch: i, stepsPerEpoch: 40_000, loss: 1 / (i + 1), imagesPerSec: 10, etaSeconds: 5 })).join('\n') + '\n');
  events('wrong-types', 'known event types with fields of the wrong types', [
    { type: 'started', epochs: 'x', resumedFrom: 5 }, { type: 'progress', epoch: 'x', loss: null }, { type: 'epoch', epoch: {}, trainLoss: '1', valLoss: 'NaN' },
    { type: 'quality', epoch: 1, region: 'everywhere', amplitude: null }, { type: 'failed', message: { nested: true } }, { type: 'log', level: 7, message: [] },
    { type: 'checkpoint', path: 9 }, { type: 'finished' }, { type: '__proto__' }, { type: 'constructor' },
  ].map((e) => JSON.stringify(e)).join('\n') + '\n');
  events('deep-nesting', '100,000 nested arrays on one line', () => '{"type":"log","x":' + '['.repeat(100_000) + ']'.repeat(100_000) + '}\n');

  const runConfig = (id: string, what: string, content: Buffer | string | (() => Buffer | string), says?: RegExp): void => {
    cases.push(runFileCase({ id: `run-config-${id}`, what: `run-config.json: ${what}`, build: inJobFolder('run-config.json', content), names: 'run-config.json', says, worker: true }));
  };
  runConfig('garbage', 'binary garbage', garbage, /not valid JSON|cannot be read/);
  runConfig('empty', 'empty', '', /not valid JSON|cannot be read/);
  runConfig('array', 'a JSON array', '[]', /object/);
  runConfig('wrong-types', 'fields of the wrong types', JSON.stringify({ jobId: 5, training: 'x', trainPath: 42, n: '64', gridsize: [], artifactDir: {} }), /jobId|must be/);
  runConfig('huge-line', 'one 16 MB line', () => JSON.stringify({ jobId: 'x'.repeat(16 << 20) }), /./);
  cases.push(runFileCase({
    id: 'run-config-points-outside', what: 'run-config.json: a real plan whose artifact folder and study root were edited to point outside the study',
    names: 'run-config.json', says: /artifact/, worker: true,
    build: async (dir) => {
      const ws = path.join(dir, 'study');
      await makeStudy(ws, { doses: [1000], views: [], dataset: { count: 8 } });
      const { folder } = outside(dir);
      const layout = await discoverStudy({ workspace: ws });
      const job = (await listJobs(layout)).find((j) => j.id === 'dose_1000/baseline/gs1')!;
      const plan = planRun(job, { workerScript: 'unused', study: { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot } });
      // The data is missing too, so a worker that obeyed the plan would fail at once, and record it where told.
      const config = { ...plan.config, trainPath: path.join(folder, 'missing.npz'), artifactDir: folder, study: { artifactRoot: folder } };
      const file = path.join(jobDirOf(ws), 'run-config.json');
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, JSON.stringify(config));
      return { workspace: ws, file };
    },
  }));
  return cases;
}

const webviewCase = (c: Omit<WebviewCase, 'family'>): WebviewCase => ({ family: 'webview', ...c });

function webviewCases(): WebviewCase[] {
  const req = (type: string, params: unknown, requestId: unknown = 7) => ({ kind: 'request', requestId, type, params });
  const ev = (type: string, body: unknown) => ({ kind: 'event', type, body });
  const deep = (): unknown => {
    let v: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) v = { v };
    return v;
  };
  const png = (bytes: number): Uint8Array => {
    const b = new Uint8Array(bytes);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    return b;
  };
  return [
    webviewCase({ id: 'wv-null', what: 'null instead of a message', message: () => null, says: /not an object \(null\)/ }),
    webviewCase({ id: 'wv-array', what: 'an array instead of a message', message: () => [1, 2, 3], says: /not an object \(array\)/ }),
    webviewCase({ id: 'wv-string', what: 'a string message', message: () => 'ready', says: /not an object \(string\)/ }),
    webviewCase({ id: 'wv-kind-unknown', what: 'an unknown kind', message: () => ({ kind: 'exec', cmd: 'rm -rf /' }), says: /unknown message kind "exec"/ }),
    webviewCase({ id: 'wv-kind-huge', what: 'a 10 MB kind string (echoed clipped)', message: () => ({ kind: 'x'.repeat(10_000_000) }), says: /^malformed message: unknown message kind "x{40}"$/ }),
    webviewCase({ id: 'wv-kind-proto', what: 'kind "__proto__"', message: () => JSON.parse('{"kind":"__proto__"}'), says: /unknown message kind "__proto__"/ }),
    webviewCase({ id: 'wv-ready-wrong-panel', what: 'ready from another panel kind', panels: ['jobPanel'], message: () => ({ kind: 'ready', panel: 'npzPreview', protocolVersion: 1 }), says: /ready from a "npzPreview" page, expected "jobPanel"/ }),
    webviewCase({ id: 'wv-ready-old-protocol', what: 'ready with an old protocol version', message: (panel) => ({ kind: 'ready', panel, protocolVersion: 0 }), says: /protocol version 0, expected 1/ }),
    webviewCase({ id: 'wv-ready-no-version', what: 'ready without a protocol version', message: (panel) => ({ kind: 'ready', panel }), says: /ready needs panel \(string\) and protocolVersion/ }),
    webviewCase({ id: 'wv-request-before-ready', what: 'a request before the page said ready', ready: false, message: () => req('savePng', { suggestedName: 'a.png', data: png(16) }, 3), says: /request before ready/, answers: 3 }),
    webviewCase({ id: 'wv-event-before-ready', what: 'an event before the page said ready', ready: false, message: () => ev('log', { level: 'info', message: 'hi' }), says: /event before ready/ }),
    webviewCase({ id: 'wv-request-no-id', what: 'a request without an id', message: () => ({ kind: 'request', type: 'savePng', params: {} }), says: /request needs requestId/ }),
    webviewCase({ id: 'wv-request-id-negative', what: 'a request with a negative id', message: () => req('savePng', {}, -1), says: /request needs requestId/ }),
    webviewCase({ id: 'wv-request-id-float', what: 'a request with a fractional id', message: () => req('savePng', {}, 1.5), says: /request needs requestId/ }),
    webviewCase({ id: 'wv-request-id-huge', what: 'a request with an id beyond 2^53', message: () => req('savePng', {}, 2 ** 60), says: /request needs requestId/ }),
    webviewCase({ id: 'wv-request-id-string', what: 'a request with a string id', message: () => req('savePng', {}, '7'), says: /request needs requestId/ }),
    webviewCase({ id: 'wv-type-not-identifier', what: 'a request type with path characters', message: () => req('../../etc/passwd', {}), says: /request needs a type \(identifier string\)/, answers: 7 }),
    webviewCase({ id: 'wv-type-unknown', what: 'an unknown request type', message: () => req('runShell', { cmd: 'id' }), says: /unknown request type "runShell"/, answers: 7 }),
    webviewCase({ id: 'wv-type-constructor', what: 'request type "constructor" (an inherited property)', message: () => req('constructor', {}), says: /unknown request type "constructor"/, answers: 7 }),
    webviewCase({ id: 'wv-type-toString', what: 'request type "toString"', message: () => req('toString', {}), says: /unknown request type "toString"/, answers: 7 }),
    webviewCase({ id: 'wv-type-hasOwnProperty', what: 'event type "hasOwnProperty"', message: () => ev('hasOwnProperty', {}), says: /unknown event type "hasOwnProperty"/ }),
    webviewCase({ id: 'wv-event-unknown', what: 'an unknown event type', message: () => ev('eval', 'process.exit()'), says: /unknown event type "eval"/ }),
    webviewCase({ id: 'wv-params-null', what: 'savePng with null params', message: () => req('savePng', null), says: /malformed "savePng" request: params must be an object/, answers: 7 }),
    webviewCase({ id: 'wv-params-proto-key', what: 'params with an own "__proto__" key', message: () => req('savePng', JSON.parse('{"suggestedName":"a.png","data":null,"__proto__":{"polluted":true}}')), says: /malformed "savePng" request/, answers: 7 }),
    webviewCase({ id: 'wv-params-extra-field', what: 'params with an unexpected field', message: () => req('savePng', { suggestedName: 'a.png', data: png(16), path: '/etc/passwd' }), says: /malformed "savePng" request: .*path/, answers: 7 }),
    webviewCase({ id: 'wv-png-name-empty', what: 'savePng with an empty name', message: () => req('savePng', { suggestedName: '', data: png(16) }), says: /suggestedName must not be empty/, answers: 7 }),
    webviewCase({ id: 'wv-png-name-long', what: 'savePng with a 100 kB name', message: () => req('savePng', { suggestedName: 'a'.repeat(100_000), data: png(16) }), says: /suggestedName is longer than 255/, answers: 7 }),
    webviewCase({ id: 'wv-png-data-string', what: 'savePng with text instead of bytes', message: () => req('savePng', { suggestedName: 'a.png', data: 'iVBORw0KGgo=' }), says: /data must be an ArrayBuffer or a typed array/, answers: 7 }),
    webviewCase({ id: 'wv-png-data-object', what: 'savePng with a fake typed array', message: () => req('savePng', { suggestedName: 'a.png', data: { byteLength: 8, buffer: {} } }), says: /data must be an ArrayBuffer or a typed array/, answers: 7 }),
    webviewCase({ id: 'wv-log-huge', what: 'a 1 MB log event', message: () => ev('log', { level: 'info', message: 'x'.repeat(1_000_000) }), says: /message is longer than 20000/ }),
    webviewCase({ id: 'wv-log-level', what: 'a log event with an unknown level', message: () => ev('log', { level: 'fatal', message: 'x' }), says: /level must be one of/ }),
    webviewCase({ id: 'wv-rendered-nan', what: 'a rendered event with NaN timings', message: () => ev('rendered', { what: 'x', scriptStartMs: NaN, readyMs: 0, drawnMs: 0, requestMs: 0, drawMs: 0, first: true }), says: /scriptStartMs must be a number/ }),
    webviewCase({ id: 'wv-rendered-infinite', what: 'a rendered event with an infinite timing', message: () => ev('rendered', { what: 'x', scriptStartMs: 0, readyMs: Infinity, drawnMs: 0, requestMs: 0, drawMs: 0, first: true }), says: /readyMs must be finite/ }),
    webviewCase({ id: 'wv-rendered-many-stages', what: 'a rendered event with 100,000 stage keys', message: () => ev('rendered', { what: 'x', scriptStartMs: 0, readyMs: 0, drawnMs: 0, requestMs: 0, drawMs: 0, first: true, stagesMs: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`s${i}`, 1])) }), says: /stagesMs has more than 64 keys/ }),
    webviewCase({ id: 'wv-deep-nesting', what: 'params nested 100,000 levels deep', message: () => req('savePng', deep()), says: /malformed "savePng" request/, answers: 7 }),
    webviewCase({ id: 'wv-job-action-unknown', what: 'a job-panel action that does not exist', panels: ['jobPanel'], message: () => req('action', { action: 'deleteStudy', jobId: 'dose_1000/baseline/gs1' }), says: /action must be one of/, answers: 7 }),
    webviewCase({ id: 'wv-job-id-huge', what: 'a job-panel action with a 1 MB job id', panels: ['jobPanel'], message: () => req('action', { action: 'train', jobId: 'x'.repeat(1_000_000) }), says: /jobId is longer than 300/, answers: 7 }),
    webviewCase({ id: 'wv-copy-text-huge', what: 'copyText over the 64 MiB limit', panels: ['jobPanel'], message: () => req('copyText', { text: 'x'.repeat((64 << 20) + 1) }), says: /text is longer than/, answers: 7 }),
    webviewCase({ id: 'wv-run-compare-open', what: 'a Compare Runs open of something other than a manifest or job panel', panels: ['runCompare'], message: () => req('open', { key: 'dose_1000/baseline/gs1@latest', what: 'terminal' }), says: /what must be one of/, answers: 7 }),
    webviewCase({ id: 'wv-manifest-action', what: 'a manifest-viewer action that does not exist', panels: ['manifest'], message: () => req('action', { action: 'openTerminal' }), says: /action must be one of/, answers: 7 }),
    webviewCase({ id: 'wv-slice-negative', what: 'an NPZ slice with a negative frame', panels: ['npzPreview'], message: () => req('readSlice', { member: 'diffraction', frame: -1 }), says: /frame must be ≥ 0/, answers: 7 }),
    webviewCase({ id: 'wv-slice-float', what: 'an NPZ slice with a fractional channel', panels: ['npzPreview'], message: () => req('readSlice', { member: 'diffraction', channel: 0.5 }), says: /channel must be an integer/, answers: 7 }),
    webviewCase({ id: 'wv-table-count', what: 'an NPZ table of 10^9 rows', panels: ['npzPreview'], message: () => req('readTable', { member: 'xcoords', start: 0, count: 1e9 }), says: /count must be ≤ 100000/, answers: 7 }),
    webviewCase({ id: 'wv-series-points', what: 'an NPZ series of 10^9 points', panels: ['npzPreview'], message: () => req('readSeries', { member: 'xcoords', maxPoints: 1e9 }), says: /maxPoints must be ≤ 1000000/, answers: 7 }),
    webviewCase({ id: 'wv-member-empty', what: 'an NPZ slice of the empty member name', panels: ['npzPreview'], message: () => req('readSlice', { member: '' }), says: /member must not be empty/, answers: 7 }),
    webviewCase({ id: 'wv-recon-artifact', what: 'a reconstruction viewer asking for an arbitrary artifact', panels: ['reconstruction'], message: () => req('openArtifact', { jobId: 'dose_1000/baseline/gs1', artifact: '../../../../etc/passwd' }), says: /artifact must be one of/, answers: 7 }),
    webviewCase({ id: 'wv-recon-job-type', what: 'a reconstruction request with a numeric job id', panels: ['reconstruction'], message: () => req('readImages', { jobId: 42 }), says: /jobId must be a string/, answers: 7 }),
    webviewCase({ id: 'wv-compare-export-args', what: 'exportReport with a target path smuggled in', panels: ['comparison'], message: () => req('exportReport', { dir: '/etc' }), says: /malformed "exportReport" request/, answers: 7 }),
    webviewCase({ id: 'wv-compare-gt-type', what: 'readCell with groundTruth "yes"', panels: ['comparison'], message: () => req('readCell', { jobId: 'dose_1000/baseline/gs1', groundTruth: 'yes' }), says: /groundTruth must be true or false/, answers: 7 }),
    webviewCase({ id: 'wv-response-bad', what: 'a response without inReplyTo', message: () => ({ kind: 'response', result: 1 }), says: /response needs inReplyTo/ }),
    webviewCase({ id: 'wv-response-error-type', what: 'a response whose error is an object', message: () => ({ kind: 'response', inReplyTo: 1, error: { stack: 'x' } }), says: /response error must be a string/ }),
  ];
}

export function allCases(): HostileCase[] {
  return [...npzCases(), ...treeCases(), ...runFileCases(), ...webviewCases()];
}
