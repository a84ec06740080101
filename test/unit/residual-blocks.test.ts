// Residual blocks (training.residualBlocks, README "Reconstruction quality" item 27): each level's second Conv+ReLU
// adds to its input. Checked exactly against the plain network (a residual branch that outputs zero is the plain
// network with an identity second conv, since the first conv's output is already a ReLU's, ≥ 0), and through the
// gradients of both convs of a level against finite differences of the model's own loss (gridsize 1 and 2).
import { strict as assert } from 'node:assert';
import { initialParameters, parameterCount, type ModelGraphSpec } from '../../src/core/model';
import { checkGradients, inferModel as infer, modelFeeds, smallModelSpec, SMALL_N } from './helpers/gradcheck';
import { randomArray, seeded } from './helpers/ort';

const N = SMALL_N;

/** Every level's two convs (encoder and both decoders); the second is the residual branch. */
function levels(s: ModelGraphSpec): ModelGraphSpec['arch']['encoder'] {
  return [...s.arch.encoder, ...s.arch.decoders.amplitude, ...s.arch.decoders.phase];
}

function worstDifference(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - b[k]));
  return worst;
}

describe('residual blocks: each level\'s second conv adds to its input', () => {
  it('add no parameters: the same list, shapes and initial values as the plain network', () => {
    for (const gridsize of [1, 2]) {
      const plain = smallModelSpec(gridsize, 1, { residualBlocks: false });
      const residual = smallModelSpec(gridsize, 1, { residualBlocks: true });
      assert.deepEqual(residual.arch.params, plain.arch.params);
      assert.equal(parameterCount(residual.arch), parameterCount(plain.arch));
      assert.deepEqual(initialParameters(residual.arch, 4, 1.7), initialParameters(plain.arch, 4, 1.7));
    }
  });

  for (const gridsize of [1, 2]) it(`gridsize ${gridsize}: zero residual branches give exactly the plain network with identity second convs; trained-like branches change the output`, async () => {
    const batch = 2;
    const plain = smallModelSpec(gridsize, batch, { residualBlocks: false });
    const residual = smallModelSpec(gridsize, batch, { residualBlocks: true });
    const values = initialParameters(residual.arch, 7, residual.intensityScale);
    const rnd = seeded(13);
    // Non-zero heads and biases, so every layer's output reaches the amplitude and the phase.
    for (const [name, v] of values) if (name !== 'log_scale') values.set(name, randomArray(v.length, rnd, -0.3, 0.3) as Float32Array);
    const zeroBranches = new Map(values);
    const identity = new Map(values);
    for (const [k, [, b]] of levels(residual).entries()) {
      zeroBranches.set(b.weight, new Float32Array(values.get(b.weight)!.length));
      zeroBranches.set(b.bias, new Float32Array(values.get(b.bias)!.length));
      const kernel = new Float32Array(b.outChannels * b.inChannels * 9);
      for (let c = 0; c < b.outChannels; c++) kernel[(c * b.inChannels + c) * 9 + 4] = 1;
      identity.set(b.weight, kernel);
      identity.set(b.bias, new Float32Array(b.outChannels));
      assert.equal(b.inChannels, b.outChannels, `level ${k}: a residual branch keeps the width`);
    }
    const x = randomArray(batch * residual.arch.channels * N * N, seeded(29 + gridsize), 0, 1.5) as Float32Array;
    const a = await infer(residual, zeroBranches, x);
    const b = await infer(plain, identity, x);
    assert.ok(worstDifference(a.amplitude, b.amplitude) < 1e-6 && worstDifference(a.phase, b.phase) < 1e-5, 'zero branches ≠ identity second convs');
    // With the branches live the two networks differ: the flag reaches the graph.
    const live = await infer(residual, values, x);
    const flat = await infer(plain, values, x);
    assert.ok(worstDifference(live.phase, flat.phase) > 1e-3 && worstDifference(live.amplitude, flat.amplitude) > 1e-4, 'residual and plain networks agree with live branches');
  });

  for (const gridsize of [1, 2]) it(`gridsize ${gridsize}: gradients of both convs of a level match finite differences of the loss`, async () => {
    const s = smallModelSpec(gridsize, 2, { residualBlocks: true });
    const values = initialParameters(s.arch, 5, s.intensityScale);
    const x = randomArray(2 * s.arch.channels * N * N, seeded(41 + gridsize), 0, 1.5) as Float32Array;
    const [first, second] = s.arch.encoder[0];
    const [, decoderSecond] = s.arch.decoders.phase[0];
    await checkGradients(s, values, modelFeeds(s, values, x), [first.weight, second.weight, second.bias, decoderSecond.weight], { step: 1e-3, rel: 0.05, abs: 1e-5 });
  });
});
