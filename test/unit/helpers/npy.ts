// Shared helpers for the npy-*.test.ts suites.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NpyFormatError, openNpz, type NdArray } from '../../../src/core/npy';
import { fixturesDir } from './paths';

export const npyFixtures = path.join(fixturesDir, 'npy');

export interface ExpectedArray {
  descr: string;
  shape: number[];
  fortran: boolean;
  values: Array<number | string>;
}

export interface ExpectedFile {
  kind: 'npz' | 'npy';
  compression?: 'stored' | 'deflated';
  members?: Record<string, ExpectedArray>;
  metadata?: string;
  bad_members?: string[];
  version?: number;
  array?: ExpectedArray;
  bad?: boolean;
}

export function loadExpected(): { numpy: string; files: Record<string, ExpectedFile> } {
  return JSON.parse(fs.readFileSync(path.join(npyFixtures, 'expected.json'), 'utf8'));
}

/** Values in expected.json's encoding: nan/inf as strings, 8-byte ints as decimal strings. */
export function encodeValues(data: ArrayLike<number | bigint | string | boolean>): Array<number | string> {
  const out: Array<number | string> = [];
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v === 'bigint') out.push(v.toString());
    else if (typeof v === 'boolean') out.push(v ? 1 : 0);
    else if (typeof v === 'string') out.push(v);
    else if (Number.isNaN(v)) out.push('nan');
    else if (v === Infinity) out.push('inf');
    else if (v === -Infinity) out.push('-inf');
    else out.push(v);
  }
  return out;
}

export function assertArrayMatches(arr: NdArray, want: ExpectedArray, label: string): void {
  assert.equal(arr.dtype.descr, want.descr, `${label}: descr`);
  assert.deepEqual(arr.shape, want.shape, `${label}: shape`);
  assert.deepStrictEqual(encodeValues(arr.data), want.values, `${label}: values`);
}

/** Asserts `err` is an NpyFormatError naming `file` (and `member` when given, or no member when null). */
export function assertFormatError(err: unknown, file: string, member?: string | null, problem?: RegExp): NpyFormatError {
  if (!(err instanceof NpyFormatError)) {
    assert.fail(`expected NpyFormatError, got ${err instanceof Error ? `${err.constructor.name}: ${err.message}\n${err.stack}` : String(err)}`);
  }
  assert.equal(err.file, file);
  assert.ok(err.message.includes(file), `message names the file: ${err.message}`);
  if (member === null) assert.equal(err.member, undefined, `no member expected: ${err.message}`);
  else if (member !== undefined) {
    assert.equal(err.member, member, err.message);
    assert.ok(err.message.includes(`[${member}]`), `message names the member: ${err.message}`);
  }
  if (problem) assert.match(err.problem, problem);
  return err;
}

export async function expectFormatError(p: Promise<unknown>, file: string, member?: string | null, problem?: RegExp): Promise<NpyFormatError> {
  try {
    await p;
  } catch (err) {
    return assertFormatError(err, file, member, problem);
  }
  return assert.fail(`expected NpyFormatError for ${file}${member ? ` [${member}]` : ''}, but it succeeded`);
}

/** Every member of an .npz, read (a test's view of a whole archive). */
export async function readAllArrays(file: string): Promise<Record<string, NdArray>> {
  const a = await openNpz(file);
  try {
    const out: Record<string, NdArray> = {};
    for (const name of a.members.keys()) out[name] = await a.readArray(name);
    return out;
  } finally {
    await a.close();
  }
}
