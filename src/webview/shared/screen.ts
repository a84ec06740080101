// The host's gate for every message a webview page sends: the envelope, the page's identity and protocol
// version, readiness, and the panel's validator for that request or event. Pure TS (no vscode), so the
// hostile-input corpus runs every panel's validators in the unit tier exactly as the host applies them.
import { PROTOCOL_VERSION, type PanelKind, type PanelProtocol } from '../protocol';
import { parseEnvelope, type IncomingMessage } from './endpoint';
import { check, type Check, type ProtocolValidators } from './validate';

export type Screened =
  | { ok: true; message: IncomingMessage }
  | { ok: false; reason: string; /** Set when the refusal can be answered (a request with a readable id). */ requestId?: number };

/**
 * Screens one raw message from a page of kind `panel`. `ready` says whether the page has announced itself;
 * a `ready` message is accepted whenever it names the right panel and protocol version.
 */
export function screenWebviewMessage<P extends PanelProtocol>(
  raw: unknown, panel: PanelKind, validators: ProtocolValidators<P>, ready: boolean,
): Screened {
  const env = parseEnvelope(raw);
  if (!env.ok) return { ok: false, reason: `malformed message: ${env.reason}`, requestId: env.requestId };
  const msg = env.message;
  if (msg.kind === 'ready') {
    if (msg.panel !== panel) return { ok: false, reason: `ready from a "${clip(msg.panel)}" page, expected "${panel}"` };
    if (msg.protocolVersion !== PROTOCOL_VERSION) return { ok: false, reason: `protocol version ${msg.protocolVersion}, expected ${PROTOCOL_VERSION} (reload the window after updating the extension)` };
    return { ok: true, message: msg };
  }
  if (!ready) return { ok: false, reason: `${msg.kind} before ready`, requestId: msg.kind === 'request' ? msg.requestId : undefined };
  if (msg.kind === 'request') {
    const validator = own(validators.hostRequests as Record<string, Check<unknown>>, msg.type);
    if (!validator) return { ok: false, reason: `unknown request type "${msg.type}"`, requestId: msg.requestId };
    const problem = validator(msg.params, 'params');
    if (problem) return { ok: false, reason: `malformed "${msg.type}" request: ${problem}`, requestId: msg.requestId };
  } else if (msg.kind === 'event') {
    const validator = own(validators.webviewEvents as Record<string, Check<unknown>>, msg.type);
    if (!validator) return { ok: false, reason: `unknown event type "${msg.type}"` };
    const problem = validator(msg.body, 'body');
    if (problem) return { ok: false, reason: `malformed "${msg.type}" event: ${problem}` };
  }
  return { ok: true, message: msg };
}

/** Only the validator object's own keys count: "constructor", "__proto__" or "toString" are not request types. */
function own(map: Record<string, Check<unknown>>, type: string): Check<unknown> | undefined {
  return Object.prototype.hasOwnProperty.call(map, type) ? map[type] : undefined;
}

const clip = (s: string): string => (s.length > 40 ? `${s.slice(0, 40)}…` : s);

// ---------------------------------------------------------------------------------------------------------
// Checks every panel shares

/** Checks of the common webview events (`log`, `rendered`), for a panel's ProtocolValidators. */
export const commonEventValidators = {
  log: check.object<{ level: 'info' | 'warn' | 'error'; message: string }>({
    level: check.literal('info', 'warn', 'error'),
    message: check.string({ maxLength: 20_000 }),
  }),
  rendered: check.object({
    what: check.string({ maxLength: 500 }),
    scriptStartMs: check.number({ min: 0 }),
    readyMs: check.number({ min: 0 }),
    drawnMs: check.number({ min: 0 }),
    requestMs: check.number({ min: 0 }),
    drawMs: check.number({ min: 0 }),
    first: check.boolean(),
    stagesMs: check.optional(check.record(check.number({ min: 0 }), { maxKeys: 64 })),
  }),
};

export const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const MAX_PNG_BYTES = 256 << 20;

export const savePngValidator = check.object<{ suggestedName: string; data: ArrayBuffer | ArrayBufferView }>({
  suggestedName: check.string({ maxLength: 255, nonEmpty: true }),
  data: check.binary({ maxBytes: MAX_PNG_BYTES }),
});

export const MAX_CSV_CHARS = 64 << 20;

export const saveCsvValidator = check.object<{ suggestedName: string; text: string }>({
  suggestedName: check.string({ maxLength: 255, nonEmpty: true }),
  text: check.string({ maxLength: MAX_CSV_CHARS }),
});

export function bytesOf(data: ArrayBuffer | ArrayBufferView): Uint8Array {
  return data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** True when the bytes start with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

/** A page-suggested PNG file name reduced to a safe base name (no folders, no odd characters), ending .png. */
export function safePngName(suggested: string): string {
  let name = suggested.split(/[\\/]/).pop()!.replace(/[^\w.\-()[\] ]+/g, '_').replace(/^\.+/, '_');
  if (!name.trim()) name = 'view';
  if (!name.toLowerCase().endsWith('.png')) name += '.png';
  return name;
}
