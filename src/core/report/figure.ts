// The report's dose × view × method figure: one row per dose × view, the ground truth and one column per method
// for the amplitude and again for the phase, on one colour scale per part shared by every cell (amplitude:
// viridis over the window of the ground truths, each reconstruction mean-scaled to its ground truth over the
// pixels it covers, as the metrics do; phase: twilight over −π…π after removing the global phase the metrics
// removed), with a colorbar per part, column headers and row labels. The same layout is drawn into a PNG (the
// labels with the 5×7 bitmap font) and written as an SVG (the cells and colorbars as embedded PNG images, the
// labels as text). Pixels no scan position reaches are drawn black; a cell without a result says why in short.
import { colormapLut, mapToRgba, type ColormapName } from '../image/colormaps';
import { encodePng } from '../image/png';
import { labelTicks, niceTicks } from '../image/ticks';
import { GLYPH_ADVANCE, GLYPH_HEIGHT, glyph, textWidth } from './font';

/** A reconstruction (or ground truth) cropped to the dose's evaluation region. */
export interface CellImage {
  width: number;
  height: number;
  /** Row-major; NaN where nothing was reconstructed. */
  amplitude: Float32Array;
  phase: Float32Array;
}

export interface FigureRow {
  dose: number;
  view: string;
  label: string;
  /** Column key (`truth` or a method) → its image, or a short reason it has none. */
  cells: Map<string, CellImage | string>;
}

export interface FigureInput {
  title: string;
  /** Column keys in order: `truth` first, then the methods. */
  columns: { key: string; label: string }[];
  rows: FigureRow[];
  amplitudeWindow: { lo: number; hi: number };
}

type Item =
  | { type: 'rect'; x: number; y: number; w: number; h: number; rgb: [number, number, number] }
  | { type: 'image'; x: number; y: number; w: number; h: number; rgb: Uint8Array }
  | { type: 'text'; x: number; y: number; text: string; anchor: 'start' | 'middle' | 'end'; rgb?: [number, number, number] };

const SCALE = 2; // bitmap font scale
const LINE = GLYPH_HEIGHT * SCALE;
const PAD = 10;
const CELL_W = 180;
const CELL_H = 120;
const GAP = 6;
const BLOCK_GAP = 28;
const BAR_H = 14;
const PHASE_WINDOW = { lo: -Math.PI, hi: Math.PI };
const AMP_MAP: ColormapName = 'viridis';
const PHASE_MAP: ColormapName = 'twilight';
const TEXT_RGB: [number, number, number] = [20, 20, 20];
const EMPTY_RGB: [number, number, number] = [200, 200, 200];

/** Nearest-neighbour resample of a row-major image into w × h. */
function resample(values: Float32Array, width: number, height: number, w: number, h: number): Float32Array {
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / h));
    for (let x = 0; x < w; x++) out[y * w + x] = values[sy * width + Math.min(width - 1, Math.floor(((x + 0.5) * width) / w))];
  }
  return out;
}

function toRgb(values: ArrayLike<number>, map: ColormapName, lo: number, hi: number, wrap: boolean): Uint8Array {
  const rgba = new Uint8Array(values.length * 4);
  mapToRgba(values, colormapLut(map), { lo, hi, wrap, nanColor: [0, 0, 0, 255] }, rgba);
  const rgb = new Uint8Array(values.length * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return rgb;
}

function fitSize(width: number, height: number): { w: number; h: number } {
  const f = Math.min(CELL_W / width, CELL_H / height);
  return { w: Math.max(1, Math.round(width * f)), h: Math.max(1, Math.round(height * f)) };
}

/** Short enough to fit a cell. */
function clip(text: string, width: number): string {
  const max = Math.max(1, Math.floor((width / SCALE + 1) / GLYPH_ADVANCE));
  return text.length <= max ? text : `${text.slice(0, max - 2)}..`;
}

function layout(input: FigureInput): { width: number; height: number; items: Item[] } {
  const items: Item[] = [];
  const labelW = Math.max(...input.rows.map((r) => textWidth(r.label, SCALE)), textWidth('dose view', SCALE));
  const nCols = input.columns.length;
  const blockW = nCols * CELL_W + (nCols - 1) * GAP;
  const x0 = PAD + labelW + PAD;
  const blocks = [
    { part: 'amplitude' as const, title: 'amplitude (mean-scaled to the truth)', x: x0, map: AMP_MAP, window: input.amplitudeWindow, wrap: false },
    { part: 'phase' as const, title: 'phase (rad, global phase removed)', x: x0 + blockW + BLOCK_GAP, map: PHASE_MAP, window: PHASE_WINDOW, wrap: true },
  ];
  let y = PAD;
  items.push({ type: 'text', x: PAD, y, text: input.title, anchor: 'start' });
  y += LINE + PAD;
  for (const b of blocks) items.push({ type: 'text', x: b.x + blockW / 2, y, text: b.title, anchor: 'middle' });
  y += LINE + GAP;
  for (const b of blocks) {
    input.columns.forEach((c, i) => items.push({ type: 'text', x: b.x + i * (CELL_W + GAP) + CELL_W / 2, y, text: clip(c.label, CELL_W), anchor: 'middle' }));
  }
  items.push({ type: 'text', x: PAD, y, text: 'dose view', anchor: 'start' });
  y += LINE + GAP;
  for (const row of input.rows) {
    items.push({ type: 'text', x: PAD, y: y + CELL_H / 2 - LINE / 2, text: row.label, anchor: 'start' });
    for (const b of blocks) {
      input.columns.forEach((c, i) => {
        const cx = b.x + i * (CELL_W + GAP);
        const cell = row.cells.get(c.key);
        items.push({ type: 'rect', x: cx, y, w: CELL_W, h: CELL_H, rgb: EMPTY_RGB });
        if (cell === undefined || typeof cell === 'string') {
          const words = clip(cell ?? 'no result', CELL_W - 8);
          items.push({ type: 'text', x: cx + CELL_W / 2, y: y + CELL_H / 2 - LINE / 2, text: words, anchor: 'middle', rgb: [90, 90, 90] });
          return;
        }
        const { w, h } = fitSize(cell.width, cell.height);
        const values = resample(b.part === 'amplitude' ? cell.amplitude : cell.phase, cell.width, cell.height, w, h);
        items.push({ type: 'image', x: cx + Math.floor((CELL_W - w) / 2), y: y + Math.floor((CELL_H - h) / 2), w, h, rgb: toRgb(values, b.map, b.window.lo, b.window.hi, b.wrap) });
      });
    }
    y += CELL_H + GAP;
  }
  // Colorbars: one per part, under its block, with ticks and labels.
  y += PAD;
  const barW = Math.min(blockW, 400);
  for (const b of blocks) {
    const bx = b.x + Math.floor((blockW - barW) / 2);
    const ramp = new Float32Array(barW * BAR_H);
    for (let yy = 0; yy < BAR_H; yy++) for (let xx = 0; xx < barW; xx++) ramp[yy * barW + xx] = b.window.lo + ((xx + 0.5) / barW) * (b.window.hi - b.window.lo);
    items.push({ type: 'image', x: bx, y, w: barW, h: BAR_H, rgb: toRgb(ramp, b.map, b.window.lo, b.window.hi, false) });
    const ticks = labelTicks(niceTicks(b.window.lo, b.window.hi, 5));
    for (const t of ticks) {
      const tx = bx + Math.round(((t.value - b.window.lo) / (b.window.hi - b.window.lo)) * (barW - 1));
      items.push({ type: 'rect', x: tx, y: y + BAR_H, w: 1, h: 5, rgb: TEXT_RGB });
      items.push({ type: 'text', x: tx, y: y + BAR_H + 7, text: t.label, anchor: 'middle' });
    }
    items.push({ type: 'text', x: bx + barW / 2, y: y + BAR_H + 7 + LINE + GAP, text: b.part === 'amplitude' ? 'amplitude' : 'phase (rad)', anchor: 'middle' });
  }
  y += BAR_H + 7 + 2 * LINE + GAP + PAD;
  const width = blocks[1].x + blockW + PAD;
  return { width, height: y, items };
}

/** Renders the figure into a PNG file's bytes. */
export function renderFigurePng(input: FigureInput): Buffer {
  const { width, height, items } = layout(input);
  const data = new Uint8Array(width * height * 3).fill(255);
  const put = (x: number, y: number, rgb: ArrayLike<number>, o = 0): void => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    const i = (y * width + x) * 3;
    data[i] = rgb[o];
    data[i + 1] = rgb[o + 1];
    data[i + 2] = rgb[o + 2];
  };
  for (const it of items) {
    if (it.type === 'rect') {
      for (let y = 0; y < it.h; y++) for (let x = 0; x < it.w; x++) put(it.x + x, it.y + y, it.rgb);
    } else if (it.type === 'image') {
      for (let y = 0; y < it.h; y++) for (let x = 0; x < it.w; x++) put(it.x + x, it.y + y, it.rgb, (y * it.w + x) * 3);
    } else {
      const w = textWidth(it.text, SCALE);
      let x = Math.round(it.anchor === 'start' ? it.x : it.anchor === 'middle' ? it.x - w / 2 : it.x - w);
      const rgb = it.rgb ?? TEXT_RGB;
      for (const ch of it.text) {
        const rows = glyph(ch);
        for (let gy = 0; gy < rows.length; gy++) {
          for (let gx = 0; gx < 5; gx++) {
            if (!(rows[gy] & (0x10 >> gx))) continue;
            for (let sy = 0; sy < SCALE; sy++) for (let sx = 0; sx < SCALE; sx++) put(x + gx * SCALE + sx, Math.round(it.y) + gy * SCALE + sy, rgb);
          }
        }
        x += GLYPH_ADVANCE * SCALE;
      }
    }
  }
  return encodePng({ width, height, channels: 3, data });
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const hex = (rgb: readonly number[]): string => `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/** The same figure as an SVG document (images embedded as PNG data URIs). */
export function renderFigureSvg(input: FigureInput): string {
  const { width, height, items } = layout(input);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="monospace" font-size="${LINE + 2}">`,
    `<title>${xmlEscape(input.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  for (const it of items) {
    if (it.type === 'rect') out.push(`<rect x="${it.x}" y="${it.y}" width="${it.w}" height="${it.h}" fill="${hex(it.rgb)}"/>`);
    else if (it.type === 'image') {
      const png = encodePng({ width: it.w, height: it.h, channels: 3, data: it.rgb }).toString('base64');
      out.push(`<image x="${it.x}" y="${it.y}" width="${it.w}" height="${it.h}" image-rendering="pixelated" href="data:image/png;base64,${png}"/>`);
    } else {
      out.push(`<text x="${it.x}" y="${Math.round(it.y + LINE)}" text-anchor="${it.anchor}" fill="${hex(it.rgb ?? TEXT_RGB)}">${xmlEscape(it.text)}</text>`);
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
