// Phase D overlap metrics (domain.md §4.2(b), docs/specs/overlap_metrics.md of the seed study): disc overlap
// fraction f(d) for a probe of diameter D, Metric 1 (group-based, gridsize 2), Metric 2 (image-based, on
// de-duplicated positions), Metric 3 (group ↔ group centres of mass), and the geometry acceptance bound.
// Geometry only: diffraction values are never looked at.
import { GROUP_SIZE, PointIndex } from './grouping';

export const METRICS_VERSION = '1.0';
/** Cap of the geometry acceptance bound (the legacy 10 % minimum acceptance). */
export const GEOMETRY_ACCEPTANCE_CAP = 0.1;
/**
 * Floor of `effective_min_acceptance`. The seed study does not record its value (domain.md §14.3); 1e-3
 * is our choice (one accepted position in a thousand).
 */
export const GEOMETRY_ACCEPTANCE_EPS = 1e-3;

/** The per-split metrics JSON, field names and order as in the spec. */
export interface OverlapMetrics {
  metrics_version: string;
  gridsize: number;
  s_img: number;
  n_groups: number;
  neighbor_count: number;
  probe_diameter_px: number;
  rng_seed_subsample: number;
  metric_1_group_based_avg: number | null;
  metric_2_image_based_avg: number;
  metric_3_group_to_group_avg: number;
  n_images_total: number;
  n_images_subsampled: number;
  n_unique_images: number;
  n_groups_actual: number;
  geometry_acceptance_bound: number;
  effective_min_acceptance: number;
}

/**
 * Overlap area of two discs of diameter D at centre distance d, as a fraction of one disc's area:
 * A(d) = 2R²·acos(d/2R) − (d/2)·√(4R² − d²) for d < D (else 0), f = A/(πR²), R = D/2.
 * f(0) = 1, f(R) = 2/3 − √3/(2π) ≈ 0.391, f(d ≥ D) = 0.
 */
export function discOverlapFraction(d: number, diameter: number): number {
  if (!(diameter > 0)) throw new Error(`probe_diameter_px must be > 0 (got ${diameter})`);
  const dist = Math.abs(d);
  if (dist >= diameter) return 0;
  const r = diameter / 2;
  const area = 2 * r * r * Math.acos(dist / diameter) - (dist / 2) * Math.sqrt(Math.max(0, diameter * diameter - dist * dist));
  return Math.min(1, Math.max(0, area / (Math.PI * r * r)));
}

/**
 * Metric 1: for every member of every group (the "sample"), the mean f to up to K nearest other members of
 * its group; averaged over all members of all groups. `groups` holds `groupSize` position indices per group.
 */
export function metric1GroupBased(
  xs: ArrayLike<number>, ys: ArrayLike<number>, groups: ArrayLike<number>, groupSize: number, neighborCount: number, diameter: number,
): number {
  let sum = 0;
  let count = 0;
  const nGroups = Math.floor(groups.length / groupSize);
  const d = new Float64Array(groupSize);
  for (let g = 0; g < nGroups; g++) {
    const base = g * groupSize;
    if (groupSize <= 1) continue;
    for (let a = 0; a < groupSize; a++) {
      const i = groups[base + a];
      let m = 0;
      for (let b = 0; b < groupSize; b++) {
        if (b === a) continue;
        const j = groups[base + b];
        d[m++] = Math.hypot(xs[j] - xs[i], ys[j] - ys[i]);
      }
      const sorted = Array.from(d.subarray(0, m)).sort((p, q) => p - q);
      const k = Math.min(neighborCount, m);
      let s = 0;
      for (let t = 0; t < k; t++) s += discOverlapFraction(sorted[t], diameter);
      sum += s / k;
      count++;
    }
  }
  return count > 0 ? sum / count : 0;
}

/** Positions de-duplicated by exact (x, y) equality, first occurrence kept. */
export function uniquePositions(xs: ArrayLike<number>, ys: ArrayLike<number>): { xs: Float64Array; ys: Float64Array } {
  const seen = new Set<string>();
  const ux: number[] = [];
  const uy: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    const key = `${xs[i]},${ys[i]}`;
    if (seen.has(key)) continue;
    seen.add(key);
    ux.push(xs[i]);
    uy.push(ys[i]);
  }
  return { xs: Float64Array.from(ux), ys: Float64Array.from(uy) };
}

/** Metric 2: per unique position, the mean f to its up to K nearest other unique positions; averaged (one position: 0). */
export function metric2ImageBased(xs: ArrayLike<number>, ys: ArrayLike<number>, neighborCount: number, diameter: number): { value: number; nUnique: number } {
  const u = uniquePositions(xs, ys);
  const n = u.xs.length;
  if (n <= 1) return { value: 0, nUnique: n };
  const index = new PointIndex(u.xs, u.ys);
  const k = Math.min(neighborCount, n - 1);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const nn = index.knn(u.xs[i], u.ys[i], k, i);
    let s = 0;
    for (const j of nn) s += discOverlapFraction(Math.hypot(u.xs[j] - u.xs[i], u.ys[j] - u.ys[i]), diameter);
    sum += s / nn.length;
  }
  return { value: sum / n, nUnique: n };
}

/** Centres of mass of the groups. */
export function groupCentres(xs: ArrayLike<number>, ys: ArrayLike<number>, groups: ArrayLike<number>, groupSize: number): { xs: Float64Array; ys: Float64Array } {
  const nGroups = Math.floor(groups.length / groupSize);
  const cx = new Float64Array(nGroups);
  const cy = new Float64Array(nGroups);
  for (let g = 0; g < nGroups; g++) {
    let sx = 0;
    let sy = 0;
    for (let a = 0; a < groupSize; a++) {
      sx += xs[groups[g * groupSize + a]];
      sy += ys[groups[g * groupSize + a]];
    }
    cx[g] = sx / groupSize;
    cy[g] = sy / groupSize;
  }
  return { xs: cx, ys: cy };
}

/**
 * Metric 3: per group, the mean f over the other groups whose centre of mass lies at d < D (0 when none);
 * averaged over groups (fewer than two groups: 0).
 */
export function metric3GroupToGroup(xs: ArrayLike<number>, ys: ArrayLike<number>, groups: ArrayLike<number>, groupSize: number, diameter: number): number {
  const c = groupCentres(xs, ys, groups, groupSize);
  const n = c.xs.length;
  if (n <= 1) return 0;
  const index = new PointIndex(c.xs, c.ys);
  let sum = 0;
  for (let g = 0; g < n; g++) {
    let s = 0;
    let m = 0;
    for (const h of index.within(c.xs[g], c.ys[g], diameter)) {
      if (h === g) continue;
      s += discOverlapFraction(Math.hypot(c.xs[h] - c.xs[g], c.ys[h] - c.ys[g]), diameter);
      m++;
    }
    sum += m > 0 ? s / m : 0;
  }
  return sum / n;
}

/**
 * geometry_acceptance_bound = min(span_x·span_y / (n·π(D/2)²), 0.10) over the positions' bounding box;
 * effective_min_acceptance = max(bound, GEOMETRY_ACCEPTANCE_EPS).
 */
export function geometryAcceptance(xs: ArrayLike<number>, ys: ArrayLike<number>, diameter: number): { bound: number; effective: number } {
  const n = xs.length;
  if (n === 0) return { bound: 0, effective: GEOMETRY_ACCEPTANCE_EPS };
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < n; i++) {
    minX = Math.min(minX, xs[i]);
    maxX = Math.max(maxX, xs[i]);
    minY = Math.min(minY, ys[i]);
    maxY = Math.max(maxY, ys[i]);
  }
  const disc = Math.PI * (diameter / 2) ** 2;
  const bound = Math.min(((maxX - minX) * (maxY - minY)) / (n * disc), GEOMETRY_ACCEPTANCE_CAP);
  return { bound, effective: Math.max(bound, GEOMETRY_ACCEPTANCE_EPS) };
}

export interface OverlapMetricsInput {
  /** Positions after subsampling (the rows of the view file). */
  xs: ArrayLike<number>;
  ys: ArrayLike<number>;
  /** Positions in the split before subsampling. */
  nImagesTotal: number;
  gridsize: number;
  sImg: number;
  /** Requested number of groups. */
  nGroups: number;
  neighborCount: number;
  probeDiameterPx: number;
  rngSeedSubsample: number;
  /** Gridsize 2: the groups (4 indices into xs/ys per group). Gridsize 1: ignored (each image is a group). */
  groups?: ArrayLike<number>;
}

/** The per-split metrics JSON of the spec. Parameter errors use the spec's wording. */
export function computeOverlapMetrics(p: OverlapMetricsInput): OverlapMetrics {
  if (p.gridsize !== 1 && p.gridsize !== 2) throw new Error(`gridsize must be 1 or 2 (got ${p.gridsize})`);
  if (!(p.sImg > 0 && p.sImg <= 1)) throw new Error(`s_img must be in (0, 1] (got ${p.sImg})`);
  if (!Number.isInteger(p.nGroups) || p.nGroups < 1) throw new Error(`n_groups must be an integer ≥ 1 (got ${p.nGroups})`);
  if (!(p.probeDiameterPx > 0) || !Number.isFinite(p.probeDiameterPx)) throw new Error(`probe_diameter_px must be > 0 (got ${p.probeDiameterPx})`);
  const n = p.xs.length;
  if (n === 0) throw new Error('the subsample holds no images');
  let groups: ArrayLike<number>;
  let groupSize: number;
  if (p.gridsize === 2) {
    if (!p.groups) throw new Error('gridsize 2 metrics need the groups');
    groups = p.groups;
    groupSize = GROUP_SIZE;
  } else {
    groups = Int32Array.from({ length: Math.min(n, p.nGroups) }, (_, i) => i);
    groupSize = 1;
  }
  const m2 = metric2ImageBased(p.xs, p.ys, p.neighborCount, p.probeDiameterPx);
  const geo = geometryAcceptance(p.xs, p.ys, p.probeDiameterPx);
  return {
    metrics_version: METRICS_VERSION,
    gridsize: p.gridsize,
    s_img: p.sImg,
    n_groups: p.nGroups,
    neighbor_count: p.neighborCount,
    probe_diameter_px: p.probeDiameterPx,
    rng_seed_subsample: p.rngSeedSubsample,
    metric_1_group_based_avg: p.gridsize === 2 ? metric1GroupBased(p.xs, p.ys, groups, groupSize, p.neighborCount, p.probeDiameterPx) : null,
    metric_2_image_based_avg: m2.value,
    metric_3_group_to_group_avg: metric3GroupToGroup(p.xs, p.ys, groups, groupSize, p.probeDiameterPx),
    n_images_total: p.nImagesTotal,
    n_images_subsampled: n,
    n_unique_images: m2.nUnique,
    n_groups_actual: Math.floor(groups.length / groupSize),
    geometry_acceptance_bound: geo.bound,
    effective_min_acceptance: geo.effective,
  };
}
