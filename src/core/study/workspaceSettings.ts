// The `ptychoStudy.*` settings of a workspace folder, read from its files for the CLI, so a job planned from a
// terminal in the folder gets the settings the VS Code extension gives it there (the mapping to option objects is
// settingsKeys.ts, shared with the extension). Two files, each optional:
//   <folder>/ptycho-study.json      JSON (comments and trailing commas tolerated), keys dotted
//                                   {"ptychoStudy.training.epochs": 20} or nested {"ptychoStudy": {"training": {"epochs": 20}}}
//   <folder>/.vscode/settings.json  VS Code's workspace settings (JSONC); only the ptychoStudy.* keys are read
// ptycho-study.json wins over .vscode/settings.json key by key; the CLI's flags win over both.
//
// The files come with the folder (a cloned repository), so they are read as untrusted input: a regular file of at
// most SETTINGS_FILE_MAX_BYTES, opened without blocking (a FIFO, a device, a symlink loop, a folder, a huge or
// invalid file is skipped with a one-line warning naming it, never a hang or a crash); values of the wrong type
// and unknown keys are ignored with a warning; and the settings VS Code ignores in an untrusted workspace because
// they would weaken validation (training.allowIntensityData) are never taken from a file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileKind } from '../npy/reader';
import { describeValue, settingTypeProblem, SETTINGS_SECTION, type SettingGet } from './settingsKeys';

export const WORKSPACE_SETTINGS_FILE = 'ptycho-study.json';
export const VSCODE_SETTINGS_FILE = path.join('.vscode', 'settings.json');
/** Largest settings file read (a real one is a few KB). */
export const SETTINGS_FILE_MAX_BYTES = 1 << 20;
/** Warnings per file before the rest are counted only. */
const MAX_WARNINGS_PER_FILE = 8;
/** Deepest nesting of the nested form ({"ptychoStudy": {"training": {"epochs": 1}}} is 3). */
const MAX_DEPTH = 6;

/**
 * Settings a workspace file cannot set, and what to do instead. These are package.json's restricted
 * configurations (ignored in an untrusted VS Code workspace) whose value would weaken validation: a repository
 * someone clones cannot make bad data look valid. The command line can still set them.
 */
export const NOT_FROM_WORKSPACE_FILES: Readonly<Record<string, string>> = Object.freeze({
  'training.allowIntensityData': 'a workspace file cannot make intensity-like data look valid; pass --allow-intensity-data to accept it',
});

/**
 * package.json's other restricted configurations, which files do set, and why. The study roots are where the study
 * is: the CLI is run in the folder by its user, as a trusted VS Code window reads them (an untrusted window runs no
 * training at all); the poll interval is not read by the CLI. A unit test keeps this list and package.json equal.
 */
export const RESTRICTED_READ_FROM_FILES: Readonly<Record<string, string>> = Object.freeze({
  phaseCRoot: 'study root', phaseDRoot: 'study root', artifactRoot: 'study root', phaseFRoot: 'study root', pollIntervalSeconds: 'not read by the CLI',
});

export interface WorkspaceSettings {
  /** The folder whose files were read (relative roots resolve in it). */
  folder: string;
  /** The files that set at least one `ptychoStudy.*` value, highest precedence first (absolute paths). */
  files: string[];
  /** A value by its key relative to the section ('training.epochs'): the first file's that sets it. */
  get: SettingGet;
  /** The file the value of `key` comes from (undefined: no file sets it). */
  origin(key: string): string | undefined;
  /** The keys some file sets. */
  keys(): string[];
  /** One line each: a file skipped, a value ignored (each names its file). */
  warnings: string[];
}

export class JsoncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsoncError';
  }
}

/**
 * JSONC → JSON: `//` and `/* … *\/` comments become spaces (line breaks kept, so positions still point into the
 * original) and trailing commas before `}` or `]` are dropped; strings (with their escapes) are left alone, so a
 * `//` or `/*` inside one is text. Linear in the input. Throws JsoncError for an unterminated block comment.
 */
export function stripJsonc(text: string): string {
  const n = text.length;
  const parts: string[] = [];
  let from = 0;
  const blank = (s: string): string => s.replace(/[^\r\n]/g, ' ');
  // Pass 1: comments → spaces.
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (c === '"') {
      i = stringEndIn(text, i);
    } else if (c === '/' && text[i + 1] === '/') {
      let j = i + 2;
      while (j < n && text[j] !== '\n' && text[j] !== '\r') j++;
      parts.push(text.slice(from, i), blank(text.slice(i, j)));
      from = i = j;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw new JsoncError(`unterminated /* comment at line ${lineOf(text, i)}`);
      parts.push(text.slice(from, i), blank(text.slice(i, end + 2)));
      from = i = end + 2;
    } else {
      i++;
    }
  }
  parts.push(text.slice(from));
  const plain = parts.join('');
  // Pass 2: a comma followed (after white space) by } or ] goes.
  const out: string[] = [];
  from = 0;
  i = 0;
  while (i < n) {
    const c = plain[i];
    if (c === '"') {
      i = stringEndIn(plain, i);
    } else if (c === ',') {
      let j = i + 1;
      while (j < n && (plain[j] === ' ' || plain[j] === '\t' || plain[j] === '\n' || plain[j] === '\r')) j++;
      if (plain[j] === '}' || plain[j] === ']') {
        out.push(plain.slice(from, i), ' ');
        from = i + 1;
      }
      i = j;
    } else {
      i++;
    }
  }
  out.push(plain.slice(from));
  return out.join('');
}

/** The end (exclusive) of the string starting at `i` (a quote): after its closing quote, or where its line ends (unterminated: JSON.parse reports it). */
function stringEndIn(text: string, i: number): number {
  const n = text.length;
  let j = i + 1;
  while (j < n) {
    const c = text[j];
    if (c === '\\') j += 2;
    else if (c === '"') return j + 1;
    else if (c === '\n' || c === '\r') return j;
    else j++;
  }
  return n;
}

function lineOf(text: string, pos: number): number {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text[i] === '\n') line++;
  return line;
}

/** Parses JSONC (see stripJsonc). Throws JsoncError, one line (a JSON error with its line). */
export function parseJsonc(text: string): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const json = stripJsonc(body);
  try {
    return JSON.parse(json);
  } catch (err) {
    const msg = String((err as Error).message).split('\n')[0].slice(0, 160);
    const pos = /position (\d+)/.exec(msg);
    throw new JsoncError(`${msg}${pos ? ` (line ${lineOf(json, Number(pos[1]))})` : ''}`);
  }
}

type Read = { text: string } | { absent: true } | { problem: string };

// O_NONBLOCK: opening a FIFO never waits for a writer; fstat then refuses anything but a regular file.
const READ_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

/** The text of a small regular file, or why it is not read (absent: no such file). Never blocks, never reads more than the cap. */
function readBounded(file: string, maxBytes: number): Read {
  let fd: number;
  try {
    fd = fs.openSync(file, READ_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { absent: true };
    if (code === 'ELOOP') return { problem: 'is a loop of symbolic links; it is not read' };
    return { problem: `cannot be opened (${code ?? (err as Error).message})` };
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return { problem: `is ${fileKind(st)}, not a regular file; it is not read` };
    if (st.size > maxBytes) return { problem: `is ${(st.size / 2 ** 20).toFixed(1)} MiB, over the ${maxBytes / 2 ** 20} MiB a settings file may take; it is not read` };
    // Read to the end, but never more than the cap: a file that grows meanwhile (or reports size 0, as /proc does)
    // is still cut there.
    const buf = Buffer.allocUnsafe(maxBytes + 1);
    let got = 0;
    for (;;) {
      const r = fs.readSync(fd, buf, got, buf.length - got, null);
      if (r === 0) break;
      got += r;
      if (got > maxBytes) return { problem: `is over the ${maxBytes / 2 ** 20} MiB a settings file may take; it is not read` };
    }
    return { text: buf.toString('utf8', 0, got) };
  } catch (err) {
    return { problem: `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})` };
  } finally {
    fs.closeSync(fd);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * The `ptychoStudy.*` values of a parsed settings object, keys relative to the section, in both the dotted and
 * the nested form (mixed too: {"ptychoStudy.training": {"epochs": 1}}); other keys are not looked at.
 */
export function settingsEntries(doc: Record<string, unknown>, problem: (message: string) => void): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (obj: Record<string, unknown>, prefix: string, depth: number): void => {
    for (const [k, v] of Object.entries(obj)) {
      const full = prefix ? `${prefix}.${k}` : k;
      if (full !== SETTINGS_SECTION && !full.startsWith(`${SETTINGS_SECTION}.`)) continue;
      if (isObject(v)) {
        if (depth >= MAX_DEPTH) problem(`${full} is nested too deep; ignored.`);
        else walk(v, full, depth + 1);
      } else if (full === SETTINGS_SECTION) {
        problem(`${SETTINGS_SECTION} must be an object of settings (got ${describeValue(v)}); ignored.`);
      } else {
        out.set(full.slice(SETTINGS_SECTION.length + 1), v);
      }
    }
  };
  walk(doc, '', 0);
  return out;
}

interface Layer {
  file: string;
  values: Map<string, unknown>;
}

/** Reads one settings file into its honoured `ptychoStudy.*` values; every problem is a warning naming the file. */
function readLayer(file: string, warnings: string[]): Layer {
  const values = new Map<string, unknown>();
  let told = 0;
  let untold = 0;
  const warn = (message: string): void => {
    if (told < MAX_WARNINGS_PER_FILE) {
      warnings.push(`${file}: ${message}`);
      told++;
    } else untold++;
  };
  const done = (): Layer => {
    if (untold) warnings.push(`${file}: ${untold} more problem${untold === 1 ? '' : 's'} not shown.`);
    return { file, values };
  };
  const read = readBounded(file, SETTINGS_FILE_MAX_BYTES);
  if ('absent' in read) return done();
  if ('problem' in read) {
    warn(`${read.problem}; its settings are ignored.`);
    return done();
  }
  let doc: unknown;
  try {
    doc = parseJsonc(read.text);
  } catch (err) {
    warn(`not valid JSON: ${(err as Error).message}; its settings are ignored.`);
    return done();
  }
  if (!isObject(doc)) {
    warn(`must hold a JSON object of settings (got ${describeValue(doc)}); its settings are ignored.`);
    return done();
  }
  for (const [key, v] of settingsEntries(doc, warn)) {
    const name = `${SETTINGS_SECTION}.${key}`;
    const refused = NOT_FROM_WORKSPACE_FILES[key];
    if (refused !== undefined) {
      warn(`${name} is not honoured from a workspace file (${refused}); ignored.`);
      continue;
    }
    const problem = settingTypeProblem(key, v);
    if (problem) {
      warn(`${name} ${problem}${problem.startsWith('is not') ? '' : ` (got ${describeValue(v)})`}; ignored.`);
      continue;
    }
    values.set(key, v);
  }
  return done();
}

/**
 * The settings of `folder`'s files: ptycho-study.json over .vscode/settings.json, key by key. Missing files are no
 * settings; unreadable or invalid ones are skipped with a warning in `warnings`. Synchronous and bounded (two
 * small reads).
 */
export function readWorkspaceSettings(folder: string): WorkspaceSettings {
  const dir = path.resolve(folder);
  const warnings: string[] = [];
  const layers = [readLayer(path.join(dir, WORKSPACE_SETTINGS_FILE), warnings), readLayer(path.join(dir, VSCODE_SETTINGS_FILE), warnings)];
  const layerOf = (key: string): Layer | undefined => layers.find((l) => l.values.has(key));
  return {
    folder: dir,
    files: layers.filter((l) => l.values.size > 0).map((l) => l.file),
    get: (key) => layerOf(key)?.values.get(key),
    origin: (key) => layerOf(key)?.file,
    keys: () => [...new Set(layers.flatMap((l) => [...l.values.keys()]))],
    warnings,
  };
}

/**
 * `ptycho-study.json` alone, for the extension: VS Code already gives it `.vscode/settings.json` (and the user's
 * settings), and this file's values take precedence over them as they do in the CLI, so the tree and the terminal
 * plan the same run.
 */
export function readProjectSettingsFile(folder: string): WorkspaceSettings {
  const dir = path.resolve(folder);
  const warnings: string[] = [];
  const layer = readLayer(path.join(dir, WORKSPACE_SETTINGS_FILE), warnings);
  return {
    folder: dir,
    files: layer.values.size > 0 ? [layer.file] : [],
    get: (key) => layer.values.get(key),
    origin: (key) => (layer.values.has(key) ? layer.file : undefined),
    keys: () => [...layer.values.keys()],
    warnings,
  };
}

/** No workspace settings (`--no-workspace-settings`): every value unset. */
export function noWorkspaceSettings(folder: string): WorkspaceSettings {
  return { folder: path.resolve(folder), files: [], get: () => undefined, origin: () => undefined, keys: () => [], warnings: [] };
}
