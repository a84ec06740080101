// An in-process Trainer on a planned run (CPU), and how far two training states' parameters are apart: what the
// resume tests compare an interrupted run with an uninterrupted one by. `plannedStudy` gives a describe block a
// simulated one-dose study (1e5) and the run config of any of its jobs.
import * as ort from 'onnxruntime-node';
import { planRun, type RunConfig } from '../../../src/core/run/plan';
import { defaultSimulationConfig, simulateStudy } from '../../../src/core/simulate';
import { discoverStudy, listJobs } from '../../../src/core/study';
import { openTrainingDataset, Trainer, type TrainingState } from '../../../src/core/train';
import { tempDir } from './paths';

/** Call inside a describe: simulates the study before its tests, removes it after; planFor plans a job with `settings`. */
export function plannedStudy(prefix: string, nImages = 160) {
  const tmp = tempDir(prefix);
  before(async () => {
    const cfg = defaultSimulationConfig(tmp.dir);
    cfg.nImages = nImages;
    cfg.doses = [1e5];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());
  const planFor = async (settings: Record<string, unknown>, job = 'dose_100000/dense/gs2'): Promise<RunConfig> => {
    const layout = await discoverStudy({ workspace: tmp.dir });
    const found = (await listJobs(layout)).find((j) => j.id === job);
    if (!found) throw new Error(`no job ${job}`);
    return planRun(found, { settings, workerScript: 'unused' }).config;
  };
  return { tmp, planFor };
}

export async function openTrainer(config: RunConfig, checkpointPath?: string, shouldStop?: () => boolean, log?: (line: string) => void) {
  const train = await openTrainingDataset(config.trainPath);
  const test = config.testPath ? await openTrainingDataset(config.testPath) : undefined;
  const t = new Trainer(config, train, test, { ort, providers: ['cpu'], checkpointPath, callbacks: { shouldStop, log } });
  await t.prepare();
  return { t, train, test, close: async () => { await t.release(); await train.close(); await test?.close(); } };
}

/** Trains `config` from scratch until `stopAfter` steps have run (a cancel, checkpointed to `ckpt`), then resumes from the checkpoint to the end. */
export async function cancelThenResume(config: RunConfig, ckpt: string, stopAfter: number) {
  let steps = 0;
  const first = await openTrainer(config, ckpt, () => ++steps > stopAfter);
  const cancelled = first.t.initialState();
  const outcome = await first.t.run(cancelled);
  await first.close();
  const second = await openTrainer(config, ckpt);
  const resumed = await second.t.loadState(ckpt);
  await second.t.run(resumed);
  await second.close();
  return { outcome, cancelled, resumed };
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
