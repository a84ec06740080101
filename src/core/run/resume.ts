// Checks a job's checkpoint before a resume starts anything costly (hashing datasets, building the model):
// it must exist, open as an archive, carry its kind's checkpoint format (training or Phase F reconstruction)
// and read whole. Whether it matches this configuration is decided later by the trainer (or the
// reconstruction worker), which alone knows the run's fingerprint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz } from '../npy';
import { ARTIFACT } from '../study/layout';
import { CHECKPOINT_FORMAT } from '../train/checkpoint';

export class ResumeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResumeError';
  }
}

/** What a checkpoint of one kind must look like, and what to tell the user when it does not. */
export interface CheckpointKind {
  /** `_state.format`. */
  format: string;
  /** Every such checkpoint has a member starting with this; its absence means `absentWhat`. */
  memberPrefix: string;
  absentWhat: string;
  /** How to start from scratch instead, for the messages. */
  restartHint: { missing: string; bad: string };
}

/** A training checkpoint (core/train/checkpoint.ts). */
export const TRAINING_CHECKPOINT: CheckpointKind = {
  format: CHECKPOINT_FORMAT,
  memberPrefix: 'param.',
  absentWhat: 'it holds no parameters',
  restartHint: { missing: 'ptycho-study train --restart, or Train in VS Code', bad: 'ptycho-study train --restart discards the checkpoint' },
};

/** Checks `<job>/checkpoint.npz` reads whole and is of `kind`; resolves with its `_state`. Throws ResumeError. */
export async function checkResumable(jobDir: string, jobId: string, kind: CheckpointKind = TRAINING_CHECKPOINT): Promise<Record<string, unknown>> {
  const file = path.join(jobDir, ARTIFACT.checkpoint);
  if (!fs.existsSync(file)) {
    throw new ResumeError(`${jobId}: cannot resume, there is no ${file}. Start it from scratch instead (${kind.restartHint.missing}).`);
  }
  const bad = (why: string): ResumeError =>
    new ResumeError(`${jobId}: cannot resume from ${file}: ${why}. Start it from scratch instead (${kind.restartHint.bad}).`);
  let archive;
  try {
    archive = await openNpz(file);
  } catch (err) {
    throw bad((err as Error).message);
  }
  try {
    if (!archive.has('_state')) throw bad('it has no _state member (not a checkpoint)');
    let state: Record<string, unknown>;
    try {
      state = JSON.parse(((await archive.readArray('_state')).data as string[])[0]) as Record<string, unknown>;
    } catch (err) {
      throw bad(`its _state cannot be read (${(err as Error).message})`);
    }
    if (state.format !== kind.format) throw bad(`format ${String(state.format)}, expected ${kind.format}`);
    if (![...archive.members.keys()].some((k) => k.startsWith(kind.memberPrefix))) throw bad(kind.absentWhat);
    // Read every member: a truncated or torn file fails here, in milliseconds, not after the model is built.
    for (const name of archive.members.keys()) {
      try {
        await archive.readArray(name);
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    return state;
  } finally {
    await archive.close().catch(() => undefined);
  }
}
