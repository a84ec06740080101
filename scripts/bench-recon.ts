// bench:recon — the iterative baseline (Phase F engine, src/core/iterative) on a simulated study, not a timed
// test. Simulates one dose with the project's simulator (structured object, N = 64, uniform random scan), opens
// the Phase C test split as the training loader does, and reconstructs it with
//   epie                     known probe, fixed (the textbook algorithm), on two threads (stripes of the object, the same
//                            result as one thread) where the machine has two cores
//   epie, 1 thread           the same on one thread
//   epie + momentum          known probe, fixed, heavy-ball momentum per iteration (γ 0.5, η 0.9)
//   epie + mom 1 + anneal    known probe, fixed, momentum γ 1 and the object step annealed to 0.2 over the last 30 %
//                            of the iterations (--momentum 1 --anneal 0.3)
//   epie, wrong probe fixed  the perturbed probe, kept (what refinement has to beat)
//   epie + refine            the perturbed probe, refined
//   rpie + refine            the perturbed probe, refined (rPIE, default α 0.75, β 1)
//   ad                       known probe, fixed: automatic differentiation (Adam on the object through an ONNX graph
//                            in onnxruntime, the provider it ran on printed), with the iteration and time at which it
//                            first reached epie's final quality
//   ad + refine              the perturbed probe, refined by ad
// printing per run: iterations, wall time, pattern updates/s, final relative amplitude error, and Pearson r of
// the amplitude and of the plane-removed phase against objectGuess on the covered pixels (illumination of the
// known probe ≥ its peak |P|²), after removing the global phase, and the same on the scan's interior (illumination
// ≥ 20 % of its maximum: the covered pixels less the weakly lit fringe). With NumPy available it also runs
// scripts/bench_recon_numpy.py (a plain NumPy ePIE) on the same data and prints its rate beside ours, and the
// time of one pattern update on one thread (the compiled SIMD kernel, src/core/iterative/pie.wat).
//   npm run bench:recon [-- --json] [-- --iterations 50] [-- --images 1024] [-- --dose 1e5] [-- --keep DIR] [-- --no-numpy]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  AdReconstruction, compareWithTruth, coverageMask, createReconstruction, optionsFromDataset, probePeak,
  type ComplexImage, type ComplexPlanes, type ReconstructionOptions,
} from '../src/core/iterative';
import { quietOrt, type OrtModule } from '../src/core/train/runtime';
import { ndarray, withNpz, writeNpz } from '../src/core/npy';
import { defaultSimulationConfig, doseFolder, simulateStudy } from '../src/core/simulate';
import { openTrainingDataset } from '../src/core/train/data';

interface Args { json: boolean; iterations: number; images: number; dose: number; keep?: string; numpy: boolean }

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, iterations: 50, images: 1024, dose: 1e5, numpy: true };
  for (let i = 0; i < argv.length; i++) {
    const v = (): number => {
      const x = Number(argv[++i]);
      if (!Number.isFinite(x) || x <= 0) throw new Error(`${argv[i - 1]} needs a positive number`);
      return x;
    };
    if (argv[i] === '--json') a.json = true;
    else if (argv[i] === '--iterations') a.iterations = Math.round(v());
    else if (argv[i] === '--images') a.images = Math.round(v());
    else if (argv[i] === '--dose') a.dose = v();
    else if (argv[i] === '--keep') a.keep = argv[++i];
    else if (argv[i] === '--no-numpy') a.numpy = false;
    else if (argv[i] === '--help') {
      process.stdout.write('usage: bench-recon [--json] [--iterations N] [--images N] [--dose D] [--keep DIR] [--no-numpy]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

/** The probe with a defocus-like phase error (1.5 rad at the disc radius N/4) and a 3×3 amplitude blur. */
function perturbedProbe(probe: ComplexImage): ComplexImage {
  const n = probe.width;
  const c = n / 2;
  const r0 = n / 4;
  const blurred = new Float32Array(probe.data.length);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let re = 0;
      let im = 0;
      let w = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= n || xx >= n) continue;
          const k = 2 * (yy * n + xx);
          const wk = dx === 0 && dy === 0 ? 4 : dx === 0 || dy === 0 ? 2 : 1;
          re += wk * probe.data[k];
          im += wk * probe.data[k + 1];
          w += wk;
        }
      }
      const ph = 1.5 * ((x - c) ** 2 + (y - c) ** 2) / (r0 * r0);
      const k = 2 * (y * n + x);
      re /= w;
      im /= w;
      blurred[k] = re * Math.cos(ph) - im * Math.sin(ph);
      blurred[k + 1] = re * Math.sin(ph) + im * Math.cos(ph);
    }
  }
  return { width: n, height: n, data: blurred };
}

interface RunResult {
  run: string;
  iterations: number;
  seconds: number;
  updatesPerSec: number;
  relativeError: number | null;
  amplitudeR: number;
  phaseR: number;
  pixels: number;
  /** The same on the scan's interior: pixels lit at ≥ 20 % of the peak illumination (the fringe left out). */
  interior: { amplitudeR: number; phaseR: number; pixels: number };
  /** ad: the onnxruntime provider it ran on. */
  provider?: string;
  /** ad: the first iteration (and time) at which it matched epie's final amplitude r, and its phase r (null: never). */
  reachedEpie?: { amplitude: { iteration: number; seconds: number } | null; phase: { iteration: number; seconds: number } | null };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const root = args.keep ? path.resolve(args.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'bench-recon-'));
  log(`bench:recon — dose ${args.dose.toExponential(0)}, ${args.images} positions (N = 64, structured object), ${args.iterations} iterations; study in ${root}`);
  log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const file = path.join(root, 'phase_c', doseFolder(args.dose), 'patched_test.npz');
  if (!fs.existsSync(file)) {
    const cfg = { ...defaultSimulationConfig(root), doses: [args.dose], nImages: args.images, views: [], timestamp: '2026-01-01T00:00:00Z' };
    await simulateStudy(cfg);
  }
  const ds = await openTrainingDataset(file);
  const truth = ds.object;
  if (!truth) throw new Error(`${file} has no objectGuess`);
  const stack = new Float32Array(ds.count * ds.n * ds.n);
  await ds.patterns.read(Int32Array.from({ length: ds.count }, (_, i) => i), stack);
  await ds.close();
  log(`test split: ${ds.count} patterns, object ${truth.height}×${truth.width}`);

  const wrong = perturbedProbe(ds.probe);
  // Fixed-probe runs use two threads where the machine has them (stripe-parallel; the same result as one thread).
  const threads = os.availableParallelism() >= 2 ? 2 : 1;
  const runs: { name: string; opts: Partial<ReconstructionOptions> }[] = [
    { name: 'epie', opts: { algorithm: 'epie', threads } },
    { name: 'epie, 1 thread', opts: { algorithm: 'epie', threads: 1 } },
    { name: 'epie + momentum', opts: { algorithm: 'epie', momentum: 0.5, friction: 0.9, threads } },
    { name: 'epie + mom 1 + anneal', opts: { algorithm: 'epie', momentum: 1, friction: 0.9, anneal: 0.3, plannedIterations: args.iterations, threads } },
    { name: 'epie, wrong probe fixed', opts: { algorithm: 'epie', probe: wrong, threads } },
    { name: 'epie + refine', opts: { algorithm: 'epie', probe: wrong, probeMode: 'refine' } },
    { name: 'rpie + refine', opts: { algorithm: 'rpie', probe: wrong, probeMode: 'refine' } },
  ];
  let mask: Uint8Array | undefined;
  let interior: Uint8Array | undefined;
  const results: RunResult[] = [];
  // Warm-up: V8 first runs WebAssembly with its baseline compiler and tiers up to the optimising one in the
  // background; a few iterations first let every timed run see the optimised kernel.
  const warm = createReconstruction({ ...optionsFromDataset(ds, { seed: 1 }), threads });
  await warm.iterate(stack, 3);
  warm.release();
  for (const r of runs) {
    const rec = createReconstruction({ ...optionsFromDataset(ds, { seed: 1 }), ...r.opts });
    const t0 = performance.now();
    const reports = await rec.iterate(stack, args.iterations);
    const seconds = (performance.now() - t0) / 1000;
    rec.release();
    // One region for every run: the pixels the known probe illuminates at least as strongly as its peak.
    // And the interior: the same less the scan's weakly lit fringe, where ePIE's step (∝ |P|²) is smallest.
    if (!mask) {
      const w = rec.weight();
      mask = coverageMask(w, probePeak(rec.probe));
      interior = coverageMask(w, INTERIOR * w.reduce((m, v) => Math.max(m, v), 0));
    }
    results.push(score(r.name, rec.object, truth, mask, interior!, args.iterations, seconds, ds.count, reports.at(-1)?.relativeError ?? null));
    log(`  ${line(results.at(-1)!)}`);
  }
  // ad: the same data through onnxruntime; when does it reach epie's final quality?
  const target = results.find((r) => r.run === 'epie')!;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ort = require('onnxruntime-node') as OrtModule;
  quietOrt(ort);
  for (const r of [{ name: 'ad', probe: ds.probe, refine: false }, { name: 'ad + refine', probe: wrong, refine: true }]) {
    const base = optionsFromDataset(ds, { seed: 1 });
    const rec = await AdReconstruction.create(
      { ...base, probe: r.probe, measuredEnergy: base.measuredEnergy!, probeMode: r.refine ? 'refine' : 'fixed', iterations: args.iterations },
      { ort, providers: ['cpu'], threads: os.availableParallelism() },
    );
    const reached: NonNullable<RunResult['reachedEpie']> = { amplitude: null, phase: null };
    let seconds = 0;
    let last: number | null = null;
    for (let k = 0; k < args.iterations; k++) {
      const [rep] = await rec.iterate(stack, 1);
      seconds += rep.seconds;
      last = rep.relativeError;
      if (!r.refine && (!reached.amplitude || !reached.phase)) {
        const q = compareWithTruth(rec.object, truth, mask!);
        if (!reached.amplitude && q.amplitudeR >= target.amplitudeR - 0.005) reached.amplitude = { iteration: rep.iteration, seconds };
        if (!reached.phase && q.phaseR >= target.phaseR - 0.005) reached.phase = { iteration: rep.iteration, seconds };
      }
    }
    const res = score(r.name, rec.object, truth, mask!, interior!, args.iterations, seconds, ds.count, last);
    res.provider = rec.provider;
    if (!r.refine) res.reachedEpie = reached;
    results.push(res);
    log(`  ${line(res)}  [${rec.provider}${r.refine ? '' : `; ${describeReached(reached)}`}]`);
    await rec.release();
  }
  if (args.numpy) {
    const np = runNumpy(root, stack, ds.xs, ds.ys, ds.probe, truth, args.iterations, log);
    if (np) {
      const object = await np;
      if (object) results.push(score('numpy epie', object.planes, truth, mask!, interior!, args.iterations, object.seconds, ds.count, null));
      if (object) log(`  ${line(results.at(-1)!)}`);
    }
  }
  if (args.json) {
    for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    process.stdout.write(table(results));
    const ours = results.find((r) => r.run === 'epie');
    const np = results.find((r) => r.run === 'numpy epie');
    const single = results.find((r) => r.run === 'epie, 1 thread');
    if (ours && np) process.stdout.write(`\nepie (${threads} thread${threads > 1 ? 's' : ''}) vs NumPy: ${(ours.updatesPerSec / np.updatesPerSec).toFixed(2)}× the pattern updates/s${single ? `; one thread ${(single.updatesPerSec / np.updatesPerSec).toFixed(2)}×` : ''} (load average ${os.loadavg()[0].toFixed(1)} on ${os.availableParallelism()} cores).\n`);
    if (single) process.stdout.write(`one pattern update (N = 64, one thread): ${(1e6 / single.updatesPerSec).toFixed(0)} µs${np ? `; NumPy's: ${(1e6 / np.updatesPerSec).toFixed(0)} µs` : ''}.\n`);
    const ad = results.find((r) => r.run === 'ad');
    if (ad?.reachedEpie) process.stdout.write(`ad (${ad.provider}): ${describeReached(ad.reachedEpie)} (epie: ${args.iterations} iterations, ${target.seconds.toFixed(1)} s; matched = within 0.005 of its final r).\n`);
  }
  if (!args.keep) fs.rmSync(root, { recursive: true, force: true });
}

function describeReached(r: NonNullable<RunResult['reachedEpie']>): string {
  const one = (what: string, x: { iteration: number; seconds: number } | null): string => (x ? `epie's ${what} r at iteration ${x.iteration} (${x.seconds.toFixed(1)} s)` : `never epie's ${what} r`);
  return `${one('amplitude', r.amplitude)}, ${one('phase', r.phase)}`;
}

function score(name: string, object: ComplexPlanes, truth: ComplexImage, mask: Uint8Array, interior: Uint8Array, iterations: number, seconds: number, patterns: number, relativeError: number | null): RunResult {
  const q = compareWithTruth(object, truth, mask);
  const i = compareWithTruth(object, truth, interior);
  return {
    run: name, iterations, seconds, updatesPerSec: (iterations * patterns) / seconds, relativeError, amplitudeR: q.amplitudeR, phaseR: q.phaseR, pixels: q.pixels,
    interior: { amplitudeR: i.amplitudeR, phaseR: i.phaseR, pixels: i.pixels },
  };
}

/** The interior's threshold, as a fraction of the peak illumination. */
const INTERIOR = 0.2;

/** Runs the NumPy yardstick when python3 has numpy; resolves with its object and time, or undefined. */
function runNumpy(root: string, stack: Float32Array, xs: Float64Array, ys: Float64Array, probe: ComplexImage, truth: ComplexImage, iterations: number, log: (s: string) => void): Promise<{ planes: ComplexPlanes; seconds: number } | undefined> | undefined {
  const probeOk = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
  if (probeOk.status !== 0) {
    log('  NumPy not available (python3 -c "import numpy" failed): no yardstick');
    return undefined;
  }
  const script = [path.join(__dirname, '..', 'scripts', 'bench_recon_numpy.py'), path.join(__dirname, 'bench_recon_numpy.py')].find((p) => fs.existsSync(p));
  if (!script) {
    log('  scripts/bench_recon_numpy.py not found: no yardstick');
    return undefined;
  }
  return (async () => {
    const n = probe.width;
    const input = path.join(root, 'numpy-input.npz');
    const output = path.join(root, 'numpy-output.npz');
    await writeNpz(input, {
      amplitudes: ndarray('<f4', [xs.length, n, n], stack),
      xs: ndarray('<f8', [xs.length], xs),
      ys: ndarray('<f8', [ys.length], ys),
      probe: ndarray('<c8', [n, n], probe.data),
      shape: ndarray('<i8', [2], new BigInt64Array([BigInt(truth.height), BigInt(truth.width)])),
    });
    const r = spawnSync('python3', [script, input, output, String(iterations)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (r.status !== 0) {
      log(`  NumPy yardstick failed (exit ${r.status}): ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
      return undefined;
    }
    const seconds = JSON.parse(r.stdout.trim().split('\n').at(-1)!).seconds as number;
    return withNpz(output, async (a) => {
      const obj = await a.readArray('object');
      const d = obj.data as Float32Array | Float64Array;
      const [height, width] = obj.shape;
      const planes: ComplexPlanes = { width, height, re: new Float64Array(width * height), im: new Float64Array(width * height) };
      for (let k = 0; k < width * height; k++) {
        planes.re[k] = d[2 * k];
        planes.im[k] = d[2 * k + 1];
      }
      return { planes, seconds };
    });
  })();
}

function fmt(v: number | null, digits = 3): string {
  return v === null || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function line(r: RunResult): string {
  return `${r.run}: ${r.iterations} it, ${r.seconds.toFixed(1)} s, ${r.updatesPerSec.toFixed(0)} updates/s, amplitude r ${fmt(r.amplitudeR)}, phase r ${fmt(r.phaseR)}`;
}

function table(results: RunResult[]): string {
  const head = ['run', 'iterations', 'wall s', 'updates/s', 'rel. error', 'amplitude r', 'phase r', 'pixels', 'interior: amplitude r', 'phase r', 'pixels'];
  const rows = results.map((r) => [
    r.run, String(r.iterations), r.seconds.toFixed(1), r.updatesPerSec.toFixed(0), r.relativeError === null ? '—' : r.relativeError.toExponential(2),
    fmt(r.amplitudeR, 4), fmt(r.phaseR, 4), String(r.pixels), fmt(r.interior.amplitudeR, 4), fmt(r.interior.phaseR, 4), String(r.interior.pixels),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmtRow = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [fmtRow(head), fmtRow(widths.map((w) => '-'.repeat(w))), ...rows.map(fmtRow)].join('\n') + '\n';
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
