// What every run in the worker (training, Phase F reconstruction) does the same way: its event stream
// (events.jsonl, the job's log, IPC; a write error said with the job and the file), how it records a failure,
// and the provenance of its data.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sha256File } from './artifacts';
import { EventLog, type EventBody, type RunEvent } from './events';
import { explainIoError } from './ioError';
import type { DatasetProvenance, RunStatus } from '../study/manifest';
import type { TrainingDataset } from '../train/data';
import type { OrtModule } from '../train/runtime';
import type { KeptManifest, ManifestKeeper } from './manifestWriter';
import { ARTIFACT } from '../study/layout';

export interface WorkerIo {
  send(e: RunEvent): void;
  cancelled(): boolean;
  /** Why the run was asked to stop (a signal, the launcher's reason), when known. */
  cancelReason?(): string | undefined;
  stderr(line: string): void;
}

export type Emit = (body: EventBody<RunEvent>) => RunEvent;

/** Opens `<job>/events.jsonl` and `<job>/<logName>` (no-follow) and the `emit` that writes both and sends over IPC. */
export function openRunEvents(jobDir: string, logName: string, jobId: string, io: WorkerIo): { events: EventLog; emit: Emit } {
  const events = new EventLog(path.join(jobDir, ARTIFACT.events), path.join(jobDir, logName), jobId, io.send);
  const emit: Emit = (body) => {
    try {
      return events.emit(body);
    } catch (err) {
      throw explainIoError(err, jobId, path.join(jobDir, ARTIFACT.events));
    }
  };
  return { events, emit };
}

/** A run that threw: the `failed` event, the stack on stderr, the manifest `failed` with the message; exit code 1. */
export async function recordRunFailure(err: unknown, jobId: string, emit: Emit, io: WorkerIo, finish: (status: RunStatus, reason?: string) => Promise<void>): Promise<number> {
  const e = explainIoError(err, jobId) as Error;
  emit({ type: 'failed', message: e.message, stack: e.stack });
  io.stderr(e.stack ?? String(e));
  await finish('failed', e.message);
  return 1;
}

/** Where a run's data came from: path, size, mtime, SHA-256, and patterns and N when opened. */
export async function provenanceOf(file: string, data: TrainingDataset | undefined): Promise<DatasetProvenance> {
  const st = await fs.promises.stat(file);
  return { path: file, bytes: st.size, mtimeMs: st.mtimeMs, sha256: await sha256File(file), nPatterns: data?.count, N: data?.n };
}

/**
 * The `finish` of a run: its manifest's end (ManifestKeeper.finish), then the study-level record rebuilt by
 * `study` (training_manifest.json, reconstruction_manifest.json) when the run knows its study; a failure of that
 * is a warning in the log, never the run's.
 */
export function finisher<M extends KeptManifest>(keeper: ManifestKeeper<M>, events: EventLog, study?: { update: () => Promise<unknown>; name: string }): (status: RunStatus, reason?: string) => Promise<void> {
  return async (status, reason) => {
    await keeper.finish(status, reason);
    if (!study) return;
    try {
      await study.update();
    } catch (err) {
      events.line(`WARN: could not update ${study.name}: ${(err as Error).message}`);
    }
  };
}

/** Why the run was cancelled, as a suffix for the manifest's reason: ` (Ctrl-C in the terminal, SIGINT)`, or ''. */
export function cancelledBy(io: WorkerIo): string {
  const why = io.cancelReason?.();
  return why ? ` (${why})` : '';
}

/**
 * onnxruntime-node, loaded only where a run needs it (the worker, `ptycho-study score`), never in the extension host.
 * `hint` says what to do when it is missing, for the caller's use of it.
 */
export function loadOrt(hint: string): OrtModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('onnxruntime-node') as OrtModule;
  } catch (err) {
    throw new Error(`onnxruntime-node cannot be loaded (${(err as Error).message.split('\n')[0]})${hint}`);
  }
}
