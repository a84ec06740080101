// Extension-host tests in a real VS Code (code-server 4.139.1 / VS Code 1.139.1). The workspace starts
// empty; the suite generates a demo study through the command, then breaks and repairs files on disk and
// checks that the tree, the states and the Problems panel follow. Tests run in order.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { JobsNode } from '../../../src/extension/jobsTree';
import type { StudyJob } from '../../../src/core/study';
import type { DryRunResult } from '../../../src/core/run/dryRun';
import { EXTENSION_ID, until } from './util';


describe('PtychoPINN Study Workbench in VS Code', function () {
  this.timeout(120_000);
  let api: WorkbenchApi;
  let ws: string;
  let study: string;
  const job = (id: string): StudyJob | undefined => api.model.allJobs().find((j) => j.id === id);

  before(() => {
    ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    study = path.join(ws, 'demo-study');
  });

  it('activates without loading onnxruntime', async () => {
    const ext = vscode.extensions.getExtension<WorkbenchApi>(EXTENSION_ID);
    assert.ok(ext, 'extension is installed');
    api = await ext.activate();
    assert.ok(api.model && api.tree, 'the API is returned');
    const loaded = Object.keys(require.cache).filter((k) => k.includes('onnxruntime'));
    assert.deepEqual(loaded, []);
    const bundle = fs.readFileSync(path.join(ext.extensionPath, 'dist', 'extension.js'), 'utf8');
    assert.ok(!/require\(["']onnxruntime-node["']\)/.test(bundle), 'the extension bundle never requires onnxruntime-node');
  });

  it('registers the contributed commands and the Jobs view', async () => {
    const all = await vscode.commands.getCommands(true);
    for (const id of ['ptychoStudy.refresh', 'ptychoStudy.dryRun', 'ptychoStudy.generateDemoStudy']) assert.ok(all.includes(id), id);
    await vscode.commands.executeCommand('workbench.view.extension.ptychoStudy');
  });

  it('an empty workspace has no jobs and the empty state (welcome view)', async () => {
    await api.refresh();
    assert.equal(api.model.state, 'empty');
    assert.deepEqual(api.tree.getChildren(), []);
  });

  it('ptychoStudy.generateDemoStudy simulates a real study into the workspace and the tree fills', async () => {
    const result = await vscode.commands.executeCommand<{ outDir: string; files: string[] }>('ptychoStudy.generateDemoStudy', { nImages: 96 });
    assert.ok(result, 'the command returned a report');
    assert.equal(result.outDir, study);
    assert.ok(fs.existsSync(path.join(study, 'phase_c', 'dose_1000', 'patched_train.npz')));
    assert.ok(fs.existsSync(path.join(study, 'phase_d', 'dose_100000', 'sparse', 'sparse_test.npz')));
    await api.whenIdle();
    assert.equal(api.model.state, 'ready');
    const [studyNode, ...doses] = api.tree.getChildren();
    assert.equal(api.tree.getTreeItem(studyNode).label, 'Study');
    assert.equal(api.tree.getTreeItem(studyNode).command?.command, 'ptychoStudy.compareStudy');
    assert.deepEqual(doses.map((n) => api.tree.getTreeItem(n).label), ['dose 1e3', 'dose 1e4', 'dose 1e5']);
    const children = api.tree.getChildren(doses[0]);
    // The training jobs, then the dose's Phase F group (workbench.phase-f.test.ts checks it).
    assert.equal(api.tree.getTreeItem(children.at(-1)!).label, 'Iterative (Phase F)');
    const jobs = children.filter((n) => n.kind === 'job');
    const items = jobs.map((n) => api.tree.getTreeItem(n));
    assert.deepEqual(items.map((i) => i.label), ['baseline (gs1)', 'dense (gs2)', 'sparse (gs2)']);
    assert.deepEqual(items.map((i) => i.contextValue), ['job.ready', 'job.ready', 'job.ready']);
    assert.match(String(items[0].description), /ready · \d+\/\d+ patterns · N=64/);
    const tip = items[0].tooltip as vscode.MarkdownString;
    assert.match(tip.value, /dose_1000\/baseline\/gs1/);
    assert.match(tip.value, /patterns, N=64/);
    assert.equal(api.model.allJobs().length, 9);
  });

  it('ptychoStudy.dryRun writes the manifest and the log, and the job shows "dry run"', async () => {
    const r = await vscode.commands.executeCommand<DryRunResult>('ptychoStudy.dryRun', 'dose_1000/baseline/gs1');
    assert.ok(r, 'dry run result');
    const manifest = JSON.parse(fs.readFileSync(r.manifestPath, 'utf8'));
    assert.equal(manifest.status, 'dry-run');
    assert.equal(manifest.job.id, 'dose_1000/baseline/gs1');
    assert.equal(path.dirname(r.manifestPath), path.join(study, 'phase_e', 'dose_1000', 'baseline', 'gs1'));
    assert.match(fs.readFileSync(r.logPath, 'utf8'), /DRY RUN dose_1000\/baseline\/gs1/);
    await until('the dry-run state', async () => { await api.whenIdle(); return job('dose_1000/baseline/gs1')?.state === 'dry-run'; });
    // A tree node works as the argument too (the inline button and the context menu pass one).
    const node: JobsNode = api.tree.getChildren(api.tree.getChildren()[2]).find((n) => n.kind === 'job' && n.job.view === 'dense')!;
    const r2 = await vscode.commands.executeCommand<DryRunResult>('ptychoStudy.dryRun', node);
    assert.equal(r2.plan.job.id, 'dose_10000/dense/gs2');
    assert.equal(fs.readdirSync(path.join(study, 'phase_e')).sort().join(','), 'dose_1000,dose_10000');
  });

  it('settings scopes: training settings are per folder (resource) and a folder value takes effect; the execution provider is machine-overridable', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const props = (pkg.contributes.configuration as { properties: Record<string, { scope?: string }> }[] | { properties: Record<string, { scope?: string }> });
    const all = Object.assign({}, ...(Array.isArray(props) ? props : [props]).map((c) => c.properties)) as Record<string, { scope?: string }>;
    for (const [k, v] of Object.entries(all)) if (/^ptychoStudy\.(training|reconstruction)\./.test(k) && !/maxConcurrentJobs|threads/.test(k)) assert.equal(v.scope, 'resource', k);
    for (const k of ['ptychoStudy.phaseCRoot', 'ptychoStudy.phaseDRoot', 'ptychoStudy.artifactRoot', 'ptychoStudy.phaseFRoot']) assert.equal(all[k].scope, 'resource', k);
    assert.equal(all['ptychoStudy.executionProvider'].scope, 'machine-overridable');
    const folder = vscode.workspace.workspaceFolders![0];
    const cfg = vscode.workspace.getConfiguration('ptychoStudy', folder.uri);
    const before = cfg.inspect<number>('training.epochs')?.workspaceFolderValue;
    await cfg.update('training.epochs', 7, vscode.ConfigurationTarget.WorkspaceFolder);
    try {
      const r = await vscode.commands.executeCommand<DryRunResult>('ptychoStudy.dryRun', 'dose_1000/baseline/gs1');
      assert.equal(r.plan.config.training.epochs, 7, 'the folder value planned the run');
    } finally {
      await cfg.update('training.epochs', before, vscode.ConfigurationTarget.WorkspaceFolder);
    }
  });

  it('ptycho-study.json: the folder\'s file, read as the CLI reads it, beats VS Code\'s settings; the tree and the terminal plan the same run', async () => {
    const folder = vscode.workspace.workspaceFolders![0];
    const file = path.join(folder.uri.fsPath, 'ptycho-study.json');
    assert.ok(!fs.existsSync(file), 'the fixture has none');
    const cfg = vscode.workspace.getConfiguration('ptychoStudy', folder.uri);
    const before = cfg.inspect<number>('training.epochs')?.workspaceFolderValue;
    await cfg.update('training.epochs', 7, vscode.ConfigurationTarget.WorkspaceFolder);
    // A wrong-typed value is ignored, as the CLI ignores it.
    fs.writeFileSync(file, JSON.stringify({ 'ptychoStudy.training.epochs': 3, ptychoStudy: { training: { seed: 11, batchSize: 'many' } } }));
    try {
      const r = await vscode.commands.executeCommand<DryRunResult>('ptychoStudy.dryRun', 'dose_1000/baseline/gs1');
      assert.deepEqual([r.plan.config.training.epochs, r.plan.config.training.seed], [3, 11], 'ptycho-study.json planned the run');
      assert.notEqual(r.plan.config.training.batchSize, 'many');
      const cli = spawnSync(process.execPath, [path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js'), 'dry-run', '--workspace', folder.uri.fsPath, '--dose', '1000', '--view', 'baseline', '--json'],
        { cwd: folder.uri.fsPath, encoding: 'utf8', timeout: 60_000 });
      assert.equal(cli.status, 0, cli.stderr);
      const planned = (JSON.parse(cli.stdout) as { settingsSources: string[]; jobs: { id: string; plan: DryRunResult['plan'] }[] });
      const t = planned.jobs.find((j) => j.id === 'dose_1000/baseline/gs1')!.plan.config.training;
      assert.deepEqual([t.epochs, t.seed, t.batchSize], [r.plan.config.training.epochs, r.plan.config.training.seed, r.plan.config.training.batchSize], 'the terminal plans the same run');
      assert.ok(planned.settingsSources.includes(file), planned.settingsSources.join(', '));
    } finally {
      fs.rmSync(file, { force: true });
      await cfg.update('training.epochs', before, vscode.ConfigurationTarget.WorkspaceFolder);
    }
  });

  it('ptycho-study.json that cannot be honoured is told (log and warning), with what is wrong; a fix clears it', async () => {
    const folder = vscode.workspace.workspaceFolders![0];
    const file = path.join(folder.uri.fsPath, 'ptycho-study.json');
    const until = async (what: string, ok: () => boolean): Promise<void> => {
      const deadline = Date.now() + 20_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(api.settingsCheck.problems(folder))}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    fs.writeFileSync(file, '{ "ptychoStudy.training.epochs": 3,, }');
    try {
      await until('the JSON problem', () => api.settingsCheck.problems(folder).some((p) => /not valid JSON/.test(p) && p.startsWith(file)));
      fs.writeFileSync(file, JSON.stringify({ 'ptychoStudy.training.epochs': 'three', 'ptychoStudy.training.seed': 5 }));
      await until('the wrong-typed value', () => api.settingsCheck.problems(folder).some((p) => /ptychoStudy\.training\.epochs/.test(p) && /ignored/.test(p)));
      assert.ok(!api.settingsCheck.problems(folder).some((p) => /seed/.test(p)), 'a good value is not a problem');
      fs.writeFileSync(file, JSON.stringify({ 'ptychoStudy.training.epochs': 3 }));
      await until('the fix to clear it', () => api.settingsCheck.problems(folder).length === 0);
    } finally {
      fs.rmSync(file, { force: true });
    }
  });

  it('ptycho-study in the integrated terminal: a launcher of the bundled CLI, on the PATH of new terminals', async () => {
    assert.ok(api.terminalCli, 'the launcher was written');
    const version = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.version as string;
    const r = spawnSync(api.terminalCli.launcher, ['--version'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, PATH: `${api.terminalCli.binDir}${path.delimiter}${process.env.PATH ?? ''}` } });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), version, 'the extension\'s own CLI');
    const listed = spawnSync('sh', ['-c', 'ptycho-study list --json'], { cwd: study, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: `${api.terminalCli.binDir}${path.delimiter}${process.env.PATH ?? ''}` } });
    assert.equal(listed.status, 0, listed.stderr);
    assert.ok((JSON.parse(listed.stdout) as { jobs: unknown[] }).jobs.length > 0, 'it sees the study from the terminal');
  });

  it('a dry run of an unknown job id is refused with a message, writing nothing', async () => {
    const r = await vscode.commands.executeCommand('ptychoStudy.dryRun', 'dose_5/baseline/gs1');
    assert.equal(r, undefined);
    assert.ok(!fs.existsSync(path.join(study, 'phase_e', 'dose_5')));
  });

  it('a missing view is shown with its reason and blocks nothing; the tree follows the file system', async () => {
    const sparseDir = path.join(study, 'phase_d', 'dose_1000', 'sparse');
    const keep = path.join(ws, 'sparse-kept');
    fs.renameSync(sparseDir, keep);
    const missing = await until('sparse to be missing', () => (job('dose_1000/sparse/gs2')?.state === 'missing' ? job('dose_1000/sparse/gs2') : undefined));
    assert.match(missing.reason!, /view "sparse" not found for dose 1000/);
    assert.equal(job('dose_1000/dense/gs2')?.state, 'ready');
    assert.equal(job('dose_10000/sparse/gs2')?.state, 'ready');
    const node = api.tree.getChildren(api.tree.getChildren()[1]).find((n) => n.kind === 'job' && n.job.view === 'sparse')!;
    const item = api.tree.getTreeItem(node);
    assert.equal(item.contextValue, 'job.missing');
    assert.match(String(item.description), /missing data/);
    // The files come back: the job is ready again without a manual refresh.
    fs.renameSync(keep, sparseDir);
    await until('sparse to be ready again', () => job('dose_1000/sparse/gs2')?.state === 'ready');
  });

  it('an invalid file shows in the tree and in the Problems panel, and only its job is invalid', async () => {
    const bad = path.join(study, 'phase_d', 'dose_100000', 'dense', 'dense_train.npz');
    fs.writeFileSync(bad, 'this is not a zip archive');
    const invalid = await until('dense 1e5 to be invalid', () => (job('dose_100000/dense/gs2')?.state === 'invalid' ? job('dose_100000/dense/gs2') : undefined));
    assert.match(invalid.reason!, /Not a readable NumPy \.npz archive/);
    const others = api.model.allJobs().filter((j) => j.id !== 'dose_100000/dense/gs2').map((j) => j.state);
    assert.ok(others.every((s) => s === 'ready' || s === 'dry-run'), others.join(','));
    const diags = await until('a diagnostic on the bad file', async () => {
      await api.whenIdle();
      const d = vscode.languages.getDiagnostics(vscode.Uri.file(bad));
      return d.length > 0 ? d : undefined;
    });
    assert.equal(diags[0].severity, vscode.DiagnosticSeverity.Error);
    const code = diags[0].code as { value: string; target: vscode.Uri };
    assert.equal(code.value, 'NPZ-FORMAT');
    assert.equal(path.basename(code.target.path), 'README.md');
    assert.equal(code.target.fragment, 'rule-npz-format', 'the rule links to its explanation');
    assert.equal(diags[0].source, 'PtychoPINN Study');
  });

  it('a dataset with photon counts is flagged NORMALIZATION-001 in Problems (frame sampling)', async () => {
    // Rewrite one view's test split as integer counts with the CLI's own writer via the demo files:
    // copy a valid train file over the test file, then check that a normalisation finding can appear
    // only through sampled frames (the header is valid).
    const src = path.join(study, 'phase_d', 'dose_10000', 'dense', 'dense_train.npz');
    const info = await import('../../../src/core/npy');
    const arr = await info.withNpz(src, (a) => a.readArray('diffraction'));
    const counts = new Float32Array(arr.data as Float32Array);
    for (let i = 0; i < counts.length; i++) counts[i] = Math.round(counts[i] * 50);
    const members: Record<string, import('../../../src/core/npy').NdArray> = {};
    await info.withNpz(src, async (a) => {
      for (const name of a.members.keys()) members[name] = await a.readArray(name);
    });
    members.diffraction = info.ndarray('<f4', arr.shape, counts);
    const target = path.join(study, 'phase_d', 'dose_10000', 'dense', 'dense_test.npz');
    await info.writeNpz(target, members);
    const diags = await until('a NORMALIZATION-001 diagnostic', async () => {
      await api.whenIdle();
      const d = vscode.languages.getDiagnostics(vscode.Uri.file(target)).filter((x) => (x.code as { value?: string } | undefined)?.value === 'NORMALIZATION-001');
      return d.length > 0 ? d : undefined;
    });
    assert.match(diags[0].message, /photon counts or intensity/);
    assert.equal(job('dose_10000/dense/gs2')?.state, 'invalid');
  });

  it('ptychoStudy.refresh returns the job count', async () => {
    const n = await vscode.commands.executeCommand<number>('ptychoStudy.refresh');
    assert.equal(n, 9);
  });

  it('a study outside the workspace (set by path) is followed by polling, with no file-system events', async () => {
    // The workspace watcher sees nothing outside the workspace (like an NFS/Lustre mount): the poll of
    // sizes and mtimes must catch the change.
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-outside-'));
    fs.cpSync(path.join(study, 'phase_c'), path.join(outside, 'phase_c'), { recursive: true });
    fs.cpSync(path.join(study, 'phase_d'), path.join(outside, 'phase_d'), { recursive: true });
    const cfg = vscode.workspace.getConfiguration('ptychoStudy');
    try {
      await cfg.update('pollIntervalSeconds', 1, vscode.ConfigurationTarget.Workspace);
      await cfg.update('phaseCRoot', path.join(outside, 'phase_c'), vscode.ConfigurationTarget.Workspace);
      await cfg.update('phaseDRoot', path.join(outside, 'phase_d'), vscode.ConfigurationTarget.Workspace);
      await until('jobs from the outside study', async () => {
        await api.whenIdle();
        const j = job('dose_1000/baseline/gs1');
        return j?.train.path.startsWith(outside) && j.state === 'ready';
      });
      fs.rmSync(path.join(outside, 'phase_d', 'dose_100000', 'sparse'), { recursive: true });
      const missing = await until('the outside sparse view to be missing', () => (job('dose_100000/sparse/gs2')?.state === 'missing' ? job('dose_100000/sparse/gs2') : undefined));
      assert.match(missing.reason!, /view "sparse" not found for dose 100000/);
      assert.equal(job('dose_1000/sparse/gs2')?.state, 'ready');
    } finally {
      for (const key of ['phaseCRoot', 'phaseDRoot', 'pollIntervalSeconds']) await cfg.update(key, undefined, vscode.ConfigurationTarget.Workspace);
      fs.rmSync(outside, { recursive: true, force: true });
    }
    await until('the workspace study again', async () => {
      await api.whenIdle();
      return job('dose_1000/baseline/gs1')?.train.path.startsWith(study);
    });
  });
});
