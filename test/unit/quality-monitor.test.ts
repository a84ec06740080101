// The per-epoch quality window (train/qualityMonitor.ts) stitches its patches as the final reconstruction does:
// with the run's stitching settings (phase synchronisation, hole filling, gridsize-1 crosstalk correction) its
// window is, pixel for pixel, what reconstruct() gives for the same groups on the same canvas — so the phase a
// user watches while training is the phase the run will report, not a plain average that understates it.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildArchitecture, buildInferenceGraph, canvasSize, initialParameters, normalizeProbe, type ModelGraphSpec } from '../../src/core/model';
import { syntheticProbe } from '../../src/core/simulate';
import { buildGroups, selectGroups } from '../../src/core/train/groups';
import { openTrainingDataset } from '../../src/core/train/data';
import { centralGroups, QualityMonitor, windowGroupBudget } from '../../src/core/train/qualityMonitor';
import { coveredPearson } from '../../src/core/run/evaluation';
import { cropObject } from '../../src/core/train/stitch';
import { reconstruct } from '../../src/core/train/reconstruct';
import { COVERED_WEIGHT } from '../../src/core/train/stitch';
import { seeded } from './helpers/ort';
import { tempDir } from './helpers/paths';
import { writeDataset } from './helpers/study';

const N = 32;
const CROP = 16;
const WINDOW = 64;

describe('quality window: how many groups', () => {
  it('counts patterns, not groups: a gridsize-1 window infers as many patterns as a gridsize-2 one (64 groups of 4 at 96 px)', () => {
    assert.deepEqual([windowGroupBudget(96, 4), windowGroupBudget(96, 1)], [64, 256]);
    assert.deepEqual([windowGroupBudget(192, 4), windowGroupBudget(192, 1)], [256, 1024], 'more for a larger window');
    assert.deepEqual([windowGroupBudget(48, 4), windowGroupBudget(48, 1)], [64, 256], 'no fewer for a smaller one');
  });
});

describe('quality window: stitched as the final reconstruction', function () {
  this.timeout(120_000);
  const tmp = tempDir('ptycho-monitor-');
  after(() => tmp.cleanup());

  for (const gridsize of [1, 2]) {
    it(`gridsize ${gridsize}: the window equals reconstruct() on the same groups, for plain and for aligned stitching`, async () => {
      const file = path.join(tmp.dir, `gs${gridsize}.npz`);
      // A curved probe, so that the crosstalk correction has something to correct (a flat one has no phase gradient).
      await writeDataset(file, { n: N, count: 60, probe: syntheticProbe(N).data });
      const data = await openTrainingDataset(file);
      try {
        const groups = buildGroups(data.xs, data.ys, { gridsize, neighborCount: 6, seed: 3, stream: 'test' });
        const arch = buildArchitecture({ n: N, gridsize, filterScale: 1, filters: { encoder: [4, 8], decoder: [8] } });
        const spec: ModelGraphSpec = { arch, batch: 1, canvas: canvasSize(N, groups.maxOffset, false), intensityScale: 1.7, probe: normalizeProbe(data.probe.data, N), trainLogScale: true };
        // Random parameters: patches with structure in amplitude and phase (the initial model's are flat).
        const rnd = seeded(11);
        const params = new Map([...initialParameters(arch, 1, 1.7)].map(([k, v]) => [k, v.map(() => rnd(-0.4, 0.4))]));
        const { which, region } = centralGroups(groups, WINDOW, CROP, 64);
        assert.ok(which.length >= 4, `groups in the window: ${which.length}`);
        const model = buildInferenceGraph({ ...spec, batch: which.length }, params).model;
        const windows: Float32Array[] = [];
        const settings = [undefined, { alignPhase: true, fillHoles: false, crosstalkCorrection: true }, { alignPhase: true, fillHoles: true, crosstalkCorrection: true }, { alignPhase: true, fillHoles: true, crosstalkCorrection: true, centroidRefinement: true }];
        for (const stitch of settings) {
          const monitor = await QualityMonitor.create(spec, data, groups, { ort, provider: 'cpu', cropSize: CROP, windowSize: WINDOW, ...(stitch ? { stitch } : {}) });
          assert.ok(monitor);
          try {
            assert.deepEqual(monitor.region, region);
            const measured = await monitor.measure(1, params, 100);
            const reference = await reconstruct(data, selectGroups(groups, which), { ort, provider: 'cpu', model, batch: which.length, cropSize: CROP, region, ...(stitch ?? {}) });
            assert.equal(measured.groups, which.length);
            // Exact but for float rounding (the graph with parameters fed and the one with them baked in round
            // differently) — which the centroid step, planes fitted to misfits of the rounded patches, can amplify to
            // a few 1e-3 rad: with it, and with hole filling, only the covered pixels are compared, to 1e-2.
            const tolerance = stitch && 'centroidRefinement' in stitch ? 1e-2 : 1e-4;
            let worst = 0;
            for (let q = 0; q < reference.weight.length; q++) {
              if (stitch?.fillHoles && reference.weight[q] < COVERED_WEIGHT) continue;
              for (const k of [2 * q, 2 * q + 1]) worst = Math.max(worst, Math.abs(measured.image.object[k] - reference.object[k]));
              assert.ok(Math.abs(measured.image.weight[q] - reference.weight[q]) <= (stitch?.fillHoles ? 0.01 : 1e-6), `weight at ${q}`);
            }
            assert.ok(worst < tolerance, `largest difference from reconstruct() (${JSON.stringify(stitch ?? 'plain')}): ${worst}`);
            if (stitch) assert.equal(reference.crosstalk !== undefined, gridsize === 1, 'crosstalk correction on gridsize 1 only');
            // The centroid step ran on the window's patterns as on reconstruct()'s (whether it was kept is the data's call).
            if (stitch && 'centroidRefinement' in stitch) assert.equal(reference.centroidRefinement?.patterns, which.length * groups.size);
            else assert.equal(reference.centroidRefinement, undefined);
            windows.push(measured.image.object);
          } finally {
            await monitor.release();
          }
        }
        if (gridsize === 1) {
          // Gridsize 1 weights the window by its half-set FRC as the final reconstruction does (the even and the odd
          // patches of the same predictions), and its r is the final's headline: the covered pixels' r.
          const stitch = { alignPhase: true, fillHoles: true, crosstalkCorrection: true };
          const monitor = await QualityMonitor.create(spec, data, groups, { ort, provider: 'cpu', cropSize: CROP, windowSize: WINDOW, stitch, halfSetFilters: { amplitude: true, phase: true } });
          try {
            const measured = await monitor!.measure(1, params, 100);
            const reference = await reconstruct(data, selectGroups(groups, which), { ort, provider: 'cpu', model, batch: which.length, cropSize: CROP, region, ...stitch, amplitudeFilter: true, phaseFilter: true });
            assert.ok(reference.amplitudeFilter && reference.phaseFilter, 'the reference was weighted');
            let worst = 0;
            let unweighted = 0;
            for (let q = 0; q < reference.weight.length; q++) {
              if (reference.weight[q] < COVERED_WEIGHT) continue;
              for (const k of [2 * q, 2 * q + 1]) {
                worst = Math.max(worst, Math.abs(measured.image.object[k] - reference.object[k]));
                unweighted = Math.max(unweighted, Math.abs(windows[2][k] - reference.object[k]));
              }
            }
            assert.ok(worst < 1e-3, `weighted window against reconstruct(): ${worst}`);
            assert.ok(unweighted > 1e-2, `the weighting changed the window (by ${unweighted})`);
            const covered = coveredPearson(measured.image.object, cropObject(data.object!, region), measured.image.weight, region.width);
            assert.ok(Math.abs(measured.amplitude.pearson! - covered.amplitude!) < 1e-6, `window r ${measured.amplitude.pearson} = covered r ${covered.amplitude}`);
          } finally {
            await monitor!.release();
          }
        }
        // The settings reach the window: aligned stitching changes it.
        let moved = 0;
        for (let k = 0; k < windows[0].length; k++) moved = Math.max(moved, Math.abs(windows[0][k] - windows[1][k]));
        assert.ok(moved > 1e-3, `aligned and plain windows differ (by ${moved})`);
      } finally {
        await data.close();
      }
    });
  }
});
