// Writing into artifact folders without being redirected by symlinks. A job folder lives in a tree other
// people (or other tools) can write to: a `train.log` planted as a symlink must not make us append to the
// file it points at, and a job folder that is a symlink to somewhere else must not receive our artifacts.
// Atomic writes (temp file + rename) replace a symlink rather than follow it; appends open with O_NOFOLLOW.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileKind } from '../npy/reader';
import { isInside } from '../paths';

/**
 * Raised when a write would go through a symlink or land outside the artifact root, or when a file that must be
 * a regular file (a log, a manifest, a lock) is a FIFO, socket, device or folder, or too large to be what it
 * claims. The message names the path.
 */
export class UnsafePathError extends Error {
  readonly code = 'UNSAFE_PATH';
  constructor(message: string, readonly path?: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

// O_NOFOLLOW is POSIX; Windows lacks it (0 here), and there symlinks need privileges to create.
const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
// O_NONBLOCK: opening a FIFO never waits for the other end (a read open returns at once, a write open without
// a reader fails with ENXIO); fstat then refuses anything but a regular file. No effect on regular files.
const NONBLOCK = fs.constants.O_NONBLOCK ?? 0;
const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | NOFOLLOW | NONBLOCK;
const READ_FLAGS = fs.constants.O_RDONLY | NONBLOCK;

function refuseLink(file: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  // Linux says ELOOP for a final-component symlink under O_NOFOLLOW; some BSDs say EMLINK.
  if (code === 'ELOOP' || code === 'EMLINK') {
    throw new UnsafePathError(`Refusing to write to ${file}: it is a symbolic link (artifact files are never written through links). Remove it and retry.`, file);
  }
  // A FIFO (or socket) with nobody reading it: a blocking open would wait forever.
  if (code === 'ENXIO' || code === 'EOPNOTSUPP') throw notRegular(file, 'a FIFO or socket');
  throw err;
}

function notRegular(file: string, kind: string): UnsafePathError {
  return new UnsafePathError(`${file} is ${kind}, not a regular file; it is never opened for reading or writing. Remove it and retry.`, file);
}

/** Opens `file` for appending, refusing a symlink in its place (no-follow) and anything but a regular file. */
export async function openAppendNoFollow(file: string): Promise<fs.promises.FileHandle> {
  if (!NOFOLLOW && (await fs.promises.lstat(file).catch(() => undefined))?.isSymbolicLink()) refuseLink(file, { code: 'ELOOP' });
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, APPEND_FLAGS, 0o644);
  } catch (err) {
    refuseLink(file, err);
  }
  const st = await fh.stat().catch(async (err) => {
    await fh.close();
    throw err;
  });
  if (!st.isFile()) {
    await fh.close();
    throw notRegular(file, fileKind(st));
  }
  return fh;
}

/** Synchronous twin of openAppendNoFollow (the worker's event log writes synchronously). */
export function openAppendNoFollowSync(file: string): number {
  if (!NOFOLLOW && lstatOrUndefined(file)?.isSymbolicLink()) refuseLink(file, { code: 'ELOOP' });
  let fd: number;
  try {
    fd = fs.openSync(file, APPEND_FLAGS, 0o644);
  } catch (err) {
    refuseLink(file, err);
  }
  const st = fs.fstatSync(fd);
  if (!st.isFile()) {
    fs.closeSync(fd);
    throw notRegular(file, fileKind(st));
  }
  return fd;
}

function tooLarge(file: string, size: number, maxBytes: number): UnsafePathError {
  const mib = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MiB`;
  return new UnsafePathError(`${file} is ${mib(size)}, over the ${mib(maxBytes)} such a file may take; it is not read.`, file);
}

/**
 * Reads a small text file (a manifest, a run plan) that must be a regular file of at most `maxBytes`: the open
 * never blocks on a FIFO or device, and nothing is read from anything else. Errors name the file: ENOENT and
 * other system errors as they are, UnsafePathError for a non-regular or oversized file.
 */
export async function readSmallFile(file: string, maxBytes: number): Promise<string> {
  const fh = await fs.promises.open(file, READ_FLAGS);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(file, fileKind(st));
    if (st.size > maxBytes) throw tooLarge(file, st.size, maxBytes);
    const text = (await fh.readFile()).toString('utf8');
    // It grew since the stat: still refuse more than the limit.
    if (text.length > maxBytes) throw tooLarge(file, text.length, maxBytes);
    return text;
  } finally {
    await fh.close();
  }
}

/** Synchronous twin of readSmallFile (the run lock is judged synchronously). */
export function readSmallFileSync(file: string, maxBytes: number): string {
  const fd = fs.openSync(file, READ_FLAGS);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw notRegular(file, fileKind(st));
    if (st.size > maxBytes) throw tooLarge(file, st.size, maxBytes);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

/**
 * Checks that `dir` is inside `root` by name, and that no folder between them (the job folder included) is a
 * symlink leading outside the root. Symlinks that stay inside the root are allowed; the root itself may be
 * one (the user chose it). A few lstat calls, no walk. Throws UnsafePathError naming the offending folder.
 */
export function assertInsideRoot(root: string, dir: string): void {
  const absRoot = path.resolve(root);
  const absDir = path.resolve(dir);
  if (!isInside(absRoot, absDir)) throw new UnsafePathError(`Artifact folder ${absDir} is outside the artifact root ${absRoot}.`);
  let realRoot: string | undefined;
  let p = absRoot;
  for (const part of path.relative(absRoot, absDir).split(path.sep).filter(Boolean)) {
    p = path.join(p, part);
    const st = lstatOrUndefined(p);
    if (!st) return; // the rest does not exist yet: mkdir will create real folders
    if (!st.isSymbolicLink()) continue;
    realRoot ??= realpathOr(absRoot) ?? absRoot;
    const target = realpathOr(p);
    if (target === undefined) throw new UnsafePathError(`Refusing to write artifacts under ${p}: it is a dangling symbolic link.`);
    if (!isInside(realRoot, target)) {
      throw new UnsafePathError(`Refusing to write artifacts under ${p}: it is a symbolic link to ${target}, outside the artifact root ${absRoot}.`);
    }
  }
}

function realpathOr(p: string): string | undefined {
  try {
    return fs.realpathSync.native(p);
  } catch {
    return undefined;
  }
}
