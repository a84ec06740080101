// Regression guard for reconstruction quality: `ptycho-study train` (the real CLI, worker process and
// onnxruntime) trains the small network for about a minute on a simulated study and the common evaluation
// in metrics.json must show amplitude and phase correlating with the ground truth far beyond the flat predictor
// (r = 0 by construction). It fails if the amplitude stops learning again (issue: amplitude r ≈ 0 after short runs),
// and it checks the per-epoch quality events that the job panel plots.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseEvents, type QualityEvent } from '../../src/core/run/events';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');

describe('reconstruction quality (regression, ~1 min of training)', function () {
  this.timeout(900_000);
  const tmp = tempDir('ptycho-quality-');
  after(() => tmp.cleanup());

  it('a short default-settings run of the small network beats the flat predictor on amplitude and phase by a clear margin', async () => {
    const cfg = defaultSimulationConfig(tmp.dir);
    cfg.nImages = 768;
    cfg.doses = [1e5];
    cfg.views = [];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [CLI, 'train', '--workspace', tmp.dir, '--dose', '1e5', '--view', 'baseline', '--epochs', '10', '--n-filters-scale', '1'], { encoding: 'utf8', timeout: 840_000 });
    assert.equal(r.status, 0, `train failed: ${r.stderr}\n${r.stdout}`);
    const seconds = (Date.now() - t0) / 1000;
    const dir = path.join(tmp.dir, 'phase_e', 'dose_100000', 'baseline', 'gs1');
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'metrics.json'), 'utf8'));
    const line = (part: 'amplitude' | 'phase'): string => `${part}: r ${m[part].pearson?.toFixed(3)} (covered ${m[part].pearsonCovered?.toFixed(3)}; untrained ${m.untrained[part].pearson?.toFixed(3)}, flat ${m.flat[part].pearson?.toFixed(3)}), `
      + `SSIM ${m[part].ssim?.toFixed(3)} (untrained ${m.untrained[part].ssim?.toFixed(3)}, flat ${m.flat[part].ssim?.toFixed(3)})`;
    const report = `${line('amplitude')}; ${line('phase')}; ${seconds.toFixed(0)} s`;
    console.log(`      ${report}`);
    assert.equal(m.evaluation.source, 'phase-c-test', report);
    // Pearson r on the covered pixels (the headline r also counts the scan's holes against the model).
    assert.ok(m.amplitude.pearsonCovered >= 0.75 && m.amplitude.pearsonCovered >= (m.flat.amplitude.pearsonCovered ?? 0) + 0.5, `amplitude learned: ${report}`);
    // Gridsize 1 leaves each patch's constant phase free; the default phase-synchronised stitching recovers much
    // of it, the ramp head gives the patches their local phase gradient and the crosstalk correction takes the
    // amplitude's share out of it: 0.77 after 10 epochs (0.62 without the correction, 0.53 without the ramp head
    // either, 0.24 with neither; untrained and flat ≈ 0), so 0.68 fails if the head or the correction stops working.
    assert.ok(m.phase.pearsonCovered >= 0.68 && m.phase.pearsonCovered >= (m.flat.phase.pearsonCovered ?? 0) + 0.3, `phase learned: ${report}`);
    assert.ok(m.crosstalkCorrection && m.crosstalkCorrection.patches > 0, `the crosstalk correction ran: ${JSON.stringify(m.crosstalkCorrection)}`);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { training: { probeOutsideSupport: number } };
    assert.ok(manifest.training.probeOutsideSupport < 0.05, `the simulated probe lies within the network's support: ${manifest.training.probeOutsideSupport}`);
    assert.doesNotMatch(fs.readFileSync(path.join(dir, 'train.log'), 'utf8'), /falls outside the central N\/2/);
    assert.ok(m.amplitude.pearson > m.untrained.amplitude.pearson + 0.3, `headline amplitude r beats the untrained network: ${report}`);
    // SSIM is not asserted: on the common region the scan's holes (≈8 % of it here) count as zero amplitude, which
    // costs the model more SSIM than a flat image everywhere loses (README, Reconstruction quality).
    // Quality while training: one event per measured epoch, on one fixed window, improving on the first.
    const quality = parseEvents(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).filter((e): e is QualityEvent => e.type === 'quality');
    assert.ok(quality.length >= 2, `quality events: ${quality.length}`);
    const epochs = parseEvents(fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8')).filter((e) => e.type === 'epoch');
    if (epochs.length === 10) assert.equal(quality.at(-1)!.epoch, 10, 'the last planned epoch is always measured (its preview is the final model\'s)');
    assert.ok(quality.every((q) => JSON.stringify(q.region) === JSON.stringify(quality[0].region)), 'one fixed window');
    assert.ok(quality.at(-1)!.amplitude.pearson! > quality[0].amplitude.pearson! + 0.1, `amplitude r rises while training: ${quality.map((q) => q.amplitude.pearson?.toFixed(2)).join(' → ')}`);
  });
});
