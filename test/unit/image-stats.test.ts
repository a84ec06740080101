// Statistics (min/max, histogram percentiles, auto window), decimation by block means, and ticks.
import { strict as assert } from 'node:assert';
import { autoWindow, BlockMeanAccumulator, decimate2d, decimationFactor, finiteMinMax, percentiles } from '../../src/core/image/stats';
import { formatValue, niceTicks, phaseTicks, windowTicks } from '../../src/core/image/ticks';

describe('image: stats', () => {
  it('min/max skip NaN and infinities', () => {
    assert.deepEqual(finiteMinMax(Float32Array.from([3, NaN, -2, Infinity, 7, -Infinity])), { min: -2, max: 7, finite: 3, nan: 1 });
    const none = finiteMinMax(Float32Array.from([NaN]));
    assert.ok(Number.isNaN(none.min) && none.finite === 0);
  });

  it('percentiles of 0..9999 are within one histogram bin of the exact values', () => {
    const v = Float32Array.from({ length: 10_000 }, (_, i) => i);
    const [p1, p50, p99] = percentiles(v, [1, 50, 99]);
    const bin = 1; // refined: far finer than one value step
    assert.ok(Math.abs(p1 - 100) <= bin + 1, `p1 ${p1}`);
    assert.ok(Math.abs(p50 - 5000) <= bin + 1, `p50 ${p50}`);
    assert.ok(Math.abs(p99 - 9900) <= bin + 1, `p99 ${p99}`);
    assert.deepEqual(percentiles(v, [0, 100]), [0, 9999]);
  });

  it('the auto window ignores a few hot pixels and never is empty', () => {
    const v = new Float32Array(10_000).fill(1);
    for (let i = 0; i < v.length; i++) v[i] = (i % 100) / 100;
    v[0] = 1e6; // a hot pixel stretching [min, max] by 10^6
    const w = autoWindow(v);
    assert.ok(Math.abs(w.hi - 0.99) < 0.01, `hi ${w.hi}`);
    assert.ok(w.hi < 2, `hot pixel ignored: ${w.hi}`);
    assert.ok(w.lo >= 0 && w.lo < 0.05, `lo ${w.lo}`);
    assert.deepEqual(autoWindow(new Float32Array(10).fill(3)), { lo: 2.5, hi: 3.5 });
    assert.deepEqual(autoWindow(Float32Array.from([NaN, NaN])), { lo: 0, hi: 1 });
    const binary = Float32Array.from({ length: 1000 }, (_, i) => (i < 995 ? 0 : 1));
    assert.deepEqual(autoWindow(binary), { lo: 0, hi: 1 });
  });

  it('decimation: the factor brings the longer side to at most maxSide', () => {
    assert.equal(decimationFactor(1024, 1024, 1024), 1);
    assert.equal(decimationFactor(1025, 10, 1024), 2);
    assert.equal(decimationFactor(20_000, 5000, 1000), 20);
  });

  it('decimation averages blocks, edge blocks over the pixels they hold, NaN left out', () => {
    // 5 × 3 image, factor 2 → 3 × 2.
    const img = Float32Array.from([
      1, 2, 3, 4, 5,
      6, 7, 8, 9, 10,
      11, 12, 13, NaN, 15,
    ]);
    const d = decimate2d(img, 5, 3, 3);
    assert.equal(d.factor, 2);
    assert.equal(d.width, 3);
    assert.equal(d.height, 2);
    assert.deepEqual([...d.data], [4, 6, 7.5, 11.5, 13, 15]);
    const same = decimate2d(img, 5, 3, 5);
    assert.equal(same.data, img, 'small images come back unchanged');
  });

  it('decimation of interleaved complex values averages re and im separately, streaming by rows', () => {
    const acc = new BlockMeanAccumulator(2, 2, 2, 2);
    acc.addRows(Float32Array.from([1, 10, 3, 30]), 1);
    acc.addRows(Float32Array.from([5, 50, 7, 70]), 1);
    assert.deepEqual([...acc.result().data], [4, 40]);
    assert.throws(() => acc.addRows(new Float32Array(4), 1), RangeError);
    assert.throws(() => new BlockMeanAccumulator(4, 4, 2).result(), /got 0 of 4 rows/);
  });
});

describe('image: ticks', () => {
  it('nice linear ticks', () => {
    assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6000000000000001, 0.8, 1].map((v) => v));
    assert.deepEqual(niceTicks(-3, 17, 4), [0, 5, 10, 15]);
  });

  it('log ticks are 0 and powers of ten, in data units', () => {
    assert.deepEqual(windowTicks(0, 12_000, 'log', 5).map((t) => t.value), [0, 1, 10, 100, 1000, 10000]);
    assert.deepEqual(windowTicks(0, 12_000, 'log', 5).map((t) => t.label), ['0', '1', '10', '100', '1000', '10000']);
  });

  it('phase ticks in multiples of π/2, labelled with π', () => {
    assert.deepEqual(phaseTicks(-Math.PI, Math.PI).map((t) => t.label), ['−π', '−π/2', '0', 'π/2', 'π']);
  });

  it('formats values compactly', () => {
    assert.equal(formatValue(0), '0');
    assert.equal(formatValue(-1.5), '−1.5');
    assert.equal(formatValue(123456), '1.23e5');
    assert.equal(formatValue(0.000123), '1.23e-4');
    assert.equal(formatValue(3.14159, 3), '3.14');
    assert.equal(formatValue(NaN), 'NaN');
  });
});
