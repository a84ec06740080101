// The webview side of a panel's message channel: acquireVsCodeApi() once, the `ready` handshake, typed
// requests (with ids) and events, and the page's persisted state (getState/setState survives the page being
// destroyed while its tab is hidden). Messages from the host are envelope-checked before use.
import { PROTOCOL_VERSION, type Outcome, type PanelKind, type PanelProtocol } from './protocol';
import { Endpoint, errorMessage, parseEnvelope } from './shared/endpoint';

interface VsCodeApi<S> {
  postMessage(message: unknown): void;
  getState(): S | undefined;
  setState(state: S): S;
}

declare function acquireVsCodeApi<S = unknown>(): VsCodeApi<S>;

export type WebviewEndpoint<P extends PanelProtocol> = Endpoint<P['hostRequests'], P['webviewRequests'], P['webviewEvents'], P['hostEvents']>;

export interface Client<P extends PanelProtocol, S> {
  endpoint: WebviewEndpoint<P>;
  request: WebviewEndpoint<P>['sendRequest'];
  /** Sends a request of any type (for the `relay` test hook: the host validates it like any other). */
  requestAny(type: string, params: unknown): Promise<unknown>;
  on: WebviewEndpoint<P>['onEvent'];
  onRequest: WebviewEndpoint<P>['onRequest'];
  emit: WebviewEndpoint<P>['sendEvent'];
  /** Answers the host's `relay` test hook: sends the request it names as this page would, and reports the outcome. */
  serveRelay(): void;
  /** Posts `ready`: call once the page's handlers are registered. */
  ready(): void;
  getState(): S | undefined;
  setState(state: S): void;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** performance.now() when the script started and when ready was posted. */
  readonly timing: { scriptStartMs: number; readyMs: number };
}

export function createClient<P extends PanelProtocol, S = unknown>(panel: PanelKind): Client<P, S> {
  const scriptStartMs = performance.now();
  const vscode = acquireVsCodeApi<S>();
  const timing = { scriptStartMs, readyMs: 0 };
  const endpoint: WebviewEndpoint<P> = new Endpoint((msg) => vscode.postMessage(msg), {
    timeoutMs: 120_000,
    log: (level, message) => (level === 'error' ? console.error(message) : console.warn(message)),
  });
  const log = (level: 'info' | 'warn' | 'error', message: string): void => {
    void (endpoint.sendEvent as (t: string, b: unknown) => Promise<void>)('log', { level, message: message.slice(0, 20_000) }).catch(() => undefined);
  };
  window.addEventListener('message', (ev: MessageEvent) => {
    const env = parseEnvelope(ev.data);
    if (!env.ok) {
      console.warn(`ignored a message: ${env.reason}`);
      return;
    }
    if (env.message.kind === 'ready') return;
    void endpoint.receive(env.message);
  });
  window.addEventListener('error', (ev) => log('error', `uncaught: ${ev.message} (${ev.filename}:${ev.lineno})`));
  window.addEventListener('unhandledrejection', (ev) => log('error', `unhandled rejection: ${errorMessage(ev.reason)}`));
  let saved: S | undefined = vscode.getState();
  const requestAny = (type: string, params: unknown): Promise<unknown> => (endpoint.sendRequest as (t: string, p: unknown) => Promise<unknown>)(type, params);
  return {
    endpoint,
    request: (type, params, timeoutMs) => endpoint.sendRequest(type, params, timeoutMs),
    requestAny,
    on: (type, handler) => endpoint.onEvent(type, handler),
    onRequest: (type, handler) => endpoint.onRequest(type, handler),
    emit: (type, body) => endpoint.sendEvent(type, body),
    serveRelay: () => {
      (endpoint.onRequest as (t: string, h: (p: { type: string; params: unknown }) => Promise<Outcome>) => void)('relay', async (p) => {
        try {
          return { result: await requestAny(p.type, p.params) };
        } catch (err) {
          return { error: errorMessage(err) };
        }
      });
    },
    ready: () => {
      timing.readyMs = performance.now();
      vscode.postMessage({ kind: 'ready', panel, protocolVersion: PROTOCOL_VERSION });
    },
    getState: () => saved,
    setState: (state) => {
      saved = state;
      vscode.setState(state);
    },
    log,
    timing,
  };
}
