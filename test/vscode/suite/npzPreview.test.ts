// Extension-host tests of the NPZ preview custom editor in a real VS Code (code-server): opening a demo-study
// dataset with vscode.openWith, the message protocol through the real webview (ready handshake,
// request/response with ids, errors as { error }), refusal of malformed messages, Export PNG's save path,
// state surviving the page being destroyed while hidden, and a malformed file shown as a readable error.
// The demo study is generated outside the workspace (the workbench suite expects an empty workspace).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { WorkbenchApi } from '../../../src/extension/extension';
import type { NpzEditor } from '../../../src/extension/npzPreview';
import type { NpzViewState, Outcome, SliceResult, ToWebview, NpzPreviewProtocol } from '../../../src/webview/protocol';
import { encodePng } from '../../../src/core/image/png';
import { EXTENSION_ID, until } from './util';

const VIEW_TYPE = 'ptychoStudy.npzPreview';

describe('NPZ preview (custom editor) in VS Code', function () {
  this.timeout(120_000);
  let api: WorkbenchApi;
  let tmp: string;
  let train: vscode.Uri;
  let editor: NpzEditor;
  let patterns = 0;

  before(async () => {
    api = await vscode.extensions.getExtension<WorkbenchApi>(EXTENSION_ID)!.activate();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ptycho-npzprev-'));
    const demo = await vscode.commands.executeCommand<{ outDir: string; files: string[] }>('ptychoStudy.generateDemoStudy', { outDir: path.join(tmp, 'demo'), nImages: 48, overwrite: true });
    assert.ok(demo, 'demo study generated');
    train = vscode.Uri.file(path.join(tmp, 'demo', 'phase_c', 'dose_1000', 'patched_train.npz'));
    assert.ok(fs.existsSync(train.fsPath));
  });

  after(async () => {
    api.npzPreview.provider.pickSaveUri = (u) => vscode.window.showSaveDialog({ defaultUri: u });
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('contributes the custom editor (the default for .npz/.npy: a click in the explorer or on a problem opens the preview) and its commands', async () => {
    const pkg = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON;
    const ce = pkg.contributes.customEditors.find((c: { viewType: string }) => c.viewType === VIEW_TYPE);
    assert.equal(ce.priority, 'default');
    assert.deepEqual(ce.selector.map((s: { filenamePattern: string }) => s.filenamePattern), ['*.npz', '*.npy']);
    const all = await vscode.commands.getCommands(true);
    for (const id of ['ptychoStudy.openNpzPreview', 'ptychoStudy.previewTrainingData']) assert.ok(all.includes(id), id);
  });

  it('vscode.openWith opens a demo-study .npz in the preview; the page says ready and draws the first frame', async () => {
    await vscode.commands.executeCommand('vscode.openWith', train, VIEW_TYPE);
    editor = await api.npzPreview.provider.whenReady(train);
    const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
    assert.ok(tab?.input instanceof vscode.TabInputCustom, 'a custom editor tab');
    assert.equal((tab.input as vscode.TabInputCustom).viewType, VIEW_TYPE);
    const first = await editor.whenRendered((r) => r.event.first);
    assert.equal(first.event.what, 'diffraction[0]');
    assert.ok(first.openToPixelsMs > 0 && first.openToPixelsMs < 60_000);
    assert.equal(editor.host.pageLoads, 1);
    const state: NpzViewState = await editor.host.sendRequest('getViewState', {});
    patterns = state.frames!;
    assert.equal(state.member, 'diffraction');
    assert.equal(state.frame, 0);
    assert.ok(patterns > 10, `${patterns} frames`);
    assert.equal(state.viewers.length, 1);
    const v = state.viewers[0];
    assert.deepEqual([v.width, v.height, v.scale], [64, 64, 'log'], 'a 64×64 pattern on a log scale');
    assert.ok(v.nonBlank > 0.5, `canvas drawn: ${v.nonBlank}`);
    assert.ok(v.distinctColors > 5, `not a flat image: ${v.distinctColors} colours`);
    await until('the scan positions', async () => ((await editor.host.sendRequest('getViewState', {})).scatterPoints === patterns) || undefined);
  });

  it('request/response round-trips through the page: select frame 7 and read the view back', async () => {
    const state = await editor.host.sendRequest('select', { member: 'diffraction', frame: 7 });
    assert.equal(state.frame, 7);
    const r = await editor.whenRendered((x) => x.event.what === 'diffraction[7]');
    assert.equal(r.event.first, false);
    const objState = await editor.host.sendRequest('select', { member: 'objectGuess' });
    assert.equal(objState.member, 'objectGuess');
    assert.deepEqual(objState.viewers.map((x) => x.mode), ['amplitude', 'phase'], 'complex: amplitude and phase side by side');
    assert.deepEqual(objState.viewers.map((x) => x.colormap), ['gray', 'twilight'], 'phase on a cyclic map by default');
    assert.ok(objState.viewers.every((x) => x.nonBlank > 0.2), 'both drawn');
    await editor.host.sendRequest('select', { member: 'diffraction', frame: 7 });
  });

  it('a request the page relays for a member that does not exist is refused with an error response', async () => {
    const missing: Outcome = await editor.host.sendRequest('relay', { type: 'readSlice', params: { member: 'nope', frame: 0 } });
    assert.equal(missing.result, undefined);
    assert.match(missing.error!, /no member "nope" in patched_train\.npz \(it holds: .*diffraction/);
    const badFrame: Outcome = await editor.host.sendRequest('relay', { type: 'readSlice', params: { member: 'diffraction', frame: -1 } });
    assert.match(badFrame.error!, /malformed "readSlice" request: params\.frame must be ≥ 0/);
    const late: Outcome = await editor.host.sendRequest('relay', { type: 'readSlice', params: { member: 'diffraction', frame: 1_000_000 } });
    assert.match(late.error!, /frame 1000000 is out of range/);
    const unknown: Outcome = await editor.host.sendRequest('relay', { type: 'deleteEverything', params: {} });
    assert.match(unknown.error!, /unknown request type "deleteEverything"/);
  });

  it('a valid relayed request returns float32 data as binary, not JSON numbers', async () => {
    const ok = await editor.host.sendRequest('relay', { type: 'readSlice', params: { member: 'diffraction', frame: 3 } }) as Outcome<SliceResult>;
    assert.equal(ok.error, undefined);
    const data = ok.result!.data;
    assert.ok(data instanceof ArrayBuffer || ArrayBuffer.isView(data), `binary: ${Object.prototype.toString.call(data)}`);
    assert.equal(data.byteLength, 64 * 64 * 4);
  });

  it('malformed messages fed to the host are logged and refused; requests among them get an error response', async () => {
    const posted: ToWebview<NpzPreviewProtocol>[] = [];
    const sub = editor.host.onDidPostMessage((m) => posted.push(m));
    try {
      const before = editor.host.refusedCount;
      const r1 = await editor.host.handleRaw({ kind: 'request', requestId: 90_001, type: 'readSlice', params: { member: 5 } });
      assert.equal(r1.accepted, false);
      assert.match(r1.reason!, /params\.member must be a string/);
      const reply = posted.find((m) => m.kind === 'response' && m.inReplyTo === 90_001);
      assert.ok(reply && reply.kind === 'response' && /params\.member must be a string/.test(reply.error ?? ''), 'answered with { error }');
      assert.equal((await editor.host.handleRaw('not a message')).accepted, false);
      assert.equal((await editor.host.handleRaw({ kind: 'event', type: 'rendered', body: { what: 1 } })).accepted, false);
      assert.equal((await editor.host.handleRaw({ kind: 'event', type: 'launchMissiles', body: {} })).accepted, false);
      assert.equal((await editor.host.handleRaw({ kind: 'request', requestId: 90_002, type: 'readTable', params: { member: 'xcoords', start: 0, count: 5, sneaky: true } })).accepted, false);
      assert.equal((await editor.host.handleRaw({ kind: 'ready', panel: 'npzPreview', protocolVersion: 99 })).accepted, false);
      assert.equal(editor.host.refusedCount - before, 6);
      // The page is unaffected: it still answers.
      assert.equal((await editor.host.sendRequest('getViewState', {})).member, 'diffraction');
    } finally {
      sub.dispose();
    }
  });

  it('Export PNG saves the PNG bytes it is given, and refuses anything that is not a PNG', async () => {
    const target = vscode.Uri.file(path.join(tmp, 'export.png'));
    api.npzPreview.provider.pickSaveUri = async () => target;
    const png = encodePng({ width: 2, height: 1, channels: 3, data: Uint8Array.from([255, 0, 0, 0, 0, 255]) });
    const data = png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength);
    const ok = await editor.host.sendRequest('relay', { type: 'savePng', params: { suggestedName: '../../evil name.png', data } }) as Outcome<{ saved: boolean; path?: string }>;
    assert.deepEqual(ok.result, { saved: true, path: target.fsPath });
    assert.deepEqual(fs.readFileSync(target.fsPath), png);
    const bad = await editor.host.sendRequest('relay', { type: 'savePng', params: { suggestedName: 'x.png', data: new Uint8Array([1, 2, 3]).buffer } });
    assert.match(bad.error!, /not a PNG image/);
  });

  it('hiding the tab destroys the page; showing it again rebuilds it from its saved state', async () => {
    const doc = await vscode.workspace.openTextDocument({ content: 'another editor', language: 'plaintext' });
    await vscode.window.showTextDocument(doc, { preview: false });
    await until('the page to be gone', () => !editor.host.ready);
    await vscode.commands.executeCommand('vscode.openWith', train, VIEW_TYPE);
    await until('a second page load', () => editor.host.pageLoads >= 2 && editor.host.ready);
    const state = await until('the restored view', async () => {
      const s = await editor.host.sendRequest('getViewState', {});
      return s.frame === 7 && s.viewers[0]?.nonBlank > 0.5 ? s : undefined;
    }, 30_000);
    assert.equal(state.member, 'diffraction');
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('ptychoStudy.openNpzPreview opens a .npy given as a Uri; a non-NumPy file is refused', async () => {
    const npy = path.join(tmp, 'probe.npy');
    const { writeNpy, ndarray } = await import('../../../src/core/npy');
    const probe = new Float32Array(2 * 32 * 32).map((_, i) => (i % 2 === 0 ? Math.cos(i / 50) : Math.sin(i / 50)));
    await writeNpy(npy, ndarray('<c8', [32, 32], probe));
    const opened = await vscode.commands.executeCommand<vscode.Uri>('ptychoStudy.openNpzPreview', vscode.Uri.file(npy));
    assert.equal(opened?.fsPath, npy);
    const e = await api.npzPreview.provider.whenReady(vscode.Uri.file(npy));
    await e.whenRendered();
    const s = await e.host.sendRequest('getViewState', {});
    assert.equal(s.member, 'probe');
    assert.deepEqual(s.viewers.map((v) => v.mode), ['amplitude', 'phase']);
    const txt = path.join(tmp, 'notes.txt');
    fs.writeFileSync(txt, 'x');
    assert.equal(await vscode.commands.executeCommand('ptychoStudy.openNpzPreview', vscode.Uri.file(txt)), undefined, 'refused (error message)');
  });

  it('a malformed .npz shows a readable error in the editor, and the preview reloads once the file is fixed', async () => {
    const broken = vscode.Uri.file(path.join(tmp, 'broken.npz'));
    fs.writeFileSync(broken.fsPath, 'this is not a zip archive at all, just text');
    await vscode.commands.executeCommand('vscode.openWith', broken, VIEW_TYPE);
    const e = await api.npzPreview.provider.whenReady(broken);
    await e.whenRendered((r) => r.event.what === 'error');
    const s = await e.host.sendRequest('getViewState', {});
    assert.match(s.error!, /broken\.npz|not a zip archive|end of central directory/i);
    assert.equal(s.member, undefined);
    // Fix the file: the watcher re-opens it and the page shows the members.
    fs.copyFileSync(train.fsPath, broken.fsPath);
    await e.nextRender((r) => r.event.what.startsWith('diffraction'), 30_000);
    const fixed = await e.host.sendRequest('getViewState', {});
    assert.equal(fixed.member, 'diffraction');
    assert.equal(fixed.error, undefined);
  });
});
