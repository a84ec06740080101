// Phase synchronisation of stitched patches: recovers each patch's arbitrary constant phase from the overlaps
// alone (fractional positions, noisy patches, two disconnected scan parts, an isolated patch).
import { strict as assert } from 'node:assert';
import { alignmentWindow, outwardOrder, synchronizePhases } from '../../src/core/train';
import { seeded } from './helpers/ort';

function truthAt(x: number, y: number): [number, number] {
  const a = 0.7 + 0.2 * Math.cos(0.13 * x + 0.05 * y);
  const p = 2.5 * Math.sin(0.03 * x) * Math.cos(0.02 * y) + 0.4 * Math.sin(0.2 * y);
  return [a * Math.cos(p), a * Math.sin(p)];
}

/** Windows of `side` px sampled from the truth at each (fractional) centre, each turned by offsets[g], plus noise. */
function windows(centers: number[], side: number, offsets: number[], noise: number): { re: Float32Array; im: Float32Array } {
  const rnd = seeded(5);
  const count = centers.length / 2;
  const re = new Float32Array(count * side * side);
  const im = new Float32Array(count * side * side);
  for (let g = 0; g < count; g++) {
    const c = Math.cos(offsets[g]);
    const s = Math.sin(offsets[g]);
    for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) {
      // The window's pixel grid is the object's, rounded: the patch is predicted around the rounded centre.
      const [tr, ti] = truthAt(Math.round(centers[2 * g]) + j - side / 2, Math.round(centers[2 * g + 1]) + i - side / 2);
      const k = g * side * side + i * side + j;
      re[k] = tr * c - ti * s + noise * rnd();
      im[k] = tr * s + ti * c + noise * rnd();
    }
  }
  return { re, im };
}

/** rms of (rotation + offset) around its circular mean: 0 when every patch is turned back to one common phase. */
function spread(rotations: Float64Array, offsets: number[], pick: number[]): number {
  let cr = 0;
  let ci = 0;
  for (const g of pick) {
    cr += Math.cos(rotations[g] + offsets[g]);
    ci += Math.sin(rotations[g] + offsets[g]);
  }
  const mean = Math.atan2(ci, cr);
  let s = 0;
  for (const g of pick) {
    const d = rotations[g] + offsets[g] - mean;
    s += Math.atan2(Math.sin(d), Math.cos(d)) ** 2;
  }
  return Math.sqrt(s / pick.length);
}

describe('phase synchronisation of stitched patches', () => {
  it('recovers arbitrary constant phases of noisy patches at fractional positions, per connected part', () => {
    const rnd = seeded(11);
    const centers: number[] = [];
    // Part A: a jittered 12 × 10 raster with 5-px steps; part B: a 4 × 4 raster far away; one isolated patch.
    for (let r = 0; r < 10; r++) for (let c = 0; c < 12; c++) centers.push(40 + 5 * c + rnd(-1.3, 1.3), 40 + 5 * r + rnd(-1.3, 1.3));
    const partA = centers.length / 2;
    for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) centers.push(300 + 6 * c + rnd(-0.5, 0.5), 60 + 6 * r);
    centers.push(600, 600);
    const count = centers.length / 2;
    const offsets = Array.from({ length: count }, (_, g) => ((g * 2.399) % (2 * Math.PI)) - Math.PI);
    const side = 16;
    const { re, im } = windows(centers, side, offsets, 0.05);
    // Pure synchronisation: the offsets are arbitrary, so pulling patches towards them could only hurt.
    const sync = synchronizePhases({ side, re, im, centers: Float64Array.from(centers) }, { anchor: 0 });
    const a = Array.from({ length: partA }, (_, g) => g);
    const b = Array.from({ length: 16 }, (_, g) => partA + g);
    assert.ok(spread(sync.rotations, offsets, a) < 0.02, `part A spread ${spread(sync.rotations, offsets, a)} rad`);
    assert.ok(spread(sync.rotations, offsets, b) < 0.02, `part B spread ${spread(sync.rotations, offsets, b)} rad`);
    assert.equal(sync.isolated, 1);
    assert.equal(sync.rotations[count - 1], 0, 'an isolated patch is left as predicted');
    assert.ok(sync.pairs > partA, `pairs ${sync.pairs}`);
  });

  it('anchored (the default): patches whose own phase is informative but noisy end up more consistent than predicted', () => {
    const rnd = seeded(3);
    const centers: number[] = [];
    for (let r = 0; r < 10; r++) for (let c = 0; c < 12; c++) centers.push(40 + 5 * c + rnd(-1.3, 1.3), 40 + 5 * r + rnd(-1.3, 1.3));
    const count = centers.length / 2;
    // A trained network's patches: right on average, each off by up to ±0.5 rad.
    const offsets = Array.from({ length: count }, () => rnd(-0.5, 0.5));
    const side = 16;
    const { re, im } = windows(centers, side, offsets, 0.05);
    const all = Array.from({ length: count }, (_, g) => g);
    const before = spread(new Float64Array(count), offsets, all);
    const anchored = synchronizePhases({ side, re, im, centers: Float64Array.from(centers) });
    assert.ok(spread(anchored.rotations, offsets, all) < before / 3, `spread ${before.toFixed(3)} → ${spread(anchored.rotations, offsets, all).toFixed(3)} rad`);
    // The anchor keeps the common phase where the patches put it (no drift of the whole field).
    let cr = 0;
    let ci = 0;
    for (const g of all) {
      cr += Math.cos(anchored.rotations[g]);
      ci += Math.sin(anchored.rotations[g]);
    }
    assert.ok(Math.abs(Math.atan2(ci, cr)) < 0.1, `mean rotation ${Math.atan2(ci, cr)}`);
  });

  it('aligns on the network\'s N/2 support, narrowed towards the crop when many windows would not fit in memory', () => {
    assert.equal(alignmentWindow(64, 20), 32);
    assert.equal(alignmentWindow(128, 20, 20_000), 40);
    assert.equal(alignmentWindow(128, 20, 1_000_000), 20);
    assert.equal(alignmentWindow(64, 21), 32);
    assert.equal(alignmentWindow(64, 63), 64);
  });

  it('grows outward from the centroid', () => {
    const order = outwardOrder(Float64Array.from([0, 0, 10, 10, 5, 5, 20, 20, -10, -10]));
    assert.equal(order[0], 2);
    assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4]);
  });
});
