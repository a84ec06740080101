// Crash-safe file writes: a reader (or a process killed at any instant) sees either the old file or the
// new one, never a torn one. Write a temporary file in the same folder, fsync it, rename it over the target.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openAppendNoFollow } from './run/safeFiles';

export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const tmp = tempPathFor(target);
  // 'wx' (O_EXCL): never open through something planted at the temporary name; the rename then replaces the
  // target itself, so a symlink at `target` is replaced, not followed.
  const handle = await fs.promises.open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

export async function writeJsonAtomic(target: string, value: unknown): Promise<void> {
  await writeFileAtomic(target, JSON.stringify(value, null, 2) + '\n');
}

/**
 * Appends whole lines to a log. One `write` per call on an O_APPEND descriptor, so concurrent writers
 * never interleave inside a line, and a crash loses at most the line being written. A symlink at `target` is
 * refused (UnsafePathError), never followed.
 */
export async function appendLines(target: string, lines: string[]): Promise<void> {
  if (lines.length === 0) return;
  await fs.promises.mkdir(path.dirname(target), { recursive: true });
  const handle = await openAppendNoFollow(target);
  try {
    await handle.appendFile(lines.map((l) => l.replace(/\n/g, ' ') + '\n').join(''));
  } finally {
    await handle.close();
  }
}
