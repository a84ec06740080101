// NumPy compatibility of the run artifacts: reconstruction.npz and checkpoint.npz, written by the workbench's
// writers from fixed inputs, must equal the committed files byte for byte; those committed files were loaded by
// numpy.load (test/fixtures/artifacts/check_with_numpy.py), and what NumPy saw (numpy_view.json) must equal
// what our reader sees. No Python at test time.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz } from '../../src/core/npy';
import { writeReconstruction } from '../../src/core/run/artifacts';
import { readModelData, saveCheckpoint, type ModelData, type TrainingState } from '../../src/core/train/checkpoint';
import type { Reconstruction } from '../../src/core/train/reconstruct';
import { fixturesDir, tempDir } from './helpers/paths';

const DIR = path.join(fixturesDir, 'artifacts');
const MTIME = new Date('2026-01-01T00:00:00Z');

function reconstruction(): Reconstruction {
  const width = 7;
  const height = 5;
  const object = new Float32Array(2 * width * height);
  const gt = new Float32Array(2 * width * height);
  const weight = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    object[2 * i] = Math.cos(i / 3) * (0.5 + i / 70);
    object[2 * i + 1] = Math.sin(i / 3) * (0.5 + i / 70);
    gt[2 * i] = Math.cos(i / 3.1);
    gt[2 * i + 1] = Math.sin(i / 3.1);
    weight[i] = i % 5 === 0 ? 0 : 1 + (i % 3) / 4;
  }
  return { region: { x0: 12, y0: 30, width, height }, width, height, object, weight, groundTruth: gt, groups: 9, seconds: 1, groupsPerSec: 9 };
}

function state(): TrainingState {
  const params = new Map([['enc0.conv0.weight', Float32Array.from({ length: 2 * 1 * 3 * 3 }, (_, i) => (i - 9) / 17)], ['log_scale', Float32Array.from([1.1447])]]);
  const m = new Map([['enc0.conv0.weight', Float32Array.from({ length: 18 }, (_, i) => i * 1e-4)]]);
  const v = new Map([['enc0.conv0.weight', Float32Array.from({ length: 18 }, (_, i) => i * 1e-7)]]);
  return {
    params, m, v, epoch: 3, stepInEpoch: 2, step: 35, lr: 5e-4, best: 0.21, plateauWait: 1, stopWait: 1, epochLossSum: 0.5, epochLossCount: 2,
    history: [{ epoch: 1, trainLoss: 0.3, valLoss: 0.29, lr: 1e-3, seconds: 2 }, { epoch: 2, trainLoss: 0.25, valLoss: null, lr: 1e-3, seconds: 2 }],
    elapsedSeconds: 4, finished: false, configKey: '0123456789abcdef',
  };
}

const shapes = new Map<string, number[]>([['enc0.conv0.weight', [2, 1, 3, 3]], ['log_scale', [1]]]);

/** The probe and positions a checkpoint stores for scoring without the data files (ModelData). */
function modelData(): ModelData {
  const probe = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => (i % 2 ? -1 : 1) * (1 + i) / 7);
  return {
    probe: { height: 3, width: 3, data: probe },
    train: { xs: Float64Array.from([40.5, 41, 43.25, 47]), ys: Float64Array.from([50, 52.5, 49, 51]) },
    test: { xs: Float64Array.from([60, 61.5]), ys: Float64Array.from([70.25, 69]) },
  };
}

describe('run artifacts load in NumPy', () => {
  const tmp = tempDir('ptycho-artifacts-');
  after(() => tmp.cleanup());

  it('our writers reproduce the committed, NumPy-checked files byte for byte', async () => {
    const out = process.env.UPDATE_FIXTURES ? DIR : tmp.dir;
    await writeReconstruction(out, reconstruction(), { jobId: 'dose_1000/baseline/gs1', split: 'test', cropSize: 20, datasetPath: 'patched_test.npz' }, { mtime: MTIME });
    await saveCheckpoint(path.join(out, 'checkpoint.npz'), state(), shapes, { mtime: MTIME, data: modelData() });
    for (const f of ['reconstruction.npz', 'checkpoint.npz']) {
      assert.ok(fs.readFileSync(path.join(out, f)).equals(fs.readFileSync(path.join(DIR, f))), `${f} differs from the committed fixture (regenerate: UPDATE_FIXTURES=1, then run check_with_numpy.py)`);
    }
  });

  it('what numpy.load saw in them is what our reader reads', async () => {
    const view = JSON.parse(fs.readFileSync(path.join(DIR, 'numpy_view.json'), 'utf8')) as {
      files: Record<string, Record<string, { dtype: string; shape: number[]; sum_re?: number | string; sum_im?: number | string; values?: number[]; text?: string }>>;
      checkpoint_state_keys: string[];
    };
    for (const [file, members] of Object.entries(view.files)) {
      const a = await openNpz(path.join(DIR, file));
      assert.deepEqual([...a.members.keys()].sort(), Object.keys(members).sort(), `${file}: members`);
      for (const [name, want] of Object.entries(members)) {
        const arr = await a.readArray(name);
        assert.equal(arr.dtype.descr.replace('|', '<').replace('<U', '<U'), want.dtype.replace('|', '<'), `${file}[${name}] dtype`);
        assert.deepEqual(arr.shape, want.shape, `${file}[${name}] shape`);
        if (want.sum_re !== undefined) {
          const d = arr.data as Float32Array;
          const complex = want.dtype.includes('c');
          let re = 0;
          let im = 0;
          for (let i = 0; i < d.length; i += complex ? 2 : 1) {
            re += d[i];
            if (complex) im += d[i + 1];
          }
          // numpy_view.json writes non-finite sums as strings ('nan').
          const close = (got: number, exp: number | string): boolean => (typeof exp === 'string' ? String(got) === 'NaN' && exp === 'nan' : Math.abs(got - exp) < 1e-4 * Math.max(1, Math.abs(exp)));
          assert.ok(close(re, want.sum_re), `${file}[${name}] sum ${re} vs numpy ${want.sum_re}`);
          assert.ok(close(im, want.sum_im!), `${file}[${name}] imaginary sum ${im} vs numpy ${want.sum_im}`);
        }
        if (want.values) assert.deepEqual(Array.from(arr.data as Int32Array).slice(0, 8), want.values);
        if (typeof want.text === 'string') assert.equal((arr.data as string[])[0], want.text);
      }
      await a.close();
    }
    assert.ok(view.checkpoint_state_keys.includes('configKey') && view.checkpoint_state_keys.includes('stepInEpoch'));
    // The stored probe and positions read back exactly (NumPy saw complex64 and float64 members above).
    assert.deepEqual(await readModelData(path.join(DIR, 'checkpoint.npz')), modelData());
    assert.equal(view.files['checkpoint.npz']['data.probe'].dtype, '<c8');
  });
});
