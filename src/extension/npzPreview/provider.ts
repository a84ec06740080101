// The NPZ preview: a read-only custom editor (viewType ptychoStudy.npzPreview, priority "option") for
// *.npz and *.npy. Opening reads only the zip directory and the .npy headers (plus 0-d values and
// `_metadata`); the page then asks for exactly what it shows — one frame, one image (decimated on the host
// when large), one series, one page of a table. A file that cannot be read shows its error in the editor.
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { MemberInfo, NpzPreviewProtocol, RenderedEvent } from '../../webview/protocol';
import { Disposable } from '../webview/dispose';
import { webviewHtml, webviewOptions } from '../webview/html';
import { saveCsv, savePng, showExportSaveDialog, WebviewHost, type PickSaveUri } from '../webview/host';
import { buildInit, describeMembers, openPreviewSource, readSeries, readSlice, readTable, type PreviewSource } from './previewService';
import { npzPreviewValidators } from './validators';

export const NPZ_PREVIEW_VIEW_TYPE = 'ptychoStudy.npzPreview';
/** Images larger than this per side are block-mean decimated on the host before they are sent. */
export const PREVIEW_MAX_SIDE = 1024;

/** One opened file. Holds the archive open (file handle only) until the last editor on it closes. */
export class NpzDocument extends Disposable implements vscode.CustomDocument {
  source?: PreviewSource;
  members: MemberInfo[] = [];
  error?: { title: string; message: string };
  /** When openCustomDocument was called (performance.now()), and how long opening took. */
  readonly openedAt: number;
  openMs = 0;
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  /** The file changed on disk and was opened again. */
  readonly onDidReload = this.changed.event;
  private reloading?: Promise<void>;

  private constructor(readonly uri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {
    super();
    this.openedAt = performance.now();
  }

  static async open(uri: vscode.Uri, log: vscode.LogOutputChannel): Promise<NpzDocument> {
    const doc = new NpzDocument(uri, log);
    await doc.load();
    return doc;
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    this.error = undefined;
    this.members = [];
    if (this.uri.scheme !== 'file') {
      this.error = { title: 'Cannot preview this file', message: `Only files on the local file system can be previewed (this one is ${this.uri.scheme}:).` };
      return;
    }
    try {
      this.source = await openPreviewSource(this.uri.fsPath);
      this.members = describeMembers(this.source);
      this.openMs = performance.now() - t0;
      this.log.info(`NPZ preview: opened ${this.uri.fsPath} (${this.members.length} members, headers only) in ${this.openMs.toFixed(1)} ms`);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const message = e.code === 'ENOENT' ? `${this.uri.fsPath} does not exist (it may have been moved or deleted).` : e.message ?? String(err);
      this.error = { title: `${path.basename(this.uri.fsPath)} is not a readable NumPy file`, message };
      this.log.warn(`NPZ preview: cannot open ${this.uri.fsPath}: ${message}`);
    }
  }

  /** Re-opens the file (after it changed on disk) and tells the editors. */
  reload(): Promise<void> {
    this.reloading ??= (async () => {
      const old = this.source;
      this.source = undefined;
      await old?.close().catch(() => undefined);
      await this.load();
      this.changed.fire();
    })().finally(() => (this.reloading = undefined));
    return this.reloading;
  }

  /** Ties `d` to the document's lifetime. */
  own(d: vscode.Disposable): void {
    this.register(d);
  }

  member(name: string): MemberInfo {
    const m = this.members.find((x) => x.name === name);
    if (!m) throw new Error(`no member "${name}" in ${path.basename(this.uri.fsPath)} (it holds: ${this.members.map((x) => x.name).join(', ') || 'nothing'})`);
    return m;
  }

  requireSource(): PreviewSource {
    if (!this.source) throw new Error(this.error?.message ?? 'the file is not open');
    return this.source;
  }

  override dispose(): void {
    void this.source?.close().catch(() => undefined);
    this.source = undefined;
    super.dispose();
  }
}

export interface RenderRecord {
  event: RenderedEvent;
  /** Host time from openCustomDocument to the page's `rendered` message, ms. */
  openToPixelsMs: number;
}

/** One editor tab on a document: its webview, the message channel and the request handlers. */
export class NpzEditor extends Disposable {
  readonly host: WebviewHost<NpzPreviewProtocol>;
  readonly renders: RenderRecord[] = [];
  private readonly renderedEmitter = this.register(new vscode.EventEmitter<RenderRecord>());
  readonly onDidRender = this.renderedEmitter.event;
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;

  constructor(
    readonly document: NpzDocument,
    readonly panel: vscode.WebviewPanel,
    extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    pickSaveUri: () => PickSaveUri,
  ) {
    super();
    const webview = panel.webview;
    webview.options = webviewOptions(extensionUri);
    const host = (this.host = this.register(new WebviewHost<NpzPreviewProtocol>(webview, {
      panel: 'npzPreview', validators: npzPreviewValidators, log, label: path.basename(document.uri.fsPath),
    })));
    host.onRequest('readSlice', (p) => readSlice(document.requireSource(), document.member(p.member), p, PREVIEW_MAX_SIDE));
    host.onRequest('readSeries', (p) => readSeries(document.requireSource(), document.member(p.member), p));
    host.onRequest('readTable', (p) => readTable(document.requireSource(), document.member(p.member), p));
    host.onRequest('savePng', (p) => savePng(p, document.uri, pickSaveUri(), log));
    host.onRequest('saveCsv', (p) => saveCsv(p, document.uri, pickSaveUri(), log));
    host.onEvent('log', (e) => {
      const line = `[npzPreview page] ${e.message}`;
      if (e.level === 'error') log.error(line);
      else if (e.level === 'warn') log.warn(line);
      else log.info(line);
    });
    host.onEvent('rendered', (e) => {
      const rec: RenderRecord = { event: e, openToPixelsMs: performance.now() - document.openedAt };
      this.renders.push(rec);
      if (this.renders.length > 200) this.renders.splice(0, this.renders.length - 200);
      if (e.first) {
        log.info(`NPZ preview: first pixels of ${e.what} ${rec.openToPixelsMs.toFixed(0)} ms after opening ${path.basename(document.uri.fsPath)} ` +
          `(page: script ${e.scriptStartMs.toFixed(0)} ms, ready ${e.readyMs.toFixed(0)} ms, data ${e.requestMs.toFixed(1)} ms, draw ${e.drawMs.toFixed(1)} ms)`);
      }
      this.renderedEmitter.fire(rec);
    });
    this.register(host.onDidBecomeReady(() => void this.sendState()));
    this.register(document.onDidReload(() => void this.sendState()));
    // Without retainContextWhenHidden the page is destroyed when the tab is hidden, and rebuilt (from its
    // getState) when shown: posts wait for its next `ready`.
    this.register(panel.onDidChangeViewState(() => {
      if (!panel.visible) host.pageGone();
    }));
    this.register(panel.onDidDispose(() => this.dispose()));
    webview.html = webviewHtml(webview, extensionUri, { panel: 'npzPreview', title: vscode.l10n.t('NPZ preview: {0}', path.basename(document.uri.fsPath)), loadingText: vscode.l10n.t('Opening {0}…', path.basename(document.uri.fsPath)) });
  }

  private async sendState(): Promise<void> {
    const doc = this.document;
    try {
      if (doc.error || !doc.source) {
        await this.host.sendEvent('fatal', doc.error ?? { title: 'Cannot preview this file', message: 'The file is not open.' });
        return;
      }
      const init = await buildInit(doc.source, {
        displayPath: vscode.workspace.asRelativePath(doc.uri, false), maxSide: PREVIEW_MAX_SIDE, openMs: doc.openMs,
      });
      doc.members = init.members; // scalars read, or found unreadable
      await this.host.sendEvent('init', init);
    } catch (err) {
      this.log.error(`NPZ preview: ${doc.uri.fsPath}: ${(err as Error).stack ?? err}`);
      await this.host.sendEvent('fatal', { title: `${path.basename(doc.uri.fsPath)} could not be read`, message: (err as Error).message });
    }
  }

  /** The first render so far that matches (or the next one) — tests and the benchmark. */
  whenRendered(match: (r: RenderRecord) => boolean = () => true, timeoutMs = 30_000): Promise<RenderRecord> {
    const done = this.renders.find(match);
    return done ? Promise.resolve(done) : this.nextRender(match, timeoutMs);
  }

  /** Resolves with the next render that matches (or any render) — tests and the benchmark. */
  nextRender(match?: (r: RenderRecord) => boolean, timeoutMs = 30_000): Promise<RenderRecord> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`no render within ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = this.onDidRender((r) => {
        if (match && !match(r)) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(r);
      });
    });
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

export class NpzPreviewProvider extends Disposable implements vscode.CustomReadonlyEditorProvider<NpzDocument> {
  readonly editors = new Set<NpzEditor>();
  private readonly resolvedEmitter = this.register(new vscode.EventEmitter<NpzEditor>());
  readonly onDidResolveEditor = this.resolvedEmitter.event;
  /** Where Export PNG saves; tests replace it to skip the dialog. */
  pickSaveUri: PickSaveUri = showExportSaveDialog;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {
    super();
  }

  async openCustomDocument(uri: vscode.Uri): Promise<NpzDocument> {
    const doc = await NpzDocument.open(uri, this.log);
    if (uri.scheme === 'file') {
      const watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(path.dirname(uri.fsPath)), path.basename(uri.fsPath)));
      let timer: ReturnType<typeof setTimeout> | undefined;
      const changed = (): void => {
        clearTimeout(timer);
        timer = setTimeout(() => void doc.reload(), 300);
      };
      watcher.onDidChange(changed);
      watcher.onDidCreate(changed);
      watcher.onDidDelete(changed);
      doc.own({ dispose: () => { clearTimeout(timer); watcher.dispose(); } });
    }
    return doc;
  }

  resolveCustomEditor(document: NpzDocument, panel: vscode.WebviewPanel): void {
    const editor = new NpzEditor(document, panel, this.extensionUri, this.log, () => this.pickSaveUri);
    this.editors.add(editor);
    editor.onDidDispose(() => this.editors.delete(editor));
    this.resolvedEmitter.fire(editor);
  }

  /** An open editor on `uri`, if any. */
  editorFor(uri: vscode.Uri): NpzEditor | undefined {
    return [...this.editors].find((e) => e.document.uri.toString() === uri.toString());
  }

  /** The editor on `uri` once it exists and its page is ready (tests and the benchmark). */
  async whenReady(uri: vscode.Uri, timeoutMs = 30_000): Promise<NpzEditor> {
    const editor = this.editorFor(uri) ?? await new Promise<NpzEditor>((resolve, reject) => {
      const timer = setTimeout(() => {
        sub.dispose();
        reject(new Error(`no NPZ preview of ${uri.fsPath} within ${timeoutMs} ms`));
      }, timeoutMs);
      const sub = this.onDidResolveEditor((e) => {
        if (e.document.uri.toString() !== uri.toString()) return;
        clearTimeout(timer);
        sub.dispose();
        resolve(e);
      });
    });
    await editor.host.whenReady();
    return editor;
  }

  static register(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): NpzPreviewProvider {
    const provider = new NpzPreviewProvider(context.extensionUri, log);
    context.subscriptions.push(provider, vscode.window.registerCustomEditorProvider(NPZ_PREVIEW_VIEW_TYPE, provider, {
      // The page keeps its view in getState/setState, so it can be destroyed while hidden: no retained context.
      webviewOptions: { retainContextWhenHidden: false, enableFindWidget: false },
      supportsMultipleEditorsPerDocument: true,
    }));
    return provider;
  }
}
