// The job panel's quality chart: Pearson r and SSIM of amplitude and phase against the ground truth per
// epoch (`quality` events: a fixed small window of the test split inferred after each epoch), drawn by the
// shared SeriesPlot on the loss chart's epoch axis, with a hover (and ← →) readout of the epoch, a caption
// naming the window, and Export PNG. Without measurements (no objectGuess, older runs) it says so in one line.
import { h } from '../components/dom';
import { SeriesPlot } from '../components/seriesPlot';
import { describeQuality, qualityCaption, qualityEmptyText, qualitySeries, qualityXRange, qualityYRange, type ChartModel } from './chartModel';
import { exportCanvasPng } from './lossChart';

export interface QualityChartOptions {
  exportPng?: (png: ArrayBuffer) => Promise<string | undefined>;
}

export class QualityChart {
  readonly root: HTMLElement;
  readonly plot: SeriesPlot;
  private readonly caption: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly exportBtn: HTMLButtonElement;
  /** What was last plotted (the plot is redrawn only when it changes, not at every progress event). */
  private shown = '';
  private model?: ChartModel;

  /** Per iteration (a Phase F job) or per epoch. */
  setUnit(x: 'epoch' | 'iteration'): void {
    this.plot.setXLabel(x, `Hover over the chart (or focus it and use ← →) to read an ${x}.`);
  }

  constructor(parent: HTMLElement, opts: QualityChartOptions) {
    this.exportBtn = h('button', { type: 'button', id: 'quality-export', title: 'Save the quality chart as a PNG image', disabled: true }, 'Export PNG');
    this.caption = h('div', { class: 'hint', id: 'quality-caption' });
    this.empty = h('p', { class: 'muted jp-quality-empty', id: 'quality-empty' });
    this.root = h('section', { class: 'np-card jp-chart', id: 'quality-section', 'aria-label': 'Quality vs ground truth' },
      h('div', { class: 'jp-card-head' }, h('div', { class: 'jp-head-left' }, h('h2', {}, 'Quality vs ground truth')),
        h('div', { class: 'mv-controls' }, ...(opts.exportPng ? [this.exportBtn] : []))));
    this.plot = new SeriesPlot(this.root, {
      id: 'quality-plot', title: 'Quality vs ground truth per epoch', xLabel: 'epoch', yLabel: 'Pearson r / SSIM', heading: false, integerX: true, height: 220,
      yRange: { lo: -0.2, hi: 1 },
      snapX: {
        hint: 'Hover over the chart (or focus it and use ← →) to read an epoch.',
        describe: (x) => {
          const p = this.model?.quality.find((q) => q.epoch === x);
          return p ? describeQuality(p) : '';
        },
      },
    });
    this.plot.canvas.classList.add('quality-canvas');
    this.root.append(this.caption, this.empty);
    parent.append(this.root);
    this.exportBtn.addEventListener('click', () => {
      if (opts.exportPng) exportCanvasPng(this.plot.canvas, this.plot.readout, opts.exportPng);
    });
  }

  /** Shows the model's quality points (call after every events batch; cheap when they did not change). */
  update(m: ChartModel): void {
    this.model = m;
    const emptyText = qualityEmptyText(m);
    const hasData = emptyText === '';
    this.plot.root.hidden = !hasData;
    this.exportBtn.disabled = !hasData;
    this.empty.hidden = hasData;
    if (this.empty.textContent !== emptyText) this.empty.textContent = emptyText;
    const caption = qualityCaption(m);
    if (this.caption.textContent !== caption) this.caption.textContent = caption;
    this.caption.hidden = !hasData;
    const x = qualityXRange(m);
    const key = `${x.hi}|${JSON.stringify(m.quality)}`;
    if (!hasData || key === this.shown) return;
    this.shown = key;
    const markers = m.quality.length <= 60;
    this.plot.setData(qualitySeries(m.quality).map((s) => ({ ...s, markers })), [], { x, y: qualityYRange(m.quality) });
  }

  /** The epochs measured, the caption, the line shown instead of the chart and the readout (tests). */
  viewState(): { epochs: number; caption: string; empty: string; readout: string } {
    return {
      epochs: this.model?.quality.length ?? 0,
      caption: this.caption.hidden ? '' : this.caption.textContent ?? '',
      empty: this.empty.hidden ? '' : this.empty.textContent ?? '',
      readout: this.plot.readout.textContent ?? '',
    };
  }
}
