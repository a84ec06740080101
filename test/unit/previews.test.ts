// The per-epoch reconstruction previews (core/run/previews.ts): uint8 quantisation within one step of the range,
// holes kept as holes, a bounded file size (50 epochs of the default 96 × 96 window in a few MB), the files read
// back by name, a foreign NPZ refused, and a fresh run clearing the previous run's previews.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeNpz, ndarray } from '../../src/core/npy/writer';
import { clearPreviews, listPreviews, quantisePreview, readPreview, writePreview } from '../../src/core/run/previews';
import { tempDir } from './helpers/paths';

describe('reconstruction previews per epoch', () => {
  const tmp = tempDir('ptycho-previews-');
  after(() => tmp.cleanup());
  const region = { x0: 10, y0: 20, width: 96, height: 96 };
  function window(seed: number): { object: Float32Array; weight: Float32Array } {
    const n = region.width * region.height;
    const object = new Float32Array(2 * n);
    const weight = new Float32Array(n);
    for (let q = 0; q < n; q++) {
      const a = 0.5 + 0.4 * Math.sin(q * 0.013 + seed);
      const p = 2.5 * Math.cos(q * 0.007 - seed);
      object[2 * q] = a * Math.cos(p);
      object[2 * q + 1] = a * Math.sin(p);
      weight[q] = q % 97 === 0 ? 0 : 1; // a few holes
    }
    return { object, weight };
  }

  it('quantises amplitude and phase to within one step, keeps holes, and reads back what it wrote', async () => {
    const { object, weight } = window(1);
    const p = quantisePreview(3, region, object, weight);
    const file = path.join(tmp.dir, 'job', await writePreview(path.join(tmp.dir, 'job'), p));
    assert.equal(path.basename(file), 'epoch_003.npz');
    const back = await readPreview(file);
    assert.deepEqual([back.epoch, back.width, back.height, back.region], [3, 96, 96, region]);
    const [lo, hi] = back.amplitudeRange;
    let worstA = 0;
    let worstP = 0;
    for (let q = 0; q < 96 * 96; q++) {
      if (weight[q] === 0) {
        assert.equal(back.covered[q], 0, 'a hole stays a hole');
        continue;
      }
      const a = Math.hypot(object[2 * q], object[2 * q + 1]);
      worstA = Math.max(worstA, Math.abs(lo + (back.amplitude[q] / 255) * (hi - lo) - a));
      const ph = Math.atan2(object[2 * q + 1], object[2 * q]);
      const d = Math.abs(-Math.PI + (back.phase[q] / 255) * 2 * Math.PI - ph);
      worstP = Math.max(worstP, Math.min(d, 2 * Math.PI - d));
    }
    assert.ok(worstA <= (hi - lo) / 255 / 2 + 1e-6, `amplitude within half a step (${worstA})`);
    assert.ok(worstP <= Math.PI / 255 + 1e-6, `phase within half a step (${worstP})`);
  });

  it('50 epochs of the default window stay under 2 MB; listed in order; a fresh run clears them', async () => {
    const dir = path.join(tmp.dir, 'many');
    let bytes = 0;
    for (let e = 1; e <= 50; e++) {
      const { object, weight } = window(e);
      const rel = await writePreview(dir, quantisePreview(e, region, object, weight));
      bytes += fs.statSync(path.join(dir, rel)).size;
    }
    assert.ok(bytes < 2 << 20, `${bytes} bytes for 50 previews`);
    assert.deepEqual(listPreviews(dir), Array.from({ length: 50 }, (_, i) => i + 1));
    fs.writeFileSync(path.join(dir, 'previews', 'notes.txt'), 'x');
    assert.equal(listPreviews(dir).length, 50, 'only epoch_NNN.npz files count');
    await clearPreviews(dir);
    assert.deepEqual(listPreviews(dir), []);
  });

  it('refuses a file that is not a preview, naming it', async () => {
    const file = path.join(tmp.dir, 'foreign.npz');
    await writeNpz(file, { amplitude: ndarray('<f4', [2, 2], new Float32Array(4)) });
    await assert.rejects(readPreview(file), /foreign\.npz: amplitude is not a uint8 image/);
  });

  it('never writes through a previews/ folder symlinked out of the job folder', async () => {
    const job = fs.mkdtempSync(path.join(tmp.dir, 'hostile-'));
    const outside = fs.mkdtempSync(path.join(tmp.dir, 'outside-'));
    fs.symlinkSync(outside, path.join(job, 'previews'));
    const { object, weight } = window(1);
    await assert.rejects(writePreview(job, quantisePreview(1, region, object, weight)), /symbolic link to .*outside/);
    assert.deepEqual(fs.readdirSync(outside), []);
  });
});
