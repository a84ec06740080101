// Phase-ramp fidelity of a trained gridsize-1 model (README "Reconstruction quality", item 15): each test pattern's
// predicted phase and the truth's phase under the same pattern get a weighted least-squares plane (weights |probe|²
// on the central N/2, where the network predicts), and the slopes are compared across patterns: Pearson r per axis
// and their spread. Without the ramp head the decoders' slopes spread ~8× too little. What remains under each
// pattern after both planes are removed is compared too (item 16).
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { openTrainingDataset, type TrainingDataset } from '../src/core/train/data';

export interface RampFidelity {
  patterns: number;
  /** Pearson r of predicted vs true slopes, x then y. */
  r: [number, number];
  /** Standard deviation of the slopes across patterns, rad/px: predicted, truth. */
  spread: [number, number];
  /**
   * What is left under each pattern once both planes are removed (README item 16): Pearson r of predicted and
   * true residual phase (weights |P|² on the central N/2, all patterns pooled) and their rms, rad: predicted, truth.
   */
  residual: { r: number; rms: [number, number] };
}

/** Weighted least-squares plane a + gx·(j − N/2) + gy·(i − N/2) of `phase` over the pixels with weight > 0. */
export function plane(phase: ArrayLike<number>, w: Float64Array, n: number): [number, number, number] {
  const m = new Float64Array(9);
  const r = new Float64Array(3);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const ww = w[i * n + j];
    if (!ww) continue;
    const f = [1, j - n / 2, i - n / 2];
    for (let a = 0; a < 3; a++) {
      r[a] += ww * f[a] * phase[i * n + j];
      for (let b = 0; b < 3; b++) m[3 * a + b] += ww * f[a] * f[b];
    }
  }
  const det = (q: ArrayLike<number>): number => q[0] * (q[4] * q[8] - q[5] * q[7]) - q[1] * (q[3] * q[8] - q[5] * q[6]) + q[2] * (q[3] * q[7] - q[4] * q[6]);
  const d = det(m);
  return [0, 1, 2].map((c) => det(Array.from(m, (v, k) => (k % 3 === c ? r[Math.floor(k / 3)] : v))) / d) as [number, number, number];
}

/** A test split with its ground truth, the model's inference session and the support weights; `close` releases both. */
export async function openScored(modelFile: string, testFile: string): Promise<{
  data: TrainingDataset; session: ort.InferenceSession; object: NonNullable<TrainingDataset['object']>; w: Float64Array; close: () => Promise<void>;
}> {
  const data = await openTrainingDataset(testFile);
  if (!data.object) {
    await data.close();
    throw new Error(`${testFile} has no objectGuess`);
  }
  const session = await ort.InferenceSession.create(fs.readFileSync(modelFile)).catch(async (err: unknown) => { await data.close(); throw err; });
  return { data, session, object: data.object, w: supportWeights(data.probe.data, data.n), close: async () => { await session.release(); await data.close(); } };
}

/** Weights |P|² on the central N/2 (where the network predicts), 0 elsewhere; `probe` interleaved complex. */
export function supportWeights(probe: ArrayLike<number>, n: number): Float64Array {
  const q = n / 4;
  const w = new Float64Array(n * n);
  for (let i = q; i < n - q; i++) for (let j = q; j < n - q; j++) { const k = i * n + j; w[k] = probe[2 * k] ** 2 + probe[2 * k + 1] ** 2; }
  return w;
}

/** The truth under a pattern at (cx, cy): the simulator's bilinear N×N patch, into `re` and `im`. */
export function truthUnderPattern(object: { width: number; data: Float32Array }, cx: number, cy: number, n: number, re: Float64Array, im: Float64Array): void {
  const o = object.data, ow = object.width;
  const fx0 = Math.floor(cx), fy0 = Math.floor(cy), fx = cx - fx0, fy = cy - fy0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const a = 2 * ((fy0 - n / 2 + i) * ow + fx0 - n / 2 + j), b = a + 2 * ow;
    for (const c of [0, 1]) {
      const v = (1 - fy) * (1 - fx) * o[a + c] + (1 - fy) * fx * o[a + 2 + c] + fy * (1 - fx) * o[b + c] + fy * fx * o[b + 2 + c];
      (c ? im : re)[i * n + j] = v;
    }
  }
}

function pearson(a: number[], b: number[]): number {
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let c = 0, va = 0, vb = 0;
  for (let i = 0; i < a.length; i++) { c += (a[i] - ma) * (b[i] - mb); va += (a[i] - ma) ** 2; vb += (b[i] - mb) ** 2; }
  return c / Math.sqrt(va * vb);
}

const spread = (a: number[]): number => {
  const m = a.reduce((s, v) => s + v, 0) / a.length;
  return Math.sqrt(a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length);
};

/** Wraps each value's phase relative to the weighted mean phasor, so a plane fits without 2π jumps. */
export function centred(re: (k: number) => number, im: (k: number) => number, w: Float64Array): Float64Array {
  let sr = 0, si = 0;
  for (let k = 0; k < w.length; k++) if (w[k]) { sr += w[k] * re(k); si += w[k] * im(k); }
  const m = Math.atan2(si, sr);
  return Float64Array.from(w, (_, k) => { const a = Math.atan2(im(k), re(k)) - m; return Math.atan2(Math.sin(a), Math.cos(a)); });
}

export async function phaseRampFidelity(modelFile: string, testFile: string, maxPatterns = 600): Promise<RampFidelity> {
  const { data, session, object, w, close } = await openScored(modelFile, testFile);
  try {
    const { n } = data;
    const count = Math.min(data.count, maxPatterns);
    const batch = 16;
    const x = new Float32Array(batch * n * n);
    const predicted: [number[], number[]] = [[], []];
    const truth: [number[], number[]] = [[], []];
    const tre = new Float64Array(n * n), tim = new Float64Array(n * n);
    // Weighted sums of the residuals: Σw, Σw·p, Σw·t, Σw·p², Σw·t², Σw·p·t.
    const acc = new Float64Array(6);
    for (let start = 0; start < count; start += batch) {
      const idx = Array.from({ length: batch }, (_, k) => Math.min(start + k, count - 1));
      await data.patterns.read(idx, x);
      const out = await session.run({ diffraction: new ort.Tensor('float32', x, [batch, 1, n, n]) });
      const phase = out.phase.data as Float32Array;
      for (let k = 0; k < Math.min(batch, count - start); k++) {
        const p = idx[k];
        truthUnderPattern(object, data.xs[p], data.ys[p], n, tre, tim);
        const pp = phase.subarray(k * n * n, (k + 1) * n * n);
        const cp = centred((t) => Math.cos(pp[t]), (t) => Math.sin(pp[t]), w);
        const ct = centred((t) => tre[t], (t) => tim[t], w);
        const fp = plane(cp, w, n);
        const ft = plane(ct, w, n);
        for (const axis of [0, 1]) { predicted[axis].push(fp[1 + axis]); truth[axis].push(ft[1 + axis]); }
        for (let t = 0; t < n * n; t++) {
          if (!w[t]) continue;
          const u = (t % n) - n / 2, v = Math.floor(t / n) - n / 2;
          const rp = cp[t] - fp[0] - fp[1] * u - fp[2] * v;
          const rt = ct[t] - ft[0] - ft[1] * u - ft[2] * v;
          acc[0] += w[t]; acc[1] += w[t] * rp; acc[2] += w[t] * rt; acc[3] += w[t] * rp * rp; acc[4] += w[t] * rt * rt; acc[5] += w[t] * rp * rt;
        }
      }
    }
    const mp = acc[1] / acc[0], mt = acc[2] / acc[0];
    const vp = acc[3] / acc[0] - mp * mp, vt = acc[4] / acc[0] - mt * mt;
    return {
      residual: { r: (acc[5] / acc[0] - mp * mt) / Math.sqrt(vp * vt), rms: [Math.sqrt(vp), Math.sqrt(vt)] },
      patterns: count,
      r: [pearson(predicted[0], truth[0]), pearson(predicted[1], truth[1])],
      spread: [Math.hypot(spread(predicted[0]), spread(predicted[1])) / Math.SQRT2, Math.hypot(spread(truth[0]), spread(truth[1])) / Math.SQRT2],
    };
  } finally {
    await close();
  }
}

/** Two-regressor least squares y ≈ a·u + b·v + c. */
export function regress2(y: ArrayLike<number>, u: ArrayLike<number>, v: ArrayLike<number>): { a: number; b: number } {
  const m = (z: ArrayLike<number>): number => { let s = 0; for (let i = 0; i < z.length; i++) s += z[i]; return s / z.length; };
  const my = m(y), mu = m(u), mv = m(v);
  let suu = 0, svv = 0, suv = 0, syu = 0, syv = 0;
  for (let i = 0; i < y.length; i++) {
    const du = u[i] - mu, dv = v[i] - mv, dy = y[i] - my;
    suu += du * du; svv += dv * dv; suv += du * dv; syu += dy * du; syv += dy * dv;
  }
  const det = suu * svv - suv * suv;
  return { a: (syu * svv - syv * suv) / det, b: (syv * suu - syu * suv) / det };
}

/** The analysis scripts' command line: --model, --data, [--crop 20], [--json]; exits with the usage when one is missing. */
export function analysisArgs(name: string): { model: string; data: string; crop: number; json: boolean } {
  const argv = process.argv.slice(2);
  const get = (flag: string): string | undefined => { const i = argv.indexOf(flag); return i >= 0 ? argv[i + 1] : undefined; };
  const model = get('--model'), data = get('--data');
  if (!model || !data) {
    process.stderr.write(`usage: ${name} --model <run>/model.onnx --data <patched_test.npz> [--crop 20] [--json]\n`);
    process.exit(2);
  }
  return { model, data, crop: Number(get('--crop') ?? 20), json: argv.includes('--json') };
}
