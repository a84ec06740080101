// The study as one Slurm job array, on a real Slurm (scripts/slurm-local.sh: Debian's slurm-wlm 22.05, one node,
// started by test-all.sh before this tier): `ptycho-study submit --backend slurm` freezes the jobs into plan.json,
// submits one array, and each task trains its job into the job folder (manifest with the scheduler fields,
// threads from SLURM_CPUS_PER_TASK); --array-limit holds the others pending; scancel of a running task leaves
// `cancelled` with a checkpoint, and `submit --resume` resubmits it from there; a task whose dataset broke after submission fails alone; --dry-run
// writes and submits nothing; without sbatch the error says what to do.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SlurmBackend } from '../../src/core/run/backend';
import { taskSetHas } from '../../src/core/run/slurm';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import type { JobManifest } from '../../src/core/study';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const TINY = ['--epochs', '1', '--n-filters-scale', '1', '--batch-size', '8', '--cpus-per-task', '1', '--mem', '1G'];

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const slurmUp = (): boolean => spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' }).stdout?.trim() === 'idle' || spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' }).stdout?.trim() === 'mixed';
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The array's tasks that are still queued or running, as squeue reports them (one line per task: -r). */
function tasks(arrayJobId: string): { task: string; state: string; reason: string }[] {
  const r = spawnSync('squeue', ['-h', '-r', '-j', arrayJobId, '-t', 'PENDING,RUNNING,CONFIGURING,COMPLETING,SUSPENDED', '-o', '%K|%T|%r'], { encoding: 'utf8' });
  if (r.status !== 0) return [];
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => {
    const [task, state, reason] = l.split('|');
    return { task, state, reason };
  });
}

async function drained(arrayJobId: string, onPoll?: (t: ReturnType<typeof tasks>) => void, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const t = tasks(arrayJobId);
    onPoll?.(t);
    if (t.length === 0) return;
    if (Date.now() > deadline) throw new Error(`Slurm array ${arrayJobId} still has tasks: ${JSON.stringify(t)}`);
    await sleep(500);
  }
}

describe('Slurm array task sets', () => {
  it('taskSetHas reads ArrayTaskId values: a task, ranges, lists, steps, a throttle, NO_VAL', () => {
    assert.ok(taskSetHas('3', 3) && !taskSetHas('3', 2));
    assert.ok(taskSetHas('2-5%1', 4) && !taskSetHas('2-5%1', 6));
    assert.ok(taskSetHas('1,3,5-7', 6) && !taskSetHas('1,3,5-7', 2));
    assert.ok(taskSetHas('0-8:4', 4) && !taskSetHas('0-8:4', 3));
    assert.ok(taskSetHas('4294967294', 9), 'NO_VAL: the whole unsplit remainder');
    assert.ok(!taskSetHas(undefined, 0) && !taskSetHas('N/A', 0));
  });
});

describe('the study as a Slurm job array (real Slurm)', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-slurm-');
  const root = tmp.dir;
  const jobDir = (id: string): string => path.join(root, 'phase_e', ...id.split('/'));
  before(async function () {
    if (!slurmUp()) {
      if (process.env.PTYCHO_REQUIRE_SLURM === '1') throw new Error('Slurm is not running: scripts/slurm-local.sh start');
      this.skip();
    }
    const cfg = defaultSimulationConfig(root);
    cfg.nImages = 96;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());

  it('--dry-run prints the script and the jobs and writes nothing; without sbatch the error says what to do', () => {
    const r = cli(['submit', '--workspace', root, '--backend', 'slurm', ...TINY, '--array-limit', '1', '--dry-run']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^#!\/bin\/bash\n#SBATCH --job-name=ptycho-study-/);
    assert.match(r.out, /#SBATCH --array=0-2%1/);
    assert.match(r.out, /#SBATCH --cpus-per-task=1/);
    assert.match(r.out, /train --plan '.*\/plan\.json' --index "\$SLURM_ARRAY_TASK_ID"/);
    assert.match(r.out, /# task 1: dose_10000\/dense\/gs2/);
    assert.ok(!fs.existsSync(path.join(root, 'phase_e', 'slurm')), 'nothing written');
    const bad = cli(['submit', '--workspace', root, '--backend', 'slurm', '--partition', 'a;rm -rf /', '--dry-run']);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--partition "a;rm -rf \/": only letters/);
    const empty = fs.mkdtempSync(path.join(root, 'no-bin-'));
    const noSbatch = cli(['submit', '--workspace', root, '--backend', 'slurm', ...TINY], { ...process.env, PATH: empty });
    assert.equal(noSbatch.code, 1);
    assert.match(noSbatch.err, /sbatch was not found: run this on a machine with the Slurm client/);
    const submissions = path.join(root, 'phase_e', 'slurm');
    for (const d of fs.existsSync(submissions) ? fs.readdirSync(submissions) : []) {
      assert.ok(!fs.existsSync(path.join(submissions, d, 'submission.json')), 'no submission recorded without a job id');
    }
  });

  it('one array, one task at a time (--array-limit 1): every job succeeds in its folder with the scheduler recorded; a dataset broken after submission fails its task alone', async () => {
    const r = cli(['submit', '--workspace', root, '--backend', 'slurm', ...TINY, '--array-limit', '1', '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const sub = JSON.parse(r.out.trim().split('\n').at(-1)!) as { slurmJobId: string; dir: string; jobs: string[] };
    assert.deepEqual(sub.jobs, ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2', 'dose_10000/sparse/gs2']);
    // The Slurm backend's view: the last task waits in the queue (array limit 1), with the scheduler's reason.
    const backend = new SlurmBackend({ artifactRoot: path.join(root, 'phase_e') }, {}, { node: process.execPath, cli: CLI });
    const asJobs = sub.jobs.map((id) => ({ jobId: id, artifactDir: jobDir(id) }));
    const queued = (await backend.describe(asJobs)).get(jobDir('dose_10000/sparse/gs2'));
    assert.equal(queued?.state, 'queued', JSON.stringify(queued));
    assert.deepEqual({ array: queued?.task?.arrayJobId, index: queued?.task?.index, slurm: queued?.task?.slurmState }, { array: sub.slurmJobId, index: 2, slurm: 'PENDING' });
    assert.equal(readJson<{ slurmJobId: string }>(path.join(sub.dir, 'submission.json')).slurmJobId, sub.slurmJobId);
    // Task 2 has not started yet (one at a time): break its data now.
    const broken = path.join(root, 'phase_d', 'dose_10000', 'sparse', 'sparse_train.npz');
    const keep = fs.readFileSync(broken);
    fs.writeFileSync(broken, keep.subarray(0, 2000));
    let maxRunning = 0;
    let sawLimitReason = false;
    try {
      await drained(sub.slurmJobId, (t) => {
        maxRunning = Math.max(maxRunning, t.filter((x) => x.state === 'RUNNING').length);
        if (t.some((x) => x.state === 'PENDING' && /JobArrayTaskLimit/.test(x.reason))) sawLimitReason = true;
      });
    } finally {
      fs.writeFileSync(broken, keep);
    }
    assert.equal(maxRunning, 1, 'never more than one task running');
    assert.ok(sawLimitReason, 'the others waited with the reason JobArrayTaskLimit');
    for (const [i, id] of sub.jobs.entries()) {
      const m = readJson<JobManifest>(path.join(jobDir(id), 'manifest.json'));
      assert.deepEqual({ kind: m.scheduler?.kind, arrayJobId: m.scheduler?.arrayJobId, arrayTaskId: m.scheduler?.arrayTaskId }, { kind: 'slurm', arrayJobId: sub.slurmJobId, arrayTaskId: i }, id);
      assert.equal(m.runtime.threadsSource, 'SLURM_CPUS_PER_TASK', id);
      assert.equal(m.scheduler?.stdout, path.join(sub.dir, `${sub.slurmJobId}_${i}.out`), 'the manifest references the task\'s output files');
      assert.equal(m.scheduler?.stderr, path.join(sub.dir, `${sub.slurmJobId}_${i}.err`));
      assert.equal(m.runtime.threads, 1, id);
      if (id === 'dose_10000/sparse/gs2') {
        assert.equal(m.status, 'failed', id);
        assert.match(m.reason ?? '', /sparse_train\.npz/, 'the reason names the broken file');
      } else {
        assert.equal(m.status, 'succeeded', `${id}: ${m.reason}`);
        for (const f of ['model.onnx', 'reconstruction.npz', 'metrics.json']) assert.ok(fs.existsSync(path.join(jobDir(id), f)), `${id}: ${f}`);
      }
    }
    assert.ok(fs.readFileSync(path.join(sub.dir, `${sub.slurmJobId}_0.out`), 'utf8').includes('SUCCEEDED dose_10000/baseline/gs1'), 'task output in %A_%a.out');
    // Drained: the folders are the truth, no task is reported.
    const after = await backend.describe(asJobs);
    assert.deepEqual(sub.jobs.map((id) => [after.get(jobDir(id))?.state, after.get(jobDir(id))?.task]), [['succeeded', undefined], ['succeeded', undefined], ['failed', undefined]]);
  });

  it('a task cancelled while pending: its job reads cancelled from scontrol (its folder recorded nothing of it), and the queue no longer lists it', async () => {
    // The first array takes both CPUs of the node; the second waits for Resources, and is cancelled there.
    const r = cli(['submit', '--workspace', root, '--view', 'baseline', '--backend', 'slurm', ...TINY, '--cpus-per-task', '2', '--epochs', '40', '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const a = JSON.parse(r.out.trim().split('\n').at(-1)!) as { slurmJobId: string };
    try {
      const deadline = Date.now() + 60_000;
      while (!tasks(a.slurmJobId).some((t) => t.state === 'RUNNING')) {
        if (Date.now() > deadline) throw new Error('the first array did not start');
        await sleep(200);
      }
      const r2 = cli(['submit', '--workspace', root, '--view', 'dense', '--backend', 'slurm', ...TINY, '--json']);
      assert.equal(r2.code, 0, r2.err + r2.out);
      const b = JSON.parse(r2.out.trim().split('\n').at(-1)!) as { slurmJobId: string };
      const backend = new SlurmBackend({ artifactRoot: path.join(root, 'phase_e') }, {}, { node: process.execPath, cli: CLI });
      const dense = jobDir('dose_10000/dense/gs2');
      const job = [{ jobId: 'dose_10000/dense/gs2', artifactDir: dense }];
      const waiting = (await backend.describe(job)).get(dense);
      assert.equal(waiting?.state, 'queued', JSON.stringify(waiting));
      assert.equal(waiting?.task?.slurmState, 'PENDING');
      // The CLI's list shows the Slurm states: the dense task pending (with Slurm's reason once it has one), the baseline one running.
      const listed = cli(['list', '--workspace', root]);
      assert.equal(listed.code, 0, listed.err);
      assert.match(listed.out, new RegExp(`dose_10000/dense/gs2 .* pending on Slurm .* array ${b.slurmJobId}_0\\b`));
      assert.match(listed.out, new RegExp(`dose_10000/baseline/gs1 .* running on Slurm .* array ${a.slurmJobId}_0`));
      const json = JSON.parse(cli(['list', '--workspace', root, '--json']).out) as { jobs: { id: string; slurm?: { slurmState: string; arrayJobId: string } }[] };
      assert.deepEqual(json.jobs.find((j) => j.id === 'dose_10000/dense/gs2')?.slurm && { s: json.jobs.find((j) => j.id === 'dose_10000/dense/gs2')!.slurm!.slurmState, a: json.jobs.find((j) => j.id === 'dose_10000/dense/gs2')!.slurm!.arrayJobId }, { s: 'PENDING', a: b.slurmJobId });
      assert.match(await backend.cancel(job[0]), new RegExp(`^scancel ${b.slurmJobId}_0 `));
      await drained(b.slurmJobId);
      const st = (await backend.describe(job)).get(dense);
      assert.equal(st?.state, 'cancelled', JSON.stringify(st));
      assert.equal(st?.task?.slurmState, 'CANCELLED');
      assert.match(st?.reason ?? '', /^CANCELLED on Slurm.*before its run recorded anything/);
      assert.notEqual(readJson<JobManifest>(path.join(dense, 'manifest.json')).scheduler?.arrayJobId, b.slurmJobId, 'the task never ran');
    } finally {
      spawnSync('scancel', [a.slurmJobId]);
      await drained(a.slurmJobId);
    }
  });

  it('a task near its time limit (--time): Slurm signals it 60 s before (B:TERM@60), and it checkpoints and records cancelled instead of being killed', async () => {
    const id = 'dose_10000/baseline/gs1';
    const r = cli(['submit', '--workspace', root, '--view', 'baseline', '--backend', 'slurm', ...TINY, '--epochs', '5000', '--early-stopping-patience', '5000', '--time', '00:03:00', '--json']);
    // Slurm may send the signal up to 60 s before the time asked for: between 60 and 120 s into this 3-minute task.
    assert.equal(r.code, 0, r.err + r.out);
    const sub = JSON.parse(r.out.trim().split('\n').at(-1)!) as { slurmJobId: string; dir: string };
    assert.match(fs.readFileSync(path.join(sub.dir, 'submit.sh'), 'utf8'), /#SBATCH --signal=B:TERM@60\n[\s\S]*#SBATCH --time=00:03:00/);
    await drained(sub.slurmJobId, undefined, 300_000);
    const m = readJson<JobManifest>(path.join(jobDir(id), 'manifest.json'));
    assert.equal(m.scheduler?.arrayJobId, sub.slurmJobId);
    assert.equal(m.status, 'cancelled', m.reason);
    assert.match(m.reason ?? '', new RegExp(`\\(SIGTERM from Slurm to task ${sub.slurmJobId}_0: its time limit is near, or it was cancelled\\)`), 'the manifest says why');
    assert.ok((m.result?.epochs ?? 0) > 0, 'it trained until the signal');
    assert.ok(fs.existsSync(path.join(jobDir(id), 'checkpoint.npz')), 'a checkpoint to resubmit from');
    assert.match(fs.readFileSync(path.join(sub.dir, `${sub.slurmJobId}_0.err`), 'utf8'), /SIGTERM received, cancelling/);
  });

  it('scancel of a running task: cancelled with a checkpoint; submit --resume resubmits it and it continues to succeeded; no checkpoint, nothing resubmitted', async () => {
    const id = 'dose_10000/baseline/gs1';
    const r = cli(['submit', '--workspace', root, '--view', 'baseline', '--backend', 'slurm', ...TINY, '--epochs', '12', '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const sub = JSON.parse(r.out.trim().split('\n').at(-1)!) as { slurmJobId: string; plan: string };
    const events = path.join(jobDir(id), 'events.jsonl');
    const deadline = Date.now() + 120_000;
    for (;;) {
      // Between the previous run's move to runs/ and the new worker's first write there is no manifest yet.
      const file = path.join(jobDir(id), 'manifest.json');
      const m = fs.existsSync(file) ? readJson<JobManifest>(file) : ({} as Partial<JobManifest>);
      const text = fs.existsSync(events) ? fs.readFileSync(events, 'utf8') : '';
      const started = text.lastIndexOf('"type":"started"');
      if (m.status === 'running' && m.scheduler?.arrayJobId === sub.slurmJobId && started >= 0 && text.indexOf('"type":"checkpoint"', started) > 0) break;
      if (Date.now() > deadline) throw new Error('the task did not checkpoint');
      await sleep(300);
    }
    assert.equal(spawnSync('scancel', [sub.slurmJobId]).status, 0);
    await drained(sub.slurmJobId);
    const m = readJson<JobManifest>(path.join(jobDir(id), 'manifest.json'));
    assert.equal(m.status, 'cancelled', m.reason);
    assert.ok(fs.existsSync(path.join(jobDir(id), 'checkpoint.npz')));
    // Resubmit from the checkpoint: a new array whose task runs `train --plan … --resume`; it continues, it does not start over.
    const again = cli(['submit', '--workspace', root, '--view', 'baseline', '--backend', 'slurm', ...TINY, '--epochs', '12', '--resume', '--json']);
    assert.equal(again.code, 0, again.err + again.out);
    const sub2 = JSON.parse(again.out.trim().split('\n').at(-1)!) as { slurmJobId: string; plan: string; resume: boolean; jobs: string[] };
    assert.equal(sub2.resume, true);
    assert.deepEqual(sub2.jobs, [id]);
    assert.match(fs.readFileSync(path.join(path.dirname(sub2.plan), 'submit.sh'), 'utf8'), /--index "\$SLURM_ARRAY_TASK_ID" --resume\n/);
    await drained(sub2.slurmJobId, undefined, 300_000);
    const evs = fs.readFileSync(events, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; resumedFrom?: { epoch: number } });
    assert.ok(evs.filter((e) => e.type === 'started').at(-1)?.resumedFrom, 'the resubmitted task resumed from the checkpoint');
    const done = readJson<JobManifest>(path.join(jobDir(id), 'manifest.json'));
    assert.equal(done.scheduler?.arrayJobId, sub2.slurmJobId);
    // A job with no checkpoint cannot be resubmitted with --resume: nothing is submitted, the reason is given.
    fs.rmSync(path.join(jobDir('dose_10000/sparse/gs2'), 'checkpoint.npz'), { force: true });
    const none = cli(['submit', '--workspace', root, '--view', 'sparse', '--backend', 'slurm', ...TINY, '--resume']);
    assert.equal(none.code, 1);
    assert.match(none.err, /Nothing to submit: dose_10000\/sparse\/gs2 \(.*checkpoint/);
    assert.equal(readJson<JobManifest>(path.join(jobDir(id), 'manifest.json')).status, 'succeeded');
  });
});
