// Argument parsing for `ptycho-study`: strict (unknown flags are errors), typed values, one-line errors.
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { shellQuote } from '../core/study/cliCommand';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parse(argv: string[], flags: FlagSpec, maxPositionals: number): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...flags, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split('\n')[0]);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[maxPositionals]}".`);
  }
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

export function str(p: Parsed, name: string): string | undefined {
  const v = p.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, name: string): boolean {
  return p.values[name] === true;
}

/** Numbers like `1000`, `1e3`, `1e+03`. */
export function num(p: Parsed, name: string, opts: { integer?: boolean; min?: number } = {}): number | undefined {
  const raw = str(p, name);
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got "${raw}").`);
  if (opts.integer && !Number.isInteger(v)) throw new UsageError(`--${name} must be an integer (got "${raw}").`);
  if (opts.min !== undefined && v < opts.min) throw new UsageError(`--${name} must be at least ${opts.min} (got ${raw}).`);
  return v;
}

export function numList(p: Parsed, name: string): number[] | undefined {
  const raw = str(p, name);
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const out = parts.map((s) => Number(s));
  if (out.length === 0 || out.some((v) => !Number.isFinite(v) || v <= 0)) {
    throw new UsageError(`--${name} must be a comma-separated list of positive numbers (got "${raw}").`);
  }
  return out;
}

/** --NAME → true, --no-NAME → false, neither → undefined (both: a usage error). */
export function onOffChoice(p: Parsed, name: string): boolean | undefined {
  const on = bool(p, name);
  const off = bool(p, `no-${name}`);
  if (on && off) throw new UsageError(`--${name} and --no-${name} exclude each other.`);
  return on ? true : off ? false : undefined;
}

/** The root flags given (of `names`), as a shell-ready `--flag 'absolute path'` string for the commands a message suggests. */
export function givenRootFlags(p: Parsed, cwd: string, names: readonly string[]): string | undefined {
  return names.filter((f) => str(p, f) !== undefined).map((f) => `--${f} ${shellQuote(path.resolve(cwd, str(p, f)!))}`).join(' ') || undefined;
}
