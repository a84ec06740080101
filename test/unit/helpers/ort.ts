// Running generated graphs in the real onnxruntime-node (CPU EP) from tests.
import * as ort from 'onnxruntime-node';

export type Feed = { data: Float32Array | Float64Array | BigInt64Array; shape: readonly number[] };

function tensor(f: Feed): ort.Tensor {
  const type = f.data instanceof Float64Array ? 'float64' : f.data instanceof BigInt64Array ? 'int64' : 'float32';
  return new ort.Tensor(type, f.data, [...f.shape]);
}

export async function session(model: Uint8Array, level: 'disabled' | 'basic' | 'extended' | 'all' = 'extended'): Promise<ort.InferenceSession> {
  ort.env.logLevel = 'fatal';
  return ort.InferenceSession.create(model, { graphOptimizationLevel: level, intraOpNumThreads: 2 });
}

export async function run(sess: ort.InferenceSession, feeds: Record<string, Feed>): Promise<Record<string, Float32Array | Float64Array>> {
  const t: Record<string, ort.Tensor> = {};
  for (const [k, v] of Object.entries(feeds)) t[k] = tensor(v);
  const out = await sess.run(t);
  const res: Record<string, Float32Array | Float64Array> = {};
  for (const [k, v] of Object.entries(out)) res[k] = v.data as Float32Array | Float64Array;
  return res;
}

/** Deterministic pseudo-random numbers in [lo, hi) (a small LCG: tests only). */
export function seeded(seed: number): (lo?: number, hi?: number) => number {
  let s = seed >>> 0 || 1;
  return (lo = -1, hi = 1) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((s >>> 8) / 16777216) * (hi - lo);
  };
}

export function randomArray(n: number, rnd: (lo?: number, hi?: number) => number, lo = -1, hi = 1, f64 = false): Float32Array | Float64Array {
  const a = f64 ? new Float64Array(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rnd(lo, hi);
  return a;
}

/** max |a − b| / max(|b|max, floor). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  let num = 0;
  let den = floor;
  for (let i = 0; i < b.length; i++) {
    num = Math.max(num, Math.abs(a[i] - b[i]));
    den = Math.max(den, Math.abs(b[i]));
  }
  return num / den;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}
