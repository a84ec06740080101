// Copy CLI Command (core/study/cliCommand.ts): the command a job's settings produce, run through a real POSIX
// shell in a study whose path holds a space, an apostrophe and a dollar sign, plans exactly the run those settings
// plan in-process (the extension's path): every training setting in run-config.json, every reconstruction setting
// in the Phase F manifest.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { reconstructArgs, shellCommand, shellQuote, trainArgs } from '../../src/core/study/cliCommand';
import { DEFAULT_TRAINING, resolveTrainingSettings, type TrainingSettings } from '../../src/core/study/config';
import { resolveReconstructionSettings, type ReconstructionSettings } from '../../src/core/study/reconstructJobs';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');

function sh(line: string): { code: number | null; out: string; err: string } {
  const r = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('Copy CLI Command: the command line of a job', function () {
  this.timeout(120_000);
  const tmp = tempDir('ptycho-clicmd-');
  const study = path.join(tmp.dir, "it's a $HOME study");
  const roots = { phaseCRoot: path.join(study, 'phase_c'), phaseDRoot: path.join(study, 'phase_d'), artifactRoot: path.join(study, 'phase_e'), phaseFRoot: path.join(study, 'phase_f') };
  before(async () => {
    const cfg = defaultSimulationConfig(study);
    cfg.nImages = 120;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());

  it('quotes for a POSIX shell: plain words bare, anything else single-quoted (quotes inside escaped)', () => {
    assert.equal(shellQuote('--epochs'), '--epochs');
    assert.equal(shellQuote('/a/b_c-1.5'), '/a/b_c-1.5');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote("it's $HOME"), `'it'\\''s $HOME'`);
    assert.equal(sh(`printf %s ${shellQuote("a'b $(touch x) `y` \\ \"z\"")}`).out, "a'b $(touch x) `y` \\ \"z\"");
  });

  it('train: every setting written out; the command, run by a shell as a dry run, plans the same training as in-process', () => {
    const cases: [Partial<TrainingSettings>, string[]][] = [
      [{
        epochs: 3, batchSize: 8, learningRate: 5e-4, neighborCount: 5, seed: 7, nFiltersScale: 1, earlyStoppingPatience: 4, stitchCropSize: 16,
        stitchPhaseAlignment: false, probeBig: true, rampHead: false, residualBlocks: true, backprojectedInput: true, energyAmplitude: true, weightInit: 'he', warmupSteps: 10, minDelta: 0.001, earlyStoppingMonitor: 'loss', executionProvider: 'cpu',
      }, ['--epochs', '--lr', '--early-stopping-patience', '--stitch-crop-size', '--plain-stitch', '--probe-big', '--no-ramp-head', '--residual-blocks', '--backprojected-input', '--energy-amplitude', '--weight-init', '--ep', '--threads']],
      [{ epochs: 2, objectSupport: 'full', patienceRestartsOnLrReduction: false, stitchBlend: 'crop', stitchAmplitudeFilter: false, stitchPhaseFilter: false, regroupEachEpoch: true, symmetryAugment: !DEFAULT_TRAINING.symmetryAugment }, ['--object-support', '--no-patience-restart', '--stitch-blend', '--no-amplitude-filter', '--no-phase-filter', '--regroup-each-epoch', DEFAULT_TRAINING.symmetryAugment ? '--no-symmetry-augment' : '--symmetry-augment', '--threads']],
    ];
    for (const [overrides, flags] of cases) {
      const argv = trainArgs({ dose: 10000, view: 'dense', gridsize: 2 }, roots, overrides, 2);
      assert.deepEqual(argv.slice(0, 1), ['train']);
      for (const f of flags) assert.ok(argv.includes(f), f);
      // A dry run takes the same flags but --threads (a run option, not a setting).
      const dry = argv.slice();
      dry[0] = 'dry-run';
      dry.splice(dry.indexOf('--threads'), 2);
      const r = sh(shellCommand(['node', CLI, ...dry, '--json']));
      assert.equal(r.code, 0, r.err + r.out);
      const config = JSON.parse(fs.readFileSync(path.join(roots.artifactRoot, 'dose_10000', 'dense', 'gs2', 'run-config.json'), 'utf8'));
      assert.deepEqual(config.training, JSON.parse(JSON.stringify(resolveTrainingSettings(overrides))));
      assert.equal(config.trainPath, path.join(roots.phaseDRoot, 'dose_10000', 'dense', 'dense_train.npz'));
    }
  });

  it('train: a setting no flag can carry is refused rather than silently dropped', () => {
    assert.throws(() => trainArgs({ dose: 10000, view: 'dense', gridsize: 2 }, roots, { plateauPatience: 9 }), /plateauPatience \(9\) has no command-line flag/);
  });

  it('reconstruct: the command, run by a shell, reconstructs with exactly the settings planned in-process (ad and epie)', () => {
    const cases: [string, 'ad' | 'epie', Partial<ReconstructionSettings>][] = [
      ['ad', 'ad', { iterations: 2, loss: 'poisson', learningRate: 0.05, batchSize: 16, seed: 3, checkpointEvery: 1, executionProvider: 'cpu' }],
      ['epie', 'epie', { iterations: 2, momentum: 0.5, anneal: 0.5, alpha: 0.8, seed: 5, amplitudeFilter: false, phaseFilter: false }],
    ];
    for (const [name, algorithm, overrides] of cases) {
      const argv = reconstructArgs({ dose: 10000, view: 'baseline', split: 'test', algorithm }, roots, overrides);
      const r = sh(shellCommand(['node', CLI, ...argv]));
      assert.equal(r.code, 0, `${name}: ${r.err}${r.out}`);
      const m = JSON.parse(fs.readFileSync(path.join(roots.phaseFRoot, 'dose_10000', 'baseline', 'test', algorithm, 'manifest.json'), 'utf8'));
      assert.equal(m.status, 'succeeded', name);
      assert.deepEqual(m.config.settings, JSON.parse(JSON.stringify(resolveReconstructionSettings(overrides))), name);
    }
  });
});
