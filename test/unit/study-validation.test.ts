import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspectDataset, inspectEachOnce, discoverStudy, listJobs, sampleRows, type Finding } from '../../src/core/study';
import { makeStudy, writeDataset, type DatasetSpec } from './helpers/study';
import { tempDir } from './helpers/paths';

const rules = (fs: Finding[], severity?: string): string[] => fs.filter((f) => !severity || f.severity === severity).map((f) => f.rule);

describe('dataset validation', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  async function check(spec: DatasetSpec, opts: Parameters<typeof inspectDataset>[1] = { deep: true }) {
    const file = path.join(dir, 'ds.npz');
    await writeDataset(file, spec);
    return inspectDataset(file, opts);
  }

  it('a valid dataset has no errors and reports count, N, key, metadata', async () => {
    const info = await check({ metadata: { physics_parameters: { nphotons: 1000 } } });
    assert.deepEqual(rules(info.findings, 'error'), []);
    assert.equal(info.patternCount, 12);
    assert.equal(info.n, 64);
    assert.equal(info.diffractionKey, 'diffraction');
    assert.equal(info.layout, 'nhw');
    assert.deepEqual(info.metadata, { physics_parameters: { nphotons: 1000 } });
  });

  it('inspectEachOnce reads a file once per gridsize, however many callers ask, with the options it was made with', async () => {
    const file = path.join(dir, 'ds.npz');
    await writeDataset(file, { count: 9 });
    const inspect = inspectEachOnce({ deep: true });
    const [a, b] = await Promise.all([inspect(file, 1), inspect(file, 1)]);
    assert.equal(a, b, 'concurrent callers share one inspection');
    assert.equal(a.patternCount, 9);
    const gs2 = await inspect(file, 2);
    assert.notEqual(gs2, a, 'a gridsize has its own checks');
    assert.deepEqual(gs2.findings, (await inspectDataset(file, { gridsize: 2, deep: true })).findings);
    // Replaced after the first read: the listing's answer stays the one it read (a fresh listing reads again).
    await writeDataset(file, { count: 5 });
    assert.equal((await inspect(file, 1)).patternCount, 9);
    assert.equal((await inspectEachOnce()(file, 1)).patternCount, 5);
  });

  it('DATA-001: missing keys are named', async () => {
    const info = await check({ omit: ['probeGuess', 'ycoords'] });
    const f = info.findings.find((x) => x.rule === 'DATA-001')!;
    assert.equal(f.severity, 'error');
    assert.match(f.message, /Missing required NPZ keys: probeGuess, ycoords/);
    assert.equal(f.file, path.join(dir, 'ds.npz'));
  });

  it('accepts diff3d as the diffraction key', async () => {
    const info = await check({ key: 'diff3d' });
    assert.equal(info.diffractionKey, 'diff3d');
    assert.deepEqual(rules(info.findings, 'error'), []);
  });

  it('FORMAT-001: legacy (H,W,n) order is detected from len(xcoords) and handled', async () => {
    const info = await check({ layout: 'hwn', count: 10 });
    assert.equal(info.layout, 'hwn');
    assert.equal(info.patternCount, 10);
    assert.equal(info.n, 64);
    assert.deepEqual(rules(info.findings, 'error'), []);
    assert.ok(info.findings.some((f) => f.rule === 'FORMAT-001' && f.severity === 'warning' && f.key === 'diffraction'));
  });

  it('DATA-001: xcoords length must match the pattern count', async () => {
    const info = await check({ coordCount: 9 });
    assert.ok(info.findings.some((f) => f.rule === 'DATA-001' && /xcoords length 9 != diffraction first axis 12/.test(f.message)));
  });

  it('DATA-SHAPE: the probe must match N', async () => {
    const info = await check({ probeSize: 32 });
    assert.ok(info.findings.some((f) => f.rule === 'DATA-SHAPE' && f.key === 'probeGuess' && f.severity === 'error'));
  });

  it('NORMALIZATION-001: integer photon counts are refused with an explanation', async () => {
    const info = await check({ values: 'counts' });
    const f = info.findings.find((x) => x.rule === 'NORMALIZATION-001')!;
    assert.equal(f.severity, 'error');
    assert.match(f.message, /photon counts or intensity, not normalized amplitude/);
  });

  it('POISSON-NORM-001: photon-scaled amplitude (sqrt of integer counts) is refused', async () => {
    const info = await check({ values: 'photon-scaled' });
    assert.ok(info.findings.some((f) => f.rule === 'POISSON-NORM-001' && f.severity === 'error'), JSON.stringify(info.findings));
  });

  it('DATA-FINITE: NaN in the sampled frames is an error', async () => {
    const info = await check({ values: 'nan', count: 4 });
    assert.ok(info.findings.some((f) => f.rule === 'DATA-FINITE' && f.severity === 'error'));
  });

  it('value checks are only done when deep (header-only otherwise)', async () => {
    const info = await check({ values: 'counts' }, { deep: false });
    assert.deepEqual(rules(info.findings, 'error'), []);
  });

  it('OVERSAMPLING-001: gridsize 2 needs C=4 positions and K >= 4', async () => {
    const few = await check({ count: 3 }, { gridsize: 2 });
    assert.ok(few.findings.some((f) => f.rule === 'OVERSAMPLING-001' && f.severity === 'error' && /at least C=4/.test(f.message)));
    const smallK = await check({ count: 12 }, { gridsize: 2, neighborCount: 3 });
    assert.ok(smallK.findings.some((f) => f.rule === 'OVERSAMPLING-001' && /neighbor_count=3 < C=4/.test(f.message)));
    const gs1 = await check({ count: 3 }, { gridsize: 1 });
    assert.ok(!gs1.findings.some((f) => f.rule === 'OVERSAMPLING-001'));
  });

  it('a malformed file becomes an NPZ-FORMAT finding, not an exception', async () => {
    const file = path.join(dir, 'bad.npz');
    fs.writeFileSync(file, Buffer.from('PK\u0003\u0004 truncated zip'));
    const info = await inspectDataset(file, { deep: true });
    assert.deepEqual(rules(info.findings), ['NPZ-FORMAT']);
    assert.match(info.findings[0].message, /Not a readable NumPy \.npz archive/);
    const gone = await inspectDataset(path.join(dir, 'nope.npz'));
    assert.equal(gone.findings[0].rule, 'DATA-001');
  });

  it('a truncated .npz gets one message naming the file and the sizes, whichever pass sees it and whenever it is cut', async () => {
    // Stored members: the diffraction stack (first member) is read by positioned reads in the deep pass.
    const file = path.join(dir, 'dense_train.npz');
    await writeDataset(file, { count: 24 });
    const full = fs.readFileSync(file);
    const cutAt = Math.floor(full.length / 5); // inside the diffraction member
    const expected = new RegExp(`^Not a readable NumPy \\.npz archive: dense_train\\.npz is truncated: the file is ${cutAt} bytes, but member diffraction needs \\d+ bytes`);
    fs.writeFileSync(file, full.subarray(0, cutAt));
    const header = await inspectDataset(file);
    const deep = await inspectDataset(file, { deep: true });
    assert.deepEqual(header.findings.map((f) => [f.rule, f.severity]), [['NPZ-FORMAT', 'error']]);
    assert.match(header.findings[0].message, expected);
    assert.deepEqual(deep.findings, header.findings);

    // The race of issue 13: the archive's directory is read, then the file is cut before the deep pass reads
    // the frames (a copy or a rewrite in progress). Count the reads the open makes, and cut right after them.
    fs.writeFileSync(file, full);
    const origOpen = fs.promises.open;
    let reads = 0;
    let cutBeforeRead = Infinity;
    fs.promises.open = (async (...args: Parameters<typeof origOpen>) => {
      const fh = await origOpen(...args);
      if (String(args[0]) !== file) return fh;
      const read = fh.read.bind(fh) as (...a: unknown[]) => Promise<unknown>;
      (fh as { read: unknown }).read = (...a: unknown[]) => {
        if (++reads === cutBeforeRead) fs.truncateSync(file, cutAt);
        return read(...a);
      };
      return fh;
    }) as typeof origOpen;
    try {
      assert.deepEqual(rules((await inspectDataset(file)).findings, 'error'), []);
      cutBeforeRead = reads + 1; // the first read after the header pass's (the same open, then the frames)
      reads = 0;
      const raced = await inspectDataset(file, { deep: true });
      assert.ok(reads >= cutBeforeRead, 'the file was cut during the deep pass');
      assert.deepEqual(raced.findings, header.findings);
    } finally {
      fs.promises.open = origOpen;
    }
  });

  it('a dataset that keeps changing while it is read is one DATA-CHANGING error, not a mix of two versions', async () => {
    const file = path.join(dir, 'growing.npz');
    await writeDataset(file);
    assert.deepEqual(rules((await inspectDataset(file, { deep: true })).findings, 'error'), []);
    // Another process rewrites the file all the time: every look at it finds a new version.
    const origStat = fs.promises.stat;
    let touches = 0;
    fs.promises.stat = (async (...args: Parameters<typeof origStat>) => {
      if (String(args[0]) === file) fs.utimesSync(file, new Date(), new Date(Date.UTC(2026, 0, 1) + ++touches * 1000));
      return origStat(...args);
    }) as typeof origStat;
    try {
      const info = await inspectDataset(file, { deep: true });
      assert.deepEqual(info.findings.map((f) => [f.rule, f.severity]), [['DATA-CHANGING', 'error']]);
      assert.match(info.findings[0].message, /^growing\.npz kept changing while it was read \(4 tries\)/);
    } finally {
      fs.promises.stat = origStat;
    }
  });

  it('compressed members are reported (no random access) but valid', async () => {
    const info = await check({ compress: true });
    assert.deepEqual(rules(info.findings, 'error'), []);
    assert.ok(info.findings.some((f) => f.rule === 'NPZ-COMPRESSED' && f.severity === 'info'));
  });

  it('sampleRows spreads a fixed number of frames', () => {
    assert.deepEqual(sampleRows(3, 8), [0, 1, 2]);
    const s = sampleRows(1000, 8);
    assert.equal(s.length, 8);
    assert.ok(s[0] >= 0 && s[7] < 1000 && s.every((v, i) => i === 0 || v > s[i - 1]));
  });

  it('an invalid file makes only its own job invalid; the rest stay ready', async () => {
    await makeStudy(dir, { doses: [1000, 10000] });
    fs.writeFileSync(path.join(dir, 'phase_d', 'dose_1000', 'dense', 'dense_train.npz'), 'garbage');
    await writeDataset(path.join(dir, 'phase_c', 'dose_10000', 'patched_train.npz'), { values: 'counts' });
    const jobs = await listJobs(await discoverStudy({ workspace: dir }), { deep: true });
    const state = Object.fromEntries(jobs.map((j) => [j.id, j.state]));
    assert.deepEqual(state, {
      'dose_1000/baseline/gs1': 'ready', 'dose_1000/dense/gs2': 'invalid', 'dose_1000/sparse/gs2': 'ready',
      'dose_10000/baseline/gs1': 'invalid', 'dose_10000/dense/gs2': 'ready', 'dose_10000/sparse/gs2': 'ready',
    });
    assert.match(jobs.find((j) => j.id === 'dose_1000/dense/gs2')!.reason!, /dense_train\.npz: Not a readable NumPy \.npz archive/);
  });
});
