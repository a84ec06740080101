// Compare Runs page model (src/webview/runCompare/model.ts): one colour scale for every run — the amplitude window
// pooled over all runs' lit pixels, each run's phase with its global offset removed — and the overlaid curves.
import { strict as assert } from 'node:assert';
import { curveSeries, PHASE_WINDOW, runPlanes, sharedAmplitudeWindow, windowIndex } from '../../src/webview/runCompare/model';

function pixels(amplitudes: number[], phase: number, weight: number[], offset: number | null = null) {
  const object = new Float32Array(2 * amplitudes.length);
  amplitudes.forEach((a, i) => {
    object[2 * i] = a * Math.cos(phase);
    object[2 * i + 1] = a * Math.sin(phase);
  });
  return { width: amplitudes.length, height: 1, object, weight: Float32Array.from(weight), globalPhaseOffset: offset };
}

describe('compare runs: page model', () => {
  it('the amplitude window spans every run\'s lit pixels (unlit ones left out), so the same value gets the same colour in each image', () => {
    const dim = runPlanes(pixels([0.1, 0.2, 0.3, 50], 0, [1, 1, 1, 0]));
    const bright = runPlanes(pixels([0.8, 0.9, 1.0, 1.0], 0, [1, 1, 1, 1]));
    assert.deepEqual(Array.from(dim.covered), [1, 1, 1, 0], 'weight 0: not lit');
    const w = sharedAmplitudeWindow([dim, bright])!;
    assert.ok(w.lo <= 0.2 && w.hi >= 0.9 && w.hi < 50, `window ${w.lo}…${w.hi}: both runs inside, the unlit 50 not`);
    assert.equal(windowIndex(0.3, w), windowIndex(0.3, w), 'one scale');
    assert.ok(windowIndex(0.9, w) > windowIndex(0.3, w));
    assert.equal(sharedAmplitudeWindow([runPlanes(pixels([1, 2], 0, [0, 0]))]), null, 'nothing lit: no window');
    const flat = sharedAmplitudeWindow([runPlanes(pixels([0.5, 0.5], 0, [1, 1]))])!;
    assert.ok(flat.hi > flat.lo, 'a flat image still gets a usable window');
  });

  it('each run\'s phase has its own global offset removed and is wrapped to −π…π', () => {
    const p = runPlanes(pixels([1, 1], 3, [1, 1], 0.5));
    assert.ok(Math.abs(p.phase[0] - (3.5 - 2 * Math.PI)) < 1e-5, `wrapped ${p.phase[0]}`);
    assert.ok(p.phase[0] >= PHASE_WINDOW.lo && p.phase[0] <= PHASE_WINDOW.hi);
  });

  it('curves: a colour per run, the validation loss dashed in the same colour only where a run has one', () => {
    const c = (key: string, val: number[]) => ({ key, xLabel: 'epoch', yLabel: 'loss', x: Float64Array.from([1, 2]), y: Float64Array.from([3, 2]), val: Float64Array.from(val) });
    const s = curveSeries([c('a', [NaN, NaN]), c('b', [4, 3])], ['#1', '#2']);
    assert.deepEqual(s.map((x) => [x.label, x.color, x.dash ?? null]), [['#1 loss', 'blue', null], ['#2 loss', 'orange', null], ['#2 validation', 'orange', [5, 4]]]);
  });
});
