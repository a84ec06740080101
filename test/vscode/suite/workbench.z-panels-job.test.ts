// Extension-host tests of the job panel (ptychoStudy.openLog) and the manifest viewer (ptychoStudy.showManifest)
// in a real VS Code (code-server). Runs alone or after any other file: ensurePanelFixture (util.ts) builds the
// demo study state it is written against unless an earlier suite left it: dose_1000/baseline/gs1 succeeded
// (2 epochs), dose_10000/baseline/gs1 cancelled; the sparse views
// are still ready. The page's messages are exercised through its `relay` request (the page sends exactly
// what it would send itself, and the host validates it like any other message).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { JobPanel, ManifestPanel } from '../../../src/extension/jobPanel';
import type { JobsNode } from '../../../src/extension/jobsTree';
import type { JobPanelViewState, LogBatch, ManifestViewState, Outcome } from '../../../src/webview/protocol';
import { activateForShortTraining, ensurePanelFixture, EXTENSION_ID, until as untilShort } from './util';

const until = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 90_000): Promise<T> => untilShort(what, probe, ms);

describe('Job panel and manifest viewer in VS Code', function () {
  this.timeout(300_000);
  let api: WorkbenchApi;
  const TRAINED = 'dose_1000/baseline/gs1';
  const FRESH = 'dose_1000/sparse/gs2';
  const jobDir = (id: string): string => api.model.allJobs().find((j) => j.id === id)!.artifactDir;
  const fileLines = (file: string): string[] => fs.readFileSync(file, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');

  async function view(jp: JobPanel): Promise<JobPanelViewState> {
    return jp.host.sendRequest('getViewState', {});
  }

  /** Shows a panel and waits until its page is loaded again (hidden pages are destroyed). */
  async function show(p: { panel: vscode.WebviewPanel; host: { ready: boolean; whenReady(): Promise<void> } }): Promise<void> {
    p.panel.reveal(vscode.ViewColumn.Active, false);
    await until('the panel to be visible and its page ready', () => p.panel.visible && p.host.ready);
    await p.host.whenReady();
  }

  before(async () => {
    api = await activateForShortTraining();
    await ensurePanelFixture(api);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('contributes the commands and the serializers\' activation events', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    for (const e of ['onWebviewPanel:ptychoStudy.jobPanel', 'onWebviewPanel:ptychoStudy.manifest']) assert.ok(pkg.activationEvents.includes(e), e);
    const all = await vscode.commands.getCommands(true);
    for (const id of ['ptychoStudy.openLog', 'ptychoStudy.showManifest', 'ptychoStudy.showStudyManifest']) assert.ok(all.includes(id), id);
    const titles = Object.fromEntries(pkg.contributes.commands.map((c: { command: string; title: string }) => [c.command, c.title]));
    assert.equal(titles['ptychoStudy.showManifest'], 'Show Manifest');
    assert.equal(api.jobPanels.jobViewType, 'ptychoStudy.jobPanel');
  });

  it('ptychoStudy.openLog opens the panel of a trained job: state, log, loss chart, run summary with metrics', async () => {
    assert.equal(api.model.allJobs().find((j) => j.id === TRAINED)?.state, 'succeeded', 'trained by workbench.training.test');
    const opened = await vscode.commands.executeCommand<JobPanel>('ptychoStudy.openLog', TRAINED);
    assert.ok(opened, 'the command returns the panel');
    const jp = await api.jobPanels.panels.whenReady(TRAINED);
    assert.equal(jp, opened);
    await jp.flush();
    const logFile = path.join(jobDir(TRAINED), 'train.log');
    const expected = fileLines(logFile);
    const st = await until('the log and the chart', async () => {
      const s = await view(jp);
      return s.lines === expected.length && s.chart.epochs === 2 ? s : undefined;
    });
    assert.equal(st.jobId, TRAINED);
    assert.equal(st.state, 'succeeded');
    assert.equal(st.found, true);
    assert.match(st.header, /dose_1000\/baseline\/gs1/);
    assert.match(st.header, /succeeded/);
    assert.equal(st.lastLine, expected.at(-1));
    assert.ok(st.renderedRows > 0 && st.renderedRows <= st.lines + 1, `${st.renderedRows} rows in the DOM for ${st.lines} lines`);
    assert.ok(st.chart.nonBlank > 0.01, `chart drawn: ${st.chart.nonBlank}`);
    assert.ok(st.chart.steps > 0, 'per-step losses');
    assert.equal(st.metricsShown, true, 'the metrics table');
    for (const a of ['train', 'dryRun', 'revealArtifacts', 'showManifest', 'showReconstruction', 'openLogFile']) assert.ok(st.enabledActions.includes(a as never), a);
    for (const a of ['cancel', 'resume']) assert.ok(!st.enabledActions.includes(a as never), a);
    assert.ok(jp.posted.logBatches < expected.length || expected.length <= 1, 'lines travel in batches');
    assert.equal(jp.panel.title, TRAINED);
  });

  it('opening the same job again (by id or tree item) reveals the same panel: one panel per job', async () => {
    const before = api.jobPanels.panels.panels.size;
    const again = await vscode.commands.executeCommand<JobPanel>('ptychoStudy.openLog', TRAINED);
    assert.equal(again, api.jobPanels.panels.get(TRAINED));
    let node: JobsNode | undefined;
    for (const dose of api.tree.getChildren()) {
      for (const n of api.tree.getChildren(dose) as JobsNode[]) if (n.kind === 'job' && n.job.id === TRAINED) node = n;
    }
    assert.ok(node, 'tree node');
    const viaTree = await vscode.commands.executeCommand<JobPanel>('ptychoStudy.openLog', node);
    assert.equal(viaTree, again);
    // The tree item's click runs the same command with the job id.
    assert.deepEqual(api.tree.getTreeItem(node).command?.arguments, [TRAINED]);
    assert.equal(api.jobPanels.panels.panels.size, before);
  });

  it('search (request/response round-trip) finds every line the file has', async () => {
    const jp = api.jobPanels.panels.get(TRAINED)!;
    await show(jp);
    const expected = fileLines(path.join(jobDir(TRAINED), 'train.log'));
    const epochLines = expected.filter((l) => l.includes('EPOCH')).length;
    const r = await jp.host.sendRequest('search', { query: 'EPOCH', caseSensitive: true });
    assert.equal(r.matches, epochLines);
    assert.ok(r.matches >= 2);
    const r2 = await jp.host.sendRequest('search', { query: 'EPOCH', caseSensitive: true, step: 1 });
    assert.equal(r2.current, 1, 'next match');
    const none = await jp.host.sendRequest('search', { query: 'no such text anywhere', caseSensitive: false });
    assert.equal(none.matches, 0);
    assert.equal(none.current, -1);
    assert.equal((await view(jp)).search.query, 'no such text anywhere');
    await jp.host.sendRequest('search', { query: '' });
  });

  it('messages naming an unknown job, another job, a disabled action or carrying extra fields are refused', async () => {
    const jp = api.jobPanels.panels.get(TRAINED)!;
    await show(jp);
    const relay = (type: string, params: unknown): Promise<Outcome> => jp.host.sendRequest('relay', { type, params });
    const unknown = await relay('action', { action: 'train', jobId: 'dose_999/nope/gs1' });
    assert.match(unknown.error ?? '', /there is no job dose_999\/nope\/gs1 in this workspace/);
    const notId = await relay('action', { action: 'train', jobId: '../../etc/passwd' });
    assert.match(notId.error ?? '', /is not a job id/);
    const other = await relay('action', { action: 'dryRun', jobId: 'dose_10000/baseline/gs1' });
    assert.match(other.error ?? '', /this panel shows dose_1000\/baseline\/gs1, not dose_10000\/baseline\/gs1/);
    const disabled = await relay('action', { action: 'cancel', jobId: TRAINED });
    assert.match(disabled.error ?? '', /cancel is not available for dose_1000\/baseline\/gs1 now/);
    const bogus = await relay('action', { action: 'deleteEverything', jobId: TRAINED });
    assert.match(bogus.error ?? '', /malformed "action" request: params\.action must be one of/);
    const extra = await relay('action', { action: 'train', jobId: TRAINED, path: '/etc' });
    assert.match(extra.error ?? '', /unexpected field "path"/);
    const copyUnknown = await relay('copyAll', { jobId: 'dose_5/x/gs1' });
    assert.match(copyUnknown.error ?? '', /there is no job dose_5\/x\/gs1/);
    const refused = jp.host.refusedCount;
    const r = await jp.host.handleRaw({ kind: 'request', requestId: 91_001, type: 'action', params: { action: 'train' } });
    assert.equal(r.accepted, false);
    assert.match(r.reason!, /params\.jobId must be a string/);
    assert.ok(jp.host.refusedCount > refused);
    // Nothing was started by any of these.
    assert.equal(api.runs.all().length, 0);
  });

  it('a valid message round-trips: Show Manifest from the panel opens the manifest viewer of its job', async () => {
    const jp = api.jobPanels.panels.get(TRAINED)!;
    await show(jp);
    const ok = await jp.host.sendRequest('relay', { type: 'action', params: { action: 'showManifest', jobId: TRAINED } });
    assert.deepEqual(ok, { result: { done: true } });
    const mp = await api.jobPanels.panels.whenManifestReady((t) => t.jobId === TRAINED);
    assert.equal(mp.target.kind, 'job');
  });

  it('Train from the panel: the log receives appended lines while the job trains and the chart follows', async () => {
    const jp = (await vscode.commands.executeCommand<JobPanel>('ptychoStudy.openLog', FRESH))!;
    await api.jobPanels.panels.whenReady(FRESH);
    await show(jp);
    const st0 = await until('the fresh job\'s state', async () => {
      const s = await view(jp);
      return s.state === 'ready' ? s : undefined;
    });
    assert.ok(st0.enabledActions.includes('train'));
    const linesBefore = st0.lines;
    const batches: LogBatch[] = [];
    const sub = jp.host.onDidPostMessage((m) => {
      if (m.kind === 'event' && m.type === 'log') batches.push(m.body as LogBatch);
    });
    try {
      const ok = await jp.host.sendRequest('relay', { type: 'action', params: { action: 'train', jobId: FRESH } });
      assert.deepEqual(ok, { result: { done: true } });
      const run = await until('the run', () => api.runs.all().find((r) => r.job.id === FRESH));
      // While it runs: the page's line count grows, in more than one step, and the chart gains points.
      const seen = new Set<number>();
      let sawRunning = false;
      let sawStepsWhileRunning = false;
      const done = run.finished;
      let finished = false;
      void done.then(() => (finished = true));
      while (!finished) {
        const s = await view(jp);
        if (s.state === 'running') {
          sawRunning = true;
          if (s.lines > linesBefore) seen.add(s.lines);
          if (s.chart.steps > 0) sawStepsWhileRunning = true;
        }
        await new Promise((r) => setTimeout(r, 150));
      }
      const exit = await done;
      assert.equal(exit?.status, 'succeeded', exit?.reason);
      assert.ok(sawRunning, 'the panel showed the running state');
      assert.ok(seen.size >= 2, `the log grew while running (line counts seen: ${[...seen].join(', ')})`);
      assert.ok(sawStepsWhileRunning, 'the chart had per-step points while running');
      const final = await until('the succeeded state with 2 epochs', async () => {
        await jp.flush();
        const s = await view(jp);
        return s.state === 'succeeded' && s.chart.epochs === 2 && /FINISHED dose_1000\/sparse\/gs2/.test(s.lastLine ?? '') ? s : undefined;
      });
      const file = fileLines(path.join(jobDir(FRESH), 'train.log'));
      assert.equal(final.lines, file.length, 'every line of train.log, once');
      const appended = batches.filter((b) => !b.reset && b.lines.length > 0);
      assert.ok(appended.length >= 2, `${appended.length} appended batches`);
      assert.ok(final.enabledActions.includes('showReconstruction'));
      // The Reconstruction section: a preview per measured epoch (previews/epoch_NNN.npz), the newest shown beside
      // the truth of the window; the slider goes back to an earlier epoch and stops following.
      const pv = await until('the previews in the panel', async () => {
        const st = await view(jp);
        return st.preview.epochs.length >= 1 && st.preview.shown === st.preview.epochs.at(-1) ? st.preview : undefined;
      });
      const onDisk = fs.readdirSync(path.join(jobDir(FRESH), 'previews')).filter((f) => /^epoch_\d+\.npz$/.test(f)).map((f) => Number(/\d+/.exec(f)![0])).sort((a, b) => a - b);
      assert.deepEqual(pv.epochs, onDisk, 'the epochs with a preview file');
      assert.ok(pv.truth, 'the ground truth of the window beside it');
      assert.equal(typeof pv.phaseRms, 'number', 'and the difference with it');
      assert.match(pv.caption, /Differences: amplitude \(means matched\).*phase after removing the mean offset, rms [\d.]+ rad/);
      assert.ok(pv.following);
      assert.match(pv.caption, /^Window 96×96 px at \(\d+, \d+\) of the test object, stitched from the model after epoch \d+/);
      const first = await jp.host.sendRequest('showPreview', { epoch: pv.epochs[0] });
      assert.equal(first.shown, pv.epochs[0]);
      const after = (await view(jp)).preview;
      assert.equal(after.shown, pv.epochs[0]);
      assert.equal(after.following, pv.epochs.length === 1, 'moved back: no longer following the newest');
      await assert.rejects(Promise.resolve(jp.host.sendRequest('showPreview', { epoch: 999 })), /no preview of epoch 999/);
      // Export strip: one PNG, a column per epoch and the truth, amplitude above phase.
      const target = path.join(os.tmpdir(), `ptycho-strip-${process.pid}.png`);
      const dialog = api.jobPanels.panels.pickSaveUri;
      api.jobPanels.panels.pickSaveUri = async () => vscode.Uri.file(target);
      const saved = await jp.host.sendRequest('exportPreviewStrip', {}).finally(() => (api.jobPanels.panels.pickSaveUri = dialog));
      assert.equal(saved.saved, target);
      const png = fs.readFileSync(target);
      assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
      assert.equal(png.readUInt32BE(16), (pv.epochs.length + 1) * 100 + 4, 'width: a 96-px column per epoch and the truth, 4-px gaps');
      assert.equal(png.readUInt32BE(20), 16 + 2 * 100 + 4, 'height: a label row, amplitude and phase');
      fs.rmSync(target, { force: true });
      // Export CSV: the loss chart's series (per step with the smoothed loss, default smoothing 0.6, and per epoch).
      assert.equal((await view(jp)).chart.smoothing, 0.6);
      const csvTarget = path.join(os.tmpdir(), `ptycho-loss-${process.pid}.csv`);
      const csvDialog = api.jobPanels.panels.pickCsvUri;
      api.jobPanels.panels.pickCsvUri = async () => vscode.Uri.file(csvTarget);
      const csv = await jp.host.sendRequest('exportLossCsv', {}).finally(() => (api.jobPanels.panels.pickCsvUri = csvDialog));
      assert.equal(csv.saved, csvTarget);
      const rows = fs.readFileSync(csvTarget, 'utf8').trim().split('\n');
      assert.equal(rows[0], 'kind,epoch,loss,smoothed_loss,val_loss,lr,seconds');
      assert.ok(rows.some((r) => r.startsWith('step,')), 'per-step rows');
      assert.equal(rows.filter((r) => r.startsWith('epoch,')).length, 2, 'a row per epoch');
      fs.rmSync(csvTarget, { force: true });
    } finally {
      sub.dispose();
    }
  });

  it('a burst of 20,000 lines (10,000 lines/s) appended to train.log reaches the page in batches, in order, every line once', async () => {
    const id = 'dose_10000/baseline/gs1';
    const jp = (await vscode.commands.executeCommand<JobPanel>('ptychoStudy.openLog', id))!;
    await api.jobPanels.panels.whenReady(id);
    await show(jp);
    const file = path.join(jobDir(id), 'train.log');
    await jp.flush();
    const start = await until('the log', async () => {
      const s = await view(jp);
      return s.lines === fileLines(file).length ? s : undefined;
    });
    const batches: LogBatch[] = [];
    const sub = jp.host.onDidPostMessage((m) => {
      if (m.kind === 'event' && m.type === 'log') batches.push(m.body as LogBatch);
    });
    const N = 20_000;
    const lines = Array.from({ length: N }, (_, i) => `[2026-01-01T00:00:00.000Z] burst line ${i} epoch ${1 + (i % 50)} step ${i} loss -91.${String(i % 1000).padStart(3, '0')}`);
    const t0 = Date.now();
    try {
      for (let k = 0; k < 20; k++) {
        fs.appendFileSync(file, lines.slice(k * 1000, (k + 1) * 1000).join('\n') + '\n');
        await new Promise((r) => setTimeout(r, 100));
      }
      const st = await until('every burst line on the page', async () => {
        const s = await view(jp);
        return s.lines === start.lines + N ? s : undefined;
      }, 30_000);
      const ms = Date.now() - t0;
      assert.equal(st.lastLine, lines[N - 1]);
      const sent = batches.reduce((n, b) => n + b.lines.length, 0);
      assert.equal(sent, N, 'each line sent once');
      assert.ok(batches.length <= 200, `${batches.length} batches for ${N} lines`);
      assert.ok(st.renderedRows < 200, `windowed: ${st.renderedRows} rows in the DOM`);
      const hit = await jp.host.sendRequest('search', { query: 'burst line 19999 ', caseSensitive: true });
      assert.equal(hit.matches, 1);
      await jp.host.sendRequest('search', { query: '' });
      const report = {
        lines: N, appendSeconds: 2, endToEndMs: ms, batches: batches.length, linesPerBatchMax: Math.max(...batches.map((b) => b.lines.length)),
        pageBatches: st.stats.batches, pageHandleMsTotal: st.stats.handleMs, pageHandleMsMax: st.stats.maxHandleMs, renders: st.stats.renders, renderMsMax: st.stats.maxRenderMs,
      };
      const out = process.env.PTYCHO_TEST_RESULTS ? path.join(path.dirname(process.env.PTYCHO_TEST_RESULTS), 'jobpanel-burst.json') : undefined;
      if (out) fs.writeFileSync(out, JSON.stringify(report, null, 2));
      assert.ok(st.stats.maxHandleMs < 250, `the page never spent ${st.stats.maxHandleMs.toFixed(0)} ms on one batch`);
    } finally {
      sub.dispose();
    }
  });

  it('ptychoStudy.showManifest shows the manifest with executionProviderUsed; raw JSON toggle; reloads when the file changes', async () => {
    const mp = (await vscode.commands.executeCommand<ManifestPanel>('ptychoStudy.showManifest', FRESH))!;
    assert.ok(mp);
    await api.jobPanels.panels.whenManifestReady((t) => t.jobId === FRESH);
    await show(mp);
    const file = path.join(jobDir(FRESH), 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    const st: ManifestViewState = await until('the document', async () => {
      const s = await mp.host.sendRequest('getViewState', {});
      return s.status === 'succeeded' ? s : undefined;
    });
    assert.equal(st.kind, 'job');
    assert.equal(st.title, `Manifest of ${FRESH}`);
    assert.equal(st.executionProviderUsed, manifest.runtime.executionProviderUsed);
    assert.equal(st.executionProviderUsed, 'cpu');
    for (const s of ['status', 'config', 'data', 'runtime', 'timing', 'training', 'result', 'artifacts']) assert.ok(st.sections.includes(s), s);
    const raw = await mp.host.sendRequest('setRaw', { raw: true });
    assert.equal(raw.raw, true);
    assert.deepEqual(raw.sections, []);
    assert.equal((await mp.host.sendRequest('setRaw', { raw: false })).sections.length, st.sections.length);
    // Live reload: rewrite the file (same content, other formatting) and the page gets it again.
    const text = fs.readFileSync(file, 'utf8');
    const loads = st.loads;
    try {
      fs.writeFileSync(file, JSON.stringify({ ...manifest, note: 'edited by the test' }, null, 1));
      await until('a reload', async () => (await mp.host.sendRequest('getViewState', {})).loads > loads || undefined, 20_000);
      const after = await mp.host.sendRequest('getViewState', {});
      assert.ok(after.sections.includes('other'), 'the unknown field shows');
    } finally {
      fs.writeFileSync(file, text);
    }
  });

  it('a dry-run manifest shows what is there: no result, timing or artifacts', async () => {
    const id = 'dose_10000/sparse/gs2';
    await vscode.commands.executeCommand('ptychoStudy.dryRun', id);
    const mp = (await vscode.commands.executeCommand<ManifestPanel>('ptychoStudy.showManifest', id))!;
    await api.jobPanels.panels.whenManifestReady((t) => t.jobId === id);
    await show(mp);
    const st = await until('the dry-run document', async () => {
      const s = await mp.host.sendRequest('getViewState', {});
      return s.status === 'dry-run' ? s : undefined;
    });
    assert.deepEqual(st.sections, ['status', 'runtime', 'config', 'data']);
    assert.match(st.executionProviderUsed ?? '', /not started/);
  });

  it('the study manifest opens with { study: true } and with ptychoStudy.showStudyManifest (the same panel)', async () => {
    const a = (await vscode.commands.executeCommand<ManifestPanel>('ptychoStudy.showManifest', { study: true }))!;
    assert.equal(a.target.kind, 'study');
    assert.equal(path.basename(a.target.file), 'training_manifest.json');
    await show(a);
    const st = await until('the study document', async () => {
      const s = await a.host.sendRequest('getViewState', {});
      return s.kind === 'study' && s.sections.includes('jobs') ? s : undefined;
    });
    assert.ok(st.sections.includes('study'));
    const b = await vscode.commands.executeCommand<ManifestPanel>('ptychoStudy.showStudyManifest');
    assert.equal(b, a);
    // Its rows open job panels through a validated message.
    const bad = await a.host.sendRequest('relay', { type: 'action', params: { action: 'openJobPanel', jobId: 'dose_77/none/gs1' } });
    assert.match(bad.error ?? '', /there is no job dose_77\/none\/gs1/);
  });

  it('a panel restored after a reload (serializer) shows its job, or says the job no longer exists', async () => {
    const gone = vscode.window.createWebviewPanel(api.jobPanels.jobViewType, 'restored', vscode.ViewColumn.Active, {});
    const jp = api.jobPanels.panels.revive(gone, { jobId: 'dose_31337/gone/gs1' });
    await jp.host.whenReady();
    const st = await until('the not-found state', async () => {
      const s = await view(jp);
      return s.found === false ? s : undefined;
    });
    assert.match(st.header, /dose_31337\/gone\/gs1/);
    const relay = await jp.host.sendRequest('relay', { type: 'action', params: { action: 'train', jobId: 'dose_31337/gone/gs1' } });
    assert.match(relay.error ?? '', /there is no job dose_31337\/gone\/gs1/);
    jp.panel.dispose();
    const real = vscode.window.createWebviewPanel(api.jobPanels.jobViewType, 'restored', vscode.ViewColumn.Active, {});
    const jp2 = api.jobPanels.panels.revive(real, { jobId: 'dose_100000/baseline/gs1' });
    await jp2.host.whenReady();
    const s2 = await until('the restored job', async () => {
      const s = await view(jp2);
      return s.found && s.lines > 0 ? s : undefined;
    });
    assert.equal(s2.jobId, 'dose_100000/baseline/gs1');
    const orphan = api.jobPanels.panels.revive(vscode.window.createWebviewPanel(api.jobPanels.jobViewType, 'x', vscode.ViewColumn.Active, {}), {});
    await orphan.host.whenReady();
    await until('the orphan message', async () => (await view(orphan)).found === false || undefined);
    orphan.panel.dispose();
  });

  it('a hidden panel loses its page; shown again, it gets the state and the whole log again (settings kept)', async () => {
    const jp = api.jobPanels.panels.get(TRAINED)!;
    await show(jp);
    await jp.host.sendRequest('search', { query: 'EPOCH', caseSensitive: true });
    const loads = jp.host.pageLoads;
    // Another editor in the panel's group hides it.
    await vscode.window.showTextDocument(vscode.Uri.file(path.join(jobDir(TRAINED), 'manifest.json')), { viewColumn: jp.panel.viewColumn, preview: false });
    await until('the job panel hidden', () => !jp.panel.visible);
    await show(jp);
    assert.ok(jp.host.pageLoads > loads, 'the page was loaded again');
    const expected = fileLines(path.join(jobDir(TRAINED), 'train.log'));
    const st = await until('the log again', async () => {
      const s = await view(jp);
      return s.lines === expected.length ? s : undefined;
    });
    assert.equal(st.search.query, 'EPOCH', 'the search box kept its text (getState/setState)');
    assert.ok(st.search.matches >= 2);
  });
});

