// A collapsible, keyboard-accessible JSON tree (<details>/<summary>) for `_metadata` and manifests.
import { h } from './dom';

const MAX_CHILDREN = 200;

function scalar(v: unknown): HTMLElement {
  if (v === null) return h('span', { class: 'json-null' }, 'null');
  switch (typeof v) {
    case 'string': return h('span', { class: 'json-string' }, JSON.stringify(v));
    case 'number': return h('span', { class: 'json-number' }, String(v));
    case 'boolean': return h('span', { class: 'json-boolean' }, String(v));
    default: return h('span', {}, String(v));
  }
}

function summaryOf(v: unknown): string {
  if (Array.isArray(v)) return `[${v.length}]`;
  const n = Object.keys(v as object).length;
  return `{${n}}`;
}

function node(key: string | undefined, v: unknown, depth: number): HTMLElement {
  const label = key !== undefined ? h('span', { class: 'json-key' }, `${key}: `) : undefined;
  if (v === null || typeof v !== 'object') return h('div', { class: 'json-leaf' }, label, scalar(v));
  const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v as Record<string, unknown>);
  const details = h('details', { class: 'json-node' });
  details.open = depth < 2 && entries.length <= 40;
  const preview = Array.isArray(v) && v.length <= 8 && v.every((x) => x === null || typeof x !== 'object')
    ? h('span', { class: 'json-preview' }, ` ${JSON.stringify(v)}`)
    : h('span', { class: 'json-preview' }, ` ${summaryOf(v)}`);
  details.append(h('summary', {}, label ?? h('span', { class: 'json-key' }, Array.isArray(v) ? 'array' : 'object'), preview));
  const body = h('div', { class: 'json-children' });
  const shown = entries.slice(0, MAX_CHILDREN);
  // Children are built on first open, so a huge tree costs nothing until it is explored.
  const fill = (): void => {
    if (body.childElementCount > 0) return;
    for (const [k, x] of shown) body.append(node(k, x, depth + 1));
    if (entries.length > shown.length) body.append(h('div', { class: 'json-more' }, `… ${entries.length - shown.length} more`));
  };
  if (details.open) fill();
  details.addEventListener('toggle', fill);
  details.append(body);
  return details;
}

/** The tree of `value`, top level expanded. */
export function jsonTree(value: unknown): HTMLElement {
  return h('div', { class: 'json-tree' }, node(undefined, value, 0));
}
