// Groups of patterns the network sees together: gridsize 1 = each pattern alone; gridsize 2 = C = 4 patterns
// drawn from the K nearest neighbours of a seed position (seeded), each with its offset from the group
// centroid (domain.md §9.3: patch c sits at +(pos_c − centroid) on the group canvas).
import { formGroups, neighbourPool, PointIndex } from '../simulate/grouping';
import { Rng } from '../simulate/rng';

export interface PatternGroups {
  count: number;
  /** Patterns per group, C = gridsize². */
  size: number;
  /** count × C pattern indices. */
  indices: Int32Array;
  /** count × C × 2 offsets (dx, dy) from the group centroid, pixels. */
  offsets: Float32Array;
  /** count × 2 group centres (x, y), object pixels: the pattern itself (gs1) or the centroid (gs2). */
  centers: Float64Array;
  /** Largest |offset| component, for the canvas size. */
  maxOffset: number;
  /** count group seeds: the pattern each group was drawn around (gs1: the pattern itself). */
  anchors: Int32Array;
}

export interface GroupingOptions {
  gridsize: number;
  /** Groups to form; default one per pattern. */
  nGroups?: number;
  neighborCount: number;
  seed: number;
  /** Distinguishes the random streams of the train and test splits. */
  stream: string;
}

export function buildGroups(xs: Float64Array, ys: Float64Array, options: GroupingOptions): PatternGroups {
  const n = xs.length;
  const size = options.gridsize * options.gridsize;
  if (options.gridsize === 1) {
    const count = Math.min(options.nGroups ?? n, n);
    const rng = new Rng(options.seed, 'groups-gs1', options.stream);
    const chosen = count === n ? Int32Array.from({ length: n }, (_, i) => i) : rng.choice(n, count).sort();
    const centers = new Float64Array(2 * count);
    chosen.forEach((p, g) => {
      centers[2 * g] = xs[p];
      centers[2 * g + 1] = ys[p];
    });
    return { count, size: 1, indices: chosen, offsets: new Float32Array(2 * count), centers, maxOffset: 0, anchors: chosen };
  }
  const rng = new Rng(options.seed, 'groups-gs2', options.stream);
  const result = formGroups(xs, ys, options.nGroups ?? n, options.neighborCount, rng);
  return groupsOf(xs, ys, result.groups, result.seeds, size);
}

/** Offsets from each group's centroid and the centres, for count × size pattern indices. */
function groupsOf(xs: ArrayLike<number>, ys: ArrayLike<number>, indices: Int32Array, anchors: Int32Array, size: number): PatternGroups {
  const count = anchors.length;
  const offsets = new Float32Array(count * size * 2);
  const centers = new Float64Array(count * 2);
  let maxOffset = 0;
  for (let g = 0; g < count; g++) {
    let cx = 0;
    let cy = 0;
    for (let c = 0; c < size; c++) {
      cx += xs[indices[g * size + c]];
      cy += ys[indices[g * size + c]];
    }
    cx /= size;
    cy /= size;
    centers[2 * g] = cx;
    centers[2 * g + 1] = cy;
    for (let c = 0; c < size; c++) {
      const p = indices[g * size + c];
      const dx = xs[p] - cx;
      const dy = ys[p] - cy;
      offsets[(g * size + c) * 2] = dx;
      offsets[(g * size + c) * 2 + 1] = dy;
      maxOffset = Math.max(maxOffset, Math.abs(dx), Math.abs(dy));
    }
  }
  return { count, size, indices, offsets, centers, maxOffset, anchors };
}

/**
 * Each gridsize-2 group's pool, its seed's K nearest neighbours (seed excluded, as formGroups draws them), so the
 * C = 4 patterns of a group can be drawn afresh each epoch (training.regroupEachEpoch): PtychoPINN's K-choose-C
 * oversampling, one draw per seed and epoch instead of one per run.
 */
export interface GroupPools {
  anchors: Int32Array;
  /** Pool size per anchor (K, or fewer where the scan holds fewer positions). */
  k: number;
  /** anchors × k pattern indices. */
  pools: Int32Array;
  /** The largest |offset| component any draw from any pool can give: the canvas must hold every epoch's groups. */
  maxOffset: number;
}

export function groupPools(xs: Float64Array, ys: Float64Array, anchors: Int32Array, neighborCount: number, size: number): GroupPools {
  const index = new PointIndex(xs, ys);
  // Every pool has the same size: the scan's positions are the same for every seed.
  const k = anchors.length ? neighbourPool(index, anchors[0], neighborCount).length : 0;
  if (anchors.length && k < size) throw new Error(`only ${xs.length} positions: a group needs ${size}`);
  const pools = new Int32Array(anchors.length * k);
  let maxOffset = 0;
  for (let g = 0; g < anchors.length; g++) {
    const pool = neighbourPool(index, anchors[g], neighborCount);
    pools.set(pool, g * k);
    maxOffset = Math.max(maxOffset, largestOffset(xs, pool, size), largestOffset(ys, pool, size));
  }
  return { anchors, k, pools, maxOffset };
}

/**
 * The largest |v_p − mean(v over a group)| over every group of `size` drawn from `pool`, exactly: for member p it is
 * reached with the size − 1 smallest (or largest) other values beside it.
 */
export function largestOffset(v: ArrayLike<number>, pool: ArrayLike<number>, size: number): number {
  const sorted = Array.from(pool, (p) => v[p]).sort((a, b) => a - b);
  const n = sorted.length;
  const m = size - 1;
  const sum = (from: number, to: number): number => sorted.slice(from, to).reduce((a, b) => a + b, 0);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const x = sorted[i];
    // The m smallest (largest) values other than member i.
    const smallest = i < m ? sum(0, m + 1) - x : sum(0, m);
    const largest = i >= n - m ? sum(n - m - 1, n) - x : sum(n - m, n);
    best = Math.max(best, Math.abs((m * x - smallest) / size), Math.abs((largest - m * x) / size));
  }
  return best;
}

/** The groups of one epoch: C = 4 drawn afresh from each anchor's pool (seeded by the run's seed and the epoch). */
export function redrawGroups(xs: Float64Array, ys: Float64Array, pools: GroupPools, size: number, seed: number, epoch: number): PatternGroups {
  const rng = new Rng(seed, 'regroup', epoch);
  const indices = new Int32Array(pools.anchors.length * size);
  for (let g = 0; g < pools.anchors.length; g++) {
    const pool = Array.from(pools.pools.subarray(g * pools.k, (g + 1) * pools.k));
    indices.set(rng.choose(pool, size), g * size);
  }
  return groupsOf(xs, ys, indices, pools.anchors, size);
}

/** A subset of groups (e.g. the validation split), in the given order. */
export function selectGroups(groups: PatternGroups, which: ArrayLike<number>): PatternGroups {
  const size = groups.size;
  const count = which.length;
  const indices = new Int32Array(count * size);
  const offsets = new Float32Array(count * size * 2);
  const centers = new Float64Array(count * 2);
  const anchors = new Int32Array(count);
  let maxOffset = 0;
  for (let k = 0; k < count; k++) {
    const g = which[k];
    anchors[k] = groups.anchors[g];
    indices.set(groups.indices.subarray(g * size, (g + 1) * size), k * size);
    offsets.set(groups.offsets.subarray(g * size * 2, (g + 1) * size * 2), k * size * 2);
    centers[2 * k] = groups.centers[2 * g];
    centers[2 * k + 1] = groups.centers[2 * g + 1];
  }
  for (const v of offsets) maxOffset = Math.max(maxOffset, Math.abs(v));
  return { count, size, indices, offsets, centers, maxOffset, anchors };
}

/** A seeded permutation of 0..n−1 derived from (seed, stream keys): the same keys give the same order. */
export function permutation(n: number, seed: number, ...keys: (string | number)[]): Int32Array {
  const rng = new Rng(seed, 'permutation', ...keys);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

/**
 * Train/validation split of the groups: a seeded shuffle, the last ⌈fraction·count⌉ held out (at least one
 * when the fraction is positive and two or more groups exist).
 */
export function splitValidation(count: number, fraction: number, seed: number): { train: Int32Array; validation: Int32Array } {
  const order = permutation(count, seed, 'validation-split');
  let nVal = fraction > 0 ? Math.max(1, Math.ceil(fraction * count)) : 0;
  if (nVal >= count) nVal = count > 1 ? 1 : 0;
  return { train: order.slice(0, count - nVal).sort(), validation: order.slice(count - nVal).sort() };
}

/** The gridsize-2 groups of disjoint parts of a split's patterns, for the half-set weightings (halfSetFilter.ts). */
export interface HalfSetGroups {
  /** Two halves: the FRC of their stitches. */
  halves: [PatternGroups, PatternGroups];
  /** Four quarters (the halves' halves): how much a doubling of the data raises the SNR (densityGain). */
  quarters: PatternGroups[];
}

/**
 * Disjoint parts of gridsize-2 groups' patterns, for the half-set FRC (halfSetFilter.ts). The groups of a scan share
 * most patterns (each sits in about C of them), so their even and odd groups make the same errors and are no
 * independent halves. Here the patterns the groups use are split by alternate index (halves: index rank mod 2;
 * quarters: mod 4, so each half holds two quarters) and each part is grouped among its own patterns as buildGroups
 * does, from max(C, ⌈K/parts⌉) nearest neighbours so that a group spans about the area it spans at the full density.
 * Undefined when a quarter holds fewer than C patterns.
 */
export function halfSetGroups(xs: Float64Array, ys: Float64Array, groups: PatternGroups, o: { neighborCount: number; seed: number }): HalfSetGroups | undefined {
  const patterns = Int32Array.from(new Set(groups.indices)).sort();
  const quarters = disjointGroups(xs, ys, patterns, groups.size, 4, o);
  const halves = quarters && disjointGroups(xs, ys, patterns, groups.size, 2, o);
  return quarters && halves ? { halves: halves as [PatternGroups, PatternGroups], quarters } : undefined;
}

function disjointGroups(xs: Float64Array, ys: Float64Array, patterns: Int32Array, size: number, parts: number, o: { neighborCount: number; seed: number }): PatternGroups[] | undefined {
  const gridsize = Math.round(Math.sqrt(size));
  const sets = Array.from({ length: parts }, (_, h) => patterns.filter((_, r) => r % parts === h));
  if (sets.some((set) => set.length < size)) return undefined;
  const neighborCount = Math.max(size, Math.ceil(o.neighborCount / parts));
  return sets.map((set, h) => {
    const local = buildGroups(Float64Array.from(set, (p) => xs[p]), Float64Array.from(set, (p) => ys[p]), { gridsize, neighborCount, seed: o.seed, stream: `half-set-${parts}-${h}` });
    // Positions (so centres and offsets) are the patterns' own; only the indices go back to the dataset's.
    return { ...local, indices: local.indices.map((i) => set[i]), anchors: local.anchors.map((i) => set[i]) };
  });
}
