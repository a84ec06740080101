// Two threads for ePIE/rPIE with a fixed probe: the object is cut into vertical stripes at least one footprint
// (N + 1 columns) wide, and each iteration runs in two phases — stripes 0, 2 (mod 4) side by side, then 1, 3 — so
// the patterns updated at the same moment never touch the same object pixel. Each pattern update is then exactly the
// serial algorithm's; only the visiting order differs from the serial one (the seeded random order, grouped by
// phase and thread), so the result is as deterministic as the serial one. The calling thread takes one half of each
// phase and one worker_threads Worker (iterativeThread.ts) the other; they meet at a barrier (Atomics) after each
// phase. Object, probe, amplitudes and footprints live in the kernel's shared WebAssembly memory (pieKernel.ts).
import { Worker } from 'node:worker_threads';
import { bundledThreadScript } from '../threadScript';
import type { Footprints } from './footprint';
import type { PieKernel, PieThreadData } from './pieKernel';

/** Control block (Int32): [0] command sequence, [1] done sequence, [2] list length, [3] amplitudes pointer, [4] stop. */
export const CTRL = { seq: 0, done: 1, length: 2, amp: 3, stop: 4, size: 8 } as const;

export interface ThreadShared extends PieThreadData {
  ctrl: SharedArrayBuffer;
}

/**
 * Stripe of each pattern (by its footprint's left column), or undefined when the object is too narrow for 3 stripes.
 * The threads run stripes ≡ 0 and ≡ 2 (mod 4) at once, then ≡ 1 and ≡ 3: always two or more stripes apart, for any
 * count (with 3 stripes the second phase has one thread's work only).
 */
export function planStripes(fp: Footprints, n: number, width: number): { stripeOf: Int32Array; stripes: number } | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  const col = new Int32Array(fp.count);
  for (let p = 0; p < fp.count; p++) {
    col[p] = fp.base[p] % width;
    lo = Math.min(lo, col[p]);
    hi = Math.max(hi, col[p]);
  }
  const range = hi - lo + 1;
  // Footprints are N + 1 columns wide: columns ≥ N + 1 apart never share a pixel, and two patterns of stripes s and
  // s + 2 have columns more than one stripe width w ≥ N apart.
  const minWidth = n;
  const stripes = Math.floor(range / minWidth);
  if (stripes < 3) return undefined;
  const w = range / stripes;
  const stripeOf = new Int32Array(fp.count);
  for (let p = 0; p < fp.count; p++) stripeOf[p] = Math.min(stripes - 1, Math.floor((col[p] - lo) / w));
  return { stripeOf, stripes };
}

/** The thread script next to the bundle that runs the engine (dist/iterative-thread.js), if it is there. */
export const defaultThreadScript = (): string | undefined => bundledThreadScript('iterative-thread.js');

export class StripeThreads {
  private readonly worker: Worker;
  private readonly ctrl: Int32Array;
  private readonly kernel: PieKernel;
  private seq = 0;
  private failed?: Error;
  private closed = false;

  constructor(script: string, kernel: PieKernel) {
    this.kernel = kernel;
    const shared: ThreadShared = { ...kernel.threadData(), ctrl: new SharedArrayBuffer(4 * CTRL.size) };
    this.ctrl = new Int32Array(shared.ctrl);
    this.worker = new Worker(script, { workerData: shared });
    this.worker.unref(); // never keeps a process alive on its own
    this.worker.on('error', (err) => {
      this.failed = err;
      Atomics.store(this.ctrl, CTRL.done, -1);
      Atomics.notify(this.ctrl, CTRL.done);
    });
  }

  /** Starts the worker on `indices` (a phase's other half; the kernel's context 1 holds the rule) over the stack. */
  start(indices: Int32Array, length: number): void {
    if (this.failed) throw new Error(`the second reconstruction thread failed: ${this.failed.message}`);
    this.kernel.setList(1, indices, length);
    Atomics.store(this.ctrl, CTRL.length, length);
    Atomics.store(this.ctrl, CTRL.amp, this.kernel.amplitudePointer('stack'));
    this.seq++;
    Atomics.store(this.ctrl, CTRL.seq, this.seq);
    Atomics.notify(this.ctrl, CTRL.seq);
  }

  /** Waits for the worker's half (blocking: it is a few milliseconds). Its sums are in the kernel's context 1. */
  finish(): void {
    for (;;) {
      const done = Atomics.load(this.ctrl, CTRL.done);
      if (done === this.seq) break;
      if (done === -1 || this.failed) throw new Error(`the second reconstruction thread failed: ${this.failed?.message ?? 'unknown error'}`);
      Atomics.wait(this.ctrl, CTRL.done, done, 10_000);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctrl, CTRL.stop, 1);
    this.seq++;
    Atomics.store(this.ctrl, CTRL.seq, this.seq);
    Atomics.notify(this.ctrl, CTRL.seq);
    void this.worker.terminate().catch(() => undefined);
  }
}
