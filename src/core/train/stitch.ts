// Full-object stitching (PtychoPINN's reassemble_position, domain.md §11): the central M×M crop of each
// predicted patch is translated to its position (bilinear) and summed; the sum is divided by the summed
// weights. Streams: patches are added batch by batch, so memory is the canvas, not the patch stack.

export interface StitchRegion {
  /** Object-pixel coordinates of canvas pixel (0, 0). */
  x0: number;
  y0: number;
  width: number;
  height: number;
}

/** The canvas covering every group centre ± M/2 (integer-aligned with the object's pixel grid). */
export function stitchRegion(centers: Float64Array, cropSize: number): StitchRegion {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < centers.length; i += 2) {
    minX = Math.min(minX, centers[i]);
    maxX = Math.max(maxX, centers[i]);
    minY = Math.min(minY, centers[i + 1]);
    maxY = Math.max(maxY, centers[i + 1]);
  }
  if (!Number.isFinite(minX)) throw new Error('stitching needs at least one position');
  const half = cropSize / 2;
  const x0 = Math.floor(minX - half);
  const y0 = Math.floor(minY - half);
  return { x0, y0, width: Math.ceil(maxX + half) - x0 + 1, height: Math.ceil(maxY + half) - y0 + 1 };
}

export class Stitcher {
  readonly re: Float64Array;
  readonly im: Float64Array;
  readonly weight: Float64Array;

  /**
   * With `alignPhase`, each patch is first rotated by the constant phase that best matches what is already
   * stitched under it (arg Σ w·acc·conj(patch)): a single pattern cannot fix its own constant phase, so
   * independently predicted patches carry different offsets that plain averaging would mix incoherently.
   * Patches should then come in an order that grows a connected region (see `stitchOrder`).
   */
  constructor(readonly region: StitchRegion, readonly n: number, readonly cropSize: number, readonly alignPhase = false) {
    if (!(cropSize >= 1 && cropSize <= n)) throw new Error(`stitch crop size must be in [1, N=${n}] (got ${cropSize})`);
    const size = region.width * region.height;
    this.re = new Float64Array(size);
    this.im = new Float64Array(size);
    this.weight = new Float64Array(size);
  }

  /**
   * Adds one predicted N×N patch (amplitude and phase, row-major) centred at object coordinate (cx, cy):
   * crop pixel k ↔ object coordinate c + (k − M/2), patch pixel N/2 ↔ c.
   */
  add(amplitude: ArrayLike<number>, phase: ArrayLike<number>, cx: number, cy: number, at = 0): void {
    const { n, cropSize: m, region } = this;
    const { width: W, height: H } = region;
    const start = n / 2 - Math.floor(m / 2);
    const qx = cx - region.x0 - Math.floor(m / 2);
    const qy = cy - region.y0 - Math.floor(m / 2);
    const ix = Math.floor(qx);
    const iy = Math.floor(qy);
    const fx = qx - ix;
    const fy = qy - iy;
    const w = [(1 - fy) * (1 - fx), (1 - fy) * fx, fy * (1 - fx), fy * fx];
    const dxs = [0, 1, 0, 1];
    const dys = [0, 0, 1, 1];
    const rotation = this.alignPhase ? this.overlapPhase(amplitude, phase, at, start, ix, iy, w) : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const k = at + (start + i) * n + start + j;
        const a = amplitude[k];
        const p = phase[k] + rotation;
        const vr = a * Math.cos(p);
        const vi = a * Math.sin(p);
        for (let t = 0; t < 4; t++) {
          const wt = w[t];
          if (wt === 0) continue;
          const y = iy + i + dys[t];
          const x = ix + j + dxs[t];
          if (x < 0 || y < 0 || x >= W || y >= H) continue;
          const q = y * W + x;
          this.re[q] += wt * vr;
          this.im[q] += wt * vi;
          this.weight[q] += wt;
        }
      }
    }
  }

  /** arg Σ w · accumulated · conj(patch) over the patch's footprint; 0 where nothing is stitched yet. */
  private overlapPhase(amplitude: ArrayLike<number>, phase: ArrayLike<number>, at: number, start: number, ix: number, iy: number, w: number[]): number {
    const { n, cropSize: m, region } = this;
    const { width: W, height: H } = region;
    let sr = 0;
    let si = 0;
    let overlap = 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        const k = at + (start + i) * n + start + j;
        const a = amplitude[k];
        const c = a * Math.cos(phase[k]);
        const s = a * Math.sin(phase[k]);
        for (let t = 0; t < 4; t++) {
          const y = iy + i + (t >> 1);
          const x = ix + j + (t & 1);
          if (w[t] === 0 || x < 0 || y < 0 || x >= W || y >= H) continue;
          const q = y * W + x;
          if (this.weight[q] === 0) continue;
          // acc · conj(v), weighted.
          sr += w[t] * (this.re[q] * c + this.im[q] * s);
          si += w[t] * (this.im[q] * c - this.re[q] * s);
          overlap += w[t];
        }
      }
    }
    return overlap > 0 && (sr !== 0 || si !== 0) ? Math.atan2(si, sr) : 0;
  }

  /** The stitched object (interleaved complex64) and the per-pixel weight (coverage). */
  result(): { object: Float32Array; weight: Float32Array } {
    const size = this.weight.length;
    const object = new Float32Array(2 * size);
    const weight = new Float32Array(size);
    for (let q = 0; q < size; q++) {
      const d = this.weight[q] + 1e-9;
      object[2 * q] = this.re[q] / d;
      object[2 * q + 1] = this.im[q] / d;
      weight[q] = this.weight[q];
    }
    return { object, weight };
  }
}

/**
 * An order of the patch centres in which each patch (after the first) tends to overlap those before it: by
 * distance from the centroid of all centres, so the stitched region grows outward as one connected blob.
 */
export function stitchOrder(centers: Float64Array): Int32Array {
  const count = centers.length / 2;
  let mx = 0;
  let my = 0;
  for (let g = 0; g < count; g++) {
    mx += centers[2 * g];
    my += centers[2 * g + 1];
  }
  mx /= count || 1;
  my /= count || 1;
  const d = new Float64Array(count);
  for (let g = 0; g < count; g++) d[g] = (centers[2 * g] - mx) ** 2 + (centers[2 * g + 1] - my) ** 2;
  return Int32Array.from({ length: count }, (_, g) => g).sort((a, b) => d[a] - d[b] || a - b);
}

/** The ground truth over the same region, pixel for pixel (zero where the region leaves the object). */
export function cropObject(object: { width: number; height: number; data: Float32Array }, region: StitchRegion): Float32Array {
  const out = new Float32Array(2 * region.width * region.height);
  for (let y = 0; y < region.height; y++) {
    const oy = region.y0 + y;
    if (oy < 0 || oy >= object.height) continue;
    for (let x = 0; x < region.width; x++) {
      const ox = region.x0 + x;
      if (ox < 0 || ox >= object.width) continue;
      const s = 2 * (oy * object.width + ox);
      const d = 2 * (y * region.width + x);
      out[d] = object.data[s];
      out[d + 1] = object.data[s + 1];
    }
  }
  return out;
}
