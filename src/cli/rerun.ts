// `ptycho-study rerun <job folder | manifest.json> [--out DIR]`: recreates a training or reconstruction run from
// its manifest alone (src/core/run/rerun.ts: configuration and seeds from the manifest, datasets verified by their
// sha256) in a new folder, through the same worker path as train/reconstruct (runQueue, startRun /
// startReconstruction, with the original's thread count), then compares the new metrics.json with the original's.
// Exit 0 when the metrics are reproduced, 1 when the run failed or the metrics differ, 130 when cancelled.
import * as path from 'node:path';
import { compareRerun, defaultRerunDir, readRerunSource, rerunPlan, RerunError, startRerun, verifyDatasets, type RerunOutcome } from '../core/run/rerun';
import { bool, num, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO } from './commands';
import { runQueue } from './runQueue';

export const RERUN_USAGE = 'ptycho-study rerun <job folder | manifest.json> [--out DIR] [--rtol X] [--json]';
export const RERUN_FLAGS: FlagSpec = { out: { type: 'string' }, json: { type: 'boolean' }, rtol: { type: 'string' } };
export const RERUN_HELP = [
  'Recreates the run recorded in a job\'s manifest.json (configuration, seeds, and for training the same onnxruntime',
  'thread count) on the same datasets: each is hashed again and a changed or missing file is refused, naming it and',
  'both sha256, before anything is written. The run goes to a new folder (never the original), through the same',
  'worker as train / reconstruct, without touching the study\'s manifests; then its metrics.json is compared with the',
  'original\'s, number by number (timings left out). Exit 0: reproduced; 1: failed or different; 130: cancelled.',
  '  --out DIR              where the rerun goes (default: <job folder>.rerun-<UTC time>, beside it); must be new or empty',
  '  --rtol X               relative tolerance of the comparison (default 1e-5; absolute 1e-7)',
  '  --json                 one JSON event per line, then the comparison',
];

export async function cmdRerun(p: Parsed, io: CliIO): Promise<number> {
  const target = p.positionals[0];
  if (!target) throw new UsageError('a job folder or its manifest.json is required.');
  const json = bool(p, 'json');
  const rtol = num(p, 'rtol', { min: 0 }) ?? 1e-5;
  try {
    const source = await readRerunSource(path.resolve(io.cwd, target));
    await verifyDatasets(source);
    const given = str(p, 'out');
    const outDir = given ? path.resolve(io.cwd, given) : defaultRerunDir(source.jobDir);
    const config = await rerunPlan(source, outDir);
    const workerScript = path.join(io.distDir, 'worker.js');
    if (!json) {
      io.out(`RERUN ${source.jobId} from ${source.manifestPath}`);
      for (const d of source.datasets) io.out(`  ${d.role.padEnd(10)} ${d.path}  sha256 ${d.sha256.slice(0, 16)}… verified`);
      if (source.threads) io.out(`  threads    ${source.threads} (as the original run)`);
    }
    const outcome = await runQueue(io, json, [{
      id: source.jobId,
      plan: () => ({ banner: `→ ${outDir}`, start: () => startRerun(source, config, { workerScript }) }),
    }], () => false);
    const exit = outcome.exits[0];
    if (outcome.aborted || exit?.status === 'cancelled') return 130;
    if (!exit || exit.status !== 'succeeded') {
      const reason = exit?.reason ?? outcome.refused[0]?.reason ?? outcome.skipped[0]?.reason ?? 'the run did not start';
      if (json) io.out(JSON.stringify({ type: 'rerun', reproduced: false, outDir, reason }));
      else io.out(`NOT REPRODUCED: the rerun did not succeed (${reason}).`);
      return 1;
    }
    let cmp: RerunOutcome;
    try {
      cmp = compareRerun(source, outDir, { rtol, atol: 1e-7 });
    } catch (err) {
      io.out(`The rerun succeeded (${outDir}); ${(err as Error).message}`);
      return 1;
    }
    const env = cmp.runtime;
    if (json) {
      const { runtime, ...rest } = cmp;
      io.out(JSON.stringify({ type: 'rerun', outDir, original: source.jobDir, ...rest, runtime }));
    } else {
      io.out(`${cmp.reproduced ? 'REPRODUCED' : 'NOT REPRODUCED'}: ${cmp.compared} numbers of metrics.json compared (rtol ${rtol}, atol 1e-7), largest relative difference ${cmp.maxRelDiff.toExponential(2)}`
        + `; provider ${env.original.provider} → ${env.rerun.provider}, threads ${env.original.threads} → ${env.rerun.threads}.`);
      for (const d of cmp.differences.slice(0, 40)) io.out(`  ${d.path}: ${JSON.stringify(d.original)} → ${JSON.stringify(d.rerun)}${d.absDiff !== undefined ? ` (|Δ| ${d.absDiff.toExponential(2)})` : ''}`);
      if (cmp.differences.length > 40) io.out(`  … ${cmp.differences.length - 40} more`);
      io.out(`Rerun in ${outDir}`);
    }
    return cmp.reproduced ? 0 : 1;
  } catch (err) {
    if (err instanceof RerunError) {
      io.err(`ptycho-study rerun: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
