// training.symmetryAugment: a training group turned by a mirror or rotation the probe is symmetric under is the
// measurement of the turned specimen. Checked against the forward model itself: a gridsize-2 group's patterns
// computed from a turned canvas at turned offsets equal the turned patterns. Only the probe's own symmetries are
// used; draws are seeded by (seed, epoch, group), so a resumed run ends where an uninterrupted one does.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { writeNpz } from '../../src/core/npy';
import { syntheticProbe } from '../../src/core/simulate';
import { fft2d, fftshift2d, ifftshift2d } from '../../src/core/fft';
import { quietOrt } from '../../src/core/train';
import type { ComplexArray } from '../../src/core/train/data';
import { Rng } from '../../src/core/simulate/rng';
import {
  PATTERN_SYMMETRIES, applySymmetry, probeSymmetries, symmetryFor, transformGroups, transformPattern, type PatternSymmetry,
} from '../../src/core/train/symmetry';
import { readAllArrays } from './helpers/npy';
import { cli } from './helpers/smallStudy';
import { cancelThenResume, maxParameterDiff, openTrainer, plannedStudy } from './helpers/trainer';
import { openChoicesOf, type RunConfig } from '../../src/core/run/plan';
import { DEFAULT_TRAINING, resolveTrainingSettings } from '../../src/core/study/config';

quietOrt(ort);

const byName = (name: string): PatternSymmetry => PATTERN_SYMMETRIES.find((s) => s.name === name)!;

/** |fftshift(FFT2(P·O))|² of one n×n patch (interleaved complex probe, split object). */
function pattern(probe: ComplexArray, objRe: Float64Array, objIm: Float64Array, n: number): Float32Array {
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let k = 0; k < n * n; k++) {
    const pr = probe.data[2 * k];
    const pi = probe.data[2 * k + 1];
    re[k] = pr * objRe[k] - pi * objIm[k];
    im[k] = pr * objIm[k] + pi * objRe[k];
  }
  fft2d(re, im, n, n);
  const intensity = Float64Array.from(re, (r, k) => r * r + im[k] * im[k]);
  return Float32Array.from(fftshift2d(intensity, n, new Float64Array(n * n)));
}

/** The independent study's probe (scripts/independent_study.py): a defocused circular pupil, propagated to the sample. */
function pupilProbe(n: number, radius: number, defocus: number, squash = 1): ComplexArray {
  const re = new Float64Array(n * n);
  const im = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const rho = Math.hypot(x - n / 2, (y - n / 2) * squash) / radius;
      if (rho > 1) continue;
      re[y * n + x] = Math.cos(defocus * rho * rho);
      im[y * n + x] = Math.sin(defocus * rho * rho);
    }
  }
  const sr = ifftshift2d(re, n, new Float64Array(n * n));
  const si = ifftshift2d(im, n, new Float64Array(n * n));
  fft2d(sr, si, n, n, true);
  const pr = fftshift2d(sr, n, new Float64Array(n * n));
  const pi = fftshift2d(si, n, new Float64Array(n * n));
  const data = new Float32Array(2 * n * n);
  for (let k = 0; k < n * n; k++) {
    data[2 * k] = pr[k];
    data[2 * k + 1] = pi[k];
  }
  return { height: n, width: n, data };
}

function relativeError(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let e = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    e += b[i] ** 2;
  }
  return Math.sqrt(d / e);
}

describe('symmetry augmentation (training.symmetryAugment)', function () {
  this.timeout(300_000);

  it('finds all eight symmetries of a radially symmetric probe, the four of an elliptical one, none of an off-centre one', () => {
    const all = PATTERN_SYMMETRIES.map((s) => s.name);
    assert.deepEqual(probeSymmetries(syntheticProbe(32)).usable.map((s) => s.name), all, 'the project simulator\'s probe');
    const pupil = probeSymmetries(pupilProbe(64, 16, 2.5 * Math.PI));
    assert.deepEqual(pupil.usable.map((s) => s.name), all, 'the independent study\'s probe');
    // Its ringing on the edge row has no mirror inside the array: a small, measured mismatch.
    assert.ok(pupil.mismatch['mirror-x'] > 0.01 && pupil.mismatch['mirror-x'] < 0.04, `mirror-x mismatch ${pupil.mismatch['mirror-x']}`);
    assert.ok(probeSymmetries(syntheticProbe(32)).mismatch['rotate-90'] < 1e-6);
    const ellipse = probeSymmetries(pupilProbe(64, 16, 2.5 * Math.PI, 1.4));
    assert.deepEqual(ellipse.usable.map((s) => s.name), ['identity', 'mirror-x', 'mirror-y', 'rotate-180']);
    assert.ok(ellipse.mismatch['rotate-90'] > 0.1, `an ellipse is not square-symmetric (mismatch ${ellipse.mismatch['rotate-90']})`);
    // A measured probe is never symmetric: a round probe with a bump off its axes.
    const lopsided = syntheticProbe(32);
    lopsided.data[2 * (13 * 32 + 20)] += 0.5;
    assert.deepEqual(probeSymmetries(lopsided).usable.map((s) => s.name), ['identity']);
  });

  it('a gridsize-2 group turned (patterns and offsets alike) is what the turned specimen gives under the same probe', () => {
    for (const [label, n, probe] of [['simulator probe', 32, syntheticProbe(32)], ['pupil probe', 64, pupilProbe(64, 16, 2.5 * Math.PI)]] as const) {
      const size = n + 39; // odd canvas: its centre is a pixel, as the probe's (n/2) is
      const centre = (size - 1) / 2;
      // Exact for a probe dark at its edges; a pupil's edge ringing is bounded by its measured mismatch.
      const tolerance = Math.max(1e-5, 2 * Math.max(...Object.values(probeSymmetries(probe).mismatch)));
      const rng = new Rng(5, 'symmetry-canvas', label);
      const canvasRe = Float64Array.from({ length: size * size }, () => 0.5 + 0.5 * rng.uniform());
      const canvasIm = Float64Array.from({ length: size * size }, () => rng.uniform() - 0.5);
      const offsets = Float32Array.from([-7, 3, 5, -6, 2, 8, 0, -5]);
      // patch_j(r) = C(r + d_j), r about the probe's centre, C about the canvas centre.
      const group = (re: Float64Array, im: Float64Array, d: Float32Array): Float32Array => {
        const x = new Float32Array(4 * n * n);
        for (let j = 0; j < 4; j++) {
          const pr = new Float64Array(n * n);
          const pi = new Float64Array(n * n);
          for (let y = 0; y < n; y++) {
            for (let xx = 0; xx < n; xx++) {
              const at = (centre + y - n / 2 + d[2 * j + 1]) * size + centre + xx - n / 2 + d[2 * j];
              pr[y * n + xx] = re[at];
              pi[y * n + xx] = im[at];
            }
          }
          x.set(pattern(probe, pr, pi, n), j * n * n);
        }
        return x;
      };
      const measured = group(canvasRe, canvasIm, offsets);
      for (const s of PATTERN_SYMMETRIES) {
        // The turned specimen C'(u) = C(T⁻¹u): for each u, T⁻¹u is the v with T v = u.
        const turnedRe = new Float64Array(size * size);
        const turnedIm = new Float64Array(size * size);
        for (let vy = 0; vy < size; vy++) {
          for (let vx = 0; vx < size; vx++) {
            const [ux, uy] = applySymmetry(s, vx - centre, vy - centre);
            turnedRe[(uy + centre) * size + ux + centre] = canvasRe[vy * size + vx];
            turnedIm[(uy + centre) * size + ux + centre] = canvasIm[vy * size + vx];
          }
        }
        const x = Float32Array.from(measured);
        const d = Float32Array.from(offsets);
        transformGroups(x, d, 1, 4, n, [s]);
        const expected = group(turnedRe, turnedIm, d);
        const err = relativeError(x, expected);
        assert.ok(err < tolerance, `${label}, ${s.name}: the turned group differs from the turned specimen's by ${err}`);
        if (s.name !== 'identity') assert.ok(relativeError(measured, expected) > 0.05, `${label}, ${s.name}: the test must see a turn`);
      }
    }
  });

  it('each turn is a permutation; rotate-90 four times and each mirror twice are the identity; offsets turn with the patterns', () => {
    const n = 8;
    const src = Float32Array.from({ length: n * n }, (_, i) => i);
    const turn = (a: Float32Array, s: PatternSymmetry): Float32Array => {
      const out = new Float32Array(n * n);
      transformPattern(a, out, n, s);
      return out;
    };
    for (const s of PATTERN_SYMMETRIES) assert.deepEqual(Array.from(turn(src, s)).sort((a, b) => a - b), Array.from(src));
    let r: Float32Array = src;
    for (let k = 0; k < 4; k++) r = turn(r, byName('rotate-90'));
    assert.deepEqual(r, src);
    for (const name of ['mirror-x', 'mirror-y', 'transpose', 'anti-transpose', 'rotate-180']) assert.deepEqual(turn(turn(src, byName(name)), byName(name)), src);
    assert.deepEqual(turn(turn(src, byName('rotate-90')), byName('rotate-270')), src);
    // The zero frequency (index n/2) stays put; mirror-x maps column n/2 + 1 to n/2 − 1 and column 0 to itself.
    const m = turn(src, byName('mirror-x'));
    assert.equal(m[(n / 2) * n + n / 2], src[(n / 2) * n + n / 2]);
    assert.equal(m[3 * n + n / 2 - 1], src[3 * n + n / 2 + 1]);
    assert.equal(m[3 * n], src[3 * n]);
    assert.deepEqual(applySymmetry(byName('rotate-90'), 2, 1), [-1, 2]);
    assert.deepEqual(applySymmetry(byName('transpose'), 2, 1), [1, 2]);
    // Draws are seeded by (seed, epoch, group) and use every usable symmetry.
    const seen = new Set<string>();
    for (let g = 0; g < 200; g++) seen.add(symmetryFor(PATTERN_SYMMETRIES, 3, 1, g).name);
    assert.equal(seen.size, 8);
    assert.equal(symmetryFor(PATTERN_SYMMETRIES, 3, 1, 17).name, symmetryFor(PATTERN_SYMMETRIES, 3, 1, 17).name);
    assert.equal(symmetryFor([byName('identity')], 3, 1, 17).name, 'identity');
  });

  describe('in the trainer', () => {
    const { tmp, planFor } = plannedStudy('ptycho-symmetry-');

    const settings = { epochs: 2, batchSize: 8, nFiltersScale: 1, seed: 11 };

    it('turns the training groups (the run differs from one without), resumes where an uninterrupted run ends, refuses the other setting\'s checkpoint', async () => {
      const config = await planFor({ ...settings, symmetryAugment: true });
      const straight = await openTrainer(config);
      assert.equal(straight.t.plan!.symmetries!.usable.length, 8, 'the simulator\'s probe allows all eight');
      const s1 = straight.t.initialState();
      await straight.t.run(s1);
      const stepsPerEpoch = straight.t.plan!.stepsPerEpoch;
      await straight.close();

      const plainConfig = await planFor({ ...settings, symmetryAugment: false });
      const plain = await openTrainer(plainConfig);
      assert.equal(plain.t.plan!.symmetries, undefined);
      const s0 = plain.t.initialState();
      await plain.t.run(s0);
      await plain.close();
      assert.ok(maxParameterDiff(s0, s1) > 1e-4, 'turned groups train another model');

      const ckpt = path.join(tmp.dir, 'symmetry-ckpt.npz');
      const { outcome, resumed: restored } = await cancelThenResume(config, ckpt, stepsPerEpoch + 2);
      assert.equal(outcome.status, 'cancelled');
      assert.equal(restored.step, s1.step);
      const diff = maxParameterDiff(s1, restored);
      assert.ok(diff < 1e-6, `parameters differ by ${diff}`);

      const other = await openTrainer(plainConfig, ckpt);
      await assert.rejects(other.t.loadState(ckpt), /configuration|config/i);
      await other.close();
    });

    it('a probe without symmetry: the log says augmentation does nothing, and training is exactly the run without it', async () => {
      const config = await planFor({ ...settings, epochs: 1 });
      const arrays = await readAllArrays(config.trainPath);
      const probe = arrays.probeGuess.data as Float32Array; // complex64: interleaved (re, im)
      const n = arrays.probeGuess.shape[0];
      // Brighter on one side, unevenly in x and y: no mirror, rotation or transpose maps it onto itself.
      for (let y = 0; y < n / 3; y++) for (let x = 0; x < n / 2; x++) for (const k of [0, 1]) probe[2 * (y * n + x) + k] *= 1.5;
      const lopsided = path.join(tmp.dir, 'lopsided_train.npz');
      await writeNpz(lopsided, arrays);
      const run = async (symmetryAugment: boolean) => {
        const c = { ...(await planFor({ ...settings, epochs: 1, symmetryAugment })), trainPath: lopsided };
        const lines: string[] = [];
        const tr = await openTrainer(c, undefined, undefined, (line) => lines.push(line));
        const state = tr.t.initialState();
        await tr.t.run(state);
        const symmetries = tr.t.plan!.symmetries;
        await tr.close();
        return { state, symmetries, lines };
      };
      const on = await run(true);
      const off = await run(false);
      assert.deepEqual(on.symmetries!.usable.map((s) => s.name), ['identity']);
      assert.ok(Math.min(...Object.values(on.symmetries!.mismatch).filter((m) => m > 0)) > 0.05);
      assert.equal(maxParameterDiff(on.state, off.state), 0, 'nothing turned: the same model');
      assert.ok(on.lines.some((l) => /^Symmetry augmentation does nothing here: the probe is not symmetric under any mirror or rotation of the square \(smallest mismatch \d+\.\d %, tolerance 5\.0 %\)/.test(l)), on.lines.join('\n'));
      assert.ok(!off.lines.some((l) => /Symmetry/.test(l)));
    });

    it('the CLI: --symmetry-augment in the run config, the log and the manifest (which turns, each one\'s probe mismatch)', () => {
      const r = cli(['train', '--workspace', tmp.dir, '--view', 'baseline', '--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1', '--symmetry-augment'], 300_000);
      assert.equal(r.code, 0, r.err);
      const job = path.join(tmp.dir, 'phase_e', 'dose_100000', 'baseline', 'gs1');
      assert.equal(JSON.parse(fs.readFileSync(path.join(job, 'run-config.json'), 'utf8')).training.symmetryAugment, true);
      assert.match(fs.readFileSync(path.join(job, 'train.log'), 'utf8'), /Symmetry augmentation: each training group is drawn under one of identity, mirror-x, .*anti-transpose \(the probe's symmetries\)/);
      const m = JSON.parse(fs.readFileSync(path.join(job, 'manifest.json'), 'utf8')) as { status: string; training: { symmetries: string[]; probeSymmetryMismatch: Record<string, number> }; config: { openChoices?: { key: string; value: unknown }[] } };
      assert.equal(m.status, 'succeeded');
      assert.deepEqual(m.training.symmetries, PATTERN_SYMMETRIES.map((s) => s.name));
      assert.ok(m.training.probeSymmetryMismatch['rotate-90'] < 1e-6);
    });

    it('auto, the default: gridsize-2 groups turned, gridsize-1 patterns as measured; each keyed as the explicit setting it resolves to', async () => {
      assert.equal(DEFAULT_TRAINING.symmetryAugment, 'auto');
      const gs2 = await planFor({ ...settings, epochs: 1 });
      const gs1 = await planFor({ ...settings, epochs: 1 }, 'dose_100000/baseline/gs1');
      assert.equal(gs2.training.symmetryAugment, 'auto');
      const opened2 = await openTrainer(gs2);
      const opened1 = await openTrainer(gs1);
      try {
        assert.equal(opened2.t.plan!.symmetries!.usable.length, 8, 'gridsize 2: turned');
        assert.equal(opened1.t.plan!.symmetries, undefined, 'gridsize 1: as measured');
        // A checkpoint of 'auto' is the checkpoint of what it resolves to (and resumes under it), not of the other.
        const keyOf = async (c: RunConfig): Promise<string> => {
          const o = await openTrainer(c);
          try {
            return o.t.configKey();
          } finally {
            await o.close();
          }
        };
        assert.equal(opened2.t.configKey(), await keyOf({ ...gs2, training: { ...gs2.training, symmetryAugment: true } }));
        assert.notEqual(opened2.t.configKey(), await keyOf({ ...gs2, training: { ...gs2.training, symmetryAugment: false } }));
        assert.equal(opened1.t.configKey(), await keyOf({ ...gs1, training: { ...gs1.training, symmetryAugment: false } }));
      } finally {
        await opened2.close();
        await opened1.close();
      }
      const choice = (c: RunConfig) => openChoicesOf(c.training, 100, 100, c.gridsize, c.dose).find((o) => o.key === 'symmetryAugment')!;
      assert.equal(choice(gs2).value, true);
      assert.match(choice(gs2).note, /\(auto: on for gridsize 2\)$/);
      assert.equal(choice(gs1).value, false);
      assert.match(choice(gs1).note, /\(auto: off for gridsize 1\)$/);
      assert.throws(() => resolveTrainingSettings({ symmetryAugment: 'on' as never }), /symmetryAugment must be true, false or 'auto' \(got on\)/);
    });

    it('gridsize 1 turns single patterns too', async () => {
      const gs1 = await openTrainer(await planFor({ ...settings, epochs: 1, symmetryAugment: true }, 'dose_100000/baseline/gs1'));
      assert.equal(gs1.t.plan!.symmetries!.usable.length, 8);
      const state = gs1.t.initialState();
      assert.equal((await gs1.t.run(state)).status, 'finished');
      await gs1.close();
    });
  });
});
