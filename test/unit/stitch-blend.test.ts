// training.stitchBlend (README item 23): the taper blends each patch with cos²(π·d/L) weights instead of its hard
// M×M crop — the weights are exactly those, the coverage and the holes stay the crops', a step between two
// disagreeing patches is spread instead of cut, 'auto' resolves by gridsize and object support, and the setting
// reaches the run. The probe blend (README item 29) weights each patch pixel by its patterns' probe intensity.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTrainingSettings } from '../../src/core/study';
import { probeBlendFor, resolveStitchBlend, Stitcher, stitcherFor, stitchFillFor, stitchTaperWidth, type StitchRegion } from '../../src/core/train';
import { repoRoot, tempDir } from './helpers/paths';
import { makeStudy } from './helpers/study';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const N = 32;
const M = 8;
const L = N / 2;

/** A patch of constant amplitude `a` and phase `phi` on all N×N. */
function flatPatch(a: number, phi: number): { amplitude: Float32Array; phase: Float32Array } {
  return { amplitude: new Float32Array(N * N).fill(a), phase: new Float32Array(N * N).fill(phi) };
}

const cos2 = (d: number): number => (Math.abs(d) < L / 2 ? Math.cos((Math.PI * d) / L) ** 2 : 0);

describe('stitch blending (training.stitchBlend)', () => {
  // Two patches on one row, 6 px apart: their 8-px crops overlap by 2 px, their 16-px tapers by 10.
  const region: StitchRegion = { x0: 0, y0: 0, width: 40, height: 20 };
  const centers = [[14, 10], [20, 10]];
  const values = [0.4, 1.0];
  const stitch = (taper: number, fill: boolean): { object: Float32Array; weight: Float32Array } => {
    const s = new Stitcher(region, N, M, fill ? stitchFillFor(N, M) : undefined, taper);
    centers.forEach(([cx, cy], g) => {
      const p = flatPatch(values[g], 0);
      s.add(p.amplitude, p.phase, cx, cy);
    });
    return s.result();
  };

  it('weights every pixel of a patch by cos²(π·d/L) per axis, d from the patch centre', () => {
    const { object } = stitch(L, true);
    const row = 10;
    for (let x = 8; x <= 26; x++) {
      const w = centers.map(([cx, cy]) => cos2(x - cx) * cos2(row - cy));
      // Floored at 1e-3 (a crop pixel, and a fill pixel at the ring's weight), so every pixel a patch reaches counts.
      const wf = w.map((v) => Math.max(v, 1e-3));
      const expected = (wf[0] * values[0] + wf[1] * values[1]) / (wf[0] + wf[1]);
      assert.ok(Math.abs(object[2 * (row * region.width + x)] - expected) < 1e-5, `x ${x}: ${object[2 * (row * region.width + x)]} vs ${expected}`);
    }
  });

  it('keeps the crops\' coverage, and without hole filling the holes stay holes', () => {
    for (const fill of [false, true]) {
      const crop = stitch(0, fill);
      const taper = stitch(L, fill);
      assert.deepEqual(Array.from(taper.weight), Array.from(crop.weight), `coverage, fill ${fill}`);
      for (let q = 0; q < crop.weight.length; q++) {
        if (crop.weight[q] === 0) assert.equal(taper.object[2 * q], 0, `pixel ${q} is a hole of the crops (fill ${fill})`);
      }
    }
  });

  it('spreads the step between two disagreeing patches instead of cutting it at the crops\' edge', () => {
    // Across the two crops (x 10…23); outside them are the holes.
    const largestJump = (r: { object: Float32Array }): number => {
      let worst = 0;
      for (let x = 11; x < 24; x++) worst = Math.max(worst, Math.abs(r.object[2 * (10 * region.width + x)] - r.object[2 * (10 * region.width + x - 1)]));
      return worst;
    };
    const crop = largestJump(stitch(0, true));
    const taper = largestJump(stitch(L, true));
    // The crops overlap in 2 px: the 0.6 step falls in two jumps of 0.3; the taper spreads it over its 10-px overlap.
    assert.ok(crop > 0.29, `crop: largest jump ${crop}`);
    assert.ok(taper < 0.2, `taper: largest jump ${taper}`);
  });

  it('resolves auto to the taper for gridsize 2 on the central support and to the crops for gridsize 1, and the stitcher follows it', () => {
    assert.equal(resolveStitchBlend('auto', 4), 'taper');
    assert.equal(resolveStitchBlend('auto', 1), 'crop');
    assert.equal(resolveStitchBlend(undefined, 4), 'crop');
    assert.equal(stitchTaperWidth(resolveStitchBlend('auto', 4), 64), 32);
    assert.equal(stitchTaperWidth(resolveStitchBlend('auto', 1), 64), 0);
    assert.equal(stitchTaperWidth('crop', 64), 0);
    assert.equal(stitchTaperWidth('taper', 64), 32);
    const probe = new Float32Array(2 * N * N);
    const run = (blend: 'auto' | 'crop', groupSize: number): Float32Array => {
      const s = stitcherFor(region, N, M, 2, { blend: resolveStitchBlend(blend, groupSize) }, probe, groupSize);
      centers.forEach(([cx, cy], g) => {
        const p = flatPatch(values[g], 0);
        s.add(p.amplitude, p.phase, cx, cy);
      });
      return s.result().object;
    };
    assert.deepEqual(Array.from(run('auto', 1)), Array.from(run('crop', 1)), 'gridsize 1: auto is the crops');
    assert.notDeepEqual(Array.from(run('auto', 4)), Array.from(run('crop', 4)), 'gridsize 2: auto tapers');
    assert.throws(() => new Stitcher(region, N, M, undefined, N + 2), /taper width must be 0 or in \[2, N=32\]/);
  });

  // A Gaussian probe, interleaved complex (its phase does not matter: the blend reads |P|²).
  const gaussProbe = (sigma: number): Float32Array => {
    const p = new Float32Array(2 * N * N);
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      const a = Math.exp(-((i - N / 2) ** 2 + (j - N / 2) ** 2) / (4 * sigma * sigma));
      p[2 * (i * N + j)] = a * Math.cos(0.3 * j);
      p[2 * (i * N + j) + 1] = a * Math.sin(0.3 * j);
    }
    return p;
  };

  it('probe: weights every pixel of a patch by its patterns\' probe intensity Σ|P(x − r_k)|², over the whole patch', () => {
    const probe = gaussProbe(5);
    const blend = probeBlendFor(probe, N);
    const intensity = (i: number, j: number): number => (i >= 0 && j >= 0 && i < N && j < N ? blend.intensity[i * N + j] : 0);
    assert.ok(Math.abs(Math.max(...blend.intensity) - 1) < 1e-12, 'normalised to its maximum');
    // Patch 0: one pattern at its centre; patch 1: two patterns at offsets (−2, 0) and (3, 1) from its centre.
    const offsets = [undefined, [-2, 0, 3, 1]];
    const s = new Stitcher(region, N, M, stitchFillFor(N, M), 0, blend);
    centers.forEach(([cx, cy], g) => {
      const p = flatPatch(values[g], 0);
      s.add(p.amplitude, p.phase, cx, cy, 0, 0, N, offsets[g]);
    });
    const { object } = s.result();
    for (const row of [6, 10, 13]) {
      for (let x = 2; x <= 34; x++) {
        // Object (x, row) is patch pixel (row − cy + N/2, x − cx + N/2); pattern k lights it with I(that − r_k).
        const w = [
          intensity(row - 10 + N / 2, x - 14 + N / 2),
          intensity(row - 10 + N / 2, x - 20 + N / 2 + 2) + intensity(row - 10 + N / 2 - 1, x - 20 + N / 2 - 3),
        ];
        // Floored at 1e-3 wherever the patch reaches (a crop pixel, and a fill pixel at the ring's weight), as the taper is.
        const reaches = (cx: number): boolean => x - cx >= -N / 2 && x - cx < N / 2;
        const wf = w.map((v, g) => (reaches(centers[g][0]) ? Math.max(v, 1e-3) : 0));
        const expected = (wf[0] * values[0] + wf[1] * values[1]) / (wf[0] + wf[1]);
        const got = object[2 * (row * region.width + x)];
        assert.ok(Math.abs(got - expected) < 1e-5, `(${x}, ${row}): ${got} vs ${expected}`);
      }
    }
  });

  it('probe: keeps the crops\' coverage and holes, excludes the taper, and auto picks it for gridsize 2 on the full support', () => {
    const probe = gaussProbe(5);
    for (const fill of [false, true]) {
      const crop = stitch(0, fill);
      const s = new Stitcher(region, N, M, fill ? stitchFillFor(N, M) : undefined, 0, probeBlendFor(probe, N));
      centers.forEach(([cx, cy], g) => { const p = flatPatch(values[g], 0); s.add(p.amplitude, p.phase, cx, cy); });
      const probed = s.result();
      assert.deepEqual(Array.from(probed.weight), Array.from(crop.weight), `coverage, fill ${fill}`);
      for (let q = 0; q < crop.weight.length; q++) {
        if (crop.weight[q] === 0) assert.equal(probed.object[2 * q], 0, `pixel ${q} is a hole of the crops (fill ${fill})`);
      }
    }
    assert.throws(() => new Stitcher(region, N, M, undefined, L, probeBlendFor(probe, N)), /the taper or with the probe, not both/);
    assert.equal(resolveStitchBlend('auto', 4, 'full'), 'probe');
    assert.equal(resolveStitchBlend('auto', 4, 'centre'), 'taper');
    assert.equal(resolveStitchBlend('auto', 4), 'taper');
    assert.equal(resolveStitchBlend('auto', 1, 'full'), 'crop');
    assert.equal(resolveStitchBlend('probe', 1, 'centre'), 'probe');
    assert.equal(resolveStitchBlend(undefined, 4, 'full'), 'crop');
    assert.equal(stitchTaperWidth(resolveStitchBlend('auto', 4, 'full'), 64), 0);
    // stitcherFor follows it: the aligned and the plain stitcher blend by the probe, and keep every patch whole.
    for (const alignPhase of [false, true]) {
      const run = (blend: 'probe' | 'crop'): Float32Array => {
        const st = stitcherFor(region, N, M, 2, { blend, alignPhase, fillHoles: true }, probe, 1);
        centers.forEach(([cx, cy], g) => { const p = flatPatch(values[g], 0); st.add(p.amplitude, p.phase, cx, cy); });
        return st.result().object;
      };
      const probed = run('probe');
      const s = new Stitcher(region, N, M, stitchFillFor(N, M), 0, probeBlendFor(probe, N));
      centers.forEach(([cx, cy], g) => { const p = flatPatch(values[g], 0); s.add(p.amplitude, p.phase, cx, cy); });
      const direct = s.result().object;
      for (let q = 0; q < direct.length; q += 2) assert.ok(Math.abs(probed[q] - direct[q]) < 1e-5, `align ${alignPhase}: pixel ${q / 2}`);
      assert.notDeepEqual(Array.from(probed), Array.from(run('crop')), `align ${alignPhase}: the probe blend is not the crops`);
    }
  });

  it('is auto by default, checked, recorded in the run config, and --stitch-blend sets it', async () => {
    assert.equal(resolveTrainingSettings().stitchBlend, 'auto');
    assert.throws(() => resolveTrainingSettings({ stitchBlend: 'feather' as never }), /stitchBlend must be one of auto, crop, taper/);
    const tmp = tempDir('ptycho-blend-');
    try {
      await makeStudy(tmp.dir, { doses: [1000], views: [] });
      const dry = (...flags: string[]) => spawnSync(process.execPath, [CLI, 'dry-run', '--workspace', tmp.dir, '--view', 'baseline', ...flags], { encoding: 'utf8', timeout: 60_000 });
      const blend = (): string => JSON.parse(fs.readFileSync(path.join(tmp.dir, 'phase_e', 'dose_1000', 'baseline', 'gs1', 'run-config.json'), 'utf8')).training.stitchBlend;
      let r = dry();
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(blend(), 'auto');
      r = dry('--stitch-blend', 'taper');
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(blend(), 'taper');
      r = dry('--stitch-blend', 'feather');
      assert.equal(r.status, 2);
      assert.match(r.stderr, /--stitch-blend must be one of auto, crop, taper/);
    } finally {
      tmp.cleanup();
    }
  });

  it('a trained job records the blend auto resolved to, and its log says it', async function () {
    this.timeout(300_000);
    const tmp = tempDir('ptycho-blend-run-');
    try {
      await makeStudy(tmp.dir, { doses: [1000], views: ['dense'] });
      // The fixture's patterns are 64 px: the taper's width is 32.
      const fast = ['train', '--workspace', tmp.dir, '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1'];
      // The defaults: gridsize 2 on the full support blends by the probe, gridsize 1 cuts crops; on the central N/2
      // gridsize 2 tapers.
      const runs = [
        ['dense', 2, 'probe', 0, /patches blended by their patterns' probe intensity/, []],
        ['baseline', 1, 'crop', 0, /patches cut at their 20×20 crops/, []],
        ['dense', 2, 'taper', 32, /patches blended with a cos² taper \(L = 32 px\)/, ['--object-support', 'centre', '--restart']],
      ] as const;
      for (const [view, gs, blend, width, said, more] of runs) {
        const r = spawnSync(process.execPath, [CLI, ...fast, '--view', view, ...more], { encoding: 'utf8', timeout: 240_000 });
        assert.equal(r.status, 0, r.stdout + r.stderr);
        assert.match(r.stdout, said);
        const metrics = JSON.parse(fs.readFileSync(path.join(tmp.dir, 'phase_e', 'dose_1000', view, `gs${gs}`, 'metrics.json'), 'utf8')) as { stitchBlend: string; stitchTaperWidth: number };
        assert.deepEqual([metrics.stitchBlend, metrics.stitchTaperWidth], [blend, width], `${view} ${more.join(' ')}`);
      }
    } finally {
      tmp.cleanup();
    }
  });
});
