// Finite-difference check of the model's gradient graph: for each named parameter, its largest gradient entry
// against the central difference of the eval graph's mean per-group loss (the model's own loss).
import { strict as assert } from 'node:assert';
import {
  buildArchitecture, buildEvalGraph, buildGradientGraph, buildInferenceGraph, canvasSize, normalizeProbeEnergy, predictsFullPatch, IO, type ArchitectureSpec, type ModelGraphSpec,
} from '../../../src/core/model';
import { syntheticProbe } from '../../../src/core/simulate';
import { randomArray, run, seeded, session, type Feed } from './ort';

export async function checkGradients(
  s: ModelGraphSpec, values: Map<string, Float32Array>, feeds: Record<string, Feed>, names: string[], o: { step: number; rel: number; abs?: number },
): Promise<void> {
  const gradSess = await session(buildGradientGraph(s).model);
  const grads = await run(gradSess, feeds);
  await gradSess.release();
  const evalSess = await session(buildEvalGraph(s).model, 'disabled');
  try {
    const loss = async (name: string, v: Float32Array): Promise<number> => {
      const out = await run(evalSess, { ...feeds, [name]: { data: v, shape: s.arch.params.find((p) => p.name === name)!.shape } });
      const l = out[IO.sampleLoss];
      let sum = 0;
      for (let k = 0; k < l.length; k++) sum += l[k];
      return sum / l.length;
    };
    for (const name of names) {
      const g = grads[`grad_${name}`];
      let at = 0;
      for (let k = 1; k < g.length; k++) if (Math.abs(g[k]) > Math.abs(g[at])) at = k;
      assert.ok(Math.abs(g[at]) > 1e-6, `${name}: gets a gradient`);
      const p = Float32Array.from(values.get(name)!);
      const keep = p[at];
      p[at] = keep + o.step;
      const up = await loss(name, Float32Array.from(p));
      p[at] = keep - o.step;
      const down = await loss(name, Float32Array.from(p));
      const fd = (up - down) / (2 * o.step);
      assert.ok(Math.abs(fd - g[at]) < o.rel * Math.abs(g[at]) + (o.abs ?? 0), `${name}[${at}]: graph ${g[at]} vs finite differences ${fd}`);
    }
  } finally {
    await evalSess.release();
  }
}

/** Feeds of the model's graphs: the parameters, a batch `x` [B, C, N, N] and, for gridsize 2, seeded offsets in ±2.5 px. */
export function modelFeeds(s: ModelGraphSpec, values: Map<string, Float32Array>, x: Float32Array): Record<string, Feed> {
  const c = s.arch.channels;
  const n = s.arch.spec.n;
  const out: Record<string, Feed> = Object.fromEntries(s.arch.params.map((p) => [p.name, { data: values.get(p.name)!, shape: p.shape }]));
  out[IO.diffraction] = { data: x, shape: [s.batch, c, n, n] };
  if (c > 1) out[IO.offsets] = { data: randomArray(s.batch * c * 2, seeded(5), -2.5, 2.5) as Float32Array, shape: [s.batch, c, 2] };
  return out;
}

/** Side of the small model used by the gradient checks. */
export const SMALL_N = 32;

/** A small model (N = 32, two encoder levels, ramp head) with `options` on its architecture, for gradient checks. */
export function smallModelSpec(gridsize: number, batch: number, options: Partial<ArchitectureSpec> = {}): ModelGraphSpec {
  const arch = buildArchitecture({ n: SMALL_N, gridsize, filterScale: 1, filters: { encoder: [4, 8], decoder: [8] }, rampHead: true, ...options });
  return {
    arch, batch, canvas: canvasSize(SMALL_N, 3, predictsFullPatch(arch.spec)), intensityScale: 1.7,
    probe: normalizeProbeEnergy(syntheticProbe(SMALL_N).data, SMALL_N), trainLogScale: true,
  };
}

/** The model's amplitude and phase [B, C, N, N] for parameters `values` and a batch `x` (modelFeeds' offsets). */
export async function inferModel(s: ModelGraphSpec, values: Map<string, Float32Array>, x: Float32Array): Promise<{ amplitude: Float32Array; phase: Float32Array }> {
  const sess = await session(buildInferenceGraph(s, 'inputs').model);
  try {
    const out = await run(sess, modelFeeds(s, values, x));
    return { amplitude: out[IO.amplitude] as Float32Array, phase: out[IO.phase] as Float32Array };
  } finally {
    await sess.release();
  }
}
