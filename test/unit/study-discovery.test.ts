import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { studyFingerprint, discoverStudy, findStudyRoots, listJobs, jobMatrix, parseJobId, jobId, parseDoseFolder, defaultArtifactRoot } from '../../src/core/study';
import { makeStudy, writeDataset } from './helpers/study';
import { tempDir } from './helpers/paths';

describe('study discovery', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('names: dose folders, job ids', () => {
    assert.equal(parseDoseFolder('dose_1000'), 1000);
    assert.equal(parseDoseFolder('dose_1e5'), 1e5);
    assert.equal(parseDoseFolder('dose_x'), undefined);
    assert.equal(parseDoseFolder('dose_1000_train'), undefined);
    assert.equal(jobId(1e4, 'dense', 2), 'dose_10000/dense/gs2');
    assert.deepEqual(parseJobId('dose_10000/dense/gs2'), { dose: 1e4, view: 'dense', gridsize: 2 });
    assert.equal(parseJobId('nonsense'), undefined);
  });

  it('finds the canonical layout under a workspace and builds the 3×3 matrix', async () => {
    await makeStudy(dir, { doses: [1000, 10000, 100000] });
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseCRoot, path.join(dir, 'phase_c'));
    assert.equal(layout.phaseDRoot, path.join(dir, 'phase_d'));
    assert.equal(layout.artifactRoot, path.join(dir, 'phase_e'));
    const jobs = await listJobs(layout);
    assert.deepEqual(jobs.map((j) => j.id), [
      'dose_1000/baseline/gs1', 'dose_1000/dense/gs2', 'dose_1000/sparse/gs2',
      'dose_10000/baseline/gs1', 'dose_10000/dense/gs2', 'dose_10000/sparse/gs2',
      'dose_100000/baseline/gs1', 'dose_100000/dense/gs2', 'dose_100000/sparse/gs2',
    ]);
    for (const j of jobs) {
      assert.equal(j.state, 'ready', `${j.id}: ${j.reason}`);
      assert.equal(j.train.info?.patternCount, 12);
      assert.equal(j.train.info?.n, 64);
      assert.equal(j.artifactDir, path.join(dir, 'phase_e', `dose_${j.dose}`, j.view, `gs${j.gridsize}`));
      assert.equal(j.logPath, path.join(j.artifactDir, 'train.log'));
    }
    assert.deepEqual(jobs.filter((j) => j.view === 'baseline').map((j) => j.layout), ['phase-c', 'phase-c', 'phase-c']);
    assert.ok(jobs.filter((j) => j.gridsize === 2).every((j) => j.layout === 'phase-d-nested'));
  });

  it('accepts the flat Phase D layout (the seed study path-layout mismatch)', async () => {
    await makeStudy(dir, { doses: [1000], phaseDLayout: 'flat' });
    const jobs = await listJobs(await discoverStudy({ workspace: dir }));
    const dense = jobs.find((j) => j.id === 'dose_1000/dense/gs2')!;
    assert.equal(dense.state, 'ready');
    assert.equal(dense.layout, 'phase-d-flat');
    assert.equal(dense.train.path, path.join(dir, 'phase_d', 'dose_1000', 'dense_train.npz'));
  });

  it('prefers nested over flat when both exist, and says so', async () => {
    await makeStudy(dir, { doses: [1000], views: ['dense'] });
    await writeDataset(path.join(dir, 'phase_d', 'dose_1000', 'dense_train.npz'));
    const layout = await discoverStudy({ workspace: dir });
    const jobs = await listJobs(layout);
    assert.equal(jobs.find((j) => j.view === 'dense')!.layout, 'phase-d-nested');
    assert.match(layout.notes.join('\n'), /nested.*flat|both nested/);
  });

  it('finds views nested inside Phase C dose folders', async () => {
    await makeStudy(dir, { doses: [1000], phaseDLayout: 'in-phase-c' });
    const layout = await discoverStudy({ workspace: dir });
    assert.equal(layout.phaseDRoot, undefined);
    const jobs = await listJobs(layout);
    assert.deepEqual(jobs.map((j) => `${j.id}:${j.state}:${j.layout}`), [
      'dose_1000/baseline/gs1:ready:phase-c', 'dose_1000/dense/gs2:ready:phase-d-in-phase-c', 'dose_1000/sparse/gs2:ready:phase-d-in-phase-c',
    ]);
  });

  it('reads the legacy Phase C layout dose_<d>_{train,test}/fly64_<split>_simulated.npz', async () => {
    await makeStudy(dir, { doses: [1000], views: [], legacyPhaseC: true });
    const layout = await discoverStudy({ phaseCRoot: path.join(dir, 'phase_c') });
    const jobs = await listJobs(layout);
    assert.equal(jobs.length, 1, 'only Phase C: baseline jobs only');
    assert.equal(jobs[0].id, 'dose_1000/baseline/gs1');
    assert.equal(jobs[0].state, 'ready', jobs[0].reason);
    assert.equal(jobs[0].layout, 'phase-c-legacy');
    assert.equal(jobs[0].train.path, path.join(dir, 'phase_c', 'dose_1000_train', 'fly64_train_simulated.npz'));
  });

  it('lists unknown view names as jobs too, and expects dense and sparse for every dose', async () => {
    await makeStudy(dir, { doses: [1000, 10000], views: ['dense', 'medium'], skip: ['10000/medium'] });
    const jobs = await listJobs(await discoverStudy({ workspace: dir }));
    const ids = jobs.map((j) => `${j.id}:${j.state}`);
    assert.deepEqual(ids, [
      'dose_1000/baseline/gs1:ready', 'dose_1000/dense/gs2:ready', 'dose_1000/sparse/gs2:missing', 'dose_1000/medium/gs2:ready',
      'dose_10000/baseline/gs1:ready', 'dose_10000/dense/gs2:ready', 'dose_10000/sparse/gs2:missing', 'dose_10000/medium/gs2:missing',
    ]);
    const sparse = jobs.find((j) => j.id === 'dose_1000/sparse/gs2')!;
    assert.match(sparse.reason!, /view "sparse" not found for dose 1000/);
    assert.match(sparse.reason!, /sparse_train\.npz/);
  });

  it('a missing base dataset makes the baseline missing with its expected path, and nothing else', async () => {
    await makeStudy(dir, { doses: [1000, 10000], skip: ['1000/baseline'] });
    const jobs = await listJobs(await discoverStudy({ workspace: dir }));
    const base = jobs.find((j) => j.id === 'dose_1000/baseline/gs1')!;
    assert.equal(base.state, 'missing');
    assert.match(base.reason!, /Phase C data for dose 1000 not found: expected .*phase_c\/dose_1000\/patched_\{train,test\}\.npz/);
    assert.ok(jobs.filter((j) => j.id !== base.id).every((j) => j.state === 'ready'));
    // No Phase C at all: the baselines are missing and say which root to set.
    fs.rmSync(path.join(dir, 'phase_c'), { recursive: true });
    const noC = await listJobs(await discoverStudy({ workspace: dir }));
    assert.match(noC.find((j) => j.view === 'baseline')!.reason!, /No Phase C root/);
    assert.ok(noC.filter((j) => j.view !== 'baseline').every((j) => j.state === 'ready'));
  });

  it('explicit roots override the search; artifact root defaults beside Phase C', async () => {
    await makeStudy(path.join(dir, 'a'), { doses: [1000] });
    await makeStudy(path.join(dir, 'b'), { doses: [100000] });
    const layout = await discoverStudy({ phaseCRoot: path.join(dir, 'b', 'phase_c'), phaseDRoot: path.join(dir, 'a', 'phase_d') });
    assert.deepEqual(layout.doses.map((d) => d.dose), [1000, 100000]);
    assert.equal(layout.artifactRoot, defaultArtifactRoot(path.join(dir, 'b', 'phase_c')));
    const jobs = await listJobs(layout);
    assert.equal(jobs.find((j) => j.id === 'dose_1000/baseline/gs1')!.state, 'missing');
    assert.equal(jobs.find((j) => j.id === 'dose_100000/dense/gs2')!.state, 'missing');
    assert.equal(jobs.find((j) => j.id === 'dose_1000/dense/gs2')!.state, 'ready');
    await assert.rejects(discoverStudy({ phaseCRoot: path.join(dir, 'nope') }), /not a folder/);
  });

  it('finds roots under data/ and prefers conventional names', async () => {
    await makeStudy(path.join(dir, 'data'), { doses: [1000] });
    fs.mkdirSync(path.join(dir, 'scratch', 'dose_1000'), { recursive: true }); // holds nothing: not a root
    const found = await findStudyRoots(dir);
    assert.equal(found.phaseCRoot, path.join(dir, 'data', 'phase_c'));
    assert.equal(found.phaseDRoot, path.join(dir, 'data', 'phase_d'));
  });

  it('jobMatrix is pure and lists no gs2 jobs for a Phase C-only study', async () => {
    await makeStudy(dir, { doses: [1000, 10000], views: [] });
    const layout = await discoverStudy({ phaseCRoot: path.join(dir, 'phase_c') });
    assert.deepEqual(jobMatrix(layout).map((s) => `${s.dose}/${s.view}`), ['1000/baseline', '10000/baseline']);
  });

  it('filters by dose, view and gridsize before opening any file', async () => {
    await makeStudy(dir, { doses: [1000, 10000, 100000] });
    // A corrupt file in a filtered-out job must not matter.
    fs.writeFileSync(path.join(dir, 'phase_d', 'dose_1000', 'sparse', 'sparse_train.npz'), 'not a zip');
    const layout = await discoverStudy({ workspace: dir });
    assert.equal((await listJobs(layout, { filter: { dose: 1000 } })).length, 3);
    assert.equal((await listJobs(layout, { filter: { view: 'dense' } })).length, 3);
    assert.equal((await listJobs(layout, { filter: { gridsize: 2 } })).length, 6);
    const one = await listJobs(layout, { filter: { dose: 1e3, view: 'baseline', gridsize: 1 } });
    assert.deepEqual(one.map((j) => `${j.id}:${j.state}`), ['dose_1000/baseline/gs1:ready']);
  });

  it('discovery reads headers only: bytes read do not grow with the data', async function () {
    if (!fs.existsSync('/proc/self/io')) this.skip();
    await makeStudy(dir, { doses: [1000], views: ['dense'], dataset: { count: 1500 } }); // ~25 MB per file, 100 MB in all
    const rchar = (): number => Number(/rchar:\s*(\d+)/.exec(fs.readFileSync('/proc/self/io', 'utf8'))![1]);
    const before = rchar();
    const jobs = await listJobs(await discoverStudy({ workspace: dir }));
    const read = rchar() - before;
    assert.equal(jobs[0].train.info?.patternCount, 1500);
    assert.ok(read < 1_000_000, `listing read ${read} bytes`);
  });

  it('the study fingerprint changes when a dataset, a view folder or a manifest changes, and only then', async () => {
    await makeStudy(dir, { doses: [1000] });
    const opts = { workspace: dir };
    const first = await studyFingerprint(opts);
    assert.equal(await studyFingerprint(opts), first, 'stable when nothing changes');
    // A log line under the artifact root does not change it (logs grow every training step).
    const jobDir = path.join(dir, 'phase_e', 'dose_1000', 'dense', 'gs2');
    fs.mkdirSync(jobDir, { recursive: true });
    fs.writeFileSync(path.join(jobDir, 'train.log'), 'step 1\n');
    assert.equal(await studyFingerprint(opts), first);
    fs.writeFileSync(path.join(jobDir, 'manifest.json'), '{}');
    const withManifest = await studyFingerprint(opts);
    assert.notEqual(withManifest, first);
    const sparse = path.join(dir, 'phase_d', 'dose_1000', 'sparse');
    fs.renameSync(sparse, path.join(dir, 'sparse-away'));
    const withoutSparse = await studyFingerprint(opts);
    assert.notEqual(withoutSparse, withManifest);
    fs.renameSync(path.join(dir, 'sparse-away'), sparse);
    assert.equal(await studyFingerprint(opts), withManifest);
    fs.appendFileSync(path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz'), 'x');
    assert.notEqual(await studyFingerprint(opts), withManifest);
    assert.match(await studyFingerprint({ phaseCRoot: path.join(dir, 'nowhere') }), /^error:/);
  });
});
