// The Fourier-modulus projection of one exit wave, in the simulator's far-field convention (domain.md §9.1,
// simulate/forward.ts FarField): A = √(fftshift(|FFT2(ψ)|²)/N²), unnormalised forward FFT, no zero padding.
// Instead of fftshifting the spectrum, the measured (fftshifted) amplitude is read at the shifted index, and the
// 1/N² of the inverse transform is folded into the modulus factor: two in-place FFTs and one pass, no copies.
import { FftPlan } from '../simulate/fft';

export class ModulusProjector {
  readonly n: number;
  /** Σ A² of the pattern given to the last project() call (for the relative error). */
  lastEnergy = 0;
  private readonly plan: FftPlan;

  constructor(n: number) {
    this.plan = new FftPlan(n);
    this.n = n;
  }

  /**
   * Replaces the exit wave (re, im, N×N, overwritten) by the wave whose far-field amplitude is the measured one
   * (amplitudes[offset …], fftshifted as stored) and whose phase is the current one's. Returns Σ(|Ψ|/N − A)² of
   * the wave as given. Where the far field is exactly 0 its phase is undefined and 0 is used.
   */
  project(re: Float64Array, im: Float64Array, amplitudes: Float32Array, offset: number): number {
    const n = this.n;
    const mask = n - 1;
    const h = n >> 1;
    const invN = 1 / n;
    this.plan.transform2d(re, im);
    let err = 0;
    let energy = 0;
    for (let r = 0; r < n; r++) {
      const row = r * n;
      const measRow = offset + ((r + h) & mask) * n;
      for (let c = 0; c < n; c++) {
        const k = row + c;
        const a = amplitudes[measRow + ((c + h) & mask)];
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
    this.plan.transform2d(re, im, true);
    this.lastEnergy = energy;
    return err;
  }
}
