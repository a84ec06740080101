// Phase F (iterative reconstructions) in the real VS Code, on a study of its own: a one-dose study simulated
// by the bundled CLI into a temporary folder outside the workspace, with the study roots and
// `ptychoStudy.phaseFRoot` pointed at it (restored, and the folder removed, at the end — the other suites
// never see it). Checks the tree's Phase F nodes, Reconstruct → succeeded with every artifact (in the worker
// process), Cancel and Resume from the checkpoint, and the comparison panel's method columns, PINN − iterative
// deltas and chart through the panel's message protocol.
import { strict as assert } from 'node:assert';
import { fork, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { JobsNode } from '../../../src/extension/jobsTree';
import type { ComparisonPanel, ReconstructionPanel, RunComparePanel } from '../../../src/extension/results';
import type { RunCompareInit, RunCompareViewState } from '../../../src/webview/runCompare/protocol';
import type { LiveRun } from '../../../src/extension/runs';
import type { ManifestPanel } from '../../../src/extension/jobPanel';
import type { JobPanelViewState, ManifestViewState } from '../../../src/webview/protocol';
import { listRunsSync } from '../../../src/core/run/runHistory';
import { openNpz } from '../../../src/core/npy';
import type { ComparisonViewState } from '../../../src/webview/protocol';
import { activateForShortTraining, EXTENSION_ID, until as untilShort } from './util';

const until = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 90_000): Promise<T> => untilShort(what, probe, ms);

const ROOT_KEYS = ['phaseCRoot', 'phaseDRoot', 'artifactRoot', 'phaseFRoot', 'reconstruction.iterations', 'training.epochs', 'reconstruction.algorithms', 'reconstruction.adLoss'] as const;

describe('Phase F iterative reconstructions in VS Code', function () {
  this.timeout(300_000);
  let api: WorkbenchApi;
  let dir: string;
  let phaseF: string;
  const cfg = () => vscode.workspace.getConfiguration('ptychoStudy');
  const recon = (id: string) => api.model.allRecons().find((j) => j.id === id)!;

  /** The tree nodes under the single study (dose nodes at the top). */
  function reconNodes(): Extract<JobsNode, { kind: 'recon' }>[] {
    const out: Extract<JobsNode, { kind: 'recon' }>[] = [];
    for (const top of api.tree.getChildren()) {
      for (const n of api.tree.getChildren(top)) {
        if (n.kind !== 'reconGroup') continue;
        for (const r of api.tree.getChildren(n)) if (r.kind === 'recon') out.push(r);
      }
    }
    return out;
  }
  const reconItem = (id: string): vscode.TreeItem | undefined => {
    const n = reconNodes().find((r) => r.job.id === id);
    return n ? api.tree.getTreeItem(n) : undefined;
  };

  async function refreshed(): Promise<void> {
    await api.refresh();
    await api.whenIdle();
  }

  before(async () => {
    api = await activateForShortTraining();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-phase-f-'));
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
    await new Promise<void>((resolve, reject) => {
      const child = fork(cli, ['simulate', '--out', dir, '--n-images', '160', '--doses', '1e4', '--json'], { stdio: 'pipe' });
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulate exited ${code}`))));
    });
    phaseF = path.join(dir, 'iterative');
    await cfg().update('phaseCRoot', path.join(dir, 'phase_c'), vscode.ConfigurationTarget.Workspace);
    await cfg().update('phaseDRoot', path.join(dir, 'phase_d'), vscode.ConfigurationTarget.Workspace);
    await cfg().update('artifactRoot', path.join(dir, 'phase_e'), vscode.ConfigurationTarget.Workspace);
    await cfg().update('phaseFRoot', phaseF, vscode.ConfigurationTarget.Workspace);
    await cfg().update('reconstruction.iterations', 5, vscode.ConfigurationTarget.Workspace);
    await cfg().update('training.epochs', 1, vscode.ConfigurationTarget.Workspace);
    await refreshed();
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const k of ROOT_KEYS) await cfg().update(k, undefined, vscode.ConfigurationTarget.Workspace);
    await cfg().update('training.epochs', 2, vscode.ConfigurationTarget.Workspace); // as activateForShortTraining left it
    await refreshed();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('contributes Reconstruct and the Phase F settings; Cancel and Resume serve both kinds of job', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const cmd = pkg.contributes.commands.find((c: { command: string }) => c.command === 'ptychoStudy.reconstruct');
    assert.ok(cmd, 'ptychoStudy.reconstruct is contributed');
    const item = pkg.contributes.menus['view/item/context'] as { command: string; when: string; group: string }[];
    for (const id of ['ptychoStudy.reconstruct', 'ptychoStudy.cancel', 'ptychoStudy.resume']) {
      assert.ok(item.some((m) => m.command === id && m.when.includes('recon\\.') && m.group.startsWith('inline')), `${id} inline on Phase F nodes`);
    }
    const props = pkg.contributes.configuration.properties;
    assert.equal(props['ptychoStudy.phaseFRoot'].default, '');
    assert.equal(props['ptychoStudy.reconstruction.iterations'].default, 50);
    assert.equal(props['ptychoStudy.reconstruction.probe'].default, 'fixed');
    assert.ok((await vscode.commands.getCommands(true)).includes('ptychoStudy.reconstruct'));
  });

  it('the tree shows an "Iterative (Phase F)" group per dose with a node per view × algorithm, in the ready state', async () => {
    assert.deepEqual(api.model.allJobs().map((j) => j.id).sort(), ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2', 'dose_10000/sparse/gs2'], 'the fixture study, not the demo');
    const top = api.tree.getChildren();
    const dose = top.find((n) => n.kind === 'dose')!;
    const children = api.tree.getChildren(dose);
    assert.deepEqual(children.map((n) => n.kind), ['job', 'job', 'job', 'reconGroup'], 'training jobs first, then the Phase F group');
    const group = api.tree.getTreeItem(children[3]);
    assert.equal(group.label, 'Iterative (Phase F)');
    assert.equal(group.contextValue, 'reconGroup');
    assert.match(String(group.description), /^6 ready$/);
    const nodes = reconNodes();
    assert.deepEqual(nodes.map((n) => n.job.id), [
      'dose_10000/baseline/test/epie', 'dose_10000/baseline/test/rpie', 'dose_10000/dense/test/epie',
      'dose_10000/dense/test/rpie', 'dose_10000/sparse/test/epie', 'dose_10000/sparse/test/rpie',
    ]);
    assert.equal(nodes.length, 6);
    const item = reconItem('dose_10000/dense/test/epie')!;
    assert.equal(item.label, 'dense · epie');
    assert.equal(item.contextValue, 'recon.ready');
    assert.equal((item.iconPath as vscode.ThemeIcon).id, 'circle-large-outline');
    assert.match(String(item.description), /^ready · 71 patterns · N=64$/);
    assert.equal(api.tree.getParent(nodes[0])?.kind, 'reconGroup');
    assert.equal(recon('dose_10000/dense/test/epie').artifactDir, path.join(phaseF, 'dose_10000', 'dense', 'test', 'epie'), 'the phaseFRoot setting decides where');
  });

  it('Reconstruct runs a Phase F job in a worker to succeeded: progress in the tree, every artifact, the root records', async () => {
    const id = 'dose_10000/dense/test/epie';
    const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.reconstruct', id);
    assert.ok(run, 'the command returns the live run');
    const pid = await until('the worker pid', () => run.handle?.pid);
    assert.notEqual(pid, process.pid, 'the reconstruction runs in its own process, not the extension host');
    const exit = await run.finished;
    assert.equal(exit?.status, 'succeeded', exit?.reason);
    await refreshed();
    const done = await until('the succeeded state', () => (reconItem(id)?.contextValue === 'recon.succeeded' ? reconItem(id) : undefined));
    assert.equal((done.iconPath as vscode.ThemeIcon).id, 'pass-filled');
    assert.match(String(done.description), /^succeeded · 5 iterations/);
    const jobDir = recon(id).artifactDir;
    for (const f of ['manifest.json', 'recon.log', 'events.jsonl', 'checkpoint.npz', 'reconstruction.npz', 'metrics.json', 'amplitude.png', 'phase.png']) {
      assert.ok(fs.existsSync(path.join(jobDir, f)), f);
    }
    const manifest = JSON.parse(fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(manifest.config.algorithm, 'epie');
    assert.equal(manifest.config.settings.iterations, 5, 'ptychoStudy.reconstruction.iterations');
    assert.equal(manifest.config.settings.probeMode, 'fixed', 'the probe is fixed by default');
    assert.equal(manifest.runtime.pid, pid);
    const metrics = JSON.parse(fs.readFileSync(path.join(jobDir, 'metrics.json'), 'utf8'));
    assert.equal(metrics.evaluation.source, 'phase-c-test', 'scored on the dose\'s common evaluation, as the training jobs');
    const events = fs.readFileSync(path.join(jobDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.equal(events.filter((e) => e.type === 'iteration').length, 5);
    assert.ok(fs.existsSync(path.join(phaseF, 'reconstruction_manifest.json')), 'reconstruction_manifest.json at the Phase F root');
    assert.ok(fs.existsSync(path.join(phaseF, 'skip_summary.json')));
    assert.equal(api.runs.all().length, 0);
  });

  it('a Phase F job opens like a training job: Show Reconstruction (the viewer, with its probe), Show Manifest, Reveal Job Folder', async () => {
    const id = 'dose_10000/dense/test/epie';
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const menus = pkg.contributes.menus['view/item/context'] as { command: string; when: string }[];
    for (const c of ['ptychoStudy.showReconstruction', 'ptychoStudy.showManifest', 'ptychoStudy.revealArtifacts']) {
      assert.ok(menus.some((m) => m.command === c && /recon/.test(m.when)), `${c} on Phase F nodes`);
    }
    // The reconstruction viewer, as for a training job: the images, the metrics beside the flat predictor, the probe.
    const viewer = await vscode.commands.executeCommand<ReconstructionPanel>('ptychoStudy.showReconstruction', id);
    assert.ok(viewer, 'the viewer opened');
    await api.results.reconstruction.whenReady(id);
    const vs = await until('the images and the probe drawn', async () => {
      const v = await viewer.host.sendRequest('getViewState', {});
      return v.data && v.probe && v.viewers.length > 0 && v.viewers.every((x) => x.nonBlank > 0) ? v : undefined;
    });
    assert.equal(vs.jobId, id);
    assert.equal(vs.probe!.size, 64);
    assert.ok(vs.probe!.nonBlank > 0.01, `probe drawn: ${vs.probe!.nonBlank}`);
    assert.ok(vs.metricRows > 0, 'the metrics table');
    assert.equal(vs.data!.hasGroundTruth, true);
    const mp = await vscode.commands.executeCommand<ManifestPanel>('ptychoStudy.showManifest', id);
    assert.ok(mp, 'the manifest viewer opened');
    await api.jobPanels.panels.whenManifestReady((t) => t.jobId === id);
    const st: ManifestViewState = await until('the manifest document', async () => {
      const v = await mp.host.sendRequest('getViewState', {});
      return v.status === 'succeeded' ? v : undefined;
    });
    assert.equal(st.title, `Manifest of ${id}`);
    assert.ok(st.sections.includes('reconstruction'), st.sections.join(','));
    await vscode.commands.executeCommand('ptychoStudy.revealArtifacts', id);
    // A job that has not run has no result to show: said, not opened.
    const fresh = 'dose_10000/sparse/test/rpie';
    assert.notEqual(recon(fresh).state, 'succeeded');
    const freshViewer = await vscode.commands.executeCommand<ReconstructionPanel>('ptychoStudy.showReconstruction', fresh);
    const fv = await until('the unavailable message', async () => {
      const v = await freshViewer.host.sendRequest('getViewState', {});
      return v.message ? v : undefined;
    });
    assert.match(String(fv.message), /No reconstruction for dose_10000\/sparse\/test\/rpie yet/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Export for Ptychodus, Open in Notebook (VS Code\'s notebook editor) and a table\'s CSV… on a finished Phase F job', async () => {
    const id = 'dose_10000/dense/test/epie';
    const job = recon(id);
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const menus = pkg.contributes.menus['view/item/context'] as { command: string; when: string }[];
    for (const c of ['ptychoStudy.exportForPtychodus', 'ptychoStudy.openInNotebook']) {
      assert.ok(menus.some((m) => m.command === c && /recon/.test(m.when) && /job/.test(m.when)), `${c} on finished training and Phase F nodes`);
    }
    const product = await vscode.commands.executeCommand<string>('ptychoStudy.exportForPtychodus', id);
    assert.equal(product, path.join(job.artifactDir, 'ptychodus_product.npz'));
    const archive = await openNpz(product);
    try {
      for (const k of ['object', 'probe', 'probe_position_x_m', 'probe_position_y_m', 'object_pixel_width_m', 'loss_values']) assert.ok(archive.has(k), `${k} in the product`);
    } finally {
      await archive.close();
    }
    const nb = await vscode.commands.executeCommand<string>('ptychoStudy.openInNotebook', id);
    assert.equal(nb, path.join(job.artifactDir, 'analysis.ipynb'));
    const editor = await until('the notebook editor', () => vscode.window.activeNotebookEditor?.notebook.uri.fsPath === nb && vscode.window.activeNotebookEditor);
    assert.equal(editor.notebook.notebookType, 'jupyter-notebook');
    assert.ok(editor.notebook.getCells().some((c) => c.kind === vscode.NotebookCellKind.Code && /reconstruction\.npz/.test(c.document.getText())), 'a cell loads reconstruction.npz');
    // A table's CSV…: the page's request goes through the host's save dialog into the file picked.
    const viewer = await vscode.commands.executeCommand<ReconstructionPanel>('ptychoStudy.showReconstruction', id);
    await api.results.reconstruction.whenReady(id);
    const target = path.join(dir, 'metrics-table.csv');
    const dialog = api.results.reconstruction.pickSaveUri;
    let kind: string | undefined;
    api.results.reconstruction.pickSaveUri = async (_uri, k) => {
      kind = k;
      return vscode.Uri.file(target);
    };
    try {
      const r = await viewer.host.sendRequest('relay', { type: 'saveCsv', params: { suggestedName: '../reconstruction_metrics-table.csv', text: 'part,metric,value\namplitude,ssim,0.5\n' } }) as { result?: { saved: boolean; path?: string }; error?: string };
      assert.deepEqual(r.result, { saved: true, path: target }, r.error);
      assert.equal(kind, 'csv', 'the CSV save dialog');
      assert.equal(fs.readFileSync(target, 'utf8'), 'part,metric,value\namplitude,ssim,0.5\n');
    } finally {
      api.results.reconstruction.pickSaveUri = dialog;
    }
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Cancel stops a reconstruction after its iteration with a checkpoint; Resume continues from it to succeeded', async () => {
    const id = 'dose_10000/baseline/test/rpie';
    await cfg().update('reconstruction.iterations', 5000, vscode.ConfigurationTarget.Workspace);
    const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.reconstruct', { jobId: id });
    await until('an iteration', () => run.iteration);
    const running = reconItem(id)!;
    assert.equal(running.contextValue, 'recon.running');
    assert.match(String(running.description), /^running · iteration \d+\/5000 · error /);
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.cancel', id), true, 'ptychoStudy.cancel takes a Phase F id');
    const exit = await run.finished;
    assert.equal(exit?.status, 'cancelled', exit?.reason);
    const jobDir = recon(id).artifactDir;
    assert.ok(fs.existsSync(path.join(jobDir, 'checkpoint.npz')), 'the checkpoint is kept');
    await refreshed();
    const node = reconNodes().find((n) => n.job.id === id)!;
    assert.equal(api.tree.getTreeItem(node).contextValue, 'recon.cancelled');
    const stoppedAt = (JSON.parse(fs.readFileSync(path.join(jobDir, 'manifest.json'), 'utf8')) as { progress: { iteration: number } }).progress.iteration;
    assert.ok(stoppedAt >= 1 && stoppedAt < 5000, `stopped after iteration ${stoppedAt}`);
    // Resume from the tree node (the argument a context-menu click passes), to a few iterations more.
    await cfg().update('reconstruction.iterations', stoppedAt + 3, vscode.ConfigurationTarget.Workspace);
    const resumed = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.resume', node);
    assert.ok(resumed?.resume, 'a resume run');
    const exit2 = await resumed.finished;
    assert.equal(exit2?.status, 'succeeded', exit2?.reason);
    const events = fs.readFileSync(path.join(jobDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; resumedFrom?: { iteration: number }; iteration?: number });
    const started = events.filter((e) => e.type === 'recon-started');
    assert.deepEqual(started.at(-1)?.resumedFrom, { iteration: stoppedAt }, 'the second run continued from the checkpoint');
    assert.equal(events.filter((e) => e.type === 'iteration').at(-1)?.iteration, stoppedAt + 3);
    await refreshed();
    await until('the succeeded state', () => reconItem(id)?.contextValue === 'recon.succeeded' || undefined);
    await cfg().update('reconstruction.iterations', 5, vscode.ConfigurationTarget.Workspace);
  });

  it('the comparison shows methods as columns (PINN per view, then iterative per view), PINN − iterative deltas and a line per method × view', async () => {
    // The PINN of the dense view (1 epoch, small network), trained as the Train command does; refined by 3
    // iterations (not 'auto', which may choose none for so short a training) so its network alone is scored too.
    await cfg().update('training.groupRefinement', 3, vscode.ConfigurationTarget.Workspace);
    let texit;
    try {
      const train = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.train', 'dose_10000/dense/gs2');
      texit = await train.finished;
    } finally {
      await cfg().update('training.groupRefinement', undefined, vscode.ConfigurationTarget.Workspace);
    }
    assert.equal(texit?.status, 'succeeded', texit?.reason);
    await refreshed();
    const comparison = (await vscode.commands.executeCommand<ComparisonPanel>('ptychoStudy.compareStudy'))!;
    await api.results.comparison.whenReady();
    await until('an init with the trained PINN', () => comparison.lastInit?.rows.some((r) => r.jobId === 'dose_10000/dense/gs2' && r.hasReconstruction) || undefined);
    await comparison.renders.when((r) => r.event.first, 60_000);
    const init = comparison.lastInit!;
    assert.deepEqual(init.columns.map((c) => c.key), ['baseline/gs1', 'dense/gs2', 'sparse/gs2', 'baseline/rpie', 'dense/epie'],
      'iterative columns only where a reconstruction ran: baseline · rPIE (resumed) and dense · ePIE');
    assert.deepEqual(init.columns.map((c) => c.method), ['pinn', 'pinn', 'pinn', 'rpie', 'epie']);
    const row = (id: string) => init.rows.find((r) => r.jobId === id)!;
    assert.equal(row('dose_10000/dense/test/epie').method, 'epie');
    assert.equal(row('dose_10000/dense/test/epie').column, 'dense/epie');
    assert.equal(row('dose_10000/dense/test/epie').hasReconstruction, true);
    assert.equal(typeof row('dose_10000/dense/test/epie').phase.ssim, 'number', 'the iterative job is scored like the PINN');
    assert.equal(row('dose_10000/dense/gs2').method, 'pinn');
    // PINN − iterative: dense (the PINN gs2 against ePIE); baseline has no trained PINN here.
    assert.deepEqual(init.deltas.map((d) => `${d.pinnJobId} − ${d.iterativeJobId}`), ['dose_10000/dense/gs2 − dose_10000/dense/test/epie']);
    const d = init.deltas[0];
    const pinnRow = row('dose_10000/dense/gs2');
    const itRow = row('dose_10000/dense/test/epie');
    for (const v of d.values) {
      const a = pinnRow[v.part][v.metric];
      const b = itRow[v.part][v.metric];
      if (typeof a === 'number' && typeof b === 'number') {
        assert.ok(Math.abs(v.delta! - (a - b)) < 1e-12, `${v.part}.${v.metric}`);
        const lowerBetter = v.metric === 'mae';
        const expect = a === b ? 'tie' : (lowerBetter ? a < b : a > b) ? 'pinn' : 'iterative';
        assert.equal(v.better, expect, `${v.part}.${v.metric}: ${a} vs ${b}`);
      }
    }
    // The page, through its protocol: column heads, the cells of both methods drawn, the delta table marked, the chart.
    const st: ComparisonViewState = await comparison.host.sendRequest('getViewState', {});
    assert.deepEqual(st.columnLabels, ['baseline (gs1)', 'dense (gs2)', 'sparse (gs2)', 'baseline · rPIE', 'dense · ePIE']);
    const cell = (id: string) => st.cells.find((c) => c.jobId === id)!;
    for (const id of ['dose_10000/dense/gs2', 'dose_10000/dense/test/epie', 'dose_10000/baseline/test/rpie']) {
      assert.equal(cell(id).drawn, true, `${id} drawn`);
      assert.ok(cell(id).nonBlank > 0.05, `${id}: ${JSON.stringify(cell(id))}`);
      assert.equal(cell(id).binary, true);
    }
    assert.match(String(cell('dose_10000/baseline/gs1').empty), /^not trained yet/);
    assert.equal(st.deltaRows.length, 1);
    assert.equal(st.deltaRows[0].iterativeJobId, 'dose_10000/dense/test/epie');
    const expectedMarks = d.values.filter((v) => v.better === 'pinn' || v.better === 'iterative').map((v) => `${v.part}.${v.metric}:${v.better}`);
    assert.ok(expectedMarks.length > 0);
    assert.deepEqual(st.deltaRows[0].marked, expectedMarks, 'the better value of each pair is marked');
    assert.ok(st.tableRows.includes('dose_10000/dense/test/epie'), 'the iterative jobs are rows of the metrics table');
    assert.equal(st.chartSeries, 4, 'one line per method × view with results (PINN dense, baseline · rPIE, dense · ePIE) and the flat predictor');
    // The refined dense job's network alone is a reference row beside the flat predictor, with its metrics.json figures.
    const metrics = JSON.parse(fs.readFileSync(path.join(dir, 'phase_e', 'dose_10000', 'dense', 'gs2', 'metrics.json'), 'utf8'));
    assert.equal(metrics.groupRefinement?.iterations, 3);
    const alone = init.references.filter((r) => r.kind === 'network-alone');
    assert.deepEqual(alone.map((r) => r.jobId), ['dose_10000/dense/gs2']);
    assert.equal(alone[0].phase.msSsim, metrics.networkAlone.phase.msSsim);
    assert.equal(alone[0].amplitude.pearson, metrics.networkAlone.amplitude.pearson);
    assert.notEqual(alone[0].amplitude.pearson, pinnRow.amplitude.pearson, 'the headline row is the refined stitch');
    assert.deepEqual(st.referenceRows.map((r) => `${r.kind} ${r.key} ${r.label}`), ['flat 10000 flat predictor', 'network-alone dose_10000/dense/gs2 dense (gs2) · network alone']);
  });

  it('Export Study Report writes the report folder of the study (Phase F included) where the user picks', async () => {
    const outDir = path.join(dir, 'report-picked');
    fs.mkdirSync(outDir);
    let suggested: string | undefined;
    const original = api.report.pickFolder;
    api.report.pickFolder = async (def) => {
      suggested = def.fsPath;
      return vscode.Uri.file(outDir);
    };
    try {
      const study = api.tree.getChildren().find((n) => n.kind === 'study')!;
      const report = await vscode.commands.executeCommand<{ outDir: string; jobs: number; absent: unknown[]; files: Record<string, string> }>('ptychoStudy.exportStudyReport', study);
      assert.ok(report, 'the command returns the report');
      assert.equal(suggested, dir, 'the dialog starts beside Phase C');
      assert.equal(report.outDir, outDir);
      for (const f of ['comparison_metrics.csv', 'metrics_summary.json', 'metrics_delta_summary.json', 'README.md']) assert.ok(fs.existsSync(path.join(outDir, f)), f);
      const csv = fs.readFileSync(path.join(outDir, 'comparison_metrics.csv'), 'utf8');
      assert.match(csv, /^dose,view,method,split,part,metric,value/);
      assert.match(csv, /\n10000,dense,epie,test,phase,/, 'the iterative job is in the tidy CSV');
      assert.match(csv, /\n10000,dense,pinn,test,phase,/);
      const deltas = JSON.parse(fs.readFileSync(path.join(outDir, 'metrics_delta_summary.json'), 'utf8'));
      assert.ok(deltas.deltas.some((e: { view: string; algorithm: string }) => e.view === 'dense' && e.algorithm === 'epie'), 'PINN − ePIE of the dense view');
      assert.match(fs.readFileSync(path.join(outDir, 'README.md'), 'utf8'), /ptycho-study report .*--phase-f-root/, 'the README records the command that regenerates it');
    } finally {
      api.report.pickFolder = original;
    }
    // A study root as the report folder is refused with the writer's message.
    await vscode.commands.executeCommand('ptychoStudy.exportStudyReport', { outDir: path.join(dir, 'phase_c') });
    assert.ok(!fs.existsSync(path.join(dir, 'phase_c', 'comparison_metrics.csv')), 'nothing written into Phase C');
  });

  it('a Phase F job has its job panel: a click in the tree opens it, Reconstruct there runs it live — recon.log, relative error and quality per iteration — to succeeded', async () => {
    const id = 'dose_10000/sparse/test/epie';
    await refreshed();
    const item = reconItem(id)!;
    assert.equal(item.command?.command, 'ptychoStudy.openLog', 'a click opens the job panel');
    await vscode.commands.executeCommand(item.command!.command, ...(item.command!.arguments ?? []));
    const jp = await api.jobPanels.panels.whenReady(id);
    type View = { state?: string; header: string; lines: number; enabledActions: string[]; chart: { epochs: number; nonBlank: boolean }; quality: { epochs: number; caption: string }; progressText: string; lastLine?: string };
    const view = async (): Promise<View> => (await jp.host.sendRequest('getViewState', {})) as unknown as View;
    const ready = await until('the panel in the ready state', async () => ((await view()).state === 'ready' ? view() : undefined));
    assert.match(ready.header, /Reconstruct/);
    assert.doesNotMatch(ready.header, /Dry Run/, 'no dry run for a Phase F job');
    assert.ok(ready.enabledActions.includes('train') && !ready.enabledActions.includes('dryRun'));
    assert.deepEqual(await jp.host.sendRequest('relay', { type: 'action', params: { action: 'train', jobId: id } }), { result: { done: true } });
    const run = await until('the run', () => api.runs.all().find((r) => r.job.id === id));
    const exit = await run.finished;
    assert.equal(exit?.status, 'succeeded', exit?.reason);
    const done = await until('the succeeded state with every iteration charted', async () => {
      await jp.flush();
      const s = await view();
      return s.state === 'succeeded' && s.chart.epochs === 5 ? s : undefined;
    });
    assert.ok(done.chart.nonBlank, 'the relative error is drawn');
    assert.equal(done.quality.epochs, 5, 'quality against objectGuess after every iteration');
    assert.match(done.quality.caption, /After each of 5 iterations: Pearson r/);
    assert.ok(done.lines > 0, 'recon.log is shown');
    assert.match(done.header, /Reconstruct Again/);
    assert.ok(done.enabledActions.includes('showReconstruction') && done.enabledActions.includes('showManifest') && done.enabledActions.includes('openLogFile'));
    jp.panel.dispose();
  });

  it('Reconstruct All queues the dose\'s Phase F jobs that have no result yet, one after another; succeeded ones are left alone', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.ok(pkg.contributes.menus['view/item/context'].some((m: { command: string; when: string }) => m.command === 'ptychoStudy.reconstructAll' && /viewItem == reconGroup/.test(m.when)), 'on the "Iterative (Phase F)" node');
    await refreshed();
    const before = Object.fromEntries(api.model.allRecons().map((j) => [j.id, j.state]));
    const doneBefore = Object.keys(before).filter((id) => before[id] === 'succeeded');
    assert.ok(doneBefore.includes('dose_10000/dense/test/epie'), 'reconstructed by an earlier test');
    const mtime = (id: string): number => fs.statSync(path.join(recon(id).artifactDir, 'manifest.json')).mtimeMs;
    const kept = Object.fromEntries(doneBefore.map((id) => [id, mtime(id)]));
    const runs = await vscode.commands.executeCommand<LiveRun[]>('ptychoStudy.reconstructAll', { dose: 10000, confirm: false });
    assert.deepEqual(runs.map((r) => r.job.id).sort(), Object.keys(before).filter((id) => before[id] !== 'succeeded').sort());
    assert.ok(runs.length >= 2, `${runs.length} queued`);
    assert.equal(runs[1].state, 'queued', 'one at a time');
    const exits = await Promise.all(runs.map((r) => r.finished));
    assert.deepEqual(exits.map((e) => e?.status), runs.map(() => 'succeeded'));
    await refreshed();
    assert.ok(api.model.allRecons().every((j) => j.state === 'succeeded'), 'every listed job has a result now');
    for (const id of doneBefore) assert.equal(mtime(id), kept[id], `${id} was not run again`);
    // Nothing left to do: refused with a message, nothing queued.
    const again = await vscode.commands.executeCommand<LiveRun[] | undefined>('ptychoStudy.reconstructAll', { dose: 10000, confirm: false });
    assert.ok(!again || again.length === 0);
    assert.equal(api.runs.all().length, 0);
  });

  it('Rerun from Manifest recreates a Phase F run in a new folder beside it and reproduces its metrics exactly; the original is untouched', async () => {
    const id = 'dose_10000/dense/test/epie';
    const dir = recon(id).artifactDir;
    const before = fs.statSync(path.join(dir, 'metrics.json')).mtimeMs;
    const r = await vscode.commands.executeCommand<{ jobId: string; outDir: string; status: string; comparison?: { reproduced: boolean; compared: number; maxRelDiff: number } }>('ptychoStudy.rerun', id);
    assert.ok(r, 'the command returns the result');
    assert.equal(r.status, 'succeeded', JSON.stringify(r));
    assert.equal(path.dirname(r.outDir), path.dirname(dir), 'beside the job folder');
    assert.match(path.basename(r.outDir), /^epie\.rerun-/);
    assert.ok(r.comparison?.reproduced, JSON.stringify(r.comparison));
    assert.ok(r.comparison!.compared > 100, `${r.comparison!.compared} numbers compared`);
    assert.equal(fs.statSync(path.join(dir, 'metrics.json')).mtimeMs, before, 'the original is not rewritten');
    const manifest = JSON.parse(fs.readFileSync(path.join(r.outDir, 'manifest.json'), 'utf8'));
    assert.equal(manifest.status, 'succeeded');
    assert.equal(manifest.config.artifactDir, r.outDir);
    fs.rmSync(r.outDir, { recursive: true, force: true });
  });

  it('ad (automatic differentiation) is listed when chosen in ptychoStudy.reconstruction.algorithms and reconstructs on the execution provider with its own settings', async () => {
    await cfg().update('reconstruction.algorithms', ['epie', 'ad'], vscode.ConfigurationTarget.Workspace);
    await cfg().update('reconstruction.adLoss', 'poisson', vscode.ConfigurationTarget.Workspace);
    await cfg().update('reconstruction.momentum', 0.5, vscode.ConfigurationTarget.Workspace); // an ePIE option: not passed to ad
    try {
      await refreshed();
      const id = 'dose_10000/dense/test/ad';
      await until('the ad job in the tree', () => reconItem(id));
      assert.ok(!reconNodes().some((n) => n.job.algorithm === 'rpie' && n.job.state === 'ready'), 'rpie is no longer listed (only jobs that ran are)');
      const run = await vscode.commands.executeCommand<LiveRun>('ptychoStudy.reconstruct', id);
      const exit = await run.finished;
      assert.equal(exit?.status, 'succeeded', exit?.reason);
      await refreshed();
      await until('the succeeded state', () => reconItem(id)?.contextValue === 'recon.succeeded');
      const manifest = JSON.parse(fs.readFileSync(path.join(recon(id).artifactDir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.config.algorithm, 'ad');
      assert.equal(manifest.config.settings.loss, 'poisson', 'ptychoStudy.reconstruction.adLoss');
      assert.equal(manifest.config.settings.momentum, 0, 'the ePIE momentum setting is not applied to ad');
      assert.equal(manifest.runtime.executionProviderUsed, 'cpu');
      assert.match(manifest.runtime.engine, /onnxruntime/);
      const metrics = JSON.parse(fs.readFileSync(path.join(recon(id).artifactDir, 'metrics.json'), 'utf8'));
      assert.ok(metrics.amplitude.pearsonCovered > 0.5, `amplitude r ${metrics.amplitude.pearsonCovered}`);
      // Copy CLI Command: the same run from a terminal — this extension's CLI, the roots, the job, every setting.
      const line = await vscode.commands.executeCommand<string>('ptychoStudy.copyCliCommand', id);
      const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
      assert.ok(line.startsWith(`node ${cli} reconstruct `), line);
      for (const part of ['--dose 10000', '--view dense', '--split test', '--algorithm ad', '--loss poisson', '--iterations 5', `--phase-f-root ${phaseF}`]) assert.ok(line.includes(part), `${part} in ${line}`);
      assert.ok(!line.includes('--momentum'), 'no ePIE option for ad');
      const train = await vscode.commands.executeCommand<string>('ptychoStudy.copyCliCommand', 'dose_10000/dense/gs2');
      for (const part of [' train ', '--gridsize 2', '--epochs', '--plain-stitch', '--stitch-crop-size']) assert.ok(train.includes(part) || (part === '--plain-stitch' && train.includes('--stitch-phase-align')), `${part} in ${train}`);
    } finally {
      await cfg().update('reconstruction.momentum', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('a run started outside this window (the CLI, or a window since closed) shows as running and Cancel stops it through its manifest', async () => {
    const id = 'dose_10000/sparse/gs2';
    const cli = path.join(vscode.extensions.getExtension(EXTENSION_ID)!.extensionPath, 'dist', 'cli.js');
    const child = fork(cli, ['train', '--phase-c-root', path.join(dir, 'phase_c'), '--phase-d-root', path.join(dir, 'phase_d'), '--artifact-root', path.join(dir, 'phase_e'),
      '--dose', '1e4', '--view', 'sparse', '--epochs', '500', '--n-filters-scale', '1', '--batch-size', '8'], { stdio: 'pipe' });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const running = await until('the job running in the tree (from its manifest)', async () => {
        await refreshed();
        const j = api.model.allJobs().find((x) => x.id === id);
        return j?.state === 'running' && j.run?.manifest.progress ? j : undefined;
      }, 120_000);
      assert.equal(api.runs.all().length, 0, 'not a run of this window');
      assert.deepEqual(api.runs.elsewhere().map((o) => o.id), [id], 'the status bar counts it as running in another process');
      // Its progress comes from events.jsonl, as for this window's runs (the manifest's has no loss or rate).
      const item = await until('step-level progress in the tree', () => {
        for (const top of api.tree.getChildren()) {
          for (const n of api.tree.getChildren(top)) {
            if (n.kind === 'job' && n.job.id === id) {
              const it = api.tree.getTreeItem(n);
              return /^running · epoch \d+\/500 · step \d+\/\d+ · loss \S+ · [\d.]+ img\/s · ETA/.test(String(it.description)) ? it : undefined;
            }
          }
        }
        return undefined;
      }, 60_000);
      assert.equal(item.contextValue, 'job.running');
      assert.equal(await vscode.commands.executeCommand('ptychoStudy.cancel', id), true);
      assert.equal(await exited, 130, 'the CLI reports the cancel');
      await refreshed();
      const done = api.model.allJobs().find((x) => x.id === id)!;
      assert.equal(done.state, 'cancelled');
      assert.ok(fs.existsSync(path.join(running.artifactDir, 'checkpoint.npz')), 'the checkpoint is kept');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('Submit to Slurm… sends the dose\'s training jobs as one array; the tree shows each queued task\'s Slurm state, then the results', async function () {
    const sinfo = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
    if (sinfo.error || !/idle|mixed|allocated/.test(sinfo.stdout ?? '')) {
      if (process.env.PTYCHO_REQUIRE_SLURM === '1') throw new Error('Slurm is not running (scripts/slurm-local.sh start)');
      this.skip();
    }
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.ok(pkg.contributes.menus['view/item/context'].some((m: { command: string; when: string }) => m.command === 'ptychoStudy.submitToSlurm' && /viewItem == dose/.test(m.when)), 'on dose nodes');
    await cfg().update('slurm.arrayLimit', 1, vscode.ConfigurationTarget.Workspace);
    await cfg().update('slurm.cpusPerTask', 1, vscode.ConfigurationTarget.Workspace);
    await cfg().update('slurm.mem', '1G', vscode.ConfigurationTarget.Workspace);
    try {
      await refreshed();
      const sub = await vscode.commands.executeCommand<{ slurmJobId: string; jobs: string[]; dir: string }>('ptychoStudy.submitToSlurm', { dose: 10000, confirm: false });
      assert.ok(sub, 'submitted');
      assert.deepEqual(sub.jobs, ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2', 'dose_10000/sparse/gs2']);
      assert.match(fs.readFileSync(path.join(sub.dir, 'submit.sh'), 'utf8'), /#SBATCH --array=0-2%1/);
      const jobItem = (id: string): vscode.TreeItem | undefined => {
        for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && n.job.id === id) return api.tree.getTreeItem(n);
        return undefined;
      };
      // One task at a time: the last one waits with Slurm's reason.
      const pending = await until('a task pending on Slurm in the tree', async () => {
        await api.slurm.poll();
        const it = jobItem('dose_10000/sparse/gs2');
        return it && /^pending on Slurm \(JobArrayTaskLimit\) · array \d+_2$/.test(String(it.description)) ? it : undefined;
      }, 60_000);
      assert.equal(pending.contextValue, 'job.queued');
      const done = await until('every submitted job finished', async () => {
        await api.slurm.poll();
        await refreshed();
        const jobs = sub.jobs.map((id) => api.model.allJobs().find((j) => j.id === id)!);
        return jobs.every((j) => j.state === 'succeeded' && j.run?.manifest.scheduler?.arrayJobId === sub.slurmJobId) ? jobs : undefined;
      }, 240_000);
      assert.equal(done.length, 3);
      assert.equal(api.slurm.stateOf(done[0]), undefined, 'nothing queued any more');
      assert.match(String(jobItem('dose_10000/sparse/gs2')?.description), /^succeeded/);
    } finally {
      for (const k of ['slurm.arrayLimit', 'slurm.cpusPerTask', 'slurm.mem']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('multi-selection in the tree: Train queues every selected job and Cancel stops them; with ptychoStudy.backend = slurm, Train submits the selection as one array and Resume resubmits from the checkpoint', async function () {
    const sinfo = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
    if (sinfo.error || !/idle|mixed|allocated/.test(sinfo.stdout ?? '')) {
      if (process.env.PTYCHO_REQUIRE_SLURM === '1') throw new Error('Slurm is not running (scripts/slurm-local.sh start)');
      this.skip();
    }
    const ids = ['dose_10000/baseline/gs1', 'dose_10000/dense/gs2'];
    const selection = (): JobsNode[] => {
      const out: JobsNode[] = [];
      for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && ids.includes(n.job.id)) out.push(n);
      return out;
    };
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.equal(pkg.contributes.configuration.properties['ptychoStudy.backend'].default, 'local');
    try {
      // Local: both queued (one at a time: training.maxConcurrentJobs 1), both stopped by one Cancel on the selection.
      await cfg().update('training.epochs', 500, vscode.ConfigurationTarget.Workspace);
      await refreshed();
      const nodes = selection();
      assert.equal(nodes.length, 2);
      const runs = await vscode.commands.executeCommand<LiveRun[]>('ptychoStudy.train', nodes[0], nodes);
      assert.deepEqual(runs.map((r) => r.job.id).sort(), ids);
      await until('the first selected job running', () => runs.some((r) => r.state === 'running' && r.handle) || undefined, 120_000);
      assert.equal(await vscode.commands.executeCommand('ptychoStudy.cancel', nodes[0], nodes), true);
      const exits = await Promise.all(runs.map((r) => r.finished));
      assert.deepEqual(exits.map((e) => e?.status ?? 'dequeued').sort(), ['cancelled', 'dequeued']);
      // Slurm: the same gesture submits one array.
      await cfg().update('training.epochs', 1, vscode.ConfigurationTarget.Workspace);
      await cfg().update('backend', 'slurm', vscode.ConfigurationTarget.Workspace);
      await cfg().update('slurm.cpusPerTask', 1, vscode.ConfigurationTarget.Workspace);
      await cfg().update('slurm.mem', '1G', vscode.ConfigurationTarget.Workspace);
      await refreshed();
      const sub = await vscode.commands.executeCommand<{ slurmJobId: string; jobs: string[]; dir: string }>('ptychoStudy.train', selection()[0], selection());
      assert.ok(sub?.slurmJobId, 'submitted to Slurm');
      assert.deepEqual([...sub.jobs].sort(), ids);
      assert.equal(api.runs.all().length, 0, 'nothing started locally');
      const finished = (array: string) => until(`array ${array} finished`, async () => {
        await api.slurm.poll();
        await refreshed();
        const jobs = ids.map((id) => api.model.allJobs().find((j) => j.id === id)!);
        const mine = jobs.filter((j) => j.run?.manifest.scheduler?.arrayJobId === array);
        return mine.length > 0 && mine.every((j) => j.state === 'succeeded') ? mine : undefined;
      }, 240_000);
      assert.equal((await finished(sub.slurmJobId)).length, 2);
      // Resume on one job: resubmitted, continuing from its checkpoint.
      const baseline = selection().find((n) => n.kind === 'job' && n.job.id === ids[0])!;
      const again = await vscode.commands.executeCommand<{ slurmJobId: string; jobs: string[]; dir: string }>('ptychoStudy.resume', baseline);
      assert.deepEqual(again?.jobs, [ids[0]]);
      assert.match(fs.readFileSync(path.join(again.dir, 'submit.sh'), 'utf8'), / --resume\n/);
      const [resumed] = await finished(again.slurmJobId);
      const events = fs.readFileSync(path.join(resumed.artifactDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; resumedFrom?: unknown });
      assert.ok(events.filter((e) => e.type === 'started').at(-1)?.resumedFrom, 'resumed from the checkpoint');
    } finally {
      for (const k of ['backend', 'slurm.cpusPerTask', 'slurm.mem']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Workspace);
      await cfg().update('training.epochs', 1, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('Cancel Slurm Submission… stops a whole array: the running task checkpoints and reads cancelled, the queued ones read cancelled on Slurm', async function () {
    const sinfo = spawnSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' });
    if (sinfo.error || !/idle|mixed|allocated/.test(sinfo.stdout ?? '')) {
      if (process.env.PTYCHO_REQUIRE_SLURM === '1') throw new Error('Slurm is not running (scripts/slurm-local.sh start)');
      this.skip();
    }
    const jobItem = (id: string): vscode.TreeItem | undefined => {
      for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && n.job.id === id) return api.tree.getTreeItem(n);
      return undefined;
    };
    for (const [k, v] of [['training.epochs', 500], ['slurm.arrayLimit', 1], ['slurm.cpusPerTask', 1], ['slurm.mem', '1G']] as const) await cfg().update(k, v, vscode.ConfigurationTarget.Workspace);
    try {
      await refreshed();
      const sub = await vscode.commands.executeCommand<{ slurmJobId: string; jobs: string[] }>('ptychoStudy.submitToSlurm', { dose: 10000, confirm: false });
      assert.equal(sub?.jobs.length, 3);
      const first = await until('the array\'s first task training', async () => {
        await api.slurm.poll();
        await refreshed();
        const j = api.model.allJobs().find((x) => x.id === sub.jobs[0]);
        return j?.state === 'running' && j.run?.manifest.scheduler?.arrayJobId === sub.slurmJobId && j.run.manifest.progress ? j : undefined;
      }, 120_000);
      assert.deepEqual(api.slurm.activeSubmissions().get(sub.slurmJobId)?.sort(), [...sub.jobs].sort());
      assert.equal(await vscode.commands.executeCommand('ptychoStudy.cancelSubmission', { arrayJobId: sub.slurmJobId, confirm: false }), sub.slurmJobId);
      await until('every task of the array ended', async () => {
        await api.slurm.poll();
        await refreshed();
        const running = api.model.allJobs().find((x) => x.id === first.id)!;
        const queuedOnes = sub.jobs.slice(1).map((id) => jobItem(id));
        return running.state === 'cancelled' && queuedOnes.every((it) => /^cancelled on Slurm · array \d+_\d$/.test(String(it?.description))) || undefined;
      }, 120_000);
      assert.ok(fs.existsSync(path.join(first.artifactDir, 'checkpoint.npz')), 'the running task checkpointed');
      await until('nothing active any more', async () => {
        await api.slurm.poll(); // the last poll may have seen the first task before its manifest said cancelled
        return api.slurm.activeSubmissions().size === 0 || undefined;
      }, 60_000);
      assert.equal(jobItem(sub.jobs[1])?.contextValue, 'job.cancelled', 'Train / Resume offered as for any cancelled job');
    } finally {
      for (const k of ['slurm.arrayLimit', 'slurm.cpusPerTask', 'slurm.mem']) await cfg().update(k, undefined, vscode.ConfigurationTarget.Workspace);
      await cfg().update('training.epochs', 1, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('Compare Runs: two runs of a job and a Phase F job, multi-selected in the tree — settings that differ, metrics with the better marked, curves, reconstructions on one scale', async () => {
    const id = 'dose_10000/baseline/gs1';
    await refreshed();
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.ok(pkg.contributes.menus['view/item/context'].some((m: { command: string; when: string }) => m.command === 'ptychoStudy.compareRuns' && /run/.test(m.when)));
    let jobNode: Extract<JobsNode, { kind: 'job' }> | undefined;
    for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && n.job.id === id) jobNode = n;
    assert.ok(jobNode, 'the job\'s tree node');
    const runs = api.tree.getChildren(jobNode) as Extract<JobsNode, { kind: 'run' }>[];
    const kept = runs.find((r) => !r.run.latest && r.run.status === 'succeeded');
    assert.ok(kept, `a succeeded earlier run among ${runs.map((r) => `${r.run.id} ${r.run.status}`).join(', ')}`);
    const epie = reconNodes().find((r) => r.job.id === 'dose_10000/baseline/test/epie' && r.job.state === 'succeeded');
    assert.ok(epie, 'the Phase F job reconstructed earlier in this suite');
    // As the tree calls it: the clicked node first, then every selected node.
    const panel = await vscode.commands.executeCommand<RunComparePanel>('ptychoStudy.compareRuns', runs[0], [runs[0], kept, epie]);
    assert.ok(panel, 'the panel opened');
    const init = panel.lastInit ?? await new Promise<RunCompareInit>((resolve) => panel.onDidSendInit(resolve));
    assert.deepEqual(init.runs.map((r) => [r.jobId, r.latest, r.kind]), [[id, true, 'train'], [id, false, 'train'], ['dose_10000/baseline/test/epie', true, 'reconstruct']]);
    assert.equal(init.runs[1].runId, kept.run.id);
    assert.ok(init.notes.some((n) => /loss vs relative error/.test(n)), 'it says the curves measure different things');
    // The latest run may be one a Slurm test cancelled: no metrics, no reconstruction — shown as such, not an error.
    const scored = init.runs.filter((r) => r.status === 'succeeded').length;
    assert.ok(scored >= 2, `${scored} succeeded runs compared`);
    const amp = init.metrics.find((m) => m.part === 'amplitude' && m.key === 'pearsonCovered');
    assert.ok(amp && amp.values.filter((v) => v !== null).length === scored && amp.best.length >= 1, JSON.stringify(amp));
    assert.ok(init.settings.length > 0, 'a training run and a reconstruction differ in their settings');
    const withImages = init.runs.filter((r) => r.hasReconstruction).map((r) => r.key);
    assert.ok(withImages.length >= 2);
    let last: RunCompareViewState | undefined;
    const st = await until('every reconstruction drawn', async () => {
      const v = last = await panel.host.sendRequest('getViewState', {}) as RunCompareViewState;
      return v.drawn.length === withImages.length ? v : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(last)}; runs ${JSON.stringify(panel.lastInit?.runs)}`);
    });
    assert.deepEqual(st.drawn, withImages);
    assert.ok(st.amplitudeWindow && st.amplitudeWindow.hi > st.amplitudeWindow.lo, 'one amplitude window for all');
    assert.ok(st.curves >= 2, 'a curve per run that logged one');
    assert.ok(st.bestCells >= 1 && st.metricRows === init.metrics.length);
    // A key that is not a run of the comparison is refused; the panel stays.
    const refused = await panel.host.sendRequest('relay', { type: 'readImage', params: { key: 'dose_1/x/gs1@../../etc' } });
    assert.match(String(refused.error), /not a run of this comparison/);
    // One job with a single selected node: a pick of its runs (here given as the argument, as the quick pick returns).
    const again = await vscode.commands.executeCommand<RunComparePanel>('ptychoStudy.compareRuns', { runs: [{ jobId: id }, { jobId: id, runId: kept.run.id }] });
    assert.ok(again && again !== panel);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the job panel\'s run picker shows an earlier run — its summary, its own curve and previews — and goes back to the latest, live', async () => {
    const id = 'dose_10000/baseline/gs1';
    await refreshed();
    await vscode.commands.executeCommand('ptychoStudy.openLog', id);
    const jp = await api.jobPanels.panels.whenReady(id);
    const view = async (): Promise<JobPanelViewState> => (await jp.host.sendRequest('getViewState', {})) as JobPanelViewState;
    const runs = listRunsSync(api.model.allJobs().find((j) => j.id === id)!.artifactDir);
    const kept = runs.find((r) => !r.latest && r.status === 'succeeded' && r.epochs !== undefined);
    assert.ok(kept, 'an earlier succeeded run');
    const latestView = await until('the latest run with its runs listed', async () => {
      await jp.flush();
      const v = await view();
      return v.runs === runs.length && v.chart.epochs > 0 ? v : undefined;
    });
    assert.equal(latestView.viewing, undefined);
    assert.deepEqual(await jp.host.sendRequest('relay', { type: 'showRun', params: { jobId: id, runId: kept.id } }), { result: { viewing: kept.id } });
    const earlier = await until('the earlier run shown', async () => {
      const v = await view();
      return v.viewing === kept.id && v.chart.epochs === kept.epochs ? v : undefined;
    });
    assert.match(earlier.header, new RegExp(`Showing an earlier run, ${kept.id}`));
    for (const e of earlier.preview.epochs) {
      const shown = await jp.host.sendRequest('showPreview', { epoch: e });
      assert.equal(shown.shown, e, `the earlier run's preview of epoch ${e} (from runs/${kept.id}/previews)`);
    }
    const refused = await jp.host.sendRequest('relay', { type: 'showRun', params: { jobId: id, runId: 'no-such-run' } });
    assert.match(String((refused as { error?: string }).error), /has no run no-such-run/);
    assert.deepEqual(await jp.host.sendRequest('relay', { type: 'showRun', params: { jobId: id, runId: null } }), { result: { viewing: null } });
    await until('the latest run again', async () => {
      await jp.flush();
      const v = await view();
      return v.viewing === undefined && v.chart.epochs === latestView.chart.epochs ? v : undefined;
    });
    jp.panel.dispose();
  });

  it('Use in Comparisons: an earlier run stands for its job in the study comparison (★ in the tree); using it again goes back to the latest succeeded', async () => {
    const id = 'dose_10000/baseline/gs1';
    await refreshed();
    const runNodes = (): Extract<JobsNode, { kind: 'run' }>[] => {
      for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && n.job.id === id) return api.tree.getChildren(n) as Extract<JobsNode, { kind: 'run' }>[];
      throw new Error(`no tree node for ${id}`);
    };
    const kept = runNodes().find((r) => !r.run.latest && r.run.status === 'succeeded')!;
    assert.ok(kept, 'an earlier succeeded run');
    assert.match(String(api.tree.getTreeItem(kept).contextValue), /^run\.kept\.succeeded$/);
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.useRunInComparison', kept), kept.run.id);
    await refreshed();
    const marked = runNodes().find((r) => r.run.id === kept.run.id && !r.run.latest)!;
    assert.match(String(api.tree.getTreeItem(marked).description), /^★ in comparisons \(chosen\)/);
    const comparison = await vscode.commands.executeCommand<ComparisonPanel>('ptychoStudy.compareStudy');
    const row = await until('the comparison row of the chosen run', () => comparison?.lastInit?.rows.find((r) => r.jobId === id && r.run?.id === kept.run.id));
    assert.equal(row.run?.why, 'chosen');
    assert.equal(row.hasReconstruction, true);
    const keptMetrics = JSON.parse(fs.readFileSync(path.join(kept.job.artifactDir, 'runs', kept.run.id, 'metrics.json'), 'utf8')) as { amplitude: { ssim: number } };
    assert.equal(row.amplitude.ssim, keptMetrics.amplitude.ssim, 'its metrics, not the latest run\'s');
    // Again on the same run: back to the default.
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.useRunInComparison', marked), null);
    assert.ok(!fs.existsSync(path.join(kept.job.artifactDir, 'comparison_run.json')));
    await until('the comparison back to the default', () => {
      const r = comparison?.lastInit?.rows.find((x) => x.jobId === id);
      return r && r.run?.why !== 'chosen' ? r : undefined;
    });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('a job run more than once lists its runs under it — latest first, status, epochs, r, what changed; a click opens that run\'s manifest; Delete Run removes an earlier one', async () => {
    const id = 'dose_10000/baseline/gs1';
    await refreshed();
    const jobNode = (): Extract<JobsNode, { kind: 'job' }> => {
      for (const top of api.tree.getChildren()) for (const n of api.tree.getChildren(top)) if (n.kind === 'job' && n.job.id === id) return n;
      throw new Error(`no tree node for ${id}`);
    };
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    assert.ok(pkg.contributes.menus['view/item/context'].some((m: { command: string; when: string }) => m.command === 'ptychoStudy.deleteRun' && m.when.includes('run\\.kept')));
    assert.equal(api.tree.getTreeItem(jobNode()).collapsibleState, vscode.TreeItemCollapsibleState.Collapsed, 'earlier runs: the job expands');
    const runs = api.tree.getChildren(jobNode()) as Extract<JobsNode, { kind: 'run' }>[];
    assert.ok(runs.length >= 3, `${runs.length} runs (Slurm, cancelled, resubmitted… earlier in this suite)`);
    assert.ok(runs.every((r) => r.kind === 'run'));
    assert.equal(runs[0].run.latest, true);
    assert.match(String(api.tree.getTreeItem(runs[0]).label), / \(latest\)$/);
    const kept = runs.filter((r) => !r.run.latest);
    assert.deepEqual(kept.map((r) => r.run.id), [...kept.map((r) => r.run.id)].sort().reverse(), 'newest first');
    const old = kept.find((r) => r.run.status === 'succeeded') ?? kept[0];
    const item = api.tree.getTreeItem(old);
    assert.match(String(item.contextValue), /^run\.kept\.(succeeded|failed|cancelled)$/);
    assert.match(String(item.description), new RegExp(`^(★ in comparisons \\([^)]*\\) · )?${old.run.status}( · \\d+ epochs)?`));
    const mp = await vscode.commands.executeCommand<{ target: { file: string } }>(item.command!.command, ...(item.command!.arguments ?? []));
    assert.equal(mp?.target.file, path.join(old.job.artifactDir, 'runs', old.run.id, 'manifest.json'), 'the run\'s own manifest');
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.deleteRun', { jobId: id, runId: old.run.id, confirm: false }), true);
    assert.ok(!fs.existsSync(path.join(old.job.artifactDir, 'runs', old.run.id)));
    await refreshed();
    assert.ok(!(api.tree.getChildren(jobNode()) as Extract<JobsNode, { kind: 'run' }>[]).some((r) => r.run.id === old.run.id));
    // The latest run is the job's state: refused.
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.deleteRun', runs[0]), undefined);
    assert.ok(fs.existsSync(path.join(runs[0].job.artifactDir, 'manifest.json')));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });
});
