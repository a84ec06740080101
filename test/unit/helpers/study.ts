// Builders for small, real study datasets written with our NPZ writer (whose output is cross-checked
// against numpy by the npy tests), with knobs that break exactly one contract rule at a time.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ndarray, scalarString, writeNpz, type NdArray } from '../../../src/core/npy';

export interface DatasetSpec {
  /** Pattern size N (default 64). */
  n?: number;
  /** Number of patterns (default 12). */
  count?: number;
  layout?: 'nhw' | 'hwn';
  key?: 'diffraction' | 'diff3d';
  omit?: string[];
  values?: 'normalized' | 'counts' | 'photon-scaled' | 'nan';
  /** Probe size (default n). */
  probeSize?: number;
  /** xcoords length (default count). */
  coordCount?: number;
  metadata?: Record<string, unknown>;
  compress?: boolean;
  /** probeGuess (interleaved complex, probeSize²; default a flat probe of 1). */
  probe?: Float32Array;
}

/** Deterministic pseudo-random numbers in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

export async function writeDataset(file: string, spec: DatasetSpec = {}): Promise<void> {
  const n = spec.n ?? 64;
  const count = spec.count ?? 12;
  const rand = lcg(count * 31 + n);
  const total = count * n * n;
  const diff = new Float32Array(total);
  for (let i = 0; i < total; i++) {
    const r = rand();
    switch (spec.values ?? 'normalized') {
      case 'normalized': diff[i] = r < 0.3 ? 0 : r * 0.8 + 0.013; break;
      case 'counts': diff[i] = Math.floor(r * 40); break;
      case 'photon-scaled': diff[i] = Math.sqrt(Math.floor(r * 400)); break;
      case 'nan': diff[i] = i === 5 ? NaN : r; break;
    }
  }
  let diffArr: NdArray = ndarray('<f4', [count, n, n], diff);
  if (spec.layout === 'hwn') {
    const t = new Float32Array(total);
    for (let k = 0; k < count; k++) for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) t[(y * n + x) * count + k] = diff[(k * n + y) * n + x];
    diffArr = ndarray('<f4', [n, n, count], t);
  }
  const m = Math.max(4 * n, 64);
  const obj = new Float32Array(2 * m * m);
  for (let i = 0; i < m * m; i++) { obj[2 * i] = 0.5 + 0.5 * rand(); obj[2 * i + 1] = 0.1 * rand(); }
  const p = spec.probeSize ?? n;
  const probe = spec.probe ?? new Float32Array(2 * p * p).map((_, i) => (i % 2 === 0 ? 1 : 0));
  const cc = spec.coordCount ?? count;
  const xs = new Float64Array(cc);
  const ys = new Float64Array(cc);
  for (let i = 0; i < cc; i++) { xs[i] = n / 2 + 1 + rand() * (m - n - 2); ys[i] = n / 2 + 1 + rand() * (m - n - 2); }
  const arrays: Record<string, NdArray> = {
    [spec.key ?? 'diffraction']: diffArr,
    objectGuess: ndarray('<c8', [m, m], obj),
    probeGuess: ndarray('<c8', [p, p], probe),
    xcoords: ndarray('<f8', [cc], xs),
    ycoords: ndarray('<f8', [cc], ys),
    scan_index: ndarray('<i8', [cc], new BigInt64Array(cc)),
  };
  if (spec.metadata) arrays._metadata = scalarString(JSON.stringify(spec.metadata));
  for (const k of spec.omit ?? []) delete arrays[k];
  fs.mkdirSync(path.dirname(file), { recursive: true });
  await writeNpz(file, arrays, { compress: spec.compress });
}

export interface StudySpec {
  doses?: number[];
  views?: string[];
  phaseDLayout?: 'nested' | 'flat' | 'in-phase-c';
  legacyPhaseC?: boolean;
  /** Files to leave out, as "dose/view" (view "baseline" = Phase C). */
  skip?: string[];
  dataset?: DatasetSpec;
}

/** Writes <root>/phase_c and <root>/phase_d for the given doses and views. */
export async function makeStudy(root: string, spec: StudySpec = {}): Promise<void> {
  const doses = spec.doses ?? [1000, 10000];
  const views = spec.views ?? ['dense', 'sparse'];
  const skip = new Set(spec.skip ?? []);
  for (const dose of doses) {
    if (!skip.has(`${dose}/baseline`)) {
      for (const split of ['train', 'test']) {
        const file = spec.legacyPhaseC
          ? path.join(root, 'phase_c', `dose_${dose}_${split}`, `fly64_${split}_simulated.npz`)
          : path.join(root, 'phase_c', `dose_${dose}`, `patched_${split}.npz`);
        await writeDataset(file, spec.dataset);
      }
    }
    for (const view of views) {
      if (skip.has(`${dose}/${view}`)) continue;
      for (const split of ['train', 'test']) {
        const layout = spec.phaseDLayout ?? 'nested';
        const file = layout === 'nested' ? path.join(root, 'phase_d', `dose_${dose}`, view, `${view}_${split}.npz`)
          : layout === 'flat' ? path.join(root, 'phase_d', `dose_${dose}`, `${view}_${split}.npz`)
            : path.join(root, 'phase_c', `dose_${dose}`, view, `${view}_${split}.npz`);
        await writeDataset(file, spec.dataset);
      }
    }
  }
}
