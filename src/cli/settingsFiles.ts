// The workspace's settings files in the CLI: every command that finds a study or plans a run reads the folder's
// ptycho-study.json and .vscode/settings.json (core/study/workspaceSettings.ts) through the mapping the VS Code
// extension uses (core/study/settingsKeys.ts), so a job planned in a terminal gets the settings the Jobs tree
// gives it. Precedence: command-line flags > ptycho-study.json > .vscode/settings.json > defaults. The folder is
// --workspace DIR, else the current folder; --no-workspace-settings reads no file. The files are read once per
// command (on first use); their warnings go to stderr, one line each, once. The files whose values a run used are
// recorded in its run config (settingsSources: manifest.json and run-config.json).
import * as path from 'node:path';
import type { SlurmOptions } from '../core/run/slurm';
import type { TrainingSettings } from '../core/study/config';
import type { ReconAlgorithm, ReconstructionSettings } from '../core/study/reconstructJobs';
import {
  discoverOptionsFromSettings, listedAlgorithmsFromSettings, phaseFRootFromSettings, reconstructionSettingKey, reconstructionSettingsFromSettings,
  slurmOptionsFromSettings, trainingSettingsFromSettings, trainingThreadsFromSettings, TRAINING_SETTING_KEYS, type SettingsReadOptions,
} from '../core/study/settingsKeys';
import { noWorkspaceSettings, readWorkspaceSettings, VSCODE_SETTINGS_FILE, WORKSPACE_SETTINGS_FILE, type WorkspaceSettings } from '../core/study/workspaceSettings';
import { bool, str, type FlagSpec, type Parsed } from './args';
import type { CliIO } from './commands';

export const WORKSPACE_SETTINGS_FLAG: FlagSpec = { 'no-workspace-settings': { type: 'boolean' } };
export const WORKSPACE_SETTINGS_HELP = [
  `  --no-workspace-settings  ignore the folder's ${WORKSPACE_SETTINGS_FILE} and ${VSCODE_SETTINGS_FILE} (flags and defaults only)`,
];

/** The top-level help's paragraph on the settings files. */
export const SETTINGS_FILES_HELP = [
  'Settings files: every command that finds a study (those taking --workspace: list, dry-run, train, submit,',
  'reconstruct, report, …) reads the ptychoStudy.* settings the VS Code extension uses in the workspace folder',
  `(--workspace DIR, else the current folder), from ${WORKSPACE_SETTINGS_FILE} (JSON: {"ptychoStudy.training.epochs": 20}`,
  `or nested {"ptychoStudy": {"training": {"epochs": 20}}}) and ${VSCODE_SETTINGS_FILE} (VS Code's; comments allowed).`,
  `Precedence: command-line flags > ${WORKSPACE_SETTINGS_FILE} > ${VSCODE_SETTINGS_FILE} > defaults; relative roots resolve`,
  'in the folder. A file that cannot be read and a value of the wrong type are skipped with a warning on stderr;',
  'training.allowIntensityData is never taken from a file (--allow-intensity-data is). A run records the files it used',
  '(settingsSources in its manifest); --no-workspace-settings ignores them.',
];

interface State {
  ws: WorkspaceSettings;
  io: CliIO;
  told: Set<string>;
  /** Keys (relative to the section) whose file value the command used. */
  used: Set<string>;
}

const states = new WeakMap<Parsed, State>();

/** The folder whose settings files a command reads: --workspace DIR, else the current folder. */
export function settingsFolderOf(p: Parsed, io: CliIO): string {
  const w = str(p, 'workspace');
  return w ? path.resolve(io.cwd, w) : io.cwd;
}

function tell(s: State, line: string): void {
  if (s.told.has(line)) return;
  s.told.add(line);
  s.io.err(line);
}

function stateOf(p: Parsed, io: CliIO): State {
  let s = states.get(p);
  if (!s) {
    const folder = settingsFolderOf(p, io);
    const ws = bool(p, 'no-workspace-settings') ? noWorkspaceSettings(folder) : readWorkspaceSettings(folder);
    s = { ws, io, told: new Set(), used: new Set() };
    states.set(p, s);
    for (const w of ws.warnings) tell(s, `warning: ${w}`);
    if (ws.files.length) tell(s, `note: settings from ${ws.files.join(' and ')} (flags override them; --no-workspace-settings ignores them)`);
  }
  return s;
}

/** Checked reading: a rejected value is a warning naming the file it came from. */
function readOptions(s: State): SettingsReadOptions {
  return { warn: (message, key) => tell(s, `warning: ${s.ws.origin(key) ?? 'workspace settings'}: ${message}`) };
}

/**
 * `flags` with each field a file sets and no flag does (`keyOf` names the field's setting); those settings are
 * recorded as used.
 */
function overlay<T extends object>(s: State, fromFiles: Partial<T>, flags: Partial<T>, keyOf: (field: string) => string | undefined): Partial<T> {
  const out: Record<string, unknown> = { ...flags };
  for (const [field, v] of Object.entries(fromFiles)) {
    const key = keyOf(field);
    if (v === undefined || key === undefined || s.ws.origin(key) === undefined || out[field] !== undefined) continue;
    out[field] = v;
    s.used.add(key);
  }
  return out as Partial<T>;
}

/** The training settings of the flags, completed from the files. */
export function trainingSettingsWithFiles(p: Parsed, io: CliIO, flags: Partial<TrainingSettings>): Partial<TrainingSettings> {
  const s = stateOf(p, io);
  const keys: Record<string, string> = TRAINING_SETTING_KEYS;
  return overlay(s, trainingSettingsFromSettings(s.ws.get, readOptions(s)), flags, (f) => keys[f]);
}

/** The reconstruction settings of the flags for `algorithm`, completed from the files. */
export function reconstructionSettingsWithFiles(p: Parsed, io: CliIO, algorithm: ReconAlgorithm, flags: Partial<ReconstructionSettings>): Partial<ReconstructionSettings> {
  const s = stateOf(p, io);
  return overlay(s, reconstructionSettingsFromSettings(s.ws.get, algorithm, readOptions(s)), flags, (f) => reconstructionSettingKey(algorithm, f));
}

/** The onnxruntime threads of a training run: --threads when given (0 = automatic), else training.threads of the files. */
export function threadsWithFiles(p: Parsed, io: CliIO, flag: { given: boolean; threads: number | undefined }): { threads: number | undefined; source: 'cli' | 'setting' } {
  if (flag.given) return { threads: flag.threads, source: 'cli' };
  const s = stateOf(p, io);
  const threads = trainingThreadsFromSettings(s.ws.get, readOptions(s));
  if (threads === undefined) return { threads: undefined, source: 'cli' };
  s.used.add('training.threads');
  return { threads, source: 'setting' };
}

/**
 * The study roots: the flags', else the files' (resolved in the folder). A Phase C or D root on the command line
 * replaces both of the files' (a given root means exactly this study); the artifact root is taken key by key.
 */
export function rootsWithFiles(p: Parsed, io: CliIO, flags: { phaseCRoot?: string; phaseDRoot?: string; artifactRoot?: string }): { phaseCRoot?: string; phaseDRoot?: string; artifactRoot?: string } {
  const s = stateOf(p, io);
  const files = discoverOptionsFromSettings(s.ws.get, s.ws.folder, readOptions(s));
  const given = flags.phaseCRoot !== undefined || flags.phaseDRoot !== undefined;
  const use = (key: 'phaseCRoot' | 'phaseDRoot' | 'artifactRoot'): string | undefined => {
    if (flags[key] !== undefined) return flags[key];
    if ((key !== 'artifactRoot' && given) || files[key] === undefined) return undefined;
    s.used.add(key);
    return files[key];
  };
  return { phaseCRoot: use('phaseCRoot'), phaseDRoot: use('phaseDRoot'), artifactRoot: use('artifactRoot') };
}

/** The Phase F root set in the files (undefined: none). */
export function phaseFRootFromFiles(p: Parsed, io: CliIO): string | undefined {
  const s = stateOf(p, io);
  const root = phaseFRootFromSettings(s.ws.get, s.ws.folder, readOptions(s));
  if (root !== undefined) s.used.add('phaseFRoot');
  return root;
}

/** reconstruction.algorithms of the files: the Phase F jobs listed for every dose × view (undefined: the default). */
export function listedAlgorithmsFromFiles(p: Parsed, io: CliIO): ReconAlgorithm[] | undefined {
  const s = stateOf(p, io);
  if (s.ws.origin('reconstruction.algorithms') === undefined) return undefined;
  return listedAlgorithmsFromSettings(s.ws.get, readOptions(s));
}

/** The Slurm options of the flags, completed from the files' slurm.* settings. */
export function slurmOptionsWithFiles(p: Parsed, io: CliIO, flags: SlurmOptions): SlurmOptions {
  const s = stateOf(p, io);
  const key = (f: string): string => `slurm.${f}`;
  return overlay(s, slurmOptionsFromSettings(s.ws.get, readOptions(s)), flags, key);
}

/** The files whose values the command used so far, highest precedence first (undefined: none). */
export function settingsSourcesOf(p: Parsed, io: CliIO): string[] | undefined {
  const s = stateOf(p, io);
  const used = new Set([...s.used].map((k) => s.ws.origin(k)));
  const files = s.ws.files.filter((f) => used.has(f));
  return files.length ? files : undefined;
}
