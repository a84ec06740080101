// A canvas image viewer for scientific arrays: a float32 image (or complex, shown as amplitude, phase, real,
// imaginary or complex → RGB) through a colormap, with a colorbar and tick labels, a contrast window (min/max
// fields, Auto = percentiles, Min/Max = full range), linear or log scale, zoom (wheel, buttons, + / − / 0
// keys) and pan (drag, arrow keys) with nearest-neighbour pixels when zoomed in, a hover readout, and Export
// PNG of what is shown (image + colorbar). Viewers given the same ViewSync zoom and pan together.
// Cyclic maps (twilight, hsv) are offered only for phase (and as the hue of complex → RGB).
import {
  COLORMAPS, PHASE_COLORMAPS, SEQUENTIAL_COLORMAPS, colormapLut, complexComponent, complexToRgba, isColormapName, mapToRgba, scaleValue,
  type ColormapName, type Scale,
} from '../../core/image/colormaps';
import { wrapPhase } from '../../core/image/complexDiff';
import { autoWindow, finiteMinMax, percentiles, type Window } from '../../core/image/stats';
import { formatValue, phaseTicks, windowTicks, type Tick } from '../../core/image/ticks';
import type { ViewerState } from '../protocol';
import { canvasFont, h, isHighContrast, onThemeChange, select, themeColor } from './dom';
import { FIT_VIEW, ViewSync, type ViewState } from './viewSync';

export type DisplayMode = 'value' | 'amplitude' | 'phase' | 'real' | 'imag' | 'rgb';

export const MODE_LABELS: Record<DisplayMode, string> = {
  value: 'value', amplitude: 'amplitude', phase: 'phase', real: 'real part', imag: 'imaginary part', rgb: 'complex → RGB',
};

const COMPLEX_MODES: DisplayMode[] = ['amplitude', 'phase', 'real', 'imag', 'rgb'];

export interface ImageInput {
  width: number;
  height: number;
  complex: boolean;
  /** width × height float32 values (× 2 interleaved re, im when complex). */
  data: Float32Array;
  /** Block-mean factor the host applied (1 = full resolution). */
  factor: number;
  sourceWidth: number;
  sourceHeight: number;
  /** What is shown, for the export file name and screen readers, e.g. `diffraction[12]`. */
  label: string;
  /** Complex data: radians added to every phase (shown as data · e^{i·rotation}; the data is not copied). */
  rotation?: number;
}

export interface ViewerSettings {
  mode: DisplayMode;
  colormaps: Partial<Record<DisplayMode, ColormapName>>;
  scale: Scale;
  /** Manual windows per mode; a mode without one uses its automatic window. */
  windows: Partial<Record<DisplayMode, Window>>;
}

export interface ImageViewerOptions {
  /** Stable id: the root gets it, the readout `<id>-readout`, the canvas `<id>-canvas`. */
  id: string;
  /** Caption above the viewer (e.g. "amplitude"). */
  title?: string;
  /** Accessible name of the viewer when it has no caption. */
  label?: string;
  sync?: ViewSync;
  settings?: Partial<ViewerSettings>;
  onSettingsChange?: (s: ViewerSettings) => void;
  /** Saves an exported PNG; without it the Export button is hidden. */
  exportPng?: (png: ArrayBuffer, suggestedName: string) => Promise<string | undefined>;
  /** Base of export file names (e.g. the dataset name). */
  exportBase?: string;
  /** Called after each draw of new data or settings (not on pan/zoom). */
  onRendered?: (info: { drawMs: number }) => void;
  /** The readout while the pointer is not over the image (default: a hint to hover, then the last value). */
  idleReadout?: string;
  /** Narrows the colormaps offered per mode (e.g. only the cyclic maps for phase). */
  allowedColormaps?: Partial<Record<DisplayMode, readonly ColormapName[]>>;
  /** false: no toolbar (the page sets mode, colormap and window with applySettings). Default true. */
  toolbar?: boolean;
  /** Hide the mode select of complex data (the page fixes what this viewer shows). */
  fixedMode?: boolean;
  /** false: no colorbar (the page draws a shared one). Default true. */
  colorbar?: boolean;
  /** false: no zoom buttons or Export in the footer (keyboard zoom still works). Default true. */
  footerTools?: boolean;
  /** The automatic window for `values` in `mode` (e.g. symmetric about 0 for a difference); undefined = default. */
  autoWindow?: (values: Float32Array, mode: DisplayMode) => Window | undefined;
  /** The data pixel under the pointer, or undefined when it leaves the image (synced hover). */
  onHover?: (p: { x: number; y: number } | undefined) => void;
  /** Readout text of a data pixel (default describePixel). */
  describe?: (px: number, py: number) => string;
  /** Extra drawing over the image, in canvas CSS pixels; data pixel (x, y) is at (left + x·scale, top + y·scale). */
  overlay?: (ctx: CanvasRenderingContext2D, view: { left: number; top: number; scale: number; width: number; height: number }) => void;
}

function defaultColormap(mode: DisplayMode): ColormapName {
  if (mode === 'phase' || mode === 'rgb') return 'twilight';
  if (mode === 'amplitude') return 'gray';
  return 'viridis';
}

function colormapChoices(mode: DisplayMode): readonly ColormapName[] {
  if (mode === 'rgb') return PHASE_COLORMAPS.filter((c) => COLORMAPS[c].cyclic);
  return mode === 'phase' ? PHASE_COLORMAPS : SEQUENTIAL_COLORMAPS;
}

export class ImageViewer {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly readout: HTMLElement;
  private readonly colorbar: HTMLCanvasElement;
  private readonly wrap: HTMLElement;
  private readonly note: HTMLElement;
  private readonly modeSelect: HTMLSelectElement;
  private readonly cmapSelect: HTMLSelectElement;
  private readonly logBox: HTMLInputElement;
  private readonly logLabel: HTMLElement;
  private readonly loInput: HTMLInputElement;
  private readonly hiInput: HTMLInputElement;
  private readonly exportButton: HTMLButtonElement;
  private readonly offscreen = document.createElement('canvas');
  private readonly sync: ViewSync;
  private settings: ViewerSettings;
  private image?: ImageInput;
  /** The current mode's real values (undefined for rgb, which maps the complex data directly). */
  private values?: Float32Array;
  private valuesKey = '';
  private window: Window = { lo: 0, hi: 1 };
  private readonly unsubscribe: () => void;
  private resizeObserver?: ResizeObserver;
  private drag?: { x: number; y: number; view: ViewState; id: number };
  private hoverText = '';
  /** Last pointer position over the canvas (client coordinates), to refresh the readout when data change. */
  private pointer?: { x: number; y: number };
  private destroyed = false;
  /** A data pixel marked with a crosshair (the hover of a synced viewer). */
  private marker?: { x: number; y: number };

  constructor(parent: HTMLElement, private readonly opts: ImageViewerOptions) {
    this.sync = opts.sync ?? new ViewSync();
    this.settings = {
      mode: opts.settings?.mode ?? 'value',
      colormaps: { ...opts.settings?.colormaps },
      scale: opts.settings?.scale ?? 'linear',
      windows: { ...opts.settings?.windows },
    };
    const id = opts.id;
    this.modeSelect = select([], 'value', { class: 'iv-mode', 'aria-label': 'What to show of the complex values', onchange: () => this.setMode(this.modeSelect.value as DisplayMode) });
    this.cmapSelect = select([], 'viridis', { class: 'iv-cmap', 'aria-label': 'Colormap', onchange: () => this.setColormap(this.cmapSelect.value) });
    this.logBox = h('input', { type: 'checkbox', class: 'iv-log', id: `${id}-log`, onchange: () => this.setScale(this.logBox.checked ? 'log' : 'linear') });
    this.logLabel = h('label', { class: 'iv-check', for: `${id}-log`, title: 'Show log10(1 + value): for photon counts spanning decades' }, this.logBox, 'log');
    const onWindowInput = (): void => this.windowFromInputs();
    this.loInput = h('input', { type: 'number', class: 'iv-lo', step: 'any', 'aria-label': 'Window minimum (values at or below get the first colour)', onchange: onWindowInput });
    this.hiInput = h('input', { type: 'number', class: 'iv-hi', step: 'any', 'aria-label': 'Window maximum (values at or above get the last colour)', onchange: onWindowInput });
    const button = (label: string, title: string, onclick: () => void, cls = ''): HTMLButtonElement =>
      h('button', { type: 'button', class: `iv-btn ${cls}`.trim(), title, 'aria-label': title, onclick }, label);
    this.exportButton = button('Export PNG', 'Export what is shown (image and colorbar) as a PNG file', () => void this.exportPng(), 'iv-export');
    if (!opts.exportPng) this.exportButton.hidden = true;
    const toolbar = h('div', { class: 'iv-toolbar', role: 'toolbar', 'aria-label': `${opts.title ?? opts.label ?? 'Image'} display settings` },
      h('span', { class: 'iv-group' }, this.modeSelect, this.cmapSelect, this.logLabel),
      h('span', { class: 'iv-group iv-window', role: 'group', 'aria-label': 'Contrast window' },
        h('span', { class: 'iv-label' }, 'window'), this.loInput, h('span', { class: 'iv-dash' }, '–'), this.hiInput,
        button('Auto', 'Automatic window (1st–99th percentile; −π…π for phase)', () => this.autoWindow(), 'iv-auto'),
        button('Min/Max', 'Window = full range of the values shown', () => this.minMaxWindow(), 'iv-minmax')));
    const viewTools = h('span', { class: 'iv-group iv-zoom', role: 'group', 'aria-label': 'Zoom and export' },
      button('−', 'Zoom out (−)', () => this.zoomBy(1 / 1.5), 'iv-zoom-out'),
      button('+', 'Zoom in (+)', () => this.zoomBy(1.5), 'iv-zoom-in'),
      button('Fit', 'Fit the image (0, or double-click)', () => this.sync.reset(this), 'iv-fit'),
      this.exportButton);
    this.canvas = h('canvas', { class: 'iv-canvas', id: `${id}-canvas`, tabindex: 0, role: 'img', 'aria-label': 'Image (no data yet)' });
    this.wrap = h('div', { class: 'iv-canvas-wrap' }, this.canvas);
    this.colorbar = h('canvas', { class: 'iv-colorbar', id: `${id}-colorbar`, role: 'img', 'aria-label': 'Colorbar' });
    this.readout = h('div', { class: 'iv-readout', id: `${id}-readout`, 'aria-live': 'off' }, this.idleText());
    this.note = h('div', { class: 'iv-note' });
    this.root = h('section', { class: 'iv', id, 'aria-label': opts.title ?? opts.label ?? 'Image viewer' },
      opts.title ? h('h3', { class: 'iv-title' }, opts.title) : undefined,
      toolbar,
      h('div', { class: 'iv-body' }, this.wrap, this.colorbar),
      h('div', { class: 'iv-footer' }, this.readout, viewTools),
      this.note);
    parent.append(this.root);
    if (opts.toolbar === false) toolbar.hidden = true;
    if (opts.colorbar === false) {
      this.colorbar.hidden = true;
      this.root.classList.add('iv-no-colorbar');
    }
    if (opts.footerTools === false) viewTools.hidden = true;
    this.unsubscribe = this.sync.subscribe(() => this.draw());
    this.attachInput();
    if (typeof ResizeObserver !== 'undefined') {
      this.resizeObserver = new ResizeObserver(() => this.draw());
      this.resizeObserver.observe(this.wrap);
    }
    onThemeChange(() => this.draw());
    this.syncControls();
  }

  get currentSettings(): ViewerSettings {
    return structuredClone(this.settings);
  }

  /** Shows new data (e.g. the next frame). Manual windows are kept; automatic ones follow the data. */
  setImage(img: ImageInput): void {
    const started = performance.now();
    const first = !this.image;
    const sizeChanged = !this.image || this.image.width !== img.width || this.image.height !== img.height;
    this.image = img;
    if (img.complex && !COMPLEX_MODES.includes(this.settings.mode)) this.settings.mode = 'amplitude';
    if (!img.complex) this.settings.mode = 'value';
    this.valuesKey = '';
    if (sizeChanged) this.wrap.style.aspectRatio = `${img.width} / ${img.height}`;
    if (first && !this.opts.sync) this.sync.reset(this);
    this.syncControls();
    this.render(started);
    // The readout describes the new data: re-read under the pointer, or drop the old value.
    if (this.pointer) this.hover(this.pointer.x, this.pointer.y);
    else {
      this.hoverText = '';
      this.readout.textContent = this.idleText();
    }
  }

  private emitSettings(): void {
    this.opts.onSettingsChange?.(this.currentSettings);
  }

  private setMode(mode: DisplayMode): void {
    this.settings.mode = mode;
    this.valuesKey = '';
    this.syncControls();
    this.render();
    this.emitSettings();
  }

  private setColormap(name: string): void {
    if (!isColormapName(name) || !this.choices(this.settings.mode).includes(name)) return;
    this.settings.colormaps[this.settings.mode] = name;
    this.render();
    this.emitSettings();
  }

  private setScale(scale: Scale): void {
    this.settings.scale = scale;
    this.syncControls();
    this.render();
    this.emitSettings();
  }

  private usesScale(): boolean {
    const m = this.settings.mode;
    return m === 'value' || m === 'amplitude';
  }

  private effectiveScale(): Scale {
    return this.usesScale() ? this.settings.scale : 'linear';
  }

  private colormap(): ColormapName {
    const m = this.settings.mode;
    const chosen = this.settings.colormaps[m];
    const allowed = this.choices(m);
    return chosen && allowed.includes(chosen) ? chosen : allowed.includes(defaultColormap(m)) ? defaultColormap(m) : allowed[0];
  }

  /** The values the window applies to: the mode's component, or the amplitude for complex → RGB. */
  private currentValues(): Float32Array | undefined {
    const img = this.image;
    if (!img) return undefined;
    const m = this.settings.mode;
    const key = `${m}`;
    if (this.valuesKey === key && this.values) return this.values;
    this.values = !img.complex ? img.data : complexComponent(img.data, m === 'rgb' ? 'amplitude' : (m as 'amplitude' | 'phase' | 'real' | 'imag'), undefined, img.rotation ?? 0);
    this.valuesKey = key;
    return this.values;
  }

  private automaticWindow(values: Float32Array): Window {
    const m = this.settings.mode;
    const custom = this.opts.autoWindow?.(values, m);
    if (custom) return custom;
    if (m === 'phase') return { lo: -Math.PI, hi: Math.PI };
    if (m === 'rgb') {
      const [hi] = percentiles(values, [99.5]);
      return { lo: 0, hi: hi > 0 ? hi : 1 };
    }
    if (this.effectiveScale() === 'log') {
      const mm = finiteMinMax(values);
      if (mm.finite === 0) return { lo: 0, hi: 1 };
      const lo = Math.max(0, mm.min);
      return { lo, hi: mm.max > lo ? mm.max : lo + 1 };
    }
    return autoWindow(values, 1, 99);
  }

  private autoWindow(): void {
    delete this.settings.windows[this.settings.mode];
    this.render();
    this.emitSettings();
  }

  private minMaxWindow(): void {
    const v = this.currentValues();
    if (!v) return;
    const mm = finiteMinMax(v);
    if (mm.finite === 0) return;
    this.settings.windows[this.settings.mode] = { lo: mm.min, hi: mm.max > mm.min ? mm.max : mm.min + 1 };
    this.render();
    this.emitSettings();
  }

  private windowFromInputs(): void {
    const lo = Number(this.loInput.value);
    const hi = Number(this.hiInput.value);
    const ok = this.loInput.value.trim() !== '' && this.hiInput.value.trim() !== '' && Number.isFinite(lo) && Number.isFinite(hi) && hi > lo;
    this.loInput.classList.toggle('invalid', !ok);
    this.hiInput.classList.toggle('invalid', !ok);
    this.loInput.setAttribute('aria-invalid', String(!ok));
    this.hiInput.setAttribute('aria-invalid', String(!ok));
    if (!ok) {
      this.hiInput.title = 'The maximum must be larger than the minimum';
      return;
    }
    this.hiInput.title = '';
    this.settings.windows[this.settings.mode] = { lo, hi };
    this.render();
    this.emitSettings();
  }

  private syncControls(): void {
    const img = this.image;
    const complex = img?.complex ?? false;
    const modes: DisplayMode[] = complex ? COMPLEX_MODES : ['value'];
    this.modeSelect.replaceChildren(...modes.map((m) => h('option', { value: m }, MODE_LABELS[m])));
    this.modeSelect.value = this.settings.mode;
    this.modeSelect.hidden = !complex || this.opts.fixedMode === true;
    const maps = this.choices(this.settings.mode);
    this.cmapSelect.replaceChildren(...maps.map((c) => h('option', { value: c }, COLORMAPS[c].label)));
    this.cmapSelect.value = this.colormap();
    this.cmapSelect.title = this.settings.mode === 'rgb' ? 'Cyclic colormap giving the hue of the phase' : 'Colormap';
    this.logLabel.hidden = !this.usesScale();
    this.logBox.checked = this.settings.scale === 'log';
  }

  /** Recomputes the RGBA image for the current data and settings, then draws. */
  /** Milliseconds per stage of the last render (component values, window, colormap, putImageData, draw). */
  lastRenderStages: Record<string, number> = {};

  private render(started = performance.now()): void {
    const img = this.image;
    const values = this.currentValues();
    if (!img || !values) return;
    const tValues = performance.now();
    const manual = this.settings.windows[this.settings.mode];
    this.window = manual ?? this.automaticWindow(values);
    const tWindow = performance.now();
    const auto = !manual;
    for (const [input, v] of [[this.loInput, this.window.lo], [this.hiInput, this.window.hi]] as const) {
      if (document.activeElement !== input) input.value = String(Number(v.toPrecision(6)));
      input.classList.remove('invalid');
      input.setAttribute('aria-invalid', 'false');
    }
    this.loInput.title = auto ? 'automatic' : 'set by hand';
    this.root.classList.toggle('iv-auto-window', auto);

    this.offscreen.width = img.width;
    this.offscreen.height = img.height;
    const octx = this.offscreen.getContext('2d')!;
    const data = octx.createImageData(img.width, img.height);
    const cmap = this.colormap();
    if (this.settings.mode === 'rgb') {
      complexToRgba(img.data, data.data, { lut: colormapLut(cmap), ampLo: this.window.lo, ampHi: this.window.hi, rotation: img.rotation ?? 0 });
    } else {
      mapToRgba(values, colormapLut(cmap), {
        lo: this.window.lo, hi: this.window.hi, scale: this.effectiveScale(),
        wrap: this.settings.mode === 'phase' && COLORMAPS[cmap].cyclic,
      }, data.data);
    }
    const tMap = performance.now();
    octx.putImageData(data, 0, 0);
    const tPut = performance.now();
    this.updateNote();
    this.draw();
    const end = performance.now();
    this.lastRenderStages = { values: tValues - started, window: tWindow - tValues, colormap: tMap - tWindow, putImageData: tPut - tMap, draw: end - tPut };
    this.opts.onRendered?.({ drawMs: end - started });
  }

  private updateNote(): void {
    const img = this.image!;
    const parts = [`${img.sourceWidth} × ${img.sourceHeight} px`];
    if (img.factor > 1) parts.push(`shown decimated ${img.factor}× (block means of ${img.factor} × ${img.factor} pixels) to ${img.width} × ${img.height}`);
    if (this.settings.mode === 'rgb') parts.push('hue = phase (colorbar), brightness = amplitude within the window');
    else if (this.effectiveScale() === 'log') parts.push('log scale: colour ∝ log10(1 + value)');
    if (this.settings.mode === 'phase') parts.push('phase in radians');
    this.note.textContent = parts.join(' · ');
  }

  // ---- geometry

  private geometry(): { cw: number; ch: number; s: number; left: number; top: number } | undefined {
    const img = this.image;
    if (!img) return undefined;
    const cw = this.wrap.clientWidth;
    const ch = this.wrap.clientHeight;
    if (cw === 0 || ch === 0) return undefined;
    const v = this.sync.state;
    const s = Math.min(cw / img.width, ch / img.height) * v.zoom;
    return { cw, ch, s, left: cw / 2 - v.cx * img.width * s, top: ch / 2 - v.cy * img.height * s };
  }

  /** Draws the current RGBA image at the shared zoom/centre, and the colorbar. */
  draw(): void {
    if (this.destroyed) return;
    const g = this.geometry();
    const dpr = window.devicePixelRatio || 1;
    if (!g || !this.image) return;
    const W = Math.round(g.cw * dpr);
    const H = Math.round(g.ch * dpr);
    if (this.canvas.width !== W) this.canvas.width = W;
    if (this.canvas.height !== H) this.canvas.height = H;
    const ctx = this.canvas.getContext('2d')!;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    // Nearest-neighbour when a data pixel covers at least a device pixel; smooth only when minifying.
    ctx.imageSmoothingEnabled = g.s * dpr < 1;
    ctx.drawImage(this.offscreen, g.left, g.top, this.image.width * g.s, this.image.height * g.s);
    if (this.opts.overlay) {
      ctx.save();
      this.opts.overlay(ctx, { left: g.left, top: g.top, scale: g.s, width: g.cw, height: g.ch });
      ctx.restore();
    }
    if (this.marker) this.drawMarker(ctx, g.left + (this.marker.x + 0.5) * g.s, g.top + (this.marker.y + 0.5) * g.s);
    this.canvas.setAttribute('aria-label', `${this.image.label}: ${MODE_LABELS[this.settings.mode]}, ${this.image.sourceWidth} × ${this.image.sourceHeight}, ` +
      `${this.colormap()} colormap, window ${formatValue(this.window.lo)} to ${formatValue(this.window.hi)}, zoom ${this.sync.state.zoom.toFixed(2)}×`);
    if (this.opts.colorbar !== false) this.drawColorbar(g.ch, dpr);
  }

  /** A crosshair with a dark and a light stroke (visible on any colormap). */
  private drawMarker(ctx: CanvasRenderingContext2D, x: number, y: number): void {
    ctx.save();
    for (const [style, width] of [['rgba(0,0,0,0.85)', 3], ['rgba(255,255,255,0.95)', 1]] as const) {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      ctx.moveTo(x - 10, y); ctx.lineTo(x - 3, y);
      ctx.moveTo(x + 3, y); ctx.lineTo(x + 10, y);
      ctx.moveTo(x, y - 10); ctx.lineTo(x, y - 3);
      ctx.moveTo(x, y + 3); ctx.lineTo(x, y + 10);
      ctx.stroke();
    }
    ctx.restore();
  }

  /** Marks a data pixel with a crosshair (undefined removes it): the hover of another, synced viewer. */
  setMarker(p: { x: number; y: number } | undefined): void {
    if (p?.x === this.marker?.x && p?.y === this.marker?.y) return;
    this.marker = p ? { ...p } : undefined;
    this.draw();
  }

  /**
   * Applies display settings from the page (shared windows, a colormap chosen for a whole grid) without
   * calling onSettingsChange. Windows given replace those of their modes; `null` returns a mode to Auto.
   */
  applySettings(s: { mode?: DisplayMode; colormaps?: ViewerSettings['colormaps']; scale?: Scale; windows?: Partial<Record<DisplayMode, Window | null>> }): void {
    if (s.mode && s.mode !== this.settings.mode) {
      this.settings.mode = s.mode;
      this.valuesKey = '';
    }
    if (s.colormaps) Object.assign(this.settings.colormaps, s.colormaps);
    if (s.scale) this.settings.scale = s.scale;
    for (const [m, w] of Object.entries(s.windows ?? {}) as [DisplayMode, Window | null][]) {
      if (w) this.settings.windows[m] = { lo: w.lo, hi: w.hi };
      else delete this.settings.windows[m];
    }
    this.syncControls();
    this.render();
  }

  private idleText(): string {
    return this.opts.idleReadout ?? 'Hover over the image to read values.';
  }

  /** The colormaps offered in `mode`: the defaults, narrowed by the allowedColormaps option. */
  private choices(mode: DisplayMode): readonly ColormapName[] {
    const all = colormapChoices(mode);
    const only = this.opts.allowedColormaps?.[mode]?.filter((c) => all.includes(c));
    return only && only.length > 0 ? only : all;
  }

  /** The window now applied (manual or automatic), in data units. */
  get displayWindow(): Window {
    return { ...this.window };
  }

  /** The current mode's values (amplitude, phase, … of complex data), e.g. for a window shared across viewers. */
  modeValues(): Float32Array | undefined {
    return this.currentValues();
  }

  /** Shows `p` (a data pixel) in the readout as a hover would; undefined restores the hint. */
  showPixel(p: { x: number; y: number } | undefined): void {
    const img = this.image;
    if (!img || !p || p.x < 0 || p.y < 0 || p.x >= img.width || p.y >= img.height) {
      this.readout.textContent = this.idleText();
      return;
    }
    this.hoverText = this.opts.describe ? this.opts.describe(p.x, p.y) : this.describePixel(p.x, p.y);
    this.readout.textContent = this.hoverText;
  }

  private drawColorbar(heightCss: number, dpr: number): void {
    const cb = this.colorbar;
    const widthCss = 76;
    cb.style.height = `${heightCss}px`;
    cb.width = Math.round(widthCss * dpr);
    cb.height = Math.round(heightCss * dpr);
    const ctx = cb.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, widthCss, heightCss);
    const fg = themeColor('--vscode-foreground', '#ccc');
    const border = isHighContrast() ? themeColor('--vscode-contrastBorder', fg) : themeColor('--vscode-widget-border', themeColor('--vscode-panel-border', '#8888'));
    const pad = 8;
    const barX = 2;
    const barW = 14;
    const barH = Math.max(10, heightCss - 2 * pad);
    const lut = colormapLut(this.colormap());
    const rgb = this.settings.mode === 'rgb';
    for (let y = 0; y < barH; y++) {
      const t = 1 - (y + 0.5) / barH;
      const i = Math.min(255, Math.max(0, Math.floor(t * 256)));
      ctx.fillStyle = `rgb(${lut[3 * i]},${lut[3 * i + 1]},${lut[3 * i + 2]})`;
      ctx.fillRect(barX, pad + y, barW, 1.5);
    }
    ctx.strokeStyle = border;
    ctx.lineWidth = 1;
    ctx.strokeRect(barX + 0.5, pad + 0.5, barW - 1, barH - 1);
    // Ticks: in data units, placed on the (possibly log) display scale.
    let ticks: Tick[];
    let f0: number;
    let f1: number;
    let place: (v: number) => number;
    if (rgb || this.settings.mode === 'phase') {
      const lo = rgb ? -Math.PI : this.window.lo;
      const hi = rgb ? Math.PI : this.window.hi;
      ticks = phaseTicks(lo, hi);
      f0 = lo;
      f1 = hi;
      place = (v) => v;
    } else {
      const scale = this.effectiveScale();
      ticks = windowTicks(this.window.lo, this.window.hi, scale, Math.max(2, Math.floor(barH / 40)));
      f0 = scaleValue(this.window.lo, scale);
      f1 = scaleValue(this.window.hi, scale);
      place = (v) => scaleValue(v, scale);
    }
    ctx.fillStyle = fg;
    ctx.strokeStyle = fg;
    ctx.font = canvasFont(11, 1);
    ctx.textBaseline = 'middle';
    let lastY = Infinity;
    for (const t of ticks) {
      const frac = f1 > f0 ? (place(t.value) - f0) / (f1 - f0) : 0.5;
      if (frac < -1e-9 || frac > 1 + 1e-9) continue;
      const y = pad + (1 - frac) * barH;
      if (Math.abs(lastY - y) < 12) continue; // keep labels from overlapping
      lastY = y;
      ctx.beginPath();
      ctx.moveTo(barX + barW, y);
      ctx.lineTo(barX + barW + 4, y);
      ctx.stroke();
      ctx.fillText(t.label, barX + barW + 6, Math.min(heightCss - 6, Math.max(6, y)));
    }
  }

  // ---- interaction

  private zoomBy(k: number, atCss?: { x: number; y: number }): void {
    const g = this.geometry();
    const img = this.image;
    if (!g || !img) return;
    const v = this.sync.state;
    const p = atCss ?? { x: g.cw / 2, y: g.ch / 2 };
    const dx = (p.x - g.left) / g.s;
    const dy = (p.y - g.top) / g.s;
    const zoom = Math.min(256, Math.max(0.25, v.zoom * k));
    const s2 = (g.s / v.zoom) * zoom;
    this.sync.set({ zoom, cx: (g.cw / 2 - p.x + dx * s2) / (img.width * s2), cy: (g.ch / 2 - p.y + dy * s2) / (img.height * s2) }, this);
  }

  private panBy(dxCss: number, dyCss: number, from: ViewState = this.sync.state): void {
    const g = this.geometry();
    const img = this.image;
    if (!g || !img) return;
    const s = (g.s / this.sync.state.zoom) * from.zoom;
    this.sync.set({ zoom: from.zoom, cx: from.cx - dxCss / (img.width * s), cy: from.cy - dyCss / (img.height * s) }, this);
  }

  private attachInput(): void {
    const c = this.canvas;
    c.addEventListener('wheel', (ev) => {
      ev.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoomBy(Math.exp(-ev.deltaY * (ev.deltaMode === 1 ? 0.05 : 0.0015)), { x: ev.clientX - r.left, y: ev.clientY - r.top });
    }, { passive: false });
    c.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return;
      c.setPointerCapture(ev.pointerId);
      this.drag = { x: ev.clientX, y: ev.clientY, view: { ...this.sync.state }, id: ev.pointerId };
      c.classList.add('dragging');
    });
    c.addEventListener('pointermove', (ev) => {
      if (this.drag && this.drag.id === ev.pointerId) this.panBy(ev.clientX - this.drag.x, ev.clientY - this.drag.y, this.drag.view);
      this.pointer = { x: ev.clientX, y: ev.clientY };
      this.hover(ev.clientX, ev.clientY);
    });
    const end = (ev: PointerEvent): void => {
      if (this.drag?.id !== ev.pointerId) return;
      this.drag = undefined;
      c.classList.remove('dragging');
    };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('pointerleave', () => {
      this.pointer = undefined;
      this.opts.onHover?.(undefined);
      if (!this.drag) this.readout.textContent = this.hoverText && this.opts.idleReadout === undefined ? `last: ${this.hoverText}` : this.idleText();
    });
    c.addEventListener('dblclick', () => this.sync.reset(this));
    c.addEventListener('keydown', (ev) => {
      const step = 40;
      const keys: Record<string, () => void> = {
        '+': () => this.zoomBy(1.5), '=': () => this.zoomBy(1.5), '-': () => this.zoomBy(1 / 1.5), '_': () => this.zoomBy(1 / 1.5),
        '0': () => this.sync.reset(this),
        ArrowLeft: () => this.panBy(step, 0), ArrowRight: () => this.panBy(-step, 0), ArrowUp: () => this.panBy(0, step), ArrowDown: () => this.panBy(0, -step),
      };
      const fn = keys[ev.key];
      if (fn && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
        ev.preventDefault();
        fn();
      }
    });
  }

  /** The readout for the data pixel under client point (x, y), if any. */
  private hover(clientX: number, clientY: number): void {
    const g = this.geometry();
    const img = this.image;
    if (!g || !img) return;
    const r = this.canvas.getBoundingClientRect();
    const px = Math.floor((clientX - r.left - g.left) / g.s);
    const py = Math.floor((clientY - r.top - g.top) / g.s);
    if (px < 0 || py < 0 || px >= img.width || py >= img.height) {
      this.readout.textContent = 'outside the image';
      this.opts.onHover?.(undefined);
      return;
    }
    this.hoverText = this.opts.describe ? this.opts.describe(px, py) : this.describePixel(px, py);
    this.readout.textContent = this.hoverText;
    this.opts.onHover?.({ x: px, y: py });
  }

  /** "x 12, y 40 · value 321.4" (source pixel coordinates; a block range when decimated). */
  describePixel(px: number, py: number): string {
    const img = this.image!;
    const f = img.factor;
    const coord = (p: number, max: number): string => (f > 1 ? `${p * f}–${Math.min(max, (p + 1) * f) - 1}` : String(p));
    const where = `x ${coord(px, img.sourceWidth)}, y ${coord(py, img.sourceHeight)}`;
    const i = py * img.width + px;
    const mean = f > 1 ? ' (block mean)' : '';
    if (!img.complex) return `${where} · value ${formatValue(img.data[i], 5)}${mean}`;
    const re = img.data[2 * i];
    const im = img.data[2 * i + 1];
    const amp = Math.hypot(re, im);
    const ph = wrapPhase(Math.atan2(im, re) + (img.rotation ?? 0));
    return `${where} · amplitude ${formatValue(amp, 5)} · phase ${formatValue(ph, 4)} rad${mean}`;
  }

  private async exportPng(): Promise<void> {
    if (!this.opts.exportPng || !this.image) return;
    const blob = await this.composite();
    const name = `${this.opts.exportBase ? `${this.opts.exportBase}_` : ''}${this.image.label.replace(/[[\]]/g, '_').replace(/_+$/, '')}_${this.settings.mode === 'value' ? this.colormap() : this.settings.mode}.png`;
    this.exportButton.disabled = true;
    try {
      const saved = await this.opts.exportPng(await blob.arrayBuffer(), name);
      this.readout.textContent = saved ? `Saved ${saved}` : 'Export cancelled.';
    } catch (err) {
      this.readout.textContent = `Export failed: ${(err as Error).message}`;
    } finally {
      this.exportButton.disabled = false;
    }
  }

  /** The image canvas and the colorbar side by side, as PNG (exactly what is on screen). */
  composite(): Promise<Blob> {
    const out = document.createElement('canvas');
    out.width = this.canvas.width + this.colorbar.width;
    out.height = Math.max(this.canvas.height, this.colorbar.height);
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = themeColor('--vscode-editor-background', '#1e1e1e');
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.drawImage(this.canvas, 0, 0);
    ctx.drawImage(this.colorbar, this.canvas.width, 0);
    return new Promise((resolve, reject) => out.toBlob((b) => (b ? resolve(b) : reject(new Error('the canvas could not be encoded'))), 'image/png'));
  }

  /** Fraction of canvas pixels drawn (alpha > 0) and the number of distinct colours (≤ 256) in a sample. */
  pixelStats(): { nonBlank: number; colors: number } {
    const { width, height } = this.canvas;
    if (width === 0 || height === 0) return { nonBlank: 0, colors: 0 };
    const d = this.canvas.getContext('2d')!.getImageData(0, 0, width, height).data;
    let drawn = 0;
    let total = 0;
    const colors = new Set<number>();
    const step = Math.max(1, Math.floor((width * height) / 40_000));
    for (let p = 0; p < width * height; p += step) {
      const i = 4 * p;
      total++;
      if (d[i + 3] > 0) {
        drawn++;
        if (colors.size < 256) colors.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      }
    }
    return { nonBlank: drawn / total, colors: colors.size };
  }

  state(): ViewerState {
    const px = this.pixelStats();
    return {
      id: this.opts.id, mode: this.settings.mode, colormap: this.colormap(), scale: this.effectiveScale(),
      window: { ...this.window }, zoom: this.sync.state.zoom, width: this.image?.width ?? 0, height: this.image?.height ?? 0,
      nonBlank: px.nonBlank, distinctColors: px.colors, readout: this.readout.textContent ?? '',
    };
  }

  destroy(): void {
    this.destroyed = true;
    this.unsubscribe();
    this.resizeObserver?.disconnect();
    this.root.remove();
  }
}

export { FIT_VIEW, ViewSync };
