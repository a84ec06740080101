// The typed event stream of a run (training, and Phase F reconstructions): what the worker sends its parent over
// IPC and appends to `<job>/events.jsonl` (one JSON object per line), with a human-readable line for the job's
// log (`train.log`, `recon.log`) beside it.
// The extension's job panel, the CLI and tests all read these; the names are a contract.
import * as fs from 'node:fs';
import { describeThreads, type ThreadsSource } from '../runtime/threads';
import { openAppendNoFollowSync } from './safeFiles';

interface EventBase {
  /** ISO time the event was emitted. */
  time: string;
  jobId: string;
}

export interface StartedEvent extends EventBase {
  type: 'started';
  pid: number;
  executionProviderRequested: string;
  executionProviderUsed: string;
  fallbackReason?: string;
  epochs: number;
  stepsPerEpoch: number;
  batchSize: number;
  parameters: number;
  trainGroups: number;
  validationGroups: number;
  testGroups: number;
  /** Set when the run continues from a checkpoint. */
  resumedFrom?: { epoch: number; step: number };
  /** Intra-op threads of every onnxruntime session of the run, and what decided the number. */
  threads?: number;
  threadsSource?: ThreadsSource;
}

export interface ProgressEvent extends EventBase {
  type: 'progress';
  epoch: number;
  epochs: number;
  step: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss: number;
  imagesPerSec: number;
  etaSeconds: number;
}

export interface EpochEvent extends EventBase {
  type: 'epoch';
  epoch: number;
  epochs: number;
  trainLoss: number;
  valLoss: number | null;
  lr: number;
  lrReduced: boolean;
  seconds: number;
}

/** The model's quality after an epoch, on a fixed small window of the test object (core/train/qualityMonitor). */
export interface QualityEvent extends EventBase {
  type: 'quality';
  epoch: number;
  amplitude: { pearson: number | null; ssim: number | null };
  phase: { pearson: number | null; ssim: number | null };
  /** The window, object pixels, and the groups inferred for it. */
  region: { x0: number; y0: number; width: number; height: number };
  groups: number;
  seconds: number;
  /** The window's image after this epoch, relative to the job folder (`previews/epoch_NNN.npz`; core/run/previews). */
  preview?: string;
  /** What writing the preview took (its inference is the quality measurement's, `seconds`). */
  previewSeconds?: number;
}

export interface CheckpointEvent extends EventBase {
  type: 'checkpoint';
  /** Epochs completed. */
  epoch: number;
  /** Steps done in the epoch after those (0 at an epoch end). */
  stepInEpoch: number;
  /** Optimiser steps done in total. */
  step: number;
  path: string;
}

export interface LogEvent extends EventBase {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface FinishedEvent extends EventBase {
  type: 'finished';
  status: 'succeeded';
  epochs: number;
  finalLoss: number | null;
  bestValLoss: number | null;
  stopReason: string;
  seconds: number;
  metrics?: { amplitude?: Record<string, number | null>; phase?: Record<string, number | null> };
}

export interface FailedEvent extends EventBase {
  type: 'failed';
  message: string;
  stack?: string;
  exitCode?: number | null;
  signal?: string | null;
  stderrTail?: string[];
}

export interface CancelledEvent extends EventBase {
  type: 'cancelled';
  /** Epochs completed. */
  epoch: number;
  stepInEpoch: number;
  step: number;
  checkpoint?: string;
}

// Phase F reconstruction runs (src/core/run/reconstructionRun.ts) share `log` and `failed` and have their own
// start, per-iteration, checkpoint, end and cancel events.

export interface ReconStartedEvent extends EventBase {
  type: 'recon-started';
  pid: number;
  algorithm: string;
  probeMode: string;
  /** Iterations the run goes to (counting from the start of the reconstruction, resumed ones included). */
  iterations: number;
  patterns: number;
  n: number;
  object: { width: number; height: number };
  executionProviderRequested: string;
  executionProviderUsed: string;
  fallbackReason?: string;
  /** Set when the run continues from a checkpoint: the iterations it had completed. */
  resumedFrom?: { iteration: number };
}

/** One iteration (every pattern visited once): its cost and, where the dataset has objectGuess, its quality. */
export interface IterationEvent extends EventBase {
  type: 'iteration';
  /** Iterations completed (1 after the first). */
  iteration: number;
  iterations: number;
  /** Mean squared amplitude error per detector pixel as each pattern was visited. */
  mse: number;
  /** The same error relative to the data's energy, Σ(|Ψ|/N − A)² / Σ A². */
  relativeError: number;
  probeUpdated: boolean;
  seconds: number;
  updatesPerSec: number;
  etaSeconds: number;
  /** Pearson r against objectGuess on the pixels the scan lights (null when there is no ground truth). */
  quality: { amplitude: number | null; phase: number | null; pixels: number } | null;
}

/**
 * One iteration of a half set (reconstructionHalves.ts): after the run's own iterations, the even and then the odd
 * patterns are reconstructed apart for the half-set weightings; this says how far that has got.
 */
export interface ReconHalvesEvent extends EventBase {
  type: 'recon-halves';
  /** 1: the even patterns, 2: the odd ones. */
  half: 1 | 2;
  /** Patterns in this half. */
  patterns: number;
  /** Iterations of this half completed. */
  iteration: number;
  iterations: number;
  /** That iteration's wall time. */
  seconds: number;
  /** Both halves' remaining iterations at this one's pace. */
  etaSeconds: number;
}

export interface ReconCheckpointEvent extends EventBase {
  type: 'recon-checkpoint';
  iteration: number;
  path: string;
}

export interface ReconFinishedEvent extends EventBase {
  type: 'recon-finished';
  status: 'succeeded';
  iterations: number;
  relativeError: number | null;
  seconds: number;
  metrics?: { amplitude?: Record<string, number | null>; phase?: Record<string, number | null> };
}

export interface ReconCancelledEvent extends EventBase {
  type: 'recon-cancelled';
  /** Iterations completed (the checkpoint holds the object after them). */
  iteration: number;
  checkpoint?: string;
}

export type RunEvent = StartedEvent | ProgressEvent | EpochEvent | QualityEvent | CheckpointEvent | LogEvent | FinishedEvent | FailedEvent | CancelledEvent
  | ReconStartedEvent | IterationEvent | ReconHalvesEvent | ReconCheckpointEvent | ReconFinishedEvent | ReconCancelledEvent;
export type RunEventType = RunEvent['type'];
export const RUN_EVENT_TYPES: readonly RunEventType[] = [
  'started', 'progress', 'epoch', 'quality', 'checkpoint', 'log', 'finished', 'failed', 'cancelled',
  'recon-started', 'iteration', 'recon-halves', 'recon-checkpoint', 'recon-finished', 'recon-cancelled',
];

/** Distributes Omit over a union (so a caller can leave out the common fields). */
export type EventBody<E> = E extends RunEvent ? Omit<E, 'time' | 'jobId'> : never;

/** Messages the parent sends the worker. */
/** What a launcher tells its worker; a cancel may say why (recorded in the manifest's reason). */
export type WorkerCommand = { type: 'cancel'; reason?: string };

function fmt(v: number | null | undefined, digits = 5): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : Number(v).toPrecision(digits);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function position(epochs: number, steps: number): string {
  const e = `${epochs} epoch${epochs === 1 ? '' : 's'}`;
  return steps > 0 ? `${e} + ${steps} step${steps === 1 ? '' : 's'}` : e;
}

/** The train.log line for an event. */
export function describeEvent(e: RunEvent): string {
  switch (e.type) {
    case 'started':
      return `STARTED ${e.jobId} (pid ${e.pid}) on ${e.executionProviderUsed}${e.executionProviderUsed !== e.executionProviderRequested ? ` (requested ${e.executionProviderRequested})` : ''}: `
        + `${e.epochs} epochs × ${e.stepsPerEpoch} steps of ${e.batchSize} groups, ${e.parameters.toLocaleString('en-US')} parameters, `
        + `${e.trainGroups} train / ${e.validationGroups} validation / ${e.testGroups} test groups`
        + (e.resumedFrom ? `; resumed after ${position(e.resumedFrom.epoch, e.resumedFrom.step)}` : '')
        + (e.threads !== undefined && e.threadsSource ? `; ${describeThreads({ threads: e.threads, source: e.threadsSource })}` : '');
    case 'progress':
      return `epoch ${e.epoch}/${e.epochs} step ${e.stepInEpoch}/${e.stepsPerEpoch}  loss ${fmt(e.loss)}  ${e.imagesPerSec.toFixed(1)} img/s  ETA ${duration(e.etaSeconds)}`;
    case 'epoch':
      return `EPOCH ${e.epoch}/${e.epochs}  train loss ${fmt(e.trainLoss)}  val loss ${fmt(e.valLoss)}  lr ${e.lr}${e.lrReduced ? ' (reduced on plateau)' : ''}  ${duration(e.seconds)}`;
    case 'quality':
      return `QUALITY after epoch ${e.epoch} (${e.region.width}×${e.region.height} px window, ${e.groups} groups, ${e.seconds.toFixed(2)} s): `
        + `amplitude r ${fmt(e.amplitude.pearson, 3)} SSIM ${fmt(e.amplitude.ssim, 3)}, phase r ${fmt(e.phase.pearson, 3)} SSIM ${fmt(e.phase.ssim, 3)}`;
    case 'checkpoint':
      return `checkpoint written after ${position(e.epoch, e.stepInEpoch)} (step ${e.step}): ${e.path}`;
    case 'log':
      return `${e.level === 'info' ? '' : `${e.level.toUpperCase()}: `}${e.message}`;
    case 'finished':
      return `FINISHED ${e.jobId}: ${e.stopReason}; final loss ${fmt(e.finalLoss)}, best val loss ${fmt(e.bestValLoss)}, ${duration(e.seconds)}`;
    case 'failed':
      return `FAILED ${e.jobId}: ${e.message}${e.signal ? ` (signal ${e.signal})` : e.exitCode !== undefined && e.exitCode !== null ? ` (exit code ${e.exitCode})` : ''}`;
    case 'cancelled':
      return `CANCELLED ${e.jobId} after ${position(e.epoch, e.stepInEpoch)} (step ${e.step})${e.checkpoint ? `; checkpoint ${e.checkpoint} (resume continues from it)` : ''}`;
    case 'recon-started':
      return `STARTED ${e.jobId} (pid ${e.pid}): ${e.algorithm}, probe ${e.probeMode}, ${e.iterations} iterations over ${e.patterns} patterns of ${e.n}×${e.n}, `
        + `object ${e.object.height}×${e.object.width}, on ${e.executionProviderUsed}${e.executionProviderUsed !== e.executionProviderRequested ? ` (requested ${e.executionProviderRequested})` : ''}`
        + (e.resumedFrom ? `; resumed after iteration ${e.resumedFrom.iteration}` : '');
    case 'iteration':
      return `iteration ${e.iteration}/${e.iterations}  error ${fmt(e.relativeError, 4)}${e.probeUpdated ? ' (probe refined)' : ''}  `
        + (e.quality ? `amplitude r ${fmt(e.quality.amplitude, 3)}  phase r ${fmt(e.quality.phase, 3)}  ` : '')
        + `${Math.round(e.updatesPerSec)} updates/s  ETA ${duration(e.etaSeconds)}`;
    case 'recon-halves':
      return `${describeHalfSet(e)}  ETA ${duration(e.etaSeconds)}`;
    case 'recon-checkpoint':
      return `checkpoint written after iteration ${e.iteration}: ${e.path}`;
    case 'recon-finished':
      return `FINISHED ${e.jobId}: ${e.iterations} iterations, error ${fmt(e.relativeError, 4)}, ${duration(e.seconds)}`;
    case 'recon-cancelled':
      return `CANCELLED ${e.jobId} after iteration ${e.iteration}${e.checkpoint ? `; checkpoint ${e.checkpoint} (resume continues from it)` : ''}`;
  }
}

/** Which half set, e.g. `half set 1/2 (512 even patterns)`. */
export function halfSetLabel(e: Pick<ReconHalvesEvent, 'half' | 'patterns'>): string {
  return `half set ${e.half}/2 (${e.patterns} ${e.half === 1 ? 'even' : 'odd'} patterns)`;
}

/** Where a half-set reconstruction stands, e.g. `half set 1/2 (512 even patterns): iteration 10/50`. */
export function describeHalfSet(e: Pick<ReconHalvesEvent, 'half' | 'patterns' | 'iteration' | 'iterations'>): string {
  return `${halfSetLabel(e)}: iteration ${e.iteration}/${e.iterations}`;
}

/** Parses events.jsonl text; malformed lines (a torn last line after a crash) are skipped, not fatal. */
export function parseEvents(text: string): RunEvent[] {
  const out: RunEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = JSON.parse(line) as RunEvent;
      if (e && typeof e === 'object' && RUN_EVENT_TYPES.includes(e.type)) out.push(e);
    } catch {
      // A torn line from a crash mid-write: skip it.
    }
  }
  return out;
}

/**
 * Appends events to events.jsonl and train.log. Each event is one `write` of whole lines on an O_APPEND
 * descriptor (synchronous, so a crash right after an event still finds it on disk).
 */
export class EventLog {
  private readonly eventsFd: number;
  private readonly logFd: number;

  constructor(eventsPath: string, logPath: string, readonly jobId: string, private readonly sink?: (e: RunEvent) => void) {
    // No-follow: a symlink planted as events.jsonl or train.log is refused, never written through.
    this.eventsFd = openAppendNoFollowSync(eventsPath);
    try {
      this.logFd = openAppendNoFollowSync(logPath);
    } catch (err) {
      fs.closeSync(this.eventsFd);
      throw err;
    }
  }

  emit(body: EventBody<RunEvent>): RunEvent {
    const e = { time: new Date().toISOString(), jobId: this.jobId, ...body } as RunEvent;
    fs.writeSync(this.eventsFd, JSON.stringify(e) + '\n');
    fs.writeSync(this.logFd, `[${e.time}] ${describeEvent(e).replace(/\n/g, ' ')}\n`);
    this.sink?.(e);
    return e;
  }

  /** A plain train.log line (no event). */
  line(text: string): void {
    fs.writeSync(this.logFd, `[${new Date().toISOString()}] ${text.replace(/\n/g, ' ')}\n`);
  }

  close(): void {
    for (const fd of [this.eventsFd, this.logFd]) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed
      }
    }
  }
}
