// How much phase the data hold (README "Reconstruction quality", item 16). For test patterns of a simulated
// Phase C split (it needs objectGuess), the Poisson maximum-likelihood object is sought by gradient descent
// *started at the truth*, with the model's probe: from K patterns sharing one object (the pattern and its K − 1
// nearest neighbours; K = 1 is what a gridsize-1 network sees, K = 4 a gridsize-2 group), on a given support
// (`full`: the whole N×N window; `centre`: each pattern sees only the object under its central N/2 — PtychoPINN's
// pad_object —, `centre=S` under its central S×S;
// pad_object; for K > 1 the union of the group's central N/2 windows, as the merge does). Where the likelihood
// is flat the noise walks the estimate away from the truth; where the support cannot explain the data the
// estimate is pulled away. Printed: the plane-removed phase r against the truth under the pattern (weights |P|²
// on the central N/2, where the network predicts) — an upper bound of what any estimator of that kind reaches
// without prior knowledge of the object.
//
//   node dist/phase-information.js --data study/phase_c/dose_100000/patched_test.npz [--patterns 10]
//        [--iterations 3000] [--neighbours 1,4] [--support full,centre,centre=48] [--noiseless]
import { openTrainingDataset, type TrainingDataset } from '../src/core/train/data';
import { centralMask, modelProbe, type ModelProbe } from '../src/core/model/physics';
import { fft2d, ifftshift2d } from '../src/core/fft';
import { extractPatch } from '../src/core/simulate/forward';
import type { ComplexImage } from '../src/core/simulate/synthetic';
import { scatter } from './bilinear';
import { centred, plane } from './phase-ramps';

/** `full`, or `centre` (the central N/2 square) / `centre=S` (the central S×S square). */
export type Support = 'full' | 'centre' | `centre=${number}`;

export interface Options { data: string; patterns: number; iterations: number; neighbours: number[]; supports: Support[]; noiseless: boolean }

function parse(argv: string[]): Options {
  const o: Options = { data: '', patterns: 10, iterations: 3000, neighbours: [1, 4], supports: ['full', 'centre'], noiseless: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    if (a === '--data') o.data = next();
    else if (a === '--patterns') o.patterns = Number(next());
    else if (a === '--iterations') o.iterations = Number(next());
    else if (a === '--neighbours') o.neighbours = next().split(',').map(Number);
    else if (a === '--support') o.supports = next().split(',') as Options['supports'];
    else if (a === '--noiseless') o.noiseless = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.data) throw new Error('usage: phase-information --data PHASE_C_SPLIT.npz [--patterns 10] [--iterations 3000] [--neighbours 1,4] [--support full,centre,centre=48] [--noiseless]');
  if (!o.supports.every((s) => s === 'full' || s === 'centre' || /^centre=\d+$/.test(s))) throw new Error('--support takes full, centre (N/2) and centre=S (an S×S square)');
  if (!o.neighbours.every((k) => Number.isInteger(k) && k >= 1)) throw new Error('--neighbours takes positive integers');
  return o;
}

/** The phase of a complex window minus its weighted plane (offset + slopes), wrapped around its mean phasor. */
function planeResidual(re: Float64Array, im: Float64Array, w: Float64Array, n: number): Float64Array {
  const phase = centred((k) => re[k], (k) => im[k], w);
  const [a, gx, gy] = plane(phase, w, n);
  return phase.map((v, t) => v - a - gx * ((t % n) - n / 2) - gy * (Math.floor(t / n) - n / 2));
}

/** Unshifted far-field intensity |FFT2(P·O)|²/N² (into `out`); `pr`/`pi` are scratch and keep the field. */
function farField(probe: ModelProbe, re: Float64Array, im: Float64Array, pr: Float64Array, pi: Float64Array, n: number, out?: Float64Array): void {
  for (let t = 0; t < n * n; t++) { pr[t] = probe.re[t] * re[t] - probe.im[t] * im[t]; pi[t] = probe.re[t] * im[t] + probe.im[t] * re[t]; }
  fft2d(pr, pi, n, n);
  if (out) for (let t = 0; t < n * n; t++) out[t] = (pr[t] ** 2 + pi[t] ** 2) / (n * n);
}

export interface Row { neighbours: number; support: string; r: number; rms: number; truthRms: number; spacing: number }

export async function study(data: TrainingDataset, o: Options): Promise<Row[]> {
  const { n } = data;
  const object = data.object!;
  const width = object.width;
  const truth: ComplexImage = object;
  const probe = modelProbe(data.probe.data, n, 'energy');
  const central = centralMask(n);
  const w = new Float64Array(n * n);
  let peak = 0;
  for (let t = 0; t < n * n; t++) { const e = probe.re[t] ** 2 + probe.im[t] ** 2; w[t] = central[t] * e; peak = Math.max(peak, e); }
  const x = new Float32Array(n * n);
  const re = new Float64Array(n * n), im = new Float64Array(n * n), pr = new Float64Array(n * n), pi = new Float64Array(n * n), intensity = new Float64Array(n * n);
  // One scale between the model's intensities and the loader-normalised counts (as a trained log-scale would be).
  let counts = 0, modelled = 0;
  for (let p = 0; p < Math.min(data.count, 50); p++) {
    await data.patterns.read([p], x);
    extractPatch(truth, data.xs[p], data.ys[p], n, re, im);
    farField(probe, re, im, pr, pi, n, intensity);
    for (let t = 0; t < n * n; t++) { counts += x[t] ** 2; modelled += intensity[t]; }
  }
  const scale = counts / modelled;
  const estimate = new Float32Array(truth.data.length), grad = new Float64Array(truth.data.length);
  const current: ComplexImage = { width, height: object.height, data: estimate };
  const support = new Float64Array(truth.data.length / 2);
  const rows: Row[] = [];
  for (const k of o.neighbours) for (const kind of o.supports) {
    const acc = new Float64Array(6);
    const spacings: number[] = [];
    for (let p = 0; p < Math.min(o.patterns, data.count); p++) {
      const dist = (q: number): number => Math.hypot(data.xs[q] - data.xs[p], data.ys[q] - data.ys[p]);
      const group = Array.from({ length: data.count }, (_, q) => q).sort((a, b) => dist(a) - dist(b)).slice(0, k);
      spacings.push(dist(group[group.length - 1]));
      const measured: Float64Array[] = [];
      for (const q of group) {
        const shifted = new Float64Array(n * n);
        if (o.noiseless) {
          extractPatch(truth, data.xs[q], data.ys[q], n, re, im);
          farField(probe, re, im, pr, pi, n, intensity);
          for (let t = 0; t < n * n; t++) shifted[t] = scale * intensity[t];
        } else {
          await data.patterns.read([q], x);
          ifftshift2d(Float64Array.from(x, (v) => v * v), n, shifted);
        }
        measured.push(shifted);
      }
      // Support on the object grid: everything, or the union of the group's central N/2 windows.
      support.fill(kind === 'full' ? 1 : 0);
      if (kind !== 'full') {
        const side = kind === 'centre' ? n / 2 : Number(kind.slice('centre='.length));
        if (!(side >= 2 && side <= n && side % 2 === 0)) throw new Error(`support ${kind}: the square must be even and at most N = ${n}`);
        for (const q of group) {
          const cx = Math.round(data.xs[q]), cy = Math.round(data.ys[q]);
          for (let i = -side / 2; i < side / 2; i++) for (let j = -side / 2; j < side / 2; j++) support[(cy + i) * width + cx + j] = 1;
        }
      }
      const masked = (q: number, t: number): number => support[(Math.round(data.ys[q]) - n / 2 + Math.floor(t / n)) * width + Math.round(data.xs[q]) - n / 2 + (t % n)];
      estimate.set(truth.data);
      for (let it = 0; it < o.iterations; it++) {
        grad.fill(0);
        group.forEach((q, g) => {
          extractPatch(current, data.xs[q], data.ys[q], n, re, im);
          for (let t = 0; t < n * n; t++) { const m = masked(q, t); re[t] *= m; im[t] *= m; }
          farField(probe, re, im, pr, pi, n);
          // ∂NLL/∂Ψ* ∝ (1 − k/λ)·Ψ; the step is ePIE's (1/max|P|², shared by the group's patterns).
          for (let t = 0; t < n * n; t++) { const lambda = (scale * (pr[t] ** 2 + pi[t] ** 2)) / (n * n) + 1e-12; const f = 1 - measured[g][t] / lambda; pr[t] *= f; pi[t] *= f; }
          fft2d(pr, pi, n, n, true);
          for (let t = 0; t < n * n; t++) {
            const m = masked(q, t) / (n * n * peak * k);
            re[t] = m * (probe.re[t] * pr[t] + probe.im[t] * pi[t]);
            im[t] = m * (probe.re[t] * pi[t] - probe.im[t] * pr[t]);
          }
          scatter(grad, width, n, data.xs[q], data.ys[q], re, im);
        });
        for (let t = 0; t < estimate.length; t++) estimate[t] -= grad[t];
      }
      extractPatch(current, data.xs[p], data.ys[p], n, re, im);
      const got = planeResidual(re, im, w, n);
      extractPatch(truth, data.xs[p], data.ys[p], n, re, im);
      const want = planeResidual(re, im, w, n);
      for (let t = 0; t < n * n; t++) if (w[t]) {
        acc[0] += w[t]; acc[1] += w[t] * got[t]; acc[2] += w[t] * want[t];
        acc[3] += w[t] * got[t] ** 2; acc[4] += w[t] * want[t] ** 2; acc[5] += w[t] * got[t] * want[t];
      }
    }
    const mg = acc[1] / acc[0], mw = acc[2] / acc[0];
    const vg = acc[3] / acc[0] - mg * mg, vw = acc[4] / acc[0] - mw * mw;
    spacings.sort((a, b) => a - b);
    rows.push({ neighbours: k, support: kind, r: (acc[5] / acc[0] - mg * mw) / Math.sqrt(vg * vw), rms: Math.sqrt(vg), truthRms: Math.sqrt(vw), spacing: spacings[spacings.length >> 1] });
  }
  return rows;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const data = await openTrainingDataset(o.data);
  try {
    if (!data.object) throw new Error(`${o.data} has no objectGuess: the analysis needs the true object`);
    console.log(`phase information — ${o.data}: ${Math.min(o.patterns, data.count)} patterns, ${o.iterations} iterations from the truth, ${o.noiseless ? 'noiseless data' : 'the measured (noisy) data'}`);
    console.log('patterns sharing the object  support      farthest neighbour px  plane-removed phase r  rms rad (truth)');
    for (const row of await study(data, o)) {
      console.log(`${String(row.neighbours).padEnd(29)}${row.support.padEnd(13)}${row.spacing.toFixed(1).padEnd(23)}${row.r.toFixed(3).padEnd(23)}${row.rms.toFixed(3)} (${row.truthRms.toFixed(3)})`);
    }
  } finally {
    await data.close();
  }
}

if (require.main === module) main().catch((err) => { console.error(err instanceof Error ? err.message : err); process.exit(1); });
