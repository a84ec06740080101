// The scale analysis of a reconstruction (scripts/phase-bands.ts, README item 22) and the per-level MS-SSIM it
// reads: on a reconstruction.npz written by the product, a prediction equal to the truth keeps every band (gain
// and r 1, every MS-SSIM level 1); one whose phase is the truth's times 0.5 and whose amplitude contrast is the
// truth's times 0.8 keeps r 1 and shows those gains in every band; msSsimLevels' product is msSsim.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MS_SSIM_WEIGHTS, msSsim, msSsimLevels } from '../../src/core/metrics';
import { writeReconstruction } from '../../src/core/run/artifacts';
import { bands, SCALES } from '../../scripts/phase-bands';
import { tempDir } from './helpers/paths';

function smoothField(w: number, h: number, seed: number): Float64Array {
  // A sum of a few plane waves of periods 3–80 px: structure at every scale the bands look at.
  const out = new Float64Array(w * h);
  let s = seed;
  const rand = (): number => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let k = 0; k < 24; k++) {
    const period = 3 * Math.pow(80 / 3, k / 23), angle = rand() * Math.PI, phase = rand() * 2 * Math.PI;
    const kx = (Math.cos(angle) * 2 * Math.PI) / period, ky = (Math.sin(angle) * 2 * Math.PI) / period;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] += Math.cos(kx * x + ky * y + phase) / 15;
  }
  return out;
}

describe('analysis:bands and the per-level MS-SSIM', function () {
  this.timeout(60_000);
  const tmp = tempDir('ptycho-bands-');
  after(() => tmp.cleanup());
  const w = 140, h = 100;
  const phi = smoothField(w, h, 7), amp = smoothField(w, h, 11).map((v) => 0.8 + 0.5 * v);
  const complex = (a: (i: number) => number, p: (i: number) => number): Float32Array => {
    const out = new Float32Array(2 * w * h);
    for (let i = 0; i < w * h; i++) { out[2 * i] = a(i) * Math.cos(p(i)); out[2 * i + 1] = a(i) * Math.sin(p(i)); }
    return out;
  };
  const truth = complex((i) => amp[i], (i) => phi[i]);
  const write = async (name: string, object: Float32Array): Promise<string> => {
    const dir = path.join(tmp.dir, name);
    fs.mkdirSync(dir);
    await writeReconstruction(dir, {
      region: { x0: 5, y0: 9, width: w, height: h }, width: w, height: h, object, weight: new Float32Array(w * h).fill(1), groundTruth: truth,
      groups: 1, seconds: 0, groupsPerSec: 0,
    }, { jobId: name, split: 'test', cropSize: 20, datasetPath: 'x.npz' });
    return dir;
  };

  it('the truth itself: every band gain and r 1, every MS-SSIM level 1', async () => {
    const r = await bands(await write('same', truth));
    assert.equal(r.phase.bands.length, SCALES.length);
    for (const b of [...r.phase.bands, ...r.amplitude.bands]) {
      assert.ok(Math.abs(b.gain - 1) < 1e-4 && Math.abs(b.r - 1) < 1e-4, JSON.stringify(b));
    }
    for (const l of [...r.phase.msSsimLevels, ...r.amplitude.msSsimLevels]) assert.ok(Math.abs(l - 1) < 1e-6, String(l));
    assert.ok(Math.abs(r.phase.msSsim - 1) < 1e-6);
  });

  it('a shrunk phase and amplitude contrast: the gain in every band, r still 1, MS-SSIM below 1 at every level', async () => {
    const mean = amp.reduce((s, v) => s + v, 0) / amp.length;
    const r = await bands(await write('shrunk', complex((i) => mean + 0.8 * (amp[i] - mean), (i) => 0.5 * phi[i])));
    for (const b of r.phase.bands) assert.ok(Math.abs(b.gain - 0.5) < 0.02 && b.r > 0.999, `phase ${JSON.stringify(b)}`);
    for (const b of r.amplitude.bands) assert.ok(Math.abs(b.gain - 0.8) < 0.02 && b.r > 0.999, `amplitude ${JSON.stringify(b)}`);
    assert.ok(r.phase.msSsimLevels.every((l) => l < 0.999), JSON.stringify(r.phase.msSsimLevels));
  });

  it('msSsimLevels: the product of its levels, weighted, is msSsim', () => {
    const a = Float64Array.from(phi), b = Float64Array.from(phi, (v, i) => 0.7 * v + 0.05 * Math.sin(i));
    const { value, levels } = msSsimLevels(a, b, w, h, 1);
    assert.equal(levels.length, 5);
    assert.ok(Math.abs(levels.reduce((p, l, k) => p * l ** MS_SSIM_WEIGHTS[k], 1) - value) < 1e-12);
    assert.equal(value, msSsim(a, b, w, h, 1));
  });
});
