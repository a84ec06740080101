// Image statistics (min/max, percentiles from a histogram, auto contrast windows) and block-mean
// decimation of 2-D arrays. Pure TypeScript: no vscode, no Node APIs.

export interface MinMax {
  min: number;
  max: number;
  /** Finite values seen (NaN and ±Infinity are skipped). */
  finite: number;
  /** NaN values seen. */
  nan: number;
}

/** Min and max over the finite values (one pass). For no finite value, min = max = NaN. */
export function finiteMinMax(values: ArrayLike<number>): MinMax {
  let min = Infinity;
  let max = -Infinity;
  let finite = 0;
  let nan = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) { nan++; continue; }
    if (v === Infinity || v === -Infinity) continue;
    finite++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return finite === 0 ? { min: NaN, max: NaN, finite, nan } : { min, max, finite, nan };
}

export interface Histogram {
  lo: number;
  hi: number;
  counts: Uint32Array;
  /** Finite values counted. */
  total: number;
}

/** Histogram of the finite values in [lo, hi] over `bins` equal bins (values outside are clamped in). */
export function histogram(values: ArrayLike<number>, bins: number, lo: number, hi: number): Histogram {
  const counts = new Uint32Array(Math.max(1, bins | 0));
  const nb = counts.length;
  const k = hi > lo ? nb / (hi - lo) : 0;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v || v === Infinity || v === -Infinity) continue;
    let b = ((v - lo) * k) | 0;
    if (b < 0) b = 0;
    else if (b >= nb) b = nb - 1;
    counts[b]++;
    total++;
  }
  return { lo, hi, counts, total };
}

/**
 * Percentiles (0–100) of the finite values: a histogram over [min, max] finds the bin holding each
 * percentile, and a second histogram inside that bin refines it (so a few outliers that stretch [min, max]
 * do not blur the result), interpolating between the smallest and largest value in the final bin. Exact to
 * (max − min) / bins², and exact for repeated values;
 * 2 + (number of percentiles) passes. NaN for each when there is no finite value.
 */
export function percentiles(values: ArrayLike<number>, ps: readonly number[], bins = 4096): number[] {
  const mm = finiteMinMax(values);
  if (mm.finite === 0) return ps.map(() => NaN);
  if (mm.min === mm.max) return ps.map(() => mm.min);
  const h = histogram(values, bins, mm.min, mm.max);
  return ps.map((p) => percentileOf(values, h, p, mm));
}

/** The bin of `h` where the cumulative count reaches `target`, with the count before it. */
function findBin(h: Histogram, target: number): { bin: number; before: number } {
  let acc = 0;
  for (let b = 0; b < h.counts.length; b++) {
    const c = h.counts[b];
    if (c > 0 && acc + c >= target) return { bin: b, before: acc };
    acc += c;
  }
  return { bin: h.counts.length - 1, before: acc - h.counts[h.counts.length - 1] };
}

function percentileOf(values: ArrayLike<number>, h: Histogram, p: number, mm: MinMax): number {
  if (p <= 0) return mm.min;
  if (p >= 100) return mm.max;
  const target = Math.max(1e-9, (p / 100) * h.total);
  const nb = h.counts.length;
  const width = (h.hi - h.lo) / nb;
  const { bin, before } = findBin(h, target);
  // Refine inside the coarse bin: the values that fell into it (the last bin also holds max itself).
  const lo = h.lo + bin * width;
  const hi = bin === nb - 1 ? h.hi : lo + width;
  const k = nb / width;
  const fine = new Uint32Array(nb);
  const fineMin = new Float64Array(nb).fill(Infinity);
  const fineMax = new Float64Array(nb).fill(-Infinity);
  let inBin = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!(v >= lo) || v === Infinity) continue;
    if (bin === nb - 1 ? v > hi : v >= hi) continue;
    // Same bin assignment as histogram() for the coarse level: recompute it to stay consistent at edges.
    let cb = ((v - h.lo) * (nb / (h.hi - h.lo))) | 0;
    if (cb >= nb) cb = nb - 1;
    if (cb !== bin) continue;
    let f = ((v - lo) * k) | 0;
    if (f < 0) f = 0;
    else if (f >= nb) f = nb - 1;
    fine[f]++;
    if (v < fineMin[f]) fineMin[f] = v;
    if (v > fineMax[f]) fineMax[f] = v;
    inBin++;
  }
  const sub = findBin({ lo, hi, counts: fine, total: inBin }, target - before);
  const c = fine[sub.bin];
  if (c === 0) return Math.min(mm.max, Math.max(mm.min, lo + sub.bin / k));
  // Interpolate between the smallest and largest value actually in the final bin (exact for repeated values).
  const frac = Math.min(1, Math.max(0, (target - before - sub.before) / c));
  return fineMin[sub.bin] + frac * (fineMax[sub.bin] - fineMin[sub.bin]);
}

export interface Window {
  lo: number;
  hi: number;
}

/**
 * An auto contrast window: the [low, high] percentiles (default 1st and 99th) of the finite values, widened
 * to [min, max] when they coincide (flat or nearly binary images), and to [v − 0.5, v + 0.5] for a constant
 * image, so the window is never empty. [0, 1] when there is no finite value.
 */
export function autoWindow(values: ArrayLike<number>, low = 1, high = 99): Window {
  const mm = finiteMinMax(values);
  if (mm.finite === 0) return { lo: 0, hi: 1 };
  if (mm.min === mm.max) return { lo: mm.min - 0.5, hi: mm.max + 0.5 };
  let [lo, hi] = percentiles(values, [low, high]);
  if (!(hi > lo)) {
    lo = mm.min;
    hi = mm.max;
  }
  return { lo, hi };
}

export interface Decimated {
  data: Float32Array;
  width: number;
  height: number;
  /** Block side: each output pixel is the mean of a factor × factor block (1 = unchanged). */
  factor: number;
}

/** The block factor that brings width × height down to at most maxSide pixels per side. */
export function decimationFactor(width: number, height: number, maxSide: number): number {
  if (maxSide < 1) throw new RangeError('maxSide must be at least 1');
  return Math.max(1, Math.ceil(Math.max(width, height) / maxSide));
}

/**
 * Streaming block-mean decimation of a C-order height × width image with `channels` interleaved values per
 * pixel (2 for complex re/im): feed rows in order with `addRows`, then take `result()`. Edge blocks average
 * only the pixels they hold; NaN values are left out of their block's mean (a block of NaN only is NaN).
 * With a shift (ox, oy) (0 ≤ o < factor) the block grid moves: output pixel X averages the source pixels with
 * floor((x + ox) / factor) = X, so images with different origins decimate onto one common grid.
 */
export class BlockMeanAccumulator {
  readonly outWidth: number;
  readonly outHeight: number;
  private readonly sums: Float64Array;
  private readonly counts: Uint32Array;
  private rowsSeen = 0;

  constructor(readonly width: number, readonly height: number, readonly factor: number, readonly channels = 1, readonly ox = 0, readonly oy = 0) {
    if (!(factor >= 1) || !Number.isInteger(factor)) throw new RangeError(`decimation factor must be a positive integer, got ${factor}`);
    if (!(ox >= 0 && ox < factor && oy >= 0 && oy < factor) || !Number.isInteger(ox) || !Number.isInteger(oy)) throw new RangeError(`grid shifts must be integers in [0, ${factor})`);
    this.outWidth = Math.ceil((width + ox) / factor);
    this.outHeight = Math.ceil((height + oy) / factor);
    this.sums = new Float64Array(this.outWidth * this.outHeight * channels);
    this.counts = new Uint32Array(this.outWidth * this.outHeight * channels);
  }

  /** Adds `rows` full rows (rows × width × channels values from `data`), continuing where the last call stopped. */
  addRows(data: ArrayLike<number>, rows: number): void {
    const { width, factor, channels, outWidth, sums, counts, ox, oy } = this;
    if (this.rowsSeen + rows > this.height) throw new RangeError(`addRows: ${this.rowsSeen + rows} rows exceed the height ${this.height}`);
    if (data.length < rows * width * channels) throw new RangeError(`addRows: ${rows} rows need ${rows * width * channels} values, got ${data.length}`);
    for (let r = 0; r < rows; r++) {
      const orow = ((this.rowsSeen + r + oy) / factor) | 0;
      const obase = orow * outWidth * channels;
      const ibase = r * width * channels;
      for (let x = 0; x < width; x++) {
        const o = obase + (((x + ox) / factor) | 0) * channels;
        const i = ibase + x * channels;
        for (let c = 0; c < channels; c++) {
          const v = data[i + c];
          if (v === v) {
            sums[o + c] += v;
            counts[o + c]++;
          }
        }
      }
    }
    this.rowsSeen += rows;
  }

  result(): Decimated {
    if (this.rowsSeen !== this.height) throw new Error(`BlockMeanAccumulator: got ${this.rowsSeen} of ${this.height} rows`);
    const out = new Float32Array(this.sums.length);
    for (let i = 0; i < out.length; i++) out[i] = this.counts[i] > 0 ? this.sums[i] / this.counts[i] : NaN;
    return { data: out, width: this.outWidth, height: this.outHeight, factor: this.factor };
  }
}

/**
 * Block-mean downsampling of a C-order height × width image (`channels` interleaved values per pixel) to at
 * most maxSide pixels per side. Returns the input itself (factor 1) when it is small enough.
 */
export function decimate2d(data: Float32Array, width: number, height: number, maxSide: number, channels = 1): Decimated {
  if (data.length < width * height * channels) throw new RangeError(`decimate2d: ${width}×${height}×${channels} needs ${width * height * channels} values, got ${data.length}`);
  const factor = decimationFactor(width, height, maxSide);
  if (factor === 1) return { data, width, height, factor };
  const acc = new BlockMeanAccumulator(width, height, factor, channels);
  acc.addRows(data, height);
  return acc.result();
}
