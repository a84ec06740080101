// Names and paths of the study's folders and artifacts. These names are contracts shared with the
// seed study's Python tools, the extension, the worker and the tests: change none of them lightly.
import * as path from 'node:path';

export const GRIDSIZE_BASELINE = 1;
export const GRIDSIZE_OVERLAP = 2;
export const BASELINE_VIEW = 'baseline';
/** Views every Phase D study is expected to have; other view names found on disk are jobs too. */
export const EXPECTED_VIEWS = ['dense', 'sparse'] as const;
export const SPLITS = ['train', 'test'] as const;
export type Split = (typeof SPLITS)[number];

/** Per-job artifact file names (the seed study's layout plus ours). */
export const ARTIFACT = {
  trainLog: 'train.log',
  events: 'events.jsonl',
  manifest: 'manifest.json',
  runConfig: 'run-config.json',
  checkpoint: 'checkpoint.npz',
  model: 'model.onnx',
  reconstruction: 'reconstruction.npz',
  metrics: 'metrics.json',
  amplitudePng: 'amplitude.png',
  phasePng: 'phase.png',
  /** Export for Ptychodus (core/export/ptychodus.ts): belongs to the run it was made from. */
  ptychodusProduct: 'ptychodus_product.npz',
} as const;

/** What `ptycho-study apply` writes into the folder it is given, its record (apply.json) last. */
export const APPLY_RECORD = 'apply.json';
export const APPLY_OUTPUTS = [ARTIFACT.reconstruction, ARTIFACT.amplitudePng, ARTIFACT.phasePng, APPLY_RECORD] as const;

/** Study-level artifact file names at the artifact root. */
export const STUDY_ARTIFACT = {
  trainingManifest: 'training_manifest.json',
  skipSummary: 'skip_summary.json',
} as const;

/** `dose_<int>`: the study names dose folders with int(dose). */
export function doseFolderName(dose: number): string {
  return `dose_${Math.trunc(dose)}`;
}

/** Parses `dose_1000` (also `dose_1e3`, `dose_1000.0`) → 1000; undefined if the name is not a dose folder. */
export function parseDoseFolder(name: string): number | undefined {
  const m = /^dose_([0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)$/i.exec(name);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Legacy Phase C folder `dose_<d>_<split>` → {dose, split}. */
export function parseLegacyDoseSplitFolder(name: string): { dose: number; split: Split } | undefined {
  const m = /^dose_([0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?)_(train|test)$/i.exec(name);
  if (!m) return undefined;
  const dose = Number(m[1]);
  return Number.isFinite(dose) && dose > 0 ? { dose, split: m[2].toLowerCase() as Split } : undefined;
}

/** View names become a folder and a job-id segment, so only [A-Za-z0-9_-]+ is accepted (no `..`, no separators). */
export function isValidViewName(view: string): boolean {
  return /^[A-Za-z0-9_-]+$/.test(view);
}

export function jobId(dose: number, view: string, gridsize: number): string {
  return `${doseFolderName(dose)}/${view}/gs${gridsize}`;
}

/** Inverse of jobId: `dose_1000/dense/gs2` → parts, or undefined. */
export function parseJobId(id: string): { dose: number; view: string; gridsize: number } | undefined {
  const m = /^(dose_[^/]+)\/([A-Za-z0-9_-]+)\/gs([0-9]+)$/.exec(id.trim());
  if (!m) return undefined;
  const dose = parseDoseFolder(m[1]);
  if (dose === undefined) return undefined;
  return { dose, view: m[2], gridsize: Number(m[3]) };
}

export function artifactDirFor(artifactRoot: string, dose: number, view: string, gridsize: number): string {
  return path.join(artifactRoot, doseFolderName(dose), view, `gs${gridsize}`);
}

/** Canonical Phase C files. */
export function phaseCFiles(phaseCRoot: string, dose: number): Record<Split, string> {
  const dir = path.join(phaseCRoot, doseFolderName(dose));
  return { train: path.join(dir, 'patched_train.npz'), test: path.join(dir, 'patched_test.npz') };
}

/** Canonical (nested) Phase D files. */
export function phaseDNestedFiles(phaseDRoot: string, dose: number, view: string): Record<Split, string> {
  const dir = path.join(phaseDRoot, doseFolderName(dose), view);
  return { train: path.join(dir, `${view}_train.npz`), test: path.join(dir, `${view}_test.npz`) };
}

/** Human-readable dose: 1000 → "1e3". */
export function formatDose(dose: number): string {
  if (dose > 0 && Number.isInteger(Math.log10(dose))) return `1e${Math.log10(dose)}`;
  return String(dose);
}
