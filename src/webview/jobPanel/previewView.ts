// The job panel's Reconstruction section (issue 15): the quality window's amplitude and phase after each measured
// epoch, beside the ground truth of the same window, with a slider (and ← → on it) through every epoch that has a
// preview. While the job trains the newest epoch is shown as it arrives, unless the user moved the slider back.
// Images are fetched from the host (previews/epoch_NNN.npz, uint8) and kept in a small cache, so scrubbing redraws
// from memory; amplitude on gray, phase on the cyclic twilight map, holes (no crop reached them) left dark.
import { colormapLut, type ColormapName } from '../../core/image/colormaps';
import { formatValue } from '../../core/image/ticks';
import type { PreviewImage, PreviewImages, QualityScores } from '../protocol';
import { h } from '../components/dom';

export interface PreviewViewOptions {
  fetch(epoch: number): Promise<PreviewImages>;
  /** The quality of an epoch (the quality chart's point), for the line under the slider. */
  qualityOf(epoch: number): { amplitude: QualityScores; phase: QualityScores } | undefined;
}

const CACHE = 64;
const SCALE = 2;

function paint(canvas: HTMLCanvasElement, img: PreviewImage, which: 'amplitude' | 'phase'): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.style.width = `${img.width * SCALE}px`;
  canvas.style.height = `${img.height * SCALE}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const lut = colormapLut((which === 'amplitude' ? 'gray' : 'twilight') as ColormapName);
  const src = img[which];
  const out = ctx.createImageData(img.width, img.height);
  for (let q = 0; q < src.length; q++) {
    const k = 4 * q;
    if (!img.covered[q]) {
      out.data[k + 3] = 0; // a hole: the card's background shows through
      continue;
    }
    const v = 3 * src[q];
    out.data[k] = lut[v];
    out.data[k + 1] = lut[v + 1];
    out.data[k + 2] = lut[v + 2];
    out.data[k + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
}

export class PreviewView {
  readonly root: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly caption: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly figure: HTMLElement;
  private readonly canvases: Record<'amplitude' | 'phase' | 'truthAmplitude' | 'truthPhase', HTMLCanvasElement>;
  private readonly truthBox: HTMLElement;
  private readonly cache = new Map<number, PreviewImages>();
  epochs: number[] = [];
  shown?: number;
  following = true;
  truth = false;
  lastDrawMs?: number;
  private pending?: number;

  constructor(parent: HTMLElement, private readonly opts: PreviewViewOptions) {
    const canvas = (id: string, label: string): HTMLCanvasElement => h('canvas', { class: 'jp-preview-canvas', id, role: 'img', 'aria-label': label }) as HTMLCanvasElement;
    this.canvases = {
      amplitude: canvas('preview-amplitude', 'Reconstructed amplitude'), phase: canvas('preview-phase', 'Reconstructed phase'),
      truthAmplitude: canvas('preview-truth-amplitude', 'Ground truth amplitude'), truthPhase: canvas('preview-truth-phase', 'Ground truth phase'),
    };
    const cell = (title: string, c: HTMLCanvasElement): HTMLElement => h('figure', { class: 'jp-preview-cell' }, c, h('figcaption', {}, title));
    this.truthBox = h('div', { class: 'jp-preview-row', hidden: true }, cell('truth amplitude', this.canvases.truthAmplitude), cell('truth phase', this.canvases.truthPhase));
    this.figure = h('div', { class: 'jp-preview-figure', hidden: true },
      h('div', { class: 'jp-preview-row' }, cell('amplitude', this.canvases.amplitude), cell('phase', this.canvases.phase)), this.truthBox);
    this.slider = h('input', { type: 'range', id: 'preview-slider', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Epoch shown', disabled: true }) as HTMLInputElement;
    this.label = h('span', { class: 'jp-preview-label', id: 'preview-label', 'aria-live': 'polite' });
    this.caption = h('div', { class: 'hint', id: 'preview-caption' });
    this.empty = h('p', { class: 'muted', id: 'preview-empty' }, 'No preview yet: after each measured epoch the model\'s reconstruction of a small window of the test object appears here.');
    this.root = h('section', { class: 'np-card jp-preview', id: 'preview-section', 'aria-label': 'Reconstruction during training' },
      h('div', { class: 'jp-card-head' }, h('h2', {}, 'Reconstruction'), h('div', { class: 'mv-controls' }, this.slider, this.label)),
      this.empty, this.figure, this.caption);
    parent.append(this.root);
    this.slider.addEventListener('input', () => {
      const i = Number(this.slider.value);
      this.following = i === this.epochs.length - 1;
      void this.show(this.epochs[i]);
    });
  }

  /** The epochs that have a preview (from the events); follows the newest unless the user moved back. */
  setEpochs(epochs: readonly number[]): void {
    const same = epochs.length === this.epochs.length && epochs.every((e, i) => e === this.epochs[i]);
    if (same) return;
    const reset = epochs.length < this.epochs.length || epochs.some((e, i) => i < this.epochs.length && e !== this.epochs[i]);
    if (reset) {
      this.cache.clear();
      this.following = true;
    }
    this.epochs = [...epochs];
    this.slider.max = String(Math.max(0, this.epochs.length - 1));
    this.slider.disabled = this.epochs.length < 2;
    this.empty.hidden = this.epochs.length > 0;
    this.figure.hidden = this.epochs.length === 0;
    if (this.epochs.length === 0) {
      this.shown = undefined;
      this.label.textContent = '';
      this.caption.textContent = '';
      return;
    }
    if (this.following || this.shown === undefined || !this.epochs.includes(this.shown)) void this.show(this.epochs[this.epochs.length - 1]);
  }

  /** Shows an epoch's preview (from the cache, or fetched); the slider follows. Returns the time to draw it. */
  async show(epoch: number | undefined): Promise<number> {
    if (epoch === undefined) return 0;
    const i = this.epochs.indexOf(epoch);
    if (i >= 0) this.slider.value = String(i);
    this.pending = epoch;
    const started = performance.now();
    let images = this.cache.get(epoch);
    if (!images) {
      try {
        images = await this.opts.fetch(epoch);
      } catch (err) {
        this.caption.textContent = `The preview of epoch ${epoch} could not be read: ${(err as Error).message}`;
        return 0;
      }
      this.cache.set(epoch, images);
      if (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value as number);
    }
    if (this.pending !== epoch) return 0; // the slider moved on meanwhile
    paint(this.canvases.amplitude, images.image, 'amplitude');
    paint(this.canvases.phase, images.image, 'phase');
    this.truth = !!images.truth;
    this.truthBox.hidden = !images.truth;
    if (images.truth) {
      paint(this.canvases.truthAmplitude, images.truth, 'amplitude');
      paint(this.canvases.truthPhase, images.truth, 'phase');
    }
    this.shown = epoch;
    const q = this.opts.qualityOf(epoch);
    const r = (s: QualityScores | undefined): string => (s && s.pearson !== null ? formatValue(s.pearson, 3) : '—');
    this.label.textContent = `epoch ${epoch}${this.epochs.length ? ` (${i + 1} of ${this.epochs.length})` : ''}${q ? ` · amplitude r ${r(q.amplitude)} · phase r ${r(q.phase)}` : ''}`;
    const g = images.region;
    const [lo, hi] = images.image.amplitudeRange;
    this.caption.textContent = `Window ${g.width}×${g.height} px at (${g.x0}, ${g.y0}) of the test object, stitched from the model after epoch ${epoch}; ` +
      `amplitude ${formatValue(lo, 3)}…${formatValue(hi, 3)} (gray), phase −π…π (twilight); uncovered pixels are left blank.` +
      `${this.following ? ' Follows the newest epoch.' : ' Move the slider to the end to follow the newest epoch.'}`;
    this.lastDrawMs = performance.now() - started;
    return this.lastDrawMs;
  }

  viewState(): { epochs: number[]; shown?: number; following: boolean; truth: boolean; caption: string; drawMs?: number } {
    return { epochs: [...this.epochs], shown: this.shown, following: this.following, truth: this.truth, caption: this.caption.textContent ?? '', drawMs: this.lastDrawMs };
  }
}
