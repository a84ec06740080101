// The extension side of one webview's message channel. Every incoming message is shape-checked before use
// (envelope, then the panel's validator for that request or event); unknown or malformed messages are
// logged and refused — a request with a readable id is answered `{ error }`, anything else is dropped.
// Nothing is posted before the page's `ready` (the page's listener may not exist yet), and readiness resets
// when the page goes away (hidden without retainContextWhenHidden, or reloaded): posts wait for the next
// `ready`, pending requests to the old page are rejected, and `onDidBecomeReady` fires again so the owner
// re-sends its state.
import * as vscode from 'vscode';
import type { PanelKind, PanelProtocol, ResponseMessage, ToWebview } from '../../webview/protocol';
import { Endpoint, errorMessage } from '../../webview/shared/endpoint';
import { bytesOf, isPng, safePngName, screenWebviewMessage } from '../../webview/shared/screen';
import type { ProtocolValidators } from '../../webview/shared/validate';
import { Disposable } from './dispose';

export interface HandleOutcome {
  accepted: boolean;
  /** Why a message was refused. */
  reason?: string;
}

export interface WebviewHostOptions<P extends PanelProtocol> {
  panel: PanelKind;
  validators: ProtocolValidators<P>;
  log: vscode.LogOutputChannel;
  /** A label for log lines, e.g. the file name. */
  label: string;
  /** Request timeout for host → webview requests (default 30 s). */
  timeoutMs?: number;
}

type HostEndpoint<P extends PanelProtocol> = Endpoint<P['webviewRequests'], P['hostRequests'], P['hostEvents'], P['webviewEvents']>;

export class WebviewHost<P extends PanelProtocol> extends Disposable {
  readonly endpoint: HostEndpoint<P>;
  private isReady = false;
  private readyWaiters: (() => void)[] = [];
  private readonly readyEmitter = this.register(new vscode.EventEmitter<number>());
  private readonly postEmitter = this.register(new vscode.EventEmitter<ToWebview<P>>());
  /** Fires on each `ready` of the page (the count of page loads so far). */
  readonly onDidBecomeReady = this.readyEmitter.event;
  /** Fires for every message posted to the page (tests read responses this way). */
  readonly onDidPostMessage = this.postEmitter.event;
  private readyCount = 0;
  /** Messages refused since the host started (diagnostics and tests). */
  refusedCount = 0;

  constructor(readonly webview: vscode.Webview, private readonly opts: WebviewHostOptions<P>) {
    super();
    this.endpoint = new Endpoint(async (msg) => this.post(msg as ToWebview<P>), {
      timeoutMs: opts.timeoutMs,
      log: (level, message) => this.logLine(level, message),
    });
    this.register({ dispose: () => this.endpoint.dispose() });
    this.register(webview.onDidReceiveMessage((raw: unknown) => void this.handleRaw(raw)));
  }

  get ready(): boolean {
    return this.isReady;
  }

  get pageLoads(): number {
    return this.readyCount;
  }

  /** Resolves once the page has said `ready` (immediately when it has). */
  whenReady(): Promise<void> {
    if (this.isReady) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** The page is gone (panel hidden without retained context): posts wait for the next `ready`. */
  pageGone(reason = 'the webview was hidden'): void {
    if (!this.isReady) return;
    this.isReady = false;
    this.endpoint.rejectPending(reason);
  }

  sendEvent<K extends keyof P['hostEvents'] & string>(type: K, body: P['hostEvents'][K]): Promise<void> {
    return this.endpoint.sendEvent(type, body);
  }

  sendRequest<K extends keyof P['webviewRequests'] & string>(type: K, params: P['webviewRequests'][K]['params'], timeoutMs?: number): Promise<P['webviewRequests'][K]['result']> {
    return this.endpoint.sendRequest(type, params, timeoutMs);
  }

  onRequest<K extends keyof P['hostRequests'] & string>(
    type: K, handler: (params: P['hostRequests'][K]['params']) => P['hostRequests'][K]['result'] | Promise<P['hostRequests'][K]['result']>,
  ): void {
    this.endpoint.onRequest(type, handler);
  }

  onEvent<K extends keyof P['webviewEvents'] & string>(type: K, handler: (body: P['webviewEvents'][K]) => void): () => void {
    return this.endpoint.onEvent(type, handler);
  }

  private async post(msg: ToWebview<P>): Promise<void> {
    if (this.isDisposed) return;
    // Responses answer the live page; everything else waits until a page is listening.
    if (msg.kind !== 'response') await this.whenReady();
    if (this.isDisposed) return;
    this.postEmitter.fire(msg);
    const delivered = await this.webview.postMessage(msg);
    if (!delivered) this.logLine('warn', `a ${msg.kind} message was not delivered (the webview is not live)`);
  }

  /**
   * Validates one raw message from the page and dispatches it. Public so tests can feed it messages the
   * real page would never send; the page's own messages arrive here too.
   */
  async handleRaw(raw: unknown): Promise<HandleOutcome> {
    if (this.isDisposed) return { accepted: false, reason: 'disposed' };
    const screened = screenWebviewMessage(raw, this.opts.panel, this.opts.validators, this.isReady);
    if (!screened.ok) return this.refuse(screened.reason, screened.requestId);
    const msg = screened.message;
    if (msg.kind === 'ready') {
      if (this.readyCount > 0) this.endpoint.rejectPending('the webview reloaded');
      this.readyCount++;
      this.isReady = true;
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const w of waiters) w();
      this.readyEmitter.fire(this.readyCount);
      return { accepted: true };
    }
    if (msg.kind === 'request' && !this.endpoint.hasRequestHandler(msg.type)) return this.refuse(`request "${msg.type}" is not handled by this panel`, msg.requestId);
    try {
      await this.endpoint.receive(msg);
    } catch (err) {
      this.logLine('error', `handling a ${msg.kind} failed: ${errorMessage(err)}`);
    }
    return { accepted: true };
  }

  private async refuse(reason: string, requestId?: number): Promise<HandleOutcome> {
    this.refusedCount++;
    this.logLine('warn', `refused a message from the webview: ${reason}`);
    if (requestId !== undefined) {
      const response: ResponseMessage = { kind: 'response', inReplyTo: requestId, error: reason };
      await this.endpoint.respond(response);
    }
    return { accepted: false, reason };
  }

  private logLine(level: 'info' | 'warn' | 'error', message: string): void {
    const line = `[${this.opts.panel} ${this.opts.label}] ${message}`;
    if (level === 'error') this.opts.log.error(line);
    else if (level === 'warn') this.opts.log.warn(line);
    else this.opts.log.info(line);
  }

  override dispose(): void {
    this.isReady = false;
    this.readyWaiters = [];
    super.dispose();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Handlers every panel shares

export { commonEventValidators, savePngValidator, MAX_PNG_BYTES, bytesOf } from '../../webview/shared/screen';

/** Where Export PNG and a table's CSV… save: a save dialog by default; tests replace it. */
export type PickSaveUri = (defaultUri: vscode.Uri, kind?: 'png' | 'csv') => Thenable<vscode.Uri | undefined>;

export const showExportSaveDialog: PickSaveUri = (defaultUri, kind = 'png') => kind === 'csv'
  ? vscode.window.showSaveDialog({ defaultUri, filters: { CSV: ['csv'] }, saveLabel: vscode.l10n.t('Save CSV'), title: vscode.l10n.t('Save the table as CSV') })
  : vscode.window.showSaveDialog({ defaultUri, filters: { [vscode.l10n.t('PNG image')]: ['png'] }, saveLabel: vscode.l10n.t('Export PNG'), title: vscode.l10n.t('Export the view as PNG') });

/** A suggested file name reduced to a safe base name with the extension `ext`. */
export function safeExportName(suggested: string, ext: 'csv' | 'png', fallback: string): string {
  const base = suggested.split(/[\\/]/).pop()!.replace(/[^\w.\-()[\] ]+/g, '_').replace(/^\.+/, '_').replace(new RegExp(`\\.${ext}$`, 'i'), '');
  return `${base || fallback}.${ext}`;
}

/** The `saveCsv` request: asks where to save (next to `nearFile` by default) and writes the text. */
export async function saveCsv(
  params: { suggestedName: string; text: string }, nearFile: vscode.Uri, pick: PickSaveUri, log: vscode.LogOutputChannel,
): Promise<{ saved: boolean; path?: string }> {
  const target = await pick(vscode.Uri.joinPath(nearFile, '..', safeExportName(params.suggestedName, 'csv', 'table')), 'csv');
  if (!target) return { saved: false };
  await vscode.workspace.fs.writeFile(target, Buffer.from(params.text, 'utf8'));
  log.info(`Saved ${params.text.split('\n').length - 1} CSV line(s) to ${target.fsPath}`);
  return { saved: true, path: target.fsPath };
}

/**
 * The `savePng` request: checks the bytes are a PNG, asks where to save it (next to `nearFile` by default),
 * and writes it. The suggested name is reduced to a safe base name.
 */
export async function savePng(
  params: { suggestedName: string; data: ArrayBuffer | ArrayBufferView }, nearFile: vscode.Uri, pick: PickSaveUri, log: vscode.LogOutputChannel,
): Promise<{ saved: boolean; path?: string }> {
  const bytes = bytesOf(params.data);
  if (!isPng(bytes)) throw new Error('the data is not a PNG image');
  const name = safePngName(params.suggestedName);
  const target = await pick(vscode.Uri.joinPath(nearFile, '..', name));
  if (!target) return { saved: false };
  await vscode.workspace.fs.writeFile(target, bytes);
  log.info(`Exported ${bytes.length} bytes of PNG to ${target.fsPath}`);
  return { saved: true, path: target.fsPath };
}
