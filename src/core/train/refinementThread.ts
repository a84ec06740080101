// A group-refinement thread (a worker_threads Worker; bundled as dist/refinement-thread.js): refines each share of
// a batch it is sent with the same GroupRefiner code the calling thread runs, and sends it back (refinementThreads.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { GroupRefiner } from './groupRefinement';
import { refineShare, type RefinedShare, type RefinementShare, type RefinementThreadSetup } from './refinementThreads';

const setup = workerData as RefinementThreadSetup;
const refiner = new GroupRefiner(setup.probe, setup.iterations, setup.patternsPerGroup, setup.countScale);
const n = setup.probe.width;

parentPort!.on('message', (share: RefinementShare) => {
  let out: RefinedShare;
  try {
    out = refineShare(refiner, share, n, setup.patternsPerGroup);
  } catch (err) {
    out = { id: share.id, amp: new Float32Array(0), phase: new Float32Array(0), stages: [], misfits: new Float64Array(0), error: (err as Error).message };
  }
  // Copied back, not transferred (see RefinementShare).
  parentPort!.postMessage(out);
});
