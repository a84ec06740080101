// probe.big (PtychoPINN's border branch): the parameter counts of the reference, an output that is the
// sigmoid/π·tanh head on the central N/2 and swish of the border branch outside it, gradients of the border
// parameters that match finite differences of the model's own loss, and a gridsize-2 merge of full patches
// without the reference's ×1000 border blow-up.
import { strict as assert } from 'node:assert';
import {
  BORDER_MERGE_WEIGHT, buildArchitecture, buildEvalGraph, buildGradientGraph, buildInferenceGraph, canvasSize, initialParameters,
  mergePatches, normalizeProbe, parameterCount, IO, type ModelGraphSpec,
} from '../../src/core/model';
import { Graph } from '../../src/core/onnx';
import { syntheticProbe } from '../../src/core/simulate';
import { randomArray, run, seeded, session, type Feed } from './helpers/ort';

const N = 32;

function spec(gridsize: number, batch: number): ModelGraphSpec {
  const arch = buildArchitecture({ n: N, gridsize, filterScale: 1, filters: { encoder: [4, 8], decoder: [8] }, probeBig: true });
  const probe = normalizeProbe(syntheticProbe(N).data, N);
  return { arch, batch, canvas: canvasSize(N, 3, true), intensityScale: 1.7, probe, trainLogScale: true };
}

function feeds(s: ModelGraphSpec, values: Map<string, Float32Array>, seed: number): Record<string, Feed> {
  const rnd = seeded(seed);
  const c = s.arch.channels;
  const out: Record<string, Feed> = Object.fromEntries(s.arch.params.map((p) => [p.name, { data: values.get(p.name)!, shape: p.shape }]));
  out[IO.diffraction] = { data: randomArray(s.batch * c * N * N, rnd, 0, 1.5) as Float32Array, shape: [s.batch, c, N, N] };
  if (s.arch.spec.gridsize > 1) out[IO.offsets] = { data: randomArray(s.batch * c * 2, rnd, -2.5, 2.5) as Float32Array, shape: [s.batch, c, 2] };
  return out;
}

const inCentre = (i: number, j: number): boolean => i >= N / 4 && i < (3 * N) / 4 && j >= N / 4 && j < (3 * N) / 4;
const swish = (x: number): number => x / (1 + Math.exp(-x));

describe('probe.big: the border branch', () => {
  it('the N=64 and N=128 networks have PtychoPINN\'s probe.big parameter counts (domain.md §10.1)', () => {
    const count = (n: number, gridsize: number): number => parameterCount(buildArchitecture({ n, gridsize, filterScale: 2, probeBig: true })) - 1;
    assert.equal(count(64, 1), 2_331_772);
    assert.equal(count(64, 2), 2_340_208);
    assert.equal(count(128, 1), 4_661_212);
    assert.equal(count(128, 2), 4_667_056);
  });

  it('predicts the centre with the heads and the outside with swish of the border branch', async () => {
    const s = spec(1, 2);
    const values = initialParameters(s.arch, 3, s.intensityScale);
    const infer = async (v: Map<string, Float32Array>): Promise<{ amplitude: Float32Array; phase: Float32Array }> => {
      const sess = await session(buildInferenceGraph(s, 'inputs').model);
      const out = await run(sess, feeds(s, v, 11));
      await sess.release();
      return { amplitude: out[IO.amplitude] as Float32Array, phase: out[IO.phase] as Float32Array };
    };
    const before = await infer(values);
    let outside = 0;
    for (let k = 0; k < 2 * N * N; k++) {
      const i = Math.floor((k % (N * N)) / N);
      const j = k % N;
      if (inCentre(i, j)) assert.ok(before.amplitude[k] > 0 && before.amplitude[k] < 1, 'sigmoid range in the centre');
      else outside = Math.max(outside, Math.abs(before.amplitude[k]));
    }
    assert.ok(outside > 1e-6, 'the border branch predicts a non-zero object outside the centre');
    // A border head with zero kernels and bias b gives swish(b) outside, and the centre does not change.
    const changed = new Map(values);
    changed.set('border_head_amp.weight', new Float32Array(values.get('border_head_amp.weight')!.length));
    changed.set('border_head_amp.bias', Float32Array.of(0.7));
    changed.set('border_head_phase.weight', new Float32Array(values.get('border_head_phase.weight')!.length));
    changed.set('border_head_phase.bias', Float32Array.of(-0.4));
    const after = await infer(changed);
    for (let k = 0; k < 2 * N * N; k++) {
      const i = Math.floor((k % (N * N)) / N);
      const j = k % N;
      if (inCentre(i, j)) {
        assert.equal(after.amplitude[k], before.amplitude[k]);
        assert.equal(after.phase[k], before.phase[k]);
      } else {
        assert.ok(Math.abs(after.amplitude[k] - swish(0.7)) < 1e-6, `amplitude ${after.amplitude[k]} vs swish(0.7)`);
        assert.ok(Math.abs(after.phase[k] - swish(-0.4)) < 1e-6, `phase ${after.phase[k]} vs swish(−0.4)`);
      }
    }
  });

  for (const gridsize of [1, 2]) {
    it(`gridsize ${gridsize}: gradients of the border parameters match finite differences of the loss`, async () => {
      const s = spec(gridsize, 2);
      const values = initialParameters(s.arch, 5, s.intensityScale);
      const rnd = seeded(17);
      for (const p of s.arch.params) if (p.name.startsWith('border') && p.init === 'zeros') values.set(p.name, randomArray(values.get(p.name)!.length, rnd, -0.3, 0.3) as Float32Array);
      const base = feeds(s, values, 23 + gridsize);
      const gradSess = await session(buildGradientGraph(s).model);
      const grads = await run(gradSess, base);
      await gradSess.release();
      const evalSess = await session(buildEvalGraph(s).model, 'disabled');
      const loss = async (v: Map<string, Float32Array>): Promise<number> => {
        const f = { ...base };
        for (const [k, d] of v) f[k] = { data: d, shape: s.arch.params.find((p) => p.name === k)!.shape };
        const out = await run(evalSess, f);
        return (out[IO.sampleLoss][0] + out[IO.sampleLoss][1]) / 2;
      };
      let checked = 0;
      for (const name of ['border_head_amp.weight', 'border_head_phase.bias', 'border_amp.conv1.weight', 'border_phase.conv0.weight']) {
        const g = grads[`grad_${name}`];
        let at = 0;
        for (let k = 1; k < g.length; k++) if (Math.abs(g[k]) > Math.abs(g[at])) at = k;
        assert.ok(Math.abs(g[at]) > 1e-6, `${name}: the border parameter gets a gradient`);
        const h = 1e-2;
        const p = Float32Array.from(values.get(name)!);
        const keep = p[at];
        p[at] = keep + h;
        const up = await loss(new Map([[name, p]]));
        p[at] = keep - h;
        const down = await loss(new Map([[name, Float32Array.from(p)]]));
        const fd = (up - down) / (2 * h);
        assert.ok(Math.abs(fd - g[at]) < 0.05 * Math.abs(g[at]), `${name}[${at}]: graph ${g[at]} vs finite differences ${fd}`);
        checked++;
      }
      await evalSess.release();
      assert.equal(checked, 4);
    });
  }

  it('merges full patches without blowing up the border: centres decide, borders fill where no centre reaches', async () => {
    const n = 16;
    const g = new Graph('merge_full');
    const re = g.input('re', [1, 2, n, n]);
    const im = g.input('im', [1, 2, n, n]);
    const offsets = g.input('offsets', [1, 2, 2]);
    const p = canvasSize(n, 4, true);
    const merged = mergePatches(re, im, offsets, p, 'border');
    g.output(merged.canvasRe);
    g.output(merged.re);
    const sess = await session(g.toModel());
    // Patch 0 is 1 on its centre and 3 on its border; patch 1 is 2 everywhere; offsets ±4 px in x (integers).
    const a = new Float32Array(2 * n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const centre = i >= n / 4 && i < (3 * n) / 4 && j >= n / 4 && j < (3 * n) / 4;
      a[i * n + j] = centre ? 1 : 3;
      a[n * n + i * n + j] = 2;
    }
    const out = await run(sess, {
      re: { data: a, shape: [1, 2, n, n] }, im: { data: new Float32Array(2 * n * n), shape: [1, 2, n, n] },
      offsets: { data: Float32Array.of(-4, 0, 4, 0), shape: [1, 2, 2] },
    });
    await sess.release();
    const canvas = Object.values(out)[0];
    let max = 0;
    for (const v of canvas) max = Math.max(max, Math.abs(v));
    assert.ok(max <= 3 + 1e-5, `no canvas value exceeds the largest input (max ${max})`);
    const c = (p - n) / 2;
    const at = (y: number, x: number): number => canvas[y * p + x];
    // Patch pixel j lands on canvas x = j + c + dx. Row through the centres; x = c + 5: patch 0's centre (j = 9)
    // over patch 1's border (j = 1): the centre decides.
    const y = c + n / 2;
    assert.ok(Math.abs(at(y, c + 5) - (1 + BORDER_MERGE_WEIGHT * 2) / (1 + BORDER_MERGE_WEIGHT)) < 1e-4, `centre of patch 0: ${at(y, c + 5)}`);
    // Column c − 4 + 1: patch 0's border only (patch 1 starts at c + 4): its own value.
    assert.ok(Math.abs(at(y, c - 4 + 1) - 3) < 1e-4, `border-only pixel: ${at(y, c - 4 + 1)}`);
    // Where both borders overlap and no centre reaches, their average.
    assert.ok(Math.abs(at(c + 1, c + 6) - 2.5) < 1e-4, `two borders: ${at(c + 1, c + 6)}`);
  });
});
