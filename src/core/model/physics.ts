// Host-side constants of the physics: the DFT matrices with fftshift folded in, the probe normalisation,
// the central object mask and the bilinear "tent" grid used to translate patches (domain.md §9).

/** Probe normalisation constant of PtychoPINN's ModelConfig (`probe_scale`, §9.2 step 8). */
export const PROBE_SCALE = 4.0;

/**
 * Rows-shifted DFT matrix Fs = S·F (F[k,n] = e^{−2πi kn/N}, S the fftshift permutation), so that
 * fftshift(FFT2(ψ)) = Fs ψ Fsᵀ with two real matrix products per side. Returns Fs and Fsᵀ, real and imaginary.
 */
export function shiftedDftMatrices(n: number): { re: Float32Array; im: Float32Array; reT: Float32Array; imT: Float32Array } {
  const re = new Float32Array(n * n);
  const im = new Float32Array(n * n);
  for (let row = 0; row < n; row++) {
    const k = (row + n / 2) % n; // fftshift: output row `row` holds frequency k
    for (let col = 0; col < n; col++) {
      const angle = (-2 * Math.PI * ((k * col) % n)) / n;
      re[row * n + col] = Math.cos(angle);
      im[row * n + col] = Math.sin(angle);
    }
  }
  const transpose = (a: Float32Array): Float32Array => {
    const t = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
    return t;
  };
  return { re, im, reT: transpose(re), imT: transpose(im) };
}

/** Disc mask r < N//4 with PtychoPINN's half-pixel centre (probe.py). */
export function probeMaskDisc(n: number): Float32Array {
  const m = new Float32Array(n * n);
  const r = Math.floor(n / 4);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      if (Math.hypot(i - n / 2 + 0.5, j - n / 2 + 0.5) < r) m[i * n + j] = 1;
    }
  }
  return m;
}

export interface ModelProbe {
  re: Float32Array;
  im: Float32Array;
  factor: number;
}

/** The interleaved complex probe times `factor`, split into real and imaginary planes. */
function scaledProbe(probe: Float32Array | Float64Array, n: number, factor: number): ModelProbe {
  const re = new Float32Array(n * n);
  const im = new Float32Array(n * n);
  for (let i = 0; i < n * n; i++) {
    re[i] = probe[2 * i] * factor;
    im[i] = probe[2 * i + 1] * factor;
  }
  return { re, im, factor };
}

/**
 * The model's probe: P / (probe_scale · mean_{N×N} |mask·P|). This puts the object the network must predict
 * at amplitude ~O(1), inside the sigmoid's range, whatever the dataset's probe scale.
 * `probe` is interleaved (re, im), N×N.
 */
export function normalizeProbe(probe: Float32Array | Float64Array, n: number): ModelProbe {
  const mask = probeMaskDisc(n);
  let sum = 0;
  for (let i = 0; i < n * n; i++) sum += mask[i] * Math.hypot(probe[2 * i], probe[2 * i + 1]);
  const mean = sum / (n * n);
  if (!(mean > 0) || !Number.isFinite(mean)) throw new Error('the probe has no amplitude inside its central disc (r < N/4): cannot normalise it');
  const factor = 1 / (PROBE_SCALE * mean);
  return scaledProbe(probe, n, factor);
}

/** Mean object amplitude the energy normalisation aims at: the sigmoid's midpoint, so contrast up to 2× fits. */
export const TARGET_MEAN_AMPLITUDE = 0.5;

export type ProbeNormalization = 'energy' | 'mask-mean';

/**
 * The model's probe scaled so that an object of amplitude `targetAmplitude` reproduces the loader-normalised
 * data's mean pattern energy (N/2)² exactly: Σ|P|²·a² = (N/2)² (Parseval, with the far field's 1/N²).
 * PtychoPINN's recipe (`normalizeProbe`) fixes the mean |P| inside a disc instead, which leaves the object
 * amplitude the data require depending on the probe's shape: ≈0.86 rms for a flat disc probe (contrast
 * above 1 then saturates the sigmoid and the amplitude stops learning) and ≈0.58 for a focused one.
 */
export function normalizeProbeEnergy(probe: Float32Array | Float64Array, n: number, targetAmplitude = TARGET_MEAN_AMPLITUDE): ModelProbe {
  let energy = 0;
  for (let i = 0; i < n * n; i++) energy += probe[2 * i] ** 2 + probe[2 * i + 1] ** 2;
  if (!(energy > 0) || !Number.isFinite(energy)) throw new Error('the probe has no finite, non-zero energy: cannot normalise it');
  const factor = n / 2 / (targetAmplitude * Math.sqrt(energy));
  return scaledProbe(probe, n, factor);
}

export function modelProbe(probe: Float32Array | Float64Array, n: number, how: ProbeNormalization): ModelProbe {
  return how === 'energy' ? normalizeProbeEnergy(probe, n) : normalizeProbe(probe, n);
}

/** |P|² per pixel of a probe of `count` pixels (`re(k)`, `im(k)` its k-th), in double precision. */
export function probeIntensity(count: number, re: (k: number) => number, im: (k: number) => number): Float64Array {
  return Float64Array.from({ length: count }, (_, k) => re(k) ** 2 + im(k) ** 2);
}

/**
 * `intensity` / its maximum, in its own precision: how much light a pattern puts on each pixel relative to the
 * brightest — the weight both full-support merges give a pattern's pixels (the model's gridsize-2 merge, in float32,
 * and the stitch's probe blend, README item 29). Throws for a probe with no intensity (validation refuses such a
 * dataset first: DATA-001).
 */
export function relativeIntensity<T extends Float32Array | Float64Array>(intensity: T): T {
  let max = 0;
  for (const v of intensity) max = Math.max(max, v);
  if (!(max > 0)) throw new Error('a probe-intensity weighting needs a probe with some intensity');
  return intensity.map((v) => v / max) as T;
}

/** Ones on the central N/2×N/2 square: where the network predicts the object (pad_object). */
export function centralMask(n: number): Float32Array {
  const m = new Float32Array(n * n);
  for (let i = n / 4; i < (3 * n) / 4; i++) for (let j = n / 4; j < (3 * n) / 4; j++) m[i * n + j] = 1;
  return m;
}

/**
 * The share of the probe's energy outside the central N/2×N/2 square (`probe` interleaved complex, N×N): light that
 * a network predicting the object only there (pad_object, no probe.big) cannot explain. The square's edge then cuts
 * the modelled exit wave, which spreads the modelled far field (a quarter of it moves for a probe with 20 % outside),
 * and the network learns a fixed pattern that compensates instead of the object (README item 18).
 */
export function probeEnergyOutsideSupport(probe: ArrayLike<number>, n: number): number {
  let inside = 0, total = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      const e = probe[2 * k] ** 2 + probe[2 * k + 1] ** 2;
      total += e;
      if (i >= n / 4 && i < (3 * n) / 4 && j >= n / 4 && j < (3 * n) / 4) inside += e;
    }
  }
  return total > 0 ? 1 - inside / total : 0;
}

/** probeEnergyOutsideSupport above which a run without probe.big is warned (the study's simulated probes: ≈1.4 %). */
export const PROBE_OUTSIDE_SUPPORT_WARN = 0.05;

/** Ones outside the central N/2×N/2 square: where probe.big's border branch predicts the object. */
export function borderMask(n: number): Float32Array {
  return centralMask(n).map((c) => 1 - c);
}

/**
 * Canvas side P for merging a group's patches: it must hold every patch's support (the central N/2, or all N
 * with probe.big: `fullPatches`) after its translation by up to `maxOffset` pixels, with a pixel of margin
 * for the bilinear weights; P − N is even so the canvas centre falls on a pixel.
 */
export function canvasSize(n: number, maxOffset: number, fullPatches = false): number {
  let p = (fullPatches ? n : n / 2) + 2 * Math.ceil(Math.max(0, maxOffset)) + 2;
  if ((p - n) % 2 !== 0) p++;
  return p;
}

/**
 * G[p, n] = p − n − (P − N)/2: canvas pixel p receives patch pixel n with bilinear weight relu(1 − |G − d|)
 * when the patch is translated by d (patch pixel N/2 sits at canvas pixel P/2 + d).
 */
export function tentGrid(p: number, n: number): Float32Array {
  const g = new Float32Array(p * n);
  const c = (p - n) / 2;
  for (let i = 0; i < p; i++) for (let j = 0; j < n; j++) g[i * n + j] = i - j - c;
  return g;
}

/** Loader normalisation (§8.2 rule 2): factor making the mean per-pattern energy Σ X² equal (N/2)². */
export function loaderNormalization(meanEnergy: number, n: number): number {
  if (!(meanEnergy > 0) || !Number.isFinite(meanEnergy)) throw new Error(`the diffraction patterns have no energy (mean Σ X² = ${meanEnergy})`);
  return Math.sqrt((n / 2) ** 2 / meanEnergy);
}

/**
 * The probe's share of the far-field centroid (differential-phase-contrast crosstalk). For an exit wave ψ the
 * sin-weighted intensity centroid of fftshift(FFT2(ψ)) is exactly (N/2π)·Im Σ ψ*_k ψ_{k+1} / Σ |ψ|² per axis
 * (the Fourier transform of the autocorrelation at lag 1). For ψ = P·A with a real amplitude A that is
 * Σ A_k A_{k+1}·gu_k / Σ A_k²·w_k with the maps returned here: w = |P|², gu_k = (N/2π)·Im(P*_k P_{k+1}) (next
 * column; 0 on the last), gv the same along rows. Under a curved probe an amplitude edge therefore moves the
 * centroid as a phase ramp would, by an amount these maps give once the amplitude is known.
 */
export function probePhaseGradient(probe: { re: ArrayLike<number>; im: ArrayLike<number> }, n: number): { w: Float32Array; gu: Float32Array; gv: Float32Array } {
  const w = new Float32Array(n * n);
  const gu = new Float32Array(n * n);
  const gv = new Float32Array(n * n);
  const scale = n / (2 * Math.PI);
  // Im(P*_a · P_b)
  const cross = (a: number, b: number): number => probe.re[a] * probe.im[b] - probe.im[a] * probe.re[b];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const k = i * n + j;
      w[k] = probe.re[k] ** 2 + probe.im[k] ** 2;
      if (j + 1 < n) gu[k] = scale * cross(k, k + 1);
      if (i + 1 < n) gv[k] = scale * cross(k, k + n);
    }
  }
  return { w, gu, gv };
}

/** The probe's share of the sin-weighted far-field centroid of P·A (detector pixels, x then y): probePhaseGradient. */
export function probeCentroidShare(amplitude: (k: number) => number, maps: { w: Float32Array; gu: Float32Array; gv: Float32Array }, n: number, support?: (i: number, j: number) => boolean): [number, number] {
  let w = 0, u = 0, v = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    if (support && !support(i, j)) continue;
    const k = i * n + j;
    const a = amplitude(k);
    w += a * a * maps.w[k];
    if (j + 1 < n && (!support || support(i, j + 1))) u += a * amplitude(k + 1) * maps.gu[k];
    if (i + 1 < n && (!support || support(i + 1, j))) v += a * amplitude(k + n) * maps.gv[k];
  }
  return [u / w, v / w];
}

/** Wiener floor of the back-projection's division by the probe, relative to max |P|². */
export const BACKPROJECTION_FLOOR = 0.05;

/**
 * Host-side constants of the back-projection (graphs.ts `backprojection`) for a probe P (N×N planes):
 * the unit phasor of the flat object's far field fftshift(FFT2(P)) (1 where it vanishes), and
 * conj(P) / (|P|² + BACKPROJECTION_FLOOR·max|P|²) / N — the inverse transform's 1/N² less the amplitude's 1/N.
 */
export function backprojectionConstants(probe: { re: Float32Array; im: Float32Array }, n: number): { phasorRe: Float32Array; phasorIm: Float32Array; inverseRe: Float32Array; inverseIm: Float32Array } {
  const f = shiftedDftMatrices(n);
  // Y = Fs·P·Fsᵀ, in double.
  const y = complexProduct(complexProduct(f, probe, n), { re: f.reT, im: f.imT }, n);
  const phasorRe = new Float32Array(n * n);
  const phasorIm = new Float32Array(n * n);
  for (let k = 0; k < n * n; k++) {
    const m = Math.hypot(y.re[k], y.im[k]);
    phasorRe[k] = m > 0 ? y.re[k] / m : 1;
    phasorIm[k] = m > 0 ? y.im[k] / m : 0;
  }
  let max = 0;
  for (let k = 0; k < n * n; k++) max = Math.max(max, probe.re[k] ** 2 + probe.im[k] ** 2);
  if (!(max > 0)) throw new Error('the back-projected input needs a probe with some intensity');
  const inverseRe = new Float32Array(n * n);
  const inverseIm = new Float32Array(n * n);
  for (let k = 0; k < n * n; k++) {
    const w = 1 / ((probe.re[k] ** 2 + probe.im[k] ** 2 + BACKPROJECTION_FLOOR * max) * n);
    inverseRe[k] = probe.re[k] * w;
    inverseIm[k] = -probe.im[k] * w;
  }
  return { phasorRe, phasorIm, inverseRe, inverseIm };
}

/** The complex matrix product A·B of two N×N matrices (split re/im), in double. */
function complexProduct(a: { re: ArrayLike<number>; im: ArrayLike<number> }, b: { re: ArrayLike<number>; im: ArrayLike<number> }, n: number): { re: Float64Array; im: Float64Array } {
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sr = 0, si = 0;
      for (let k = 0; k < n; k++) {
        const ar = a.re[i * n + k], ai = a.im[i * n + k], br = b.re[k * n + j], bi = b.im[k * n + j];
        sr += ar * br - ai * bi;
        si += ar * bi + ai * br;
      }
      re[i * n + j] = sr;
      im[i * n + j] = si;
    }
  }
  return { re, im };
}
