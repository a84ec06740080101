// The one plan → check → start sequence of a local training run, used by `ptycho-study train` and by the VS Code
// run queue: the job is planned with the given settings (no hidden globals), refused with its blockers when it is
// not runnable, and started by the local backend (the launcher: run lock, resume check, run-config.json, the worker).
import type { StudyJob } from '../study/jobs';
import { LocalBackend } from './backend';
import type { LaunchOptions, RunHandle } from './launcher';
import { planRun, type PlanOptions, type RunConfig, type RunPlan } from './plan';

export interface LaunchRequest extends Omit<PlanOptions, 'workerScript'>, LaunchOptions {}

/** A planned launch: runnable (its config and `start`) or refused with the blockers. */
export type PreparedLaunch =
  | { runnable: true; plan: RunPlan; config: RunConfig; start(): Promise<RunHandle> }
  | { runnable: false; plan: RunPlan; blockers: string[] };

/** Plans `job` for a local run (throws PlanError when it has no data to plan with). */
export function prepareLaunch(job: StudyJob, request: LaunchRequest): PreparedLaunch {
  const plan = planRun(job, { settings: request.settings, workerScript: request.workerScript, nodePath: request.nodePath, ortBinDir: request.ortBinDir, study: request.study, settingsSources: request.settingsSources });
  if (!plan.runnable) return { runnable: false, plan, blockers: plan.blockers };
  return { runnable: true, plan, config: plan.config, start: () => new LocalBackend(request).start(plan.config) };
}
