// Group refinement on all the cores a run may use. Each group is refined on its own patterns only, so the groups of
// an inference batch are independent: the batch is cut into contiguous shares, one per thread; the calling thread
// refines the first share while worker_threads Workers (refinementThread.ts) refine the others. A group's result
// does not depend on the thread that refined it (the same code on the same numbers), and the summary adds the
// groups' misfits in group order, so the output is identical for any thread count (README item 47).
import { Worker } from 'node:worker_threads';
import { bundledThreadScript } from '../threadScript';
import type { ComplexArray } from './data';
import { GroupRefiner, type GroupMisfits, type GroupRefinementSummary, type RefinementStage } from './groupRefinement';

/** What a refinement thread is built with (workerData). */
export interface RefinementThreadSetup {
  probe: ComplexArray;
  iterations: number;
  patternsPerGroup: number;
  countScale?: number;
}

/**
 * One share of a batch, sent to a thread. Copied, never transferred: detaching an ArrayBuffer disables a V8 fast
 * path for every typed-array access in that thread from then on (the refinement ran 35 % slower after one transfer).
 */
export interface RefinementShare {
  id: number;
  count: number;
  amp: Float32Array;
  phase: Float32Array;
  x: Float32Array;
  offsets: Float32Array;
  stageIterations: number[];
}

/** A share refined: its amp/phase and stages, and each group's misfits (NaN where a group could not be refined). */
export interface RefinedShare {
  id: number;
  amp: Float32Array;
  phase: Float32Array;
  stages: { amp: Float32Array; phase: Float32Array }[];
  misfits: Float64Array;
  error?: string;
}

/** The thread script next to the bundle that runs the refinement (dist/refinement-thread.js), if it is there. */
export const defaultRefinementThreadScript = (): string | undefined => bundledThreadScript('refinement-thread.js');

/** Refines one share with `refiner`: what a thread does, and what the calling thread does with its own share. */
export function refineShare(refiner: GroupRefiner, share: RefinementShare, n: number, c: number): RefinedShare {
  const stages: RefinementStage[] = share.stageIterations.map((iterations) => ({ iterations, amp: new Float32Array(share.count * n * n), phase: new Float32Array(share.count * n * n) }));
  const misfits = new Float64Array(share.count * 3).fill(NaN);
  for (let k = 0; k < share.count; k++) {
    const m = refiner.refineGroup(share.amp, share.phase, k * n * n, share.x, k * c * n * n, share.offsets, k * c * 2, stages);
    if (m) misfits.set(m, 3 * k);
  }
  return { id: share.id, amp: share.amp, phase: share.phase, stages: stages.map((s) => ({ amp: s.amp, phase: s.phase })), misfits };
}

/**
 * A GroupRefiner spread over `threads` threads (the calling one and threads − 1 Workers), for one stitch pass.
 * Without the thread script (`script` null, or none found) it refines on the calling thread alone, and its summary
 * says so. close() when done.
 */
export class GroupRefinementThreads {
  private readonly local: GroupRefiner;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (r: RefinedShare) => void; reject: (e: Error) => void }>();
  private readonly n: number;
  private nextId = 0;
  private failed?: Error;
  private closed = false;

  constructor(private readonly setup: RefinementThreadSetup, threads: number, script: string | null = defaultRefinementThreadScript() ?? null) {
    this.n = setup.probe.width;
    this.local = new GroupRefiner(setup.probe, setup.iterations, setup.patternsPerGroup, setup.countScale);
    const extra = script ? Math.max(0, Math.floor(threads) - 1) : 0;
    for (let t = 0; t < extra; t++) {
      const worker = new Worker(script!, { workerData: setup });
      worker.unref(); // never keeps a process alive on its own
      worker.on('message', (r: RefinedShare) => {
        const waiting = this.pending.get(r.id);
        if (!waiting) return;
        this.pending.delete(r.id);
        if (r.error) waiting.reject(new Error(`a group-refinement thread failed: ${r.error}`));
        else waiting.resolve(r);
      });
      const fail = (err: Error): void => {
        this.failed ??= err;
        for (const waiting of this.pending.values()) waiting.reject(new Error(`a group-refinement thread failed: ${err.message}`));
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => { if (!this.closed) fail(new Error(`it exited (code ${code})`)); });
      this.workers.push(worker);
    }
  }

  /** Threads the groups are shared between. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /**
   * Refines the first `count` groups of a batch in place, as GroupRefiner.refine would one after the other: `amp`,
   * `phase` (N×N per group), `x` (C×N×N per group), `offsets` (C×2 per group); `stages` receive their counts.
   */
  async refineBatch(amp: Float32Array, phase: Float32Array, x: Float32Array, offsets: Float32Array, count: number, stages: readonly RefinementStage[] = []): Promise<void> {
    if (this.failed) throw new Error(`a group-refinement thread failed: ${this.failed.message}`);
    const started = performance.now();
    const n = this.n, c = this.setup.patternsPerGroup, nn = n * n;
    const shares = Math.min(this.threads, count);
    const bounds = Array.from({ length: shares + 1 }, (_, s) => Math.round((s * count) / Math.max(shares, 1)));
    const stageIterations = stages.map((s) => s.iterations);
    const cut = (s: number): RefinementShare => {
      const a = bounds[s], b = bounds[s + 1];
      return {
        id: this.nextId++, count: b - a,
        amp: amp.slice(a * nn, b * nn), phase: phase.slice(a * nn, b * nn),
        x: x.slice(a * c * nn, b * c * nn), offsets: offsets.slice(a * c * 2, b * c * 2), stageIterations,
      };
    };
    // The other shares go out first, so the threads work while this one refines its own.
    const remote = Array.from({ length: Math.max(0, shares - 1) }, (_, t) => this.send(this.workers[t], cut(t + 1)));
    const own = shares > 0 ? refineShare(this.local, cut(0), n, c) : undefined;
    const results = [own, ...(await Promise.all(remote))];
    results.forEach((r, s) => {
      if (!r) return;
      const a = bounds[s];
      amp.set(r.amp, a * nn);
      phase.set(r.phase, a * nn);
      stages.forEach((stage, i) => {
        stage.amp.set(r.stages[i].amp, a * nn);
        stage.phase.set(r.stages[i].phase, a * nn);
      });
      for (let k = 0; k < r.misfits.length / 3; k++) {
        if (Number.isFinite(r.misfits[3 * k])) this.local.record([r.misfits[3 * k], r.misfits[3 * k + 1], r.misfits[3 * k + 2]] as GroupMisfits);
      }
    });
    this.local.addSeconds((performance.now() - started) / 1000);
  }

  summary(): GroupRefinementSummary {
    return { ...this.local.summary(), ...(this.threads > 1 ? { threads: this.threads } : {}) };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const waiting of this.pending.values()) waiting.reject(new Error('the group refinement was closed'));
    this.pending.clear();
    for (const worker of this.workers) void worker.terminate().catch(() => undefined);
  }

  private send(worker: Worker, share: RefinementShare): Promise<RefinedShare> {
    return new Promise((resolve, reject) => {
      this.pending.set(share.id, { resolve, reject });
      worker.postMessage(share);
    });
  }
}
