// simulateStudy end to end: the exact layout, file contents read back with our npy reader, the physics
// (mean counts ≈ dose, normalized amplitude), the y split, Phase D derived from Phase C, reproducibility,
// cancellation without leftovers, base datasets, and configuration errors.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ndarray, scalarString, withNpz, writeNpz, type NdArray } from '../../src/core/npy';
import {
  defaultObjectSize, defaultSimulationConfig, simulateStudy, syntheticObject, syntheticProbe,
  type SimulationConfig, type SimulationReport,
} from '../../src/core/simulate';
import { knnBruteForce } from '../../src/core/simulate/grouping';
import { discoverStudy, inspectDataset } from '../../src/core/study';
import { tempDir } from './helpers/paths';
import { readAllArrays } from './helpers/npy';

const N = 32;
const TIMESTAMP = '2026-01-02T03:04:05.000Z';

function smallConfig(outDir: string, extra: Partial<SimulationConfig> = {}): SimulationConfig {
  return { ...defaultSimulationConfig(outDir), doses: [1e3, 1e4], nImages: 120, size: N, timestamp: TIMESTAMP, ...extra };
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .map((f) => String(f).split(path.sep).join('/'))
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}


async function metadataOf(file: string): Promise<Record<string, any>> {
  return withNpz(file, async (a) => (await a.readMetadata())!.json as Record<string, any>);
}

function bytesOf(arr: NdArray): Buffer {
  if (Array.isArray(arr.data)) return Buffer.from(JSON.stringify(arr.data));
  const d = arr.data as Exclude<NdArray['data'], string[]>;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

const PHASE_C_KEYS = ['diffraction', 'objectGuess', 'probeGuess', 'xcoords', 'ycoords', 'xcoords_start', 'ycoords_start', 'scan_index', '_metadata'];
const METRIC_FIELDS = [
  'metrics_version', 'gridsize', 's_img', 'n_groups', 'neighbor_count', 'probe_diameter_px', 'rng_seed_subsample',
  'metric_1_group_based_avg', 'metric_2_image_based_avg', 'metric_3_group_to_group_avg', 'n_images_total',
  'n_images_subsampled', 'n_unique_images', 'n_groups_actual', 'geometry_acceptance_bound', 'effective_min_acceptance',
];

function expectedLayout(doses: number[], views: string[]): string[] {
  const files = ['study.json'];
  for (const d of doses) {
    files.push(`phase_c/dose_${d}/patched_train.npz`, `phase_c/dose_${d}/patched_test.npz`);
    for (const v of views) {
      for (const f of [`${v}_train.npz`, `${v}_test.npz`, `${v}_train_metrics.json`, `${v}_test_metrics.json`, 'metrics_bundle.json']) {
        files.push(`phase_d/dose_${d}/${v}/${f}`);
      }
    }
  }
  return files.sort();
}

describe('simulate: simulateStudy', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  let out: string;
  let report: SimulationReport;
  const progress: [string, number][] = [];

  before(async () => {
    ({ dir, cleanup } = tempDir('ptycho-sim-'));
    out = path.join(dir, 'study');
    report = await simulateStudy(smallConfig(out), (m, f) => progress.push([m, f]));
  });
  after(() => cleanup());

  it('writes exactly the study layout, and reports every file', () => {
    assert.deepEqual(listFiles(out), expectedLayout([1000, 10000], ['dense', 'sparse']));
    assert.deepEqual([...report.files].map((f) => path.relative(out, f).split(path.sep).join('/')).sort(), listFiles(out));
    assert.equal(report.files[report.files.length - 1], path.join(out, 'study.json'));
    assert.deepEqual(report.doses.map((d) => d.dose), [1000, 10000]);
    for (const d of report.doses) {
      assert.equal(d.train + d.test, 120);
      assert.ok(Math.abs(d.meanCounts - d.dose) < 0.03 * d.dose, `mean counts ${d.meanCounts} for dose ${d.dose}`);
    }
    assert.ok(report.seconds > 0);
    assert.ok(progress.length > 5);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i][1] >= progress[i - 1][1], 'progress never goes back');
    assert.equal(progress[progress.length - 1][1], 1);
  });

  it('Phase C files: keys, shapes, dtypes, normalized amplitude and the metadata the study tools expect', async () => {
    const study = JSON.parse(fs.readFileSync(path.join(out, 'study.json'), 'utf8'));
    const M = defaultObjectSize(N, 120);
    for (const dose of [1000, 10000]) {
      let total = 0;
      for (const split of ['train', 'test'] as const) {
        const file = path.join(out, 'phase_c', `dose_${dose}`, `patched_${split}.npz`);
        const a = await readAllArrays(file);
        assert.deepEqual(Object.keys(a), PHASE_C_KEYS);
        const n = a.xcoords.shape[0];
        const shapes = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, [v.dtype.descr, v.shape]]));
        assert.deepEqual(shapes, {
          diffraction: ['<f4', [n, N, N]], objectGuess: ['<c8', [M, M]], probeGuess: ['<c8', [N, N]],
          xcoords: ['<f8', [n]], ycoords: ['<f8', [n]], xcoords_start: ['<f8', [n]], ycoords_start: ['<f8', [n]],
          scan_index: ['<i8', [n]], _metadata: [a._metadata.dtype.descr, []],
        });
        assert.match(a._metadata.dtype.descr, /^<U\d+$/);
        assert.deepEqual(a.xcoords_start.data, a.xcoords.data);
        assert.deepEqual(a.ycoords_start.data, a.ycoords.data);
        assert.ok((a.scan_index.data as BigInt64Array).every((v) => v === 0n));
        const meta = JSON.parse((a._metadata.data as string[])[0]);
        assert.equal(meta.schema_version, '1.0.0');
        assert.equal(meta.creation_info.script, 'ptycho-study simulate');
        assert.equal(meta.creation_info.timestamp, TIMESTAMP);
        assert.deepEqual([meta.physics_parameters.nphotons, meta.physics_parameters.gridsize, meta.physics_parameters.N], [dose, 1, N]);
        assert.equal(meta.training_parameters.n_images, 120);
        const tools = meta.data_transformations.map((t: { tool: string }) => t.tool);
        assert.ok(tools.includes('transpose_rename_convert'), 'canonicalize record');
        assert.equal(meta.data_transformations.find((t: any) => t.tool === 'transpose_rename_convert').operation, 'canonicalize');
        const simulateRec = meta.data_transformations.find((t: any) => t.operation === 'simulate');
        assert.equal(simulateRec.tool, 'ptycho-study simulate');
        const splitRec = meta.data_transformations.find((t: any) => t.tool === 'split_dataset_tool.py');
        assert.equal(splitRec.operation, 'train_test_split');
        assert.deepEqual(Object.keys(splitRec.parameters), ['split_fraction', 'split_axis', 'split_point', 'train_count', 'test_count']);
        assert.equal(splitRec.parameters.split_axis, 'y');
        assert.equal(splitRec.parameters[`${split}_count`], n);
        const add = meta.additional_parameters;
        assert.deepEqual([add.seed, add.buffer, add.simulation_type], [42, N / 2 + 1, 'coordinate_based']);
        const sSim = add.s_sim as number;
        assert.ok(sSim > 0);
        assert.equal(sSim, study.doses.find((d: any) => d.dose === dose).s_sim);
        // Normalized amplitude: (s_sim·d)² are integer counts; their per-pattern mean is what the metadata says.
        const diff = a.diffraction.data as Float32Array;
        let counts = 0;
        let max = 0;
        for (let i = 0; i < diff.length; i++) {
          const c = (sSim * diff[i]) ** 2;
          assert.ok(Math.abs(c - Math.round(c)) < 1e-4 * Math.max(1, c), `count ${c}`);
          counts += c;
          max = Math.max(max, diff[i]);
        }
        assert.ok(Math.abs(counts / n - add.mean_counts_per_pattern) < 1e-3 * dose);
        assert.ok(max > 0 && max < 10, `normalized amplitude max ${max}`);
        total += counts;
        // Positions lie inside the object minus the border.
        for (const c of [...(a.xcoords.data as Float64Array), ...(a.ycoords.data as Float64Array)]) assert.ok(c >= N / 2 + 1 && c <= M - N / 2 - 1);
      }
      assert.ok(Math.abs(total / 120 - dose) < 0.03 * dose, `dose ${dose}: ${total / 120} counts per pattern`);
    }
  });

  it('splits along y: train = y < split_point, test = the rest, with split_point = min + f·(max − min)', async () => {
    const train = await readAllArrays(path.join(out, 'phase_c', 'dose_1000', 'patched_train.npz'));
    const test = await readAllArrays(path.join(out, 'phase_c', 'dose_1000', 'patched_test.npz'));
    const ys = [...(train.ycoords.data as Float64Array), ...(test.ycoords.data as Float64Array)];
    const point = Math.min(...ys) + 0.5 * (Math.max(...ys) - Math.min(...ys));
    const meta = JSON.parse((train._metadata.data as string[])[0]);
    const rec = meta.data_transformations.find((t: any) => t.operation === 'train_test_split').parameters;
    assert.equal(rec.split_point, point);
    assert.equal(rec.split_fraction, 0.5);
    assert.ok((train.ycoords.data as Float64Array).every((y) => y < point));
    assert.ok((test.ycoords.data as Float64Array).every((y) => y >= point));
    assert.deepEqual([rec.train_count, rec.test_count], [train.xcoords.shape[0], test.xcoords.shape[0]]);
  });

  it('all doses share object, probe and positions; only the noise level differs', async () => {
    for (const split of ['train', 'test']) {
      const a = await readAllArrays(path.join(out, 'phase_c', 'dose_1000', `patched_${split}.npz`));
      const b = await readAllArrays(path.join(out, 'phase_c', 'dose_10000', `patched_${split}.npz`));
      for (const k of ['objectGuess', 'probeGuess', 'xcoords', 'ycoords']) assert.ok(bytesOf(a[k]).equals(bytesOf(b[k])), k);
      assert.ok(!bytesOf(a.diffraction).equals(bytesOf(b.diffraction)));
      // Higher dose → fewer zero pixels.
      const zeros = (x: NdArray): number => (x.data as Float32Array).filter((v) => v === 0).length;
      assert.ok(zeros(a.diffraction) > zeros(b.diffraction));
    }
    // The written object and probe are the synthetic ones.
    const a = await readAllArrays(path.join(out, 'phase_c', 'dose_1000', 'patched_train.npz'));
    assert.deepEqual(a.objectGuess.data, syntheticObject(defaultObjectSize(N, 120), N, 42).data);
    assert.deepEqual(a.probeGuess.data, syntheticProbe(N).data);
  });

  it('Phase D views are subsets of the Phase C split (same noisy patterns), with K-NN groups and metadata', async () => {
    for (const dose of [1000, 10000]) {
      for (const split of ['train', 'test'] as const) {
        const parent = await readAllArrays(path.join(out, 'phase_c', `dose_${dose}`, `patched_${split}.npz`));
        const px = parent.xcoords.data as Float64Array;
        const nParent = px.length;
        const row = new Map<number, number>();
        px.forEach((x, i) => row.set(x, i));
        const parentMeta = JSON.parse((parent._metadata.data as string[])[0]);
        for (const [view, sImg] of [['dense', 1.0], ['sparse', 0.4]] as const) {
          const file = path.join(out, 'phase_d', `dose_${dose}`, view, `${view}_${split}.npz`);
          const a = await readAllArrays(file);
          assert.deepEqual(Object.keys(a), [...PHASE_C_KEYS.slice(0, -1), 'group_indices', '_metadata']);
          const n = a.xcoords.shape[0];
          assert.equal(n, Math.floor(sImg * nParent));
          assert.deepEqual(a.diffraction.shape, [n, N, N]);
          assert.deepEqual([a.group_indices.dtype.descr, a.group_indices.shape], ['<i8', [n, 4]]);
          assert.ok(bytesOf(a.objectGuess).equals(bytesOf(parent.objectGuess)));
          // Every row is a Phase C row, in the same order, with the same pattern.
          const x = a.xcoords.data as Float64Array;
          const y = a.ycoords.data as Float64Array;
          const pd = parent.diffraction.data as Float32Array;
          const vd = a.diffraction.data as Float32Array;
          let last = -1;
          for (let i = 0; i < n; i++) {
            const r = row.get(x[i])!;
            assert.ok(r !== undefined && r > last, `row ${i} comes from the parent, in order`);
            last = r;
            assert.equal(y[i], (parent.ycoords.data as Float64Array)[r]);
            assert.ok(Buffer.from(vd.buffer, vd.byteOffset + i * N * N * 4, N * N * 4).equals(Buffer.from(pd.buffer, pd.byteOffset + r * N * N * 4, N * N * 4)));
          }
          // Groups: 4 distinct rows of this file drawn from some member's… seed's 7 nearest neighbours.
          const gi = a.group_indices.data as BigInt64Array;
          for (let g = 0; g < n; g++) {
            const members = Array.from(gi.subarray(4 * g, 4 * g + 4), Number);
            assert.equal(new Set(members).size, 4);
            for (const m of members) assert.ok(m >= 0 && m < n);
            // n_groups = n: group g is seeded by row g.
            assert.ok(!members.includes(g), 'the seed is not a member');
            const nn = knnBruteForce(x, y, x[g], y[g], 7, g);
            for (const m of members) assert.ok(nn.includes(m), `group ${g} member ${m} is a 7-NN of its seed`);
          }
          const meta = JSON.parse((a._metadata.data as string[])[0]);
          const metrics = JSON.parse(fs.readFileSync(path.join(out, 'phase_d', `dose_${dose}`, view, `${view}_${split}_metrics.json`), 'utf8'));
          assert.deepEqual(Object.keys(metrics), METRIC_FIELDS);
          const expected = {
            overlap_view: view, gridsize: 2, s_img: sImg, n_groups: n, neighbor_count: 7,
            source_file: `phase_c/dose_${dose}/patched_${split}.npz`, rng_seed_subsample: 456,
            geometry_acceptance_bound: metrics.geometry_acceptance_bound, effective_min_acceptance: metrics.effective_min_acceptance,
          };
          for (const [k, v] of Object.entries(expected)) assert.deepEqual(meta[k], v, `top-level ${k}`);
          const rec = meta.data_transformations[meta.data_transformations.length - 1];
          assert.equal(rec.operation, 'overlap_view');
          for (const [k, v] of Object.entries(expected)) assert.deepEqual(rec.parameters[k], v, `record ${k}`);
          // The parent's records come first, unchanged.
          assert.deepEqual(meta.data_transformations.slice(0, -1), parentMeta.data_transformations);
          assert.equal(meta.physics_parameters.gridsize, 2);
          assert.deepEqual(
            [metrics.s_img, metrics.n_groups, metrics.n_images_total, metrics.n_images_subsampled, metrics.n_unique_images, metrics.n_groups_actual, metrics.rng_seed_subsample],
            [sImg, n, nParent, n, n, n, 456],
          );
          for (const k of ['metric_1_group_based_avg', 'metric_2_image_based_avg', 'metric_3_group_to_group_avg']) {
            assert.ok(metrics[k] > 0 && metrics[k] < 1, `${k} = ${metrics[k]}`);
          }
          assert.ok(Math.abs(metrics.probe_diameter_px - N / 2) < 1, `D = ${metrics.probe_diameter_px} (FWHM ≈ N/2)`);
        }
      }
      for (const view of ['dense', 'sparse']) {
        const dirV = path.join(out, 'phase_d', `dose_${dose}`, view);
        const bundle = JSON.parse(fs.readFileSync(path.join(dirV, 'metrics_bundle.json'), 'utf8'));
        assert.deepEqual(Object.keys(bundle), ['train', 'test']);
        for (const split of ['train', 'test']) assert.deepEqual(bundle[split], JSON.parse(fs.readFileSync(path.join(dirV, `${view}_${split}_metrics.json`), 'utf8')));
      }
    }
    // Dense views overlap more than sparse ones.
    const dense = JSON.parse(fs.readFileSync(path.join(out, 'phase_d', 'dose_1000', 'dense', 'dense_train_metrics.json'), 'utf8'));
    const sparse = JSON.parse(fs.readFileSync(path.join(out, 'phase_d', 'dose_1000', 'sparse', 'sparse_train_metrics.json'), 'utf8'));
    assert.ok(dense.metric_2_image_based_avg > sparse.metric_2_image_based_avg);
  });

  it('the study model discovers the study and validates every dataset without findings', async () => {
    const layout = await discoverStudy({ workspace: out });
    assert.deepEqual(layout.doses.map((d) => d.dose), [1000, 10000]);
    for (const d of layout.doses) {
      assert.equal(d.phaseC?.layout, 'phase-c');
      assert.deepEqual([...d.views.keys()].sort(), ['dense', 'sparse']);
      for (const v of d.views.values()) assert.ok(v.metricsPath?.bundle && v.metricsPath.train && v.metricsPath.test);
    }
    for (const file of listFiles(out).filter((f) => f.endsWith('.npz'))) {
      const gridsize = file.startsWith('phase_d') ? 2 : 1;
      const info = await inspectDataset(path.join(out, file), { gridsize, neighborCount: 7, deep: true });
      // N = 32 keeps this suite fast; the only expected remark is that the network is built for 64/128.
      const unexpected = info.findings.filter((f) => f.severity !== 'info' && !(f.rule === 'DATA-SHAPE' && /Pattern size N=32/.test(f.message)));
      assert.deepEqual(unexpected, [], file);
      assert.equal(info.n, N);
    }
  });

  it('study.json records what was simulated', () => {
    const study = JSON.parse(fs.readFileSync(path.join(out, 'study.json'), 'utf8'));
    assert.equal(study.created, TIMESTAMP);
    assert.deepEqual(study.rng_seeds, { simulation: 42, subsampling: 456, grouping: 123 });
    assert.deepEqual(study.config.doses, [1000, 10000]);
    assert.equal(study.config.n_images, 120);
    assert.equal(study.config.size, N);
    assert.deepEqual(study.object.shape, [defaultObjectSize(N, 120), defaultObjectSize(N, 120)]);
    assert.equal(study.versions.metrics, '1.0');
    assert.equal(study.doses.length, 2);
    assert.deepEqual([...study.files].sort(), listFiles(out));
  });

  it('is reproducible: the same seed gives identical arrays, metadata and metrics; recomputing instead of caching changes nothing', async () => {
    const again = path.join(dir, 'again');
    const uncached = path.join(dir, 'uncached');
    await simulateStudy(smallConfig(again));
    await simulateStudy(smallConfig(uncached, { cacheBytes: 0 }));
    for (const other of [again, uncached]) {
      assert.deepEqual(listFiles(other), listFiles(out));
      for (const f of listFiles(out)) {
        if (f.endsWith('.npz')) {
          const a = await readAllArrays(path.join(out, f));
          const b = await readAllArrays(path.join(other, f));
          assert.deepEqual(Object.keys(a), Object.keys(b));
          for (const k of Object.keys(a)) {
            assert.equal(a[k].dtype.descr, b[k].dtype.descr, `${f} ${k}`);
            assert.ok(bytesOf(a[k]).equals(bytesOf(b[k])), `${f} ${k} differs`);
          }
        } else if (f !== 'study.json') {
          assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(other, f))), f);
        } else {
          const strip = (p: string): unknown => ({ ...JSON.parse(fs.readFileSync(p, 'utf8')), seconds: 0 });
          assert.deepEqual(strip(path.join(other, f)), strip(path.join(out, f)));
        }
      }
    }
  });

  it('a different seed gives different positions, object and noise', async () => {
    const other = path.join(dir, 'seed43');
    await simulateStudy(smallConfig(other, { seed: 43, doses: [1e3], views: [] }));
    assert.deepEqual(listFiles(other), ['phase_c/dose_1000/patched_test.npz', 'phase_c/dose_1000/patched_train.npz', 'study.json']);
    const a = await readAllArrays(path.join(out, 'phase_c', 'dose_1000', 'patched_train.npz'));
    const b = await readAllArrays(path.join(other, 'phase_c', 'dose_1000', 'patched_train.npz'));
    for (const k of ['xcoords', 'objectGuess', 'diffraction']) assert.ok(!bytesOf(a[k]).equals(bytesOf(b[k])), k);
    assert.ok(bytesOf(a.probeGuess).equals(bytesOf(b.probeGuess)), 'the synthetic probe does not depend on the seed');
  });

  it('compress: true writes deflated members that read back identically', async () => {
    const comp = path.join(dir, 'compressed');
    await simulateStudy(smallConfig(comp, { compress: true, doses: [1e4], views: [{ name: 'dense', sImg: 1, nGroups: 0 }] }));
    for (const f of ['phase_c/dose_10000/patched_train.npz', 'phase_d/dose_10000/dense/dense_test.npz']) {
      await withNpz(path.join(comp, f), async (arc) => {
        assert.equal(arc.member('diffraction').compression, 'deflated');
        const plain = await readAllArrays(path.join(out, f));
        for (const k of arc.members.keys()) assert.ok(bytesOf(await arc.readArray(k)).equals(bytesOf(plain[k])), `${f} ${k}`);
      });
    }
  });
});

describe('simulate: cancellation', function () {
  this.timeout(120_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('ptycho-sim-abort-')));
  afterEach(() => cleanup());

  async function expectAbort(run: Promise<unknown>): Promise<void> {
    await assert.rejects(run, (err: Error) => {
      assert.equal(err.name, 'AbortError');
      assert.match(err.message, /cancelled/);
      return true;
    });
  }

  it('an already aborted signal stops before anything is written', async () => {
    const out = path.join(dir, 'study');
    const ctl = new AbortController();
    ctl.abort();
    await expectAbort(simulateStudy(smallConfig(out), undefined, ctl.signal));
    assert.equal(fs.existsSync(out), false);
  });

  for (const [label, when] of [
    ['while computing the clean far field', (m: string) => m.startsWith('Computing the clean far field')],
    ['while writing the first Phase C file', (m: string) => m.includes('patched_train.npz')],
    ['during the second dose\'s Phase D views', (m: string) => m.includes('dose 1e4: phase_d')],
  ] as const) {
    it(`aborting ${label} leaves no file behind (no torn file, no temporary file, no partial study)`, async () => {
      const out = path.join(dir, 'study');
      fs.mkdirSync(dir, { recursive: true });
      const keep = path.join(dir, 'unrelated.txt');
      fs.writeFileSync(keep, 'x');
      const ctl = new AbortController();
      let seen = false;
      await expectAbort(simulateStudy(smallConfig(out, { nImages: 600 }), (m) => {
        if (!seen && when(m)) {
          seen = true;
          ctl.abort();
        }
      }, ctl.signal));
      assert.ok(seen);
      assert.deepEqual(listFiles(dir), ['unrelated.txt']);
      assert.equal(fs.existsSync(out), false, 'folders created by the run are removed');
    });
  }

  it('files that already existed in other folders are left alone', async () => {
    const out = path.join(dir, 'study');
    fs.mkdirSync(path.join(out, 'phase_e'), { recursive: true });
    fs.writeFileSync(path.join(out, 'phase_e', 'keep.log'), 'x');
    const ctl = new AbortController();
    await expectAbort(simulateStudy(smallConfig(out), (m) => m.includes('dose 1e4') && ctl.abort(), ctl.signal));
    assert.deepEqual(listFiles(out), ['phase_e/keep.log']);
  });
});

describe('simulate: base dataset and configuration errors', function () {
  this.timeout(60_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir('ptycho-sim-base-')));
  afterEach(() => cleanup());

  async function writeBase(file: string, opts: { probeSize?: number; omit?: string; realObject?: boolean } = {}): Promise<{ object: Float64Array; probe: Float32Array }> {
    const p = opts.probeSize ?? N;
    const m = 150;
    const object = new Float64Array(2 * m * m);
    for (let i = 0; i < m * m; i++) {
      object[2 * i] = 0.8 + 0.1 * Math.sin(i / 7);
      object[2 * i + 1] = 0.2 * Math.cos(i / 13);
    }
    const probe = syntheticProbe(p).data;
    const arrays: Record<string, NdArray> = {
      objectGuess: opts.realObject ? ndarray('<f8', [m, m], new Float64Array(m * m).fill(1)) : ndarray('<c16', [m, m], object),
      probeGuess: ndarray('<c8', [p, p], probe),
      _metadata: scalarString('{}'),
    };
    if (opts.omit) delete arrays[opts.omit];
    await writeNpz(file, arrays);
    return { object, probe };
  }

  it('simulates from a base dataset\'s objectGuess and probeGuess', async () => {
    const base = path.join(dir, 'base.npz');
    const { object, probe } = await writeBase(base);
    const out = path.join(dir, 'study');
    const rep = await simulateStudy(smallConfig(out, { baseNpz: base, doses: [1e4], views: [{ name: 'dense', sImg: 1, nGroups: 0 }] }));
    assert.equal(rep.doses.length, 1);
    const a = await readAllArrays(path.join(out, 'phase_c', 'dose_10000', 'patched_train.npz'));
    assert.deepEqual(a.objectGuess.shape, [150, 150]);
    assert.deepEqual(a.objectGuess.data, Float32Array.from(object));
    assert.deepEqual(a.probeGuess.data, probe);
    for (const c of [...(a.xcoords.data as Float64Array), ...(a.ycoords.data as Float64Array)]) assert.ok(c >= N / 2 + 1 && c < 150 - N / 2 - 1);
    const meta = await metadataOf(path.join(out, 'phase_c', 'dose_10000', 'patched_train.npz'));
    assert.equal(meta.additional_parameters.input_file, base);
  });

  it('names the file and the key when the base dataset does not fit', async () => {
    const out = path.join(dir, 'study');
    const missing = path.join(dir, 'missing.npz');
    await assert.rejects(simulateStudy(smallConfig(out, { baseNpz: missing })), (e: Error) => e.message.includes(missing) && /does not exist/.test(e.message));
    const noProbe = path.join(dir, 'noprobe.npz');
    await writeBase(noProbe, { omit: 'probeGuess' });
    await assert.rejects(simulateStudy(smallConfig(out, { baseNpz: noProbe })), (e: Error) => e.message.includes(noProbe) && /has no probeGuess array/.test(e.message));
    const real = path.join(dir, 'real.npz');
    await writeBase(real, { realObject: true });
    await assert.rejects(simulateStudy(smallConfig(out, { baseNpz: real })), (e: Error) => e.message.includes(real) && /objectGuess .* must be complex/.test(e.message));
    const big = path.join(dir, 'big.npz');
    await writeBase(big, { probeSize: 64 });
    await assert.rejects(simulateStudy(smallConfig(out, { baseNpz: big })), (e: Error) => e.message.includes(big) && /probeGuess .* is 64×64.*but size is 32/.test(e.message));
    const odd = path.join(dir, 'odd.npz');
    await writeBase(odd, { probeSize: 48 });
    await assert.rejects(simulateStudy(smallConfig(out, { baseNpz: odd })), (e: Error) => e.message.includes(odd) && /48×48; the simulator needs a power-of-two probe size/.test(e.message));
    const notZip = path.join(dir, 'text.npz');
    fs.writeFileSync(notZip, 'not a zip archive at all, just some text that is long enough');
    await assert.rejects(simulateStudy(smallConfig(out, { baseNpz: notZip })), (e: Error) => e.message.includes(notZip));
    assert.equal(fs.existsSync(out), false);
  });

  it('rejects invalid configurations with a sentence naming the problem', async () => {
    const out = path.join(dir, 'study');
    const cases: [Partial<SimulationConfig>, RegExp][] = [
      [{ doses: [] }, /At least one dose/],
      [{ doses: [1000, -5] }, /Dose -5 is not valid/],
      [{ doses: [1000, 1000.4] }, /both be written to dose_1000/],
      [{ size: 48 }, /size must be a power of two/],
      [{ nImages: 3 }, /nImages must be an integer ≥ 8/],
      [{ splitFraction: 1 }, /splitFraction must be between 0 and 1/],
      [{ neighborCount: 3 }, /neighborCount must be an integer ≥ 4/],
      [{ views: [{ name: 'a/b', sImg: 0.5, nGroups: 0 }] }, /not a valid folder name/],
      [{ views: [{ name: 'dense', sImg: 0, nGroups: 0 }] }, /s_img must be in \(0, 1\]/],
      [{ views: [{ name: 'dense', sImg: 1, nGroups: 0 }, { name: 'dense', sImg: 0.5, nGroups: 0 }] }, /listed twice/],
      [{ objectSize: 20 }, /objectSize must be an integer ≥ size \+ 4/],
      [{ baseNpz: 'x.npz', objectSize: 300 }, /cannot be combined with baseNpz/],
      [{ timestamp: 'yesterday' }, /not an ISO 8601 date/],
      [{ nImages: 8, views: [{ name: 'tiny', sImg: 0.1, nGroups: 0 }] }, /View tiny, train split: .*keeps no image/],
      [{ nImages: 16, views: [{ name: 'few', sImg: 0.4, nGroups: 0 }] }, /View few, .* split: s_img=0.4 keeps \d of \d+ images, but a gridsize 2 group needs 4/],
    ];
    for (const [extra, re] of cases) await assert.rejects(simulateStudy(smallConfig(out, extra)), re, JSON.stringify(extra));
    assert.equal(fs.existsSync(out), false);
  });

  it('the default configuration is the study design', () => {
    const cfg = defaultSimulationConfig('/tmp/x');
    assert.deepEqual(
      [cfg.doses, cfg.nImages, cfg.size, cfg.seed, cfg.splitFraction, cfg.neighborCount, cfg.compress],
      [[1000, 10000, 100000], 400, 64, 42, 0.5, 7, false],
    );
    assert.deepEqual(cfg.views, [{ name: 'dense', sImg: 1, nGroups: 0 }, { name: 'sparse', sImg: 0.4, nGroups: 0 }]);
    assert.equal(defaultObjectSize(64, 400), 256);
    assert.equal(defaultObjectSize(64, 2000), 424);
    assert.equal(defaultObjectSize(128, 400), 512);
  });
});
