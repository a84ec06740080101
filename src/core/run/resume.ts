// Checks a job's checkpoint before a resume starts anything costly (hashing datasets, building the model):
// it must exist, open as an archive, carry our checkpoint format and read whole. Whether it matches this
// configuration is decided later by the trainer, which alone knows the model's fingerprint.
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

export async function checkResumable(jobDir: string, jobId: string): Promise<{ epoch: number; stepInEpoch: number }> {
  const file = path.join(jobDir, ARTIFACT.checkpoint);
  if (!fs.existsSync(file)) {
    throw new ResumeError(`${jobId}: cannot resume, there is no ${file}. Start it from scratch instead (ptycho-study train --restart, or Train in VS Code).`);
  }
  const bad = (why: string): ResumeError =>
    new ResumeError(`${jobId}: cannot resume from ${file}: ${why}. Start it from scratch instead (ptycho-study train --restart discards the checkpoint).`);
  let archive;
  try {
    archive = await openNpz(file);
  } catch (err) {
    throw bad((err as Error).message);
  }
  try {
    if (!archive.has('_state')) throw bad('it has no _state member (not a training checkpoint)');
    let state: Record<string, unknown>;
    try {
      state = JSON.parse(((await archive.readArray('_state')).data as string[])[0]) as Record<string, unknown>;
    } catch (err) {
      throw bad(`its _state cannot be read (${(err as Error).message})`);
    }
    if (state.format !== CHECKPOINT_FORMAT) throw bad(`format ${String(state.format)}, expected ${CHECKPOINT_FORMAT}`);
    if (![...archive.members.keys()].some((k) => k.startsWith('param.'))) throw bad('it holds no parameters');
    // Read every member: a truncated or torn file fails here, in milliseconds, not after the model is built.
    for (const name of archive.members.keys()) {
      try {
        await archive.readArray(name);
      } catch (err) {
        throw bad((err as Error).message);
      }
    }
    return { epoch: Number(state.epoch), stepInEpoch: Number(state.stepInEpoch) };
  } finally {
    await archive.close().catch(() => undefined);
  }
}
