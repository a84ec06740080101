// How many intra-op threads a run's onnxruntime sessions get: an explicit request (CLI --threads or the setting)
// > SLURM_CPUS_PER_TASK > OMP_NUM_THREADS > the available cores; bad environment values are skipped with a note,
// a bad explicit value is an error that names it.
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import { checkRequestedThreads, describeThreads, resolveThreads, ThreadsError } from '../../src/core/runtime/threads';

describe('resolveThreads', () => {
  const env = { SLURM_CPUS_PER_TASK: '3', OMP_NUM_THREADS: '5' };

  it('precedence: explicit request > SLURM_CPUS_PER_TASK > OMP_NUM_THREADS > available cores', () => {
    assert.deepEqual(resolveThreads({ requested: 2, env, available: 8 }), { threads: 2, source: 'cli', notes: [] });
    assert.deepEqual(resolveThreads({ requested: 6, requestedFrom: 'setting', env, available: 8 }), { threads: 6, source: 'setting', notes: [] });
    assert.deepEqual(resolveThreads({ env, available: 8 }), { threads: 3, source: 'SLURM_CPUS_PER_TASK', notes: [] });
    assert.deepEqual(resolveThreads({ env: { OMP_NUM_THREADS: '5' }, available: 8 }), { threads: 5, source: 'OMP_NUM_THREADS', notes: [] });
    assert.deepEqual(resolveThreads({ env: {}, available: 8 }), { threads: 8, source: 'available', notes: [] });
  });

  it('0 (the setting\'s default) and undefined mean automatic', () => {
    assert.equal(resolveThreads({ requested: 0, requestedFrom: 'setting', env, available: 8 }).source, 'SLURM_CPUS_PER_TASK');
    assert.equal(resolveThreads({ requested: 0, env: {}, available: 4 }).threads, 4);
    assert.equal(resolveThreads({ requested: undefined, env: {}, available: 4 }).source, 'available');
  });

  it('invalid environment values are ignored with a note; the next source decides', () => {
    for (const bad of ['0', '-2', '2.5', 'four', '1e2', ' ']) {
      const r = resolveThreads({ env: { SLURM_CPUS_PER_TASK: bad, OMP_NUM_THREADS: '2' }, available: 8 });
      assert.equal(r.threads, 2, bad);
      assert.equal(r.source, 'OMP_NUM_THREADS', bad);
      if (bad.trim() !== '') assert.match(r.notes[0], /SLURM_CPUS_PER_TASK=.* is not a positive whole number; ignored/, bad);
    }
    const both = resolveThreads({ env: { SLURM_CPUS_PER_TASK: 'x', OMP_NUM_THREADS: '0' }, available: 6 });
    assert.deepEqual([both.threads, both.source, both.notes.length], [6, 'available', 2]);
    assert.match(both.notes[1], /OMP_NUM_THREADS="0"/);
  });

  it('OMP_NUM_THREADS as a nested list counts its first level; whitespace is tolerated', () => {
    assert.deepEqual(resolveThreads({ env: { OMP_NUM_THREADS: '4,2' }, available: 8 }), { threads: 4, source: 'OMP_NUM_THREADS', notes: [] });
    assert.equal(resolveThreads({ env: { SLURM_CPUS_PER_TASK: ' 7 ' }, available: 8 }).threads, 7);
    // SLURM_CPUS_PER_TASK has no list form.
    assert.equal(resolveThreads({ env: { SLURM_CPUS_PER_TASK: '4,2' }, available: 8 }).source, 'available');
  });

  it('an invalid explicit value is an error naming the flag or the setting', () => {
    for (const bad of [-1, 1.5, NaN, Infinity, 5000]) {
      assert.throws(() => resolveThreads({ requested: bad, env: {}, available: 2 }), (e: Error) => e instanceof ThreadsError && /^--threads must be a whole number from 1 to 1024, or 0 for automatic/.test(e.message), String(bad));
    }
    assert.throws(() => resolveThreads({ requested: -3, requestedFrom: 'setting', env: {}, available: 2 }), /^ThreadsError: ptychoStudy\.training\.threads must be .*\(got -3\)/);
    assert.throws(() => checkRequestedThreads('two', '--threads'), /--threads must be .*\(got "two"\)/);
    assert.throws(() => checkRequestedThreads('', '--threads'), /\(got ""\)/);
    assert.equal(checkRequestedThreads(' 3 '), 3);
    assert.equal(checkRequestedThreads('0'), 0);
  });

  it('more threads than cores is honoured with a note', () => {
    const r = resolveThreads({ requested: 16, env: {}, available: 2 });
    assert.equal(r.threads, 16);
    assert.match(r.notes[0], /more than the 2 cores available/);
  });

  it('an unusable core count falls back to 1; the real one is at least 1', () => {
    assert.equal(resolveThreads({ env: {}, available: 0 }).threads, 1);
    assert.ok(resolveThreads({ env: {}, available: os.availableParallelism() }).threads >= 1);
  });

  it('describes the choice for the log', () => {
    assert.equal(describeThreads({ threads: 2, source: 'available' }), 'onnxruntime: 2 intra-op threads (available cores)');
    assert.equal(describeThreads({ threads: 1, source: 'SLURM_CPUS_PER_TASK' }), 'onnxruntime: 1 intra-op thread (SLURM_CPUS_PER_TASK)');
    assert.equal(describeThreads({ threads: 4, source: 'setting' }), 'onnxruntime: 4 intra-op threads (ptychoStudy.training.threads)');
    assert.equal(describeThreads({ threads: 4, source: 'cli' }), 'onnxruntime: 4 intra-op threads (--threads)');
  });
});
