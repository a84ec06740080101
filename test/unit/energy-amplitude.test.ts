// The energy-scaled amplitude (training.energyAmplitude, README "Reconstruction quality" item 18): the amplitude
// the network outputs is 2·σ(z)·a₀ with a₀ = sqrt(Σ y² / Σ |P|²) per pattern (y the network's scaled input), so the
// untrained model reproduces every pattern's total counts exactly whatever its dose and object (Parseval), the phase
// is untouched, and the gradients through a₀ (it depends on the input scale exp(−log_scale)) match finite
// differences of the model's own loss, gridsize 1 and 2.
import { strict as assert } from 'node:assert';
import { buildInferenceGraph, initialParameters, IO, LOG_SCALE, type ModelGraphSpec } from '../../src/core/model';
import { checkGradients, modelFeeds, smallModelSpec, SMALL_N } from './helpers/gradcheck';
import { randomArray, run, seeded, session } from './helpers/ort';

const N = SMALL_N;

function spec(gridsize: number, batch: number, energyAmplitude: boolean): ModelGraphSpec {
  return smallModelSpec(gridsize, batch, { energyAmplitude });
}

const feeds = modelFeeds;

describe('energy-scaled amplitude: each pattern\'s total sets its amplitude scale', () => {
  it('untrained, the amplitude is the plain network\'s times 2a₀, a₀ = sqrt(Σ y² / Σ|P|²) of each pattern; the phase is the plain network\'s', async () => {
    const batch = 3;
    const s = spec(1, batch, true);
    const plain = spec(1, batch, false);
    const values = initialParameters(s.arch, 3, s.intensityScale);
    values.set(LOG_SCALE, Float32Array.of(0.3));
    // Three patterns of very different totals.
    const x = new Float32Array(batch * N * N);
    for (let p = 0; p < batch; p++) x.set((randomArray(N * N, seeded(40 + p), 0, 1) as Float32Array).map((v) => v * (p + 1) ** 2), p * N * N);
    const infer = async (sp: ModelGraphSpec): Promise<{ amplitude: Float32Array; phase: Float32Array }> => {
      const sess = await session(buildInferenceGraph(sp, 'inputs').model);
      const out = await run(sess, feeds(sp, values, x));
      await sess.release();
      return { amplitude: out[IO.amplitude] as Float32Array, phase: out[IO.phase] as Float32Array };
    };
    const scaled = await infer(s);
    const base = await infer(plain);
    let probeEnergy = 0;
    for (let k = 0; k < N * N; k++) probeEnergy += s.probe.re[k] ** 2 + s.probe.im[k] ** 2;
    const inputScale = s.intensityScale * Math.exp(-0.3);
    for (let p = 0; p < batch; p++) {
      let e = 0;
      for (let k = 0; k < N * N; k++) e += (x[p * N * N + k] * inputScale) ** 2;
      const a0 = Math.sqrt(e / probeEnergy);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) {
        const k = p * N * N + i * N + j;
        const inside = i >= N / 4 && i < (3 * N) / 4 && j >= N / 4 && j < (3 * N) / 4;
        // 2·σ(z)·a₀: the plain network's σ(z) (≈ 0.5 untrained) times 2a₀.
        assert.ok(Math.abs(scaled.amplitude[k] - 2 * base.amplitude[k] * a0) < 1e-4 * a0, `pattern ${p} (${i}, ${j}): ${scaled.amplitude[k]} vs 2·${base.amplitude[k]}·a₀ (a₀ ${a0})`);
        if (!inside) assert.equal(scaled.amplitude[k], 0);
        assert.ok(Math.abs(scaled.phase[k] - base.phase[k]) < 1e-6, 'the phase is untouched');
      }
    }
  });

  for (const gridsize of [1, 2]) {
    it(`gridsize ${gridsize}: gradients of the log scale and an amplitude-head weight match finite differences of the loss`, async () => {
      const s = spec(gridsize, 2, true);
      const values = initialParameters(s.arch, 5, s.intensityScale);
      const rnd = seeded(17);
      const head = s.arch.heads.amplitude.weight;
      values.set(head, randomArray(values.get(head)!.length, rnd, -0.05, 0.05) as Float32Array);
      const x = randomArray(2 * s.arch.channels * N * N, seeded(23 + gridsize), 0, 1.5) as Float32Array;
      await checkGradients(s, values, feeds(s, values, x), [LOG_SCALE, head], { step: 1e-3, rel: 0.05, abs: 1e-4 });
    });
  }
});
