// Extension-host tests of the result panels in a real VS Code (code-server): the reconstruction viewer
// (ptychoStudy.showReconstruction) and the study comparison (ptychoStudy.compareStudy). Runs alone or after any
// other file: ensurePanelFixture (util.ts) builds what it needs unless an earlier suite left it: jobs trained
// (dose_1000/baseline 2 epochs, dose_100000/baseline and dose_1000/dense 1 epoch), dose_10000/baseline
// cancelled, dose_100000/dense/gs2 not a zip and dose_10000/dense/gs2 flagged invalid. Checks the data the
// pages received (sizes, values, binary), request/response through the real pages, refusal of unknown
// jobs, the empty-cell reasons, the Train button and the live refresh when a job finishes.
import { strict as assert } from 'node:assert';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { ComparisonPanel, ReconstructionPanel } from '../../../src/extension/results';
import { readReconHeader, loadReconArrays } from '../../../src/extension/results/reconData';
import type { ComparisonViewState, Outcome, ReconGroundTruth, ReconImages, ReconViewState, ToWebview, ReconstructionProtocol } from '../../../src/webview/protocol';
import { formatValue } from '../../../src/core/image/ticks';
import { activateForShortTraining, ensurePanelFixture, EXTENSION_ID, until as untilShort } from './util';

const until = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 90_000): Promise<T> => untilShort(what, probe, ms);
const isBinary = (v: unknown): boolean => v instanceof ArrayBuffer || ArrayBuffer.isView(v);

describe('Result panels (reconstruction viewer, study comparison) in VS Code', function () {
  this.timeout(300_000);
  let api: WorkbenchApi;
  const TRAINED = 'dose_1000/baseline/gs1';
  let recon: ReconstructionPanel;
  let comparison: ComparisonPanel;
  const job = (id: string) => api.model.allJobs().find((j) => j.id === id)!;

  before(async () => {
    api = await activateForShortTraining();
    // Whatever ran before (or nothing): the study state this file is written against.
    await ensurePanelFixture(api);
    api.results.reconstruction.pickSaveUri = async () => undefined;
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('contributes Compare Study (icon, category, Jobs view title) and restores both panels after a reload', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const cmd = pkg.contributes.commands.find((c: { command: string }) => c.command === 'ptychoStudy.compareStudy');
    assert.deepEqual([cmd.title, cmd.category, typeof cmd.icon], ['Compare Study', 'PtychoPINN Study', 'string']);
    assert.ok(pkg.contributes.menus['view/title'].some((m: { command: string; when: string }) => m.command === 'ptychoStudy.compareStudy' && /view == ptychoStudy\.jobs/.test(m.when)));
    for (const v of ['ptychoStudy.reconstruction', 'ptychoStudy.comparison']) assert.ok(pkg.activationEvents.includes(`onWebviewPanel:${v}`), v);
    const all = await vscode.commands.getCommands(true);
    for (const id of ['ptychoStudy.showReconstruction', 'ptychoStudy.compareStudy']) assert.ok(all.includes(id), id);
  });

  it('showReconstruction opens the viewer with the job\'s data: sizes, origin, every image drawn, arrays as binary', async () => {
    const posted: ToWebview<ReconstructionProtocol>[] = [];
    recon = (await vscode.commands.executeCommand<ReconstructionPanel>('ptychoStudy.showReconstruction', TRAINED))!;
    assert.ok(recon, 'the command returns the panel');
    const sub = recon.host.onDidPostMessage((m) => posted.push(m));
    await api.results.reconstruction.whenReady(TRAINED);
    const first = await recon.renders.when((r) => r.event.first, 60_000);
    assert.equal(first.event.what, 'reconstruction amplitude+phase');
    // The ground truth and the differences follow the first pixels.
    await recon.renders.when((r) => r.event.what === 'all images', 60_000);
    const hdr = (await readReconHeader(job(TRAINED).artifactDir))!;
    const state: ReconViewState = await recon.host.sendRequest('getViewState', {});
    sub.dispose();
    assert.equal(state.jobId, TRAINED);
    assert.deepEqual([state.data?.width, state.data?.height, state.data?.factor], [hdr.width, hdr.height, 1], 'full resolution: the demo object is small');
    assert.equal(state.data?.hasGroundTruth, true);
    assert.equal(state.data?.binary, true, 'the page got ArrayBuffers / typed arrays');
    assert.equal(state.data?.bytes, hdr.width * hdr.height * (8 + 8 + 4));
    assert.equal(recon.lastImages?.binary, true);
    assert.deepEqual(state.viewers.map((v) => v.id), ['recon-amp', 'gt-amp', 'diff-amp', 'recon-phase', 'gt-phase', 'diff-phase']);
    for (const v of state.viewers) {
      assert.deepEqual([v.width, v.height], [hdr.width, hdr.height], v.id);
      assert.ok(v.nonBlank > 0.3 && v.distinctColors > 4, `${v.id} drawn: ${v.nonBlank}, ${v.distinctColors} colours`);
    }
    assert.equal(state.viewers[3].colormap, 'twilight', 'phase on a cyclic map');
    assert.deepEqual(state.viewers[3].window, { lo: -Math.PI, hi: Math.PI });
    assert.equal(state.metricRows, 8, 'MAE, MSE, PSNR, SSIM, MS-SSIM, Pearson r, FRC50, FRC 1/7');
    assert.ok(state.betterMarked >= 6, `${state.betterMarked} cells marked better`);
    assert.equal(state.frcSeries, 4, 'amplitude and phase, trained and untrained');
    assert.ok(state.notes.some((n) => /global phase offset θ = /.test(n)), state.notes.join(' | '));
    // The responses that carried the arrays held ArrayBuffers, not JSON number lists: first the object and its
    // weight, then (a separate request, after the first pixels) the ground truth.
    const resp = posted.find((m) => m.kind === 'response' && (m.result as ReconImages | undefined)?.object !== undefined);
    assert.ok(resp, 'the readImages response was posted');
    const r = (resp as { result: ReconImages }).result;
    assert.ok(r.object instanceof ArrayBuffer && r.weight instanceof ArrayBuffer);
    assert.equal(r.groundTruth, undefined, 'the first response leaves the ground truth out');
    assert.equal(r.hasGroundTruth, true);
    assert.ok(!Array.isArray(r.object));
    const gtResp = posted.find((m) => m.kind === 'response' && (m.result as ReconGroundTruth | undefined)?.groundTruth !== undefined);
    assert.ok(gtResp, 'the readGroundTruth response was posted');
    const g = (gtResp as { result: ReconGroundTruth }).result;
    assert.ok(g.groundTruth instanceof ArrayBuffer);
    assert.equal(g.groundTruth.byteLength, r.object instanceof ArrayBuffer ? r.object.byteLength : -1);
  });

  it('the hover readout shows the object-pixel coordinate and the values of every image at that pixel', async () => {
    const hdr = (await readReconHeader(job(TRAINED).artifactDir))!;
    const arrays = await loadReconArrays(job(TRAINED).artifactDir);
    // A covered pixel near the centre.
    let px = Math.floor(hdr.width / 2);
    const py = Math.floor(hdr.height / 2);
    while (!(arrays.weight[py * hdr.width + px] > 0) && px < hdr.width - 1) px++;
    const state = await recon.host.sendRequest('hoverAt', { x: px, y: py });
    const i = py * hdr.width + px;
    const amp = Math.hypot(arrays.object[2 * i], arrays.object[2 * i + 1]);
    const gtAmp = Math.hypot(arrays.groundTruth![2 * i], arrays.groundTruth![2 * i + 1]);
    assert.match(state.readout, new RegExp(`object x ${hdr.origin[0] + px}, y ${hdr.origin[1] + py} \\(pixel ${px}, ${py} of the reconstruction\\)`));
    assert.ok(state.readout.includes(`amplitude: reconstruction ${formatValue(amp, 4)} · ground truth ${formatValue(gtAmp, 4)} · ΔA `), state.readout);
    assert.match(state.readout, /phase: reconstruction [−\d.]+ · ground truth [−\d.]+ · Δφ [−\d.]+ rad/);
    const diff = state.viewers.find((v) => v.id === 'diff-phase')!;
    assert.match(diff.readout, new RegExp(`x ${hdr.origin[0] + px}, y ${hdr.origin[1] + py} · Δφ`), 'the other images follow the hover');
  });

  it('request/response round-trips through the page: complex → RGB and back, options, zoom shared by every image', async () => {
    const rgb = await recon.host.sendRequest('setView', { layout: 'rgb' });
    assert.deepEqual(rgb.viewers.map((v) => [v.id, v.mode]), [['recon-rgb', 'rgb'], ['gt-rgb', 'rgb']]);
    assert.ok(rgb.viewers.every((v) => v.distinctColors > 8), 'rgb images drawn');
    assert.equal(rgb.viewers[0].colormap, 'hsv', 'hue from a cyclic map');
    const back = await recon.host.sendRequest('setView', { layout: 'ampPhase', removePlane: true, coverage: false, zoom: 2 });
    assert.equal(back.viewers.length, 6);
    assert.deepEqual(back.options, { coverage: false, metricRegion: true, removeOffset: true, removePlane: true });
    assert.ok(back.notes.some((n) => /minus the plane/.test(n)), 'the plane removed is stated');
    assert.ok(back.viewers.every((v) => v.zoom === 2), `zoom ${back.viewers.map((v) => v.zoom)}`);
    await recon.host.sendRequest('setView', { removePlane: false, coverage: true, zoom: 1 });
  });

  it('a message naming an unknown job, another job or a malformed id is refused; malformed params too', async () => {
    const relay = (type: string, params: unknown): Promise<Outcome> => recon.host.sendRequest('relay', { type, params });
    assert.match(String((await relay('readImages', { jobId: 'dose_999/nope/gs1' })).error), /no job dose_999\/nope\/gs1 in this study/);
    assert.match(String((await relay('readImages', { jobId: '../../../etc/passwd' })).error), /is not a job id/);
    assert.match(String((await relay('readImages', { jobId: 'dose_1000/dense/gs2' })).error), /this panel shows dose_1000\/baseline\/gs1/);
    assert.match(String((await relay('readGroundTruth', { jobId: 'dose_1000/dense/gs2' })).error), /this panel shows dose_1000\/baseline\/gs1/);
    assert.match(String((await relay('readImages', { jobId: TRAINED, groundTruth: 'yes' })).error), /params\.groundTruth must be true or false/);
    assert.match(String((await relay('train', { jobId: 'dose_5/x/gs1' })).error), /no job/);
    assert.match(String((await relay('readImages', { jobId: 42 })).error), /params\.jobId must be a string/);
    assert.match(String((await relay('readImages', { jobId: TRAINED, path: '/etc' })).error), /unexpected field "path"/);
    assert.match(String((await relay('openArtifact', { jobId: TRAINED, artifact: '../x' })).error), /artifact must be one of/);
    const refused = recon.host.refusedCount;
    const out = await recon.host.handleRaw({ kind: 'request', requestId: 777, type: 'readImages', params: { jobId: null } });
    assert.equal(out.accepted, false);
    assert.equal(recon.host.refusedCount, refused + 1);
    // A valid relayed request returns the arrays as binary.
    const ok = await relay('readImages', { jobId: TRAINED });
    const r = ok.result as ReconImages;
    assert.ok(isBinary(r.object) && isBinary(r.weight), 'binary through the page and back');
  });

  it('Preview Here While Training sets training.previewCenter of the job\'s folder to the view\'s centre (object pixels)', async () => {
    const cfg = () => vscode.workspace.getConfiguration('ptychoStudy', vscode.workspace.workspaceFolders?.[0]?.uri);
    const relay = (type: string, params: unknown): Promise<Outcome> => recon.host.sendRequest('relay', { type, params });
    try {
      assert.deepEqual((await relay('previewHere', { jobId: TRAINED, x: 120, y: 95 })).result, { x: 120, y: 95 });
      assert.deepEqual(cfg().get('training.previewCenter'), [120, 95]);
      assert.match(String((await relay('previewHere', { jobId: TRAINED, x: -3, y: 5 })).error), /x must be ≥ 0/);
    } finally {
      await cfg().update('training.previewCenter', undefined, vscode.ConfigurationTarget.WorkspaceFolder);
      await cfg().update('training.previewCenter', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('showing the job again reveals its panel; another job gets its own panel', async () => {
    const again = await vscode.commands.executeCommand<ReconstructionPanel>('ptychoStudy.showReconstruction', TRAINED);
    assert.equal(again, recon);
    const other = (await vscode.commands.executeCommand<ReconstructionPanel>('ptychoStudy.showReconstruction', 'dose_1000/dense/gs2'))!;
    assert.notEqual(other, recon);
    await other.renders.when((r) => r.event.first, 60_000);
    const st = await other.host.sendRequest('getViewState', {});
    assert.equal(st.jobId, 'dose_1000/dense/gs2');
    assert.ok(st.data && st.data.width > 0);
    other.panel.dispose();
    assert.equal(api.results.reconstruction.get('dose_1000/dense/gs2'), undefined, 'a closed panel is forgotten');
  });

  it('compareStudy shows the dose × view grid: trained jobs drawn, every empty cell with its reason, best values marked', async () => {
    comparison = (await vscode.commands.executeCommand<ComparisonPanel>('ptychoStudy.compareStudy'))!;
    assert.ok(comparison);
    await api.results.comparison.whenReady();
    await comparison.renders.when((r) => r.event.first, 60_000);
    const st: ComparisonViewState = await comparison.host.sendRequest('getViewState', {});
    const init = comparison.lastInit!;
    assert.deepEqual(init.doses, [1000, 10000, 100000]);
    assert.deepEqual(init.columns.map((c) => c.key), ['baseline/gs1', 'dense/gs2', 'sparse/gs2']);
    const cell = (id: string) => st.cells.find((c) => c.jobId === id)!;
    for (const id of api.model.allJobs().filter((j) => j.state === 'succeeded').map((j) => j.id)) {
      assert.equal(cell(id).drawn, true, `${id} drawn`);
      assert.ok(cell(id).nonBlank > 0.05 && cell(id).distinctColors > 3, `${id}: ${JSON.stringify(cell(id))}`);
      assert.equal(cell(id).binary, true, `${id} arrived as binary`);
    }
    assert.match(String(cell('dose_100000/dense/gs2').empty), /^invalid data: .*Not a readable NumPy/);
    assert.match(String(cell('dose_10000/dense/gs2').empty), /^invalid data/);
    assert.match(String(cell('dose_10000/baseline/gs1').empty), /^training cancelled/);
    const ready = api.model.allJobs().filter((j) => j.state === 'ready' || j.state === 'dry-run');
    assert.ok(ready.length > 0);
    for (const j of ready) assert.match(String(cell(j.id).empty), /^not trained yet/, j.id);
    assert.equal(st.component, 'phase');
    assert.equal(st.colormap, 'twilight');
    assert.deepEqual(st.window, { lo: -Math.PI, hi: Math.PI });
    assert.ok(st.cells.some((c) => c.column === 'ground-truth' && c.drawn), 'the ground-truth column');
    assert.equal(new Set(st.cells.filter((c) => c.drawn).map((c) => c.zoom)).size, 1);
    // The table: every job; best values of each metric among the trained ones.
    assert.equal(st.tableRows.length, 9);
    const trained = init.rows.filter((r) => r.hasReconstruction);
    assert.ok(trained.length >= 3);
    const bestPsnr = [...trained].sort((a, b) => (b.phase.psnr ?? -1) - (a.phase.psnr ?? -1))[0].jobId;
    assert.ok(st.best['phase.psnr'].includes(bestPsnr), `best phase PSNR ${st.best['phase.psnr']} vs ${bestPsnr}`);
    const bestMae = [...trained].sort((a, b) => (a.amplitude.mae ?? 9) - (b.amplitude.mae ?? 9))[0].jobId;
    assert.ok(st.best['amplitude.mae'].includes(bestMae));
    assert.ok(st.configKeys.includes('training.epochs'), `the 2-epoch and 1-epoch runs differ: ${st.configKeys}`);
    assert.ok(!st.configKeys.some((k) => /Path$|^jobId$|^artifactDir$/.test(k)), 'paths and identity are left out');
    assert.ok(st.chartSeries >= 1);
    assert.ok(comparison.cellsSent.every((c) => c.binary));
  });

  it('the comparison round-trips view changes and sorting, refuses unknown jobs, and opens a cell\'s viewer', async () => {
    const amp = await comparison.host.sendRequest('setView', { component: 'amplitude', sort: { key: 'phase.ssim', dir: 'desc' } });
    assert.equal(amp.component, 'amplitude');
    assert.equal(amp.colormap, 'gray');
    assert.ok(amp.window.lo >= 0 && amp.window.hi > amp.window.lo && amp.window.hi < 10, JSON.stringify(amp.window));
    const ssim = (id: string) => comparison.lastInit!.rows.find((r) => r.jobId === id)!.phase.ssim ?? -Infinity;
    const withResults = amp.tableRows.filter((id) => comparison.lastInit!.rows.find((r) => r.jobId === id)!.hasReconstruction);
    for (let k = 1; k < withResults.length; k++) assert.ok(ssim(withResults[k - 1]) >= ssim(withResults[k]), 'sorted by phase SSIM, descending');
    await comparison.host.sendRequest('setView', { component: 'phase', sort: { key: 'dose', dir: 'asc' } });
    const relay = (type: string, params: unknown): Promise<Outcome> => comparison.host.sendRequest('relay', { type, params });
    assert.match(String((await relay('readCell', { jobId: 'dose_7/baseline/gs1', groundTruth: false })).error), /no job/);
    assert.match(String((await relay('readCell', { jobId: 'dose_10000/sparse/gs2', groundTruth: false })).error), /has no reconstruction/);
    assert.match(String((await relay('openReconstruction', { jobId: '/tmp/x' })).error), /not a job id/);
    const opened = await relay('openReconstruction', { jobId: 'dose_1000/dense/gs2' });
    assert.deepEqual(opened.result, { opened: true });
    const viewer = await api.results.reconstruction.whenReady('dose_1000/dense/gs2');
    assert.equal(viewer.jobId, 'dose_1000/dense/gs2');
    viewer.panel.dispose();
  });

  it('a job without results shows why with a Train button; Train starts it, and both panels fill in when it finishes', async () => {
    const id = 'dose_10000/baseline/gs1';
    // Opened from its empty cell in the comparison: the viewer goes beside it, so both pages stay visible.
    const opened = await comparison.host.sendRequest('relay', { type: 'openReconstruction', params: { jobId: id } });
    assert.deepEqual(opened.result, { opened: true });
    const panel = await api.results.reconstruction.whenReady(id);
    await panel.renders.when((r) => r.event.first, 60_000);
    const st = await panel.host.sendRequest('getViewState', {});
    assert.match(String(st.message), /^No reconstruction for dose_10000\/baseline\/gs1 yet/);
    assert.equal(st.viewers.length, 0);
    const initsBefore = comparison.initsSent;
    const started = await panel.host.sendRequest('relay', { type: 'train', params: { jobId: id } });
    assert.deepEqual(started.result, { started: true });
    const run = api.runs.all().find((r) => r.job.id === id);
    assert.ok(run, 'the run is queued');
    const exit = await run.finished;
    assert.equal(exit?.status, 'succeeded', exit?.reason);
    // Live: the viewer reloads with the data, and the comparison draws the new cell.
    const filled = await until('the viewer to show the new reconstruction', async () => {
      const s = await panel.host.sendRequest('getViewState', {});
      return s.data && s.viewers.length === 6 && s.viewers.every((v) => v.nonBlank > 0.3) ? s : undefined;
    });
    assert.equal(filled.data?.hasGroundTruth, true);
    await until('the comparison to draw the new cell', async () => {
      if (comparison.initsSent <= initsBefore) return undefined;
      const s = await comparison.host.sendRequest('getViewState', {});
      const c = s.cells.find((x) => x.jobId === id);
      return c?.drawn ? s : undefined;
    });
    assert.ok(comparison.lastInit!.rows.find((r) => r.jobId === id)!.hasReconstruction);
    panel.panel.dispose();
  });

  it('the page keeps its view in getState: hidden and shown again, the viewer comes back as it was', async () => {
    recon.panel.reveal(vscode.ViewColumn.One);
    await until('the viewer page', () => (recon.panel.visible && recon.host.ready) || undefined, 60_000);
    await recon.host.sendRequest('setView', { layout: 'rgb' });
    const loads = recon.host.pageLoads;
    recon.panel.reveal(vscode.ViewColumn.One);
    comparison.panel.reveal(vscode.ViewColumn.One);
    await until('the viewer to be hidden', () => !recon.panel.visible || undefined, 20_000);
    recon.panel.reveal(vscode.ViewColumn.One);
    const back = await until('the rebuilt page', async () => (recon.host.pageLoads > loads && recon.host.ready ? recon : undefined), 60_000);
    // The reconstruction is drawn first, the ground truth after it.
    const st = await until('both rgb images drawn again', async () => {
      const s = await back.host.sendRequest('getViewState', {});
      return s.viewers.length === 2 && s.viewers.every((v) => v.distinctColors > 8) ? s : undefined;
    }, 60_000);
    assert.equal(st.layout, 'rgb', 'the layout survived');
    assert.equal(st.jobId, TRAINED);
  });
});
