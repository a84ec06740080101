// Writing into artifact folders without being redirected by symlinks. A job folder lives in a tree other
// people (or other tools) can write to: a `train.log` planted as a symlink must not make us append to the
// file it points at, and a job folder that is a symlink to somewhere else must not receive our artifacts.
// Atomic writes (temp file + rename) replace a symlink rather than follow it; appends open with O_NOFOLLOW.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Raised when a write would go through a symlink or land outside the artifact root. */
export class UnsafePathError extends Error {
  readonly code = 'UNSAFE_PATH';
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

// O_NOFOLLOW is POSIX; Windows lacks it (0 here), and there symlinks need privileges to create.
const NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const APPEND_FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | NOFOLLOW;

function refuseLink(file: string, err: unknown): never {
  const code = (err as NodeJS.ErrnoException).code;
  // Linux says ELOOP for a final-component symlink under O_NOFOLLOW; some BSDs say EMLINK.
  if (code === 'ELOOP' || code === 'EMLINK') {
    throw new UnsafePathError(`Refusing to write to ${file}: it is a symbolic link (artifact files are never written through links). Remove it and retry.`);
  }
  throw err;
}

/** Opens `file` for appending, refusing a symlink in its place (no-follow). */
export async function openAppendNoFollow(file: string): Promise<fs.promises.FileHandle> {
  if (!NOFOLLOW && (await fs.promises.lstat(file).catch(() => undefined))?.isSymbolicLink()) refuseLink(file, { code: 'ELOOP' });
  try {
    return await fs.promises.open(file, APPEND_FLAGS, 0o644);
  } catch (err) {
    refuseLink(file, err);
  }
}

/** Synchronous twin of openAppendNoFollow (the worker's event log writes synchronously). */
export function openAppendNoFollowSync(file: string): number {
  if (!NOFOLLOW && lstatOrUndefined(file)?.isSymbolicLink()) refuseLink(file, { code: 'ELOOP' });
  try {
    return fs.openSync(file, APPEND_FLAGS, 0o644);
  } catch (err) {
    refuseLink(file, err);
  }
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
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
