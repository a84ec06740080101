// Dose scaling and Poisson noise: mean counts per pattern equal the dose, stored data are normalized
// amplitudes whose (s_sim·d)² are integer counts.
import { strict as assert } from 'node:assert';
import { FarField } from '../../src/core/simulate/forward';
import { countsFromAmplitude, noisyAmplitude, patternNoiseRng, simulationScale } from '../../src/core/simulate/noise';
import { Rng } from '../../src/core/simulate/rng';
import { syntheticObject, syntheticProbe } from '../../src/core/simulate/synthetic';

describe('simulate: dose and Poisson noise', () => {
  const n = 32;
  const count = 300;
  const object = syntheticObject(256, n, 42);
  const ff = new FarField(syntheticProbe(n));
  const clean = new Float32Array(count * n * n);
  let energy = 0;
  const rng = new Rng(42, 'positions');
  for (let p = 0; p < count; p++) energy += ff.intensity(object, rng.uniformIn(n / 2 + 1, 256 - n / 2 - 1), rng.uniformIn(n / 2 + 1, 256 - n / 2 - 1), clean, p * n * n);
  const meanEnergy = energy / count;

  for (const dose of [1e3, 1e4, 1e5]) {
    it(`dose ${dose}: mean total counts per pattern ≈ dose; (s_sim·d)² are integers`, () => {
      const s = simulationScale(dose, meanEnergy);
      assert.ok(Math.abs(s - Math.sqrt(dose / meanEnergy)) < 1e-12);
      const out = new Float32Array(count * n * n);
      let total = 0;
      for (let p = 0; p < count; p++) total += noisyAmplitude(clean, p * n * n, n * n, s, patternNoiseRng(42, dose, p), out, p * n * n);
      const mean = total / count;
      assert.ok(Math.abs(mean - dose) < 0.02 * dose, `mean counts ${mean} vs ${dose}`);
      // The stored amplitudes give back the same counts.
      let recovered = 0;
      let worst = 0;
      for (let i = 0; i < out.length; i++) {
        assert.ok(out[i] >= 0 && Number.isFinite(out[i]));
        const c = (s * out[i]) ** 2;
        worst = Math.max(worst, Math.abs(c - Math.round(c)) / Math.max(1, c));
        recovered += c;
      }
      assert.ok(worst < 1e-5, `largest deviation from an integer count: ${worst}`);
      assert.ok(Math.abs(recovered / count - mean) < 1e-3 * mean);
      const counts = countsFromAmplitude(out.subarray(0, n * n), s);
      let sum = 0;
      for (const c of counts) sum += c;
      assert.equal(sum, noisyAmplitude(clean, 0, n * n, s, patternNoiseRng(42, dose, 0), new Float32Array(n * n), 0));
      // Normalized amplitude, not photon-scaled: its mean energy is the clean energy, whatever the dose.
      let e = 0;
      for (let i = 0; i < out.length; i++) e += out[i] * out[i];
      assert.ok(Math.abs(e / count - meanEnergy) < 0.03 * meanEnergy, `normalized energy ${e / count} vs ${meanEnergy}`);
    });
  }

  it('the noise of one pattern depends only on (seed, dose, index)', () => {
    const s = simulationScale(1e4, meanEnergy);
    const a = new Float32Array(n * n);
    const b = new Float32Array(n * n);
    noisyAmplitude(clean, 5 * n * n, n * n, s, patternNoiseRng(42, 1e4, 5), a, 0);
    noisyAmplitude(clean, 5 * n * n, n * n, s, patternNoiseRng(42, 1e4, 5), b, 0);
    assert.deepEqual(a, b);
    noisyAmplitude(clean, 5 * n * n, n * n, s, patternNoiseRng(42, 1e4, 6), b, 0);
    assert.notDeepEqual(a, b);
    noisyAmplitude(clean, 5 * n * n, n * n, s, patternNoiseRng(43, 1e4, 5), b, 0);
    assert.notDeepEqual(a, b);
  });

  it('rejects non-positive doses and energy-free data', () => {
    assert.throws(() => simulationScale(0, 1), /dose must be a positive number/);
    assert.throws(() => simulationScale(1000, 0), /no energy/);
  });
});
