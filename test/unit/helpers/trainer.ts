// An in-process Trainer on a planned run (CPU), and how far two training states' parameters are apart: what the
// resume tests compare an interrupted run with an uninterrupted one by.
import * as ort from 'onnxruntime-node';
import type { RunConfig } from '../../../src/core/run/plan';
import { openTrainingDataset, Trainer, type TrainingState } from '../../../src/core/train';

export async function openTrainer(config: RunConfig, checkpointPath?: string, shouldStop?: () => boolean, log?: (line: string) => void) {
  const train = await openTrainingDataset(config.trainPath);
  const test = config.testPath ? await openTrainingDataset(config.testPath) : undefined;
  const t = new Trainer(config, train, test, { ort, providers: ['cpu'], checkpointPath, callbacks: { shouldStop, log } });
  await t.prepare();
  return { t, train, test, close: async () => { await t.release(); await train.close(); await test?.close(); } };
}

/** The largest |difference| between two states' parameters. */
export function maxParameterDiff(a: TrainingState, b: TrainingState): number {
  let worst = 0;
  for (const [name, p] of a.params) {
    const q = b.params.get(name)!;
    for (let i = 0; i < p.length; i++) worst = Math.max(worst, Math.abs(p[i] - q[i]));
  }
  return worst;
}
