// Small runtime shape checks for messages that cross the webview boundary. A `Check<T>` returns undefined
// when the value is a T, else a one-line reason naming the path of the first problem. `object()` demands a
// check for every key of T, so a protocol type and its validator cannot silently drift apart. Pure TS.
import type { PanelProtocol } from '../protocol';

export type Check<T> = ((v: unknown, path?: string) => string | undefined) & { readonly __type?: T };

const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'an array' : v instanceof ArrayBuffer ? 'an ArrayBuffer' : ArrayBuffer.isView(v) ? 'a typed array' : typeof v === 'string' ? `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}` : typeof v;

function make<T>(fn: (v: unknown, path: string) => string | undefined): Check<T> {
  return ((v: unknown, path = 'value') => fn(v, path)) as Check<T>;
}

export const check = {
  string(opts: { maxLength?: number; nonEmpty?: boolean } = {}): Check<string> {
    return make((v, p) => {
      if (typeof v !== 'string') return `${p} must be a string, got ${describe(v)}`;
      if (opts.nonEmpty && v.length === 0) return `${p} must not be empty`;
      if (opts.maxLength !== undefined && v.length > opts.maxLength) return `${p} is longer than ${opts.maxLength} characters`;
      return undefined;
    });
  },
  number(opts: { min?: number; max?: number; finite?: boolean } = {}): Check<number> {
    return make((v, p) => {
      if (typeof v !== 'number' || Number.isNaN(v)) return `${p} must be a number, got ${describe(v)}`;
      if (opts.finite !== false && !Number.isFinite(v)) return `${p} must be finite`;
      if (opts.min !== undefined && v < opts.min) return `${p} must be ≥ ${opts.min}, got ${v}`;
      if (opts.max !== undefined && v > opts.max) return `${p} must be ≤ ${opts.max}, got ${v}`;
      return undefined;
    });
  },
  int(opts: { min?: number; max?: number } = {}): Check<number> {
    return make((v, p) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) return `${p} must be an integer, got ${typeof v === 'number' ? v : describe(v)}`;
      if (opts.min !== undefined && v < opts.min) return `${p} must be ≥ ${opts.min}, got ${v}`;
      if (opts.max !== undefined && v > opts.max) return `${p} must be ≤ ${opts.max}, got ${v}`;
      return undefined;
    });
  },
  boolean(): Check<boolean> {
    return make((v, p) => (typeof v === 'boolean' ? undefined : `${p} must be true or false, got ${describe(v)}`));
  },
  literal<L extends string | number | boolean>(...values: L[]): Check<L> {
    return make((v, p) => (values.includes(v as L) ? undefined : `${p} must be one of ${values.map((x) => JSON.stringify(x)).join(', ')}, got ${describe(v)}`));
  },
  /** An ArrayBuffer or a typed-array view (how binary data arrive); at most maxBytes. */
  binary(opts: { maxBytes?: number } = {}): Check<ArrayBuffer | ArrayBufferView> {
    return make((v, p) => {
      const n = v instanceof ArrayBuffer ? v.byteLength : ArrayBuffer.isView(v) ? v.byteLength : -1;
      if (n < 0) return `${p} must be an ArrayBuffer or a typed array, got ${describe(v)}`;
      if (opts.maxBytes !== undefined && n > opts.maxBytes) return `${p} is ${n} bytes, over the ${opts.maxBytes}-byte limit`;
      return undefined;
    });
  },
  unknown(): Check<unknown> {
    return make(() => undefined);
  },
  optional<T>(inner: Check<T>): Check<T | undefined> {
    return make((v, p) => (v === undefined ? undefined : inner(v, p)));
  },
  /** The value, or null (a measurement that could not be made: JSON writes NaN as null). */
  nullable<T>(inner: Check<T>): Check<T | null> {
    return make((v, p) => (v === null ? undefined : inner(v, p)));
  },
  array<T>(inner: Check<T>, opts: { maxLength?: number } = {}): Check<T[]> {
    return make((v, p) => {
      if (!Array.isArray(v)) return `${p} must be an array, got ${describe(v)}`;
      if (opts.maxLength !== undefined && v.length > opts.maxLength) return `${p} has more than ${opts.maxLength} items`;
      for (let i = 0; i < v.length; i++) {
        const e = inner(v[i], `${p}[${i}]`);
        if (e) return e;
      }
      return undefined;
    });
  },
  /** A plain object used as a map: at most `maxKeys` keys (each at most 200 characters), every value checked. */
  record<T>(inner: Check<T>, opts: { maxKeys?: number } = {}): Check<Record<string, T>> {
    return make((v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return `${p} must be an object, got ${describe(v)}`;
      const keys = Object.keys(v);
      if (keys.length > (opts.maxKeys ?? 100)) return `${p} has more than ${opts.maxKeys ?? 100} keys`;
      for (const k of keys) {
        if (k.length > 200) return `${p} has a key longer than 200 characters`;
        const e = inner((v as Record<string, unknown>)[k], `${p}.${k}`);
        if (e) return e;
      }
      return undefined;
    });
  },
  /**
   * A plain object with exactly these keys checked (unknown extra keys are refused too, so a typo in a field
   * name is reported rather than ignored).
   */
  object<T extends object>(shape: { [K in keyof T]-?: Check<T[K]> }, opts: { allowExtra?: boolean } = {}): Check<T> {
    return make((v, p) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return `${p} must be an object, got ${describe(v)}`;
      const rec = v as Record<string, unknown>;
      for (const key of Object.keys(shape) as (keyof T & string)[]) {
        const e = (shape[key] as Check<unknown>)(rec[key], `${p}.${key}`);
        if (e) return e;
      }
      if (!opts.allowExtra) {
        const extra = Object.keys(rec).filter((k) => !(k in shape));
        if (extra.length > 0) return `${p} has unexpected field${extra.length > 1 ? 's' : ''} ${extra.slice(0, 5).map((k) => JSON.stringify(k)).join(', ')}`;
      }
      return undefined;
    });
  },
};

/**
 * The checks of everything a webview may send for protocol P: the params of each host request and the body
 * of each webview event. Keys are required, so adding a message without its validator does not compile.
 */
export interface ProtocolValidators<P extends PanelProtocol> {
  hostRequests: { [K in keyof P['hostRequests']]-?: Check<P['hostRequests'][K]['params']> };
  webviewEvents: { [K in keyof P['webviewEvents']]-?: Check<P['webviewEvents'][K]> };
}
