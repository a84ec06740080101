// The `ptycho-study` CLI as users run it: the bundled dist/cli.js in a real child process.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { makeStudy } from './helpers/study';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');

function cli(args: string[], cwd = repoRoot): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe('ptycho-study CLI', () => {
  let dir: string;
  let cleanup: () => void;
  before(function () {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run node esbuild.mjs first`);
  });
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('--help on every command', () => {
    const top = cli(['--help']);
    assert.equal(top.code, 0);
    for (const c of ['inspect', 'validate', 'list', 'dry-run', 'simulate']) {
      assert.match(top.out, new RegExp(`\\b${c}\\b`));
      const r = cli([c, '--help']);
      assert.equal(r.code, 0, c);
      assert.match(r.out, new RegExp(`^ptycho-study ${c}`), c);
    }
  });

  it('--version / -V print the package version; help <command> prints that command\'s help', () => {
    const version = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    for (const flag of ['--version', '-V']) assert.deepEqual([cli([flag]).code, cli([flag]).out.trim()], [0, version]);
    const help = cli(['help', 'compare-runs']);
    assert.equal(help.code, 0);
    assert.equal(help.out, cli(['compare-runs', '--help']).out);
    const unknown = cli(['help', 'frobnicate']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /unknown command "frobnicate"/);
  });

  it('under --json an error is a JSON object on stdout too (code, exit code, message, file); the exit codes are documented', () => {
    const bad = cli(['inspect', path.join(repoRoot, 'package.json'), '--json']);
    assert.equal(bad.code, 1);
    const e = (JSON.parse(bad.out) as { error: { code: string; exitCode: number; message: string; file: string | null } }).error;
    assert.deepEqual([e.code, e.exitCode, e.file], ['failed', 1, path.join(repoRoot, 'package.json')]);
    assert.match(bad.err, /package\.json/);
    const usage = cli(['list', '--dose', 'abc', '--json']);
    assert.equal(usage.code, 2);
    assert.equal((JSON.parse(usage.out) as { error: { code: string } }).error.code, 'usage');
    assert.match(cli(['--help']).out, /Exit codes \(every command\): 0 done; 1 failed .* 2 usage .* 130 cancelled/s);
  });

  it('a reader that goes away (… | true, … | head -1): no EPIPE stack trace, no error output', () => {
    for (let i = 0; i < 5; i++) {
      const r = spawnSync('sh', ['-c', `"${process.execPath}" "${CLI}" --help | true; "${process.execPath}" "${CLI}" inspect "${path.join(repoRoot, 'test', 'fixtures', 'metrics', 'wrapped_96.npz')}" --json | head -c 1 >/dev/null`], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.stderr, '', 'nothing on stderr');
    }
  });

  it('train --help documents --threads and its automatic default', () => {
    const r = cli(['train', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /^ptycho-study train .*\[--threads N\]/);
    assert.match(r.out, /--threads N +onnxruntime intra-op threads \(default 0 = automatic: SLURM_CPUS_PER_TASK, else\n.*OMP_NUM_THREADS, else every available core\)/);
  });

  it('bad input: non-zero exit and a one-line reason', () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/],
      [['list', '--bogus'], /Unknown option '--bogus'/],
      [['list', '--dose', 'abc', '--workspace', dir], /--dose must be a number/],
      [['inspect'], /a file argument is required/],
      [['inspect', path.join(dir, 'nope.npz')], /nope\.npz/],
      [['list', '--workspace', dir], /No study found in/],
      [['simulate'], /--out DIR is required/],
      [['simulate', '--out', dir, '--doses', '1e3,-5'], /--doses must be a comma-separated list of positive numbers/],
      [['dry-run', '--workspace', dir, '--ep', 'tpu'], /--ep must be one of/],
      [['dry-run', '--workspace', dir, '--execution-provider', 'cpu'], /Unknown option '--execution-provider'/],
      [['train', '--workspace', dir, '--threads', 'two'], /^ptycho-study train: --threads must be a whole number from 1 to 1024, or 0 for automatic \(got "two"\)/],
      [['train', '--workspace', dir, '--threads', '2.5'], /--threads must be a whole number .*\(got "2\.5"\)/],
      [['train', '--workspace', dir, '--threads=-1'], /--threads must be a whole number .*\(got "-1"\)/],
      [['train', '--workspace', dir, '--threads', '4096'], /--threads must be a whole number from 1 to 1024/],
    ];
    for (const [args, re] of cases) {
      const r = cli(args);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.err, re, args.join(' '));
      assert.equal(r.err.trim().split('\n').length, 1, `one line for ${args.join(' ')}: ${r.err}`);
    }
  });

  it('list --json shows every job with state, datasets, counts and N; filters apply', async () => {
    await makeStudy(dir, { doses: [1000, 10000], skip: ['10000/sparse'] });
    const r = cli(['list', '--workspace', dir, '--json']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    // Training jobs (kind train) and, beside them, the Phase F reconstruction jobs (kind reconstruct).
    const training = doc.jobs.filter((j: { kind: string }) => j.kind === 'train');
    assert.equal(training.length, 6);
    assert.equal(doc.jobs.filter((j: { kind: string }) => j.kind === 'reconstruct').length, 2 * 6, 'epie and rpie of each view\'s test split');
    const sparse = doc.jobs.find((j: { id: string }) => j.id === 'dose_10000/sparse/gs2');
    assert.equal(sparse.state, 'missing');
    assert.match(sparse.reason, /not found/);
    const dense = doc.jobs.find((j: { id: string }) => j.id === 'dose_1000/dense/gs2');
    for (const k of ['id', 'dose', 'view', 'gridsize', 'state', 'reason', 'train', 'test', 'artifactDir']) assert.ok(k in dense, k);
    assert.equal(dense.train.patternCount, 12);
    assert.equal(dense.n, 64);
    assert.equal(dense.artifactDir, path.join(dir, 'phase_e', 'dose_1000', 'dense', 'gs2'));
    const filtered = JSON.parse(cli(['list', '--phase-c-root', path.join(dir, 'phase_c'), '--phase-d-root', path.join(dir, 'phase_d'), '--gridsize', '2', '--dose', '1e3', '--json']).out);
    assert.deepEqual(filtered.jobs.filter((j: { kind: string }) => j.kind === 'train').map((j: { id: string }) => j.id), ['dose_1000/dense/gs2', 'dose_1000/sparse/gs2']);
    const text = cli(['list', '--workspace', dir]);
    assert.match(text.out, /dose_1000\/baseline\/gs1\s+1e3\s+baseline\s+1\s+ready\s+12\s+12\s+64/);
    assert.match(text.out, /6 jobs: 5 ready, 1 missing/);
  });

  it('dry-run --dose 1000 --view baseline writes the plan for that job only', async () => {
    await makeStudy(dir, { doses: [1000, 10000] });
    const r = cli(['dry-run', '--workspace', dir, '--dose', '1000', '--view', 'baseline', '--epochs', '5']);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /DRY RUN dose_1000\/baseline\/gs1/);
    assert.match(r.out, /1 planned, 0 skipped, 0 not runnable/);
    const jobDir = path.join(dir, 'phase_e', 'dose_1000', 'baseline', 'gs1');
    const manifest = JSON.parse(fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.status, 'dry-run');
    assert.equal(manifest.config.training.epochs, 5);
    assert.ok(manifest.worker.command[1].endsWith(path.join('dist', 'worker.js')));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'phase_e')), ['dose_1000']);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'phase_e', 'dose_1000')), ['baseline']);
    const listed = JSON.parse(cli(['list', '--workspace', dir, '--json']).out);
    assert.equal(listed.jobs.find((j: { id: string }) => j.id === 'dose_1000/baseline/gs1').state, 'dry-run');
  });

  it('dry-run skips missing views and exits 1 when nothing matches', async () => {
    await makeStudy(dir, { doses: [1000], skip: ['1000/sparse'] });
    const r = cli(['dry-run', '--workspace', dir, '--json']);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out);
    assert.deepEqual(doc.jobs.map((j: { id: string; status: string }) => `${j.id}:${j.status}`), [
      'dose_1000/baseline/gs1:dry-run', 'dose_1000/dense/gs2:dry-run', 'dose_1000/sparse/gs2:skipped',
    ]);
    const none = cli(['dry-run', '--workspace', dir, '--dose', '5']);
    assert.equal(none.code, 1);
    assert.match(none.err, /No job matches dose 5/);
  });

  it('inspect and validate a dataset', async () => {
    await makeStudy(dir, { doses: [1000], views: [] });
    const file = path.join(dir, 'phase_c', 'dose_1000', 'patched_train.npz');
    const ins = cli(['inspect', file, '--json']);
    assert.equal(ins.code, 0, ins.err);
    const doc = JSON.parse(ins.out);
    const diff = doc.members.find((m: { name: string }) => m.name === 'diffraction');
    assert.deepEqual(diff, { name: 'diffraction', dtype: '<f4', shape: [12, 64, 64], fortranOrder: false, compressed: false, sizeBytes: 12 * 64 * 64 * 4 });
    assert.match(cli(['inspect', file]).out, /objectGuess\s+<c8\s+\(256, 256\)\s+C\s+stored/);
    const v = cli(['validate', file, '--gridsize', '2', '--json']);
    assert.equal(v.code, 0, v.out);
    assert.equal(JSON.parse(v.out).ok, true);
    fs.writeFileSync(file, 'broken');
    const bad = cli(['validate', file]);
    assert.equal(bad.code, 1);
    assert.match(bad.out, /INVALID/);
  });
});

describe('ptycho-study simulate (end to end)', function () {
  this.timeout(180_000);
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => ({ dir, cleanup } = tempDir()));
  afterEach(() => cleanup());

  it('a simulated study lists 9 ready jobs and dry-runs correctly', () => {
    const sim = cli(['simulate', '--out', path.join(dir, 'study'), '--n-images', '120', '--json']);
    assert.equal(sim.code, 0, sim.err);
    const report = JSON.parse(sim.out);
    assert.ok(report.files.length >= 18, `files: ${report.files.length}`);
    const listed = cli(['list', '--workspace', dir, '--deep', '--json']);
    assert.equal(listed.code, 0, listed.err);
    const doc = JSON.parse(listed.out);
    doc.jobs = doc.jobs.filter((j: { kind: string }) => j.kind === 'train');
    assert.deepEqual(doc.jobs.map((j: { id: string; state: string }) => `${j.id}:${j.state}`), [
      'dose_1000/baseline/gs1:ready', 'dose_1000/dense/gs2:ready', 'dose_1000/sparse/gs2:ready',
      'dose_10000/baseline/gs1:ready', 'dose_10000/dense/gs2:ready', 'dose_10000/sparse/gs2:ready',
      'dose_100000/baseline/gs1:ready', 'dose_100000/dense/gs2:ready', 'dose_100000/sparse/gs2:ready',
    ]);
    for (const j of doc.jobs) {
      assert.equal(j.n, 64);
      assert.ok(j.train.patternCount > 0 && j.test.patternCount > 0);
      const errorsOrWarnings = j.findings.filter((f: { severity: string }) => f.severity !== 'info');
      assert.deepEqual(errorsOrWarnings, [], `${j.id} has findings`);
    }
    const base = doc.jobs[0];
    const dense = doc.jobs[1];
    const sparse = doc.jobs[2];
    assert.equal(base.train.patternCount + base.test.patternCount, 120);
    assert.ok(sparse.train.patternCount < dense.train.patternCount, 'sparse has fewer positions than dense');
    const dry = cli(['dry-run', '--workspace', dir, '--dose', '1e4', '--json']);
    assert.equal(dry.code, 0, dry.err + dry.out);
    const planned = JSON.parse(dry.out).jobs;
    assert.deepEqual(planned.map((j: { id: string; status: string; runnable: boolean }) => `${j.id}:${j.status}:${j.runnable}`), [
      'dose_10000/baseline/gs1:dry-run:true', 'dose_10000/dense/gs2:dry-run:true', 'dose_10000/sparse/gs2:dry-run:true',
    ]);
    assert.ok(Math.abs(planned[0].plan.config.intensityScale - Math.sqrt(1e4) / 32) < 1e-9);
  });

  it('Ctrl-C cancels a simulation: exit 130 and no half-written files', async () => {
    const out = path.join(dir, 'big');
    const child = spawn(process.execPath, [CLI, 'simulate', '--out', out, '--n-images', '60000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/\[\s*\d+%\]/.test(stderr)) resolve();
    }));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /cancelled/);
    const files = fs.existsSync(out) ? (fs.readdirSync(out, { recursive: true }) as string[]) : [];
    assert.deepEqual(files.filter((f) => String(f).includes('.tmp-')), [], 'no temporary files left');
  });
});
