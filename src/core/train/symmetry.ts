// Training data augmentation by the probe's symmetries (training.symmetryAugment).
//
// A pattern is |F{P·O}|. If the probe is unchanged by a mirror or rotation T of the sample plane (P∘T = P about
// its centre), the object O∘T⁻¹ measured with the same probe gives exactly the pattern rotated by the same T in the
// detector plane — and a gridsize-2 group's offsets rotate with it. So each such T turns a measured group into the
// measurement of another, equally physical specimen. The dihedral group of the square has eight elements; only
// those the probe's own symmetry allows are used (a measured probe usually has none, and then nothing changes).
// Turns are about the detector's zero frequency (index N/2) and periodic, as the DFT is.

import type { ComplexArray } from './data';
import { Rng } from '../simulate/rng';

/** One element of the square's dihedral group: transpose (x, y) → (y, x) first, then x → −x and/or y → −y. */
export interface PatternSymmetry {
  readonly name: string;
  readonly transpose: boolean;
  readonly flipX: boolean;
  readonly flipY: boolean;
}

export const PATTERN_SYMMETRIES: readonly PatternSymmetry[] = Object.freeze([
  { name: 'identity', transpose: false, flipX: false, flipY: false },
  { name: 'mirror-x', transpose: false, flipX: true, flipY: false },
  { name: 'mirror-y', transpose: false, flipX: false, flipY: true },
  { name: 'rotate-180', transpose: false, flipX: true, flipY: true },
  { name: 'transpose', transpose: true, flipX: false, flipY: false },
  { name: 'rotate-90', transpose: true, flipX: true, flipY: false },
  { name: 'rotate-270', transpose: true, flipX: false, flipY: true },
  { name: 'anti-transpose', transpose: true, flipX: true, flipY: true },
]);

/**
 * Largest relative mismatch ‖P∘T − P‖ / ‖P‖ a probe may have for T to be used. The turned exit wave then differs
 * from the turned specimen's by at most this fraction times the object's modulus, and so does the pattern's
 * amplitude (|F| keeps distances, Parseval): at most a few percent, against ~10 % of Poisson noise in a 1e5-photon
 * 64 × 64 pattern. A simulated round probe is exact up to the light on its edge row (a pupil's ringing: 2.8 % for
 * the independent study's); a measured probe's aberrations usually break its symmetry by more, and are refused.
 */
export const PROBE_SYMMETRY_TOLERANCE = 0.05;

/** (x, y) under `s`, for vectors about any centre (offsets, centred frequencies). */
export function applySymmetry(s: PatternSymmetry, x: number, y: number): [number, number] {
  let u = s.transpose ? y : x;
  let v = s.transpose ? x : y;
  if (s.flipX) u = -u;
  if (s.flipY) v = -v;
  return [u, v];
}

/**
 * Relative mismatch of a square probe (interleaved re, im) with itself under `s`, about the better of its two
 * possible pixel centres ((N−1)/2 or N/2 on both axes; the centre does not matter to the pattern, since a
 * translation of the exit wave changes only its far-field phase). Not periodic: light on an edge row whose mirror
 * falls outside the array counts as mismatch, since the turned specimen is not measured there.
 */
export function probeSymmetryMismatch(probe: ComplexArray, s: PatternSymmetry): number {
  const n = probe.width;
  if (probe.height !== n) throw new Error(`the probe must be square (got ${probe.height}×${n})`);
  const d = probe.data;
  let energy = 0;
  for (let k = 0; k < n * n; k++) energy += d[2 * k] ** 2 + d[2 * k + 1] ** 2;
  if (!(energy > 0)) return Infinity;
  let best = Infinity;
  for (const twice of [n - 1, n]) {
    let diff = 0;
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) {
        const [u, v] = applySymmetry(s, 2 * x - twice, 2 * y - twice);
        const tx = (u + twice) / 2;
        const ty = (v + twice) / 2;
        const a = 2 * (y * n + x);
        // A partner outside the array is no light: the object there is not in the patch either.
        const inside = tx >= 0 && tx < n && ty >= 0 && ty < n;
        const b = 2 * (ty * n + tx);
        diff += (d[a] - (inside ? d[b] : 0)) ** 2 + (d[a + 1] - (inside ? d[b + 1] : 0)) ** 2;
      }
    }
    best = Math.min(best, Math.sqrt(diff / energy));
  }
  return best;
}

export interface ProbeSymmetries {
  /** The symmetries training may apply (identity first; only identity when the probe has none). */
  usable: PatternSymmetry[];
  /** Each element's mismatch, by name (identity 0). */
  mismatch: Record<string, number>;
}

export function probeSymmetries(probe: ComplexArray, tolerance = PROBE_SYMMETRY_TOLERANCE): ProbeSymmetries {
  const mismatch: Record<string, number> = {};
  const usable: PatternSymmetry[] = [];
  for (const s of PATTERN_SYMMETRIES) {
    const m = s.name === 'identity' ? 0 : probeSymmetryMismatch(probe, s);
    mismatch[s.name] = m;
    if (m <= tolerance) usable.push(s);
  }
  return { usable, mismatch };
}

/**
 * One N×N diffraction plane under `s`: out(T k) = src(k), frequencies about index N/2 (the fftshifted zero, periodic,
 * so −(−N/2) is −N/2 again). `out` must not be `src`.
 */
export function transformPattern(src: Float32Array, out: Float32Array, n: number, s: PatternSymmetry, srcOffset = 0, outOffset = 0): void {
  const h = n / 2;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const [u, v] = applySymmetry(s, x - h, y - h);
      const tx = (u + h + n) % n;
      const ty = (v + h + n) % n;
      out[outOffset + ty * n + tx] = src[srcOffset + y * n + x];
    }
  }
}

/**
 * Applies one symmetry per group, in place, to a batch of `count` groups of `channels` patterns ([B, C, N, N]) and
 * their offsets ([B, C, 2], (dx, dy)): all patterns of a group and its offsets share their group's symmetry.
 */
export function transformGroups(x: Float32Array, offsets: Float32Array, count: number, channels: number, n: number, choice: ArrayLike<PatternSymmetry>, scratch = new Float32Array(n * n)): void {
  const plane = n * n;
  for (let g = 0; g < count; g++) {
    const s = choice[g];
    if (s.name === 'identity') continue;
    for (let c = 0; c < channels; c++) {
      const at = (g * channels + c) * plane;
      scratch.set(x.subarray(at, at + plane));
      transformPattern(scratch, x, n, s, 0, at);
      const o = (g * channels + c) * 2;
      const [u, v] = applySymmetry(s, offsets[o], offsets[o + 1]);
      offsets[o] = u;
      offsets[o + 1] = v;
    }
  }
}

/** The symmetry a training group gets in an epoch: seeded by (run seed, epoch, group), so a resume draws the same. */
export function symmetryFor(usable: readonly PatternSymmetry[], seed: number, epoch: number, group: number): PatternSymmetry {
  if (usable.length === 1) return usable[0];
  return usable[new Rng(seed, 'symmetry', epoch, group).int(usable.length)];
}
