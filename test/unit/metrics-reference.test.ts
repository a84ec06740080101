// Cross-checks src/core/metrics against the NumPy/SciPy reference of the study's recipe: the inputs and the
// expected values were written by test/fixtures/make_metrics_fixtures.py into test/fixtures/metrics/ (no Python
// needed at test time).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openNpz } from '../../src/core/npy';
import {
  evaluateReconstruction, frc, gaussianFilter, msSsim, removePlane, ssim, toJsonMetrics,
  type ImageMetrics, type MetricOptions,
} from '../../src/core/metrics';
import { fixturesDir } from './helpers/paths';

const dir = path.join(fixturesDir, 'metrics');

interface ExpectedFrc { curve: number[]; frc50: number; frc50Interpolated: number; frc1over7: number }
/** The reference (expected.json) holds the study's FRC crossings as shell indices. */
type ReferenceImageMetrics = Pick<ImageMetrics, 'mae' | 'mse' | 'psnr' | 'psnrStudy' | 'ssim' | 'msSsim' | 'frc50' | 'frc50Interpolated' | 'frc1over7' | 'frcCurve'>;

interface ExpectedCase {
  file: string;
  width: number;
  height: number;
  options: MetricOptions;
  expected: { amplitude: ReferenceImageMetrics; phase: ReferenceImageMetrics; width: number; height: number };
}
interface Expected {
  numpy: string;
  scipy: string;
  cases: Record<string, ExpectedCase>;
  functions: Record<string, number> & { frc_a_b: ExpectedFrc; frc_smooth_b: ExpectedFrc };
}

const expected: Expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8'));

/** Relative tolerance of the cross-check (float64 on both sides; observed agreement is ~1e-12 or better). */
const RTOL = 1e-9;
/** Absolute floor for values near 0 (e.g. FRC shells of uncorrelated content). */
const ATOL = 1e-12;

function close(got: number, want: number, label: string, rtol = RTOL, atol = ATOL): void {
  const err = Math.abs(got - want);
  assert.ok(err <= atol + rtol * Math.abs(want), `${label}: got ${got}, want ${want} (|Δ| = ${err.toExponential(2)})`);
}

function closeArray(got: ArrayLike<number>, want: ArrayLike<number>, label: string, rtol = RTOL, atol = ATOL): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) close(got[i], want[i], `${label}[${i}]`, rtol, atol);
}

async function readArrays(file: string, names: string[]): Promise<Record<string, { data: Float32Array | Float64Array; shape: number[] }>> {
  const a = await openNpz(path.join(dir, file));
  try {
    const out: Record<string, { data: Float32Array | Float64Array; shape: number[] }> = {};
    for (const n of names) {
      const arr = await a.readArray(n);
      assert.ok(arr.data instanceof Float32Array || arr.data instanceof Float64Array, `${file}[${n}] is float data`);
      out[n] = { data: arr.data, shape: arr.shape };
    }
    return out;
  } finally {
    await a.close();
  }
}

function compareImageMetrics(got: ImageMetrics, want: ReferenceImageMetrics, label: string): void {
  for (const key of ['mae', 'mse', 'psnr', 'psnrStudy', 'ssim', 'msSsim'] as const) {
    close(got[key], want[key], `${label}.${key}`);
  }
  close(got.frc50InterpolatedShell, want.frc50Interpolated, `${label}.frc50Interpolated (shell)`);
  close(got.frc1over7Shell, want.frc1over7, `${label}.frc1over7 (shell)`);
  assert.equal(got.frc50Shell, want.frc50, `${label}.frc50 (shell)`);
  // Reported as spatial frequency: shell / L cycles per pixel, L = the side of the FRC's centre square.
  assert.equal(got.frcSize, 2 * want.frcCurve.length + (got.frcSize % 2), `${label}.frcSize`);
  assert.equal(got.frc50, got.frc50Shell / got.frcSize, `${label}.frc50 (cycles/px)`);
  assert.equal(got.frc50Interpolated, got.frc50InterpolatedShell / got.frcSize, `${label}.frc50Interpolated (cycles/px)`);
  assert.equal(got.frc1over7, got.frc1over7Shell / got.frcSize, `${label}.frc1over7 (cycles/px)`);
  closeArray(got.frcCurve, want.frcCurve, `${label}.frcCurve`);
}

describe('metrics: cross-check against the NumPy/SciPy reference', () => {
  it('expected.json covers the fixture folder', () => {
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.npz')).sort();
    const named = [...Object.values(expected.cases).map((c) => c.file), 'functions.npz'].sort();
    assert.deepEqual(files, named);
  });

  for (const [name, c] of Object.entries(expected.cases)) {
    it(`evaluateReconstruction matches the reference on ${name} (${c.width}×${c.height}, ${JSON.stringify(c.options)})`, async () => {
      const { pred, target } = await readArrays(c.file, ['pred', 'target']);
      assert.deepEqual(target.shape, [c.height, c.width]);
      const got = evaluateReconstruction(pred.data, target.data, c.width, c.height, c.options);
      assert.equal(got.width, c.expected.width);
      assert.equal(got.height, c.expected.height);
      compareImageMetrics(got.amplitude, c.expected.amplitude, `${name}.amplitude`);
      compareImageMetrics(got.phase, c.expected.phase, `${name}.phase`);
      // Fixtures are all finite: the JSON form carries the same numbers.
      const json = toJsonMetrics(got);
      assert.deepEqual(JSON.parse(JSON.stringify(json)), json);
      assert.equal(json.amplitude.ssim, got.amplitude.ssim);
    });
  }

  describe('single functions on 64×48 real images', () => {
    const w = 64;
    const h = 48;
    let arrays: Record<string, { data: Float32Array | Float64Array; shape: number[] }>;
    const f64 = (n: string): Float64Array => arrays[n].data as Float64Array;
    before(async () => {
      arrays = await readArrays('functions.npz', [
        'a', 'b', 'smooth', 'tiny', 'with_plane', 'gauss_a_1', 'gauss_a_2_5', 'gauss_tiny_2', 'gauss_a_0_3', 'plane_removed',
      ]);
    });
    const fx = expected.functions;

    it('ssim matches skimage.structural_similarity (re-implemented with scipy uniform_filter)', () => {
      close(ssim(f64('a'), f64('b'), w, h, 1), fx.ssim_a_b_1, 'ssim(a, b, 1)');
      close(ssim(f64('a'), f64('b'), w, h, 0.5), fx.ssim_a_b_0_5, 'ssim(a, b, 0.5)');
      close(ssim(f64('b'), f64('a'), w, h, 1), fx.ssim_a_b_1, 'ssim(b, a, 1) (symmetric)');
      const smooth = f64('smooth');
      const range = Math.max(...smooth) - Math.min(...smooth);
      close(ssim(smooth, f64('b'), w, h, range), fx.ssim_smooth_b_range, 'ssim(smooth, b, ptp)');
      const c = new Float64Array(w * h).fill(fx.const_value);
      close(ssim(f64('a'), c, w, h, 1), fx.ssim_a_const_1, 'ssim(a, constant, 1)');
    });

    it('msSsim matches the study ms_ssim, with and without Gaussian pre-smoothing', () => {
      close(msSsim(f64('a'), f64('b'), w, h, 0), fx.msssim_a_b_0, 'msSsim(a, b, 0)');
      close(msSsim(f64('a'), f64('b'), w, h), fx.msssim_a_b_0, 'msSsim(a, b) defaults to sigma 0');
      close(msSsim(f64('a'), f64('b'), w, h, 1), fx.msssim_a_b_1, 'msSsim(a, b, 1)');
      close(msSsim(f64('smooth'), f64('b'), w, h, 1), fx.msssim_smooth_b_1, 'msSsim(smooth, b, 1)');
    });

    it('gaussianFilter matches scipy.ndimage.gaussian_filter (truncate 4, reflect), also past the image size', () => {
      closeArray(gaussianFilter(f64('a'), w, h, 1), f64('gauss_a_1'), 'sigma 1', 1e-12, 1e-14);
      closeArray(gaussianFilter(f64('a'), w, h, 2.5), f64('gauss_a_2_5'), 'sigma 2.5', 1e-12, 1e-14);
      closeArray(gaussianFilter(f64('a'), w, h, 0.3), f64('gauss_a_0_3'), 'sigma 0.3', 1e-12, 1e-14);
      // 5×3 image, radius 8: the reflection repeats several times.
      closeArray(gaussianFilter(f64('tiny'), 5, 3, 2), f64('gauss_tiny_2'), 'tiny, sigma 2', 1e-12, 1e-14);
    });

    it('removePlane matches np.linalg.lstsq plane removal', () => {
      closeArray(removePlane(f64('with_plane'), w, h), f64('plane_removed'), 'plane removed', 1e-9, 1e-12);
    });

    it('frc matches FSC on a non-square pair (centre-cropped to 48×48)', () => {
      for (const [img, want] of [['a', fx.frc_a_b], ['smooth', fx.frc_smooth_b]] as const) {
        const got = frc(f64(img), f64('b'), w, h);
        closeArray(got.curve, want.curve, `frc(${img}, b).curve`);
        assert.equal(got.curve.length, 24);
        assert.equal(got.frc50, want.frc50);
        close(got.frc50Interpolated, want.frc50Interpolated, `frc(${img}, b).frc50Interpolated`);
        close(got.frc1over7, want.frc1over7, `frc(${img}, b).frc1over7`);
      }
    });
  });
});
