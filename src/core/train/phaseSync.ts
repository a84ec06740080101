// Phase synchronisation of predicted patches (angular synchronisation, Singer 2011). A diffraction pattern
// cannot fix its own constant phase, so each independently predicted patch (gs1) or group (gs2) carries an
// arbitrary offset; large-scale phase (slopes integrated over many patches) exists only in how neighbours
// agree. We estimate, for every overlapping pair, the relative phase h_ij = Σ z_i·conj(z_j) over the overlap
// of their central windows, and choose unit rotations r_i that make r_i·z_i ≈ r_j·z_j for all pairs at once:
// a greedy start growing outward from the scan centre, refined by Gauss–Seidel sweeps of the projected power
// method r_i ← normalise(a_i + Σ_j conj(h_ij)·r_j), where the anchor a_i pulls each patch towards its own
// predicted phase. Greedy growth alone (the previous rule) lets errors drift along chains; the sweeps spread
// each disagreement over all pairs.

export interface PatchWindows {
  /** Window side S: each patch's central S×S pixels, row-major, centred on its position. */
  side: number;
  /** count·S² real and imaginary parts. */
  re: Float32Array;
  im: Float32Array;
  /** (x, y) object coordinates of each window's centre pixel (S/2, S/2). */
  centers: Float64Array;
}

export interface SyncOptions {
  /** Overlapping neighbours kept per patch (nearest first). Default 32. */
  maxNeighbors?: number;
  /** Gauss–Seidel sweeps at most. Default 100. */
  sweeps?: number;
  /** Stop when no rotation moves by more than this (radians). Default 1e-6. */
  tolerance?: number;
  /**
   * Pull of each patch towards its own predicted phase (no rotation), relative to the summed weight of its
   * pairs. 0 = pure synchronisation. Default PHASE_ANCHOR.
   */
  anchor?: number;
}

/**
 * Default anchor. A trained network's absolute phase is not arbitrary (it learns the study's phase statistics),
 * while relative phases from overlaps carry small errors (median 0.06–0.09 rad between neighbours, measured)
 * that pure synchronisation integrates into large-scale drift. Measured covered-pixel phase r, plain → pure
 * sync → anchor 0.1, gs1: 0.43 → 0.10 → 0.54 and 0.12 → −0.14 → 0.35 on two studies; gs2: 0.52 → 0.60 → 0.57
 * and 0.35 → 0.37 → 0.38. Gridsize-2 runs synchronise with stitch.ts GROUP_SYNC_ANCHOR (0) instead.
 */
export const PHASE_ANCHOR = 0.1;

export interface SyncResult {
  /** The rotation (radians) to add to each patch's phase. */
  rotations: Float64Array;
  pairs: number;
  sweeps: number;
  /** Patches with no overlapping neighbour (left unrotated). */
  isolated: number;
}

/** Indices outward from the centroid of the centres (ties by index): a growth order with overlaps behind it. */
export function outwardOrder(centers: Float64Array): Int32Array {
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

/** For each patch, up to `max` other patches whose windows overlap by ≥ 2 px per axis, nearest first. */
function overlappingNeighbours(centers: Float64Array, side: number, max: number): Int32Array[] {
  const count = centers.length / 2;
  const cell = Math.max(1, side);
  const buckets = new Map<string, number[]>();
  const key = (cx: number, cy: number): string => `${cx},${cy}`;
  for (let g = 0; g < count; g++) {
    const k = key(Math.floor(centers[2 * g] / cell), Math.floor(centers[2 * g + 1] / cell));
    const list = buckets.get(k);
    if (list) list.push(g);
    else buckets.set(k, [g]);
  }
  const out: Int32Array[] = [];
  for (let g = 0; g < count; g++) {
    const x = centers[2 * g];
    const y = centers[2 * g + 1];
    const bx = Math.floor(x / cell);
    const by = Math.floor(y / cell);
    const found: { j: number; d: number }[] = [];
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      for (const j of buckets.get(key(bx + dx, by + dy)) ?? []) {
        if (j === g) continue;
        const ox = Math.abs(Math.round(centers[2 * j] - x));
        const oy = Math.abs(Math.round(centers[2 * j + 1] - y));
        if (ox <= side - 2 && oy <= side - 2) found.push({ j, d: ox * ox + oy * oy });
      }
    }
    found.sort((a, b) => a.d - b.d || a.j - b.j);
    out.push(Int32Array.from(found.slice(0, max), (f) => f.j));
  }
  return out;
}

/** Σ z_i·conj(z_j) over the overlap of windows i and j (integer-rounded relative shift). */
function overlapProduct(w: PatchWindows, i: number, j: number): [number, number] {
  const s = w.side;
  const dx = Math.round(w.centers[2 * j] - w.centers[2 * i]);
  const dy = Math.round(w.centers[2 * j + 1] - w.centers[2 * i + 1]);
  // Window i pixel (u, v) is window j pixel (u − dy, v − dx).
  const u0 = Math.max(0, dy);
  const u1 = Math.min(s, s + dy);
  const v0 = Math.max(0, dx);
  const v1 = Math.min(s, s + dx);
  const bi = i * s * s;
  const bj = j * s * s;
  let hr = 0;
  let hi = 0;
  for (let u = u0; u < u1; u++) {
    const ri = bi + u * s;
    const rj = bj + (u - dy) * s - dx;
    for (let v = v0; v < v1; v++) {
      const ar = w.re[ri + v];
      const ai = w.im[ri + v];
      const br = w.re[rj + v];
      const bim = w.im[rj + v];
      hr += ar * br + ai * bim;
      hi += ai * br - ar * bim;
    }
  }
  return [hr, hi];
}

export function synchronizePhases(w: PatchWindows, options: SyncOptions = {}): SyncResult {
  const count = w.centers.length / 2;
  const maxNeighbors = options.maxNeighbors ?? 32;
  const sweeps = options.sweeps ?? 100;
  const tolerance = options.tolerance ?? 1e-6;
  const neighbours = overlappingNeighbours(w.centers, w.side, maxNeighbors);
  // Symmetric adjacency with h_ij stored from i's side (h_ji = conj(h_ij)).
  const adj: { j: number; hr: number; hi: number }[][] = Array.from({ length: count }, () => []);
  const seen = new Set<number>();
  let pairs = 0;
  for (let i = 0; i < count; i++) {
    for (const j of neighbours[i]) {
      const a = Math.min(i, j);
      const b = Math.max(i, j);
      const id = a * count + b;
      if (seen.has(id)) continue;
      seen.add(id);
      const [hr, hi] = overlapProduct(w, a, b);
      if (hr === 0 && hi === 0) continue;
      adj[a].push({ j: b, hr, hi });
      adj[b].push({ j: a, hr, hi: -hi });
      pairs++;
    }
  }
  const rr = new Float64Array(count);
  const ri = new Float64Array(count);
  const fixed = new Uint8Array(count);
  const order = outwardOrder(w.centers);
  // r_i ∝ Σ_j conj(h_ij)·r_j over the neighbours taken into account (all, or only those already fixed).
  const anchor = options.anchor ?? PHASE_ANCHOR;
  const pull = Float64Array.from(adj, (list) => anchor * list.reduce((s, e) => s + Math.hypot(e.hr, e.hi), 0));
  const update = (i: number, onlyFixed: boolean): number => {
    let sr = onlyFixed ? 0 : pull[i];
    let si = 0;
    for (const { j, hr, hi } of adj[i]) {
      if (onlyFixed && !fixed[j]) continue;
      sr += hr * rr[j] + hi * ri[j];
      si += hr * ri[j] - hi * rr[j];
    }
    const m = Math.hypot(sr, si);
    if (!(m > 0)) return 0;
    const nr = sr / m;
    const ni = si / m;
    const moved = fixed[i] ? Math.abs(Math.atan2(ni * rr[i] - nr * ri[i], nr * rr[i] + ni * ri[i])) : 0;
    rr[i] = nr;
    ri[i] = ni;
    fixed[i] = 1;
    return moved;
  };
  for (const i of order) {
    if (update(i, true) === 0 && !fixed[i]) {
      // The first patch of each connected part sets that part's phase.
      rr[i] = 1;
      ri[i] = 0;
      fixed[i] = 1;
    }
  }
  let done = 0;
  for (; done < sweeps; ) {
    let worst = 0;
    for (const i of order) worst = Math.max(worst, update(i, false));
    done++;
    if (worst < tolerance) break;
  }
  const rotations = new Float64Array(count);
  let isolated = 0;
  for (let i = 0; i < count; i++) {
    rotations[i] = Math.atan2(ri[i], rr[i]);
    if (adj[i].length === 0) isolated++;
  }
  return { rotations, pairs, sweeps: done, isolated };
}
