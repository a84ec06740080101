// bench:quality — reconstruction quality of the real product path, not a timed test. For each object kind
// (structured: sharp multi-scale features; smooth: specimen-like) it simulates a study with the project's
// simulator, trains baseline gs1, dense gs2 and sparse gs2 with `ptycho-study train` (the defaults, exactly as a
// user runs it), and prints per job: epochs, wall time, patterns/s, and for amplitude and phase the Pearson r,
// SSIM, MS-SSIM and FRC50 (cycles/pixel) of the trained model, the untrained one and the flat predictor, all on
// the dose's common evaluation (its Phase C test split, same region for every job).
// Beside each trained job it runs the iterative baseline (Phase F, `ptycho-study reconstruct`, ePIE defaults) on the
// view's test split and prints its figures on the same evaluation.
//   npm run bench:quality [-- --json] [-- --quick] [-- --keep DIR] [-- --epochs N] [-- --doses 1e5,1e3]
//                         [-- --objects structured,smooth] [-- --views baseline,dense,sparse] [-- --n-images N]
//                         [-- --train-args '--weight-init he …'] (extra `ptycho-study train` options, for experiments)
// The bench can be stopped and continued (the full run is hours of CPU): Ctrl-C cancels the job in progress (its
// worker checkpoints) and stops the bench, keeping its folder; the same command with --keep DIR goes on — finished
// jobs are scored again (no training), the cancelled one resumes from its checkpoint. DIR/bench.json records the
// settings the studies were made with, and each checkpoint's resume key the training settings: a rerun with other
// settings (or a version with other defaults) is refused rather than mixing two configurations.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeJsonAtomic } from '../src/core/atomic';
import { phaseRampFidelity, type RampFidelity } from './phase-ramps';

interface Args { json: boolean; quick: boolean; keep?: string; epochs?: number; doses?: number[]; objects?: string[]; views?: string[]; nImages?: number; trainArgs: string[] }

function parseArgs(argv: string[]): Args {
  const a: Args = { json: false, quick: false, trainArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--json') a.json = true;
    else if (argv[i] === '--quick') a.quick = true;
    else if (argv[i] === '--keep') a.keep = argv[++i];
    else if (argv[i] === '--epochs') a.epochs = Number(argv[++i]);
    else if (argv[i] === '--doses') {
      a.doses = (argv[++i] ?? '').split(',').map(Number);
      if (!a.doses.length || a.doses.some((d) => !(d > 0))) throw new Error('--doses takes a comma-separated list of positive doses, e.g. 1e5,1e3');
    }
    else if (argv[i] === '--objects') {
      a.objects = (argv[++i] ?? '').split(',');
      if (!a.objects.length || a.objects.some((o) => o !== 'structured' && o !== 'smooth')) throw new Error('--objects takes structured, smooth or both (comma-separated)');
    } else if (argv[i] === '--views') {
      a.views = (argv[++i] ?? '').split(',');
      if (!a.views.length || a.views.some((v) => !['baseline', 'dense', 'sparse'].includes(v))) throw new Error('--views takes baseline, dense, sparse (comma-separated)');
    } else if (argv[i] === '--train-args') {
      a.trainArgs = (argv[++i] ?? '').split(/\s+/).filter(Boolean);
    } else if (argv[i] === '--n-images') {
      a.nImages = Number(argv[++i]);
      if (!Number.isInteger(a.nImages) || a.nImages < 64) throw new Error('--n-images takes an integer ≥ 64');
    }
    else if (argv[i] === '--help') {
      process.stdout.write('usage: bench-quality [--json] [--quick] [--keep DIR] [--epochs N] [--doses 1e5,1e3] [--objects structured,smooth] [--views baseline,dense,sparse] [--n-images N] [--train-args "--weight-init he …"]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

const CLI = path.join(__dirname, 'cli.js');

/** Exit status of `ptycho-study` when the user cancelled (Ctrl-C): the run checkpointed and stopped. */
const CANCELLED = 130;

class BenchCancelled extends Error {}

function cli(args: string[], log: (s: string) => void): { status: number; stdout: string; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  // A child killed by SIGINT/SIGTERM itself (not via its own cancel) has no status: that is a cancel too.
  const status = r.status ?? (r.signal === 'SIGINT' || r.signal === 'SIGTERM' ? CANCELLED : 1);
  if (status !== 0) log(`  ${args.slice(0, 1).join(' ')} exited ${status}: ${(r.stderr ?? '').trim().split('\n').slice(-3).join(' | ')}`);
  if (status === CANCELLED) throw new BenchCancelled(`${args[0]} was cancelled`);
  return { status, stdout: r.stdout ?? '', seconds };
}

/** What a kept study was made with; a rerun must ask for the same, or its jobs would mix two configurations. */
interface BenchSettings { nImages: number; epochs: number | null; trainArgs: string[] }

async function checkKeptSettings(root: string, wanted: BenchSettings): Promise<void> {
  const file = path.join(root, 'bench.json');
  const had = readJson(file) as BenchSettings | undefined;
  if (had === undefined) {
    fs.mkdirSync(root, { recursive: true });
    await writeJsonAtomic(file, wanted);
    return;
  }
  const differs = (Object.keys(wanted) as (keyof BenchSettings)[]).filter((k) => JSON.stringify(had[k] ?? null) !== JSON.stringify(wanted[k]));
  if (differs.length) {
    throw new Error(`${root} was made by a bench run with other settings (${differs.map((k) => `${k}: ${JSON.stringify(had[k] ?? null)} there, ${JSON.stringify(wanted[k])} now`).join('; ')}): continue it with the same options, or use another --keep folder.`);
  }
}

type Part = Record<string, number | null | undefined>;
interface Scores { pearson: number | null; pearsonCovered: number | null; ssim: number | null; msSsim: number | null; frc50: number | null }
const pick = (p: Part | undefined): Scores => ({ pearson: p?.pearson ?? null, pearsonCovered: p?.pearsonCovered ?? null, ssim: p?.ssim ?? null, msSsim: p?.msSsim ?? null, frc50: p?.frc50 ?? null });

interface JobResult {
  object: string;
  dose: number;
  view: string;
  gridsize: number;
  status: string;
  /** fresh: trained by this bench run; resumed: continued from a checkpoint; reused: finished earlier, scored again. */
  run: 'fresh' | 'resumed' | 'reused';
  epochs: number | null;
  stopReason: string | null;
  wallSeconds: number;
  trainingSeconds: number | null;
  patternsPerSec: number | null;
  threads: number | null;
  evaluation: unknown;
  amplitude: { trained: Scores; untrained: Scores; flat: Scores };
  phase: { trained: Scores; untrained: Scores; flat: Scores };
  iterative: { algorithm: string; status: string; wallSeconds: number; sameEvaluation: boolean; amplitude: Scores; phase: Scores } | null;
  /** Gridsize 2: the group refinement's iterations (chosen by 'auto' or set), and the network's own figures beside the refined headline. */
  groupRefinement: number | null;
  networkAlone: { amplitude: Scores; phase: Scores } | null;
  /** Gridsize 1: the per-pattern phase ramps against the truth's (scripts/phase-ramps.ts). */
  ramps: RampFidelity | null;
}

function readJson(file: string): Record<string, any> | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (s: string): void => { process.stderr.write(`${s}\n`); };
  const root = args.keep ? path.resolve(args.keep) : fs.mkdtempSync(path.join(os.tmpdir(), 'bench-quality-'));
  const objects = args.objects ?? (args.quick ? ['structured'] : ['structured', 'smooth']);
  const doses = args.doses ?? (args.quick ? [1e5] : [1e5, 1e3]);
  const views = args.views ?? (args.quick ? ['baseline', 'dense'] : ['baseline', 'dense', 'sparse']);
  const nImages = args.nImages ?? (args.quick ? 768 : 4096);
  const epochs = args.epochs ?? (args.quick ? 6 : undefined);
  log(`bench:quality — ${objects.join(', ')} objects × doses ${doses.map((d) => d.toExponential(0)).join(', ')} × ${views.join(', ')}; ${nImages} patterns per dose (N = 64), ${epochs ? `${epochs} epochs` : 'default epochs (50, early stopping)'}; study in ${root}`);
  log(`machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`);
  await checkKeptSettings(root, { nImages, epochs: epochs ?? null, trainArgs: args.trainArgs });
  // The children get the terminal's Ctrl-C themselves and cancel with a checkpoint; the bench then stops (cli()).
  process.on('SIGINT', () => undefined);
  const started = performance.now();
  const results: JobResult[] = [];
  try {
    await runJobs();
  } catch (err) {
    if (!(err instanceof BenchCancelled)) throw err;
    if (results.length) process.stdout.write(table(results));
    log(`cancelled (${err.message}) after ${results.length} finished jobs. The same command${args.keep ? '' : ` with --keep ${root}`} continues it: finished jobs are scored again, the cancelled one resumes from its checkpoint.`);
    process.exitCode = CANCELLED;
    return;
  }
  const total = (performance.now() - started) / 1000;
  if (args.json) {
    for (const r of results) process.stdout.write(`${JSON.stringify(r)}\n`);
  } else {
    process.stdout.write(table(results));
    const trained = results.reduce((sum, r) => sum + (r.trainingSeconds ?? 0), 0);
    process.stdout.write(`\n${results.length} jobs in ${(total / 60).toFixed(1)} min (training and the iterative baseline)${results.some((r) => r.run !== 'fresh') ? `; ${(trained / 60).toFixed(1)} min of training in all, earlier bench runs included (jobs marked * resumed or reused)` : ''}. Columns t/u/f/i: trained, untrained, flat, iterative (ePIE, 50 iterations, on the same evaluation); gridsize 2 refined by N iterations: the network alone's rows below.\n`);
  }
  if (!args.keep) fs.rmSync(root, { recursive: true, force: true });

  async function runJobs(): Promise<void> {
    for (const object of objects) {
      const study = path.join(root, object);
      if (!fs.existsSync(path.join(study, 'phase_c'))) {
        const sim = cli(['simulate', '--out', study, '--n-images', String(nImages), '--doses', doses.join(','), '--object', object], log);
        if (sim.status !== 0) throw new Error(`simulating the ${object} study failed`);
      }
      const missing = doses.filter((d) => !fs.existsSync(path.join(study, 'phase_c', `dose_${Math.trunc(d)}`)));
      if (missing.length) throw new Error(`the kept ${object} study ${study} was simulated without dose ${missing.join(', ')}: use another --keep folder for these doses`);
      for (const dose of doses) {
        for (const view of views) {
          const gridsize = view === 'baseline' ? 1 : 2;
          const dir = path.join(study, 'phase_e', `dose_${Math.trunc(dose)}`, view, `gs${gridsize}`);
          // A kept study's job resumes from its checkpoint: one cancelled (or its process killed) trains on, one that
          // finished is only scored again (reused). The resume key refuses a checkpoint of other settings — other
          // defaults of a newer version included — so a kept study never mixes two configurations.
          const before = args.keep ? readJson(path.join(dir, 'manifest.json')) : undefined;
          const run: JobResult['run'] = before?.status === 'succeeded' ? 'reused' : args.keep && fs.existsSync(path.join(dir, 'checkpoint.npz')) ? 'resumed' : 'fresh';
          log(`training ${object} dose ${dose.toExponential(0)} ${view} …${run === 'fresh' ? '' : ` (${run === 'reused' ? 'finished in an earlier bench run: scored again' : 'resumed from its checkpoint'})`}`);
          const train = cli(['train', '--workspace', study, '--dose', String(dose), '--view', view, ...(run === 'fresh' ? [] : ['--resume']), ...(epochs ? ['--epochs', String(epochs)] : []), ...args.trainArgs], log);
          const manifest = readJson(path.join(dir, 'manifest.json'));
          const metrics = readJson(path.join(dir, 'metrics.json'));
          const steps = manifest?.result?.steps ?? null;
          const batch = manifest?.training?.batchSize ?? null;
          const seconds = manifest?.timing?.trainingSeconds ?? null;
          results.push({
            object, dose, view, gridsize, status: manifest?.status ?? `exit ${train.status}`,
            epochs: manifest?.result?.epochs ?? null, stopReason: manifest?.result?.stopReason ?? null,
            run, wallSeconds: run === 'fresh' ? train.seconds : seconds ?? train.seconds, trainingSeconds: seconds,
            patternsPerSec: steps && batch && seconds ? (steps * batch * gridsize * gridsize) / seconds : null,
            threads: manifest?.runtime?.threads ?? null,
            evaluation: metrics?.evaluation ?? null,
            amplitude: { trained: pick(metrics?.amplitude), untrained: pick(metrics?.untrained?.amplitude), flat: pick(metrics?.flat?.amplitude) },
            phase: { trained: pick(metrics?.phase), untrained: pick(metrics?.untrained?.phase), flat: pick(metrics?.flat?.phase) },
            iterative: null,
            groupRefinement: metrics?.groupRefinementSelection?.chosen ?? metrics?.groupRefinement?.iterations ?? null,
            networkAlone: metrics?.networkAlone ? { amplitude: pick(metrics.networkAlone.amplitude), phase: pick(metrics.networkAlone.phase) } : null,
            ramps: null,
          });
          const r = results.at(-1)!;
          log(`  ${r.status}, ${r.epochs} epochs, ${r.wallSeconds.toFixed(0)} s; amplitude r ${fmt(r.amplitude.trained.pearsonCovered)} (region ${fmt(r.amplitude.trained.pearson)}), phase r ${fmt(r.phase.trained.pearsonCovered)} (region ${fmt(r.phase.trained.pearson)})`);
          if (gridsize === 1 && r.status === 'succeeded') {
            // How well the per-pattern phase ramps (the local phase gradient) follow the truth (item 15).
            r.ramps = await phaseRampFidelity(path.join(dir, 'model.onnx'), path.join(study, 'phase_c', `dose_${Math.trunc(dose)}`, 'patched_test.npz'));
            log(`  phase ramps of ${r.ramps.patterns} test patterns: r ${fmt(r.ramps.r[0])} / ${fmt(r.ramps.r[1])} (x / y), spread ${fmt(r.ramps.spread[0], 4)} rad/px (truth ${fmt(r.ramps.spread[1], 4)}); under each pattern after the planes: r ${fmt(r.ramps.residual.r)}, rms ${fmt(r.ramps.residual.rms[0])} rad (truth ${fmt(r.ramps.residual.rms[1])})`);
          }
          // The iterative baseline (Phase F, ePIE with its defaults) on the view's test split, scored on the same
          // common evaluation as the trained model.
          const rdir = path.join(study, 'phase_f', `dose_${Math.trunc(dose)}`, view, 'test', 'epie');
          log(`reconstructing ${object} dose ${dose.toExponential(0)} ${view} (epie) …`);
          const recon = cli(['reconstruct', '--workspace', study, '--dose', String(dose), '--view', view, '--algorithm', 'epie'], log);
          const rm = readJson(path.join(rdir, 'metrics.json'));
          const rman = readJson(path.join(rdir, 'manifest.json'));
          r.iterative = {
            algorithm: 'epie', status: rman?.status ?? `exit ${recon.status}`, wallSeconds: recon.seconds,
            sameEvaluation: JSON.stringify(rm?.evaluation?.region ?? null) === JSON.stringify(metrics?.evaluation?.region ?? null),
            amplitude: pick(rm?.amplitude), phase: pick(rm?.phase),
          };
          log(`  ${r.iterative.status}, ${recon.seconds.toFixed(0)} s; amplitude r ${fmt(r.iterative.amplitude.pearsonCovered)}, phase r ${fmt(r.iterative.phase.pearsonCovered)}${r.iterative.sameEvaluation ? '' : ' (NOT the same evaluation region)'}`);
        }
      }
    }
  }
}

function fmt(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits);
}

function table(results: JobResult[]): string {
  const head = ['object', 'dose', 'job', 'epochs', 'wall s', 'pat/s', 'part', 'r covered t/u/i', 'r region t/u/f/i', 'SSIM t/u/f/i', 'MS-SSIM t/u/f/i', 'FRC50 c/px t/u/f/i'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const part of ['amplitude', 'phase'] as const) {
      const s = r[part];
      const it = r.iterative?.[part];
      const three = (k: keyof Scores): string => `${fmt(s.trained[k])} / ${fmt(s.untrained[k])} / ${fmt(s.flat[k])} / ${fmt(it?.[k])}`;
      rows.push([
        part === 'amplitude' ? r.object : '', part === 'amplitude' ? r.dose.toExponential(0) : '', part === 'amplitude' ? `${r.view} gs${r.gridsize}` : r.groupRefinement ? `refined ${r.groupRefinement}` : '',
        part === 'amplitude' ? `${r.epochs ?? r.status}${r.run === 'fresh' ? '' : '*'}` : '', part === 'amplitude' ? r.wallSeconds.toFixed(0) : '', part === 'amplitude' ? fmt(r.patternsPerSec, 1) : '',
        part, `${fmt(s.trained.pearsonCovered)} / ${fmt(s.untrained.pearsonCovered)} / ${fmt(it?.pearsonCovered)}`, three('pearson'), three('ssim'), three('msSsim'), three('frc50'),
      ]);
    }
    // Refined (gridsize 2): the trained network's own stitch, the same weightings, no refinement.
    for (const part of ['amplitude', 'phase'] as const) {
      const alone = r.networkAlone?.[part];
      if (!alone) continue;
      const one = (k: keyof Scores): string => `${fmt(alone[k])} / — / — / —`;
      rows.push(['', '', part === 'amplitude' ? 'network alone' : '', '', '', '', part, `${fmt(alone.pearsonCovered)} / — / —`, one('pearson'), one('ssim'), one('msSsim'), one('frc50')]);
    }
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

main().catch((err: unknown) => {
  process.stderr.write(`bench:quality failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
