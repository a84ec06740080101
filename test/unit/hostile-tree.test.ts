// A hostile or merely unlucky study tree (issue 13): symlinks planted in artifact folders, FIFOs where datasets
// should be, symlink loops, huge folders, and names that would make two jobs share a folder or climb out of the
// artifact root. Every case uses real files: real symlinks, real FIFOs, real .npz archives.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { discoverStudy, findStudyRoots, listJobs, parseJobId, MAX_ENTRIES_PER_DIR, clampPollSeconds, type StudyJob } from '../../src/core/study';
import { planRun, PlanError } from '../../src/core/run/plan';
import { writeDryRun } from '../../src/core/run/dryRun';
import { appendLines } from '../../src/core/atomic';
import { EventLog } from '../../src/core/run/events';
import { makeStudy, writeDataset } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const canFifo = process.platform !== 'win32' && spawnSync('mkfifo', ['--help']).error === undefined;

function mkfifo(p: string): void {
  fs.mkdirSync(path.dirname(p), { recursive: true });
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo ${p} failed: ${r.stderr}`);
}

/** Fails instead of hanging when `p` does not settle in time (a FIFO opened for reading blocks forever). */
function withinMs<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`did not finish in ${ms} ms`)), ms); });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function isInside(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

describe('hostile study trees', () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  async function baselineJob(): Promise<StudyJob> {
    await makeStudy(dir, { doses: [1000], views: [] });
    const jobs = await listJobs(await discoverStudy({ workspace: dir }));
    const job = jobs.find((j) => j.id === 'dose_1000/baseline/gs1')!;
    assert.equal(job.state, 'ready', job.reason);
    return job;
  }

  describe('symlinks in artifact folders', () => {
    it('a dry run never appends through a train.log symlink, and names it', async () => {
      const job = await baselineJob();
      const victim = path.join(dir, 'victim.txt');
      fs.writeFileSync(victim, 'keep\n');
      fs.mkdirSync(job.artifactDir, { recursive: true });
      fs.symlinkSync(victim, job.logPath);
      await assert.rejects(writeDryRun(job, { workerScript: 'unused' }),
        (e: Error) => e instanceof PlanError && e.message.includes(job.logPath) && /symbolic link/.test(e.message));
      assert.equal(fs.readFileSync(victim, 'utf8'), 'keep\n');
      assert.ok(fs.lstatSync(job.logPath).isSymbolicLink(), 'the link is left for the user to inspect');
    });

    it('a manifest.json symlink is replaced, not written through', async () => {
      const job = await baselineJob();
      const victim = path.join(dir, 'victim.json');
      fs.writeFileSync(victim, 'keep\n');
      fs.mkdirSync(job.artifactDir, { recursive: true });
      fs.symlinkSync(victim, path.join(job.artifactDir, 'manifest.json'));
      const r = await writeDryRun(job, { workerScript: 'unused' });
      assert.equal(fs.readFileSync(victim, 'utf8'), 'keep\n');
      assert.ok(fs.lstatSync(r.manifestPath).isFile());
      assert.equal(JSON.parse(fs.readFileSync(r.manifestPath, 'utf8')).status, 'dry-run');
    });

    it('log appends (launcher) and the event log (worker) refuse symlinks', async () => {
      const victim = path.join(dir, 'victim.txt');
      fs.writeFileSync(victim, 'keep\n');
      const jobDir = path.join(dir, 'job');
      fs.mkdirSync(jobDir);
      fs.symlinkSync(victim, path.join(jobDir, 'train.log'));
      fs.symlinkSync(victim, path.join(jobDir, 'events.jsonl'));
      await assert.rejects(appendLines(path.join(jobDir, 'train.log'), ['x']), /symbolic link/);
      assert.throws(() => new EventLog(path.join(jobDir, 'events.jsonl'), path.join(jobDir, 'other.log'), 'j'), /symbolic link/);
      assert.throws(() => new EventLog(path.join(jobDir, 'ok.jsonl'), path.join(jobDir, 'train.log'), 'j'), /symbolic link/);
      assert.equal(fs.readFileSync(victim, 'utf8'), 'keep\n');
      // Regular files still append.
      await appendLines(path.join(jobDir, 'plain.log'), ['a']);
      await appendLines(path.join(jobDir, 'plain.log'), ['b']);
      assert.equal(fs.readFileSync(path.join(jobDir, 'plain.log'), 'utf8'), 'a\nb\n');
      const log = new EventLog(path.join(jobDir, 'ok.jsonl'), path.join(jobDir, 'plain.log'), 'j');
      log.line('c');
      log.close();
      assert.match(fs.readFileSync(path.join(jobDir, 'plain.log'), 'utf8'), /^a\nb\n\[[^\]]+\] c\n$/);
    });

    for (const level of ['job folder', 'dose folder'] as const) {
      it(`refuses a ${level} that is a symlink leading outside the artifact root`, async () => {
        const job = await baselineJob();
        const outside = path.join(dir, 'elsewhere');
        fs.mkdirSync(outside);
        const link = level === 'job folder' ? job.artifactDir : path.dirname(path.dirname(job.artifactDir));
        fs.mkdirSync(path.dirname(link), { recursive: true });
        fs.symlinkSync(outside, link);
        assert.throws(() => planRun(job, { workerScript: 'unused' }),
          (e: Error) => e instanceof PlanError && e.message.includes(link) && /outside the artifact root/.test(e.message));
        await assert.rejects(writeDryRun(job, { workerScript: 'unused' }), PlanError);
        assert.deepEqual(fs.readdirSync(outside), [], 'nothing was written outside the root');
      });
    }

    it('allows a symlink that stays inside the artifact root', async () => {
      const job = await baselineJob();
      const inside = path.join(job.artifactRoot, 'big-disk');
      fs.mkdirSync(inside, { recursive: true });
      fs.symlinkSync(inside, path.join(job.artifactRoot, 'dose_1000'));
      const r = await writeDryRun(job, { workerScript: 'unused' });
      assert.ok(fs.existsSync(path.join(inside, 'baseline', 'gs1', 'manifest.json')), r.manifestPath);
    });
  });

  describe('FIFOs, devices and sockets as datasets', () => {
    before(function () {
      if (!canFifo) this.skip();
    });

    it('a FIFO dataset (or a symlink to one) is a finding, never opened; list does not hang', async function () {
      this.timeout(120_000);
      if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run node esbuild.mjs first`);
      await makeStudy(dir, { doses: [1000], views: ['dense'] });
      // A symlinked FIFO as the baseline's training split; a plain FIFO as the dense view's test split.
      const baseTrain = path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz');
      const denseTest = path.join(dir, 'phase_d', 'dose_1000', 'dense', 'dense_test.npz');
      const fifo = path.join(dir, 'pipes', 'trap.npz');
      mkfifo(fifo);
      fs.rmSync(baseTrain);
      fs.symlinkSync(fifo, baseTrain);
      fs.rmSync(denseTest);
      mkfifo(denseTest);
      // A view made only of a FIFO is still seen (invalid, not silently missing).
      mkfifo(path.join(dir, 'phase_d', 'dose_1000', 'sparse', 'sparse_train.npz'));

      const r = spawnSync(process.execPath, [CLI, 'list', '--workspace', dir, '--json'], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
      assert.equal(r.signal, null, 'list was killed by the time bound: it hung on a FIFO');
      assert.equal(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { findings: { file: string; rule: string }[]; jobs: { id: string; state: string; reason: string }[] };
      const rules = new Map(out.findings.map((f) => [f.file, f.rule]));
      assert.equal(rules.get(baseTrain), 'FILE-TYPE');
      assert.equal(rules.get(denseTest), 'FILE-TYPE');
      const state = new Map(out.jobs.map((j) => [j.id, j]));
      assert.equal(state.get('dose_1000/baseline/gs1')!.state, 'invalid');
      assert.match(state.get('dose_1000/baseline/gs1')!.reason, /not a regular file/);
      assert.equal(state.get('dose_1000/dense/gs2')!.state, 'invalid');
      assert.equal(state.get('dose_1000/sparse/gs2')!.state, 'invalid');

      // validate / inspect on a FIFO named directly: refused, not opened.
      for (const cmd of ['validate', 'inspect']) {
        const v = spawnSync(process.execPath, [CLI, cmd, denseTest], { encoding: 'utf8', timeout: 30_000, killSignal: 'SIGKILL' });
        assert.equal(v.signal, null, `${cmd} hung on a FIFO`);
        assert.notEqual(v.status, 0);
        assert.match(v.stderr + v.stdout, /not a regular file/);
      }

      // In process as well: the job's findings carry it, and planning refuses without opening it.
      const jobs = await withinMs(20_000, listJobs(await discoverStudy({ workspace: dir })));
      const base = jobs.find((j) => j.id === 'dose_1000/baseline/gs1')!;
      assert.ok(base.findings.some((f) => f.file === baseTrain && f.rule === 'FILE-TYPE'));
      assert.equal(base.train.exists, false);
      assert.throws(() => planRun(base, { workerScript: 'unused' }), PlanError);
    });
  });

  describe('symlink loops, deep and wide trees', () => {
    it('16 self-links do not multiply the root search (visited real paths)', async function () {
      this.timeout(60_000);
      await makeStudy(path.join(dir, 'data'), { doses: [1000], views: [] });
      // Links to the workspace itself, and a cycle through a parent.
      for (let i = 0; i < 16; i++) fs.symlinkSync('.', path.join(dir, `l${i}`));
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.symlinkSync('..', path.join(dir, 'sub', 'up'));
      const t0 = Date.now();
      const found = await withinMs(30_000, findStudyRoots(dir));
      const ms = Date.now() - t0;
      assert.equal(found.phaseCRoot, path.join(dir, 'data', 'phase_c'));
      // Without a visited set this is ~18⁴ ≈ 100k folder listings, each stat-ing 18 links; with it, a handful.
      assert.ok(ms < 5000, `root search took ${ms} ms`);
    });

    it('a folder with more entries than the bound is listed partly, with a note', async function () {
      this.timeout(120_000);
      await makeStudy(dir, { doses: [1000], views: [] });
      const wide = path.join(dir, 'wide');
      fs.mkdirSync(wide);
      for (let i = 0; i <= MAX_ENTRIES_PER_DIR; i++) fs.writeFileSync(path.join(wide, `f${i}`), '');
      const layout = await discoverStudy({ workspace: dir });
      assert.equal(layout.phaseCRoot, path.join(dir, 'phase_c'));
      assert.ok(layout.notes.some((n) => n.includes(wide) && n.includes(`more than ${MAX_ENTRIES_PER_DIR} entries`)), layout.notes.join('\n'));
    });

    it('discovery and the poll fingerprint make no synchronous file-system calls (the extension runs them on its UI thread)', () => {
      for (const f of ['src/core/study/discovery.ts', 'src/core/study/fingerprint.ts']) {
        const calls = fs.readFileSync(path.join(repoRoot, f), 'utf8').match(/\b\w+Sync\(/g) ?? [];
        assert.deepEqual(calls, [], f);
      }
    });

    it('the poll interval is a restricted setting with a 1 s floor, enforced by the code too', () => {
      const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
      assert.ok(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations.includes('ptychoStudy.pollIntervalSeconds'));
      const setting = pkg.contributes.configuration.properties?.['ptychoStudy.pollIntervalSeconds']
        ?? pkg.contributes.configuration.find?.((c: { properties: Record<string, unknown> }) => c.properties['ptychoStudy.pollIntervalSeconds'])?.properties['ptychoStudy.pollIntervalSeconds'];
      assert.ok(setting.minimum >= 1, `minimum ${setting.minimum}`);
      assert.equal(clampPollSeconds(0), 1);
      assert.equal(clampPollSeconds(0.001), 1);
      assert.equal(clampPollSeconds(-5), 1);
      assert.equal(clampPollSeconds(1e9), 3600);
      assert.equal(clampPollSeconds(Number.NaN), 5);
      assert.equal(clampPollSeconds('1'), 5);
      assert.equal(clampPollSeconds(2.5), 2.5);
    });
  });

  describe('names that would collide or climb out of the artifact root', () => {
    it('non-integer and duplicate dose folders are findings, and every job has its own folder', async () => {
      await makeStudy(dir, { doses: [1000], views: ['dense'] });
      for (const d of ['dose_1.5', 'dose_1.7', 'dose_1e3']) {
        await writeDataset(path.join(dir, 'phase_c', d, 'patched_train.npz'), { count: 8 });
        await writeDataset(path.join(dir, 'phase_d', d, 'dense', 'dense_train.npz'), { count: 8 });
      }
      const layout = await discoverStudy({ workspace: dir });
      const jobs = await listJobs(layout);
      assert.deepEqual(jobs.map((j) => j.id), ['dose_1000/baseline/gs1', 'dose_1000/dense/gs2', 'dose_1000/sparse/gs2']);
      assert.equal(new Set(jobs.map((j) => j.artifactDir)).size, jobs.length);
      // The canonical dose_1000 wins over dose_1e3 (12 patterns, not 8).
      assert.equal(jobs[0].train.path, path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz'));
      assert.equal(jobs[0].train.info?.patternCount, 12);
      const flagged = layout.findings.filter((f) => f.rule === 'LAYOUT-NAME').map((f) => path.relative(dir, f.file)).sort();
      assert.deepEqual(flagged, ['dose_1.5', 'dose_1.7', 'dose_1e3'].flatMap((d) => [`phase_c/${d}`, `phase_d/${d}`]).sort());
    });

    it('a view name that is not [A-Za-z0-9_-]+ (e.g. "..") is a finding, never a job', async () => {
      await makeStudy(dir, { doses: [1000], views: ['dense'], phaseDLayout: 'flat' });
      const doseDir = path.join(dir, 'phase_d', 'dose_1000');
      await writeDataset(path.join(doseDir, '.._train.npz'), { count: 8 });
      await writeDataset(path.join(doseDir, 'a b_train.npz'), { count: 8 });
      await writeDataset(path.join(doseDir, 'x.y', 'x.y_train.npz'), { count: 8 });
      const layout = await discoverStudy({ workspace: dir });
      const jobs = await listJobs(layout);
      assert.deepEqual(jobs.map((j) => j.id), ['dose_1000/baseline/gs1', 'dose_1000/dense/gs2', 'dose_1000/sparse/gs2']);
      for (const j of jobs) assert.ok(isInside(layout.artifactRoot, j.artifactDir), j.artifactDir);
      const flagged = layout.findings.filter((f) => f.rule === 'LAYOUT-NAME').map((f) => path.relative(doseDir, f.file)).sort();
      assert.deepEqual(flagged, ['.._train.npz', 'a b_train.npz', 'x.y'].sort());
      assert.equal(parseJobId('dose_1000/../gs2'), undefined);
    });

    it('plan time asserts the artifact folder is inside the artifact root', async () => {
      const job = await baselineJob();
      const escaped = { ...job, artifactDir: path.join(job.artifactRoot, 'dose_1000', '..', '..', 'escaped', 'gs1') };
      assert.throws(() => planRun(escaped, { workerScript: 'unused' }), (e: Error) => e instanceof PlanError && /outside the artifact root/.test(e.message));
      await assert.rejects(writeDryRun(escaped, { workerScript: 'unused' }), PlanError);
      assert.equal(fs.existsSync(path.join(dir, 'escaped')), false);
    });
  });
});
