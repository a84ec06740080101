// The study comparison's methods (Phase G): grid columns for the PINN views and the Phase F iterative
// reconstructions per view, their order and empty-cell reasons, and the PINN − iterative deltas with the
// better value of each pair (lower MAE is better, higher for the others).
import { strict as assert } from 'node:assert';
import { columnKey, DELTA_METRICS, emptyReason, gridLayout, methodDeltas, methodLabel, type DeltaInput, type GridJob } from '../../src/webview/shared/results';

const pinn = (dose: number, view: string, state = 'succeeded'): GridJob => ({
  id: `dose_${dose}/${view}/gs${view === 'baseline' ? 1 : 2}`, dose, view, gridsize: view === 'baseline' ? 1 : 2, state, hasReconstruction: state === 'succeeded',
});
const iter = (dose: number, view: string, algorithm: string, state = 'succeeded'): GridJob => ({
  id: `dose_${dose}/${view}/test/${algorithm}`, dose, view, gridsize: view === 'baseline' ? 1 : 2, method: algorithm, state, hasReconstruction: state === 'succeeded',
});

describe('study comparison: method columns', () => {
  it('PINN columns first (baseline gs1, then gs2 per view), then iterative per view and algorithm', () => {
    const g = gridLayout([
      iter(1000, 'dense', 'rpie'), pinn(1000, 'dense'), iter(1000, 'baseline', 'epie'), pinn(1000, 'baseline'), iter(1000, 'dense', 'epie'), pinn(1000, 'sparse'),
    ]);
    assert.deepEqual(g.columns.map((c) => c.key), ['baseline/gs1', 'dense/gs2', 'sparse/gs2', 'baseline/epie', 'dense/epie', 'dense/rpie']);
    assert.deepEqual(g.columns.map((c) => c.label), ['baseline (gs1)', 'dense (gs2)', 'sparse (gs2)', 'baseline · ePIE', 'dense · ePIE', 'dense · rPIE']);
    assert.deepEqual(g.columns.map((c) => c.method), ['pinn', 'pinn', 'pinn', 'epie', 'epie', 'rpie']);
    assert.equal(g.rows[0][4].job?.id, 'dose_1000/dense/test/epie', 'a cell holds the job of its own method');
    assert.equal(g.rows[0][1].job?.id, 'dose_1000/dense/gs2');
  });

  it('column keys: unchanged for PINN jobs, view/algorithm for iterative ones', () => {
    assert.equal(columnKey({ view: 'dense', gridsize: 2 }), 'dense/gs2');
    assert.equal(columnKey({ view: 'dense', gridsize: 2, method: 'pinn' }), 'dense/gs2');
    assert.equal(columnKey({ view: 'dense', gridsize: 2, method: 'rpie' }), 'dense/rpie');
    assert.equal(methodLabel(undefined), 'PINN');
    assert.equal(methodLabel('epie'), 'ePIE');
  });

  it('an iterative cell says "reconstruction", not "training"', () => {
    assert.equal(emptyReason(iter(1, 'dense', 'epie', 'ready'))!.text, 'not reconstructed yet');
    assert.equal(emptyReason({ ...iter(1, 'dense', 'epie', 'failed'), reason: 'worker killed' })!.text, 'reconstruction failed: worker killed');
    assert.equal(emptyReason({ ...iter(1, 'dense', 'epie', 'running'), progress: 'iteration 3/50' })!.text, 'reconstructing · iteration 3/50');
    assert.equal(emptyReason(iter(1, 'dense', 'epie', 'queued'))!.text, 'queued for reconstruction');
    assert.equal(emptyReason(pinn(1, 'dense', 'ready'))!.text, 'not trained yet');
  });
});

describe('study comparison: PINN − iterative deltas', () => {
  const m = (v: Partial<Record<string, number | null>>) => v as DeltaInput['amplitude'];
  const row = (jobId: string, dose: number, view: string, method: string | undefined, amp: Record<string, number | null>, ph: Record<string, number | null> = {}): DeltaInput => ({
    jobId, dose, view, ...(method ? { method } : {}), amplitude: m(amp), phase: m(ph),
  });

  it('pairs each iterative job with the PINN of the same dose and view, in the study metrics order', () => {
    const rows = [
      row('dose_1000/dense/gs2', 1000, 'dense', 'pinn', { msSsim: 0.9, ssim: 0.8, mae: 0.05, psnr: 30, frc50: 0.3 }, { ssim: 0.7, mae: 0.2 }),
      row('dose_1000/dense/test/epie', 1000, 'dense', 'epie', { msSsim: 0.95, ssim: 0.6, mae: 0.08, psnr: 30, frc50: null }, { ssim: 0.9, mae: 0.1 }),
      row('dose_1000/sparse/test/epie', 1000, 'sparse', 'epie', { ssim: 0.5 }), // no PINN of sparse: no pair
      row('dose_1000/baseline/gs1', 1000, 'baseline', undefined, { ssim: 0.4 }),
      row('dose_1000/baseline/test/rpie', 1000, 'baseline', 'rpie', { ssim: 0.45 }),
    ];
    const d = methodDeltas(rows);
    assert.deepEqual(d.map((x) => `${x.view}/${x.method}`), ['baseline/rpie', 'dense/epie']);
    const dense = d[1];
    assert.equal(dense.pinnJobId, 'dose_1000/dense/gs2');
    assert.equal(dense.iterativeJobId, 'dose_1000/dense/test/epie');
    assert.deepEqual(dense.values.filter((v) => v.part === 'amplitude').map((v) => v.metric), [...DELTA_METRICS]);
    const amp = Object.fromEntries(dense.values.filter((v) => v.part === 'amplitude').map((v) => [v.metric, v]));
    assert.ok(Math.abs(amp.msSsim.delta! - -0.05) < 1e-12);
    assert.equal(amp.msSsim.better, 'iterative', 'higher MS-SSIM is better');
    assert.equal(amp.ssim.better, 'pinn');
    assert.ok(Math.abs(amp.mae.delta! - -0.03) < 1e-12);
    assert.equal(amp.mae.better, 'pinn', 'lower MAE is better: the negative delta favours the PINN');
    assert.equal(amp.psnr.better, 'tie');
    assert.equal(amp.frc50.delta, null, 'a missing value gives no delta and no winner');
    assert.equal(amp.frc50.better, undefined);
    const ph = Object.fromEntries(dense.values.filter((v) => v.part === 'phase').map((v) => [v.metric, v]));
    assert.equal(ph.mae.better, 'iterative');
    assert.equal(ph.ssim.better, 'iterative');
    assert.equal(d[0].pinnJobId, 'dose_1000/baseline/gs1', 'a row without method is the PINN');
  });

  it('jobs without metrics are left out; doses are not mixed', () => {
    const d = methodDeltas([
      row('dose_1000/dense/gs2', 1000, 'dense', 'pinn', { ssim: 0.8 }),
      row('dose_10000/dense/test/epie', 10000, 'dense', 'epie', { ssim: 0.9 }),
      row('dose_1000/dense/test/rpie', 1000, 'dense', 'rpie', { ssim: null }),
    ]);
    assert.deepEqual(d, []);
  });
});
