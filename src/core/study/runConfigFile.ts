// Reading `<job>/run-config.json`, the plan a worker runs. The file lives in a folder others can write to, so it
// is read like any other input: a regular file of bounded size (never a FIFO), valid JSON, an object with the
// fields of a RunConfig of the right types, and a plan that writes only where it is: its artifact folder must be
// the folder the file is in, and the study root it records must contain that folder. Every refusal names the file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSmallFile } from '../run/safeFiles';
import { ARTIFACT } from './layout';
import type { RunConfig } from '../run/plan';
import { isInside } from '../paths';

/** Largest run-config.json read (a real one is a few KB). */
export const RUN_CONFIG_MAX_BYTES = 4 << 20;

export class RunConfigError extends Error {
  constructor(message: string, readonly path: string) {
    super(message);
    this.name = 'RunConfigError';
  }
}

const REWRITE = 'write the plan again (ptycho-study dry-run or train)';

/** The parsed JSON of `<jobDir>/run-config.json` (checked only to be an object), or RunConfigError naming the file. */
export async function readRunPlan(jobDir: string): Promise<Record<string, unknown>> {
  const file = path.join(jobDir, ARTIFACT.runConfig);
  let text: string;
  try {
    text = await readSmallFile(file, RUN_CONFIG_MAX_BYTES);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new RunConfigError(e.message.includes(file) ? `${e.message}` : `${file} cannot be read: ${e.message}`, file);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new RunConfigError(`${file} is not valid JSON (${(err as Error).message.slice(0, 200)}); ${REWRITE}.`, file);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new RunConfigError(`${file} must hold a JSON object (the run plan), not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}; ${REWRITE}.`, file);
  }
  return value as Record<string, unknown>;
}

/**
 * Reads and checks the training plan of `jobDir` (see checkRunConfig). `forComparison`: the plan is only compared
 * with another (a refused resume's list of differences), never run, so where it would write is not checked — a job
 * folder copied or moved with its study still says what it ran with.
 */
export async function readRunConfig(jobDir: string, opts: { forComparison?: boolean } = {}): Promise<RunConfig> {
  return checkRunConfig(await readRunPlan(jobDir), path.join(jobDir, ARTIFACT.runConfig), jobDir, opts);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 60 ? `a string of ${v.length} characters` : JSON.stringify(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function samePlace(a: string, b: string): boolean {
  if (path.resolve(a) === path.resolve(b)) return true;
  try {
    return fs.realpathSync.native(a) === fs.realpathSync.native(b);
  } catch {
    return false;
  }
}

/**
 * Checks the fields a worker relies on (types, ranges) and where the plan would write. Throws RunConfigError
 * naming the file and the field; returns the value as a RunConfig.
 */
export function checkRunConfig(c: Record<string, unknown>, file: string, jobDir: string, opts: { forComparison?: boolean } = {}): RunConfig {
  const fail = (field: string, want: string): never => {
    throw new RunConfigError(`${file}: ${field} must be ${want} (found ${describe(field.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], c))}); ${REWRITE}.`, file);
  };
  const str = (k: string, optional = false): void => {
    if (optional && c[k] === undefined) return;
    if (typeof c[k] !== 'string' || (c[k] as string).length === 0 || (c[k] as string).length > 4096) fail(k, 'a non-empty string');
  };
  const int = (k: string, min: number, optional = false): void => {
    if (optional && c[k] === undefined) return;
    if (!Number.isInteger(c[k]) || (c[k] as number) < min) fail(k, `an integer >= ${min}`);
  };
  const positive = (k: string): void => {
    if (typeof c[k] !== 'number' || !Number.isFinite(c[k]) || (c[k] as number) <= 0) fail(k, 'a positive number');
  };
  str('jobId');
  str('view');
  str('trainPath');
  str('testPath', true);
  str('diffractionKey');
  if (c.diffractionLayout !== 'nhw' && c.diffractionLayout !== 'hwn') fail('diffractionLayout', '"nhw" or "hwn"');
  positive('dose');
  positive('intensityScale');
  int('gridsize', 1);
  int('groupSize', 1);
  int('n', 1);
  int('trainPatterns', 1);
  int('testPatterns', 0, true);
  int('nGroups', 1);
  if (!c.training || typeof c.training !== 'object' || Array.isArray(c.training)) fail('training', 'an object of training settings');
  str('artifactDir');
  // A run writes into its own folder only, and the study manifest only into an artifact root above it.
  if (!opts.forComparison && !samePlace(c.artifactDir as string, jobDir)) {
    throw new RunConfigError(`${file}: artifactDir ${JSON.stringify(c.artifactDir)} is not the folder the plan is in (${jobDir}); a run writes only to its own artifact folder. ${REWRITE[0].toUpperCase()}${REWRITE.slice(1)}.`, file);
  }
  if (c.study !== undefined) {
    const study = c.study as Record<string, unknown> | null;
    if (!study || typeof study !== 'object' || Array.isArray(study) || typeof study.artifactRoot !== 'string') fail('study.artifactRoot', 'a folder path');
    const root = path.resolve((study as Record<string, string>).artifactRoot);
    if (!opts.forComparison && !isInside(root, path.resolve(jobDir))) {
      throw new RunConfigError(`${file}: study.artifactRoot ${JSON.stringify(root)} does not contain the job's artifact folder ${jobDir}; the run would write the study manifest elsewhere. ${REWRITE[0].toUpperCase()}${REWRITE.slice(1)}.`, file);
    }
  }
  if (c.evaluation !== undefined) {
    const ev = c.evaluation as Record<string, unknown> | null;
    if (!ev || typeof ev !== 'object' || typeof ev.datasetPath !== 'string') fail('evaluation.datasetPath', 'a dataset path');
  }
  return c as unknown as RunConfig;
}
