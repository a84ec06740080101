// The job panel's Reconstruction section (issue 15): the quality window's amplitude and phase after each measured
// epoch, beside the ground truth of the same window, with a slider (and ← → on it) through every epoch that has a
// preview. While the job trains the newest epoch is shown as it arrives, unless the user moved the slider back.
// Images are fetched from the host (previews/epoch_NNN.npz, uint8) and kept in a small cache, so scrubbing redraws
// from memory; amplitude on gray, phase on the cyclic twilight map, holes (no crop reached them) left dark.
import { colormapLut, type ColormapName } from '../../core/image/colormaps';
import { formatValue } from '../../core/image/ticks';
import type { PreviewImage, PreviewImages, QualityScores } from '../protocol';
import { h } from '../components/dom';
import { differenceImage, stripEpochs } from './previewModel';

export interface PreviewViewOptions {
  load(epoch: number): Promise<PreviewImages>;
  /** Saves a PNG (the host's dialog); resolves to where, or undefined when the user cancelled. */
  savePng?(png: ArrayBuffer, suggestedName: string): Promise<string | undefined>;
  /** The quality of an epoch (the quality chart's point), for the line under the slider. */
  qualityOf(epoch: number): { amplitude: QualityScores; phase: QualityScores } | undefined;
}

const CACHE = 64;
const SCALE = 2;

/** The image's RGBA pixels on its colormap (holes transparent). */
function rgba(ctx: CanvasRenderingContext2D, img: PreviewImage, which: 'amplitude' | 'phase'): ImageData {
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
  return out;
}

function paint(canvas: HTMLCanvasElement, img: PreviewImage, which: 'amplitude' | 'phase'): void {
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.style.width = `${img.width * SCALE}px`;
  canvas.style.height = `${img.height * SCALE}px`;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.putImageData(rgba(ctx, img, which), 0, 0);
}

export class PreviewView {
  readonly root: HTMLElement;
  private readonly slider: HTMLInputElement;
  private readonly label: HTMLElement;
  private readonly caption: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly figure: HTMLElement;
  private readonly canvases: Record<'amplitude' | 'phase' | 'truthAmplitude' | 'truthPhase' | 'diffAmplitude' | 'diffPhase', HTMLCanvasElement>;
  private readonly diffBox: HTMLElement;
  private readonly truthBox: HTMLElement;
  private readonly exportBtn: HTMLButtonElement;
  private readonly cache = new Map<number, PreviewImages>();
  epochs: number[] = [];
  shown?: number;
  following = true;
  truth = false;
  lastDrawMs?: number;
  /** The shown epoch's phase difference with the truth, rms radians (offset removed). */
  phaseRms?: number;
  private pending?: number;

  constructor(parent: HTMLElement, private readonly opts: PreviewViewOptions) {
    const canvas = (id: string, label: string): HTMLCanvasElement => h('canvas', { class: 'jp-preview-canvas', id, role: 'img', 'aria-label': label }) as HTMLCanvasElement;
    this.canvases = {
      amplitude: canvas('preview-amplitude', 'Reconstructed amplitude'), phase: canvas('preview-phase', 'Reconstructed phase'),
      truthAmplitude: canvas('preview-truth-amplitude', 'Ground truth amplitude'), truthPhase: canvas('preview-truth-phase', 'Ground truth phase'),
      diffAmplitude: canvas('preview-diff-amplitude', 'Amplitude minus the truth'), diffPhase: canvas('preview-diff-phase', 'Phase minus the truth'),
    };
    const cell = (title: string, c: HTMLCanvasElement): HTMLElement => h('figure', { class: 'jp-preview-cell' }, c, h('figcaption', {}, title));
    this.truthBox = h('div', { class: 'jp-preview-row', hidden: true }, cell('truth amplitude', this.canvases.truthAmplitude), cell('truth phase', this.canvases.truthPhase));
    this.diffBox = h('div', { class: 'jp-preview-row', hidden: true }, cell('amplitude − truth', this.canvases.diffAmplitude), cell('phase − truth', this.canvases.diffPhase));
    this.figure = h('div', { class: 'jp-preview-figure', hidden: true },
      h('div', { class: 'jp-preview-row' }, cell('amplitude', this.canvases.amplitude), cell('phase', this.canvases.phase)), this.truthBox, this.diffBox);
    this.slider = h('input', { type: 'range', id: 'preview-slider', min: 0, max: 0, step: 1, value: 0, 'aria-label': 'Epoch shown', disabled: true }) as HTMLInputElement;
    this.label = h('span', { class: 'jp-preview-label', id: 'preview-label', 'aria-live': 'polite' });
    this.caption = h('div', { class: 'hint', id: 'preview-caption' });
    this.empty = h('p', { class: 'muted', id: 'preview-empty' }, 'No preview yet: after each measured epoch the model\'s reconstruction of a small window of the test object appears here.');
    this.exportBtn = h('button', { type: 'button', id: 'preview-export', title: 'Save the epochs as one PNG strip (amplitude and phase rows, the truth last) for slides', disabled: true }, 'Export strip') as HTMLButtonElement;
    this.exportBtn.addEventListener('click', () => void this.exportStrip().then((where) => {
      if (where) this.caption.textContent = `Saved ${where}`;
    }, (err: Error) => (this.caption.textContent = `Could not export: ${err.message}`)));
    this.root = h('section', { class: 'np-card jp-preview', id: 'preview-section', 'aria-label': 'Reconstruction during training' },
      h('div', { class: 'jp-card-head' }, h('h2', {}, 'Reconstruction'), h('div', { class: 'mv-controls' }, this.slider, this.label, ...(opts.savePng ? [this.exportBtn] : []))),
      this.empty, this.figure, this.caption);
    parent.append(this.root);
    this.slider.addEventListener('input', () => {
      const i = Number(this.slider.value);
      this.following = i === this.epochs.length - 1;
      void this.show(this.epochs[i]);
    });
  }

  /** Forgets every image (another run is shown: the same epochs are other pictures). */
  restart(): void {
    this.cache.clear();
    this.following = true;
    this.setEpochs([]);
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
    this.exportBtn.disabled = this.epochs.length === 0;
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
        images = await this.opts.load(epoch);
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
    this.diffBox.hidden = !images.truth;
    let diffNote = '';
    if (images.truth) {
      paint(this.canvases.truthAmplitude, images.truth, 'amplitude');
      paint(this.canvases.truthPhase, images.truth, 'phase');
      const d = differenceImage(images.image, images.truth);
      paint(this.canvases.diffAmplitude, d, 'amplitude');
      paint(this.canvases.diffPhase, d, 'phase');
      this.phaseRms = d.phaseRms;
      diffNote = ` Differences: amplitude (means matched) gray over ±${formatValue(d.amplitudeSpan, 3)}, mid-gray = 0; phase after removing the mean offset, rms ${formatValue(d.phaseRms, 3)} rad.`;
    }
    this.shown = epoch;
    const q = this.opts.qualityOf(epoch);
    const r = (s: QualityScores | undefined): string => (s && s.pearson !== null ? formatValue(s.pearson, 3) : '—');
    this.label.textContent = `epoch ${epoch}${this.epochs.length ? ` (${i + 1} of ${this.epochs.length})` : ''}${q ? ` · amplitude r ${r(q.amplitude)} · phase r ${r(q.phase)}` : ''}`;
    const g = images.region;
    const [lo, hi] = images.image.amplitudeRange;
    this.caption.textContent = `Window ${g.width}×${g.height} px at (${g.x0}, ${g.y0}) of the test object, stitched from the model after epoch ${epoch}; ` +
      `amplitude ${formatValue(lo, 3)}…${formatValue(hi, 3)} (gray), phase −π…π (twilight); uncovered pixels are left blank.` +
      `${diffNote}${this.following ? ' Follows the newest epoch.' : ' Move the slider to the end to follow the newest epoch.'}`;
    this.lastDrawMs = performance.now() - started;
    return this.lastDrawMs;
  }

  /**
   * One PNG for slides: a column per epoch (at most 16, evenly spread) with its amplitude above its phase, the
   * window's truth as the last column, each labelled. Returns where it was saved.
   */
  async exportStrip(): Promise<string | undefined> {
    if (!this.opts.savePng || this.epochs.length === 0) return undefined;
    const epochs = stripEpochs(this.epochs);
    const shots: PreviewImages[] = [];
    for (const e of epochs) {
      const cached = this.cache.get(e) ?? await this.opts.load(e);
      this.cache.set(e, cached);
      shots.push(cached);
    }
    const { width: w, height: hgt } = shots[0].image;
    const truth = shots.find((x) => x.truth)?.truth;
    const cols = shots.length + (truth ? 1 : 0);
    const pad = 4;
    const head = 16;
    const canvas = document.createElement('canvas');
    canvas.width = cols * (w + pad) + pad;
    canvas.height = head + 2 * (hgt + pad) + pad;
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = '#000000';
    ctx.font = '11px sans-serif';
    ctx.textBaseline = 'top';
    const column = (i: number, img: PreviewImage, title: string): void => {
      const x = pad + i * (w + pad);
      ctx.fillText(title, x, 2);
      ctx.putImageData(rgba(ctx, img, 'amplitude'), x, head);
      ctx.putImageData(rgba(ctx, img, 'phase'), x, head + hgt + pad);
    };
    shots.forEach((s, i) => column(i, s.image, `epoch ${s.epoch}`));
    if (truth) column(shots.length, truth, 'truth');
    const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
    if (!blob) throw new Error('the strip could not be encoded');
    return this.opts.savePng(await blob.arrayBuffer(), 'reconstruction_by_epoch.png');
  }

  viewState(): { epochs: number[]; shown?: number; following: boolean; truth: boolean; caption: string; drawMs?: number; phaseRms?: number } {
    return { epochs: [...this.epochs], shown: this.shown, following: this.following, truth: this.truth, caption: this.caption.textContent ?? '', drawMs: this.lastDrawMs, phaseRms: this.phaseRms };
  }
}
