// Study discovery: a pure function of the file system (plus the configured roots). It lists folders
// and file names only; no .npz is opened here (datasets are inspected per job, after filtering).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  parseDoseFolder, parseLegacyDoseSplitFolder, SPLITS, type Split,
} from './layout';

/** Where a pair of split files was found (all layouts of domain.md §2–§4). */
export type DatasetLayout =
  | 'phase-c' //            <phase_c>/dose_<int>/patched_{train,test}.npz
  | 'phase-c-legacy' //     <phase_c>/dose_<d>_{train,test}/fly64_{train,test}_simulated.npz
  | 'phase-d-nested' //     <phase_d>/dose_<int>/<view>/<view>_{train,test}.npz (canonical)
  | 'phase-d-flat' //       <phase_d>/dose_<int>/<view>_{train,test}.npz
  | 'phase-d-in-phase-c'; // <phase_c>/dose_<int>/<view>/<view>_{train,test}.npz

export interface SplitFiles {
  layout: DatasetLayout;
  /** Folder the files live (or are expected) in. */
  dir: string;
  /** Paths of the split files that exist. */
  files: Partial<Record<Split, string>>;
  /** Expected path per split, used in "missing" messages. */
  expected: Record<Split, string>;
  /** Phase D `metrics_bundle.json` (or per-split metrics) when present. */
  metricsPath?: Partial<Record<'bundle' | Split, string>>;
}

export interface DoseEntry {
  dose: number;
  phaseC?: SplitFiles;
  /** Phase D views by name. */
  views: Map<string, SplitFiles>;
}

export interface StudyLayout {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot: string;
  /** Doses ascending. */
  doses: DoseEntry[];
  /** True when any Phase D source exists (a root or views nested in Phase C). */
  hasPhaseD: boolean;
  /** Layout notes worth telling the user (e.g. a view found both nested and flat). */
  notes: string[];
}

export interface DiscoverOptions {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot?: string;
  /** Folder to search for roots when none is given (a workspace folder). */
  workspace?: string;
}

export class StudyNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StudyNotFoundError';
  }
}

/** Resolves the roots (given or found under `workspace`) and lists the study. */
export async function discoverStudy(options: DiscoverOptions): Promise<StudyLayout> {
  let { phaseCRoot, phaseDRoot } = options;
  phaseCRoot = phaseCRoot ? path.resolve(phaseCRoot) : undefined;
  phaseDRoot = phaseDRoot ? path.resolve(phaseDRoot) : undefined;
  for (const [flag, root] of [['Phase C', phaseCRoot], ['Phase D', phaseDRoot]] as const) {
    if (root && !(await isDir(root))) throw new StudyNotFoundError(`${flag} root ${root} is not a folder.`);
  }
  if (!phaseCRoot && !phaseDRoot && options.workspace) {
    const found = await findStudyRoots(path.resolve(options.workspace));
    phaseCRoot = found.phaseCRoot;
    phaseDRoot = found.phaseDRoot;
  }
  const artifactRoot = path.resolve(options.artifactRoot ?? defaultArtifactRoot(phaseCRoot, phaseDRoot, options.workspace));
  const doses = new Map<number, DoseEntry>();
  const entry = (dose: number): DoseEntry => {
    let e = doses.get(dose);
    if (!e) doses.set(dose, (e = { dose, views: new Map() }));
    return e;
  };
  const notes: string[] = [];
  let hasPhaseD = Boolean(phaseDRoot);

  if (phaseCRoot) {
    const legacy = new Map<number, Partial<Record<Split, string>>>();
    for (const d of await listDirs(phaseCRoot)) {
      const dose = parseDoseFolder(d);
      const dir = path.join(phaseCRoot, d);
      if (dose !== undefined) {
        entry(dose).phaseC = splitFiles('phase-c', dir, (s) => `patched_${s}.npz`, await listFiles(dir));
        for (const v of await findNestedViews(dir)) {
          hasPhaseD = true;
          entry(dose).views.set(v.view, v.files('phase-d-in-phase-c'));
        }
        continue;
      }
      const leg = parseLegacyDoseSplitFolder(d);
      if (!leg) continue;
      const file = await findLegacyFile(dir, leg.split);
      legacy.set(leg.dose, { ...(legacy.get(leg.dose) ?? {}), ...(file ? { [leg.split]: file } : {}) });
    }
    // The legacy layout (PHASEC-METADATA-001) is used for a dose only when it has no patched_*.npz.
    for (const [dose, files] of legacy) {
      const e = entry(dose);
      if (e.phaseC && Object.keys(e.phaseC.files).length > 0) {
        notes.push(`Dose ${dose}: both patched_*.npz and the legacy dose_${Math.trunc(dose)}_{train,test}/ folders exist; using patched_*.npz.`);
        continue;
      }
      e.phaseC = { layout: 'phase-c-legacy', dir: phaseCRoot, files, expected: legacyExpected(phaseCRoot, dose) };
    }
  }

  if (phaseDRoot) {
    for (const d of await listDirs(phaseDRoot)) {
      const dose = parseDoseFolder(d);
      if (dose === undefined) continue;
      const dir = path.join(phaseDRoot, d);
      const e = entry(dose);
      const nested = await findNestedViews(dir);
      for (const v of nested) e.views.set(v.view, v.files('phase-d-nested'));
      for (const v of await findFlatViews(dir)) {
        if (e.views.has(v.view)) {
          notes.push(`Dose ${dose}: view "${v.view}" exists both nested (${v.view}/) and flat; using the nested files.`);
          continue;
        }
        e.views.set(v.view, v.files);
      }
    }
  }

  return {
    phaseCRoot,
    phaseDRoot,
    artifactRoot,
    doses: [...doses.values()].sort((a, b) => a.dose - b.dose),
    hasPhaseD,
    notes,
  };
}

/** Default artifact root: a `phase_e` folder beside Phase C (the seed study's layout). */
export function defaultArtifactRoot(phaseCRoot?: string, phaseDRoot?: string, workspace?: string): string {
  const anchor = phaseCRoot ?? phaseDRoot;
  if (anchor) return path.join(path.dirname(anchor), 'phase_e');
  return path.join(path.resolve(workspace ?? '.'), 'phase_e');
}

function splitFiles(layout: DatasetLayout, dir: string, nameOf: (s: Split) => string, present: Set<string>): SplitFiles {
  const files: Partial<Record<Split, string>> = {};
  const expected = {} as Record<Split, string>;
  for (const s of SPLITS) {
    const p = path.join(dir, nameOf(s));
    expected[s] = p;
    if (present.has(nameOf(s))) files[s] = p;
  }
  return { layout, dir, files, expected };
}

function legacyExpected(phaseCRoot: string, dose: number): Record<Split, string> {
  const e = {} as Record<Split, string>;
  for (const s of SPLITS) e[s] = path.join(phaseCRoot, `dose_${Math.trunc(dose)}_${s}`, `fly64_${s}_simulated.npz`);
  return e;
}

async function findLegacyFile(dir: string, split: Split): Promise<string | undefined> {
  const files = await listFiles(dir);
  const preferred = `fly64_${split}_simulated.npz`;
  if (files.has(preferred)) return path.join(dir, preferred);
  const npz = [...files].filter((f) => f.endsWith('.npz')).sort();
  const pick = npz.length === 1 ? npz[0] : npz.find((f) => f.includes(split));
  return pick ? path.join(dir, pick) : undefined;
}

interface FoundView {
  view: string;
  files: (layout: DatasetLayout) => SplitFiles;
}

/** `<dose>/<view>/<view>_{train,test}.npz` (plus metrics JSON). */
async function findNestedViews(doseDir: string): Promise<FoundView[]> {
  const out: FoundView[] = [];
  for (const view of await listDirs(doseDir)) {
    if (view.startsWith('.')) continue;
    const dir = path.join(doseDir, view);
    const present = await listFiles(dir);
    if (!SPLITS.some((s) => present.has(`${view}_${s}.npz`))) continue;
    out.push({
      view,
      files: (layout) => ({ ...splitFiles(layout, dir, (s) => `${view}_${s}.npz`, present), metricsPath: metricsPaths(dir, view, present) }),
    });
  }
  return out;
}

/** `<dose>/<view>_{train,test}.npz`. */
async function findFlatViews(doseDir: string): Promise<{ view: string; files: SplitFiles }[]> {
  const present = await listFiles(doseDir);
  const views = new Set<string>();
  for (const f of present) {
    const m = /^(.+)_(train|test)\.npz$/.exec(f);
    if (m && m[1] !== 'patched') views.add(m[1]);
  }
  return [...views].sort().map((view) => ({
    view,
    files: { ...splitFiles('phase-d-flat', doseDir, (s) => `${view}_${s}.npz`, present), metricsPath: metricsPaths(doseDir, view, present) },
  }));
}

function metricsPaths(dir: string, view: string, present: Set<string>): SplitFiles['metricsPath'] {
  const out: NonNullable<SplitFiles['metricsPath']> = {};
  if (present.has('metrics_bundle.json')) out.bundle = path.join(dir, 'metrics_bundle.json');
  for (const s of SPLITS) {
    for (const name of [`${view}_${s}_metrics.json`, `${s}_metrics.json`, `metrics_${s}.json`]) {
      if (present.has(name)) { out[s] = path.join(dir, name); break; }
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Roots found under a workspace folder. */
export interface FoundRoots {
  phaseCRoot?: string;
  phaseDRoot?: string;
  /** Other folders that also looked like study roots (ambiguity is reported, not guessed silently). */
  candidates: { dir: string; kind: 'phase-c' | 'phase-d' }[];
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'phase_e', 'phase_f', 'phase_g', 'out', 'dist', '.vscode', '.tools', '__pycache__']);
const MAX_SEARCH_DEPTH = 4;

/**
 * Finds Phase C and Phase D roots under `workspace`: folders holding `dose_*` folders, classified by what
 * the dose folders hold. Conventional names (`phase_c`, `phase_d`, `data/phase_c`, …) win ties.
 */
export async function findStudyRoots(workspace: string): Promise<FoundRoots> {
  const candidates: FoundRoots['candidates'] = [];
  let frontier = [workspace];
  for (let depth = 0; depth <= MAX_SEARCH_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of frontier) {
      const children = await listDirs(dir);
      const doseDirs = children.filter((c) => parseDoseFolder(c) !== undefined || parseLegacyDoseSplitFolder(c) !== undefined);
      if (doseDirs.length > 0) {
        const kinds = await classifyRoot(dir, doseDirs);
        for (const kind of kinds) candidates.push({ dir, kind });
        if (kinds.length > 0) continue; // do not descend into a study root
      }
      for (const c of children) if (!c.startsWith('.') && !SKIP_DIRS.has(c)) next.push(path.join(dir, c));
    }
    frontier = next;
  }
  const pick = (kind: 'phase-c' | 'phase-d'): string | undefined => {
    const list = candidates.filter((c) => c.kind === kind).map((c) => c.dir);
    const conventional = kind === 'phase-c' ? /phase[_-]?c/i : /phase[_-]?d/i;
    return list.find((d) => conventional.test(path.basename(d))) ?? list[0];
  };
  return { phaseCRoot: pick('phase-c'), phaseDRoot: pick('phase-d'), candidates };
}

async function classifyRoot(dir: string, doseDirs: string[]): Promise<('phase-c' | 'phase-d')[]> {
  let c = false;
  let d = false;
  for (const name of doseDirs) {
    if (parseLegacyDoseSplitFolder(name)) { c = true; continue; }
    const doseDir = path.join(dir, name);
    const files = await listFiles(doseDir);
    if (files.has('patched_train.npz') || files.has('patched_test.npz') || files.has('patched.npz')) c = true;
    if ([...files].some((f) => /^(.+)_(train|test)\.npz$/.test(f) && !f.startsWith('patched_'))) d = true;
    if (!c && (await findNestedViews(doseDir)).length > 0) d = true;
  }
  // Views nested inside Phase C dose folders are read with Phase C; the folder is not also a Phase D root.
  return c ? ['phase-c'] : d ? ['phase-d'] : [];
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isDirectory();
  } catch {
    return false;
  }
}

async function listDirs(dir: string): Promise<string[]> {
  try {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() || (e.isSymbolicLink() && isDirSync(path.join(dir, e.name)))).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

function isDirSync(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

async function listFiles(dir: string): Promise<Set<string>> {
  try {
    const entries = await fs.promises.readdir(dir, { withFileTypes: true });
    return new Set(entries.filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name));
  } catch {
    return new Set();
  }
}
