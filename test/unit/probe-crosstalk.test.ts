// The probe's share of the far-field centroid (README "Reconstruction quality" item 17): for an amplitude-only
// object under a curved probe, the sin-weighted centroid of |fftshift(FFT2(P·A))|² — computed through the model's
// own DFT matrices — is what probePhaseGradient/probeCentroidShare say, for amplitudes with edges anywhere; and a
// flat-phase probe has no share at all.
import { strict as assert } from 'node:assert';
import { normalizeProbe, probeCentroidShare, probePhaseGradient, shiftedDftMatrices } from '../../src/core/model';
import { syntheticProbe } from '../../src/core/simulate';
import { seeded } from './helpers/ort';

/** Sin-weighted centroid (detector px) of |Fs·ψ·Fsᵀ|², x then y. */
function farFieldCentroid(re: Float64Array, im: Float64Array, n: number): [number, number] {
  const f = shiftedDftMatrices(n);
  const tr = new Float64Array(n * n), ti = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    let sr = 0, si = 0;
    for (let k = 0; k < n; k++) {
      const fr = f.re[r * n + k], fi = f.im[r * n + k];
      sr += fr * re[k * n + c] - fi * im[k * n + c];
      si += fr * im[k * n + c] + fi * re[k * n + c];
    }
    tr[r * n + c] = sr; ti[r * n + c] = si;
  }
  let t = 0, cx = 0, cy = 0;
  const weight = (c: number): number => (n / (2 * Math.PI)) * Math.sin((2 * Math.PI * (c - n / 2)) / n);
  for (let r = 0; r < n; r++) for (let c = 0; c < n; c++) {
    let sr = 0, si = 0;
    for (let k = 0; k < n; k++) {
      const fr = f.reT[k * n + c], fi = f.imT[k * n + c];
      sr += tr[r * n + k] * fr - ti[r * n + k] * fi;
      si += tr[r * n + k] * fi + ti[r * n + k] * fr;
    }
    const e = sr * sr + si * si;
    t += e; cx += e * weight(c); cy += e * weight(r);
  }
  return [cx / t, cy / t];
}

describe('probe crosstalk: an amplitude edge under a curved probe moves the far-field centroid', () => {
  const n = 64;
  const probe = normalizeProbe(syntheticProbe(n).data, n);
  const maps = probePhaseGradient(probe, n);

  it('the probe\'s share equals the far-field centroid of P·A for amplitudes with edges in different places', () => {
    const rnd = seeded(31);
    const shares: number[] = [];
    for (let trial = 0; trial < 4; trial++) {
      const ax = rnd() - 0.5, ay = rnd() - 0.5, x0 = (rnd() - 0.5) * 16, y0 = (rnd() - 0.5) * 16;
      const a = Float64Array.from({ length: n * n }, (_, k) => 0.6 + 0.35 * Math.tanh(ax * ((k % n) - n / 2 - x0) + ay * (Math.floor(k / n) - n / 2 - y0)));
      const got = farFieldCentroid(Float64Array.from(a, (v, k) => v * probe.re[k]), Float64Array.from(a, (v, k) => v * probe.im[k]), n);
      const share = probeCentroidShare((k) => a[k], maps, n);
      for (const axis of [0, 1]) assert.ok(Math.abs(got[axis] - share[axis]) < 1e-3, `trial ${trial}, axis ${axis}: far-field centroid ${got[axis]} vs the probe's share ${share[axis]}`);
      shares.push(...share);
    }
    // The crosstalk is not small: edges move the centroid by pixels (the truth's phase ramps move it by ~0.25).
    assert.ok(Math.max(...shares.map(Math.abs)) > 1, `largest share ${Math.max(...shares.map(Math.abs))} px`);
  });

  it('a probe without phase curvature has no share, whatever the amplitude', () => {
    const flat = { re: Float32Array.from(probe.re, (v, k) => Math.hypot(v, probe.im[k])), im: new Float32Array(n * n) };
    const a = Float64Array.from({ length: n * n }, (_, k) => 0.5 + 0.4 * Math.tanh(0.3 * ((k % n) - n / 2 - 4)));
    const [u, v] = probeCentroidShare((k) => a[k], probePhaseGradient(flat, n), n);
    assert.equal(u, 0);
    assert.equal(v, 0);
  });
});
