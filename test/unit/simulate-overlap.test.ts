// Overlap metrics of domain.md §4.2(b): disc overlap fraction, metrics 1–3 on hand-computed examples and
// against brute force, geometry acceptance bound, and the per-split JSON field list.
import { strict as assert } from 'node:assert';
import { Rng } from '../../src/core/simulate/rng';
import {
  computeOverlapMetrics, discOverlapFraction, GEOMETRY_ACCEPTANCE_EPS, geometryAcceptance, metric1GroupBased,
  metric2ImageBased, metric3GroupToGroup,
} from '../../src/core/simulate/overlap';

const close = (a: number, b: number, tol = 1e-6): void => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

describe('simulate: disc overlap fraction', () => {
  it('f(0) = 1, f(R) ≈ 0.391, f(d ≥ D) = 0', () => {
    close(discOverlapFraction(0, 10), 1, 1e-15);
    close(discOverlapFraction(5, 10), 2 / 3 - Math.sqrt(3) / (2 * Math.PI), 1e-12);
    assert.ok(discOverlapFraction(5, 10) > 0.39 && discOverlapFraction(5, 10) < 0.392);
    assert.equal(discOverlapFraction(10, 10), 0);
    assert.equal(discOverlapFraction(25, 10), 0);
    assert.throws(() => discOverlapFraction(1, 0), /probe_diameter_px must be > 0/);
  });

  it('matches the area counted on a fine grid, and decreases monotonically', () => {
    const D = 20;
    const R = D / 2;
    const h = 0.05;
    for (const d of [2, 7.5, 13, 19]) {
      let both = 0;
      for (let x = -R; x <= R; x += h) {
        for (let y = -R; y <= R; y += h) {
          if (x * x + y * y < R * R && (x - d) ** 2 + y * y < R * R) both++;
        }
      }
      const f = (both * h * h) / (Math.PI * R * R);
      assert.ok(Math.abs(discOverlapFraction(d, D) - f) < 0.01, `d=${d}: ${discOverlapFraction(d, D)} vs grid ${f}`);
    }
    let prev = 1;
    for (let d = 0; d <= 20; d += 0.25) {
      const f = discOverlapFraction(d, D);
      assert.ok(f <= prev + 1e-15);
      prev = f;
    }
  });
});

describe('simulate: overlap metrics', () => {
  // Square of side 10 with D = 20 (R = 10): edges at d = R, diagonals at d = 10√2.
  const xs = [0, 10, 0, 10];
  const ys = [0, 0, 10, 10];
  const D = 20;
  // By hand: f(10) = 2/3 − √3/(2π) = 0.3910022; f(10√2): acos(1/√2) = π/4,
  // A = 200·π/4 − 5√2·√200 = 50π − 100, f = (50π − 100)/(100π) = 0.5 − 1/π = 0.1816901.
  const fEdge = 2 / 3 - Math.sqrt(3) / (2 * Math.PI);
  const fDiag = 0.5 - 1 / Math.PI;
  const perMember = (2 * fEdge + fDiag) / 3; // 0.3212315

  it('metric 1: every member averages f over the other members of its group', () => {
    close(fDiag, discOverlapFraction(10 * Math.SQRT2, D), 1e-12);
    close(metric1GroupBased(xs, ys, [0, 1, 2, 3], 4, 7, D), perMember, 1e-12);
    close(perMember, 0.3212315, 1e-6);
    // K = 1 keeps only the nearest other member (an edge).
    close(metric1GroupBased(xs, ys, [0, 1, 2, 3], 4, 1, D), fEdge, 1e-12);
    // Two groups: the square and a collapsed group of one position (f(0) = 1 for all members).
    close(metric1GroupBased(xs, ys, [0, 1, 2, 3, 2, 2, 2, 2], 4, 7, D), (perMember + 1) / 2, 1e-12);
  });

  it('metric 2: de-duplicates exact positions, then averages f to up to K nearest others', () => {
    const m = metric2ImageBased(xs, ys, 7, D);
    close(m.value, perMember, 1e-12);
    assert.equal(m.nUnique, 4);
    const dup = metric2ImageBased([...xs, 0, 10], [...ys, 0, 0], 7, D);
    assert.equal(dup.nUnique, 4);
    close(dup.value, perMember, 1e-12);
    close(metric2ImageBased(xs, ys, 2, D).value, fEdge, 1e-12);
    assert.deepEqual(metric2ImageBased([3], [4], 7, D), { value: 0, nUnique: 1 });
  });

  it('metric 3: centres of mass; mean f over groups closer than D; 0 for isolated groups', () => {
    // COMs (5, 5) and (10, 5): d = 5, f(5; D=20) by hand: acos(1/4) = 1.3181161, A = 200·1.3181161 − 2.5·√375
    // = 263.62321 − 48.41229 = 215.21092, f = 215.21092 / (100π) = 0.6850376.
    const two = metric3GroupToGroup(xs, ys, [0, 1, 2, 3, 1, 3, 1, 3], 4, D);
    close(two, 0.6850376, 1e-6);
    // A third group far away contributes 0 and has no overlapping neighbour.
    const far = metric3GroupToGroup([...xs, 500], [...ys, 500], [0, 1, 2, 3, 1, 3, 1, 3, 4, 4, 4, 4], 4, D);
    close(far, (2 * 0.6850376) / 3, 1e-6);
    assert.equal(metric3GroupToGroup(xs, ys, [0, 1, 2, 3], 4, D), 0);
  });

  it('metrics 2 and 3 agree with O(n²) brute force on random layouts', () => {
    const r = new Rng(8);
    const n = 400;
    const px = Array.from({ length: n }, () => r.uniformIn(0, 300));
    const py = Array.from({ length: n }, () => r.uniformIn(0, 300));
    const d = (i: number, j: number): number => Math.hypot(px[i] - px[j], py[i] - py[j]);
    let m2 = 0;
    for (let i = 0; i < n; i++) {
      const others = Array.from({ length: n }, (_, j) => j).filter((j) => j !== i).sort((a, b) => d(i, a) - d(i, b)).slice(0, 7);
      m2 += others.reduce((s, j) => s + discOverlapFraction(d(i, j), 32), 0) / 7;
    }
    close(metric2ImageBased(px, py, 7, 32).value, m2 / n, 1e-12);
    const groups = Array.from({ length: 4 * 300 }, () => r.int(n));
    const cx: number[] = [];
    const cy: number[] = [];
    for (let g = 0; g < 300; g++) {
      const m = groups.slice(4 * g, 4 * g + 4);
      cx.push(m.reduce((s, i) => s + px[i], 0) / 4);
      cy.push(m.reduce((s, i) => s + py[i], 0) / 4);
    }
    let m3 = 0;
    for (let g = 0; g < 300; g++) {
      const fs: number[] = [];
      for (let h = 0; h < 300; h++) {
        const dist = Math.hypot(cx[g] - cx[h], cy[g] - cy[h]);
        if (h !== g && dist < 32) fs.push(discOverlapFraction(dist, 32));
      }
      m3 += fs.length ? fs.reduce((a, b) => a + b, 0) / fs.length : 0;
    }
    close(metric3GroupToGroup(px, py, groups, 4, 32), m3 / 300, 1e-12);
  });

  it('geometry acceptance bound: bounding box / (n · disc area), capped at 0.10, floored at EPS', () => {
    const g = geometryAcceptance(xs, ys, D);
    close(g.bound, 100 / (4 * Math.PI * 100), 1e-15);
    close(g.effective, g.bound, 1e-15);
    assert.deepEqual(geometryAcceptance([0, 1000], [0, 1000], 10), { bound: 0.1, effective: 0.1 });
    const dense = geometryAcceptance(Array.from({ length: 5000 }, (_, i) => i % 50), Array.from({ length: 5000 }, (_, i) => Math.floor(i / 100)), 38.4);
    assert.ok(dense.bound < GEOMETRY_ACCEPTANCE_EPS);
    assert.equal(dense.effective, GEOMETRY_ACCEPTANCE_EPS);
    assert.equal(GEOMETRY_ACCEPTANCE_EPS, 1e-3);
  });

  it('the per-split JSON has exactly the spec\'s fields, in order; gridsize 1 has metric 1 = null', () => {
    const m = computeOverlapMetrics({
      xs, ys, nImagesTotal: 10, gridsize: 2, sImg: 0.4, nGroups: 1, neighborCount: 7, probeDiameterPx: D,
      rngSeedSubsample: 456, groups: [0, 1, 2, 3],
    });
    assert.deepEqual(Object.keys(m), [
      'metrics_version', 'gridsize', 's_img', 'n_groups', 'neighbor_count', 'probe_diameter_px', 'rng_seed_subsample',
      'metric_1_group_based_avg', 'metric_2_image_based_avg', 'metric_3_group_to_group_avg', 'n_images_total',
      'n_images_subsampled', 'n_unique_images', 'n_groups_actual', 'geometry_acceptance_bound', 'effective_min_acceptance',
    ]);
    assert.equal(m.metrics_version, '1.0');
    close(m.metric_1_group_based_avg!, perMember, 1e-12);
    close(m.metric_2_image_based_avg, perMember, 1e-12);
    assert.equal(m.metric_3_group_to_group_avg, 0);
    assert.deepEqual([m.n_images_total, m.n_images_subsampled, m.n_unique_images, m.n_groups_actual], [10, 4, 4, 1]);
    const gs1 = computeOverlapMetrics({ xs, ys, nImagesTotal: 4, gridsize: 1, sImg: 1, nGroups: 2, neighborCount: 7, probeDiameterPx: D, rngSeedSubsample: 1 });
    assert.equal(gs1.metric_1_group_based_avg, null);
    assert.equal(gs1.n_groups_actual, 2);
    // Groups {0} and {1} at d = 10 = R: each sees the other.
    close(gs1.metric_3_group_to_group_avg, fEdge, 1e-12);
  });

  it('rejects invalid parameters with the spec\'s wording', () => {
    const base = { xs, ys, nImagesTotal: 4, gridsize: 2, sImg: 1, nGroups: 1, neighborCount: 7, probeDiameterPx: D, rngSeedSubsample: 1, groups: [0, 1, 2, 3] };
    assert.throws(() => computeOverlapMetrics({ ...base, gridsize: 3 }), /gridsize must be/);
    assert.throws(() => computeOverlapMetrics({ ...base, sImg: 0 }), /s_img must be in/);
    assert.throws(() => computeOverlapMetrics({ ...base, sImg: 1.2 }), /s_img must be in/);
    assert.throws(() => computeOverlapMetrics({ ...base, nGroups: 0 }), /n_groups must be/);
    assert.throws(() => computeOverlapMetrics({ ...base, probeDiameterPx: 0 }), /probe_diameter_px must be > 0/);
  });
});
