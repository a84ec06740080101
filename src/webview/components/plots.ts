// The scan-position scatter plot of the NPZ preview (x/y coordinates of every diffraction pattern, the current frame
// highlighted, hover to read, click to jump to a frame), following the theme's colours with a text readout (stable
// id for tests and screen readers). Line plots are SeriesPlot's (seriesPlot.ts), the one line-plot component.
import { colormapColor } from '../../core/image/colormaps';
import { finiteMinMax } from '../../core/image/stats';
import { formatValue, labelTicks, niceTicks } from '../../core/image/ticks';
import { canvasFont, chartTheme, h, onThemeChange, sizeCanvas, themeColor } from './dom';

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Range {
  lo: number;
  hi: number;
}

function padRange(r: Range): Range {
  if (!(r.hi > r.lo)) return { lo: r.lo - 1, hi: r.hi + 1 };
  const p = (r.hi - r.lo) * 0.04;
  return { lo: r.lo - p, hi: r.hi + p };
}

function colors(): ReturnType<typeof chartTheme> & { point: string } {
  return { ...chartTheme(), point: themeColor('--vscode-charts-blue', '#3794ff') };
}

/** Draws axes with tick labels around `plot` for x/y data ranges; y grows downward when `yDown`. */
function drawAxes(ctx: CanvasRenderingContext2D, plot: Rect, xr: Range, yr: Range, yDown: boolean, labels: { x: string; y: string }): void {
  const c = colors();
  ctx.font = canvasFont(11, 1);
  ctx.strokeStyle = c.grid;
  ctx.fillStyle = c.muted;
  ctx.lineWidth = 1;
  ctx.strokeRect(plot.x + 0.5, plot.y + 0.5, plot.w - 1, plot.h - 1);
  const X = (v: number): number => plot.x + ((v - xr.lo) / (xr.hi - xr.lo)) * plot.w;
  const Y = (v: number): number => (yDown ? plot.y + ((v - yr.lo) / (yr.hi - yr.lo)) * plot.h : plot.y + plot.h - ((v - yr.lo) / (yr.hi - yr.lo)) * plot.h);
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const t of labelTicks(niceTicks(xr.lo, xr.hi, Math.max(2, Math.floor(plot.w / 80))))) {
    const x = X(t.value);
    ctx.beginPath();
    ctx.moveTo(x + 0.5, plot.y + plot.h);
    ctx.lineTo(x + 0.5, plot.y + plot.h + 4);
    ctx.stroke();
    ctx.fillText(t.label, x, plot.y + plot.h + 6);
  }
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (const t of labelTicks(niceTicks(yr.lo, yr.hi, Math.max(2, Math.floor(plot.h / 50))))) {
    const y = Y(t.value);
    ctx.beginPath();
    ctx.moveTo(plot.x - 4, y + 0.5);
    ctx.lineTo(plot.x, y + 0.5);
    ctx.stroke();
    ctx.fillText(t.label, plot.x - 6, y);
  }
  ctx.fillStyle = c.fg;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(labels.x, plot.x + plot.w / 2, plot.y + plot.h + 34);
  ctx.save();
  ctx.translate(12, plot.y + plot.h / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'top';
  ctx.fillText(labels.y, 0, -8);
  ctx.restore();
}

export interface ScatterOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** Called when a point is clicked (its index, in the full series). */
  onPick?: (index: number) => void;
}

/**
 * Scan positions: one dot per pattern, equal scales on x and y, y downward (as rows in the object image),
 * dots coloured from first to last pattern (viridis) so the scan path reads, the current frame ringed.
 */
export class ScatterPlot {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  readonly readout: HTMLElement;
  private x: Float64Array = new Float64Array(0);
  private y: Float64Array = new Float64Array(0);
  private stride = 1;
  private highlight: number | undefined;
  private layout?: { plot: Rect; xr: Range; yr: Range };
  private readonly dots = document.createElement('canvas');

  constructor(parent: HTMLElement, private readonly opts: ScatterOptions) {
    this.canvas = h('canvas', { class: 'plot-canvas scatter-canvas', id: `${opts.id}-canvas`, tabindex: 0, role: 'img', 'aria-label': `${opts.title}: no data yet` });
    this.readout = h('div', { class: 'plot-readout', id: `${opts.id}-readout`, 'aria-live': 'off' }, 'Hover over a point to read its position; click to show that frame.');
    this.root = h('section', { class: 'plot', id: opts.id, 'aria-label': opts.title }, h('h3', { class: 'plot-title' }, opts.title), this.canvas, this.readout);
    parent.append(this.root);
    new ResizeObserver(() => this.draw(true)).observe(this.canvas);
    onThemeChange(() => this.draw(true));
    this.canvas.addEventListener('pointermove', (ev) => {
      const i = this.nearest(ev);
      this.readout.textContent = i === undefined ? 'no point here' : this.describe(i);
    });
    this.canvas.addEventListener('click', (ev) => {
      const i = this.nearest(ev);
      if (i !== undefined) this.opts.onPick?.(i);
    });
    this.canvas.addEventListener('keydown', (ev) => {
      if (this.highlight === undefined || !this.opts.onPick) return;
      const n = this.x.length * this.stride;
      if (ev.key === 'ArrowRight' || ev.key === 'ArrowDown') this.opts.onPick(Math.min(n - 1, this.highlight + 1));
      else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowUp') this.opts.onPick(Math.max(0, this.highlight - 1));
      else return;
      ev.preventDefault();
    });
  }

  /** Every `stride`-th position of the full scan. */
  setData(x: Float64Array, y: Float64Array, stride: number): void {
    this.x = x;
    this.y = y;
    this.stride = stride;
    this.canvas.setAttribute('aria-label', `${this.opts.title}: ${x.length * stride} scan positions`);
    this.draw(true);
  }

  setHighlight(index: number | undefined): void {
    this.highlight = index;
    this.draw(false);
    if (index !== undefined && this.x.length > 0) this.readout.textContent = `current: ${this.describe(index)}`;
  }

  get pointCount(): number {
    return this.x.length;
  }

  private describe(i: number): string {
    const k = Math.floor(i / this.stride);
    if (k >= this.x.length) return `frame ${i}`;
    return `frame ${i} · x ${formatValue(this.x[k], 6)}, y ${formatValue(this.y[k], 6)}`;
  }

  private nearest(ev: PointerEvent | MouseEvent): number | undefined {
    const L = this.layout;
    if (!L || this.x.length === 0) return undefined;
    const r = this.canvas.getBoundingClientRect();
    const mx = ev.clientX - r.left;
    const my = ev.clientY - r.top;
    let best = -1;
    let bestD = 12 * 12;
    const sx = L.plot.w / (L.xr.hi - L.xr.lo);
    const sy = L.plot.h / (L.yr.hi - L.yr.lo);
    for (let k = 0; k < this.x.length; k++) {
      const dx = L.plot.x + (this.x[k] - L.xr.lo) * sx - mx;
      const dy = L.plot.y + (this.y[k] - L.yr.lo) * sy - my;
      const d = dx * dx + dy * dy;
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    return best < 0 ? undefined : best * this.stride;
  }

  /** `full`: recompute the layout and redraw every dot; otherwise only the highlight moves. */
  private draw(full: boolean): void {
    const s = sizeCanvas(this.canvas);
    if (!s) return;
    const { ctx, w, h: hh } = s;
    if (this.x.length === 0) return;
    if (full || !this.layout) {
      const mx = finiteMinMax(this.x);
      const my = finiteMinMax(this.y);
      let xr = padRange({ lo: mx.min, hi: mx.max });
      let yr = padRange({ lo: my.min, hi: my.max });
      const area: Rect = { x: 56, y: 8, w: Math.max(20, w - 66), h: Math.max(20, hh - 50) };
      // Equal data scales on both axes: widen the smaller range.
      const scale = Math.min(area.w / (xr.hi - xr.lo), area.h / (yr.hi - yr.lo));
      const cxr = (xr.lo + xr.hi) / 2;
      const cyr = (yr.lo + yr.hi) / 2;
      xr = { lo: cxr - area.w / scale / 2, hi: cxr + area.w / scale / 2 };
      yr = { lo: cyr - area.h / scale / 2, hi: cyr + area.h / scale / 2 };
      this.layout = { plot: area, xr, yr };
      this.renderDots(w, hh);
    }
    const L = this.layout;
    ctx.drawImage(this.dots, 0, 0, w, hh);
    drawAxes(ctx, L.plot, L.xr, L.yr, true, { x: this.opts.xLabel, y: this.opts.yLabel });
    if (this.highlight !== undefined) {
      const k = Math.floor(this.highlight / this.stride);
      if (k < this.x.length) {
        const px = L.plot.x + ((this.x[k] - L.xr.lo) / (L.xr.hi - L.xr.lo)) * L.plot.w;
        const py = L.plot.y + ((this.y[k] - L.yr.lo) / (L.yr.hi - L.yr.lo)) * L.plot.h;
        const c = colors();
        ctx.strokeStyle = c.accent;
        ctx.lineWidth = 2;
        ctx.beginPath();
        ctx.arc(px, py, 7, 0, 2 * Math.PI);
        ctx.stroke();
        ctx.lineWidth = 1;
        ctx.beginPath();
        ctx.moveTo(px - 12, py);
        ctx.lineTo(px - 8, py);
        ctx.moveTo(px + 8, py);
        ctx.lineTo(px + 12, py);
        ctx.moveTo(px, py - 12);
        ctx.lineTo(px, py - 8);
        ctx.moveTo(px, py + 8);
        ctx.lineTo(px, py + 12);
        ctx.stroke();
      }
    }
  }

  private renderDots(w: number, hh: number): void {
    const L = this.layout!;
    const dpr = window.devicePixelRatio || 1;
    this.dots.width = Math.round(w * dpr);
    this.dots.height = Math.round(hh * dpr);
    const ctx = this.dots.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hh);
    const n = this.x.length;
    const r = n > 20_000 ? 1 : n > 2000 ? 1.5 : 2.5;
    ctx.globalAlpha = n > 20_000 ? 0.5 : 0.85;
    const buckets = 16; // colour by scan order: first patterns dark, last bright (viridis)
    for (let b = 0; b < buckets; b++) {
      const [cr, cg, cb] = colormapColor('viridis', 0.15 + (0.85 * b) / (buckets - 1));
      ctx.fillStyle = `rgb(${cr},${cg},${cb})`;
      ctx.beginPath();
      const from = Math.floor((b * n) / buckets);
      const to = Math.floor(((b + 1) * n) / buckets);
      for (let k = from; k < to; k++) {
        const px = L.plot.x + ((this.x[k] - L.xr.lo) / (L.xr.hi - L.xr.lo)) * L.plot.w;
        const py = L.plot.y + ((this.y[k] - L.yr.lo) / (L.yr.hi - L.yr.lo)) * L.plot.h;
        ctx.moveTo(px + r, py);
        ctx.arc(px, py, r, 0, 2 * Math.PI);
      }
      ctx.fill();
    }
    ctx.globalAlpha = 1;
  }
}
