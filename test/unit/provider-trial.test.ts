// Execution-provider fallback when a provider starts but cannot run the graph (train/runtime.ts createSession):
// measured on an H200, onnxruntime 1.30's WebGPU provider creates the training session and fails at its first step
// (MaxPool's Indices output unsupported), which used to fail the run. A GPU provider is the one boundary faked here:
// the 'webgpu' session is a real CPU session of the real training graph whose run throws as WebGPU's did (or works).
import { strict as assert } from 'node:assert';
import * as ort from 'onnxruntime-node';
import { buildArchitecture, buildTrainStepGraph, canvasSize, normalizeProbeEnergy, type ModelGraphSpec } from '../../src/core/model';
import { syntheticProbe } from '../../src/core/simulate';
import { createSession, type OrtModule } from '../../src/core/train/runtime';

const N = 32;

function stepModel(gridsize: number): Uint8Array {
  const arch = buildArchitecture({ n: N, gridsize, filterScale: 1, filters: { encoder: [4, 8], decoder: [8] }, rampHead: true });
  const spec: ModelGraphSpec = { arch, batch: 2, canvas: canvasSize(N, 3, false), intensityScale: 1.7, probe: normalizeProbeEnergy(syntheticProbe(N).data, N), trainLogScale: true };
  return buildTrainStepGraph(spec).model;
}

/** onnxruntime with a fake 'webgpu' provider (and, with `all`, every provider): a real CPU session whose run calls `run` first. */
function withFakeGpu(run: (feeds: Record<string, ort.Tensor>) => Promise<unknown>, all = false): { module: OrtModule; created: string[]; released: number } {
  const state = { created: [] as string[], released: 0 };
  const InferenceSession = {
    create: async (model: Uint8Array, options: ort.InferenceSession.SessionOptions) => {
      const provider = String(options.executionProviders?.[0]);
      state.created.push(provider);
      const real = await ort.InferenceSession.create(model, { ...options, executionProviders: ['cpu'] });
      if (provider !== 'webgpu' && !all) return real;
      return {
        inputMetadata: real.inputMetadata, inputNames: real.inputNames, outputNames: real.outputNames,
        run: async (feeds: Record<string, ort.Tensor>) => { await run(feeds); return real.run(feeds); },
        release: async () => { state.released++; await real.release(); },
      };
    },
  };
  return { module: { ...ort, InferenceSession } as unknown as OrtModule, get created() { return state.created; }, get released() { return state.released; } };
}

describe('execution providers: a provider that starts but cannot run the graph falls back', function () {
  this.timeout(60_000);

  for (const gridsize of [1, 2]) {
    it(`gridsize ${gridsize}: the training step fails on the provider at its trial run → CPU, with the reason; nothing leaks`, async () => {
      const fake = withFakeGpu(async () => { throw new Error("Non-zero status code returned while running MaxPool node. Status Message: pool.cc:276 ComputeInternal The Indices output is not supported yet."); });
      const choice = await createSession(fake.module, stepModel(gridsize), { providers: ['webgpu', 'cpu'], optimization: 'extended', intraOpThreads: 1 });
      try {
        assert.equal(choice.provider, 'cpu');
        assert.deepEqual(fake.created, ['webgpu', 'cpu']);
        assert.equal(fake.released, 1, 'the failed session is released');
        assert.equal(choice.fallbacks.length, 1);
        assert.match(choice.fallbacks[0].reason, /webgpu execution provider started but cannot run this model \(.*Indices output is not supported yet\.\); fell back/);
      } finally {
        await choice.session.release();
      }
    });
  }

  it('a provider that runs the graph is kept: the trial fed every input at its declared shape (symbolic dims 1), zeros', async () => {
    const seen: Record<string, ort.Tensor>[] = [];
    const fake = withFakeGpu(async (feeds) => { seen.push(feeds); });
    const choice = await createSession(fake.module, stepModel(2), { providers: ['webgpu', 'cpu'], optimization: 'extended', intraOpThreads: 1 });
    try {
      assert.equal(choice.provider, 'webgpu');
      assert.deepEqual(choice.fallbacks, []);
      assert.equal(seen.length, 1, 'one trial run');
      const meta = choice.session.inputMetadata;
      assert.deepEqual(Object.keys(seen[0]).sort(), meta.map((m) => m.name).sort());
      for (const m of meta) {
        if (!m.isTensor) continue;
        assert.deepEqual(seen[0][m.name].dims, m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1)), m.name);
        assert.ok((seen[0][m.name].data as Float32Array).every((v) => Number(v) === 0), `${m.name} is zeros`);
      }
    } finally {
      await choice.session.release();
    }
  });

  it('the CPU provider gets no trial run (it runs every operator the graphs use)', async () => {
    let runs = 0;
    const fake = withFakeGpu(async () => { runs++; }, true);
    const choice = await createSession(fake.module, stepModel(1), { providers: ['cpu'], optimization: 'extended', intraOpThreads: 1 });
    await choice.session.release();
    assert.equal(runs, 0);
    assert.equal(choice.provider, 'cpu');
  });
});
