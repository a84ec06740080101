// The study the reconstruction-viewer benchmark opens (npm run bench:ui): a tiny simulated study (the CLI's
// `simulate`, so discovery finds real jobs) whose dose_1000/baseline/gs1 job gets a synthetic but complete
// result — a 1024 × 1024 complex64 object with its ground truth and stitching weight, metrics.json and a
// succeeded manifest.json — as a trained run would leave it.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ndarray, writeNpz } from '../src/core/npy';
import { quantisePreview, TRUTH_PREVIEW, writePreview } from '../src/core/run/previews';

/** Epochs of the bench job's Reconstruction previews (the job panel's slider scrubs through them). */
export const BENCH_PREVIEW_EPOCHS = 50;

/**
 * The previews a 50-epoch training leaves (previews/epoch_NNN.npz, 128 × 128, uint8 as the worker writes them, and
 * truth.npz) and the journal that announces them (events.jsonl: started, then per epoch its loss and its quality
 * event naming the preview) — what the job panel's Reconstruction section reads.
 */
async function writePreviewRun(jobDir: string, jobId: string, epochs = BENCH_PREVIEW_EPOCHS, side = 128): Promise<void> {
  const region = { x0: 200, y0: 200, width: side, height: side };
  const window = (epoch: number): Float32Array => {
    const o = new Float32Array(2 * side * side);
    const sharp = epoch / epochs; // the picture sharpens as training goes
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const a = 0.6 + 0.3 * sharp * Math.sin(x / 9) * Math.cos(y / 13);
        const p = 2 * sharp * Math.sin(x / 21 + y / 17) + 0.3 * (1 - sharp) * Math.cos((x * y) / 700 + epoch);
        o[2 * (y * side + x)] = a * Math.cos(p);
        o[2 * (y * side + x) + 1] = a * Math.sin(p);
      }
    }
    return o;
  };
  const t0 = Date.UTC(2026, 0, 1);
  const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
  const lines: string[] = [JSON.stringify({ type: 'started', time: at(0), jobId, pid: 1, executionProviderRequested: 'cpu', executionProviderUsed: 'cpu', epochs, stepsPerEpoch: 10, batchSize: 16, parameters: 1, trainGroups: 160, validationGroups: 16, testGroups: 64 })];
  for (let e = 1; e <= epochs; e++) {
    const preview = await writePreview(jobDir, quantisePreview(e, region, window(e)));
    const loss = -90 - 2 * (1 - Math.exp(-e / 10));
    lines.push(JSON.stringify({ type: 'epoch', time: at(10 * e), jobId, epoch: e, epochs, trainLoss: loss, valLoss: loss + 0.05, lr: 2.5e-4, lrReduced: false, seconds: 10 }));
    const r = 0.2 + 0.7 * (1 - Math.exp(-e / 12));
    lines.push(JSON.stringify({ type: 'quality', time: at(10 * e + 1), jobId, epoch: e, amplitude: { pearson: r, ssim: r * 0.9 }, phase: { pearson: r * 0.8, ssim: r * 0.7 }, region, groups: 64, seconds: 0.2, preview, previewSeconds: 0.01 }));
  }
  await writePreview(jobDir, quantisePreview(0, region, window(epochs)), TRUTH_PREVIEW);
  fs.writeFileSync(path.join(jobDir, 'events.jsonl'), `${lines.join('\n')}\n`);
}

export const BENCH_RECON_JOB = 'dose_1000/baseline/gs1';

export async function writeReconStudy(dir: string, cliJs: string, side = 1024): Promise<string> {
  const sim = spawnSync(process.execPath, [cliJs, 'simulate', '--out', dir, '--n-images', '32'], { encoding: 'utf8' });
  if (sim.status !== 0) throw new Error(`simulate failed: ${sim.stderr || sim.stdout}`);
  const jobDir = path.join(dir, 'phase_e', 'dose_1000', 'baseline', 'gs1');
  fs.mkdirSync(jobDir, { recursive: true });
  const n = side * side;
  const object = new Float32Array(2 * n);
  const gt = new Float32Array(2 * n);
  const weight = new Float32Array(n);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = y * side + x;
      const a = 0.6 + 0.3 * Math.sin(x / 37) * Math.cos(y / 53);
      const p = 2.5 * Math.sin(x / 91 + y / 67) + 0.4 * Math.cos((x * y) / 5000);
      gt[2 * i] = a * Math.cos(p);
      gt[2 * i + 1] = a * Math.sin(p);
      const ar = a * (0.95 + 0.05 * Math.sin(x / 7));
      const pr = p + 0.3 + 0.05 * Math.sin(y / 11);
      object[2 * i] = ar * Math.cos(pr);
      object[2 * i + 1] = ar * Math.sin(pr);
      weight[i] = x > 16 && y > 16 && x < side - 16 && y < side - 16 ? 1 + ((x + y) % 3) : 0;
    }
  }
  await writeNpz(path.join(jobDir, 'reconstruction.npz'), {
    object: ndarray('<c8', [side, side], object),
    weight: ndarray('<f4', [side, side], weight),
    origin: ndarray('<i4', [2], Int32Array.from([8, 8])),
    ground_truth: ndarray('<c8', [side, side], gt),
  });
  const m = (v: number) => ({ mae: v, mse: v * v, psnr: 30, psnrStudy: 70, ssim: 0.9, msSsim: 0.9, frc50: 40, frc50Interpolated: 40.5, frc1over7: 60, frcCurve: Array.from({ length: 64 }, (_, k) => Math.exp(-k / 40)) });
  fs.writeFileSync(path.join(jobDir, 'metrics.json'), JSON.stringify({
    schemaVersion: 1, jobId: BENCH_RECON_JOB, split: 'test', coverage: 0.94, metricRegion: { x: 17, y: 17, width: side - 34, height: side - 34 },
    globalPhaseOffset: -0.3, testLoss: 0.1, amplitude: m(0.02), phase: m(0.05), width: side - 38, height: side - 38, trim: 2, phaseAlign: 'plane',
    untrained: { amplitude: m(0.2), phase: m(0.5) },
  }));
  const now = new Date().toISOString();
  fs.writeFileSync(path.join(jobDir, 'manifest.json'), JSON.stringify({
    schemaVersion: 1, kind: 'ptycho-study-job', job: { id: BENCH_RECON_JOB, dose: 1000, view: 'baseline', gridsize: 1 }, status: 'succeeded',
    createdAt: now, updatedAt: now, finishedAt: now, findings: [],
    config: { jobId: BENCH_RECON_JOB, dose: 1000, view: 'baseline', gridsize: 1, training: { epochs: 1 } },
    runtime: { hostname: 'bench', platform: process.platform, node: process.version, executionProviderRequested: 'cpu', executionProviderCandidates: ['cpu'], executionProviderUsed: 'cpu' },
    result: { epochs: 1, steps: 1, finalLoss: 0.1, bestValLoss: 0.1, stopReason: 'synthetic result for the UI benchmark' },
  }));
  await writePreviewRun(jobDir, BENCH_RECON_JOB);
  return jobDir;
}
