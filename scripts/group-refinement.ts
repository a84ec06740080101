// How much of a gridsize-2 prediction's error is the network's and how much the group's data (README "Reconstruction
// quality", item 43). For groups of a simulated Phase C split (it needs objectGuess), the trained model predicts each
// group's object; then a Poisson maximum-likelihood descent on that group's own C patterns (nothing else: no other
// group, no ground truth) starts from the prediction and runs a few iterations. Printed per iteration count: the
// plane-removed phase r and the amplitude r against the truth on the group's window (weights: its patterns' probe
// light), and the patterns' Poisson deviance. The same descent started at the truth gives the group's bound.
//
//   node dist/group-refinement.js --data study/phase_c/dose_100000/patched_test.npz --model job/model.onnx
//        [--groups 40] [--iterations 0,10,30,100,300] [--descent poisson|projection] [--start prediction|flat] [--step 1]
//        [--neighbours 7] [--noiseless]
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { openTrainingDataset, type TrainingDataset } from '../src/core/train/data';
import { buildGroups } from '../src/core/train/groups';
import { modelProbe } from '../src/core/model/physics';
import { IO } from '../src/core/model';
import { fft2d, ifftshift2d } from '../src/core/fft';
import { extractPatch } from '../src/core/simulate/forward';
import type { ComplexImage } from '../src/core/simulate/synthetic';
import { GroupRefiner } from '../src/core/train/groupRefinement';
import { scatter } from './bilinear';
import { centred, plane } from './phase-ramps';

/**
 * `poisson`: gradient steps on the Poisson NLL (ePIE's step 1/max|P|² times `step`, shared by the group's patterns);
 * `projection`: the product's refinement (training.groupRefinement, core/train/groupRefinement.ts) — alternating
 * projections, each pattern's exit wave given its measured modulus, the object their probe-weighted average.
 */
export type Descent = 'poisson' | 'projection';
export interface Options { data: string; model: string; groups: number; iterations: number[]; step: number; neighbours: number; noiseless: boolean; descent: Descent; start: 'prediction' | 'flat' }

function parse(argv: string[]): Options {
  const o: Options = { data: '', model: '', groups: 40, iterations: [0, 10, 30, 100, 300], step: 1, neighbours: 7, noiseless: false, descent: 'poisson', start: 'prediction' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--data') o.data = next();
    else if (a === '--model') o.model = next();
    else if (a === '--groups') o.groups = Number(next());
    else if (a === '--iterations') o.iterations = next().split(',').map(Number).sort((x, y) => x - y);
    else if (a === '--step') o.step = Number(next());
    else if (a === '--neighbours') o.neighbours = Number(next());
    else if (a === '--noiseless') o.noiseless = true;
    else if (a === '--descent') o.descent = next() as Descent;
    else if (a === '--start') o.start = next() as Options['start'];
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.data || !o.model) throw new Error('usage: group-refinement --data PHASE_C_SPLIT.npz --model model.onnx [--groups 40] [--iterations 0,10,30,100,300] [--step 1]');
  return o;
}

/** Weighted Pearson r of two real arrays. */
function weightedR(a: ArrayLike<number>, b: ArrayLike<number>, w: Float64Array): number {
  let s = 0, ma = 0, mb = 0;
  for (let k = 0; k < w.length; k++) if (w[k]) { s += w[k]; ma += w[k] * a[k]; mb += w[k] * b[k]; }
  ma /= s; mb /= s;
  let va = 0, vb = 0, cab = 0;
  for (let k = 0; k < w.length; k++) if (w[k]) { va += w[k] * (a[k] - ma) ** 2; vb += w[k] * (b[k] - mb) ** 2; cab += w[k] * (a[k] - ma) * (b[k] - mb); }
  return cab / Math.sqrt(va * vb);
}

function planeRemoved(re: ArrayLike<number>, im: ArrayLike<number>, w: Float64Array, n: number): Float64Array {
  const phase = centred((k) => re[k], (k) => im[k], w);
  const [a, gx, gy] = plane(phase, w, n);
  return phase.map((v, t) => v - a - gx * ((t % n) - n / 2) - gy * (Math.floor(t / n) - n / 2));
}

/**
 * A group's predicted object around its centre, N×N: amplitude and phase, from its C patterns and their offsets (a
 * trained model's inference); the centre (object pixels) is for predictors that are not networks (the tests').
 */
export type GroupPredictor = (x: Float32Array, offsets: Float32Array, centre: readonly [number, number]) => Promise<{ amplitude: ArrayLike<number>; phase: ArrayLike<number> }>;

/** Means over the groups after each iteration count. */
export interface Row { iterations: number; phaseR: number; amplitudeR: number; deviance: number }
export interface Refinement { groups: number; rows: Row[]; truth: { deviance: number; phaseR: number; deviance2: number } }

export async function refineGroups(data: TrainingDataset, predict: GroupPredictor, o: Pick<Options, 'groups' | 'iterations' | 'step' | 'neighbours' | 'noiseless'> & { descent?: Descent; start?: Options['start'] }): Promise<Refinement> {
  if (!data.object) throw new Error('the split has no objectGuess: the analysis needs the true object');
  const n = data.n, c = 4, W = 2 * n;
  const truth: ComplexImage = data.object;
  const probe = modelProbe(data.probe.data, n, 'energy');
  let peak = 0;
  for (let t = 0; t < n * n; t++) peak = Math.max(peak, probe.re[t] ** 2 + probe.im[t] ** 2);
  const groups = buildGroups(Float64Array.from(data.xs), Float64Array.from(data.ys), { gridsize: 2, neighborCount: o.neighbours, seed: 42, stream: 'test' });
  const x = new Float32Array(c * n * n), offsets = new Float32Array(c * 2);
  const re = new Float64Array(n * n), im = new Float64Array(n * n), pr = new Float64Array(n * n), pi = new Float64Array(n * n);
  const local = new Float32Array(2 * W * W), grad = new Float64Array(2 * W * W), mask = new Float64Array(W * W);
  const canvas: ComplexImage = { width: W, height: W, data: local };
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) mask[(i + n / 2) * W + j + n / 2] = 1;
  const iterations = [...o.iterations].sort((a, b) => a - b);
  const last = iterations[iterations.length - 1];
  const rows = new Map<number, { phase: number[]; amp: number[]; dev: number[] }>();
  const truthDev: number[] = [], bound: number[] = [], boundDev: number[] = [];
  // Pattern q's window centre on the local canvas: local (N, N) is the group centre, the patch fills [N/2, 3N/2).
  let at: (readonly [number, number])[] = [];
  let measured: Float64Array[] = [];
  const farField = (q: number): void => {
    extractPatch(canvas, at[q][0], at[q][1], n, re, im);
    for (let t = 0; t < n * n; t++) { pr[t] = probe.re[t] * re[t] - probe.im[t] * im[t]; pi[t] = probe.re[t] * im[t] + probe.im[t] * re[t]; }
    fft2d(pr, pi, n, n);
  };
  const modelled = (): number => {
    let m = 0;
    for (let q = 0; q < c; q++) { farField(q); for (let t = 0; t < n * n; t++) m += (pr[t] ** 2 + pi[t] ** 2) / (n * n); }
    return m;
  };
  const patchOf = (): [Float64Array, Float64Array] => {
    const a = new Float64Array(n * n), b = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { const q = 2 * ((i + n / 2) * W + j + n / 2); a[i * n + j] = local[q]; b[i * n + j] = local[q + 1]; }
    return [a, b];
  };
  const load = (re0: ArrayLike<number>, im0: ArrayLike<number>): void => {
    local.fill(0);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) { const t = i * n + j, q = 2 * ((i + n / 2) * W + j + n / 2); local[q] = re0[t]; local[q + 1] = im0[t]; }
  };
  /** Descends from what is loaded; `record` after each count in `counts` (ascending) with the deviance per detector pixel. */
  const descend = (counts: number[], record: (it: number, dev: number) => void): void => {
    // One intensity scale per group, fitted at the start (as the network's log-scale is one number).
    const scale = measured.reduce((s, m) => s + m.reduce((u, v) => u + v, 0), 0) / modelled();
    let it = 0;
    for (const target of counts) {
      for (; it < target; it++) {
        grad.fill(0);
        for (let q = 0; q < c; q++) {
          farField(q);
          // ∂NLL/∂Ψ* ∝ (1 − k/λ)·Ψ; the step is ePIE's (1/max|P|², shared by the group's patterns).
          for (let t = 0; t < n * n; t++) { const lambda = scale * (pr[t] ** 2 + pi[t] ** 2) / (n * n) + 1e-12; const f = 1 - measured[q][t] / lambda; pr[t] *= f; pi[t] *= f; }
          fft2d(pr, pi, n, n, true);
          const m = o.step / (n * n * peak * c);
          for (let t = 0; t < n * n; t++) {
            re[t] = m * (probe.re[t] * pr[t] + probe.im[t] * pi[t]);
            im[t] = m * (probe.re[t] * pi[t] - probe.im[t] * pr[t]);
          }
          scatter(grad, W, n, at[q][0], at[q][1], re, im);
        }
        for (let t = 0; t < W * W; t++) { local[2 * t] -= mask[t] * grad[2 * t]; local[2 * t + 1] -= mask[t] * grad[2 * t + 1]; }
      }
      let dev = 0;
      for (let q = 0; q < c; q++) {
        farField(q);
        for (let t = 0; t < n * n; t++) { const k = measured[q][t], lambda = scale * (pr[t] ** 2 + pi[t] ** 2) / (n * n) + 1e-12; dev += (k > 0 ? k * Math.log(k / lambda) : 0) - (k - lambda); }
      }
      record(target, (2 * dev) / (c * n * n));
    }
  };
  let done = 0;
  for (let gi = 0; gi < o.groups && gi < groups.count; gi++) {
    const g = Math.floor(((gi + 0.5) * groups.count) / o.groups);
    const idx = Array.from(groups.indices.subarray(g * c, (g + 1) * c));
    const cx = groups.centers[2 * g], cy = groups.centers[2 * g + 1];
    const tRe = new Float64Array(n * n), tIm = new Float64Array(n * n);
    try { extractPatch(truth, cx, cy, n + 8, new Float64Array((n + 8) ** 2), new Float64Array((n + 8) ** 2)); } catch { continue; }
    extractPatch(truth, cx, cy, n, tRe, tIm);
    await data.patterns.read(idx, x);
    offsets.set(groups.offsets.subarray(g * c * 2, (g + 1) * c * 2));
    at = idx.map((_, q) => [n + offsets[2 * q], n + offsets[2 * q + 1]] as const);
    if (o.noiseless) {
      // The truth's own intensities at the loader's scale (one scale over the group, as the descent fits).
      load(tRe, tIm);
      measured = idx.map((_, q) => { farField(q); return Float64Array.from(pr, (v, t) => (v ** 2 + pi[t] ** 2) / (n * n)); });
      const k = x.reduce((s, v) => s + v * v, 0), m = measured.reduce((s, v) => s + v.reduce((u, w) => u + w, 0), 0);
      for (const v of measured) for (let t = 0; t < v.length; t++) v[t] *= k / m;
    } else {
      measured = idx.map((_, q) => ifftshift2d(Float64Array.from(x.subarray(q * n * n, (q + 1) * n * n), (v) => v * v), n, new Float64Array(n * n)));
    }
    // Scored where the group's patterns put light (≥ 5 % of its peak), the truth's window around the centre.
    const w = new Float64Array(n * n);
    for (const [px, py] of at) {
      const ox = Math.round(px - n), oy = Math.round(py - n);
      for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
        const si = i - oy, sj = j - ox;
        if (si >= 0 && si < n && sj >= 0 && sj < n) w[i * n + j] += probe.re[si * n + sj] ** 2 + probe.im[si * n + sj] ** 2;
      }
    }
    const wmax = Math.max(...w);
    for (let t = 0; t < n * n; t++) if (w[t] < 0.05 * wmax) w[t] = 0;
    const truthPhase = planeRemoved(tRe, tIm, w, n);
    const truthAmp = Array.from(tRe, (v, t) => Math.hypot(v, tIm[t]));
    const predicted = await predict(x, offsets, [cx, cy]);
    // `flat`: the control — the prediction's mean amplitude and no phase, so what the network adds shows.
    let meanAmplitude = 0;
    for (let t = 0; t < n * n; t++) meanAmplitude += predicted.amplitude[t] / (n * n);
    const { amplitude, phase } = o.start === 'flat' ? { amplitude: new Float32Array(n * n).fill(meanAmplitude), phase: new Float32Array(n * n) } : predicted;
    const loadPolar = (amp: ArrayLike<number>, ph: ArrayLike<number>): void => load(Array.from(amp, (a, t) => a * Math.cos(ph[t])), Array.from(amp, (a, t) => a * Math.sin(ph[t])));
    const record = (it: number, dev: number): void => {
      const [a, b] = patchOf();
      const row = rows.get(it) ?? { phase: [], amp: [], dev: [] };
      row.phase.push(weightedR(planeRemoved(a, b, w, n), truthPhase, w));
      row.amp.push(weightedR(Array.from(a, (v, t) => Math.hypot(v, b[t])), truthAmp, w));
      row.dev.push(dev);
      rows.set(it, row);
    };
    if (o.descent === 'projection') {
      // The product's refinement (training.groupRefinement), from the prediction, for each iteration count.
      for (const count of iterations) {
        const amp = Float32Array.from(amplitude), ph = Float32Array.from(phase);
        new GroupRefiner(data.probe, count, c).refine(amp, ph, 0, x, 0, offsets, 0);
        loadPolar(amp, ph);
        descend([0], (_, dev) => record(count, dev));
      }
    } else {
      loadPolar(amplitude, phase);
      descend(iterations, record);
    }
    const fromTruth = (dev: number): void => {
      const [a, b] = patchOf();
      bound.push(weightedR(planeRemoved(a, b, w, n), truthPhase, w));
      boundDev.push(dev);
    };
    load(tRe, tIm);
    if (o.descent === 'projection') {
      descend([0], (_, dev) => truthDev.push(dev));
      const amp = Float32Array.from(tRe, (v, t) => Math.hypot(v, tIm[t])), ph = Float32Array.from(tRe, (v, t) => Math.atan2(tIm[t], v));
      new GroupRefiner(data.probe, last, c).refine(amp, ph, 0, x, 0, offsets, 0);
      loadPolar(amp, ph);
      descend([0], (_, dev) => fromTruth(dev));
    } else {
      descend([0, last], (it, dev) => (it === 0 ? truthDev.push(dev) : fromTruth(dev)));
    }
    done++;
  }
  const mean = (v: number[]): number => v.reduce((s, u) => s + u, 0) / v.length;
  return {
    groups: done,
    rows: iterations.map((it) => { const r = rows.get(it)!; return { iterations: it, phaseR: mean(r.phase), amplitudeR: mean(r.amp), deviance: mean(r.dev) }; }),
    truth: { deviance: mean(truthDev), phaseR: mean(bound), deviance2: mean(boundDev) },
  };
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const data = await openTrainingDataset(o.data);
  const session = await ort.InferenceSession.create(fs.readFileSync(o.model), { intraOpNumThreads: 1 });
  try {
    const started = performance.now();
    const predict: GroupPredictor = async (x, offsets) => {
      const out = await session.run({ [IO.diffraction]: new ort.Tensor('float32', x, [1, 4, data.n, data.n]), [IO.offsets]: new ort.Tensor('float32', offsets, [1, 4, 2]) });
      return { amplitude: out[IO.amplitude].data as Float32Array, phase: out[IO.phase].data as Float32Array };
    };
    const r = await refineGroups(data, predict, o);
    const last = r.rows[r.rows.length - 1].iterations;
    console.log(`group refinement — ${o.data}, ${o.model}: ${r.groups} groups, ${o.descent} from the ${o.start === 'flat' ? 'flat object' : 'prediction'}, step ${o.step}, ${o.noiseless ? 'noiseless data' : 'the measured data'}, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    console.log('iterations from the start       phase r (plane removed)  amplitude r  Poisson deviance / px');
    for (const row of r.rows) console.log(`${String(row.iterations).padEnd(31)}${row.phaseR.toFixed(3).padEnd(25)}${row.amplitudeR.toFixed(3).padEnd(13)}${row.deviance.toFixed(4)}`);
    console.log(`the truth: Poisson deviance / px ${r.truth.deviance.toFixed(4)}; ${last} iterations from it: phase r ${r.truth.phaseR.toFixed(3)}, deviance ${r.truth.deviance2.toFixed(4)}`);
  } finally {
    await session.release();
    await data.close();
  }
}

if (require.main === module) main().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exit(1); });
