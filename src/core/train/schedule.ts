// The learning-rate schedule and early stopping at an epoch's end (Keras's ReduceLROnPlateau and EarlyStopping,
// domain.md §10.2), as one pure rule on the training state so its decisions can be replayed on a loss history.
import type { TrainingSettings } from '../study/config';

/** The schedule's part of the training state (checkpointed with it). */
export interface ScheduleState {
  lr: number;
  best: number;
  plateauWait: number;
  stopWait: number;
}

type ScheduleSettings = Pick<TrainingSettings, 'minDelta' | 'plateauPatience' | 'plateauFactor' | 'minLearningRate' | 'earlyStoppingPatience' | 'patienceRestartsOnLrReduction'>;

/**
 * Updates `state` for the epoch's monitored loss: an improvement of more than minDelta resets both counts; otherwise
 * after plateauPatience epochs the rate is multiplied by plateauFactor (down to its floor), and after
 * earlyStoppingPatience epochs the run stops. With patienceRestartsOnLrReduction a reduction restarts the stopping
 * count too, so a run stops only once the loss has stalled at the floor.
 */
export function scheduleAfterEpoch(state: ScheduleState, monitored: number, t: ScheduleSettings): { lrReduced: boolean; earlyStop: boolean } {
  let lrReduced = false;
  let earlyStop = false;
  if (monitored < state.best - t.minDelta) {
    state.best = monitored;
    state.plateauWait = 0;
    state.stopWait = 0;
    return { lrReduced, earlyStop };
  }
  state.plateauWait++;
  state.stopWait++;
  if (state.plateauWait >= t.plateauPatience && state.lr > t.minLearningRate) {
    state.lr = Math.max(t.minLearningRate, state.lr * t.plateauFactor);
    state.plateauWait = 0;
    lrReduced = true;
    // The rate just reduced has not been tried yet.
    if (t.patienceRestartsOnLrReduction) state.stopWait = 0;
  }
  if (t.earlyStoppingPatience > 0 && state.stopWait >= t.earlyStoppingPatience) earlyStop = true;
  return { lrReduced, earlyStop };
}
