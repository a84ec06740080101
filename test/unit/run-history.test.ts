// Run history (issue 15; core/run/runHistory.ts): a fresh run never overwrites the previous one — its files move to
// <job>/runs/<run id>/ as the new run starts, while the top level stays the latest run (every contract path still
// resolves); a resume continues the same run and moves nothing; a move cut short by a crash is completed by the next
// start; `ptycho-study runs` lists them newest first with the settings that differ; --delete removes an earlier run only.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { archivePreviousRun, listRuns } from '../../src/core/run/runHistory';
import { startRun } from '../../src/core/run/launcher';
import { planRun } from '../../src/core/run/plan';
import { defaultSimulationConfig, simulateStudy } from '../../src/core/simulate';
import { discoverStudy, listJobs, type JobManifest } from '../../src/core/study';
import { repoRoot, tempDir } from './helpers/paths';

const CLI = path.join(repoRoot, 'dist', 'cli.js');
const WORKER = path.join(repoRoot, 'dist', 'worker.js');
const TINY = ['--n-filters-scale', '1', '--batch-size', '8'];
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const cli = (args: string[]): { code: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe('run history: earlier runs are kept under runs/', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-runs-');
  const root = tmp.dir;
  const id = 'dose_10000/baseline/gs1';
  const jobDir = path.join(root, 'phase_e', 'dose_10000', 'baseline', 'gs1');
  before(async () => {
    const cfg = defaultSimulationConfig(root);
    cfg.nImages = 96;
    cfg.doses = [1e4];
    cfg.timestamp = '2026-01-01T00:00:00Z';
    await simulateStudy(cfg);
  });
  after(() => tmp.cleanup());

  it('a second training keeps the first in runs/<run id>/; the top level is the new run; runs lists both with what differs', () => {
    assert.equal(cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1']).code, 0);
    const first = readJson<JobManifest>(path.join(jobDir, 'manifest.json'));
    const firstMetrics = fs.readFileSync(path.join(jobDir, 'metrics.json'), 'utf8');
    assert.equal(cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '2']).code, 0);
    const kept = path.join(jobDir, 'runs', first.runId!);
    for (const f of ['manifest.json', 'run-config.json', 'metrics.json', 'model.onnx', 'reconstruction.npz', 'amplitude.png', 'checkpoint.npz']) {
      assert.ok(fs.existsSync(path.join(kept, f)), `runs/${first.runId}/${f}`);
    }
    assert.equal(fs.readFileSync(path.join(kept, 'metrics.json'), 'utf8'), firstMetrics, 'the first run\'s metrics, untouched');
    const latest = readJson<JobManifest>(path.join(jobDir, 'manifest.json'));
    assert.notEqual(latest.runId, first.runId);
    assert.equal(latest.result?.epochs, 2);
    assert.ok(fs.existsSync(path.join(jobDir, 'metrics.json')) && fs.existsSync(path.join(jobDir, 'train.log')), 'the contract paths resolve at the top level');
    assert.equal(fs.readFileSync(path.join(jobDir, 'train.log'), 'utf8').match(/STARTED /g)?.length, 2, 'the log is the job\'s journal: both runs');
    const listed = cli(['runs', id, '--workspace', root]);
    assert.equal(listed.code, 0, listed.err);
    assert.match(listed.out, new RegExp(`${latest.runId} +\\(latest\\) +succeeded`));
    assert.match(listed.out, new RegExp(`${first.runId} +runs/${first.runId} +succeeded .* epochs 1\\b`));
    const json = JSON.parse(cli(['runs', id, '--workspace', root, '--json']).out) as { runs: { id: string; latest: boolean; epochs: number; amplitudeR: number | null }[] };
    assert.deepEqual(json.runs.map((r) => [r.id, r.latest, r.epochs]), [[latest.runId, true, 2], [first.runId, false, 1]]);
    assert.equal(typeof json.runs[1].amplitudeR, 'number', 'its headline metric');
  });

  it('a resume continues the same run and moves nothing; a dry run files the run it replaces', async () => {
    const layout = await discoverStudy({ workspace: root });
    const job = (await listJobs(layout)).find((j) => j.id === id)!;
    const config = planRun(job, { settings: { epochs: 200, batchSize: 8, nFiltersScale: 1, earlyStoppingPatience: 0 }, workerScript: WORKER, study: { artifactRoot: layout.artifactRoot, phaseCRoot: layout.phaseCRoot, phaseDRoot: layout.phaseDRoot } }).config;
    const before = fs.readdirSync(path.join(jobDir, 'runs')).sort();
    const run = await startRun(config, { workerScript: WORKER });
    assert.equal(fs.readdirSync(path.join(jobDir, 'runs')).length, before.length + 1, 'the fresh run filed the previous one');
    await new Promise<void>((resolve) => run.onEvent((e) => e.type === 'checkpoint' && resolve()));
    run.cancel();
    assert.equal((await run.done).status, 'cancelled');
    const filed = fs.readdirSync(path.join(jobDir, 'runs')).sort();
    const resumed = await startRun({ ...config, training: { ...config.training, epochs: 1 } }, { workerScript: WORKER, resume: true });
    await resumed.done;
    assert.deepEqual(fs.readdirSync(path.join(jobDir, 'runs')).sort(), filed, 'a resume files nothing');
    assert.equal(readJson<JobManifest>(path.join(jobDir, 'manifest.json')).runId, resumed.runId);
    const dry = cli(['dry-run', '--workspace', root, '--view', 'baseline', '--json']);
    assert.equal(dry.code, 0, dry.err);
    assert.deepEqual(fs.readdirSync(path.join(jobDir, 'runs')).sort(), [...filed, resumed.runId].sort(), 'the resumed run is filed under its id, as a new run would file it');
    assert.equal(readJson<JobManifest>(path.join(jobDir, 'manifest.json')).status, 'dry-run');
    assert.equal(readJson<{ previousManifest?: string }>(path.join(jobDir, 'manifest.json')).previousManifest, `runs/${resumed.runId}/manifest.json`);
    assert.ok(!fs.existsSync(path.join(jobDir, 'metrics.json')), 'its results went with it: the top level is the planned run');
  });

  it('a move cut short by a crash is completed by the next start; --delete removes an earlier run, never the latest', async () => {
    // A crash after the manifest moved into the partial folder, before the rest: the next start finishes the move.
    const dir = fs.mkdtempSync(path.join(root, 'crash-'));
    fs.mkdirSync(path.join(dir, 'runs', '.r1.partial'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'runs', '.r1.partial', 'manifest.json'), JSON.stringify({ status: 'succeeded', runId: 'r1' }));
    fs.writeFileSync(path.join(dir, 'metrics.json'), '{"r1": true}');
    fs.writeFileSync(path.join(dir, 'train.log'), 'journal\n');
    assert.equal(await archivePreviousRun(dir), undefined, 'nothing else to file');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'runs')).sort(), ['r1']);
    assert.equal(fs.readFileSync(path.join(dir, 'runs', 'r1', 'metrics.json'), 'utf8'), '{"r1": true}');
    assert.ok(fs.existsSync(path.join(dir, 'train.log')), 'the journal stays');
    assert.deepEqual((await listRuns(dir)).map((r) => r.id), ['r1']);
    // --delete: an earlier run only (a fresh training first, so that the latest is a run, not the dry run).
    assert.equal(cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1']).code, 0);
    const runs = (JSON.parse(cli(['runs', id, '--workspace', root, '--json']).out) as { runs: { id: string; latest: boolean }[] }).runs;
    const old = runs.find((r) => !r.latest)!;
    const del = cli(['runs', id, '--workspace', root, '--delete', old.id]);
    assert.equal(del.code, 0, del.err);
    assert.ok(!fs.existsSync(path.join(jobDir, 'runs', old.id)));
    const latestId = runs.find((r) => r.latest)!.id;
    const refused = cli(['runs', id, '--workspace', root, '--delete', latestId]);
    assert.equal(refused.code, 2, refused.out + refused.err);
    assert.match(refused.err, /no archived run .*the latest run is not under runs\//);
    assert.ok(fs.existsSync(path.join(jobDir, 'manifest.json')));
  });

  it('a hostile job folder: runs/ or previews/ symlinked out of it — the start is refused (runs/), the link is filed, not followed (previews/); nothing is written outside', async () => {
    const outside = fs.mkdtempSync(path.join(root, 'outside-'));
    const runs = path.join(jobDir, 'runs');
    const kept = path.join(root, 'kept-runs');
    fs.renameSync(runs, kept);
    fs.symlinkSync(outside, runs);
    const before = fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8');
    const refused = cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1']);
    assert.equal(refused.code, 1, refused.out + refused.err);
    assert.match(refused.out, /symbolic link to .*outside/);
    assert.deepEqual(fs.readdirSync(outside), [], 'nothing moved outside the job folder');
    assert.equal(fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8'), before, 'the latest run is untouched');
    fs.unlinkSync(runs);
    fs.renameSync(kept, runs);
    // previews/ out of the folder: the next fresh run files the link itself (renamed, never followed) and writes its
    // previews into a real folder.
    fs.rmSync(path.join(jobDir, 'previews'), { recursive: true, force: true });
    const trained = cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1']);
    assert.equal(trained.code, 0, trained.out + trained.err);
    fs.rmSync(path.join(jobDir, 'previews'), { recursive: true, force: true });
    fs.symlinkSync(outside, path.join(jobDir, 'previews'));
    const again = cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1']);
    assert.equal(again.code, 0, again.out + again.err);
    assert.deepEqual(fs.readdirSync(outside), [], 'no preview written outside');
    assert.ok(fs.lstatSync(path.join(jobDir, 'previews')).isDirectory(), 'a real previews/ folder');
  });
});
