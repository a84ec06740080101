// The manifest viewer (viewType ptychoStudy.manifest): a job's manifest.json or the study's
// training_manifest.json as a readable document, reloaded whenever the file changes (fs.watch on its folder
// plus a stat poll). The host reads and parses the file; the page renders whatever it finds.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseReconstructionJobId } from '../../core/study/reconstructJobs';
import { parseJobId } from '../../core/study';
import type { ManifestDoc, ManifestProtocol } from '../../webview/protocol';
import type { StudyModel } from '../studyModel';
import { Disposable } from '../webview/dispose';
import { webviewHtml, webviewOptions } from '../webview/html';
import { saveCsv, WebviewHost, type PickSaveUri } from '../webview/host';
import { manifestValidators } from './validators';
import { FileWatch } from './watch';

export const MANIFEST_VIEW_TYPE = 'ptychoStudy.manifest';
/** Larger files are not parsed (a manifest is a few kB). */
const MAX_MANIFEST_BYTES = 32 << 20;

export interface ManifestTarget {
  kind: 'job' | 'study';
  /** Absolute path of the file (chosen by the host, never by the page). */
  file: string;
  jobId?: string;
  folderName?: string;
}

export function manifestKey(t: ManifestTarget): string {
  return `${t.kind}::${t.file}`;
}

export interface ManifestPanelDeps {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  model: StudyModel;
  /** Where a table's CSV… saves (a save dialog; tests replace it). */
  pickSaveUri: () => PickSaveUri;
}

export class ManifestPanel extends Disposable {
  readonly host: WebviewHost<ManifestProtocol>;
  private watch?: FileWatch;
  private loads = 0;
  private sending?: Promise<void>;
  private again = false;
  private readonly loadedEmitter = this.register(new vscode.EventEmitter<ManifestDoc>());
  /** Fires after each (re)load was sent to the page (tests). */
  readonly onDidLoad = this.loadedEmitter.event;
  private readonly disposedEmitter = new vscode.EventEmitter<void>();
  readonly onDidDispose = this.disposedEmitter.event;

  constructor(readonly target: ManifestTarget, readonly panel: vscode.WebviewPanel, deps: ManifestPanelDeps) {
    super();
    const webview = panel.webview;
    webview.options = webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'ptycho-study.svg');
    const host = (this.host = this.register(new WebviewHost<ManifestProtocol>(webview, {
      panel: 'manifest', validators: manifestValidators, log: deps.log, label: target.jobId ?? path.basename(target.file),
    })));
    host.onRequest('action', async (p) => {
      if (p.action === 'openFile') {
        if (!fs.existsSync(target.file)) throw new Error(`${path.basename(target.file)} does not exist yet`);
        await vscode.window.showTextDocument(vscode.Uri.file(target.file), { preview: true, viewColumn: vscode.ViewColumn.Beside });
        return { done: true };
      }
      const id = p.jobId ?? target.jobId;
      if (id && parseReconstructionJobId(id)) {
        // A Phase F job: its job panel (recon.log, relative error and quality per iteration).
        const recon = deps.model.findRecons(id).find((x) => x.folder.name === target.folderName) ?? deps.model.findRecons(id)[0];
        if (!recon) throw new Error(`there is no reconstruction job ${id} in this workspace`);
        await vscode.commands.executeCommand('ptychoStudy.openLog', { jobId: id, folder: recon.folder.uri.fsPath });
        return { done: true };
      }
      if (!id || !parseJobId(id)) throw new Error(`"${id ?? ''}" is not a job id`);
      const matches = deps.model.findJobs(id);
      if (matches.length === 0) throw new Error(`there is no job ${id} in this workspace`);
      const m = matches.find((x) => x.folder.name === target.folderName) ?? matches[0];
      await vscode.commands.executeCommand('ptychoStudy.openLog', { jobId: id, folder: m.folder.uri.fsPath });
      return { done: true };
    });
    host.onRequest('savePng', () => {
      throw new Error('the manifest viewer exports no images');
    });
    host.onRequest('saveCsv', (p) => saveCsv(p, vscode.Uri.file(target.file), deps.pickSaveUri(), deps.log));
    host.onEvent('log', (e) => deps.log[e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : 'info'](`[manifest page] ${e.message}`));
    host.onEvent('rendered', () => undefined);
    this.register(host.onDidBecomeReady(() => {
      this.ensureWatch();
      void this.send();
    }));
    this.register(panel.onDidChangeViewState(() => {
      if (!panel.visible) {
        host.pageGone();
        this.watch?.dispose();
        this.watch = undefined;
      }
    }));
    this.register(panel.onDidDispose(() => this.dispose()));
    this.register({ dispose: () => this.watch?.dispose() });
    panel.title = titleOf(target);
    webview.html = webviewHtml(webview, deps.extensionUri, { panel: 'manifest', title: titleOf(target), loadingText: vscode.l10n.t('Reading {0}…', path.basename(target.file)) });
  }

  private ensureWatch(): void {
    this.watch ??= new FileWatch(this.target.file, () => void this.send(), { pollMs: 1500, debounceMs: 150 });
  }

  /** Reads the file and sends it (a change during a send triggers one more). */
  private send(): Promise<void> {
    if (this.sending) {
      this.again = true;
      return this.sending;
    }
    this.sending = (async () => {
      do {
        this.again = false;
        if (this.isDisposed || !this.host.ready) return;
        const doc = await this.read();
        await this.host.sendEvent('manifest', doc);
        this.loadedEmitter.fire(doc);
      } while (this.again);
    })().finally(() => (this.sending = undefined));
    return this.sending;
  }

  async read(): Promise<ManifestDoc> {
    const t = this.target;
    const base: ManifestDoc = {
      kind: t.kind, fileName: path.basename(t.file), displayPath: vscode.workspace.asRelativePath(t.file, false), exists: false, loads: ++this.loads,
      ...(t.jobId ? { jobId: t.jobId } : {}),
    };
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(t.file);
    } catch {
      return base;
    }
    const doc: ManifestDoc = { ...base, exists: true, bytes: st.size, mtimeMs: st.mtimeMs };
    if (st.size > MAX_MANIFEST_BYTES) return { ...doc, error: `The file is ${st.size} bytes, more than a manifest should be; open it as text instead.` };
    try {
      const text = await fs.promises.readFile(t.file, 'utf8');
      doc.manifest = JSON.parse(text);
    } catch (err) {
      doc.error = `${path.basename(t.file)} is not valid JSON: ${(err as Error).message}`;
    }
    return doc;
  }

  override dispose(): void {
    if (this.isDisposed) return;
    super.dispose();
    this.disposedEmitter.fire();
    this.disposedEmitter.dispose();
  }
}

function titleOf(t: ManifestTarget): string {
  if (t.kind === 'study') return t.folderName ? vscode.l10n.t('Study manifest ({0})', t.folderName) : vscode.l10n.t('Study manifest');
  return t.jobId ? vscode.l10n.t('Manifest {0}', t.jobId) : vscode.l10n.t('Manifest');
}
