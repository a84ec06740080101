// Choose Study Root… in the real VS Code, on studies of its own (two small studies simulated into a temporary
// folder outside the workspace; the settings it writes are restored at the end): picking a folder pins that
// study's roots as settings and the tree follows; a study-ambiguity note in the tree offers the command.
import { strict as assert } from 'node:assert';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { JobsNode } from '../../../src/extension/jobsTree';
import { activateForShortTraining, EXTENSION_ID } from './util';

describe('Choose Study Root…', function () {
  this.timeout(180_000);
  let api: WorkbenchApi;
  let dir: string;
  const cfg = () => vscode.workspace.getConfiguration('ptychoStudy');

  const simulate = (out: string, dose: string): Promise<void> => {
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
    return new Promise<void>((resolve, reject) => {
      const child = fork(cli, ['simulate', '--out', out, '--n-images', '96', '--doses', dose, '--json'], { stdio: 'pipe' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulate exited ${code}`))));
    });
  };

  before(async () => {
    api = await activateForShortTraining();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-study-root-'));
    await simulate(path.join(dir, 'study-a'), '1e3');
    await simulate(path.join(dir, 'study-b'), '1e4');
  });

  after(async () => {
    for (const k of ['phaseCRoot', 'phaseDRoot'] as const) await cfg().update(k, undefined, vscode.ConfigurationTarget.Workspace);
    await api.refresh();
    await api.whenIdle();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is contributed, with an inline action on the ambiguity note', () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.ok(pkg.contributes.commands.some((c: { command: string }) => c.command === 'ptychoStudy.chooseStudyRoot'));
    assert.ok(pkg.contributes.menus['view/item/context'].some((m: { command: string; when: string }) => m.command === 'ptychoStudy.chooseStudyRoot' && /viewItem == ambiguity/.test(m.when)));
  });

  it('a chosen folder pins its study as the roots; the tree lists that study\'s jobs', async () => {
    const roots = await vscode.commands.executeCommand<{ phaseCRoot?: string; phaseDRoot?: string }>('ptychoStudy.chooseStudyRoot', path.join(dir, 'study-b'));
    assert.equal(roots?.phaseCRoot, path.join(dir, 'study-b', 'phase_c'));
    assert.equal(roots?.phaseDRoot, path.join(dir, 'study-b', 'phase_d'));
    assert.equal(cfg().get('phaseCRoot'), path.join(dir, 'study-b', 'phase_c'));
    await api.whenIdle();
    const doses = new Set(api.model.allJobs().map((j) => j.dose));
    assert.deepEqual([...doses], [10_000], 'only study B (dose 1e4) is listed');
    // A Phase D root alone resolves to its study too.
    await vscode.commands.executeCommand('ptychoStudy.chooseStudyRoot', path.join(dir, 'study-a', 'phase_d'));
    await api.whenIdle();
    assert.equal(cfg().get('phaseCRoot'), path.join(dir, 'study-a', 'phase_c'));
    assert.deepEqual([...new Set(api.model.allJobs().map((j) => j.dose))], [1000]);
  });

  it('a folder with no study is refused and the settings stay', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'empty-'));
    const before = cfg().get('phaseCRoot');
    await vscode.commands.executeCommand('ptychoStudy.chooseStudyRoot', empty);
    assert.equal(cfg().get('phaseCRoot'), before);
  });

  it('one job-state store: a manifest written in a job\'s folder updates that job only, without re-scanning the study', async () => {
    await vscode.commands.executeCommand('ptychoStudy.chooseStudyRoot', path.join(dir, 'study-a'));
    await api.whenIdle();
    const job = api.model.allJobs().find((j) => j.view === 'baseline')!;
    assert.equal(job.state, 'ready');
    const scans = api.model.refreshCount;
    const jobUpdates = api.model.jobRefreshCount;
    fs.mkdirSync(job.artifactDir, { recursive: true });
    const manifest = path.join(job.artifactDir, 'manifest.json');
    fs.writeFileSync(manifest, JSON.stringify({ schemaVersion: 1, status: 'failed', reason: 'out of memory (test)', runId: 'test-run', updatedAt: new Date().toISOString() }));
    // What the file watcher does for a path inside a job's folder (this study lies outside the workspace).
    const owner = api.model.jobOwning(manifest);
    assert.equal(owner?.id, job.id);
    api.model.requestJobRefresh(owner!, 0);
    const deadline = Date.now() + 10_000;
    const stateNow = (): string => job.state; // read through a function: the job changes under us
    while (stateNow() !== 'failed' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(stateNow(), 'failed');
    assert.equal(job.reason, 'out of memory (test)');
    assert.equal(api.model.refreshCount, scans, 'no re-scan of the study');
    assert.ok(api.model.jobRefreshCount > jobUpdates);
    assert.equal(api.model.jobOwning(path.join(dir, 'study-a', 'phase_c', 'dose_1000', 'patched_train.npz')), undefined, 'datasets are not job files');
    fs.rmSync(job.artifactDir, { recursive: true, force: true });
  });

  it('the note for a folder holding more than one study offers Choose Study Root…', () => {
    const study = api.model.folders[0];
    const message = 'Found 2 studies; using study-a. Choose another with Choose Study Root….';
    const folderStudy = { ...study, layout: { ...study.layout!, ambiguity: { chosen: { folder: path.join(dir, 'study-a') }, others: [{ folder: path.join(dir, 'study-b') }], message }, notes: [message] } };
    const node = { kind: 'message', study: folderStudy, text: message } as JobsNode;
    const item = api.tree.getTreeItem(node);
    assert.equal(item.contextValue, 'ambiguity');
    assert.equal(item.command?.command, 'ptychoStudy.chooseStudyRoot');
    const plain = api.tree.getTreeItem({ kind: 'message', study: folderStudy, text: 'another note' } as JobsNode);
    assert.equal(plain.contextValue, 'message');
  });
});
