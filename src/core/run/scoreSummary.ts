// The text of a score (ptycho-study score, and the extension's output channel): what was scored on what, then
// trained / untrained / flat per metric; and of an applied model (ptycho-study apply). Light on purpose: the extension
// imports it without the scorer.
import * as path from 'node:path';
import { table } from '../text/table';
import type { ApplyResult } from './applyRun';
import { COMPARED_METRICS } from './compareRuns';
import type { ScoreResult } from './scoreRun';
import { describeContrastCalibration, type ContrastCalibrationSummary } from '../train/contrastCalibration';

type Part = Record<string, unknown>;
const partOf = (m: Record<string, unknown> | null | undefined, part: 'amplitude' | 'phase'): Part | undefined => (m && typeof m[part] === 'object' ? (m[part] as Part) : undefined);
const cell = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(Number(v.toPrecision(4))) : '—');

/** The score in a few lines: what was scored on what, then trained / untrained / flat per metric. */
export function describeScore(r: ScoreResult): string[] {
  const ev = r.evaluation;
  const lines = [
    `SCORED ${r.jobId}${r.runId ? `@${r.runId}` : ''} (gridsize ${r.model.gridsize}, N=${r.model.n}, ${r.model.objectSupport} support, trained at dose ${r.model.dose}, ${r.model.epochs} epochs)`,
    `  on ${r.dataset.path}: ${r.dataset.patterns} patterns${r.dataset.job ? ` — the job's own ${r.dataset.job} data` : ''}`,
    `  region ${ev.region.width}×${ev.region.height} at (${ev.region.x0}, ${ev.region.y0}), ${ev.grouping.groups} groups, coverage ${(100 * ev.coverage).toFixed(1)} %; probe overlap with the training probe ${r.probeOverlap === null ? '— (another shape)' : r.probeOverlap.toFixed(3)}`,
    `  ${r.provider}, ${r.threads} thread${r.threads === 1 ? '' : 's'}, ${r.seconds.toFixed(1)} s`,
    ...(r.metrics.contrastCalibration ? [`  ${describeContrastCalibration(r.metrics.contrastCalibration as ContrastCalibrationSummary)}`] : []),
  ];
  const m = r.metrics;
  const columns = [m, m.untrained as Record<string, unknown> | null, m.flat as Record<string, unknown> | null];
  if (!partOf(m, 'amplitude')) {
    lines.push(`  no metrics: ${typeof m.note === 'string' ? m.note : 'the evaluation gave none'}`);
  } else {
    const rows: string[][] = [];
    for (const part of ['amplitude', 'phase'] as const) {
      for (const metric of COMPARED_METRICS.filter((x) => ['pearsonCovered', 'pearson', 'ssim', 'msSsim', 'frc50'].includes(x.key))) {
        rows.push([part, metric.label, ...columns.map((c) => cell(partOf(c, part)?.[metric.key]))]);
      }
    }
    for (const line of table(['part', 'metric', 'trained', 'untrained', 'flat'], rows).split('\n')) lines.push(`  ${line}`);
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines;
}

/** An applied model in a few lines: what was applied to what, where the result went. */
export function describeApply(r: ApplyResult): string[] {
  const centroid = r.stitch.centroidRefinement as { accepted?: boolean; misfitBefore?: number; misfitAfter?: number } | undefined;
  const lines = [
    `APPLIED ${r.jobId}${r.runId ? `@${r.runId}` : ''} (gridsize ${r.model.gridsize}, N=${r.model.n}, ${r.model.objectSupport} support, trained at dose ${r.model.dose}, ${r.model.epochs} epochs)`,
    `  to ${r.dataset.path}: ${r.dataset.patterns} patterns${r.dataset.job ? ` — the job's own ${r.dataset.job} data` : ''}`,
    `  region ${r.region.width}×${r.region.height} at (${r.region.x0}, ${r.region.y0}), ${r.groups} groups, coverage ${(100 * r.coverage).toFixed(1)} %; probe overlap with the training probe ${r.probeOverlap === null ? '— (another shape)' : r.probeOverlap.toFixed(3)}`,
    ...(centroid && typeof centroid.misfitBefore === 'number' && typeof centroid.misfitAfter === 'number'
      ? [`  centroid step: misfit ${centroid.misfitBefore.toFixed(3)} → ${centroid.misfitAfter.toFixed(3)} detector px, ${centroid.accepted ? 'kept' : 'not kept'}`]
      : []),
    ...(r.stitch.contrastCalibration ? [`  ${describeContrastCalibration(r.stitch.contrastCalibration as ContrastCalibrationSummary)}`] : []),
    `  ${r.provider}, ${r.threads} thread${r.threads === 1 ? '' : 's'}, ${r.seconds.toFixed(1)} s`,
    `  wrote ${r.files.map((f) => path.basename(f)).join(', ')} in ${r.outDir}`,
  ];
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines;
}
