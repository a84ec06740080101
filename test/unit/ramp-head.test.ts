// The ramp head (training.rampHead, README "Reconstruction quality" item 15): the phase it adds is exactly
// RAMP_GAIN·(gx·u + gy·v) on the central N/2 (all of N with probe.big; u, v = 2π·pixel/N), its slopes follow the pattern's intensity
// centroid through the centroid columns of its kernel, the rest of the network is untouched, and the gradients
// of its parameters match finite differences of the model's own loss (gridsize 1 and 2).
import { strict as assert } from 'node:assert';
import {
  buildArchitecture, buildInferenceGraph, canvasSize, initialParameters, normalizeProbe,
  parameterCount, IO, RAMP_GAIN, type ModelGraphSpec,
} from '../../src/core/model';
import { syntheticProbe } from '../../src/core/simulate';
import { checkGradients, inferModel as infer, modelFeeds } from './helpers/gradcheck';
import { randomArray, run, seeded, session } from './helpers/ort';

const N = 32;
const FILTERS = { encoder: [4, 8], decoder: [8] };

function spec(gridsize: number, batch: number, rampHead: boolean, probeBig = false): ModelGraphSpec {
  const arch = buildArchitecture({ n: N, gridsize, filterScale: 1, filters: FILTERS, rampHead, probeBig });
  const probe = normalizeProbe(syntheticProbe(N).data, N);
  return { arch, batch, canvas: canvasSize(N, 3, false), intensityScale: 1.7, probe, trainLogScale: true };
}

const feeds = modelFeeds;

const inCentre = (i: number, j: number): boolean => i >= N / 4 && i < (3 * N) / 4 && j >= N / 4 && j < (3 * N) / 4;

describe('ramp head: a learnt linear phase per pattern', () => {
  it('adds 2C·(F + 2C) + 2C parameters, starts at zero (the untrained model is PtychoPINN\'s), and is off in the reference counts', () => {
    for (const gridsize of [1, 2]) {
      const c = gridsize * gridsize;
      const without = buildArchitecture({ n: 64, gridsize, filterScale: 2 });
      const withRamp = buildArchitecture({ n: 64, gridsize, filterScale: 2, rampHead: true });
      const f = 256; // the N = 64 bottleneck: 128·n_filters_scale channels
      assert.equal(parameterCount(withRamp) - parameterCount(without), 2 * c * (f + 2 * c) + 2 * c);
      const init = initialParameters(withRamp, 1, 2);
      assert.ok(init.get('ramp.weight')!.every((v) => v === 0) && init.get('ramp.bias')!.every((v) => v === 0));
    }
  });

  for (const probeBig of [false, true]) it(`the phase gains exactly RAMP_GAIN·(gx·u + gy·v) ${probeBig ? 'on all of N with probe.big (no step at the border branch)' : 'on the central N/2'}, from the bias and from the intensity centroid`, async () => {
    const batch = 2;
    const plain = spec(1, batch, false, probeBig);
    const ramp = spec(1, batch, true, probeBig);
    const values = initialParameters(ramp.arch, 3, ramp.intensityScale);
    const plainValues = new Map([...values].filter(([k]) => !k.startsWith('ramp.')));
    // Pattern 0: one bright pixel at (row N/2 − 2, column N/2 + 3) on a dim uniform floor, so its intensity
    // centroid is known exactly; pattern 1: random.
    const x = new Float32Array(batch * N * N);
    const floor = 1e-3;
    x.fill(floor, 0, N * N);
    x[(N / 2 - 2) * N + N / 2 + 3] = 2;
    x.set(randomArray(N * N, seeded(9), 0, 1.5) as Float32Array, N * N);
    const centroid = (p: number): [number, number] => {
      let t = 0, cx = 0, cy = 0;
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
        const v = x[p * N * N + i * N + j] ** 2;
        t += v; cx += v * (j - N / 2); cy += v * (i - N / 2);
      }
      return [cx / t, cy / t];
    };
    const c0 = centroid(0);
    assert.ok(Math.abs(c0[0] - 3) < 0.01 && Math.abs(c0[1] + 2) < 0.01, `centroid of pattern 0 ${c0}`);
    const base = await infer(plain, plainValues, x);
    // Kernel: slope x = centroid x / RAMP_GAIN, slope y = centroid y / RAMP_GAIN; bias adds (0.05, −0.02) / RAMP_GAIN.
    const weight = new Float32Array(values.get('ramp.weight')!.length);
    const cols = weight.length / 2;
    weight[0 * cols + cols - 2] = 1 / RAMP_GAIN;
    weight[1 * cols + cols - 1] = 1 / RAMP_GAIN;
    const set = new Map(values);
    set.set('ramp.weight', weight);
    set.set('ramp.bias', Float32Array.of(0.05 / RAMP_GAIN, -0.02 / RAMP_GAIN));
    const out = await infer(ramp, set, x);
    for (let p = 0; p < batch; p++) {
      const [cx, cy] = centroid(p);
      const gx = cx + 0.05, gy = cy - 0.02;
      let worst = 0;
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
        const k = p * N * N + i * N + j;
        assert.equal(out.amplitude[k], base.amplitude[k], 'the amplitude is untouched');
        const expected = probeBig || inCentre(i, j) ? (2 * Math.PI * (gx * (j - N / 2) + gy * (i - N / 2))) / N : 0;
        worst = Math.max(worst, Math.abs(out.phase[k] - base.phase[k] - expected));
      }
      assert.ok(worst < 2e-5, `pattern ${p}: phase − ramp differs from the plain network's by ${worst}`);
    }
  });

  it('gridsize 2: a group\'s planes share the group\'s origin, so equal slopes agree where the patterns overlap', async () => {
    // Decoders silenced (phase head 0 → phase 0; amplitude head → the constant σ(0.4)), equal slopes for all four
    // patterns: the merged canvas must be that amplitude times e^{i·2π(gx·X + gy·Y)/N} in the group's coordinates
    // wherever a support reaches. Planes about each pattern's own centre would disagree by g·(d_j − d_k) in the
    // overlaps, and the merge's average would lose amplitude there.
    const s = spec(2, 1, true);
    s.canvas = canvasSize(N, 6, false);
    const values = initialParameters(s.arch, 3, s.intensityScale);
    for (const name of ['head_amp.weight', 'head_phase.weight', 'head_phase.bias', 'ramp.weight']) values.set(name, new Float32Array(values.get(name)!.length));
    values.set('head_amp.bias', new Float32Array(values.get('head_amp.bias')!.length).fill(0.4));
    const gx = 0.3, gy = -0.2;
    values.set('ramp.bias', Float32Array.from({ length: 8 }, (_, k) => (k < 4 ? gx : gy) / RAMP_GAIN));
    const offsets = Float32Array.of(-3, 2, 4, 1, 1, -3, -2, -1); // integer: the translation is exact
    const x = randomArray(4 * N * N, seeded(31), 0, 1.5) as Float32Array;
    const sess = await session(buildInferenceGraph(s, 'inputs').model);
    const f = feeds(s, values, x);
    f[IO.offsets] = { data: offsets, shape: [1, 4, 2] };
    const out = await run(sess, f);
    await sess.release();
    const amplitude = out[IO.amplitude] as Float32Array, phase = out[IO.phase] as Float32Array;
    const a = 1 / (1 + Math.exp(-0.4));
    let covered = 0, worstAmplitude = 0, worstPhase = 0;
    for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
      const under = [0, 1, 2, 3].some((k) => inCentre(i - offsets[2 * k + 1], j - offsets[2 * k]));
      if (!under) continue;
      covered++;
      const expected = (2 * Math.PI * (gx * (j - N / 2) + gy * (i - N / 2))) / N;
      const k = i * N + j;
      worstAmplitude = Math.max(worstAmplitude, Math.abs(amplitude[k] - a));
      worstPhase = Math.max(worstPhase, Math.abs(Math.atan2(Math.sin(phase[k] - expected), Math.cos(phase[k] - expected))));
    }
    assert.ok(covered > (N * N) / 3, `${covered} pixels covered`);
    // 1e-3: the merge divides by the coverage + 1e-3.
    assert.ok(worstAmplitude < 1e-3, `the overlaps lose amplitude: worst |A − a| = ${worstAmplitude}`);
    assert.ok(worstPhase < 1e-4, `the merged phase is not the group's plane: worst error ${worstPhase} rad`);
  });

  for (const gridsize of [1, 2]) {
    it(`gridsize ${gridsize}: gradients of the ramp parameters match finite differences of the loss`, async () => {
      const s = spec(gridsize, 2, true);
      const values = initialParameters(s.arch, 5, s.intensityScale);
      const rnd = seeded(17);
      values.set('ramp.weight', randomArray(values.get('ramp.weight')!.length, rnd, -0.01, 0.01) as Float32Array);
      values.set('ramp.bias', randomArray(values.get('ramp.bias')!.length, rnd, -0.01, 0.01) as Float32Array);
      const x = randomArray(2 * s.arch.channels * N * N, seeded(23 + gridsize), 0, 1.5) as Float32Array;
      // The slopes are RAMP_GAIN × (kernel · features): the loss curves fast in these parameters, so a small step.
      await checkGradients(s, values, feeds(s, values, x), ['ramp.weight', 'ramp.bias'], { step: 2e-4, rel: 0.05 });
    });
  }
});
