// A tiny DOM builder (no framework) and theme helpers shared by the webview components.

type Child = Node | string | number | false | null | undefined;
type Attrs = Record<string, string | number | boolean | undefined | ((ev: Event) => void)>;

/**
 * h('button', { class: 'x', onclick: fn, 'aria-label': 'Zoom in' }, 'text'): attributes, `on*` listeners
 * and children (false/null/undefined skipped). Never sets `style` attributes (the page's CSP forbids inline
 * styles in markup; use el.style, which it allows).
 */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (k === 'class') el.className = String(v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else if (k === 'checked' && 'checked' in el) (el as HTMLInputElement).checked = Boolean(v);
    else if (k === 'style') throw new Error('set el.style properties instead of a style attribute');
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    el.append(typeof c === 'number' ? String(c) : c);
  }
  return el;
}

/** A <select> with the given options (value, label) and the current value. */
export function select(options: readonly (readonly [string, string])[], value: string, attrs: Attrs = {}): HTMLSelectElement {
  const el = h('select', attrs);
  for (const [v, label] of options) el.append(h('option', { value: v }, label));
  el.value = value;
  return el;
}

/** A CSS variable of the current theme (VS Code sets them on the page), with a fallback. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || fallback;
}

export function isHighContrast(): boolean {
  return document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light');
}

/** The theme colours every chart draws with: text, secondary text, grid lines (the contrast border in high contrast), focus accent. */
export function chartTheme(): { fg: string; muted: string; grid: string; accent: string } {
  const fg = themeColor('--vscode-foreground', '#ccc');
  return {
    fg,
    muted: themeColor('--vscode-descriptionForeground', fg),
    grid: isHighContrast() ? themeColor('--vscode-contrastBorder', fg) : themeColor('--vscode-widget-border', themeColor('--vscode-panel-border', '#8884')),
    accent: themeColor('--vscode-focusBorder', '#f80'),
  };
}

/** Sizes a canvas's backing store to its CSS size × devicePixelRatio and clears it; undefined while it has no size. */
export function sizeCanvas(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } | undefined {
  const w = canvas.clientWidth;
  const hh = canvas.clientHeight;
  if (w === 0 || hh === 0) return undefined;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hh * dpr);
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hh);
  return { ctx, w, h: hh };
}

/** Font for canvas text: the editor UI font at `px` CSS pixels, scaled by `dpr`. */
export function canvasFont(px: number, dpr: number): string {
  const family = themeColor('--vscode-font-family', 'system-ui, sans-serif');
  return `${Math.round(px * dpr)}px ${family}`;
}

/** Calls fn whenever the theme changes (VS Code swaps body classes). */
export function onThemeChange(fn: () => void): void {
  new MutationObserver(fn).observe(document.body, { attributes: true, attributeFilter: ['class', 'data-vscode-theme-kind'] });
}

export { formatBytes } from '../shared/format';

export function shapeText(shape: readonly number[]): string {
  return shape.length === 0 ? 'scalar' : shape.join(' × ');
}
