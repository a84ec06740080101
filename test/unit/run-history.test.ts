// Run history (issue 15; core/run/runHistory.ts): a fresh run never overwrites the previous one — its files move to
// <job>/runs/<run id>/ as the new run starts, while the top level stays the latest run (every contract path still
// resolves); a resume continues the same run and moves nothing; a move cut short by a crash is completed by the next
// start; `ptycho-study runs` lists them newest first with the settings that differ; --delete removes an earlier run only.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { archivePreviousRun, chooseRepresentativeRun, listRuns, representativeRun } from '../../src/core/run/runHistory';
import { bestOf, curveOf, parseRunRef, runSegment, type RunComparison } from '../../src/core/run/compareRuns';
import type { RunEvent } from '../../src/core/run/events';
import { startRun } from '../../src/core/run/launcher';
import { planRun } from '../../src/core/run/plan';
import { discoverStudy, listJobs, type JobManifest } from '../../src/core/study';
import { repoRoot, tempDir } from './helpers/paths';
import { cli as runCli, simulateSmallStudy } from './helpers/smallStudy';

const WORKER = path.join(repoRoot, 'dist', 'worker.js');
const TINY = ['--n-filters-scale', '1', '--batch-size', '8'];
const readJson = <T>(f: string): T => JSON.parse(fs.readFileSync(f, 'utf8')) as T;
const cli = (args: string[]): ReturnType<typeof runCli> => runCli(args, 300_000);

describe('run history: earlier runs are kept under runs/', function () {
  this.timeout(600_000);
  const tmp = tempDir('ptycho-runs-');
  const root = tmp.dir;
  const id = 'dose_10000/baseline/gs1';
  const jobDir = path.join(root, 'phase_e', 'dose_10000', 'baseline', 'gs1');
  before(() => simulateSmallStudy(root, 96));
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
    // list shows each job's latest run and how many earlier ones it keeps.
    assert.match(cli(['list', '--workspace', root]).out, new RegExp(`dose_10000/baseline/gs1 .*succeeded .* ${latest.runId} \\(\\+1\\)`));
    const jobs = (JSON.parse(cli(['list', '--workspace', root, '--json']).out) as { jobs: { id: string; lastRun: { runId: string; earlierRuns: number } | null }[] }).jobs;
    const lastRun = jobs.find((j) => j.id === id)?.lastRun;
    assert.deepEqual([lastRun?.runId, lastRun?.earlierRuns], [latest.runId, 1]);
  });

  it('compare-runs: the settings that differ, the metrics with the better marked, each run\'s own loss curve cut from the job\'s journal', () => {
    const [latest, first] = (JSON.parse(cli(['runs', id, '--workspace', root, '--json']).out) as { runs: { id: string }[] }).runs;
    const r = cli(['compare-runs', id, `${id}@${first.id}`, '--workspace', root, '--json']);
    assert.equal(r.code, 0, r.err);
    const cmp = JSON.parse(r.out) as RunComparison;
    assert.deepEqual(cmp.runs.map((x) => [x.runId, x.latest, x.kind, x.status]), [[latest.id, true, 'train', 'succeeded'], [first.id, false, 'train', 'succeeded']]);
    assert.deepEqual(cmp.runs.map((x) => x.curve.x), [[1, 2], [1]], 'each run\'s epochs only (the journal holds both runs)');
    const events = fs.readFileSync(path.join(jobDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; trainLoss?: number });
    const losses = events.filter((e) => e.type === 'epoch').map((e) => e.trainLoss);
    assert.deepEqual([...cmp.runs[1].curve.y, ...cmp.runs[0].curve.y], losses, 'the losses the runs logged, in order');
    assert.deepEqual(cmp.settings.find((s) => s.key === 'training.epochs')?.values, ['2', '1']);
    assert.ok(!cmp.settings.some((s) => s.key === 'training.batchSize'), 'equal settings are not listed');
    const amp = cmp.metrics.find((m) => m.part === 'amplitude' && m.key === 'pearsonCovered')!;
    assert.ok(amp.values.every((v) => typeof v === 'number'), 'both runs scored');
    assert.deepEqual(amp.best, [amp.values[0]! > amp.values[1]! ? 0 : 1]);
    const mae = cmp.metrics.find((m) => m.part === 'amplitude' && m.key === 'mae')!;
    assert.deepEqual(mae.best, [mae.values[0]! < mae.values[1]! ? 0 : 1], 'lower is better for MAE');
    const text = cli(['compare-runs', id, `${id}@${first.id}`, '--workspace', root]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /training\.epochs +2 +1/);
    assert.match(text.out, /amplitude +Pearson r \(covered\) +[-\d.]+( \*)? +[-\d.]+( \*)?/);
    const one = cli(['compare-runs', id, '--workspace', root]);
    assert.equal(one.code, 2);
    assert.match(one.err, /two or more runs/);
    const bogus = cli(['compare-runs', id, `${id}@no-such-run`, '--workspace', root]);
    assert.equal(bogus.code, 2);
    assert.match(bogus.err, /has no run no-such-run/);
    const twice = cli(['compare-runs', id, `${id}@${latest.id}`, '--workspace', root]);
    assert.match(twice.err, /listed twice/);
  });

  it('metrics --csv: one tidy row per value of metrics.json, for the latest and an earlier run; --json per run; a job not run is a clear error', () => {
    const [latest, first] = (JSON.parse(cli(['runs', id, '--workspace', root, '--json']).out) as { runs: { id: string }[] }).runs;
    const r = cli(['metrics', id, `${id}@${first.id}`, '--workspace', root, '--csv']);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines[0], 'job,run,kind,status,part,metric,value');
    const rows = lines.slice(1).map((l) => l.split(','));
    const metrics = JSON.parse(fs.readFileSync(path.join(jobDir, 'metrics.json'), 'utf8')) as Record<'amplitude' | 'phase', Record<string, number | null>>;
    const mine = rows.filter((x) => x[1] === latest.id);
    assert.ok(mine.length >= 10, `${mine.length} rows for the latest run`);
    for (const [job, , kind, status, part, metric, value] of mine) {
      assert.deepEqual([job, kind, status], [id, 'train', 'succeeded']);
      assert.equal(Number(value), metrics[part as 'amplitude' | 'phase'][metric], `${part} ${metric}`);
    }
    assert.ok(rows.some((x) => x[1] === first.id), 'the earlier run has rows too');
    const json = cli(['metrics', id, '--workspace', root, '--json']);
    assert.equal(json.code, 0, json.err);
    const one = JSON.parse(json.out.trim()) as { job: string; run: string; metrics: typeof metrics };
    assert.deepEqual([one.job, one.run, one.metrics.phase.pearsonCovered], [id, latest.id, metrics.phase.pearsonCovered]);
    const table = cli(['metrics', id, '--workspace', root]);
    assert.match(table.out, /amplitude +Pearson r \(covered\) +[-\d.e]+/);
    const none = cli(['metrics', 'dose_10000/dense/gs2', '--workspace', root, '--csv']);
    assert.equal(none.code, 2);
    assert.match(none.err, /has not run yet/);
  });

  it('the run that stands for a job in the study report and comparison: the latest succeeded, or the one chosen with runs --use-in-comparisons', () => {
    const [latest, first] = (JSON.parse(cli(['runs', id, '--workspace', root, '--json']).out) as { runs: { id: string }[] }).runs;
    type Entry = { id: string; run: { id: string; latest: boolean; why: string } | null; amplitude: { ssim: number | null } };
    const entry = (): Entry => {
      const r = cli(['report', '--workspace', root, '--out', path.join(root, 'report'), '--json']);
      assert.equal(r.code, 0, r.err);
      return (JSON.parse(r.out) as { summary: { jobs: Entry[] } }).summary.jobs.find((j) => j.id === id)!;
    };
    assert.deepEqual(entry().run, { id: latest.id, latest: true, why: 'latest' });
    const chose = cli(['runs', id, '--workspace', root, '--use-in-comparisons', first.id]);
    assert.equal(chose.code, 0, chose.err);
    assert.match(chose.out, new RegExp(`represented in comparisons by run ${first.id}: chosen`));
    const e = entry();
    assert.deepEqual(e.run, { id: first.id, latest: false, why: 'chosen', latestStatus: 'succeeded' });
    const firstMetrics = readJson<{ amplitude: { ssim: number } }>(path.join(jobDir, 'runs', first.id, 'metrics.json'));
    assert.equal(e.amplitude.ssim, firstMetrics.amplitude.ssim, 'the chosen run\'s metrics in the report');
    assert.match(cli(['runs', id, '--workspace', root]).out, new RegExp(`In the study comparison and report: run ${first.id} — chosen`));
    assert.equal(cli(['runs', id, '--workspace', root, '--use-in-comparisons', 'no-such-run']).code, 2);
    assert.equal(cli(['runs', id, '--workspace', root, '--use-in-comparisons', 'latest']).code, 0);
    assert.deepEqual(entry().run, { id: latest.id, latest: true, why: 'latest' });
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

  it('the preview window a user picks (--preview-center X,Y, --preview-size N): recorded in the manifest, scored and previewed there', () => {
    type Q = { type: string; region?: { x0: number; y0: number; width: number; height: number }; preview?: string };
    const qualityEvents = (): Q[] => fs.readFileSync(path.join(jobDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Q).filter((e) => e.type === 'quality');
    const before = qualityEvents().at(-1)!.region!;
    const center: [number, number] = [before.x0 + before.width / 2 + 6, before.y0 + before.height / 2 - 4];
    const r = cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1', '--preview-center', `${center[0]},${center[1]}`, '--preview-size', '64']);
    assert.equal(r.code, 0, r.err);
    const m = readJson<JobManifest>(path.join(jobDir, 'manifest.json'));
    assert.deepEqual([m.config.training.previewCenter, m.config.training.previewSize], [center, 64]);
    const q = qualityEvents().at(-1)!;
    assert.deepEqual([q.region!.width, q.region!.height], [64, 64]);
    assert.ok(Math.abs(q.region!.x0 + 32 - center[0]) <= 1 && Math.abs(q.region!.y0 + 32 - center[1]) <= 1, `window at ${JSON.stringify(q.region)}, asked ${center}`);
    assert.ok(q.preview && fs.existsSync(path.join(jobDir, q.preview)), 'its preview written');
    assert.equal(cli(['train', '--workspace', root, '--view', 'baseline', '--preview-center', 'middle']).code, 2, 'a malformed centre is a usage error');
    assert.match(cli(['train', '--workspace', root, '--view', 'baseline', '--preview-size', '8']).err, /preview-size/);
  });

  it('piped, a run prints one line per epoch and no 500-ms progress lines; --quiet prints only the outcome', () => {
    const piped = cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '2']);
    assert.equal(piped.code, 0, piped.err);
    assert.equal(piped.out.match(/^ {2}EPOCH \d\/2/gm)?.length, 2, piped.out);
    assert.doesNotMatch(piped.out + piped.err, /step \d+\/\d+ +loss/, 'no progress lines in a log');
    const quiet = cli(['train', '--workspace', root, '--view', 'baseline', ...TINY, '--epochs', '1', '--quiet']);
    assert.equal(quiet.code, 0, quiet.err);
    assert.deepEqual(quiet.out.trim().split('\n'), [`SUCCEEDED ${id}`, '1 succeeded, 0 failed, 0 cancelled, 0 skipped.']);
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

describe('compare runs: a run\'s segment of the job\'s journal', () => {
  const ev = (time: string, body: Record<string, unknown>): RunEvent => ({ time: `2026-01-01T00:${time}Z`, jobId: 'j', ...body } as unknown as RunEvent);
  const journal: RunEvent[] = [
    ev('00:00', { type: 'started' }), ev('00:10', { type: 'epoch', epoch: 1, trainLoss: 5, valLoss: 6 }), ev('00:11', { type: 'cancelled' }),
    ev('01:00', { type: 'started', resumedFrom: { epoch: 1, step: 0 } }), ev('01:10', { type: 'epoch', epoch: 1, trainLoss: 4.5, valLoss: null }),
    ev('01:20', { type: 'epoch', epoch: 2, trainLoss: 4, valLoss: 5 }), ev('01:21', { type: 'finished' }),
    ev('02:00', { type: 'started' }), ev('02:10', { type: 'epoch', epoch: 1, trainLoss: 9, valLoss: 9 }),
  ];
  it('a resume continues its run\'s segment; a repeated epoch replaces the first record; the next fresh start begins another', () => {
    const first = curveOf(runSegment(journal, '2026-01-01T00:01:21Z'), 'train');
    assert.deepEqual([first.x, first.y, first.val], [[1, 2], [4.5, 4], [null, 5]]);
    const second = curveOf(runSegment(journal, undefined), 'train');
    assert.deepEqual([second.x, second.y], [[1], [9]]);
    assert.deepEqual(runSegment(journal, '2025-12-31T00:00:00Z'), [], 'nothing before the journal');
  });
  it('bestOf marks the better value per direction, nothing when fewer than two runs have one or all are equal', () => {
    assert.deepEqual(bestOf([0.5, 0.9, null], false), [1]);
    assert.deepEqual(bestOf([0.5, 0.9, 0.5], true), [0, 2]);
    assert.deepEqual(bestOf([0.5, null], false), []);
    assert.deepEqual(bestOf([0.5, 0.5], false), []);
  });
  it('parseRunRef: <job> or <job>@<run id>; a run id that could leave runs/ is refused', () => {
    assert.deepEqual(parseRunRef('dose_1000/dense/gs2'), { jobId: 'dose_1000/dense/gs2' });
    assert.deepEqual(parseRunRef('dose_1000/dense/gs2@run-1'), { jobId: 'dose_1000/dense/gs2', runId: 'run-1' });
    assert.throws(() => parseRunRef('dose_1000/dense/gs2@../x'), /not a run id/);
    assert.throws(() => parseRunRef('dose_1000/dense/gs2@.hidden'), /not a run id/);
  });
});

describe('representative run: which run stands for a job in comparisons', () => {
  const tmp = tempDir('ptycho-rep-');
  after(() => tmp.cleanup());
  const manifest = (dir: string, status: string, startedAt: string, runId: string): void => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ kind: 'ptycho-study-job', status, startedAt, runId }));
  };
  it('the latest when it succeeded; else the newest earlier run that did; a chosen succeeded run wins; a failed one cannot be chosen', async () => {
    const job = path.join(tmp.dir, 'job');
    manifest(job, 'failed', '2026-01-03T00:00:00Z', 'r3');
    manifest(path.join(job, 'runs', 'r1'), 'succeeded', '2026-01-01T00:00:00Z', 'r1');
    manifest(path.join(job, 'runs', 'r2'), 'succeeded', '2026-01-02T00:00:00Z', 'r2');
    manifest(path.join(job, 'runs', 'r0'), 'cancelled', '2025-12-31T00:00:00Z', 'r0');
    assert.deepEqual(pick(representativeRun(job)), { id: 'r2', why: 'latest-succeeded', latestStatus: 'failed' });
    await chooseRepresentativeRun(job, 'r1');
    assert.deepEqual(pick(representativeRun(job)), { id: 'r1', why: 'chosen', latestStatus: 'failed' });
    await assert.rejects(chooseRepresentativeRun(job, 'r0'), /Run r0 cancelled: only a succeeded run/);
    await assert.rejects(chooseRepresentativeRun(job, 'nope'), /has no run nope/);
    fs.rmSync(path.join(job, 'runs', 'r1'), { recursive: true });
    assert.equal(representativeRun(job)!.id, 'r2', 'a chosen run that is gone: back to the default');
    await chooseRepresentativeRun(job, undefined);
    manifest(job, 'succeeded', '2026-01-03T00:00:00Z', 'r3');
    assert.deepEqual(pick(representativeRun(job)), { id: 'r3', why: 'latest' });
    fs.writeFileSync(path.join(job, 'comparison_run.json'), '{"runId": "../../etc"}');
    assert.equal(representativeRun(job)!.id, 'r3', 'a hostile choice file is ignored');
  });
  const pick = (r: ReturnType<typeof representativeRun>) => r && { id: r.id, why: r.why, ...(r.latestStatus ? { latestStatus: r.latestStatus } : {}) };
});
