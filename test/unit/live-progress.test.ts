// The live progress of a running job, read incrementally from its events.jsonl (core/run/liveProgress.ts): the last
// progress / iteration since the run (re)started, only appended bytes read, a restarted run or a truncated file
// starting over, torn and foreign lines skipped, and a long file entered near its end.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProgressReader } from '../../src/core/run/liveProgress';
import { tempDir } from './helpers/paths';

const t = '2026-01-01T00:00:00.000Z';
const progress = (step: number): string => JSON.stringify({ time: t, jobId: 'j', type: 'progress', epoch: 1, epochs: 2, step, stepInEpoch: step, stepsPerEpoch: 10, loss: -1, imagesPerSec: 5, etaSeconds: 3 });
const started = (): string => JSON.stringify({ time: t, jobId: 'j', type: 'started', pid: 5, executionProviderRequested: 'cpu', executionProviderUsed: 'cpu', epochs: 2, stepsPerEpoch: 10, batchSize: 8, parameters: 1, trainGroups: 1, validationGroups: 1, testGroups: 1 });
const iteration = (i: number): string => JSON.stringify({ time: t, jobId: 'j', type: 'iteration', iteration: i, iterations: 50, mse: 1, relativeError: 0.1, probeUpdated: false, seconds: 0.1, updatesPerSec: 100, etaSeconds: 1 });

const halves = (half: number, i: number): string => JSON.stringify({ time: t, jobId: 'j', type: 'recon-halves', half, patterns: 64, iteration: i, iterations: 50, seconds: 0.1, etaSeconds: 1 });

describe('live progress from events.jsonl', () => {
  const tmp = tempDir('ptycho-progress-');
  after(() => tmp.cleanup());

  it('follows appends; a new run resets; torn and unknown lines are skipped; truncation starts over', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'job-'));
    const file = path.join(dir, 'events.jsonl');
    const r = new ProgressReader(dir);
    assert.deepEqual(await r.poll(), {}, 'no file yet');
    fs.writeFileSync(file, `${progress(1)}\n${started()}\n${progress(2)}\n{"type":"progress","torn\n{"type":"mystery"}\n`);
    assert.equal((await r.poll()).progress?.step, 2, 'the step after the last start; the progress of an earlier run is forgotten');
    fs.appendFileSync(file, `${progress(3)}\n${progress(4)}`); // the last line is not terminated yet
    assert.equal((await r.poll()).progress?.step, 3);
    fs.appendFileSync(file, '\n');
    assert.equal((await r.poll()).progress?.step, 4);
    const same = await r.poll();
    assert.equal(same, r.current, 'nothing appended: the same record');
    fs.appendFileSync(file, `${started()}\n`);
    assert.deepEqual(await r.poll(), {}, 'a resumed run starts with no progress');
    fs.writeFileSync(file, `${iteration(7)}\n`); // replaced by a shorter file
    const p = await r.poll();
    assert.equal(p.iteration?.iteration, 7);
    assert.equal(p.progress, undefined);
    // A Phase F run's half sets follow its iterations: shown beside the last iteration until another one comes.
    fs.appendFileSync(file, `${halves(1, 3)}\n${halves(2, 1)}\n`);
    const h = await r.poll();
    assert.deepEqual([h.halves?.half, h.halves?.iteration, h.iteration?.iteration], [2, 1, 7]);
    fs.appendFileSync(file, `${iteration(8)}\n`);
    const after = await r.poll();
    assert.deepEqual([after.halves, after.iteration?.iteration], [undefined, 8]);
  });

  it('a long events.jsonl is entered near its end, not read whole', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'long-'));
    const line = progress(1);
    const lines = Math.ceil((3 << 20) / line.length);
    fs.writeFileSync(path.join(dir, 'events.jsonl'), `${started()}\n${`${line}\n`.repeat(lines)}${progress(9)}\n`);
    const r = new ProgressReader(dir);
    let last;
    for (let i = 0; i < 4 && last?.progress?.step !== 9; i++) last = await r.poll();
    assert.equal(last?.progress?.step, 9);
  });

  it('a run that has just started shows none of the previous run\'s progress (the manifest says running before its started event)', async () => {
    const dir = fs.mkdtempSync(path.join(tmp.dir, 'rerun-'));
    fs.writeFileSync(path.join(dir, 'events.jsonl'), `${started()}\n${progress(9)}\n`); // the earlier run, at t
    const r = new ProgressReader(dir);
    const since = '2026-01-02T00:00:00.000Z'; // this run's start, from its manifest
    assert.deepEqual(await r.poll(since), {}, 'the earlier run\'s step 9 is not this run\'s');
    assert.deepEqual(r.current, {});
    const later = progress(1).replace(t, '2026-01-02T00:00:05.000Z');
    fs.appendFileSync(path.join(dir, 'events.jsonl'), `${started().replace(t, since)}\n${later}\n`);
    assert.equal((await r.poll(since)).progress?.step, 1);
    assert.equal(r.current.progress?.step, 1);
  });
});
