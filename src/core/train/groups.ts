// Groups of patterns the network sees together: gridsize 1 = each pattern alone; gridsize 2 = C = 4 patterns
// drawn from the K nearest neighbours of a seed position (seeded), each with its offset from the group
// centroid (domain.md §9.3: patch c sits at +(pos_c − centroid) on the group canvas).
import { formGroups } from '../simulate/grouping';
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
    return { count, size: 1, indices: chosen, offsets: new Float32Array(2 * count), centers, maxOffset: 0 };
  }
  const rng = new Rng(options.seed, 'groups-gs2', options.stream);
  const result = formGroups(xs, ys, options.nGroups ?? n, options.neighborCount, rng);
  const count = result.nGroups;
  const offsets = new Float32Array(count * size * 2);
  const centers = new Float64Array(count * 2);
  let maxOffset = 0;
  for (let g = 0; g < count; g++) {
    let cx = 0;
    let cy = 0;
    for (let c = 0; c < size; c++) {
      cx += xs[result.groups[g * size + c]];
      cy += ys[result.groups[g * size + c]];
    }
    cx /= size;
    cy /= size;
    centers[2 * g] = cx;
    centers[2 * g + 1] = cy;
    for (let c = 0; c < size; c++) {
      const p = result.groups[g * size + c];
      const dx = xs[p] - cx;
      const dy = ys[p] - cy;
      offsets[(g * size + c) * 2] = dx;
      offsets[(g * size + c) * 2 + 1] = dy;
      maxOffset = Math.max(maxOffset, Math.abs(dx), Math.abs(dy));
    }
  }
  return { count, size, indices: result.groups, offsets, centers, maxOffset };
}

/** A subset of groups (e.g. the validation split), in the given order. */
export function selectGroups(groups: PatternGroups, which: ArrayLike<number>): PatternGroups {
  const size = groups.size;
  const count = which.length;
  const indices = new Int32Array(count * size);
  const offsets = new Float32Array(count * size * 2);
  const centers = new Float64Array(count * 2);
  let maxOffset = 0;
  for (let k = 0; k < count; k++) {
    const g = which[k];
    indices.set(groups.indices.subarray(g * size, (g + 1) * size), k * size);
    offsets.set(groups.offsets.subarray(g * size * 2, (g + 1) * size * 2), k * size * 2);
    centers[2 * k] = groups.centers[2 * g];
    centers[2 * k + 1] = groups.centers[2 * g + 1];
  }
  for (const v of offsets) maxOffset = Math.max(maxOffset, Math.abs(v));
  return { count, size, indices, offsets, centers, maxOffset };
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
