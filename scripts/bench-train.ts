// npm run bench:train [-- --json] [-- --quick] [-- --torch]
// Measures the generated train step on this machine: step time and images/s (median of ≥ 10 steps after
// warm-up), achieved conv GFLOP/s against the MatMul peak measured in the same run, inference patterns/s,
// session-creation time and peak RSS, for N=64 gridsize 1 and 2 at the default width (n_filters_scale 2) and
// the 600k-parameter n=1 variant. With --torch it also runs scripts/bench_torch.py (PyTorch eager CPU, the same
// network and batch) when python3 with torch is installed: the yardstick, not a dependency.
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import {
  buildArchitecture, buildInferenceGraph, buildTrainStepGraph, canvasSize, initialParameters, normalizeProbe, parameterCount, IO,
} from '../src/core/model';
import { adamStepSize, Graph, op } from '../src/core/onnx';
import { syntheticProbe } from '../src/core/simulate';

const json = process.argv.includes('--json');
const quick = process.argv.includes('--quick');
const withTorch = process.argv.includes('--torch');
const STEPS = quick ? 6 : 12;
const WARMUP = 2;
const threads = Number(process.env.BENCH_THREADS ?? os.cpus().length);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

async function matmulPeak(): Promise<number> {
  const n = 1024;
  const g = new Graph('peak');
  const a = g.input('a', [n, n]);
  const b = g.input('b', [n, n]);
  g.output(op.matmul(a, b));
  const sess = await ort.InferenceSession.create(g.toModel(), { intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
  const r = rng(1);
  const feeds = { a: new ort.Tensor('float32', Float32Array.from({ length: n * n }, r), [n, n]), b: new ort.Tensor('float32', Float32Array.from({ length: n * n }, r), [n, n]) };
  let best = Infinity;
  for (let i = 0; i < (quick ? 6 : 12); i++) {
    const t = performance.now();
    await sess.run(feeds);
    best = Math.min(best, performance.now() - t);
  }
  await sess.release();
  return (2 * n ** 3) / (best / 1000) / 1e9;
}

interface Result {
  config: { N: number; gridsize: number; batchSize: number; filterScale: number };
  parameters: number;
  stepMsMedian: number;
  stepMsMin: number;
  imagesPerSec: number;
  convGflops: number;
  peakGflops: number;
  convToPeak: number;
  inferencePatternsPerSec: number;
  sessionMs: number;
  graphBuildMs: number;
  peakRssMB: number;
}

async function bench(n: number, gridsize: number, batch: number, filterScale: number, peak: number): Promise<Result> {
  const arch = buildArchitecture({ n, gridsize, filterScale });
  const probe = normalizeProbe(syntheticProbe(n).data, n);
  const spec = { arch, batch, canvas: canvasSize(n, 8), intensityScale: Math.sqrt(1e4) / (n / 2), probe, trainLogScale: true };
  const t0 = performance.now();
  const step = buildTrainStepGraph(spec);
  const graphBuildMs = performance.now() - t0;
  const t1 = performance.now();
  const sess = await ort.InferenceSession.create(step.model, { graphOptimizationLevel: 'extended', intraOpNumThreads: threads });
  const sessionMs = performance.now() - t1;
  const params = initialParameters(arch, 1, spec.intensityScale);
  const feeds: Record<string, ort.Tensor> = {};
  for (const p of arch.params) feeds[p.name] = new ort.Tensor('float32', params.get(p.name)!, p.shape);
  for (const name of step.trainable) {
    const p = arch.params.find((q) => q.name === name)!;
    feeds[`m_${name}`] = new ort.Tensor('float32', new Float32Array(params.get(name)!.length), p.shape);
    feeds[`v_${name}`] = new ort.Tensor('float32', new Float32Array(params.get(name)!.length), p.shape);
  }
  const c = arch.channels;
  const r = rng(2);
  const x = Float32Array.from({ length: batch * c * n * n }, () => r() * 0.6);
  feeds[IO.diffraction] = new ort.Tensor('float32', x, [batch, c, n, n]);
  if (c > 1) feeds[IO.offsets] = new ort.Tensor('float32', Float32Array.from({ length: batch * c * 2 }, () => (r() - 0.5) * 12), [batch, c, 2]);
  const times: number[] = [];
  for (let i = 1; i <= WARMUP + STEPS; i++) {
    feeds[IO.lr] = new ort.Tensor('float32', Float32Array.from([adamStepSize(1e-3, i)]), []);
    const t = performance.now();
    const out = await sess.run(feeds);
    const dt = performance.now() - t;
    if (i > WARMUP) times.push(dt);
    for (const name of step.trainable) {
      feeds[name] = out[`new_${name}`];
      feeds[`m_${name}`] = out[`new_m_${name}`];
      feeds[`v_${name}`] = out[`new_v_${name}`];
    }
  }
  await sess.release();
  // Inference (weights baked in, opt 'all'), batch 32.
  const ib = 32;
  const inf = await ort.InferenceSession.create(buildInferenceGraph({ ...spec, batch: ib }, params, {}, { symbolicBatch: true }).model, { graphOptimizationLevel: 'all', intraOpNumThreads: threads });
  const ifeeds: Record<string, ort.Tensor> = { [IO.diffraction]: new ort.Tensor('float32', Float32Array.from({ length: ib * c * n * n }, () => r() * 0.6), [ib, c, n, n]) };
  if (c > 1) ifeeds[IO.offsets] = new ort.Tensor('float32', new Float32Array(ib * c * 2), [ib, c, 2]);
  const itimes: number[] = [];
  for (let i = 0; i < (quick ? 3 : 6); i++) {
    const t = performance.now();
    await inf.run(ifeeds);
    itimes.push(performance.now() - t);
  }
  await inf.release();
  const stepMs = median(times);
  // Forward conv work + the two backward convs (dX, dW) of every layer; FLOPs = 2 × multiply-adds.
  const convFlops = 2 * 3 * arch.convMacsPerGroup * batch;
  const convGflops = convFlops / (stepMs / 1000) / 1e9;
  return {
    config: { N: n, gridsize, batchSize: batch, filterScale },
    parameters: parameterCount(arch),
    stepMsMedian: stepMs,
    stepMsMin: Math.min(...times),
    imagesPerSec: batch / (stepMs / 1000),
    convGflops,
    peakGflops: peak,
    convToPeak: convGflops / peak,
    inferencePatternsPerSec: (ib * c) / (median(itimes.slice(1)) / 1000),
    sessionMs,
    graphBuildMs,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

function torchBench(configs: [number, number, number, number][]): Record<string, unknown>[] {
  const script = path.join(__dirname, '..', 'scripts', 'bench_torch.py');
  const r = spawnSync('python3', [script, '--steps', String(STEPS), '--threads', String(threads), ...configs.map((c) => c.join(':'))], { encoding: 'utf8' });
  if (r.status !== 0) {
    if (!json) console.log(`PyTorch comparison skipped: ${(r.stderr || r.error?.message || 'python3 failed').trim().split('\n').at(-1)}`);
    return [];
  }
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function main(): Promise<void> {
  ort.env.logLevel = 'fatal';
  const peak = await matmulPeak();
  if (!json) {
    console.log(`onnxruntime-node ${ort.env.versions?.common ?? ''} CPU, ${threads} threads, ${os.cpus()[0]?.model ?? 'cpu'}`);
    console.log(`MatMul 1024³ peak: ${peak.toFixed(1)} GFLOP/s`);
  }
  const configs: [number, number, number, number][] = [[64, 1, 16, 2], [64, 2, 16, 2], [64, 1, 16, 1]];
  const results: Result[] = [];
  for (const [n, gs, b, fs] of configs) {
    const r = await bench(n, gs, b, fs, peak);
    results.push(r);
    if (json) console.log(JSON.stringify(r));
    else {
      console.log(`N=${n} gs${gs} B=${b} n_filters_scale ${fs} (${r.parameters.toLocaleString('en-US')} params): step ${r.stepMsMedian.toFixed(0)} ms median (min ${r.stepMsMin.toFixed(0)}), `
        + `${r.imagesPerSec.toFixed(1)} images/s, conv ${r.convGflops.toFixed(1)} GFLOP/s = ${(100 * r.convToPeak).toFixed(0)}% of the MatMul peak; `
        + `inference ${r.inferencePatternsPerSec.toFixed(0)} patterns/s; session ${r.sessionMs.toFixed(0)} ms; peak RSS ${r.peakRssMB} MiB`);
    }
  }
  if (withTorch) {
    for (const t of torchBench(configs)) {
      if (json) console.log(JSON.stringify({ ...t, framework: 'pytorch' }));
      else {
        const c = t.config as Result['config'];
        const ours = results.find((r) => r.config.N === c.N && r.config.gridsize === c.gridsize && r.config.filterScale === c.filterScale);
        console.log(`PyTorch ${t.torch} eager CPU, N=${c.N} gs${c.gridsize} B=${c.batchSize} n=${c.filterScale}: step ${(t.stepMsMedian as number).toFixed(0)} ms, ${(t.imagesPerSec as number).toFixed(1)} images/s`
          + (ours ? `  → onnxruntime/PyTorch throughput ×${(ours.imagesPerSec / (t.imagesPerSec as number)).toFixed(2)}` : ''));
      }
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
