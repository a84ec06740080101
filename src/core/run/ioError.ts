// File-system failures (full disk, no permission) said in words that name the job and the file. Node's own
// messages name the file only for `open` ("EACCES: permission denied, open '…/.model.onnx.tmp-…'"), never
// for `write` ("ENOSPC: no space left on device, write"), so the caller passes the file it was writing.
import * as path from 'node:path';

const IO_CODES: Record<string, string> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
};

export function isIoFailure(err: unknown): boolean {
  return typeof (err as NodeJS.ErrnoException)?.code === 'string' && (err as NodeJS.ErrnoException).code! in IO_CODES;
}

/** The target a temporary file of core/atomic (`.<name>.tmp-<pid>-<hex>`) stands for. */
function targetOf(file: string): string {
  const m = /^\.(.+)\.tmp-\d+-[0-9a-f]+$/.exec(path.basename(file));
  return m ? path.join(path.dirname(file), m[1]) : file;
}

export class JobIoError extends Error {
  constructor(message: string, readonly code: string, readonly file: string | undefined) {
    super(message);
    this.name = 'JobIoError';
  }
}

/** `err` itself unless it is a disk/permission failure; then one sentence naming the job and the file. */
export function explainIoError(err: unknown, jobId: string, file?: string): unknown {
  if (!isIoFailure(err) || err instanceof JobIoError) return err;
  const e = err as NodeJS.ErrnoException;
  const target = e.path ? targetOf(e.path) : file;
  // A caller that names the file was writing it; otherwise say what Node was doing (open, mkdir, …).
  const verb = file !== undefined || e.syscall === 'write' || e.syscall === 'rename' ? 'write' : (e.syscall ?? 'access');
  return new JobIoError(`${jobId}: cannot ${verb} ${target ?? 'its files'}: ${IO_CODES[e.code!]} (${e.code}).`, e.code!, target);
}

/** Runs `fn`, turning a disk/permission failure into a JobIoError naming `file` and the job. */
export async function writing<T>(jobId: string, file: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw explainIoError(err, jobId, file);
  }
}
