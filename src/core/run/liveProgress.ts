// A running job's live progress, read from the one place every run writes it: `<job>/events.jsonl` (the worker
// appends a `progress` event twice a second while training, an `iteration` event per Phase F iteration and a
// `recon-halves` event per iteration of its half sets, whoever started it — this window, another window since
// closed, the CLI). The extension's job-state store keeps one
// reader per running job, so the tree and the status bar show the same progress for every run, at the same rate.
// Incremental (FileTail: only appended bytes; a long log is entered near its end), bounded per call, and a
// truncated or replaced file starts over.
import * as path from 'node:path';
import { ARTIFACT } from '../study/layout';
import { parseEvents, type IterationEvent, type ProgressEvent, type ReconHalvesEvent } from './events';
import { FileTail } from './fileTail';

export interface LiveProgress {
  /** The last training step reported since the run (re)started. */
  progress?: ProgressEvent;
  /** The last Phase F iteration reported since the run (re)started. */
  iteration?: IterationEvent;
  /** The last iteration of a Phase F run's half sets (they follow its own iterations). */
  halves?: ReconHalvesEvent;
}

/** At most this many 256 KiB chunks per poll: a burst of appended lines is read over a few polls, never at once. */
const MAX_CHUNKS = 8;

export class ProgressReader {
  private readonly tail: FileTail;
  private last: LiveProgress = {};
  /** What poll returned: `last` without what came before the run's start. */
  private shown: LiveProgress = {};

  constructor(readonly jobDir: string) {
    this.tail = new FileTail(path.join(jobDir, ARTIFACT.events), { chunkBytes: 256 << 10, maxInitialBytes: 1 << 20 });
  }

  /**
   * Reads what was appended since the last call; returns the latest progress (the same object when nothing changed).
   * `since` (the run's start, from its manifest) hides what an earlier run of the job wrote before this one's
   * `started` event arrives (the manifest says `running` a moment before it).
   */
  async poll(since?: string): Promise<LiveProgress> {
    const last = await this.read();
    const fresh = <E extends { time: string }>(e?: E): E | undefined => (e && (!since || e.time >= since) ? e : undefined);
    const progress = fresh(last.progress);
    const iteration = fresh(last.iteration);
    const halves = fresh(last.halves);
    if (this.shown.progress !== progress || this.shown.iteration !== iteration || this.shown.halves !== halves) {
      this.shown = { ...(progress ? { progress } : {}), ...(iteration ? { iteration } : {}), ...(halves ? { halves } : {}) };
    }
    return this.shown;
  }

  private async read(): Promise<LiveProgress> {
    let next: LiveProgress | undefined;
    for (let i = 0; i < MAX_CHUNKS; i++) {
      const u = await this.tail.read();
      if (!u) break;
      if (u.reset || u.missing) next = {};
      next ??= { ...this.last };
      for (const e of parseEvents(u.lines.join('\n'))) {
        if (e.type === 'started' || e.type === 'recon-started') next = {};
        else if (e.type === 'progress') next.progress = e;
        else if (e.type === 'iteration') {
          next.iteration = e;
          delete next.halves;
        } else if (e.type === 'recon-halves') next.halves = e;
      }
      if (!u.more) break;
    }
    if (next) this.last = next;
    return this.last;
  }

  get current(): LiveProgress {
    return this.shown;
  }
}
