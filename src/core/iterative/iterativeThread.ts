// The second ePIE/rPIE thread (a worker_threads Worker; bundled as dist/iterative-thread.js): waits for a phase's
// list of patterns, runs them through the same compiled kernel on the shared memory (its own context block: rule,
// list, scratch, sums) and signals done. See parallel.ts for why the two halves never collide.
import { workerData } from 'node:worker_threads';
import { CTRL, type ThreadShared } from './parallel';
import { instantiateThreadKernel } from './pieKernel';

const shared = workerData as ThreadShared;
const ctrl = new Int32Array(shared.ctrl);
const kernel = instantiateThreadKernel(shared);

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, CTRL.seq, seen);
  seen = Atomics.load(ctrl, CTRL.seq);
  if (Atomics.load(ctrl, CTRL.stop) === 1) break;
  kernel.run(shared.ctx, Atomics.load(ctrl, CTRL.length), Atomics.load(ctrl, CTRL.amp), 1);
  Atomics.store(ctrl, CTRL.done, seen);
  Atomics.notify(ctrl, CTRL.done);
}
