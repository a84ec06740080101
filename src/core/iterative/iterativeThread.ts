// The second ePIE/rPIE thread (a worker_threads Worker; bundled as dist/iterative-thread.js): waits for a phase's
// list of patterns, updates them in order on the shared object with the same PatternUpdater as the calling thread,
// writes its error and energy sums and signals done. See parallel.ts for why the two halves never collide.
import { workerData } from 'node:worker_threads';
import { PatternUpdater, type UpdateRule } from './kernel';
import { CTRL, PARAM, type ThreadShared } from './parallel';
import type { ComplexPlanes } from './types';

const s = workerData as ThreadShared;
const ctrl = new Int32Array(s.ctrl);
const params = new Float64Array(s.params);
const list = new Int32Array(s.list);
const object: ComplexPlanes = { width: s.width, height: s.height, re: new Float64Array(s.objectRe), im: new Float64Array(s.objectIm) };
const probe: ComplexPlanes = { width: s.n, height: s.n, re: new Float64Array(s.probeRe), im: new Float64Array(s.probeIm) };
const amplitudes = new Float32Array(s.amplitudes);
const fp = { count: s.patterns, base: new Int32Array(s.base), weights: new Float64Array(s.weights) };
const updater = new PatternUpdater(s.n);
const n2 = s.n * s.n;

let seen = 0;
for (;;) {
  Atomics.wait(ctrl, CTRL.seq, seen);
  seen = Atomics.load(ctrl, CTRL.seq);
  if (Atomics.load(ctrl, CTRL.stop) === 1) break;
  const length = Atomics.load(ctrl, CTRL.length);
  const rule: UpdateRule = { rpie: Atomics.load(ctrl, CTRL.flags) === 1, alpha: params[PARAM.alpha], beta: params[PARAM.beta], refine: false, objectStep: params[PARAM.objectStep] };
  updater.maxProbe2 = params[PARAM.maxProbe2];
  let err = 0;
  let energy = 0;
  for (let q = 0; q < length; q++) {
    const p = list[q];
    err += updater.update(object, probe, fp, p, amplitudes, p * n2, rule);
    energy += updater.lastEnergy;
  }
  params[PARAM.err] = err;
  params[PARAM.energy] = energy;
  Atomics.store(ctrl, CTRL.done, seen);
  Atomics.notify(ctrl, CTRL.done);
}
