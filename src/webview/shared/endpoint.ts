// One side of a panel's message channel: events (fire and forget) and requests (a Promise resolved by the
// response whose `inReplyTo` is the request's `requestId`), after vscode-hexeditor's MessageHandler. The
// same class serves the host (the extension) and the webview, with the type parameters swapped. Pure
// TypeScript: no vscode, no DOM. Incoming messages must have passed `parseEnvelope` (and, on the host,
// the panel's validators) before `receive`.
import type { RequestSpec, ResponseMessage } from '../protocol';

type Specs = Record<string, RequestSpec>;
type Events = Record<string, unknown>;

export type Post = (message: unknown) => void | Promise<unknown> | PromiseLike<unknown>;

export interface EndpointOptions {
  /** How long a request waits for its response (default 30 s). */
  timeoutMs?: number;
  /** Where problems are reported (unknown requests, handler failures, late responses). */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** An error the other side returned for a request (`{ error }`), or a timeout. */
export class RemoteError extends Error {
  constructor(readonly requestType: string, message: string) {
    super(message);
    this.name = 'RemoteError';
  }
}

/** What a request handler receives besides the params. */
export interface RequestContext {
  requestId: number;
}

type Handler<S extends RequestSpec> = (params: S['params'], ctx: RequestContext) => S['result'] | Promise<S['result']>;

interface Pending {
  type: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * `Send*` are what this side sends (requests the other side answers, events it receives); `Recv*` are what
 * it receives (requests it answers, events it handles).
 */
export class Endpoint<SendReq extends Specs, RecvReq extends Specs, SendEv extends Events, RecvEv extends Events> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly requestHandlers = new Map<string, Handler<RequestSpec>>();
  private readonly eventHandlers = new Map<string, Set<(body: unknown) => void>>();
  private disposed = false;

  constructor(private readonly post: Post, private readonly opts: EndpointOptions = {}) {}

  /** Fire-and-forget message to the other side. */
  async sendEvent<K extends keyof SendEv & string>(type: K, body: SendEv[K]): Promise<void> {
    if (this.disposed) return;
    await this.post({ kind: 'event', type, body });
  }

  /** A request; resolves with the other side's result, rejects with RemoteError on `{ error }` or timeout. */
  sendRequest<K extends keyof SendReq & string>(type: K, params: SendReq[K]['params'], timeoutMs?: number): Promise<SendReq[K]['result']> {
    if (this.disposed) return Promise.reject(new RemoteError(type, 'the panel is closed'));
    const requestId = this.nextId++;
    const wait = timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new RemoteError(type, `no response to "${type}" within ${wait} ms`));
      }, wait);
      this.pending.set(requestId, { type, resolve, reject, timer });
      Promise.resolve(this.post({ kind: 'request', requestId, type, params })).catch((err: unknown) => {
        clearTimeout(timer);
        this.pending.delete(requestId);
        reject(new RemoteError(type, `could not send "${type}": ${errorMessage(err)}`));
      });
    });
  }

  /** Registers the handler of one request type (one per type); its throw becomes `{ error: message }`. */
  onRequest<K extends keyof RecvReq & string>(type: K, handler: Handler<RecvReq[K]>): void {
    this.requestHandlers.set(type, handler as unknown as Handler<RequestSpec>);
  }

  /** Subscribes to one event type; returns an unsubscribe function. */
  onEvent<K extends keyof RecvEv & string>(type: K, handler: (body: RecvEv[K]) => void): () => void {
    let set = this.eventHandlers.get(type);
    if (!set) this.eventHandlers.set(type, (set = new Set()));
    const h = handler as (body: unknown) => void;
    set.add(h);
    return () => set!.delete(h);
  }

  hasRequestHandler(type: string): boolean {
    return this.requestHandlers.has(type);
  }

  /**
   * Dispatches one incoming message (already shape-checked). Requests always get exactly one response;
   * an unknown request type is answered with an error.
   */
  async receive(msg: IncomingMessage): Promise<void> {
    if (this.disposed) return;
    switch (msg.kind) {
      case 'response': {
        const p = this.pending.get(msg.inReplyTo);
        if (!p) {
          this.opts.log?.('warn', `response to unknown or expired request ${msg.inReplyTo}`);
          return;
        }
        this.pending.delete(msg.inReplyTo);
        clearTimeout(p.timer);
        if (typeof msg.error === 'string') p.reject(new RemoteError(p.type, msg.error));
        else p.resolve(msg.result);
        return;
      }
      case 'event': {
        const set = this.eventHandlers.get(msg.type);
        if (!set || set.size === 0) {
          this.opts.log?.('warn', `unhandled event "${msg.type}"`);
          return;
        }
        for (const h of [...set]) {
          try {
            h(msg.body);
          } catch (err) {
            this.opts.log?.('error', `event "${msg.type}" handler failed: ${errorMessage(err)}`);
          }
        }
        return;
      }
      case 'request': {
        const handler = this.requestHandlers.get(msg.type);
        let response: ResponseMessage;
        if (!handler) {
          response = { kind: 'response', inReplyTo: msg.requestId, error: `unknown request type "${msg.type}"` };
        } else {
          try {
            response = { kind: 'response', inReplyTo: msg.requestId, result: await handler(msg.params, { requestId: msg.requestId }) };
          } catch (err) {
            response = { kind: 'response', inReplyTo: msg.requestId, error: errorMessage(err) };
          }
        }
        if (this.disposed) return;
        await this.respond(response);
        return;
      }
    }
  }

  /** Answers a request directly (used for requests refused before dispatch, e.g. malformed params). */
  async respond(response: ResponseMessage): Promise<void> {
    if (this.disposed) return;
    try {
      await this.post(response);
    } catch (err) {
      this.opts.log?.('warn', `could not post the response to request ${response.inReplyTo}: ${errorMessage(err)}`);
    }
  }

  /** Rejects every pending request (the page reloaded or closed); the endpoint stays usable. */
  rejectPending(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new RemoteError(p.type, reason));
      this.pending.delete(id);
    }
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  dispose(): void {
    if (this.disposed) return;
    this.rejectPending('the panel is closed');
    this.disposed = true;
    this.requestHandlers.clear();
    this.eventHandlers.clear();
  }
}

/** A message after `parseEnvelope`: the envelope is sound, the type-specific contents are not checked yet. */
export type IncomingMessage =
  | { kind: 'ready'; panel: string; protocolVersion: number }
  | { kind: 'event'; type: string; body: unknown }
  | { kind: 'request'; requestId: number; type: string; params: unknown }
  | ResponseMessage;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
const isType = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v);

/**
 * Checks the envelope of a raw message. Returns the message, or a reason it is refused (with the request id
 * when one could be read, so the sender can still be answered).
 */
export function parseEnvelope(raw: unknown): { ok: true; message: IncomingMessage } | { ok: false; reason: string; requestId?: number } {
  if (!isObj(raw)) return { ok: false, reason: `not an object (${raw === null ? 'null' : Array.isArray(raw) ? 'array' : typeof raw})` };
  switch (raw.kind) {
    case 'ready':
      if (typeof raw.panel !== 'string' || typeof raw.protocolVersion !== 'number') return { ok: false, reason: 'ready needs panel (string) and protocolVersion (number)' };
      return { ok: true, message: { kind: 'ready', panel: raw.panel, protocolVersion: raw.protocolVersion } };
    case 'event':
      if (!isType(raw.type)) return { ok: false, reason: 'event needs a type (identifier string)' };
      return { ok: true, message: { kind: 'event', type: raw.type, body: raw.body } };
    case 'request': {
      const requestId = isId(raw.requestId) ? raw.requestId : undefined;
      if (requestId === undefined) return { ok: false, reason: 'request needs requestId (positive integer)' };
      if (!isType(raw.type)) return { ok: false, reason: 'request needs a type (identifier string)', requestId };
      return { ok: true, message: { kind: 'request', requestId, type: raw.type, params: raw.params } };
    }
    case 'response':
      if (!isId(raw.inReplyTo)) return { ok: false, reason: 'response needs inReplyTo (positive integer)' };
      if (raw.error !== undefined) {
        if (typeof raw.error !== 'string') return { ok: false, reason: 'response error must be a string' };
        return { ok: true, message: { kind: 'response', inReplyTo: raw.inReplyTo, error: raw.error } };
      }
      return { ok: true, message: { kind: 'response', inReplyTo: raw.inReplyTo, result: raw.result } };
    default:
      return { ok: false, reason: `unknown message kind ${JSON.stringify(typeof raw.kind === 'string' ? raw.kind.slice(0, 40) : raw.kind)}` };
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
