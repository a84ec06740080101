// A small real study for end-to-end CLI tests: simulated with the project's simulator (one dose), run through the
// real CLI (dist/cli.js) as child processes, with the short settings that keep a training run to seconds.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { defaultSimulationConfig, simulateStudy } from '../../../src/core/simulate';
import { repoRoot } from './paths';

export const CLI = path.join(repoRoot, 'dist', 'cli.js');
export const DOSE = 'dose_10000';
/** One epoch of the narrow network on one thread. */
export const QUICK_TRAIN = ['--epochs', '1', '--batch-size', '8', '--n-filters-scale', '1', '--threads', '1'];

export function cli(args: string[], timeout = 120_000): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** Simulates a one-dose (1e4) study of `nImages` patterns into `root`. */
export async function simulateSmallStudy(root: string, nImages = 120): Promise<void> {
  const cfg = defaultSimulationConfig(root);
  cfg.nImages = nImages;
  cfg.doses = [1e4];
  cfg.timestamp = '2026-01-01T00:00:00Z';
  await simulateStudy(cfg);
}
