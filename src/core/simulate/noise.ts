// Dose → Poisson counts → normalized amplitude (domain.md §3.2 and §8.2 rule 1, M:ptycho/diffsim.py):
//   s_sim = √(dose / mean_patterns Σ_xy I)   with I = |FFT2(ψ)|²/N² the clean far-field intensity,
//   counts = Poisson(s_sim² · I),   stored = √counts / s_sim   (float32, "normalized amplitude").
// So the mean total counts per pattern equal the dose in expectation and (s_sim · stored)² are the integer
// counts. Each pattern's noise comes from its own random stream (seed, dose, pattern index), so any pattern
// can be regenerated on its own and the result does not depend on the order patterns are produced in.
import { Rng } from './rng';

/** The dataset scale s_sim for a dose and the mean (over patterns) total clean intensity. */
export function simulationScale(dose: number, meanEnergy: number): number {
  if (!(dose > 0) || !Number.isFinite(dose)) throw new Error(`dose must be a positive number (got ${dose})`);
  if (!(meanEnergy > 0) || !Number.isFinite(meanEnergy)) {
    throw new Error(`the clean diffraction has no energy (mean Σ intensity = ${meanEnergy}): the probe or object is zero`);
  }
  return Math.sqrt(dose / meanEnergy);
}

/** The random stream for the noise of pattern `index` at `dose`. */
export function patternNoiseRng(seed: number, dose: number, index: number): Rng {
  return new Rng(seed, 'poisson-noise', dose, index);
}

/**
 * Draws counts = Poisson(s²·I) for the `count` clean intensities clean[cleanOffset …] and writes
 * √counts / s into out[outOffset …]. Returns the total counts.
 */
export function noisyAmplitude(
  clean: Float32Array | Float64Array, cleanOffset: number, count: number, sSim: number, rng: Rng,
  out: Float32Array, outOffset: number,
): number {
  const s2 = sSim * sSim;
  const inv = 1 / sSim;
  let total = 0;
  for (let i = 0; i < count; i++) {
    const k = rng.poisson(s2 * clean[cleanOffset + i]);
    total += k;
    out[outOffset + i] = k === 0 ? 0 : Math.sqrt(k) * inv;
  }
  return total;
}

/** Counts recovered from stored normalized amplitudes: (s_sim · d)², rounded to the nearest integer. */
export function countsFromAmplitude(amplitude: ArrayLike<number>, sSim: number): Float64Array {
  const out = new Float64Array(amplitude.length);
  for (let i = 0; i < amplitude.length; i++) out[i] = Math.round((sSim * amplitude[i]) ** 2);
  return out;
}
