// The full object support (training.objectSupport 'full', README "Reconstruction quality" item 19): each decoder
// gains a level, so the heads predict the object on all N × N; a gridsize-2 group is merged with its probes'
// intensities as weights; the gradients through the new level and the weighted merge match finite differences.
import { strict as assert } from 'node:assert';
import {
  buildArchitecture, buildInferenceGraph, canvasSize, initialParameters, mergePatches, mergeWeightingOf, IO, LOG_SCALE,
  parameterCount, PROBE_MERGE_FLOOR, type ModelGraphSpec,
} from '../../src/core/model';
import { Graph } from '../../src/core/onnx';
import { resolveObjectSupport, resolveTrainingSettings, ConfigError } from '../../src/core/study/config';
import type { RunConfig } from '../../src/core/run/plan';
import { architectureSpecOf, fingerprintDifferences, launchKeyOf } from '../../src/core/train';
import { checkGradients, modelFeeds, smallModelSpec, SMALL_N } from './helpers/gradcheck';
import { randomArray, run, seeded, session } from './helpers/ort';

const N = SMALL_N;

function spec(gridsize: number, batch: number, fullSupport: boolean): ModelGraphSpec {
  return smallModelSpec(gridsize, batch, { fullSupport });
}

describe('full object support: the network predicts all N × N', () => {
  it('adds one decoder level (half the last level\'s width) per decoder and puts the heads at N; excludes probe.big', () => {
    const centre = buildArchitecture({ n: 64, gridsize: 2, filterScale: 2 });
    const full = buildArchitecture({ n: 64, gridsize: 2, filterScale: 2, fullSupport: true });
    assert.equal(full.decoders.amplitude.length, centre.decoders.amplitude.length + 1);
    assert.deepEqual(full.decoders.phase.at(-1)!.map((l) => [l.inChannels, l.outChannels]), [[64, 32], [32, 32]]);
    assert.equal(full.heads.amplitude.inChannels, 32);
    // Two convs 64→32 and 32→32 (with biases) per decoder, the heads reading 32 channels instead of 64.
    const added = 2 * (64 * 32 * 9 + 32 + 32 * 32 * 9 + 32) - 2 * (64 - 32) * 4 * 9;
    assert.equal(parameterCount(full) - parameterCount(centre), added);
    assert.throws(() => buildArchitecture({ n: 64, gridsize: 1, filterScale: 2, fullSupport: true, probeBig: true }), /exclude each other/);
    assert.throws(() => resolveTrainingSettings({ objectSupport: 'full', probeBig: true }), ConfigError);
    assert.throws(() => resolveTrainingSettings({ objectSupport: 'disc' as never }), /objectSupport must be one of auto, centre, full/);
  });

  it('auto (the default) is the full support for gridsize 2 and the centre for gridsize 1 and beside probe.big; a checkpoint does not tell them apart', () => {
    const defaults = resolveTrainingSettings();
    assert.equal(defaults.objectSupport, 'auto');
    assert.equal(resolveObjectSupport(defaults, 2), 'full');
    assert.equal(resolveObjectSupport(defaults, 1), 'centre');
    assert.equal(resolveObjectSupport(resolveTrainingSettings({ probeBig: true }), 2), 'centre');
    assert.equal(resolveObjectSupport(resolveTrainingSettings({ objectSupport: 'centre' }), 2), 'centre');
    assert.equal(resolveObjectSupport(resolveTrainingSettings({ objectSupport: 'full' }), 1), 'full');
    // The network the trainer builds follows it.
    assert.equal(architectureSpecOf(defaults, 64, 2).fullSupport, true);
    assert.equal(architectureSpecOf(defaults, 64, 1).fullSupport, false);
    // A checkpoint is keyed on the support it was built with: 'auto' resumes the checkpoints of what it resolves to
    // (a gridsize-1 run written before 'auto' existed, with 'centre', resumes), and not those of the other.
    const config = (gridsize: number, objectSupport: 'auto' | 'centre' | 'full') => ({
      jobId: 'j', dose: 1e5, view: gridsize > 1 ? 'dense' : 'baseline', gridsize, groupSize: gridsize * gridsize, trainPath: '/s/train.npz', n: 64,
      nGroups: 100, intensityScale: 1, training: resolveTrainingSettings({ objectSupport }), artifactDir: '/s/a', diffractionKey: 'diffraction', diffractionLayout: 'nhw',
    }) as unknown as RunConfig;
    assert.equal(launchKeyOf(config(1, 'auto')), launchKeyOf(config(1, 'centre')));
    assert.equal(launchKeyOf(config(2, 'auto')), launchKeyOf(config(2, 'full')));
    assert.notEqual(launchKeyOf(config(2, 'auto')), launchKeyOf(config(2, 'centre')));
    assert.deepEqual(fingerprintDifferences(config(2, 'centre'), config(2, 'auto')), ['training.objectSupport unset → "full"']);
  });

  it('gridsize 1: the untrained network predicts every pixel of the patch (centre support: zero outside N/2)', async () => {
    const values = (s: ModelGraphSpec): Map<string, Float32Array> => {
      const v = initialParameters(s.arch, 3, s.intensityScale);
      // Non-zero heads so the outputs vary across the patch.
      for (const head of [s.arch.heads.amplitude.weight, s.arch.heads.phase.weight]) v.set(head, randomArray(v.get(head)!.length, seeded(9), -0.5, 0.5) as Float32Array);
      return v;
    };
    const x = randomArray(2 * N * N, seeded(4), 0, 1.5) as Float32Array;
    for (const full of [false, true]) {
      const s = spec(1, 2, full);
      const sess = await session(buildInferenceGraph(s, 'inputs').model);
      const out = await run(sess, modelFeeds(s, values(s), x));
      await sess.release();
      const amplitude = out[IO.amplitude] as Float32Array;
      let outsideNonZero = 0, outside = 0;
      for (let k = 0; k < amplitude.length; k++) {
        const i = Math.floor((k % (N * N)) / N), j = k % N;
        if (i >= N / 4 && i < (3 * N) / 4 && j >= N / 4 && j < (3 * N) / 4) continue;
        outside++;
        if (amplitude[k] > 0) outsideNonZero++;
        assert.ok(amplitude[k] >= 0 && amplitude[k] <= 1);
      }
      assert.equal(outsideNonZero, full ? outside : 0, `${full ? 'full' : 'centre'} support: non-zero amplitude outside the central N/2`);
    }
  });

  it('gridsize 2 merges by probe intensity: the canvas is Σ w·O / Σ w with w = max(|P|²/max|P|², floor), translated', async () => {
    const s = spec(2, 1, true);
    const weighting = mergeWeightingOf(s);
    assert.ok(typeof weighting === 'object');
    const intensity = weighting.probeIntensity;
    let max = 0;
    for (const v of intensity) max = Math.max(max, v);
    const w = Array.from(intensity, (v) => Math.max(v / max, PROBE_MERGE_FLOOR));
    // Two patches of constant (different) values at integer offsets: the canvas pixel is their weighted mean.
    const g = new Graph('merge');
    const re = g.input('re', [1, 2, N, N]);
    const im = g.input('im', [1, 2, N, N]);
    const offsets = g.input('offsets', [1, 2, 2]);
    const p = canvasSize(N, 3, true);
    const merged = mergePatches(re, im, offsets, p, weighting);
    g.output(merged.canvasRe);
    const sess = await session(g.toModel());
    const values = [1, 3];
    const shifts = [[-2, 1], [3, -1]];
    const reData = new Float32Array(2 * N * N);
    reData.fill(values[0], 0, N * N);
    reData.fill(values[1], N * N);
    const out = await run(sess, { re: { data: reData, shape: [1, 2, N, N] }, im: { data: new Float32Array(2 * N * N), shape: [1, 2, N, N] }, offsets: { data: Float32Array.from(shifts.flat()), shape: [1, 2, 2] } });
    await sess.release();
    const canvas = Object.values(out)[0] as Float32Array;
    const c = (p - N) / 2;
    let checked = 0;
    for (let y = 0; y < p; y++) for (let x = 0; x < p; x++) {
      let num = 0, den = 0;
      shifts.forEach(([dx, dy], k) => {
        const i = y - c - dy, j = x - c - dx;
        if (i < 0 || j < 0 || i >= N || j >= N) return;
        num += w[i * N + j] * values[k];
        den += w[i * N + j];
      });
      if (den === 0) continue;
      assert.ok(Math.abs(canvas[y * p + x] - num / den) < 1e-4, `canvas (${x}, ${y}): ${canvas[y * p + x]} vs ${num / den}`);
      checked++;
    }
    assert.ok(checked > N * N);
  });

  for (const gridsize of [1, 2]) {
    it(`gridsize ${gridsize}: gradients of the new decoder level, the heads and the log scale match finite differences`, async () => {
      const s = spec(gridsize, 2, true);
      const values = initialParameters(s.arch, 5, s.intensityScale);
      for (const head of [s.arch.heads.amplitude.weight, s.arch.heads.phase.weight]) values.set(head, randomArray(values.get(head)!.length, seeded(17), -0.05, 0.05) as Float32Array);
      const x = randomArray(2 * s.arch.channels * N * N, seeded(23 + gridsize), 0, 1.5) as Float32Array;
      const level = s.arch.decoders.amplitude.at(-1)![1].weight;
      await checkGradients(s, values, modelFeeds(s, values, x), [LOG_SCALE, s.arch.heads.amplitude.weight, s.arch.heads.phase.weight, level], { step: 1e-3, rel: 0.05, abs: 1e-4 });
    });
  }
});
