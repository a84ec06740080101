// The phase-information analysis (scripts/phase-information.ts, README "Reconstruction quality" item 16) on a
// small simulated study: with noiseless data and the whole window as support the truth is a fixed point of the
// maximum-likelihood descent (r = 1), and the network's central-N/2 support pulls the estimate away from it —
// the two facts the README's table rests on (and a wider square, 48 px, holds the probe's light and the truth).
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { openTrainingDataset } from '../../src/core/train/data';
import { study } from '../../scripts/phase-information';
import { tempDir } from './helpers/paths';
import { DOSE, simulateSmallStudy } from './helpers/smallStudy';

describe('phase information: maximum likelihood from the truth', function () {
  this.timeout(120_000);
  const tmp = tempDir('ptycho-phaseinfo-');
  after(() => tmp.cleanup());

  it('keeps the truth with the full support and noiseless data, and leaves it with the central N/2 support', async () => {
    await simulateSmallStudy(tmp.dir, 60);
    const data = await openTrainingDataset(path.join(tmp.dir, 'phase_c', DOSE, 'patched_test.npz'));
    try {
      const rows = await study(data, { data: '', patterns: 2, iterations: 60, neighbours: [1, 2], supports: ['full', 'centre', 'centre=48'], noiseless: true });
      assert.equal(rows.length, 6);
      for (const row of rows) {
        assert.ok(Number.isFinite(row.r) && row.truthRms > 0, JSON.stringify(row));
        if (row.support === 'full') assert.ok(row.r > 0.9999, `full support, noiseless: the truth must stay put (r ${row.r})`);
        else if (row.support === 'centre') assert.ok(row.r < 0.999, `central support: the missing probe light must pull the phase away (r ${row.r})`);
        else {
          // A 48-px square holds all but ~1e-6 of the probe's energy: the truth (nearly) stays.
          const central = rows.find((r) => r.support === 'centre' && r.neighbours === row.neighbours)!;
          assert.ok(row.r > central.r && row.r > 0.99, `centre=48 (r ${row.r}) must keep the truth better than the N/2 centre (r ${central.r})`);
        }
      }
      assert.equal(rows.find((r) => r.neighbours === 1)!.spacing, 0);
      assert.ok(rows.find((r) => r.neighbours === 2)!.spacing > 0);
    } finally {
      await data.close();
    }
  });
});
