// The simulator's seeded PRNG: reproducibility, and the moments and distributions of its samplers.
import { strict as assert } from 'node:assert';
import { logGamma, POISSON_PTRS_THRESHOLD, Rng } from '../../src/core/simulate/rng';

function moments(draw: () => number, count: number): { mean: number; variance: number } {
  let mean = 0;
  let m2 = 0;
  for (let i = 1; i <= count; i++) {
    const x = draw();
    const d = x - mean;
    mean += d / i;
    m2 += d * (x - mean);
  }
  return { mean, variance: m2 / (count - 1) };
}

function logFactorial(k: number): number {
  let s = 0;
  for (let i = 2; i <= k; i++) s += Math.log(i);
  return s;
}

describe('simulate: seeded random numbers', () => {
  it('the same seed and stream give the same sequence; any other seed or stream a different one', () => {
    const seq = (r: Rng): number[] => Array.from({ length: 16 }, () => r.nextUint32());
    assert.deepEqual(seq(new Rng(42, 'noise', 1000, 7)), seq(new Rng(42, 'noise', 1000, 7)));
    const base = seq(new Rng(42, 'noise', 1000, 7));
    for (const other of [new Rng(43, 'noise', 1000, 7), new Rng(42, 'noise', 1000, 8), new Rng(42, 'noise', 10000, 7), new Rng(42, 'noisy', 1000, 7), new Rng(42), new Rng(-42, 'noise', 1000, 7)]) {
      assert.notDeepEqual(seq(other), base);
    }
    // Large and negative seeds are accepted and distinct.
    assert.notDeepEqual(seq(new Rng(2 ** 40)), seq(new Rng(2 ** 40 + 1)));
    assert.throws(() => new Rng(1.5), /seed must be an integer/);
  });

  it('uniform() lies in [0, 1) with mean 1/2 and variance 1/12; int(n) is in range and unbiased', () => {
    const r = new Rng(1);
    let min = 1;
    let max = 0;
    const { mean, variance } = moments(() => {
      const u = r.uniform();
      min = Math.min(min, u);
      max = Math.max(max, u);
      return u;
    }, 200_000);
    assert.ok(min >= 0 && max < 1);
    assert.ok(Math.abs(mean - 0.5) < 0.005, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.002, `variance ${variance}`);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) assert.ok(Math.abs(c - 10_000) < 500, `bucket ${c}`);
    assert.throws(() => r.int(0), /int\(n\)/);
  });

  it('normal() has mean 0 and variance 1', () => {
    const r = new Rng(2);
    const { mean, variance } = moments(() => r.normal(), 200_000);
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.015, `variance ${variance}`);
  });

  it('logGamma(k + 1) = log k! and matches Stirling for large arguments', () => {
    for (let k = 0; k <= 30; k++) assert.ok(Math.abs(logGamma(k + 1) - logFactorial(k)) < 1e-10 * Math.max(1, logFactorial(k)), `k=${k}`);
    const x = 1e6;
    const stirling = (x - 0.5) * Math.log(x) - x + 0.5 * Math.log(2 * Math.PI) + 1 / (12 * x);
    assert.ok(Math.abs(logGamma(x) - stirling) < 1e-6);
    assert.ok(Math.abs(logGamma(0.5 + 1) - Math.log(Math.sqrt(Math.PI) / 2)) < 1e-10);
  });

  for (const lambda of [0.01, 0.05, 3, 9.99, 10, 30, 1e4, 1e5]) {
    it(`Poisson(λ=${lambda}): mean and variance equal λ (${lambda < POISSON_PTRS_THRESHOLD ? 'Knuth' : 'PTRS'})`, () => {
      const r = new Rng(7, 'poisson-test', lambda);
      const count = 200_000;
      let allIntegers = true;
      const { mean, variance } = moments(() => {
        const k = r.poisson(lambda);
        if (!Number.isInteger(k) || k < 0) allIntegers = false;
        return k;
      }, count);
      assert.ok(allIntegers, 'non-negative integers');
      const seMean = Math.sqrt(lambda / count);
      const seVar = Math.sqrt((lambda + 2 * lambda * lambda) / count);
      assert.ok(Math.abs(mean - lambda) < 5 * seMean, `mean ${mean} vs ${lambda} (±${5 * seMean})`);
      assert.ok(Math.abs(variance - lambda) < 5 * seVar, `variance ${variance} vs ${lambda} (±${5 * seVar})`);
    });
  }

  for (const lambda of [3, 30, 400]) {
    it(`Poisson(λ=${lambda}): frequencies follow the exact probability mass function`, () => {
      const r = new Rng(11, 'pmf', lambda);
      const count = 400_000;
      const freq = new Map<number, number>();
      for (let i = 0; i < count; i++) {
        const k = r.poisson(lambda);
        freq.set(k, (freq.get(k) ?? 0) + 1);
      }
      const sd = Math.sqrt(lambda);
      for (let k = Math.max(0, Math.floor(lambda - 3 * sd)); k <= Math.ceil(lambda + 3 * sd); k++) {
        const p = Math.exp(-lambda + k * Math.log(lambda) - logFactorial(k));
        const expected = p * count;
        const got = freq.get(k) ?? 0;
        const tol = 5 * Math.sqrt(count * p * (1 - p)) + 2;
        assert.ok(Math.abs(got - expected) < tol, `P(${k}): ${got} vs ${expected.toFixed(1)} ± ${tol.toFixed(1)}`);
      }
    });
  }

  it('Poisson rejects negative, NaN and infinite means; λ = 0 gives 0', () => {
    const r = new Rng(3);
    assert.equal(r.poisson(0), 0);
    for (const bad of [-1, NaN, Infinity]) assert.throws(() => r.poisson(bad), /Poisson mean/);
  });

  it('choice(n, k) draws k distinct indices, uniformly; shuffle permutes', () => {
    const r = new Rng(5);
    const hits = new Array(20).fill(0);
    for (let t = 0; t < 20_000; t++) {
      const c = r.choice(20, 5);
      assert.equal(new Set(c).size, 5);
      for (const i of c) {
        assert.ok(i >= 0 && i < 20);
        hits[i]++;
      }
    }
    for (const h of hits) assert.ok(Math.abs(h - 5000) < 300, `hits ${h}`);
    assert.deepEqual([...r.choice(6, 6)].sort(), [0, 1, 2, 3, 4, 5]);
    assert.throws(() => r.choice(3, 4), /without replacement/);
    const arr = [1, 2, 3, 4, 5, 6, 7, 8];
    r.shuffle(arr);
    assert.deepEqual([...arr].sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(r.choose(['a', 'b', 'c'], 3).sort(), ['a', 'b', 'c']);
  });
});
