// A stand-alone horizontal colorbar with tick labels, for a colour scale shared by several image viewers
// (the study-comparison grid draws one for all its cells). Phase scales get π ticks. Follows the theme.
import { colormapLut, type ColormapName } from '../../core/image/colormaps';
import { phaseTicks, windowTicks } from '../../core/image/ticks';
import { canvasFont, h, isHighContrast, onThemeChange, sizeCanvas, themeColor } from './dom';

export interface ColorbarScale {
  colormap: ColormapName;
  lo: number;
  hi: number;
  /** Phase in radians: ticks at multiples of π/2. */
  phase: boolean;
  /** Unit shown after the ticks, e.g. "rad". */
  unit?: string;
}

export class Colorbar {
  readonly root: HTMLElement;
  readonly canvas: HTMLCanvasElement;
  private scale?: ColorbarScale;

  constructor(parent: HTMLElement, private readonly opts: { id: string; label: string }) {
    this.canvas = h('canvas', { class: 'shared-colorbar', id: `${opts.id}-canvas`, role: 'img', 'aria-label': `${opts.label}: no scale yet` });
    this.root = h('div', { class: 'shared-colorbar-wrap', id: opts.id }, this.canvas);
    parent.append(this.root);
    if (typeof ResizeObserver !== 'undefined') new ResizeObserver(() => this.draw()).observe(this.canvas);
    onThemeChange(() => this.draw());
  }

  set(scale: ColorbarScale): void {
    this.scale = { ...scale };
    this.canvas.setAttribute('aria-label', `${this.opts.label}: ${scale.colormap}, ${scale.lo.toPrecision(3)} to ${scale.hi.toPrecision(3)}${scale.unit ? ` ${scale.unit}` : ''}`);
    this.draw();
  }

  draw(): void {
    const s = this.scale;
    const sized = s ? sizeCanvas(this.canvas) : undefined;
    if (!s || !sized) return;
    const { ctx, w } = sized;
    const fg = themeColor('--vscode-foreground', '#ccc');
    const border = isHighContrast() ? themeColor('--vscode-contrastBorder', fg) : themeColor('--vscode-widget-border', '#8888');
    const padX = 14;
    const barW = Math.max(10, w - 2 * padX);
    const barH = 12;
    const lut = colormapLut(s.colormap);
    for (let x = 0; x < barW; x++) {
      const i = Math.min(255, Math.floor(((x + 0.5) / barW) * 256));
      ctx.fillStyle = `rgb(${lut[3 * i]},${lut[3 * i + 1]},${lut[3 * i + 2]})`;
      ctx.fillRect(padX + x, 2, 1.5, barH);
    }
    ctx.strokeStyle = border;
    ctx.strokeRect(padX + 0.5, 2.5, barW - 1, barH - 1);
    const ticks = s.phase ? phaseTicks(s.lo, s.hi) : windowTicks(s.lo, s.hi, 'linear', Math.max(2, Math.floor(barW / 70)));
    ctx.fillStyle = fg;
    ctx.strokeStyle = fg;
    ctx.font = canvasFont(11, 1);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    let lastX = -Infinity;
    for (const t of ticks) {
      const f = s.hi > s.lo ? (t.value - s.lo) / (s.hi - s.lo) : 0.5;
      if (f < -1e-9 || f > 1 + 1e-9) continue;
      const x = padX + f * barW;
      if (x - lastX < 40) continue;
      lastX = x;
      ctx.beginPath();
      ctx.moveTo(x, 2 + barH);
      ctx.lineTo(x, 6 + barH);
      ctx.stroke();
      ctx.fillText(t.label, Math.min(w - 14, Math.max(14, x)), 8 + barH);
    }
    if (s.unit) {
      ctx.textAlign = 'right';
      ctx.fillText(s.unit, w, 8 + barH + 14);
    }
  }
}
