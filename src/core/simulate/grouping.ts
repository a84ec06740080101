// Nearest-neighbour queries on scan positions (a uniform grid index: exact results, ~O(K) per query for
// the 10²–10⁵ positions of a study) and gridsize-2 group formation as in PtychoPINN's
// `_generate_groups_efficiently` (domain.md §9.3): sample `n_groups` seed positions, take each seed's K
// nearest neighbours excluding the seed itself, and pick C = 4 of them at random without replacement.
import { Rng } from './rng';

/** Patterns per gridsize-2 group (C = gridsize²). */
export const GROUP_SIZE = 4;

/** Exact K-nearest-neighbour and radius queries over fixed 2-D points. Ties are broken by lower index. */
export class PointIndex {
  readonly count: number;
  private readonly minX: number;
  private readonly minY: number;
  private readonly cell: number;
  private readonly gx: number;
  private readonly gy: number;
  private readonly cellStart: Int32Array;
  private readonly items: Int32Array;

  constructor(readonly xs: ArrayLike<number>, readonly ys: ArrayLike<number>) {
    const n = xs.length;
    if (ys.length !== n) throw new Error(`x and y coordinates differ in length (${n} vs ${ys.length})`);
    this.count = n;
    let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(xs[i]) || !Number.isFinite(ys[i])) throw new Error(`position ${i} is not finite (${xs[i]}, ${ys[i]})`);
      minX = Math.min(minX, xs[i]);
      maxX = Math.max(maxX, xs[i]);
      minY = Math.min(minY, ys[i]);
      maxY = Math.max(maxY, ys[i]);
    }
    if (n === 0) minX = maxX = minY = maxY = 0;
    const spanX = maxX - minX;
    const spanY = maxY - minY;
    // About two points per cell. A side much thinner than the other (points along a line) counts as
    // span/√n wide, so line-like layouts get about √n cells along the line instead of a huge sparse grid.
    const span = Math.max(spanX, spanY);
    const thin = span / Math.sqrt(Math.max(n, 1));
    let cell = Math.sqrt((2 * Math.max(spanX, thin) * Math.max(spanY, thin)) / Math.max(n, 1));
    cell = Math.max(cell, span / 4096);
    if (!(cell > 0) || !Number.isFinite(cell)) cell = 1;
    this.minX = minX;
    this.minY = minY;
    this.cell = cell;
    this.gx = Math.floor(spanX / cell) + 1;
    this.gy = Math.floor(spanY / cell) + 1;
    const cells = this.gx * this.gy;
    const counts = new Int32Array(cells + 1);
    const cellOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = this.cellIndex(this.cellX(xs[i]), this.cellY(ys[i]));
      cellOf[i] = c;
      counts[c + 1]++;
    }
    for (let c = 0; c < cells; c++) counts[c + 1] += counts[c];
    this.cellStart = counts;
    this.items = new Int32Array(n);
    const fill = counts.slice(0, cells);
    for (let i = 0; i < n; i++) this.items[fill[cellOf[i]]++] = i; // ascending index within each cell
  }

  private cellX(x: number): number {
    return Math.min(this.gx - 1, Math.max(0, Math.floor((x - this.minX) / this.cell)));
  }

  private cellY(y: number): number {
    return Math.min(this.gy - 1, Math.max(0, Math.floor((y - this.minY) / this.cell)));
  }

  private cellIndex(cx: number, cy: number): number {
    return cy * this.gx + cx;
  }

  /**
   * The k nearest points to (qx, qy), nearest first (ties: lower index first), skipping index `exclude`
   * (−1: none). Returns fewer than k when there are fewer points.
   */
  knn(qx: number, qy: number, k: number, exclude = -1): Int32Array {
    const want = Math.min(k, this.count - (exclude >= 0 && exclude < this.count ? 1 : 0));
    if (want <= 0) return new Int32Array(0);
    const bestI = new Int32Array(want);
    const bestD = new Float64Array(want).fill(Infinity);
    let found = 0;
    const { xs, ys } = this;
    // Cell of the query, unclamped: distances to ring r+1 are ≥ r·cell wherever the query lies.
    const qcx = Math.floor((qx - this.minX) / this.cell);
    const qcy = Math.floor((qy - this.minY) / this.cell);
    const consider = (i: number): void => {
      if (i === exclude) return;
      const dx = xs[i] - qx;
      const dy = ys[i] - qy;
      const d = dx * dx + dy * dy;
      if (found === want && (d > bestD[want - 1] || (d === bestD[want - 1] && i > bestI[want - 1]))) return;
      let pos = found < want ? found++ : want - 1;
      while (pos > 0 && (bestD[pos - 1] > d || (bestD[pos - 1] === d && bestI[pos - 1] > i))) {
        bestD[pos] = bestD[pos - 1];
        bestI[pos] = bestI[pos - 1];
        pos--;
      }
      bestD[pos] = d;
      bestI[pos] = i;
    };
    const visit = (cx: number, cy: number): void => {
      if (cx < 0 || cy < 0 || cx >= this.gx || cy >= this.gy) return;
      const c = this.cellIndex(cx, cy);
      for (let p = this.cellStart[c]; p < this.cellStart[c + 1]; p++) consider(this.items[p]);
    };
    for (let r = 0; ; r++) {
      if (r === 0) visit(qcx, qcy);
      else {
        // The ring of cells at Chebyshev distance r, clipped to the grid.
        const cx0 = Math.max(0, qcx - r);
        const cx1 = Math.min(this.gx - 1, qcx + r);
        for (let cx = cx0; cx <= cx1; cx++) {
          visit(cx, qcy - r);
          visit(cx, qcy + r);
        }
        const cy0 = Math.max(0, qcy - r + 1);
        const cy1 = Math.min(this.gy - 1, qcy + r - 1);
        for (let cy = cy0; cy <= cy1; cy++) {
          visit(qcx - r, cy);
          visit(qcx + r, cy);
        }
      }
      const coversGrid = qcx - r <= 0 && qcy - r <= 0 && qcx + r >= this.gx - 1 && qcy + r >= this.gy - 1;
      if (coversGrid) break;
      if (found === want) {
        const bound = r * this.cell;
        if (bestD[want - 1] < bound * bound) break;
      }
    }
    return bestI.slice(0, found);
  }

  /** Indices of the points at distance < r (strict) from (qx, qy), ascending. */
  within(qx: number, qy: number, r: number): number[] {
    const out: number[] = [];
    if (this.count === 0 || !(r > 0)) return out;
    const x0 = this.cellX(qx - r), x1 = this.cellX(qx + r);
    const y0 = this.cellY(qy - r), y1 = this.cellY(qy + r);
    const r2 = r * r;
    for (let cy = y0; cy <= y1; cy++) {
      for (let cx = x0; cx <= x1; cx++) {
        const c = this.cellIndex(cx, cy);
        for (let p = this.cellStart[c]; p < this.cellStart[c + 1]; p++) {
          const i = this.items[p];
          const dx = this.xs[i] - qx;
          const dy = this.ys[i] - qy;
          if (dx * dx + dy * dy < r2) out.push(i);
        }
      }
    }
    return out.sort((a, b) => a - b);
  }
}

/** Brute-force K nearest neighbours (reference for tests): same ordering rules as PointIndex.knn. */
export function knnBruteForce(xs: ArrayLike<number>, ys: ArrayLike<number>, qx: number, qy: number, k: number, exclude = -1): number[] {
  const idx: number[] = [];
  for (let i = 0; i < xs.length; i++) if (i !== exclude) idx.push(i);
  const d = (i: number): number => (xs[i] - qx) ** 2 + (ys[i] - qy) ** 2;
  idx.sort((a, b) => d(a) - d(b) || a - b);
  return idx.slice(0, k);
}

export interface GroupingResult {
  /** n_groups × 4 row indices into the points, row-major. */
  groups: Int32Array;
  nGroups: number;
  /** Seed position of each group. */
  seeds: Int32Array;
  /** Neighbours actually available per seed: min(K, n − 1). */
  effectiveK: number;
  /** True when n_groups > n: seeds were drawn with replacement (OVERSAMPLING-001). */
  oversampled: boolean;
}

/**
 * Gridsize-2 groups: seeds are all points in order when nGroups = n, a random subset (without replacement)
 * when nGroups < n, and random draws with replacement when nGroups > n. For each seed, its K nearest
 * neighbours (the seed itself excluded) form the pool; if fewer than C are available the seed joins the
 * pool. C = 4 pool members are chosen at random without replacement.
 */
export function formGroups(xs: ArrayLike<number>, ys: ArrayLike<number>, nGroups: number, neighborCount: number, rng: Rng, index?: PointIndex): GroupingResult {
  const n = xs.length;
  if (!Number.isInteger(nGroups) || nGroups < 1) throw new Error(`n_groups must be an integer ≥ 1 (got ${nGroups})`);
  if (!Number.isInteger(neighborCount) || neighborCount < GROUP_SIZE) {
    throw new Error(`neighbor_count=${neighborCount} < C=${GROUP_SIZE}: gridsize 2 groups need at least ${GROUP_SIZE} neighbours to choose from (OVERSAMPLING-001)`);
  }
  if (n < GROUP_SIZE) throw new Error(`only ${n} positions: a gridsize 2 group needs at least ${GROUP_SIZE}`);
  const idx = index ?? new PointIndex(xs, ys);
  let seeds: Int32Array;
  const oversampled = nGroups > n;
  if (nGroups === n) seeds = Int32Array.from({ length: n }, (_, i) => i);
  else if (nGroups < n) seeds = rng.choice(n, nGroups);
  else seeds = Int32Array.from({ length: nGroups }, () => rng.int(n));
  const effectiveK = Math.min(neighborCount, n - 1);
  const groups = new Int32Array(nGroups * GROUP_SIZE);
  for (let g = 0; g < nGroups; g++) {
    const picked = rng.choose(neighbourPool(idx, seeds[g], neighborCount), GROUP_SIZE);
    groups.set(picked, g * GROUP_SIZE);
  }
  return { groups, nGroups, seeds, effectiveK, oversampled };
}

/**
 * The patterns a group seeded at `seed` draws from: its K nearest neighbours, the seed excluded — or, where the scan
 * holds fewer than C other positions, the seed joins them.
 */
export function neighbourPool(index: PointIndex, seed: number, neighborCount: number): number[] {
  const pool = Array.from(index.knn(index.xs[seed], index.ys[seed], Math.min(neighborCount, index.count - 1), seed));
  return pool.length < GROUP_SIZE ? [seed, ...pool] : pool;
}

/** ⌊s_img · n⌋ distinct row indices, sorted ascending (file order is kept). Errors when that is 0. */
export function subsampleIndices(n: number, sImg: number, rng: Rng): Int32Array {
  if (!(sImg > 0 && sImg <= 1)) throw new Error(`s_img must be in (0, 1] (got ${sImg})`);
  const k = Math.floor(sImg * n + 1e-9);
  if (k === 0) throw new Error(`s_img=${sImg} keeps no image of ${n}: ⌊s_img·n⌋ = 0`);
  if (k === n) return Int32Array.from({ length: n }, (_, i) => i);
  return rng.choice(n, k).sort();
}
