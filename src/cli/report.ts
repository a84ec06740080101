// `ptycho-study report`: the study report folder (src/core/report) of the matching jobs; --json / --csv also print
// metrics_summary.json + metrics_delta_summary.json, or comparison_metrics.csv, to stdout for scripts.
import * as path from 'node:path';
import { shellQuote, writeStudyReport } from '../core/report';
import type { StudyLayout } from '../core/study/discovery';
import type { JobFilter } from '../core/study/jobs';
import { bool, str, UsageError, type FlagSpec, type Parsed } from './args';
import type { CliIO } from './commands';
import { phaseFRootOf, PHASE_F_ROOT_FLAG, PHASE_F_ROOT_HELP } from './reconstruct';

export const REPORT_USAGE = 'ptycho-study report [roots] [--phase-f-root D] [--dose X] [--view V] [--gridsize G] [--out DIR] [--json | --csv]';

export const REPORT_FLAGS: FlagSpec = { ...PHASE_F_ROOT_FLAG, out: { type: 'string' }, json: { type: 'boolean' }, csv: { type: 'boolean' } };

export const REPORT_HELP = [
  'Writes one folder: comparison_metrics.csv (dose,view,method,split,part,metric,value), metrics_summary.json,',
  'metrics_delta_summary.json (PINN − iterative per dose × view: ms_ssim, ssim, mae, psnr, frc50; lower MAE is better;',
  '  the headline, and the network alone without group refinement where its metrics.json has it),',
  'comparison_figure.png/.svg (dose × view × method, shared colour scales), jobs/<job id>/ (manifest.json, amplitude.png,',
  'phase.png) and README.md (what was compared, when, software, differing settings, the command regenerating each job).',
  'Jobs without metrics (data missing, never run, failed, …) are listed with why; the report is still written.',
];

export const REPORT_OPTIONS_HELP = [
  PHASE_F_ROOT_HELP,
  '  --out DIR              the report folder (default: report beside Phase C); refused inside a job folder',
  '  --json                 also print metrics_summary.json and metrics_delta_summary.json as one JSON object',
  '  --csv                  also print comparison_metrics.csv',
];

export interface ReportDeps {
  loadStudy(p: Parsed, io: CliIO): Promise<StudyLayout>;
  filterOf(p: Parsed): JobFilter;
}

/** The command line as parsed (flags in the order given), for the report's README. */
function commandLine(p: Parsed): string {
  const args = Object.entries(p.values).flatMap(([k, v]) => (v === undefined || v === false ? [] : v === true ? [`--${k}`] : [`--${k}`, shellQuote(v)]));
  return ['ptycho-study', 'report', ...args].join(' ');
}

export async function cmdReport(p: Parsed, io: CliIO, deps: ReportDeps): Promise<number> {
  const json = bool(p, 'json');
  const csv = bool(p, 'csv');
  if (json && csv) throw new UsageError('--json and --csv exclude each other.');
  const filter = deps.filterOf(p);
  const layout = await deps.loadStudy(p, io);
  const phaseFRoot = phaseFRootOf(p, io, layout);
  const given = str(p, 'out');
  const outDir = given ? path.resolve(io.cwd, given) : path.join(path.dirname(layout.phaseCRoot ?? layout.artifactRoot), 'report');
  const report = await writeStudyReport({
    roots: { phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot, artifactRoot: layout.artifactRoot, phaseFRoot },
    outDir, command: commandLine(p), filter,
  });
  if (json) {
    io.out(JSON.stringify({ report: report.outDir, summary: report.summary, deltas: report.deltas }, null, 2));
  } else if (csv) {
    for (const line of report.csvText.replace(/\n$/, '').split('\n')) io.out(line);
  } else {
    io.out(`Study report in ${report.outDir}: ${report.jobs} jobs with metrics, ${report.absent.length} without, ${report.rows.length} metric rows.`);
    for (const a of report.absent) io.out(`  absent ${a.id}: ${a.reason}`);
    const tally = (report.deltas as { tally?: Record<string, number> }).tally ?? {};
    io.out(`PINN − iterative: PINN better in ${tally.pinn ?? 0}, iterative in ${tally.iterative ?? 0}, ties ${tally.tie ?? 0} (see ${path.basename(report.files.delta)}).`);
    const alone = (report.deltas as { tallyNetworkAlone?: Record<string, number> }).tallyNetworkAlone;
    if (alone) io.out(`The network alone (no group refinement) − iterative: PINN better in ${alone.pinn ?? 0}, iterative in ${alone.iterative ?? 0}, ties ${alone.tie ?? 0}.`);
  }
  // stderr keeps a script's stdout clean
  if (json || csv) io.err(`report written to ${report.outDir}`);
  return 0;
}
