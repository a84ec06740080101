// Nearest-neighbour index against brute force, gridsize-2 group formation (K-NN pools without the seed)
// and subsampling.
import { strict as assert } from 'node:assert';
import { formGroups, GROUP_SIZE, knnBruteForce, PointIndex, subsampleIndices } from '../../src/core/simulate/grouping';
import { Rng } from '../../src/core/simulate/rng';

function randomPoints(n: number, seed: number, span = 500): { xs: Float64Array; ys: Float64Array } {
  const r = new Rng(seed, 'points');
  return { xs: Float64Array.from({ length: n }, () => r.uniformIn(0, span)), ys: Float64Array.from({ length: n }, () => r.uniformIn(0, span * 0.6)) };
}

describe('simulate: nearest-neighbour index', () => {
  it('knn equals brute force (random points, with and without excluding the query point)', () => {
    const { xs, ys } = randomPoints(3000, 1);
    const index = new PointIndex(xs, ys);
    const r = new Rng(2);
    for (let t = 0; t < 300; t++) {
      const i = r.int(xs.length);
      for (const k of [1, 7, 25]) {
        assert.deepEqual([...index.knn(xs[i], ys[i], k, i)], knnBruteForce(xs, ys, xs[i], ys[i], k, i), `point ${i}, k=${k}`);
      }
      // Arbitrary query points, also outside the points' bounding box.
      const qx = r.uniformIn(-100, 600);
      const qy = r.uniformIn(-100, 400);
      assert.deepEqual([...index.knn(qx, qy, 7)], knnBruteForce(xs, ys, qx, qy, 7));
    }
  });

  it('ties (a lattice), duplicates and degenerate layouts: lower index first, exact results', () => {
    const lat = { xs: [] as number[], ys: [] as number[] };
    for (let y = 0; y < 10; y++) for (let x = 0; x < 10; x++) { lat.xs.push(x * 5); lat.ys.push(y * 5); }
    lat.xs.push(25, 25);
    lat.ys.push(25, 25); // duplicates of point 55
    const index = new PointIndex(lat.xs, lat.ys);
    for (let i = 0; i < lat.xs.length; i++) assert.deepEqual([...index.knn(lat.xs[i], lat.ys[i], 9, i)], knnBruteForce(lat.xs, lat.ys, lat.xs[i], lat.ys[i], 9, i));
    assert.deepEqual([...index.knn(25, 25, 3, 55)], [100, 101, 45]);
    const line = { xs: Array.from({ length: 200 }, (_, i) => i * 0.5), ys: new Array(200).fill(3) };
    const li = new PointIndex(line.xs, line.ys);
    for (const i of [0, 57, 199]) assert.deepEqual([...li.knn(line.xs[i], 3, 6, i)], knnBruteForce(line.xs, line.ys, line.xs[i], 3, 6, i));
    const same = new PointIndex([4, 4, 4, 4], [1, 1, 1, 1]);
    assert.deepEqual([...same.knn(4, 1, 2, 0)], [1, 2]);
    assert.deepEqual([...same.knn(4, 1, 10)], [0, 1, 2, 3]);
    assert.deepEqual([...new PointIndex([], []).knn(0, 0, 3)], []);
  });

  it('within(r) equals brute force (strictly closer than r)', () => {
    const { xs, ys } = randomPoints(2000, 3);
    const index = new PointIndex(xs, ys);
    const r = new Rng(4);
    for (let t = 0; t < 200; t++) {
      const qx = r.uniformIn(0, 500);
      const qy = r.uniformIn(0, 300);
      const rad = r.uniformIn(1, 60);
      const want: number[] = [];
      for (let i = 0; i < xs.length; i++) if ((xs[i] - qx) ** 2 + (ys[i] - qy) ** 2 < rad * rad) want.push(i);
      assert.deepEqual(index.within(qx, qy, rad), want);
    }
  });

  it('handles 20,000 points quickly', () => {
    const { xs, ys } = randomPoints(20_000, 5, 2000);
    const t0 = performance.now();
    const res = formGroups(xs, ys, 20_000, 7, new Rng(6));
    const ms = performance.now() - t0;
    assert.equal(res.nGroups, 20_000);
    assert.ok(ms < 5000, `grouping 20,000 points took ${ms.toFixed(0)} ms`);
  });
});

describe('simulate: gridsize-2 groups', () => {
  const { xs, ys } = randomPoints(500, 7, 300);

  it('each group holds C=4 distinct members drawn from the seed\'s K nearest neighbours, never the seed', () => {
    const K = 7;
    const res = formGroups(xs, ys, 500, K, new Rng(123, 'grouping'));
    assert.equal(res.groups.length, 500 * GROUP_SIZE);
    assert.deepEqual([...res.seeds], Array.from({ length: 500 }, (_, i) => i), 'n_groups = n: every position seeds one group');
    assert.equal(res.oversampled, false);
    let allNearest = 0;
    for (let g = 0; g < res.nGroups; g++) {
      const seed = res.seeds[g];
      const members = [...res.groups.subarray(g * 4, g * 4 + 4)];
      assert.equal(new Set(members).size, 4, `group ${g} has distinct members`);
      assert.ok(!members.includes(seed), `group ${g} excludes its seed`);
      const nn = knnBruteForce(xs, ys, xs[seed], ys[seed], K, seed);
      for (const m of members) assert.ok(nn.includes(m), `group ${g}: member ${m} is among the ${K} nearest of ${seed}`);
      if (members.every((m) => nn.slice(0, 4).includes(m))) allNearest++;
    }
    // The choice among the K is random: most groups are not simply the 4 nearest.
    assert.ok(allNearest < res.nGroups / 4, `${allNearest} groups are exactly the 4 nearest`);
  });

  it('fewer groups than positions: distinct random seeds; more: seeds drawn with replacement (oversampling)', () => {
    const few = formGroups(xs, ys, 50, 7, new Rng(1));
    assert.equal(new Set(few.seeds).size, 50);
    const many = formGroups(xs, ys, 1200, 7, new Rng(1));
    assert.equal(many.nGroups, 1200);
    assert.equal(many.oversampled, true);
    for (let g = 0; g < many.nGroups; g++) assert.ok(!many.groups.subarray(g * 4, g * 4 + 4).includes(many.seeds[g]));
  });

  it('is reproducible from its random stream', () => {
    assert.deepEqual(formGroups(xs, ys, 100, 7, new Rng(9, 'g')).groups, formGroups(xs, ys, 100, 7, new Rng(9, 'g')).groups);
    assert.notDeepEqual(formGroups(xs, ys, 100, 7, new Rng(9, 'g')).groups, formGroups(xs, ys, 100, 7, new Rng(10, 'g')).groups);
  });

  it('tiny sets: K is capped at n − 1, and the seed joins the pool only when fewer than C neighbours exist', () => {
    const five = formGroups([0, 1, 2, 3, 4], [0, 0, 0, 0, 0], 5, 7, new Rng(2));
    assert.equal(five.effectiveK, 4);
    for (let g = 0; g < 5; g++) {
      const members = [...five.groups.subarray(g * 4, g * 4 + 4)].sort();
      assert.deepEqual(members, [0, 1, 2, 3, 4].filter((i) => i !== five.seeds[g]));
    }
    const four = formGroups([0, 1, 2, 3], [0, 0, 0, 0], 4, 7, new Rng(2));
    for (let g = 0; g < 4; g++) assert.deepEqual([...four.groups.subarray(g * 4, g * 4 + 4)].sort(), [0, 1, 2, 3]);
  });

  it('rejects K < C and sets smaller than one group', () => {
    assert.throws(() => formGroups(xs, ys, 10, 3, new Rng(1)), /neighbor_count=3 < C=4/);
    assert.throws(() => formGroups([0, 1, 2], [0, 0, 0], 1, 7, new Rng(1)), /at least 4/);
    assert.throws(() => formGroups(xs, ys, 0, 7, new Rng(1)), /n_groups must be/);
  });
});

describe('simulate: subsampling', () => {
  it('keeps ⌊s_img·n⌋ distinct rows in ascending order; s_img = 1 keeps everything', () => {
    const sub = subsampleIndices(1010, 0.4, new Rng(456, 'subsample'));
    assert.equal(sub.length, 404);
    assert.equal(new Set(sub).size, 404);
    for (let i = 1; i < sub.length; i++) assert.ok(sub[i] > sub[i - 1]);
    assert.ok(sub[0] >= 0 && sub[sub.length - 1] < 1010);
    assert.equal(subsampleIndices(30, 0.7, new Rng(1)).length, 21);
    assert.deepEqual([...subsampleIndices(5, 1, new Rng(1))], [0, 1, 2, 3, 4]);
    assert.deepEqual(subsampleIndices(100, 0.3, new Rng(456)), subsampleIndices(100, 0.3, new Rng(456)));
  });

  it('errors when nothing would be kept or s_img is outside (0, 1]', () => {
    assert.throws(() => subsampleIndices(3, 0.2, new Rng(1)), /keeps no image/);
    for (const s of [0, -0.5, 1.5, NaN]) assert.throws(() => subsampleIndices(10, s, new Rng(1)), /s_img must be in \(0, 1\]/);
  });
});
