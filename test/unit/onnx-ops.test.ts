// Every backward rule of the op library, checked in the real onnxruntime: ops with float64 kernels by central
// finite differences of the same ORT graph in float64; Conv, MaxPool, Resize and Atan (float32-only kernels on
// the CPU EP) against finite differences of an independent float64 JS implementation.
import { strict as assert } from 'node:assert';
import { Graph, gradients, op, type Value } from '../../src/core/onnx';
import { randomArray, relError, run, seeded, session } from './helpers/ort';
import { conv3x3, maxPool2, t4, upsample2 } from './helpers/reference';

function named(g: Graph, v: Value, name: string): void {
  g.output(g.untaped(() => g.node('Identity', [v], [{ shape: v.shape, dtype: v.dtype }], { outputNames: [name] })[0]));
}

interface Case {
  name: string;
  shapes: number[][];
  build: (xs: Value[]) => Value;
  /** Inputs drawn from (0.5, 2) instead of (−1, 1) (log, sqrt, div denominators). */
  positive?: boolean[];
}

const cases: Case[] = [
  { name: 'Add with broadcasting', shapes: [[2, 3, 4], [3, 1]], build: ([a, b]) => op.add(a, b) },
  { name: 'Sub with broadcasting', shapes: [[3, 1], [2, 3, 4]], build: ([a, b]) => op.sub(a, b) },
  { name: 'Mul with broadcasting', shapes: [[2, 1, 4], [3, 1]], build: ([a, b]) => op.mul(a, b) },
  { name: 'Div with broadcasting', shapes: [[2, 3], [3]], build: ([a, b]) => op.div(a, b), positive: [false, true] },
  { name: 'Neg', shapes: [[5]], build: ([a]) => op.neg(a) },
  { name: 'Exp', shapes: [[2, 3]], build: ([a]) => op.exp(a) },
  { name: 'Log', shapes: [[2, 3]], build: ([a]) => op.log(a), positive: [true] },
  { name: 'Sqrt', shapes: [[2, 3]], build: ([a]) => op.sqrt(a), positive: [true] },
  { name: 'Sigmoid', shapes: [[2, 3]], build: ([a]) => op.sigmoid(a) },
  { name: 'Tanh', shapes: [[2, 3]], build: ([a]) => op.tanh(a) },
  { name: 'Sin', shapes: [[2, 3]], build: ([a]) => op.sin(a) },
  { name: 'Cos', shapes: [[2, 3]], build: ([a]) => op.cos(a) },
  { name: 'Relu', shapes: [[3, 4]], build: ([a]) => op.relu(a) },
  { name: 'Square', shapes: [[3, 4]], build: ([a]) => op.square(a) },
  { name: 'Abs', shapes: [[3, 4]], build: ([a]) => op.abs(a) },
  { name: 'Where', shapes: [[3, 4], [4], [3, 4]], build: ([c, a, b]) => op.where(op.greater(c, c.graph.constant(0)), a, b) },
  { name: 'Reshape', shapes: [[2, 6]], build: ([a]) => op.reshape(a, [3, 4]) },
  { name: 'Transpose', shapes: [[2, 3, 4]], build: ([a]) => op.transpose(a, [2, 0, 1]) },
  { name: 'Slice', shapes: [[4, 5]], build: ([a]) => op.slice(a, [1, 2], [3, 5], [0, 1]) },
  { name: 'Flip (Slice with step −1)', shapes: [[2, 3, 4]], build: ([a]) => op.flip(a, [1, 2]) },
  { name: 'Pad', shapes: [[2, 3]], build: ([a]) => op.pad(a, [1, 0], [2, 3]) },
  { name: 'Concat', shapes: [[2, 3], [2, 2]], build: ([a, b]) => op.concat([a, b], 1) },
  { name: 'Expand', shapes: [[3, 1]], build: ([a]) => op.expand(a, [2, 3, 4]) },
  { name: 'ReduceSum keepdims', shapes: [[2, 3, 4]], build: ([a]) => op.reduceSum(a, [0, 2], true) },
  { name: 'ReduceSum', shapes: [[2, 3, 4]], build: ([a]) => op.reduceSum(a, [1]) },
  { name: 'ReduceMean', shapes: [[2, 3, 4]], build: ([a]) => op.reduceMean(a, [0, 2]) },
  { name: 'Sum', shapes: [[2, 3], [2, 3], [2, 3]], build: (xs) => op.sumAll(xs) },
  { name: 'MatMul with batch broadcasting', shapes: [[2, 1, 3, 4], [3, 4, 2]], build: ([a, b]) => op.matmul(a, b) },
  { name: 'MatMul of a constant-shaped left operand', shapes: [[3, 3], [2, 2, 3, 2]], build: ([a, b]) => op.matmul(a, b) },
  {
    name: 'Gather from 1-D data with repeated indices (backward: ScatterND add)', shapes: [[7]],
    build: ([a]) => op.gather(a, a.graph.initializer('idx', BigInt64Array.from([0n, 3n, 3n, 6n, 1n, 3n, 0n, 5n]), [2, 2, 2])),
  },
  { name: 'a chain reusing a value (gradient accumulation)', shapes: [[2, 3]], build: ([a]) => op.mul(op.sin(a), op.add(a, op.square(a))) },
];

/**
 * Central differences (h = 1e-6) of `loss` with respect to every element of `values` (perturbed in place),
 * against the analytic gradients `out.g<i>`: the worst relative error.
 */
async function worstGradientError(values: Float64Array[], out: Record<string, ArrayLike<number>>, loss: () => Promise<number>): Promise<number> {
  let worst = 0;
  const h = 1e-6;
  for (let i = 0; i < values.length; i++) {
    const numeric = new Float64Array(values[i].length);
    for (let k = 0; k < values[i].length; k++) {
      const keep = values[i][k];
      values[i][k] = keep + h;
      const up = await loss();
      values[i][k] = keep - h;
      const down = await loss();
      values[i][k] = keep;
      numeric[k] = (up - down) / (2 * h);
    }
    worst = Math.max(worst, relError(out[`g${i}`], numeric, 1e-9));
  }
  return worst;
}

/** Builds loss = Σ op(xs) ⊙ r, its gradients, and compares them with central differences of the loss. */
async function checkFloat64(c: Case, seed: number): Promise<number> {
  const rnd = seeded(seed);
  const g = new Graph(c.name, 'float64');
  const xs = c.shapes.map((s, i) => g.input(`x${i}`, s, { requiresGrad: true }));
  const y = c.build(xs);
  const r = g.constant(Array.from(randomArray(y.size, rnd, -1, 1, true)), y.shape, 'weights');
  const loss = op.reduceSum(op.mul(y, r));
  const grads = gradients(loss, xs);
  named(g, loss, 'loss');
  grads.forEach((gr, i) => named(g, gr, `g${i}`));
  const sess = await session(g.toModel(), 'disabled');
  const values = c.shapes.map((s, i) => randomArray(s.reduce((a, b) => a * b, 1), rnd, c.positive?.[i] ? 0.5 : -1, c.positive?.[i] ? 2 : 1, true) as Float64Array);
  const feeds = (): Record<string, { data: Float64Array; shape: number[] }> => Object.fromEntries(values.map((v, i) => [`x${i}`, { data: v, shape: c.shapes[i] }]));
  const out = await run(sess, feeds());
  const worst = await worstGradientError(values, out, async () => (await run(sess, feeds())).loss[0]);
  await sess.release();
  return worst;
}

describe('ONNX op library: backward rules', () => {
  for (const c of cases) {
    it(`${c.name}: gradient equals float64 finite differences`, async () => {
      const worst = await checkFloat64(c, c.name.length * 7919);
      assert.ok(worst < 1e-6, `worst relative error ${worst.toExponential(2)}`);
    });
  }

  // Float32-only kernels: the ORT float32 gradient against central differences of a float64 JS implementation.
  async function checkAgainstReference(
    shapes: number[][],
    build: (xs: Value[]) => Value,
    reference: (xs: Float64Array[]) => Float64Array,
    seed: number,
  ): Promise<number> {
    const rnd = seeded(seed);
    const g = new Graph('f32');
    const xs = shapes.map((s, i) => g.input(`x${i}`, s, { requiresGrad: true }));
    const y = build(xs);
    const weights = randomArray(y.size, rnd) as Float32Array;
    const loss = op.reduceSum(op.mul(y, g.initializer('r', weights, y.shape)));
    const grads = gradients(loss, xs);
    named(g, loss, 'loss');
    grads.forEach((gr, i) => named(g, gr, `g${i}`));
    const sess = await session(g.toModel());
    const values = shapes.map((s) => Float64Array.from(randomArray(s.reduce((a, b) => a * b, 1), rnd)));
    const out = await run(sess, Object.fromEntries(values.map((v, i) => [`x${i}`, { data: Float32Array.from(v), shape: shapes[i] }])));
    await sess.release();
    const f = (): number => {
      const yv = reference(values);
      let s = 0;
      for (let i = 0; i < yv.length; i++) s += yv[i] * weights[i];
      return s;
    };
    assert.ok(Math.abs(out.loss[0] - f()) < 1e-4 * Math.max(1, Math.abs(f())), `forward ${out.loss[0]} vs reference ${f()}`);
    return worstGradientError(values, out, async () => f());
  }

  it('Conv 3×3 with bias: dX (flipped-kernel Conv), dW (one-hot im2col + MatMul) and db', async () => {
    const worst = await checkAgainstReference(
      [[2, 3, 6, 5], [4, 3, 3, 3], [4]],
      ([x, w, b]) => op.conv2d(x, w, b),
      ([x, w, b]) => conv3x3(t4([2, 3, 6, 5], x), w, b, 4).data,
      11,
    );
    assert.ok(worst < 1e-5, `worst relative error ${worst.toExponential(2)}`);
  });

  it('MaxPool 2×2: backward through MaxUnpool with the pooling indices', async () => {
    const worst = await checkAgainstReference([[2, 3, 4, 6]], ([x]) => op.maxPool2(x), ([x]) => maxPool2(t4([2, 3, 4, 6], x)).data, 12);
    assert.ok(worst < 1e-5, `worst relative error ${worst.toExponential(2)}`);
  });

  it('nearest ×2 upsampling: backward as 4·AveragePool', async () => {
    const worst = await checkAgainstReference([[2, 2, 3, 4]], ([x]) => op.upsample2(x), ([x]) => upsample2(t4([2, 2, 3, 4], x)).data, 13);
    assert.ok(worst < 1e-5, `worst relative error ${worst.toExponential(2)}`);
  });

  it('Atan', async () => {
    const worst = await checkAgainstReference([[3, 4]], ([x]) => op.atan(x), ([x]) => x.map(Math.atan), 14);
    assert.ok(worst < 1e-5, `worst relative error ${worst.toExponential(2)}`);
  });

  it('atan2 covers all four quadrants', async () => {
    const g = new Graph('atan2');
    const y = g.input('y', [8]);
    const x = g.input('x', [8]);
    named(g, op.atan2(y, x), 'out');
    const sess = await session(g.toModel());
    const ys = Float32Array.from([1, 1, -1, -1, 0.5, -2, 0, 1]);
    const xs = Float32Array.from([1, -1, -1, 1, -3, 0.1, 1, 0]);
    const out = (await run(sess, { y: { data: ys, shape: [8] }, x: { data: xs, shape: [8] } })).out;
    for (let i = 0; i < 8; i++) assert.ok(Math.abs(out[i] - Math.atan2(ys[i], xs[i])) < 1e-5, `atan2(${ys[i]}, ${xs[i]}) = ${out[i]}`);
  });

  it('a parameter the loss does not use gets a zero gradient; shape errors are clear', () => {
    const g = new Graph('unused');
    const a = g.input('a', [2], { requiresGrad: true });
    const b = g.input('b', [3], { requiresGrad: true });
    const [ga, gb] = gradients(op.reduceSum(op.square(a)), [a, b]);
    assert.deepEqual(ga.shape, [2]);
    assert.deepEqual(gb.shape, [3]);
    assert.throws(() => op.add(a, b), /Add: shapes \[2\] and \[3\] do not broadcast/);
    assert.throws(() => op.matmul(g.input('m', [2, 3]), g.input('k', [2, 3])), /MatMul: inner dimensions differ/);
    assert.throws(() => gradients(a, [a]), /the loss must be a scalar/);
  });
});
