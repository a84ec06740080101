// Study discovery: a pure function of the file system (plus the configured roots). It lists folders
// and file names only; no .npz is opened here (datasets are inspected per job, after filtering).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Finding } from './findings';
import {
  doseFolderName, isValidViewName, parseDoseFolder, parseLegacyDoseSplitFolder, SPLITS, type Split,
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
  /**
   * Layout notes worth telling the user (e.g. a view found both nested and flat, a listing cut short, more than
   * one study under the workspace: `ambiguity.message` is one of them).
   */
  notes: string[];
  /** Set when the searched folder held more than one study: which one is used, the others, and how to choose. */
  ambiguity?: StudyAmbiguity;
  /**
   * Problems with the tree itself, each about one path: a dataset that is not a regular file (a FIFO, device or
   * socket is never opened), a dose or view name that cannot make a unique job folder. Jobs whose split paths
   * these name carry them too.
   */
  findings: Finding[];
}

export interface DiscoverOptions {
  phaseCRoot?: string;
  phaseDRoot?: string;
  artifactRoot?: string;
  /**
   * One study's folder, or one of its Phase C/D roots, chosen by the user (VS Code's Choose Study Root…): used
   * when no root is given, instead of searching `workspace`. See resolveStudyRoot.
   */
  studyRoot?: string;
  /** Folder to search for roots when none is given (a workspace folder). */
  workspace?: string;
}

/** One study found by the root search: a Phase C and/or a Phase D root that belong together. */
export interface StudyCandidate {
  /** The folder the study lives in: the roots' nearest common folder (for a single root, its parent). */
  folder: string;
  phaseCRoot?: string;
  phaseDRoot?: string;
}

/** More than one study under the searched folder: the one used, the others, and a one-line note saying how to choose. */
export interface StudyAmbiguity {
  chosen: StudyCandidate;
  /** The other studies, in the order they would be chosen. */
  others: StudyCandidate[];
  /** One line for the user (also in `notes`): what was used, what else was found, and how to pick another. */
  message: string;
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
  const walk = new Walk();
  let ambiguity: StudyAmbiguity | undefined;
  if (!phaseCRoot && !phaseDRoot && (options.studyRoot || options.workspace)) {
    const found = options.studyRoot
      ? await resolveStudyRoot(options.studyRoot, walk)
      : await findStudyRoots(path.resolve(options.workspace!), walk);
    phaseCRoot = found.phaseCRoot;
    phaseDRoot = found.phaseDRoot;
    ambiguity = found.ambiguity;
  }
  const artifactRoot = path.resolve(options.artifactRoot ?? defaultArtifactRoot(phaseCRoot, phaseDRoot, options.studyRoot ?? options.workspace));
  const doses = new Map<number, DoseEntry>();
  const entry = (dose: number): DoseEntry => {
    let e = doses.get(dose);
    if (!e) doses.set(dose, (e = { dose, views: new Map() }));
    return e;
  };
  const notes = walk.notes;
  let hasPhaseD = Boolean(phaseDRoot);

  if (phaseCRoot) {
    const legacy = new Map<number, Partial<Record<Split, string>>>();
    const claim = doseClaims(walk);
    for (const d of doseOrder(await walk.dirs(phaseCRoot))) {
      const dir = path.join(phaseCRoot, d);
      const dose = claim(dir, parseDoseFolder(d));
      if (dose !== undefined) {
        entry(dose).phaseC = splitFiles('phase-c', dir, (s) => `patched_${s}.npz`, (await walk.list(dir)).files);
        for (const v of await findNestedViews(dir, walk)) {
          hasPhaseD = true;
          entry(dose).views.set(v.view, v.files('phase-d-in-phase-c'));
        }
        continue;
      }
      const leg = parseLegacyDoseSplitFolder(d);
      if (!leg || !integerDose(dir, leg.dose, walk)) continue;
      const file = await findLegacyFile(dir, leg.split, walk);
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
    const claim = doseClaims(walk);
    for (const d of doseOrder(await walk.dirs(phaseDRoot))) {
      const dir = path.join(phaseDRoot, d);
      const dose = claim(dir, parseDoseFolder(d));
      if (dose === undefined) continue;
      const e = entry(dose);
      const nested = await findNestedViews(dir, walk);
      for (const v of nested) e.views.set(v.view, v.files('phase-d-nested'));
      for (const v of await findFlatViews(dir, walk)) {
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
    ...(ambiguity ? { ambiguity } : {}),
    findings: walk.findings,
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

async function findLegacyFile(dir: string, split: Split, walk: Walk): Promise<string | undefined> {
  const { files } = await walk.list(dir);
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
async function findNestedViews(doseDir: string, walk: Walk): Promise<FoundView[]> {
  const out: FoundView[] = [];
  for (const view of await walk.dirs(doseDir)) {
    if (view.startsWith('.')) continue;
    const dir = path.join(doseDir, view);
    const { files: present, special } = await walk.list(dir);
    // A split that exists but is not a regular file still makes the view (the job is then invalid, not missing).
    if (!SPLITS.some((s) => present.has(`${view}_${s}.npz`) || special.has(`${view}_${s}.npz`))) continue;
    if (!viewNameOk(dir, view, walk)) continue;
    out.push({
      view,
      files: (layout) => ({ ...splitFiles(layout, dir, (s) => `${view}_${s}.npz`, present), metricsPath: metricsPaths(dir, view, present) }),
    });
  }
  return out;
}

/** `<dose>/<view>_{train,test}.npz`. */
async function findFlatViews(doseDir: string, walk: Walk): Promise<{ view: string; files: SplitFiles }[]> {
  const { files: present, special } = await walk.list(doseDir);
  const views = new Set<string>();
  for (const f of [...present, ...special]) {
    const m = /^(.+)_(train|test)\.npz$/.exec(f);
    if (m && m[1] !== 'patched' && viewNameOk(path.join(doseDir, f), m[1], walk)) views.add(m[1]);
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
  /** The chosen study's roots (`studies[0]`). */
  phaseCRoot?: string;
  phaseDRoot?: string;
  /** Every folder that looked like a study root (before pairing). */
  candidates: { dir: string; kind: 'phase-c' | 'phase-d' }[];
  /** The studies the candidates make, paired by belonging together, in the order they are chosen (see orderStudies). */
  studies: StudyCandidate[];
  /** Set when there is more than one study (its message is also in `notes`). */
  ambiguity?: StudyAmbiguity;
  /** Why the search was cut short, if it was; how roots were paired; the ambiguity. */
  notes: string[];
}

const SKIP_DIRS = new Set(['node_modules', '.git', 'phase_e', 'phase_f', 'phase_g', 'out', 'dist', '.vscode', '.tools', '__pycache__']);
/** Folder levels below the workspace searched for study roots. */
export const MAX_SEARCH_DEPTH = 4;
/** Folders the root search visits at most (a huge or adversarial tree cannot stall discovery). */
export const MAX_SEARCH_DIRS = 2000;
/** Entries read per folder at most (a folder with millions of files is listed in bounded time). */
export const MAX_ENTRIES_PER_DIR = 10_000;
/** Other studies named in the ambiguity message at most (all of them are in `ambiguity.others`). */
const MAX_OTHERS_NAMED = 3;

/**
 * Finds Phase C and Phase D roots under `workspace` (folders holding `dose_*` folders, classified by what the
 * dose folders hold), pairs them into studies by belonging together (pairStudies), and chooses one
 * deterministically (orderStudies). More than one study is reported in `ambiguity`, never chosen silently.
 */
export async function findStudyRoots(workspace: string, walk: Walk = new Walk()): Promise<FoundRoots> {
  const candidates: FoundRoots['candidates'] = [];
  // Real paths already searched: folder symlinks (a link to `.`, a cycle) are followed once, never again.
  const visited = new Set<string>();
  let frontier = [workspace];
  search: for (let depth = 0; depth <= MAX_SEARCH_DEPTH && frontier.length > 0; depth++) {
    const next: string[] = [];
    for (const dir of frontier) {
      const real = await fs.promises.realpath(dir).catch(() => undefined);
      if (real === undefined || visited.has(real)) continue;
      if (visited.size >= MAX_SEARCH_DIRS) {
        walk.notes.push(`Stopped searching ${workspace} for study roots after ${MAX_SEARCH_DIRS} folders; set ptychoStudy.phaseCRoot / phaseDRoot (or --phase-c-root / --phase-d-root) if the study was not found.`);
        break search;
      }
      visited.add(real);
      const kinds = await rootKinds(dir, walk);
      for (const kind of kinds) candidates.push({ dir, kind });
      if (kinds.length > 0) continue; // do not descend into a study root
      for (const c of await walk.dirs(dir)) if (!c.startsWith('.') && !SKIP_DIRS.has(c)) next.push(path.join(dir, c));
    }
    frontier = next;
  }
  return choose(workspace, candidates, walk);
}

/**
 * The study at a folder the user chose (Choose Study Root…): a folder holding a study (searched like a
 * workspace), or a Phase C or Phase D root itself, paired with the root of the other kind beside it.
 * Throws StudyNotFoundError when the folder is missing or holds no study.
 */
export async function resolveStudyRoot(dir: string, walk: Walk = new Walk()): Promise<FoundRoots> {
  const root = path.resolve(dir);
  if (!(await isDir(root))) throw new StudyNotFoundError(`Study root ${root} is not a folder.`);
  const own = await rootKinds(root, walk);
  let found: FoundRoots;
  if (own.length === 0) {
    found = await findStudyRoots(root, walk);
  } else {
    // A root itself: its study is its folder; only roots beside it can belong with it.
    const parent = path.dirname(root);
    const candidates: FoundRoots['candidates'] = own.map((kind) => ({ dir: root, kind }));
    for (const name of await walk.dirs(parent)) {
      const sibling = path.join(parent, name);
      if (sibling === root || name.startsWith('.') || SKIP_DIRS.has(name)) continue;
      for (const kind of await rootKinds(sibling, walk)) if (!own.includes(kind)) candidates.push({ dir: sibling, kind });
    }
    const studies = orderStudies(pairStudies(candidates)).filter((s) => s.phaseCRoot === root || s.phaseDRoot === root);
    found = { phaseCRoot: studies[0].phaseCRoot, phaseDRoot: studies[0].phaseDRoot, candidates, studies, notes: walk.notes };
    notePairing(studies[0], walk);
  }
  if (!found.phaseCRoot && !found.phaseDRoot) {
    throw new StudyNotFoundError(`No study found in ${root}: expected folders of dose_<int> folders (Phase C: dose_<int>/patched_{train,test}.npz).`);
  }
  return found;
}

/** Pairs the candidates, orders the studies and, when there is more than one, says which is used and how to choose. */
function choose(searched: string, candidates: FoundRoots['candidates'], walk: Walk): FoundRoots {
  const studies = orderStudies(pairStudies(candidates));
  const [chosen, ...others] = studies;
  const found: FoundRoots = { phaseCRoot: chosen?.phaseCRoot, phaseDRoot: chosen?.phaseDRoot, candidates, studies, notes: walk.notes };
  if (chosen) notePairing(chosen, walk);
  if (others.length > 0) {
    const named = others.slice(0, MAX_OTHERS_NAMED).map(describeStudy).join('; ');
    const more = others.length > MAX_OTHERS_NAMED ? `; and ${others.length - MAX_OTHERS_NAMED} more` : '';
    const message = `Found ${studies.length} studies under ${searched}; using ${describeStudy(chosen)}. Also found: ${named}${more}. `
      + 'To use another, pass --workspace <its folder> or --phase-c-root/--phase-d-root (VS Code: "Choose Study Root…" or the ptychoStudy.phaseCRoot/phaseDRoot settings).';
    found.ambiguity = { chosen, others, message };
    walk.notes.push(message);
  }
  return found;
}

/** A study whose roots are not siblings is used only with a note saying so. */
function notePairing(s: StudyCandidate, walk: Walk): void {
  if (!s.phaseCRoot || !s.phaseDRoot || path.dirname(s.phaseCRoot) === path.dirname(s.phaseDRoot)) return;
  walk.notes.push(`Phase C ${s.phaseCRoot} and Phase D ${s.phaseDRoot} are not in the same folder; they are used as one study because one lies inside the other's folder (${s.folder}).`);
}

function describeStudy(s: StudyCandidate): string {
  const roots = [s.phaseCRoot ? `Phase C ${s.phaseCRoot}` : 'no Phase C', s.phaseDRoot ? `Phase D ${s.phaseDRoot}` : 'no Phase D'];
  return `${s.folder} (${roots.join(', ')})`;
}

/** Kinds of study root `dir` is (by the dose folders it holds): none, Phase C or Phase D. */
async function rootKinds(dir: string, walk: Walk): Promise<('phase-c' | 'phase-d')[]> {
  const doseDirs = (await walk.dirs(dir)).filter((c) => parseDoseFolder(c) !== undefined || parseLegacyDoseSplitFolder(c) !== undefined);
  return doseDirs.length > 0 ? classifyRoot(dir, doseDirs, walk) : [];
}

const CONVENTIONAL = { 'phase-c': /phase[_-]?c/i, 'phase-d': /phase[_-]?d/i } as const;

/** Number of the study's roots named conventionally (phase_c, phase_d, …). */
function conventionalNames(c: string | undefined, d: string | undefined): number {
  return (c && CONVENTIONAL['phase-c'].test(path.basename(c)) ? 1 : 0) + (d && CONVENTIONAL['phase-d'].test(path.basename(d)) ? 1 : 0);
}

function segments(p: string): string[] {
  return path.resolve(p).split(path.sep).filter(Boolean);
}

/** The deepest folder holding both paths. */
function commonFolder(a: string, b: string): string {
  const sa = segments(a);
  const sb = segments(b);
  let i = 0;
  while (i < sa.length && i < sb.length && sa[i] === sb[i]) i++;
  return path.join(path.parse(path.resolve(a)).root, ...sa.slice(0, i));
}

/** `p` lies strictly inside `folder`. */
function isInside(p: string, folder: string): boolean {
  const rel = path.relative(folder, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Plain code-unit order (the same on every machine and locale). */
function byText(a: string | undefined, b: string | undefined): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Pairs Phase C and Phase D roots that belong together: siblings (the same parent) first; then a root lying
 * inside the other one's folder (`s/phase_c` with `s/out/phase_d`: their nearest common folder is the parent of
 * one of them), the nearest first. Roots of unrelated folders (`a/phase_c`, `b/phase_d`) are never paired: each
 * is a study of its own. Ties go to conventional names, then to plain path order. Each root is in one study.
 */
function pairStudies(candidates: FoundRoots['candidates']): StudyCandidate[] {
  const cs = candidates.filter((x) => x.kind === 'phase-c').map((x) => x.dir);
  const ds = candidates.filter((x) => x.kind === 'phase-d').map((x) => x.dir);
  const pairs: { c: string; d: string; rank: number; distance: number; folder: string }[] = [];
  for (const c of cs) {
    for (const d of ds) {
      if (c === d) continue;
      const pc = path.dirname(c);
      const pd = path.dirname(d);
      const rank = pc === pd ? 0 : isInside(d, pc) || isInside(c, pd) ? 1 : -1;
      if (rank < 0) continue;
      const folder = commonFolder(c, d);
      const depth = segments(folder).length;
      pairs.push({ c, d, rank, folder, distance: segments(c).length + segments(d).length - 2 * depth });
    }
  }
  pairs.sort((a, b) => a.rank - b.rank || a.distance - b.distance || conventionalNames(b.c, b.d) - conventionalNames(a.c, a.d) || byText(a.c, b.c) || byText(a.d, b.d));
  const used = new Set<string>();
  const studies: StudyCandidate[] = [];
  for (const p of pairs) {
    if (used.has(p.c) || used.has(p.d)) continue;
    used.add(p.c);
    used.add(p.d);
    studies.push({ folder: p.folder, phaseCRoot: p.c, phaseDRoot: p.d });
  }
  for (const c of cs) if (!used.has(c)) studies.push({ folder: path.dirname(c), phaseCRoot: c });
  for (const d of ds) if (!used.has(d)) studies.push({ folder: path.dirname(d), phaseDRoot: d });
  return studies;
}

/**
 * The order studies are chosen in: the shallowest folder first (the workspace's own study before one nested
 * deeper), then a study with both Phase C and Phase D, then conventional names, then plain path order.
 */
function orderStudies(studies: StudyCandidate[]): StudyCandidate[] {
  const complete = (s: StudyCandidate): number => (s.phaseCRoot && s.phaseDRoot ? 1 : 0);
  return [...studies].sort((a, b) => segments(a.folder).length - segments(b.folder).length || complete(b) - complete(a)
    || conventionalNames(b.phaseCRoot, b.phaseDRoot) - conventionalNames(a.phaseCRoot, a.phaseDRoot)
    || byText(a.folder, b.folder) || byText(a.phaseCRoot, b.phaseCRoot) || byText(a.phaseDRoot, b.phaseDRoot));
}

async function classifyRoot(dir: string, doseDirs: string[], walk: Walk): Promise<('phase-c' | 'phase-d')[]> {
  let c = false;
  let d = false;
  for (const name of doseDirs) {
    if (parseLegacyDoseSplitFolder(name)) { c = true; continue; }
    const doseDir = path.join(dir, name);
    const { files } = await walk.list(doseDir);
    if (files.has('patched_train.npz') || files.has('patched_test.npz') || files.has('patched.npz')) c = true;
    if ([...files].some((f) => /^(.+)_(train|test)\.npz$/.test(f) && !f.startsWith('patched_'))) d = true;
    if (!c && (await findNestedViews(doseDir, walk)).length > 0) d = true;
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

/** One folder's entries, split by kind. Symlinks count as what they point at. */
interface Listing {
  dirs: string[];
  /** Regular files: the only files discovery ever hands on to be opened. */
  files: Set<string>;
  /** FIFOs, devices and sockets (directly or behind a symlink): reported, never opened. */
  special: Set<string>;
}

/**
 * One discovery pass: lists each folder at most once (bounded by MAX_ENTRIES_PER_DIR), and collects the notes
 * and findings about the tree. Everything is asynchronous: the extension runs discovery on its UI thread.
 */
export class Walk {
  readonly notes: string[] = [];
  readonly findings: Finding[] = [];
  private readonly listings = new Map<string, Promise<Listing>>();
  private readonly reported = new Set<string>();

  report(f: Finding): void {
    const key = `${f.file}|${f.rule}`;
    if (this.reported.has(key)) return;
    this.reported.add(key);
    this.findings.push(f);
  }

  list(dir: string): Promise<Listing> {
    let l = this.listings.get(dir);
    if (!l) this.listings.set(dir, (l = this.read(dir)));
    return l;
  }

  async dirs(dir: string): Promise<string[]> {
    return (await this.list(dir)).dirs;
  }

  private async read(dir: string): Promise<Listing> {
    const out: Listing = { dirs: [], files: new Set(), special: new Set() };
    let handle: fs.Dir;
    try {
      handle = await fs.promises.opendir(dir);
    } catch {
      return out;
    }
    let seen = 0;
    try {
      for await (const e of handle) {
        if (++seen > MAX_ENTRIES_PER_DIR) {
          this.notes.push(`${dir} has more than ${MAX_ENTRIES_PER_DIR} entries; only the first ${MAX_ENTRIES_PER_DIR} were looked at.`);
          break; // leaving the loop closes the directory
        }
        const kind = e.isSymbolicLink() ? await targetKind(path.join(dir, e.name)) : kindOf(e);
        if (kind === 'dir') out.dirs.push(e.name);
        else if (kind === 'file') out.files.add(e.name);
        else if (kind === 'special') {
          out.special.add(e.name);
          if (/\.(npz|json)$/i.test(e.name)) {
            this.report({
              file: path.join(dir, e.name), rule: 'FILE-TYPE', severity: 'error',
              message: `${e.name} is not a regular file (a FIFO, device or socket${e.isSymbolicLink() ? ', behind a symlink' : ''}); it is never opened. Replace it with the real file.`,
            });
          }
        }
      }
    } catch {
      // The folder vanished or became unreadable mid-listing: keep what was read.
    }
    out.dirs.sort();
    return out;
  }
}

type EntryKind = 'dir' | 'file' | 'special' | 'other';

function kindOf(s: fs.Dirent | fs.Stats): EntryKind {
  if (s.isDirectory()) return 'dir';
  if (s.isFile()) return 'file';
  if (s.isFIFO() || s.isCharacterDevice() || s.isBlockDevice() || s.isSocket()) return 'special';
  return 'other';
}

/** What a symlink points at (stat follows it; stat never opens, so a FIFO target cannot block). */
async function targetKind(p: string): Promise<EntryKind> {
  try {
    return kindOf(await fs.promises.stat(p));
  } catch {
    return 'other'; // dangling, or a loop (ELOOP)
  }
}

/**
 * A dose's job folder is `dose_<int>`: a non-integer dose (dose_1.5) would share dose_1's folder, and two
 * spellings of one dose (dose_1000, dose_1e3) would share one job. Returns a claim function per root that
 * accepts the first folder of each integer dose (canonical names sort first) and reports the others.
 */
function doseClaims(walk: Walk): (dir: string, dose: number | undefined) => number | undefined {
  const claimed = new Map<number, string>();
  return (dir, dose) => {
    if (dose === undefined || !integerDose(dir, dose, walk)) return undefined;
    const first = claimed.get(dose);
    if (first !== undefined) {
      walk.report({
        file: dir, rule: 'LAYOUT-NAME', severity: 'warning',
        message: `${path.basename(dir)} names dose ${dose}, like ${path.basename(first)}; ignored so that each dose has one job folder (rename or remove it).`,
      });
      return undefined;
    }
    claimed.set(dose, dir);
    return dose;
  };
}

function integerDose(dir: string, dose: number, walk: Walk): boolean {
  if (Number.isInteger(dose)) return true;
  walk.report({
    file: dir, rule: 'LAYOUT-NAME', severity: 'warning',
    message: `${path.basename(dir)} names the non-integer dose ${dose}; job folders are named ${doseFolderName(dose)} (int(dose)), so it is ignored. Rename it dose_<int>.`,
  });
  return false;
}

/** Dose folder names with the canonical `dose_<int>` spelling first, so it wins a duplicate. */
function doseOrder(names: string[]): string[] {
  const canonical = (n: string): number => {
    const d = parseDoseFolder(n);
    return d !== undefined && n === doseFolderName(d) ? 0 : 1;
  };
  return [...names].sort((a, b) => canonical(a) - canonical(b) || a.localeCompare(b));
}

/** View names become a folder and a job-id segment: only [A-Za-z0-9_-]+ (no `..`, no separators). */
function viewNameOk(file: string, view: string, walk: Walk): boolean {
  if (isValidViewName(view)) return true;
  walk.report({
    file, rule: 'LAYOUT-NAME', severity: 'warning',
    message: `View name "${view}" is not made of letters, digits, _ and -; ignored (it cannot name a job folder safely).`,
  });
  return false;
}
