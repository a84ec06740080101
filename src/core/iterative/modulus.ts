// The Fourier-modulus projection of one exit wave, in the simulator's far-field convention (domain.md §9.1,
// simulate/forward.ts FarField): A = √(fftshift(|FFT2(ψ)|²)/N²), unnormalised forward FFT, no zero padding.
// The spectrum is never put in natural order: the forward transform leaves it bit-reversed along both axes
// (FftPlan.dif2d) and the inverse takes that order back (FftPlan.dit2d), so no permutation pass is needed; the
// measured (fftshifted) amplitude is read through one index table that composes the bit reversal with the shift.
// The 1/N² of the inverse transform is folded into the modulus factor: two in-place FFTs and one pass, no copies.
import { FftPlan } from '../fft';

export class ModulusProjector {
  readonly n: number;
  /** Σ A² of the pattern given to the last project() call (for the relative error). */
  lastEnergy = 0;
  private readonly plan: FftPlan;
  /** Spectrum position a (row or column) holds frequency rev[a], stored fftshifted at (rev[a] + N/2) mod N. */
  private readonly measured: Int32Array;

  constructor(n: number) {
    this.plan = new FftPlan(n);
    this.n = n;
    const rev = this.plan.bitReversal;
    this.measured = new Int32Array(n);
    for (let a = 0; a < n; a++) this.measured[a] = (rev[a] + (n >> 1)) & (n - 1);
  }

  /**
   * Replaces the exit wave (re, im, N×N, overwritten) by the wave whose far-field amplitude is the measured one
   * (amplitudes[offset …], fftshifted as stored) and whose phase is the current one's. Returns Σ(|Ψ|/N − A)² of
   * the wave as given. Where the far field is exactly 0 its phase is undefined and 0 is used.
   */
  project(re: Float64Array, im: Float64Array, amplitudes: Float32Array, offset: number): number {
    const n = this.n;
    const invN = 1 / n;
    const measured = this.measured;
    this.plan.dif2d(re, im);
    let err = 0;
    let energy = 0;
    for (let r = 0; r < n; r++) {
      const row = r * n;
      const measRow = offset + measured[r] * n;
      for (let c = 0; c < n; c++) {
        const k = row + c;
        const a = amplitudes[measRow + measured[c]];
        const xr = re[k];
        const xi = im[k];
        const mag = Math.sqrt(xr * xr + xi * xi);
        const d = mag * invN - a;
        err += d * d;
        energy += a * a;
        // |Ψ'| = N·A, then ÷N² for the unnormalised inverse transform: factor A/(N·|Ψ|).
        if (mag > 0) {
          const f = (a * invN) / mag;
          re[k] = xr * f;
          im[k] = xi * f;
        } else {
          re[k] = a * invN;
          im[k] = 0;
        }
      }
    }
    this.plan.dit2d(re, im, true);
    this.lastEnergy = energy;
    return err;
  }
}
