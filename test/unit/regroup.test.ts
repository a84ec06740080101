// training.regroupEachEpoch: each gridsize-2 training group's four patterns are drawn afresh from its seed's K
// nearest neighbours every epoch. The pools are the seeds' neighbours, every draw fits the canvas (the exact
// largest offset), draws are seeded by (seed, epoch), validation groups stay fixed, a resumed run ends where an
// uninterrupted one does, and a checkpoint of the other grouping is refused.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { buildGroups, groupPools, largestOffset, redrawGroups } from '../../src/core/train/groups';
import { quietOrt } from '../../src/core/train';
import { PointIndex } from '../../src/core/simulate/grouping';
import { Rng } from '../../src/core/simulate/rng';
import { cancelThenResume, maxParameterDiff, openTrainer, plannedStudy } from './helpers/trainer';

quietOrt(ort);

/** Every way to pick `size` of `items`. */
function subsets<T>(items: T[], size: number): T[][] {
  if (size === 0) return [[]];
  if (items.length < size) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, size - 1).map((s) => [first, ...s]), ...subsets(rest, size)];
}

function scatter(n: number, seed: number): { xs: Float64Array; ys: Float64Array } {
  const rng = new Rng(seed, 'test-scatter');
  // Rounded positions, so ties and equal coordinates occur as in a real scan rounded to pixels.
  return { xs: Float64Array.from({ length: n }, () => Math.round(rng.uniform() * 80)), ys: Float64Array.from({ length: n }, () => Math.round(rng.uniform() * 80)) };
}

describe('regrouping each epoch (training.regroupEachEpoch)', function () {
  this.timeout(300_000);

  it('largestOffset is the exact largest |v − group mean| over every group drawn from a pool', () => {
    for (let trial = 0; trial < 60; trial++) {
      const rng = new Rng(trial, 'largest-offset');
      const k = 4 + (trial % 6);
      const v = Array.from({ length: 12 }, () => Math.round(rng.uniform() * 10) / 2); // ties on purpose
      const pool = Array.from({ length: k }, (_, i) => i);
      let brute = 0;
      for (const s of subsets(pool, 4)) {
        const mean = s.reduce((a, p) => a + v[p], 0) / 4;
        for (const p of s) brute = Math.max(brute, Math.abs(v[p] - mean));
      }
      assert.ok(Math.abs(largestOffset(v, pool, 4) - brute) < 1e-12, `trial ${trial}: ${largestOffset(v, pool, 4)} vs ${brute}`);
    }
  });

  it('pools are each seed\'s K nearest neighbours; each epoch draws 4 distinct of them, seeded, offsets about the centroid, within the bound', () => {
    const { xs, ys } = scatter(120, 5);
    const groups = buildGroups(xs, ys, { gridsize: 2, neighborCount: 7, seed: 9, stream: 'train' });
    const pools = groupPools(xs, ys, groups.anchors, 7, 4);
    const index = new PointIndex(xs, ys);
    assert.equal(pools.k, 7);
    for (let g = 0; g < groups.count; g++) {
      const pool = Array.from(pools.pools.subarray(g * 7, (g + 1) * 7));
      assert.deepEqual(pool, Array.from(index.knn(xs[groups.anchors[g]], ys[groups.anchors[g]], 7, groups.anchors[g])));
      // The run's own grouping (epoch 0) is drawn from the same pools.
      for (let c = 0; c < 4; c++) assert.ok(pool.includes(groups.indices[g * 4 + c]), `group ${g}: the original draw is from its pool`);
    }
    const seen = new Set<string>();
    for (let epoch = 1; epoch <= 30; epoch++) {
      const drawn = redrawGroups(xs, ys, pools, 4, 9, epoch);
      assert.deepEqual(drawn.indices, redrawGroups(xs, ys, pools, 4, 9, epoch).indices, 'the same (seed, epoch) gives the same groups');
      assert.deepEqual(drawn.anchors, groups.anchors);
      assert.ok(drawn.maxOffset <= pools.maxOffset + 1e-12, `epoch ${epoch}: offset ${drawn.maxOffset} beyond the bound ${pools.maxOffset}`);
      for (let g = 0; g < drawn.count; g++) {
        const members = Array.from(drawn.indices.subarray(g * 4, (g + 1) * 4));
        assert.equal(new Set(members).size, 4, 'four distinct patterns');
        const pool = Array.from(pools.pools.subarray(g * 7, (g + 1) * 7));
        for (const p of members) assert.ok(pool.includes(p));
        let sx = 0;
        for (let c = 0; c < 4; c++) {
          const p = members[c];
          assert.ok(Math.abs(xs[p] - drawn.centers[2 * g] - drawn.offsets[(g * 4 + c) * 2]) < 1e-4);
          assert.ok(Math.abs(ys[p] - drawn.centers[2 * g + 1] - drawn.offsets[(g * 4 + c) * 2 + 1]) < 1e-4);
          sx += drawn.offsets[(g * 4 + c) * 2];
        }
        assert.ok(Math.abs(sx) < 1e-4);
      }
      seen.add(Array.from(drawn.indices.subarray(0, 4)).sort((a, b) => a - b).join(','));
    }
    assert.ok(seen.size > 10, `the first seed's group changes between epochs (${seen.size} of 35 possible draws in 30 epochs)`);
    // The bound is reached by some draw: it is exact, not loose.
    let reached = 0;
    for (let epoch = 1; epoch <= 400; epoch++) reached = Math.max(reached, redrawGroups(xs, ys, pools, 4, 9, epoch).maxOffset);
    assert.ok(reached > 0.9 * pools.maxOffset, `draws reach ${reached} of the bound ${pools.maxOffset}`);
  });

  it('a seed with fewer than four neighbours joins its own pool (as formGroups draws it)', () => {
    const xs = Float64Array.from([0, 3, 6, 9]);
    const ys = Float64Array.from([0, 0, 0, 0]);
    const pools = groupPools(xs, ys, Int32Array.from([0, 2]), 7, 4);
    assert.equal(pools.k, 4);
    assert.deepEqual(Array.from(pools.pools.subarray(0, 4)).sort(), [0, 1, 2, 3]);
    const drawn = redrawGroups(xs, ys, pools, 4, 1, 3);
    assert.deepEqual(Array.from(drawn.indices.subarray(0, 4)).sort(), [0, 1, 2, 3]);
    assert.equal(pools.maxOffset, 4.5);
  });

  describe('in the trainer', () => {
    const { tmp, planFor } = plannedStudy('ptycho-regroup-');

    const settings = { epochs: 3, batchSize: 8, nFiltersScale: 1, seed: 11 };

    it('draws new training groups from epoch 2 on, keeps the validation groups, records the choice; off, one grouping', async () => {
      const on = await openTrainer(await planFor({ ...settings, regroupEachEpoch: true }));
      const plan = on.t.plan!;
      assert.ok(plan.trainPools, 'pools are built');
      assert.deepEqual(on.t.trainGroupsOf(0).indices, plan.trainGroups.indices, 'the first epoch uses the run\'s own grouping');
      const e1 = on.t.trainGroupsOf(1);
      const e2 = on.t.trainGroupsOf(2);
      assert.notDeepEqual(e1.indices, plan.trainGroups.indices);
      assert.notDeepEqual(e1.indices, e2.indices);
      assert.deepEqual(e1.anchors, plan.trainGroups.anchors, 'the same seeds, hence the same validation split');
      assert.equal(e1.count, plan.trainGroups.count);
      const validation = new Set(plan.validationGroups.anchors);
      for (const a of e1.anchors) assert.ok(!validation.has(a), 'no validation seed is drawn for training');
      const config = on.t.config;
      await on.close();
      const off = await openTrainer(await planFor(settings));
      assert.equal(off.t.plan!.trainPools, undefined);
      assert.deepEqual(off.t.trainGroupsOf(2).indices, off.t.plan!.trainGroups.indices);
      const again = await openTrainer(config);
      assert.notEqual(off.t.configKey(), again.t.configKey(), 'the config key tells the two groupings apart');
      await again.close();
      await off.close();
    });

    it('a run cancelled inside a regrouped epoch and resumed ends where an uninterrupted run ends; the other grouping\'s checkpoint is refused', async () => {
      const config = await planFor({ ...settings, regroupEachEpoch: true });
      const straight = await openTrainer(config);
      const s1 = straight.t.initialState();
      await straight.t.run(s1);
      const stepsPerEpoch = straight.t.plan!.stepsPerEpoch;
      await straight.close();

      const ckpt = path.join(tmp.dir, 'regroup-ckpt.npz');
      const { outcome, cancelled, resumed: restored } = await cancelThenResume(config, ckpt, stepsPerEpoch + 2);
      assert.equal(outcome.status, 'cancelled');
      assert.equal(cancelled.epoch, 1, 'cancelled inside the second epoch, the first regrouped one');
      assert.equal(restored.step, s1.step);
      const diff = maxParameterDiff(s1, restored);
      assert.ok(diff < 1e-6, `parameters differ by ${diff}`);

      const plain = await openTrainer(await planFor(settings), ckpt);
      await assert.rejects(plain.t.loadState(ckpt), /configuration|config/i);
      await plain.close();
    });
  });
});
