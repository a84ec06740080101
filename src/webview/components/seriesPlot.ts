// The one line-plot component of the workbench: the FRC curves (amplitude and phase, trained and untrained, with
// the 0.5 and 1/7 threshold lines), a metric against dose (one line per view, log dose axis), the job panel's loss
// (per-step curve faint with its smoothed line, epoch means, learning-rate and resume marks, a log axis through
// caller-given ticks) and quality per epoch, Compare Runs' overlaid curves, and the NPZ preview's 1-D arrays. Series have a colour from the theme's chart palette, a dash
// pattern and markers; a legend; hovering reads the nearest point into a text readout (stable id for tests and
// screen readers) — or, with `snapX`, every series at the nearest x (an epoch), also with ← → on the focused plot.
import { formatValue, labelTicks, niceTicks, type Tick } from '../../core/image/ticks';
import { canvasFont, chartTheme, h, onThemeChange, sizeCanvas, themeColor } from './dom';
import type { Series, VLine } from './series';

export { SERIES_COLORS, type Series, type VLine } from './series';


export interface HLine {
  y: number;
  label: string;
}

export interface SeriesPlotOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** log10 x axis (doses). */
  logX?: boolean;
  /** Fixed y range (e.g. 0…1 for FRC); default: the data's. */
  yRange?: { lo: number; hi: number };
  /** Explicit x ticks (e.g. the doses, labelled 1e3…). */
  xTicks?: Tick[];
  /** Canvas height in CSS pixels (default 260). */
  height?: number;
  /** Fixed x range (e.g. 0 to the epochs planned); default: the data's, padded. */
  xRange?: { lo: number; hi: number };
  /** Only whole numbers on the x axis (epochs). */
  integerX?: boolean;
  /** False: no legend drawn on the canvas (the caller shows its own). */
  legend?: boolean;
  /** What an empty plot says (default: "no data to plot"). */
  emptyText?: string;
  /** False: no title above the canvas (the caller's card has its heading). */
  heading?: boolean;
  /**
   * Read by x rather than by point: hovering (or ← → Home End on the focused canvas) picks the nearest x of
   * the data, marks it with a cursor and rings on each series, and the readout shows describe(x).
   */
  snapX?: { describe: (x: number) => string; hint: string };
}

const PALETTE: Record<string, [string, string]> = {
  blue: ['--vscode-charts-blue', '#3794ff'],
  red: ['--vscode-charts-red', '#f14c4c'],
  green: ['--vscode-charts-green', '#89d185'],
  orange: ['--vscode-charts-orange', '#d18616'],
  purple: ['--vscode-charts-purple', '#b180d7'],
  yellow: ['--vscode-charts-yellow', '#cca700'],
};


function colorOf(name: string): string {
  const p = PALETTE[name];
  return p ? themeColor(p[0], p[1]) : name;
}

export class SeriesPlot {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly readout: HTMLElement;
  private series: Series[] = [];
  private hlines: HLine[] = [];
  private vlines: VLine[] = [];
  /** Caller-given y ticks (a log axis drawn in transformed units), for the current data. */
  private yTicks?: Tick[];
  private layout?: { x: number; y: number; w: number; h: number; X: (v: number) => number; Y: (v: number) => number };
  /** With snapX: the x marked by the cursor. */
  private cursor?: number;
  /** The fixed ranges in force (the options', or the last setData's). */
  private xRange?: { lo: number; hi: number };
  private yRange?: { lo: number; hi: number };

  constructor(parent: HTMLElement, private readonly opts: SeriesPlotOptions) {
    this.canvas = h('canvas', { class: 'plot-canvas series-canvas', id: `${opts.id}-canvas`, tabindex: 0, role: 'img', 'aria-label': `${opts.title}: no data yet` });
    this.canvas.style.height = `${opts.height ?? 260}px`;
    this.readout = h('div', { class: 'plot-readout', id: `${opts.id}-readout`, 'aria-live': opts.snapX ? 'polite' : 'off' }, opts.snapX?.hint ?? 'Hover over the plot to read values.');
    this.root = h('section', { class: 'plot', id: opts.id, 'aria-label': opts.title }, opts.heading === false ? undefined : h('h3', { class: 'plot-title' }, opts.title), this.canvas, this.readout);
    parent.append(this.root);
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.draw()).observe(this.canvas);
    onThemeChange(() => this.draw());
    this.canvas.addEventListener('pointermove', (ev) => this.hover(ev));
    if (opts.snapX) {
      this.canvas.addEventListener('pointerleave', () => this.setCursor(undefined));
      this.canvas.addEventListener('keydown', (ev) => this.key(ev));
    }
  }

  /** Renames the x axis (and the hover hint): a Phase F job's quality is per iteration, not per epoch. */
  setXLabel(xLabel: string, hint?: string): void {
    if (this.opts.xLabel === xLabel) return;
    this.opts.xLabel = xLabel;
    if (hint && this.opts.snapX) {
      this.opts.snapX.hint = hint;
      if (this.cursor === undefined) this.readout.textContent = hint;
    }
    this.draw();
  }

  /** Renames the y axis (the loss chart's log view says what it plots). */
  setYLabel(yLabel: string): void {
    this.opts.yLabel = yLabel;
  }

  /** The distinct x values that have a finite y in some series, ascending (the stops of snapX). */
  private stops(): number[] {
    const xs = new Set<number>();
    for (const s of this.series) {
      if (s.cursor === false) continue;
      for (let i = 0; i < s.x.length; i++) if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) xs.add(s.x[i]);
    }
    return [...xs].sort((a, b) => a - b);
  }

  private setCursor(x: number | undefined): void {
    this.cursor = x;
    if (x !== undefined && this.opts.snapX) this.readout.textContent = this.opts.snapX.describe(x);
    this.draw();
  }

  private key(ev: KeyboardEvent): void {
    const xs = this.stops();
    if (xs.length === 0) return;
    const i = this.cursor === undefined ? xs.length - 1 : Math.max(0, xs.indexOf(this.cursor));
    let j: number;
    if (ev.key === 'ArrowLeft') j = Math.max(0, i - 1);
    else if (ev.key === 'ArrowRight') j = Math.min(xs.length - 1, i + 1);
    else if (ev.key === 'Home') j = 0;
    else if (ev.key === 'End') j = xs.length - 1;
    else return;
    ev.preventDefault();
    this.setCursor(xs[j]);
  }

  get seriesCount(): number {
    return this.series.filter((s) => s.x.length > 0).length;
  }

  /** What an empty plot says from now on. */
  setEmptyText(text: string): void {
    this.opts.emptyText = text;
  }

  /** The x cursor's position (snapX), if any. */
  get cursorX(): number | undefined {
    return this.cursor;
  }

  /**
   * New data; `ranges` replaces the options' fixed x and y ranges for it (e.g. as more epochs are planned), `yTicks`
   * gives the y ticks (values in plotted units, with their labels), `vlines` vertical marks.
   */
  setData(series: Series[], hlines: HLine[] = [], ranges: { x?: { lo: number; hi: number }; y?: { lo: number; hi: number }; yTicks?: Tick[]; vlines?: VLine[] } = {}): void {
    this.series = series;
    this.hlines = hlines;
    this.vlines = ranges.vlines ?? [];
    this.yTicks = ranges.yTicks;
    this.xRange = ranges.x ?? this.opts.xRange;
    this.yRange = ranges.y ?? this.opts.yRange;
    if (this.cursor !== undefined && this.opts.snapX) {
      if (this.stops().includes(this.cursor)) this.readout.textContent = this.opts.snapX.describe(this.cursor);
      else this.cursor = undefined;
    }
    const desc = series.map((s) => `${s.label} (${s.x.length} points)`).join(', ');
    this.canvas.setAttribute('aria-label', `${this.opts.title}: ${desc || 'no data'}`);
    this.draw();
  }

  private tx(v: number): number {
    return this.opts.logX ? Math.log10(v) : v;
  }

  draw(): void {
    const sized = sizeCanvas(this.canvas);
    if (!sized) return;
    const { ctx, w, h: hh } = sized;
    const { fg, muted, grid } = chartTheme();
    let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
    for (const s of this.series) {
      for (let i = 0; i < s.x.length; i++) {
        const x = this.tx(s.x[i]);
        const y = s.y[i];
        if (!Number.isFinite(x) || !Number.isFinite(y)) continue;
        xlo = Math.min(xlo, x); xhi = Math.max(xhi, x); ylo = Math.min(ylo, y); yhi = Math.max(yhi, y);
      }
    }
    for (const t of this.opts.xTicks ?? []) {
      xlo = Math.min(xlo, this.tx(t.value));
      xhi = Math.max(xhi, this.tx(t.value));
    }
    if (!Number.isFinite(xlo)) {
      ctx.fillStyle = muted;
      ctx.font = canvasFont(12, 1);
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(this.opts.emptyText ?? 'no data to plot', w / 2, hh / 2);
      this.layout = undefined;
      return;
    }
    const xRange = this.xRange ?? this.opts.xRange;
    const yRange = this.yRange ?? this.opts.yRange;
    if (yRange) ({ lo: ylo, hi: yhi } = yRange);
    if (xRange) ({ lo: xlo, hi: xhi } = { lo: this.tx(xRange.lo), hi: this.tx(xRange.hi) });
    if (!(xhi > xlo)) { xlo -= 0.5; xhi += 0.5; }
    if (!(yhi > ylo)) { ylo -= 1; yhi += 1; }
    const xpad = xRange ? 0 : (xhi - xlo) * 0.04;
    const ypad = yRange ? 0 : (yhi - ylo) * 0.08;
    xlo -= xpad; xhi += xpad; ylo -= ypad; yhi += ypad;
    const legendSeries = this.opts.legend === false ? [] : this.series.filter((x) => x.legend !== false);
    const legendH = 18 * Math.ceil(legendSeries.length / Math.max(1, Math.floor((w - 70) / 190)));
    const P = { x: 58, y: 8 + legendH, w: Math.max(20, w - 70), h: Math.max(20, hh - 52 - legendH) };
    const X = (v: number): number => P.x + ((this.tx(v) - xlo) / (xhi - xlo)) * P.w;
    const Xt = (t: number): number => P.x + ((t - xlo) / (xhi - xlo)) * P.w;
    const Y = (v: number): number => P.y + P.h - ((v - ylo) / (yhi - ylo)) * P.h;
    this.layout = { ...P, X, Y };
    // Axes and ticks.
    ctx.font = canvasFont(11, 1);
    ctx.lineWidth = 1;
    ctx.strokeStyle = grid;
    ctx.strokeRect(P.x + 0.5, P.y + 0.5, P.w - 1, P.h - 1);
    ctx.fillStyle = muted;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    const xt = this.opts.xTicks ?? labelTicks(niceTicks(xlo, xhi, Math.max(2, Math.min(Math.floor(P.w / 80), this.opts.integerX ? Math.ceil(xhi - xlo) : Infinity)))
      .filter((v) => !this.opts.integerX || Number.isInteger(v)));
    for (const t of xt) {
      const x = this.opts.xTicks ? X(t.value) : Xt(t.value);
      if (x < P.x - 1 || x > P.x + P.w + 1) continue;
      ctx.beginPath(); ctx.moveTo(x + 0.5, P.y + P.h); ctx.lineTo(x + 0.5, P.y + P.h + 4); ctx.stroke();
      ctx.fillText(t.label, x, P.y + P.h + 6);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const t of this.yTicks ?? labelTicks(niceTicks(ylo, yhi, Math.max(2, Math.floor(P.h / 45))))) {
      if (t.value < ylo || t.value > yhi) continue;
      const y = Y(t.value);
      ctx.strokeStyle = grid;
      ctx.globalAlpha = 0.5;
      ctx.beginPath(); ctx.moveTo(P.x, y + 0.5); ctx.lineTo(P.x + P.w, y + 0.5); ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.fillText(t.label, P.x - 6, y);
    }
    ctx.fillStyle = fg;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    ctx.fillText(this.opts.xLabel, P.x + P.w / 2, hh - 2);
    ctx.save();
    ctx.translate(12, P.y + P.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = 'top';
    ctx.fillText(this.opts.yLabel, 0, -8);
    ctx.restore();
    // Threshold lines.
    for (const l of this.hlines) {
      if (l.y < ylo || l.y > yhi) continue;
      const y = Y(l.y);
      ctx.strokeStyle = muted;
      ctx.setLineDash([2, 3]);
      ctx.beginPath(); ctx.moveTo(P.x, y + 0.5); ctx.lineTo(P.x + P.w, y + 0.5); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = muted;
      ctx.textAlign = 'right';
      ctx.textBaseline = 'bottom';
      ctx.fillText(l.label, P.x + P.w - 4, y - 1);
    }
    // Series.
    ctx.save();
    ctx.beginPath();
    ctx.rect(P.x, P.y, P.w, P.h);
    ctx.clip();
    // Vertical marks (behind the series), labelled at the top.
    ctx.font = canvasFont(11, 1);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'top';
    ctx.setLineDash([3, 3]);
    for (const v of this.vlines) {
      const x = X(v.x);
      ctx.strokeStyle = colorOf(v.color);
      ctx.fillStyle = colorOf(v.color);
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x + 0.5, P.y); ctx.lineTo(x + 0.5, P.y + P.h); ctx.stroke();
      ctx.fillText(v.label, x + 3, P.y + 3 + 13 * (v.row ?? 0));
    }
    ctx.setLineDash([]);
    for (const s of this.series) {
      const c = colorOf(s.color);
      ctx.strokeStyle = c;
      ctx.fillStyle = c;
      ctx.lineWidth = s.width ?? 1.75;
      ctx.globalAlpha = s.alpha ?? 1;
      ctx.setLineDash(s.dash ?? []);
      ctx.beginPath();
      let pen = false;
      for (let i = 0; i < s.x.length; i++) {
        if (!Number.isFinite(s.y[i]) || !Number.isFinite(this.tx(s.x[i]))) { pen = false; continue; }
        const x = X(s.x[i]);
        const y = Y(s.y[i]);
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
      }
      ctx.stroke();
      ctx.setLineDash([]);
      if (s.markers) {
        for (let i = 0; i < s.x.length; i++) {
          if (!Number.isFinite(s.y[i])) continue;
          ctx.beginPath();
          ctx.arc(X(s.x[i]), Y(s.y[i]), s.markerRadius ?? 3, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
      ctx.globalAlpha = 1;
    }
    // The snapX cursor, with a ring on each series' point there.
    if (this.cursor !== undefined) {
      const x = X(this.cursor);
      ctx.strokeStyle = chartTheme().accent;
      ctx.lineWidth = 1;
      ctx.beginPath(); ctx.moveTo(x + 0.5, P.y); ctx.lineTo(x + 0.5, P.y + P.h); ctx.stroke();
      ctx.lineWidth = 2;
      for (const s of this.series) {
        if (s.cursor === false) continue;
        for (let i = 0; i < s.x.length; i++) {
          if (s.x[i] !== this.cursor || !Number.isFinite(s.y[i])) continue;
          ctx.strokeStyle = colorOf(s.color);
          ctx.beginPath(); ctx.arc(x, Y(s.y[i]), 6, 0, 2 * Math.PI); ctx.stroke();
        }
      }
    }
    ctx.restore();
    // Legend.
    let lx = P.x;
    let ly = 4;
    ctx.font = canvasFont(11, 1);
    ctx.textAlign = 'left';
    ctx.textBaseline = 'middle';
    for (const s of legendSeries) {
      const tw = ctx.measureText(s.label).width + 34;
      if (lx + tw > P.x + P.w && lx > P.x) { lx = P.x; ly += 18; }
      ctx.strokeStyle = colorOf(s.color);
      ctx.lineWidth = 2;
      ctx.setLineDash(s.dash ?? []);
      ctx.beginPath(); ctx.moveTo(lx, ly + 6); ctx.lineTo(lx + 22, ly + 6); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = fg;
      ctx.fillText(s.label, lx + 26, ly + 6);
      lx += Math.max(tw, 150);
    }
  }

  private hover(ev: PointerEvent): void {
    const L = this.layout;
    if (!L) return;
    const r = this.canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left;
    const my = ev.clientY - r.top;
    if (this.opts.snapX) {
      let bx: number | undefined;
      for (const x of this.stops()) if (bx === undefined || Math.abs(L.X(x) - mx) < Math.abs(L.X(bx) - mx)) bx = x;
      if (bx !== this.cursor) this.setCursor(bx);
      return;
    }
    let best: { s: Series; i: number; d: number } | undefined;
    for (const s of this.series) {
      for (let i = 0; i < s.x.length; i++) {
        if (!Number.isFinite(s.y[i])) continue;
        const d = (L.X(s.x[i]) - mx) ** 2 + (L.Y(s.y[i]) - my) ** 2;
        if (!best || d < best.d) best = { s, i, d };
      }
    }
    this.readout.textContent = best && best.d < 40 * 40
      ? `${best.s.label} · ${this.opts.xLabel} ${formatValue(best.s.x[best.i], 4)} · ${this.opts.yLabel} ${formatValue(best.s.y[best.i], 4)}`
      : 'no point here';
  }
}
