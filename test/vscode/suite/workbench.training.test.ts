// Training from the real VS Code: ptychoStudy.train runs a demo job in a worker process to `succeeded` while
// the tree shows its progress, and ptychoStudy.cancel stops a run with a checkpoint. Runs after
// workbench.test.ts (file order), on the demo study it generated.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { JobsNode } from '../../../src/extension/jobsTree';
import type { LiveRun } from '../../../src/extension/runs';
import { activateForShortTraining, until as untilShort } from './util';

/** Training steps take seconds: wait longer than the default. */
const until = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> => untilShort(what, probe, 90_000);


describe('Training in VS Code', function () {
  this.timeout(300_000);
  let api: WorkbenchApi;

  function jobItem(id: string): vscode.TreeItem | undefined {
    for (const dose of api.tree.getChildren()) {
      for (const n of api.tree.getChildren(dose) as JobsNode[]) {
        if (n.kind === 'job' && n.job.id === id) return api.tree.getTreeItem(n);
      }
    }
    return undefined;
  }

  before(async () => {
    api = await activateForShortTraining();
  });

  it('ptychoStudy.train runs a demo job to succeeded; the tree shows progress, then the final state', async () => {
    const id = 'dose_1000/baseline/gs1';
    assert.ok(jobItem(id), 'the demo job is in the tree');
    const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', id);
    assert.ok(run, 'the command returned the run');
    const running = await until('a running description with progress', () => {
      const item = jobItem(id);
      return item && /^running · epoch \d+\/2 · step \d+\/\d+ · loss/.test(String(item.description)) ? item : undefined;
    });
    assert.equal(running.contextValue, 'job.running');
    const exit = await run.finished;
    assert.equal(exit?.status, 'succeeded', exit?.reason);
    await api.refresh();
    await api.whenIdle();
    const done = await until('the succeeded state', () => {
      const item = jobItem(id);
      return item?.contextValue === 'job.succeeded' ? item : undefined;
    });
    assert.match(String(done.description), /^succeeded · 2 epochs/);
    const dir = api.model.allJobs().find((j) => j.id === id)!.artifactDir;
    for (const f of ['manifest.json', 'model.onnx', 'reconstruction.npz', 'metrics.json', 'phase.png']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(manifest.runtime.executionProviderUsed, 'cpu');
    assert.match(manifest.runtime.node, /^v24\./, 'the worker ran on the extension host\'s Node');
    // The extension host never loaded onnxruntime: the worker did.
    assert.deepEqual(Object.keys(require.cache).filter((k) => k.includes('onnxruntime')), []);
  });

  it('ptychoStudy.cancel stops a run after its current step and keeps a checkpoint', async () => {
    const id = 'dose_10000/baseline/gs1';
    await vscode.workspace.getConfiguration('ptychoStudy').update('training.epochs', 30, vscode.ConfigurationTarget.Workspace);
    const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', id);
    await until('progress', () => run.progress);
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.cancel', id), true);
    const exit = await run.finished;
    assert.equal(exit?.status, 'cancelled', exit?.reason);
    const dir = api.model.allJobs().find((j) => j.id === id)!.artifactDir;
    assert.ok(fs.existsSync(path.join(dir, 'checkpoint.npz')));
    await api.refresh();
    await api.whenIdle();
    await until('the cancelled state', () => jobItem(id)?.contextValue === 'job.cancelled' || undefined);
    await vscode.workspace.getConfiguration('ptychoStudy').update('training.epochs', 2, vscode.ConfigurationTarget.Workspace);
  });

  it('two jobs trained from VS Code queue: the second waits for the first', async () => {
    await vscode.workspace.getConfiguration('ptychoStudy').update('training.epochs', 1, vscode.ConfigurationTarget.Workspace);
    const a = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', 'dose_100000/baseline/gs1');
    const b = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', 'dose_1000/dense/gs2');
    assert.equal(b.state, 'queued');
    await until('the first job running', () => (a.state === 'running' && a.progress) || undefined);
    assert.equal(b.state, 'queued', 'one job at a time (training.maxConcurrentJobs = 1)');
    assert.equal(jobItem('dose_1000/dense/gs2')?.contextValue, 'job.queued');
    const ea = await a.finished;
    const eb = await b.finished;
    assert.equal(ea?.status, 'succeeded', ea?.reason);
    assert.equal(eb?.status, 'succeeded', eb?.reason);
    const events = (id: string) => fs.readFileSync(path.join(api.model.allJobs().find((j) => j.id === id)!.artifactDir, 'events.jsonl'), 'utf8')
      .trim().split('\n').map((l) => JSON.parse(l) as { type: string; time: string });
    const finishedA = Date.parse(events('dose_100000/baseline/gs1').filter((e) => e.type === 'finished').at(-1)!.time);
    const startedB = Date.parse(events('dose_1000/dense/gs2').filter((e) => e.type === 'started').at(-1)!.time);
    assert.ok(finishedA <= startedB, 'the second run started after the first finished');
    assert.equal(api.runs.all().length, 0, 'the queue is empty');
  });
});
