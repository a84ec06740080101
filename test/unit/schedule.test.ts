// The schedule's rule at an epoch's end (train/schedule.ts), replayed on validation losses measured on the
// independent study's dense gs2 job (README item 19): with Keras's independent callbacks the run stops at epoch 6,
// one epoch before the loss leaves the plateau; with the patience restarted on each reduction it goes on.
import { strict as assert } from 'node:assert';
import { scheduleAfterEpoch, type ScheduleState } from '../../src/core/train';
import { DEFAULT_TRAINING, resolveTrainingSettings } from '../../src/core/study/config';

/** Validation loss per epoch, dense gs2, independent study, dose 1e5, defaults (early-stopped after epoch 6). */
const STOPPED = [-91.8826, -91.8961, -91.8969, -91.8928, -91.8774, -91.8878];
/** The same job without early stopping (on 8 threads instead of 4, so the last digits differ), 25 epochs. */
const CONTINUED = [
  -91.8825, -91.8951, -91.8975, -91.8883, -91.8886, -91.909, -91.9769, -92.0369, -92.0515, -92.07, -92.0791, -92.0955, -92.1116,
  -92.12, -92.1321, -92.1455, -92.1487, -92.1384, -92.153, -92.1608, -92.153, -92.1624, -92.1372, -92.1648, -92.1573,
];

function replay(losses: number[], restart: boolean, overrides: Partial<typeof DEFAULT_TRAINING> = {}): { stoppedAt?: number; lrs: number[] } {
  const t = { ...DEFAULT_TRAINING, ...overrides, patienceRestartsOnLrReduction: restart };
  const state: ScheduleState = { lr: t.learningRate, best: Infinity, plateauWait: 0, stopWait: 0 };
  const lrs: number[] = [];
  for (let e = 0; e < losses.length; e++) {
    const { earlyStop } = scheduleAfterEpoch(state, losses[e], t);
    lrs.push(state.lr);
    if (earlyStop) return { stoppedAt: e + 1, lrs };
  }
  return { lrs };
}

describe('learning-rate schedule and early stopping', () => {
  it('the default restarts the patience on a reduction; PtychoPINN\'s Keras callbacks are a setting', () => {
    assert.equal(resolveTrainingSettings().patienceRestartsOnLrReduction, true);
    assert.equal(resolveTrainingSettings({ patienceRestartsOnLrReduction: false }).patienceRestartsOnLrReduction, false);
    assert.throws(() => resolveTrainingSettings({ patienceRestartsOnLrReduction: 'yes' as never }), /patienceRestartsOnLrReduction must be true or false/);
  });

  it('on the measured plateau Keras\'s rule stops at epoch 6, right after the first reduction; the restart keeps the run going', () => {
    const keras = replay(STOPPED, false);
    assert.equal(keras.stoppedAt, 6);
    assert.equal(keras.lrs[4], DEFAULT_TRAINING.learningRate / 2, 'halved after two epochs without improvement');
    assert.equal(replay(STOPPED, true).stoppedAt, undefined);
    assert.equal(replay(CONTINUED, true).stoppedAt, undefined);
    assert.ok(Math.min(...CONTINUED.slice(6)) < Math.min(...STOPPED) - 0.25, 'what the stop missed: the loss falls by > 0.25 after epoch 6');
  });

  it('with the restart a run still stops once the loss stalls at the floor of the schedule, and only there', () => {
    const flat = Array.from({ length: 30 }, () => -90);
    flat[0] = -91;
    const r = replay(flat, true);
    // 2.5e-4 → 1.25e-4 (epoch 3) → 1e-4, the floor (epoch 5) → three more epochs: stops at epoch 8, at the floor.
    assert.equal(r.stoppedAt, 8);
    assert.equal(r.lrs.at(-1), DEFAULT_TRAINING.minLearningRate);
    assert.equal(replay(flat, false).stoppedAt, 4);
    // Patience 0 disables early stopping either way.
    assert.equal(replay(flat, true, { earlyStoppingPatience: 0 }).stoppedAt, undefined);
  });

  it('an improvement of no more than minDelta counts as none', () => {
    const t = { ...DEFAULT_TRAINING };
    const state: ScheduleState = { lr: t.learningRate, best: -91, plateauWait: 0, stopWait: 0 };
    scheduleAfterEpoch(state, -91 - t.minDelta / 2, t);
    assert.equal(state.best, -91);
    assert.equal(state.stopWait, 1);
    scheduleAfterEpoch(state, -91 - 2 * t.minDelta, t);
    assert.equal(state.best, -91 - 2 * t.minDelta);
    assert.equal(state.stopWait, 0);
  });
});
