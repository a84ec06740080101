// The PtychoPINN graphs, proven: whole-model gradients (gs1 and gs2) against finite differences of an
// independent float64 model, the in-graph Adam step against Adam in JS, the physics against the simulator,
// and the gridsize-2 merge placing ground-truth patches where they belong (no mirroring, no border blow-up).
import { strict as assert } from 'node:assert';
import {
  buildArchitecture, buildGradientGraph, buildTrainStepGraph, buildEvalGraph, buildInferenceGraph, canvasSize, farFieldIntensity,
  initialParameters, mergePatches, normalizeProbe, parameterCount, IO, LOG_SCALE, type Architecture, type ModelGraphSpec,
} from '../../src/core/model';
import { adamStepSize, Graph, type Value } from '../../src/core/onnx';
import { FarField, syntheticObject, syntheticProbe, type ComplexImage } from '../../src/core/simulate';
import { randomArray, run, seeded, session, type Feed } from './helpers/ort';
import { mergeInPlace, referenceLoss, t4, type ReferenceModel } from './helpers/reference';

function named(g: Graph, v: Value, name: string): void {
  g.output(g.untaped(() => g.node('Identity', [v], [{ shape: v.shape, dtype: v.dtype }], { outputNames: [name] })[0]));
}

function smallSpec(gridsize: number, batch: number, maxOffset = 3): ModelGraphSpec {
  const n = 32;
  const arch = buildArchitecture({ n, gridsize, filterScale: 1, filters: { encoder: [4, 8], decoder: [4] } });
  const probe = normalizeProbe(syntheticProbe(n).data, n);
  return { arch, batch, canvas: canvasSize(n, maxOffset), intensityScale: 1.7, probe, trainLogScale: true };
}

function referenceOf(spec: ModelGraphSpec): ReferenceModel {
  const a = spec.arch;
  const layer = (l: { weight: string; bias: string; outChannels: number }) => ({ weight: l.weight, bias: l.bias, outChannels: l.outChannels });
  return {
    n: a.spec.n, gridsize: a.spec.gridsize,
    encoder: a.encoder.map((lv) => lv.map(layer)),
    ampDecoder: a.decoders.amplitude.map((lv) => lv.map(layer)),
    phaseDecoder: a.decoders.phase.map((lv) => lv.map(layer)),
    ampHead: layer(a.heads.amplitude), phaseHead: layer(a.heads.phase),
    intensityScale: spec.intensityScale, probeRe: spec.probe.re, probeIm: spec.probe.im, canvas: spec.canvas, epsilon: 1e-8,
  };
}

/** A batch whose counts look like a real pattern: |far field| of a random object, with some noise. */
function batchFor(spec: ModelGraphSpec, seed: number): { x: Float32Array; offsets?: Float32Array } {
  const rnd = seeded(seed);
  const { n } = spec.arch.spec;
  const c = spec.arch.channels;
  const x = randomArray(spec.batch * c * n * n, rnd, 0, 1.5) as Float32Array;
  const offsets = spec.arch.spec.gridsize > 1 ? (randomArray(spec.batch * c * 2, rnd, -2.5, 2.5) as Float32Array) : undefined;
  return { x, offsets };
}

function paramFeeds(arch: Architecture, values: Map<string, Float32Array>): Record<string, Feed> {
  return Object.fromEntries(arch.params.map((p) => [p.name, { data: values.get(p.name)!, shape: p.shape }]));
}

async function checkWholeModelGradient(gridsize: number): Promise<void> {
  const spec = smallSpec(gridsize, 2);
  const values = initialParameters(spec.arch, 5, spec.intensityScale);
  // Non-zero biases and a log_scale off its initial value exercise every term.
  const rnd = seeded(99 + gridsize);
  for (const p of spec.arch.params) if (p.init === 'zeros') values.set(p.name, randomArray(values.get(p.name)!.length, rnd, -0.1, 0.1) as Float32Array);
  values.get(LOG_SCALE)![0] += 0.05;
  const { x, offsets } = batchFor(spec, 7 + gridsize);
  const graph = buildGradientGraph(spec);
  const sess = await session(graph.model);
  const feeds: Record<string, Feed> = { ...paramFeeds(spec.arch, values), [IO.diffraction]: { data: x, shape: [2, spec.arch.channels, 32, 32] } };
  if (offsets) feeds[IO.offsets] = { data: offsets, shape: [2, spec.arch.channels, 2] };
  const out = await run(sess, feeds);
  await sess.release();

  const ref = referenceOf(spec);
  const p64 = new Map([...values].map(([k, v]) => [k, Float64Array.from(v)]));
  const x64 = t4([2, spec.arch.channels, 32, 32], Float64Array.from(x));
  const off64 = offsets ? Float64Array.from(offsets) : undefined;
  const loss64 = referenceLoss(ref, p64, x64, off64);
  assert.ok(Math.abs(out[IO.loss][0] - loss64) < 2e-5 * Math.abs(loss64), `ORT loss ${out[IO.loss][0]} vs float64 reference ${loss64}`);

  const h = 1e-5;
  let worst = 0;
  let worstAt = '';
  for (const name of graph.names) {
    const g = out[`grad_${name}`];
    let gmax = 1e-12;
    for (const v of g) gmax = Math.max(gmax, Math.abs(v));
    const p = p64.get(name)!;
    const picks = [0, Math.floor(p.length / 3), Math.floor((2 * p.length) / 3), p.length - 1].filter((v, i, a) => a.indexOf(v) === i);
    for (const k of picks) {
      const keep = p[k];
      p[k] = keep + h;
      const up = referenceLoss(ref, p64, x64, off64);
      p[k] = keep - h;
      const down = referenceLoss(ref, p64, x64, off64);
      p[k] = keep;
      const err = Math.abs((up - down) / (2 * h) - g[k]) / gmax;
      if (err > worst) {
        worst = err;
        worstAt = `${name}[${k}]: ORT ${g[k]}, finite differences ${(up - down) / (2 * h)}`;
      }
    }
  }
  assert.ok(worst < 2e-3, `worst gradient error ${worst.toExponential(2)} of max|g| at ${worstAt}`);
}

describe('PtychoPINN model graphs', () => {
  it('the default N=64 networks have the reference parameter counts', () => {
    // TF counts (domain.md §10.1) slice 4 channels off the decoder for probe.big; we use all of them,
    // which adds 2·4·9 = 72 weights per channel of output: 2,252,026 + 72 (gs1), 2,257,000 + 288 (gs2).
    assert.equal(parameterCount(buildArchitecture({ n: 64, gridsize: 1, filterScale: 2 })) - 1, 2_252_026 + 72);
    assert.equal(parameterCount(buildArchitecture({ n: 64, gridsize: 2, filterScale: 2 })) - 1, 2_257_000 + 288);
    assert.equal(parameterCount(buildArchitecture({ n: 128, gridsize: 1, filterScale: 2 })) - 1, 4_639_770 + 72);
  });

  it('gridsize 1: whole-model gradients match finite differences of the float64 reference', async () => {
    await checkWholeModelGradient(1);
  });

  it('gridsize 2: whole-model gradients (through the merge) match finite differences of the float64 reference', async () => {
    await checkWholeModelGradient(2);
  });

  it('the train step is one Adam step on the graph\'s own gradients', async () => {
    const spec = smallSpec(1, 2);
    const values = initialParameters(spec.arch, 3, spec.intensityScale);
    const { x } = batchFor(spec, 21);
    const xFeed = { data: x, shape: [2, 1, 32, 32] };
    const gradSess = await session(buildGradientGraph(spec).model);
    const grads = await run(gradSess, { ...paramFeeds(spec.arch, values), [IO.diffraction]: xFeed });
    const step = buildTrainStepGraph(spec);
    const stepSess = await session(step.model);
    const moments: Record<string, Feed> = {};
    const rnd = seeded(4);
    const mv = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const name of step.trainable) {
      const size = values.get(name)!.length;
      const m = randomArray(size, rnd, -1e-3, 1e-3) as Float32Array;
      const v = randomArray(size, rnd, 0, 1e-5) as Float32Array;
      mv.set(name, { m, v });
      const shape = spec.arch.params.find((p) => p.name === name)!.shape;
      moments[`m_${name}`] = { data: m, shape };
      moments[`v_${name}`] = { data: v, shape };
    }
    const t = 7;
    const lrT = adamStepSize(1e-3, t);
    const out = await run(stepSess, { ...paramFeeds(spec.arch, values), ...moments, [IO.diffraction]: xFeed, [IO.lr]: { data: Float32Array.from([lrT]), shape: [] } });
    await gradSess.release();
    await stepSess.release();
    assert.ok(Math.abs(out[IO.loss][0] - grads[IO.loss][0]) < 1e-6 * Math.abs(grads[IO.loss][0]));
    let worst = 0;
    for (const name of step.trainable) {
      const p = values.get(name)!;
      const g = grads[`grad_${name}`];
      const { m, v } = mv.get(name)!;
      const np = out[`new_${name}`];
      for (let i = 0; i < p.length; i++) {
        const m2 = 0.9 * m[i] + 0.1 * g[i];
        const v2 = 0.999 * v[i] + 0.001 * g[i] * g[i];
        const expect = p[i] - (lrT * m2) / (Math.sqrt(v2) + 1e-7);
        worst = Math.max(worst, Math.abs(np[i] - expect));
      }
    }
    assert.ok(worst < 1e-7, `worst parameter difference ${worst}`);
  });

  it('the eval graph gives per-group losses whose mean is the training loss', async () => {
    const spec = smallSpec(2, 3);
    const values = initialParameters(spec.arch, 8, spec.intensityScale);
    const { x, offsets } = batchFor(spec, 31);
    const feeds: Record<string, Feed> = { ...paramFeeds(spec.arch, values), [IO.diffraction]: { data: x, shape: [3, 4, 32, 32] }, [IO.offsets]: { data: offsets!, shape: [3, 4, 2] } };
    const evalSess = await session(buildEvalGraph(spec).model);
    const per = (await run(evalSess, feeds))[IO.sampleLoss];
    const gradSess = await session(buildGradientGraph(spec).model);
    const mean = (await run(gradSess, feeds))[IO.loss][0];
    await evalSess.release();
    await gradSess.release();
    assert.equal(per.length, 3);
    assert.ok(Math.abs((per[0] + per[1] + per[2]) / 3 - mean) < 1e-5 * Math.abs(mean));
  });

  it('physics: ground-truth patches through the model\'s far field reproduce the simulator\'s noiseless patterns', async () => {
    const n = 64;
    const probe = syntheticProbe(n);
    const object = syntheticObject(160, n, 3);
    const positions = [[50.25, 61.5], [80, 80], [97.75, 70.125]];
    const sim = new FarField(probe);
    const expected = new Float32Array(positions.length * n * n);
    positions.forEach(([x, y], i) => sim.intensity(object, x, y, expected, i * n * n));
    // Patches as the simulator extracts them (bilinear), fed to the graph's physics with the raw probe.
    const re = new Float32Array(positions.length * n * n);
    const im = new Float32Array(positions.length * n * n);
    positions.forEach(([x, y], i) => patchOf(object, x, y, n, re, im, i * n * n));
    const g = new Graph('physics');
    const vr = g.input('re', [positions.length, 1, n, n]);
    const vi = g.input('im', [positions.length, 1, n, n]);
    const split = { re: new Float32Array(n * n), im: new Float32Array(n * n) };
    for (let i = 0; i < n * n; i++) {
      split.re[i] = probe.data[2 * i];
      split.im[i] = probe.data[2 * i + 1];
    }
    named(g, farFieldIntensity(vr, vi, split), 'intensity');
    const sess = await session(g.toModel());
    const got = (await run(sess, { re: { data: re, shape: [3, 1, n, n] }, im: { data: im, shape: [3, 1, n, n] } })).intensity;
    await sess.release();
    let peak = 0;
    let worst = 0;
    for (let i = 0; i < got.length; i++) {
      peak = Math.max(peak, expected[i]);
      worst = Math.max(worst, Math.abs(got[i] - expected[i]));
    }
    assert.ok(worst / peak < 2e-5, `max |Δ| ${worst} against a peak of ${peak}`);
  });

  describe('gridsize-2 patch merge', () => {
    const n = 32;
    /** Masked ground-truth patches of a test object at a group's positions, and the group's offsets. */
    function groupOf(object: (x: number, y: number) => [number, number], centre: [number, number], offsets: number[][]) {
      const re = new Float32Array(4 * n * n);
      const im = new Float32Array(4 * n * n);
      offsets.forEach(([dx, dy], c) => {
        for (let i = n / 4; i < (3 * n) / 4; i++) {
          for (let j = n / 4; j < (3 * n) / 4; j++) {
            const [a, b] = object(centre[0] + dx + j - n / 2, centre[1] + dy + i - n / 2);
            re[c * n * n + i * n + j] = a;
            im[c * n * n + i * n + j] = b;
          }
        }
      });
      return { re, im, off: Float32Array.from(offsets.flat()) };
    }

    async function merged(re: Float32Array, im: Float32Array, off: Float32Array, p: number) {
      const g = new Graph('merge');
      const vr = g.input('re', [1, 4, n, n]);
      const vi = g.input('im', [1, 4, n, n]);
      const vo = g.input('off', [1, 4, 2]);
      const m = mergePatches(vr, vi, vo, p);
      named(g, m.canvasRe, 'canvas_re');
      named(g, m.canvasIm, 'canvas_im');
      named(g, m.re, 'patch_re');
      named(g, m.im, 'patch_im');
      const sess = await session(g.toModel());
      const out = await run(sess, { re: { data: re, shape: [1, 4, n, n] }, im: { data: im, shape: [1, 4, n, n] }, off: { data: off, shape: [1, 4, 2] } });
      await sess.release();
      return out;
    }

    // An asymmetric object: any mirroring or sign error in the offsets moves features to the wrong place.
    const asymmetric = (x: number, y: number): [number, number] => [Math.sin(0.31 * x) + 0.02 * x * x - 0.5 * y, Math.cos(0.17 * y + 0.05 * x) + 0.3 * x];

    it('integer offsets: the canvas is the object around the centroid, pixel for pixel, and each patch comes back', async () => {
      const offsets = [[-3, -2], [4, -1], [-2, 3], [1, 0]];
      const centre: [number, number] = [40, 50];
      const { re, im, off } = groupOf(asymmetric, centre, offsets);
      const p = canvasSize(n, 4);
      const out = await merged(re, im, off, p);
      const c0 = p / 2;
      let covered = 0;
      let worst = 0;
      for (let py = 0; py < p; py++) {
        for (let px = 0; px < p; px++) {
          const [a, b] = asymmetric(centre[0] + px - c0, centre[1] + py - c0);
          // Inside the support of at least one patch: the canvas must equal the object there.
          const inside = offsets.some(([dx, dy]) => {
            const j = px - c0 - dx + n / 2;
            const i = py - c0 - dy + n / 2;
            return i >= n / 4 && i < (3 * n) / 4 && j >= n / 4 && j < (3 * n) / 4;
          });
          if (!inside) {
            assert.ok(Math.abs(out.canvas_re[py * p + px]) < 1e-6, `canvas (${px}, ${py}) outside every support is ${out.canvas_re[py * p + px]}`);
            continue;
          }
          covered++;
          worst = Math.max(worst, Math.abs(out.canvas_re[py * p + px] - a), Math.abs(out.canvas_im[py * p + px] - b));
        }
      }
      let peak = 0;
      for (let i = 0; i < re.length; i++) peak = Math.max(peak, Math.abs(re[i]), Math.abs(im[i]));
      assert.ok(covered > (n / 2) ** 2, 'the supports cover the canvas centre');
      // Overlaps average k copies of the same value: k/(k + 0.001) of it, so within 0.1% of the peak.
      assert.ok(worst < 1.5e-3 * peak, `canvas deviates from the object by ${worst} (peak ${peak})`);
      let patchWorst = 0;
      for (let c = 0; c < 4; c++) {
        for (let i = n / 4; i < (3 * n) / 4; i++) {
          for (let j = n / 4; j < (3 * n) / 4; j++) {
            const k = c * n * n + i * n + j;
            patchWorst = Math.max(patchWorst, Math.abs(out.patch_re[k] - re[k]), Math.abs(out.patch_im[k] - im[k]));
          }
        }
      }
      assert.ok(patchWorst < 1.5e-3 * peak, `re-extracted patches differ from the originals by ${patchWorst}`);
    });

    it('fractional offsets: a linear object is reproduced exactly (bilinear is exact on linear functions)', async () => {
      const linear = (x: number, y: number): [number, number] => [0.3 + 0.01 * x - 0.02 * y, -0.1 + 0.015 * y];
      const offsets = [[-2.75, -1.5], [3.25, -0.25], [-1.5, 2.5], [1, -0.75]];
      const centre: [number, number] = [30.25, 44.5];
      const { re, im, off } = groupOf(linear, centre, offsets);
      const p = canvasSize(n, 3.25);
      const out = await merged(re, im, off, p);
      const c0 = p / 2;
      let worst = 0;
      for (let py = 0; py < p; py++) {
        for (let px = 0; px < p; px++) {
          // Only pixels well inside every support's interior (bilinear weights mix in the zero border at edges).
          const inAll = offsets.every(([dx, dy]) => {
            const j = px - c0 - dx + n / 2;
            const i = py - c0 - dy + n / 2;
            return i >= n / 4 + 1 && i < (3 * n) / 4 - 2 && j >= n / 4 + 1 && j < (3 * n) / 4 - 2;
          });
          if (!inAll) continue;
          const [a, b] = linear(centre[0] + px - c0, centre[1] + py - c0);
          const k = py * p + px;
          const count = 4;
          const scaleBack = (count + 1e-3) / count;
          worst = Math.max(worst, Math.abs(out.canvas_re[k] * scaleBack - a), Math.abs(out.canvas_im[k] * scaleBack - b));
        }
      }
      assert.ok(worst < 1e-5, `canvas deviates from the linear object by ${worst}`);
    });

    it('no border blow-up: canvas values stay within the range of the patches (TORCH-REASSEMBLY-NORM-001)', async () => {
      const offsets = [[-5.5, -4.25], [6.75, -3], [-4, 5.5], [2.25, 1]];
      const { re, im, off } = groupOf(asymmetric, [40, 40], offsets);
      const out = await merged(re, im, off, canvasSize(n, 6.75));
      let maxIn = 0;
      for (let i = 0; i < re.length; i++) maxIn = Math.max(maxIn, Math.abs(re[i]), Math.abs(im[i]));
      let maxOut = 0;
      for (let i = 0; i < out.canvas_re.length; i++) maxOut = Math.max(maxOut, Math.abs(out.canvas_re[i]), Math.abs(out.canvas_im[i]));
      assert.ok(maxOut <= maxIn * 1.0001, `canvas max ${maxOut} exceeds the patches' max ${maxIn}`);
    });

    it('the float64 reference merge agrees with the graph', async () => {
      const offsets = [[-2.75, -1.5], [3.25, -0.25], [-1.5, 2.5], [1, -0.75]];
      const { re, im, off } = groupOf(asymmetric, [40, 40], offsets);
      const p = canvasSize(n, 3.25);
      const out = await merged(re, im, off, p);
      const r64 = Float64Array.from(re);
      const i64 = Float64Array.from(im);
      const ref = mergeInPlace(r64, i64, 1, 4, n, p, off);
      let worst = 0;
      for (let k = 0; k < ref.canvasRe.length; k++) worst = Math.max(worst, Math.abs(ref.canvasRe[k] - out.canvas_re[k]));
      for (let k = 0; k < r64.length; k++) worst = Math.max(worst, Math.abs(r64[k] - out.patch_re[k]));
      assert.ok(worst < 1e-4, `graph and reference differ by ${worst}`);
    });
  });

  it('the inference graph loads in onnxruntime with its weights and returns amplitude and phase', async () => {
    for (const gs of [1, 2]) {
      const spec = smallSpec(gs, 2);
      const values = initialParameters(spec.arch, 2, spec.intensityScale);
      const model = buildInferenceGraph(spec, values, { note: 'test' }).model;
      const sess = await session(model, 'all');
      assert.deepEqual([...sess.inputNames].sort(), gs === 1 ? [IO.diffraction] : [IO.diffraction, IO.offsets].sort());
      const { x, offsets } = batchFor(spec, 3);
      const feeds: Record<string, Feed> = { [IO.diffraction]: { data: x, shape: [2, gs * gs, 32, 32] } };
      if (offsets) feeds[IO.offsets] = { data: offsets, shape: [2, 4, 2] };
      const out = await run(sess, feeds);
      await sess.release();
      assert.equal(out[IO.amplitude].length, 2 * 32 * 32 * (gs === 1 ? 1 : 1));
      for (const v of out[IO.phase]) assert.ok(Math.abs(v) <= Math.PI + 1e-5);
      for (const v of out[IO.amplitude]) assert.ok(v >= 0 && Number.isFinite(v));
    }
  });
});

/** Bilinear patch as the simulator's extractPatch (patch pixel (N/2, N/2) ↔ object (x, y)), split re/im. */
function patchOf(object: ComplexImage, x: number, y: number, n: number, re: Float32Array, im: Float32Array, at: number): void {
  const fx0 = Math.floor(x);
  const fy0 = Math.floor(y);
  const fx = x - fx0;
  const fy = y - fy0;
  const w = object.width;
  const d = object.data;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const r = fy0 - n / 2 + i;
      const c = fx0 - n / 2 + j;
      const k = (rr: number, cc: number) => 2 * (rr * w + cc);
      const w00 = (1 - fy) * (1 - fx);
      const w01 = (1 - fy) * fx;
      const w10 = fy * (1 - fx);
      const w11 = fy * fx;
      re[at + i * n + j] = w00 * d[k(r, c)] + w01 * d[k(r, c + 1)] + w10 * d[k(r + 1, c)] + w11 * d[k(r + 1, c + 1)];
      im[at + i * n + j] = w00 * d[k(r, c) + 1] + w01 * d[k(r, c + 1) + 1] + w10 * d[k(r + 1, c) + 1] + w11 * d[k(r + 1, c + 1) + 1];
    }
  }
}
