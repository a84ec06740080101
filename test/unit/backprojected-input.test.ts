// The back-projected input (training.backprojectedInput): each pattern's amplitude with the flat object's far-field
// phase, propagated back and divided by the probe. Checked against the physics (the flat object comes back as
// |P|²/(|P|² + ε), a weak phase object's phase appears in it), through the network's parameters
// (only the first kernel widens) and through the gradients of the first conv and of log_scale (which scales the
// back-projection as it scales the amplitude) against finite differences (gridsize 1 and 2).
import { strict as assert } from 'node:assert';
import { backprojection, BACKPROJECTION_FLOOR, farFieldIntensity, initialParameters, LOG_SCALE } from '../../src/core/model';
import { Graph, op } from '../../src/core/onnx';
import { checkGradients, inferModel, modelFeeds, smallModelSpec, SMALL_N } from './helpers/gradcheck';
import { randomArray, run, seeded, session } from './helpers/ort';
import { pearson } from '../../src/core/metrics';

const N = SMALL_N;

/** The back-projection of the noiseless amplitudes of object patches [B, 1, N, N] under the small model's probe. */
async function backprojectObject(re: Float32Array, im: Float32Array, batch: number): Promise<{ re: Float32Array; im: Float32Array; probe: { re: Float32Array; im: Float32Array } }> {
  const { probe } = smallModelSpec(1, batch);
  const g = new Graph('backprojection');
  const vr = g.input('re', [batch, 1, N, N]);
  const vi = g.input('im', [batch, 1, N, N]);
  const out = g.untaped(() => backprojection(op.sqrt(farFieldIntensity(vr, vi, probe)), probe));
  g.output(g.untaped(() => g.node('Identity', [out], [{ shape: out.shape, dtype: out.dtype }], { outputNames: ['b'] })[0]));
  const sess = await session(g.toModel());
  try {
    const b = (await run(sess, { re: { data: re, shape: [batch, 1, N, N] }, im: { data: im, shape: [batch, 1, N, N] } })).b as Float32Array;
    // [B, 2, N, N]: re planes then im planes (C = 1).
    const bre = new Float32Array(batch * N * N);
    const bim = new Float32Array(batch * N * N);
    for (let i = 0; i < batch; i++) {
      bre.set(b.subarray(2 * i * N * N, (2 * i + 1) * N * N), i * N * N);
      bim.set(b.subarray((2 * i + 1) * N * N, (2 * i + 2) * N * N), i * N * N);
    }
    return { re: bre, im: bim, probe };
  } finally {
    await sess.release();
  }
}

describe('back-projected input: the patterns propagated back to the sample, beside their amplitudes', () => {
  it('the flat object comes back as |P|²/(|P|² + ε·max|P|²), real', async () => {
    const ones = new Float32Array(N * N).fill(0.7);
    const { re, im, probe } = await backprojectObject(ones, new Float32Array(N * N), 1);
    const intensity = Float32Array.from(probe.re, (r, k) => r * r + probe.im[k] ** 2);
    const max = Math.max(...intensity);
    let worst = 0;
    for (let k = 0; k < N * N; k++) {
      const expected = (0.7 * intensity[k]) / (intensity[k] + BACKPROJECTION_FLOOR * max);
      worst = Math.max(worst, Math.abs(re[k] - expected), Math.abs(im[k]));
    }
    assert.ok(worst < 1e-4, `largest deviation ${worst}`);
  });

  it('a weak phase object\'s phase shows in the back-projection under the probe (r 0.80 here: the hologram\'s twin stays)', async () => {
    const rnd = seeded(3);
    // A smooth random phase of 0.1 rad rms: sums of a few low-frequency waves.
    const phi = new Float32Array(N * N);
    for (let w = 0; w < 6; w++) {
      const kx = (rnd() - 0.5) * 0.6, ky = (rnd() - 0.5) * 0.6, p0 = rnd() * 6.28;
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) phi[i * N + j] += 0.04 * Math.cos(kx * j + ky * i + p0);
    }
    const { re, im, probe } = await backprojectObject(Float32Array.from(phi, Math.cos), Float32Array.from(phi, Math.sin), 1);
    const intensity = Float32Array.from(probe.re, (r, k) => r * r + probe.im[k] ** 2);
    const max = Math.max(...intensity);
    const under: number[] = [];
    for (let k = 0; k < N * N; k++) if (intensity[k] > 0.5 * max) under.push(k);
    const r = pearson(Float64Array.from(under, (k) => Math.atan2(im[k], re[k])), Float64Array.from(under, (k) => phi[k]));
    assert.ok(r > 0.7, `phase r ${r} over ${under.length} px`);
  });

  it('widens only the first kernel: 3C input channels, every other parameter as the plain network\'s', () => {
    for (const gridsize of [1, 2]) {
      const plain = smallModelSpec(gridsize, 1);
      const wide = smallModelSpec(gridsize, 1, { backprojectedInput: true });
      const c = plain.arch.channels;
      assert.equal(wide.arch.encoder[0][0].inChannels, 3 * c);
      assert.deepEqual(wide.arch.params.map((p) => p.name), plain.arch.params.map((p) => p.name));
      for (const [k, p] of wide.arch.params.entries()) {
        const expected = p.name === wide.arch.encoder[0][0].weight ? [plain.arch.params[k].shape[0], 3 * c, 3, 3] : plain.arch.params[k].shape;
        assert.deepEqual(p.shape, expected, p.name);
      }
    }
  });

  for (const gridsize of [1, 2]) it(`gridsize ${gridsize}: the back-projection reaches the output; gradients of the first conv and log_scale match finite differences`, async () => {
    const s = smallModelSpec(gridsize, 2, { backprojectedInput: true });
    const values = initialParameters(s.arch, 5, s.intensityScale);
    const x = randomArray(2 * s.arch.channels * N * N, seeded(41 + gridsize), 0, 1.5) as Float32Array;
    const first = s.arch.encoder[0][0];
    const c = s.arch.channels;
    const heads = new Map(values);
    const rnd = seeded(13);
    for (const [name, v] of values) if (name !== LOG_SCALE) heads.set(name, randomArray(v.length, rnd, -0.3, 0.3) as Float32Array);
    // The back-projection's part of the first kernel (input channels C..3C) changes the output.
    const mutedHeads = new Map(heads);
    mutedHeads.set(first.weight, Float32Array.from(heads.get(first.weight)!, (v, k) => (Math.floor(k / 9) % (3 * c) >= c ? 0 : v)));
    const a = await inferModel(s, heads, x);
    const b = await inferModel(s, mutedHeads, x);
    let diff = 0;
    for (let k = 0; k < a.phase.length; k++) diff = Math.max(diff, Math.abs(a.phase[k] - b.phase[k]));
    assert.ok(diff > 1e-3, `the back-projection does not reach the phase (${diff})`);
    await checkGradients(s, values, modelFeeds(s, values, x), [first.weight, LOG_SCALE], { step: 1e-3, rel: 0.05, abs: 1e-5 });
  });
});
