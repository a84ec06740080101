// One rule for a job's state (core/study/jobs.ts stateOf) and the job-only refresh the extension's store uses:
// a running run wins, then missing/invalid data, then the last run's status; a manifest change is picked up by
// re-reading that one job's run record.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { refreshRunState, stateOf, type JobState } from '../../src/core/study';
import { tempDir } from './helpers/paths';

describe('job state: one rule, and the job-only refresh', () => {
  it('running wins over data problems; data problems over the last run; dry runs count for training only', () => {
    const invalid = { state: 'invalid' as const, reason: 'bad probe' };
    assert.deepEqual(stateOf({ status: 'running' }, invalid), { state: 'running', reason: undefined });
    assert.deepEqual(stateOf({ status: 'succeeded' }, invalid), invalid);
    assert.deepEqual(stateOf({ status: 'failed', reason: 'killed' }, undefined), { state: 'failed', reason: 'killed' });
    assert.deepEqual(stateOf({ status: 'dry-run' }, undefined), { state: 'dry-run', reason: undefined });
    assert.deepEqual(stateOf({ status: 'dry-run' }, undefined, true), { state: 'ready' });
    assert.deepEqual(stateOf(undefined, undefined), { state: 'ready' });
  });

  it('re-reads one job\'s manifest: ready → failed (with its reason) → ready again when the folder is emptied', async () => {
    const tmp = tempDir('ptycho-job-state-');
    try {
      const job: { artifactDir: string; state: JobState; reason?: string; dataProblem?: { state: 'missing' | 'invalid'; reason: string } } = { artifactDir: path.join(tmp.dir, 'job'), state: 'ready' };
      await refreshRunState(job);
      assert.equal(job.state, 'ready');
      fs.mkdirSync(job.artifactDir);
      fs.writeFileSync(path.join(job.artifactDir, 'manifest.json'), JSON.stringify({ status: 'failed', reason: 'disk full' }));
      await refreshRunState(job);
      assert.deepEqual([job.state, job.reason], ['failed', 'disk full']);
      // Missing data stays the state while no run is live.
      job.dataProblem = { state: 'missing', reason: 'Training split not found.' };
      await refreshRunState(job);
      assert.deepEqual([job.state, job.reason], ['missing', 'Training split not found.']);
      job.dataProblem = undefined;
      fs.rmSync(path.join(job.artifactDir, 'manifest.json'));
      await refreshRunState(job);
      assert.equal(job.state, 'ready');
      assert.equal(job.reason, undefined);
    } finally {
      tmp.cleanup();
    }
  });
});
