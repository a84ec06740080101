// The job panel page (ptychoStudy.openLog): header with the state, live progress and the actions, the
// datasets, the loss chart and below it the quality vs the ground truth per epoch, the run summary with metrics, validation findings, and the live log. The host
// sends the job's state (`job`), train.log in batches (`log`) and the chart's events (`events`); the page
// keeps its display settings with setState, so hiding the tab loses nothing (the host re-sends the data).
import { createClient, type Client } from '../client';
import { errorMessage } from '../shared/endpoint';
import { formatBytes, h } from '../components/dom';
import { formatValue } from '../../core/image/ticks';
import type { JobAction, JobPanelProtocol, JobPanelState, JobPanelStateName, JobPanelViewState, JobProgressInfo, JobRunSummary, MetricTable } from '../protocol';
import { LogView, type LogViewSettings } from './logView';
import { LossChart, RECONSTRUCTION_UNITS, TRAINING_UNITS, type LossChartSettings } from './lossChart';
import { QualityChart } from './qualityChart';
import { PreviewView } from './previewView';
import { enableTableCsv } from '../components/tableCsv';

interface PersistedState {
  jobId?: string;
  log?: Partial<LogViewSettings>;
  chart?: Partial<LossChartSettings>;
}

const client: Client<JobPanelProtocol, PersistedState> = createClient<JobPanelProtocol, PersistedState>('jobPanel');
const state: PersistedState = { ...client.getState() };
const app = document.getElementById('app')!;
// Every data table gets a CSV… button (saved through the host's save dialog).
enableTableCsv(app, (suggestedName, text) => client.request('saveCsv', { suggestedName, text }), (t) => `${(job?.jobId ?? 'job').replace(/\//g, '_')}_${t.id || 'table'}`);
let job: JobPanelState | undefined;
let renderedOnce = false;
/** The newest progress from events.jsonl while running (fresher than the host's coalesced state). */
let eventProgress: JobProgressInfo | undefined;

function persist(): void {
  client.setState(state);
}

const STATE_LABEL: Record<JobPanelStateName, string> = {
  ready: 'ready', 'dry-run': 'dry run', running: 'running', succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled',
  invalid: 'invalid data', missing: 'missing data', queued: 'queued', starting: 'starting', cancelling: 'cancelling',
};

const ACTION_LABEL: Record<JobAction, string> = {
  dryRun: 'Dry Run', train: 'Train', cancel: 'Cancel', resume: 'Resume', revealArtifacts: 'Open Folder',
  showReconstruction: 'Show Reconstruction', showManifest: 'Show Manifest', openLogFile: 'Open train.log',
};

const ACTION_HELP: Record<JobAction, string> = {
  dryRun: 'Write the fully resolved run plan (manifest.json) without training',
  train: 'Train the network on this job in a worker process',
  cancel: 'Stop after the current step and keep a checkpoint',
  resume: 'Continue from the last checkpoint',
  revealArtifacts: 'Reveal the job folder in the Explorer',
  showReconstruction: 'Open the reconstruction viewer',
  showManifest: 'Open the manifest viewer',
  openLogFile: 'Open train.log in an editor',
};

function formatEta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

function formatDose(d: number): string {
  const e = Math.log10(d);
  return Number.isInteger(e) ? `1e${e}` : d.toLocaleString('en-US');
}

/** A Phase F job: Reconstruct instead of Train, iterations instead of epochs, recon.log. */
const isRecon = (j: JobPanelState | undefined = job): boolean => j?.kind === 'reconstruct';

function actionLabel(a: JobAction): string {
  if (!isRecon()) return ACTION_LABEL[a];
  if (a === 'train') return 'Reconstruct';
  if (a === 'openLogFile') return 'Open recon.log';
  return ACTION_LABEL[a];
}

function actionHelp(a: JobAction): string {
  if (!isRecon()) return ACTION_HELP[a];
  if (a === 'train') return 'Run the iterative reconstruction of this job in a worker process';
  if (a === 'cancel') return 'Stop after the current iteration and keep a checkpoint';
  if (a === 'openLogFile') return 'Open recon.log in an editor';
  return ACTION_HELP[a];
}

async function runAction(action: JobAction): Promise<void> {
  if (!job) return;
  const btn = document.getElementById(`action-${action}`) as HTMLButtonElement | null;
  if (btn) btn.disabled = true;
  try {
    await client.request('action', { action, jobId: job.jobId });
  } catch (err) {
    showToast(`${actionLabel(action)}: ${errorMessage(err)}`, true);
  } finally {
    if (btn && job) btn.disabled = !job.actions[action].enabled;
  }
}

function showToast(message: string, error = false): void {
  const el = document.getElementById('jp-toast');
  if (!el) return;
  el.textContent = message;
  el.classList.toggle('error', error);
  el.hidden = false;
  window.setTimeout(() => (el.hidden = true), 6000);
}

// ---------------------------------------------------------------------------------------------------------
// Layout (built once; the sections update in place)

const headerEl = h('header', { class: 'jp-header', id: 'job-header' });
const reasonEl = h('div', { class: 'jp-reason', id: 'job-reason', role: 'status', hidden: true });
const progressEl = h('div', { class: 'jp-progress', id: 'job-progress', hidden: true });
const datasetsEl = h('div', { class: 'jp-datasets', id: 'job-datasets' });
const toastEl = h('div', { class: 'jp-toast', id: 'jp-toast', role: 'alert', hidden: true });
const grid = h('div', { class: 'jp-grid' });
const summaryEl = h('section', { class: 'np-card jp-summary', id: 'summary-section', 'aria-label': 'Run summary' });
const findingsEl = h('section', { class: 'np-card jp-findings', id: 'findings-section', 'aria-label': 'Validation findings' });
const notFoundEl = h('div', { class: 'error-box fatal', id: 'job-not-found', role: 'alert', hidden: true });
const body = h('div', { class: 'jp-body', id: 'job-body' });

/** The loss chart with the quality chart below it: the grid's first column. */
const charts = h('div', { class: 'jp-charts' });
grid.append(charts);
const chart = new LossChart(charts, {
  settings: state.chart ?? {},
  onSettings: (s) => {
    state.chart = s;
    persist();
  },
  exportPng: async (png) => {
    const r = await client.request('savePng', { suggestedName: `${(job?.jobId ?? 'job').replace(/\//g, '_')}_loss.png`, data: png });
    return r.saved ? r.path : undefined;
  },
  exportCsv: async (text) => {
    const r = await client.request('saveCsv', { suggestedName: `${(job?.jobId ?? 'job').replace(/\//g, '_')}_${isRecon() ? 'relative_error' : 'loss'}.csv`, text });
    return r.saved ? r.path : undefined;
  },
});
const quality = new QualityChart(charts, {
  exportPng: async (png) => {
    const r = await client.request('savePng', { suggestedName: `${(job?.jobId ?? 'job').replace(/\//g, '_')}_quality.png`, data: png });
    return r.saved ? r.path : undefined;
  },
});
quality.update(chart.model);
const preview = new PreviewView(charts, {
  load: (epoch) => client.request('preview', { jobId: job?.jobId ?? '', epoch }),
  savePng: async (png, name) => {
    const r = await client.request('savePng', { suggestedName: `${(job?.jobId ?? 'job').replace(/\//g, '_')}_${name}`, data: png });
    return r.saved ? r.path : undefined;
  },
  qualityOf: (epoch) => chart.model.quality.find((q) => q.epoch === epoch),
});
/** The epochs whose quality event announced a preview (a training job's; Phase F jobs have none). */
const previewEpochs = (): number[] => chart.model.quality.filter((q) => q.preview).map((q) => q.epoch);
grid.append(summaryEl);
body.append(datasetsEl, grid, findingsEl);
const log = new LogView(body, {
  settings: state.log ?? {},
  onSettings: (s) => {
    state.log = s;
    persist();
  },
  copyText: async (text) => {
    await client.request('copyText', { text });
  },
  copyAll: async () => {
    if (!job) throw new Error('no job');
    const r = await client.request('copyAll', { jobId: job.jobId });
    return `Copied all ${r.lines.toLocaleString('en-US')} lines (${formatBytes(r.bytes)}).`;
  },
  openInEditor: () => void runAction('openLogFile'),
});
app.removeAttribute('aria-busy');
app.replaceChildren(headerEl, toastEl, reasonEl, progressEl, notFoundEl, body);
app.classList.add('jp-app');

document.addEventListener('keydown', (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === 'f') {
    ev.preventDefault();
    log.focusSearch();
  }
});

// ---------------------------------------------------------------------------------------------------------
// Sections

function renderHeader(j: JobPanelState): void {
  const live = j.state === 'running' || j.state === 'starting' || j.state === 'cancelling' || j.state === 'queued';
  const buttons = (isRecon(j) ? ['train', 'cancel', 'resume', 'revealArtifacts'] as JobAction[] : ['train', 'dryRun', 'cancel', 'resume', 'revealArtifacts'] as JobAction[]).map((a) => {
    const st = j.actions[a];
    const finished = j.state === 'succeeded' || j.state === 'failed' || j.state === 'cancelled';
    const label = a === 'train' && finished ? `${actionLabel(a)} Again` : actionLabel(a);
    const primary = (a === 'train' && st.enabled && !finished) || (a === 'resume' && st.enabled) || (a === 'cancel' && st.enabled);
    return h('button', {
      type: 'button', id: `action-${a}`, class: primary ? 'primary' : undefined, disabled: !st.enabled,
      title: st.enabled ? actionHelp(a) : `${actionHelp(a)} — not available: ${st.why ?? ''}`, onclick: () => void runAction(a),
    }, label);
  });
  headerEl.replaceChildren(
    h('div', { class: 'jp-title' },
      h('h1', { id: 'job-title' }, j.jobId),
      h('span', { class: `jp-state state-${j.state}${live ? ' live' : ''}`, id: 'job-state' }, STATE_LABEL[j.state]),
      j.folderName ? h('span', { class: 'muted' }, j.folderName) : undefined,
      runPicker(j)),
    h('div', { class: 'jp-actions', role: 'toolbar', 'aria-label': 'Job actions' }, ...buttons),
    ...(j.viewing ? [h('div', { class: 'jp-reason warn jp-viewing', id: 'run-viewing', role: 'status' },
      `Showing an earlier run, ${j.viewing.id} (${j.viewing.status}${j.viewing.length !== undefined ? `, ${j.viewing.length} ${isRecon(j) ? 'iterations' : 'epochs'}` : ''}): its summary, curves and reconstruction previews. The log below is the job's journal of every run. `,
      h('button', { type: 'button', id: 'run-back', onclick: () => void pickRun(null) }, 'Back to the latest run'))] : []));
  document.title = `${j.jobId} — ${STATE_LABEL[j.state]}`;
}

/** The run picker (a job with earlier runs): the latest, live, or one kept under runs/. */
function runPicker(j: JobPanelState): HTMLElement | undefined {
  if (!j.runs || j.runs.length < 2) return undefined;
  const unit = isRecon(j) ? 'iterations' : 'epochs';
  const sel = h('select', { id: 'run-picker', 'aria-label': 'Run shown', title: 'Show an earlier run of this job' }) as HTMLSelectElement;
  for (const r of j.runs) {
    const when = r.startedAt ? new Date(r.startedAt).toLocaleString() : r.id;
    sel.append(h('option', { value: r.latest ? '' : r.id }, `${r.latest ? 'Latest run' : 'Run'} ${when} · ${r.status}${r.length !== undefined ? ` · ${r.length} ${unit}` : ''}`));
  }
  sel.value = j.viewing?.id ?? '';
  sel.addEventListener('change', () => void pickRun(sel.value || null));
  return sel;
}

async function pickRun(runId: string | null): Promise<void> {
  if (!job) return;
  try {
    await client.request('showRun', { jobId: job.jobId, runId });
  } catch (err) {
    showToast(`Run picker: ${errorMessage(err)}`, true);
  }
}

function renderReason(j: JobPanelState): void {
  const text = j.reason ?? (j.run && (j.run.status === 'failed' || j.run.status === 'cancelled') ? j.run.reason : undefined);
  reasonEl.hidden = !text;
  reasonEl.className = `jp-reason ${j.state === 'failed' || j.state === 'invalid' || j.state === 'missing' ? 'error' : 'warn'}`;
  reasonEl.textContent = text ?? '';
}

function progressNow(): JobProgressInfo | undefined {
  if (!job) return undefined;
  const live = job.state === 'running' || job.state === 'starting' || job.state === 'cancelling';
  if (!live) return undefined;
  const a = job.progress;
  const b = eventProgress;
  if (!a) return b;
  if (!b) return a;
  const ka = (a.epoch - 1) * a.stepsPerEpoch + a.stepInEpoch;
  const kb = (b.epoch - 1) * b.stepsPerEpoch + b.stepInEpoch;
  return kb >= ka ? b : a;
}

function renderProgress(): void {
  const p = progressNow();
  const j = job;
  if (!j || (!p && j.state !== 'queued' && j.state !== 'starting')) {
    progressEl.hidden = true;
    progressEl.replaceChildren();
    return;
  }
  progressEl.hidden = false;
  if (!p) {
    progressEl.replaceChildren(h('span', { id: 'progress-text' }, j.state === 'queued' ? 'Queued: waits for the running job to finish.' : 'Starting the worker…'));
    return;
  }
  const done = ((p.epoch - 1) * p.stepsPerEpoch + p.stepInEpoch) / Math.max(1, p.epochs * p.stepsPerEpoch);
  const bar = h('div', { class: 'jp-bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': Math.round(done * 100), 'aria-label': 'Training progress' },
    h('div', { class: 'jp-bar-fill' }));
  (bar.firstElementChild as HTMLElement).style.width = `${(done * 100).toFixed(1)}%`;
  const parts = (isRecon(j) ? [
    p.stage,
    `iteration ${p.epoch}/${p.epochs}`,
    p.loss !== undefined ? `relative error ${formatValue(p.loss, 4)}` : undefined,
    p.imagesPerSec !== undefined ? `${Math.round(p.imagesPerSec)} updates/s` : undefined,
    `ETA ${formatEta(p.etaSeconds)}`,
  ] : [
    `epoch ${p.epoch}/${p.epochs}`, `step ${p.stepInEpoch}/${p.stepsPerEpoch}`,
    p.loss !== undefined ? `loss ${formatValue(p.loss, 5)}` : undefined,
    p.imagesPerSec !== undefined ? `${p.imagesPerSec.toFixed(1)} img/s` : undefined,
    `ETA ${formatEta(p.etaSeconds)}`,
  ]).filter(Boolean);
  progressEl.replaceChildren(bar, h('span', { id: 'progress-text' }, `${j.state === 'cancelling' ? 'cancelling · ' : ''}${parts.join(' · ')}`));
}

function renderDatasets(j: JobPanelState): void {
  const items: (HTMLElement | string)[] = [];
  if (j.dose !== undefined) items.push(h('span', { class: 'jp-kv' }, h('b', {}, 'dose '), `${formatDose(j.dose)} (${j.dose.toLocaleString('en-US')} photons/pattern)`));
  if (j.view) items.push(h('span', { class: 'jp-kv' }, h('b', {}, 'view '), isRecon(j) ? `${j.view}, split ${j.split ?? '?'}` : `${j.view}, gridsize ${j.gridsize}`));
  if (isRecon(j) && j.algorithm) items.push(h('span', { class: 'jp-kv' }, h('b', {}, 'algorithm '), j.algorithm));
  for (const d of j.datasets) {
    const what = !d.exists ? 'not found' : [d.patterns !== undefined ? `${d.patterns.toLocaleString('en-US')} patterns` : undefined, d.n ? `N=${d.n}` : undefined, d.bytes !== undefined ? formatBytes(d.bytes) : undefined].filter(Boolean).join(', ');
    items.push(h('span', { class: `jp-kv${d.exists ? '' : ' missing'}`, title: d.displayPath }, h('b', {}, `${d.split} `), h('code', {}, d.fileName), ` ${what}`));
  }
  if (j.artifactDisplayPath) items.push(h('span', { class: 'jp-kv', title: 'Job folder (artifacts)' }, h('b', {}, 'folder '), h('code', {}, j.artifactDisplayPath)));
  datasetsEl.replaceChildren(...items);
}

const METRIC_COLUMNS: [string, string, string][] = [
  ['mae', 'MAE', 'mean absolute error (lower is better)'], ['mse', 'MSE', 'mean squared error (lower is better)'],
  ['psnr', 'PSNR', 'peak signal-to-noise ratio, dB (higher is better)'], ['ssim', 'SSIM', 'structural similarity (1 is perfect)'],
  ['msSsim', 'MS-SSIM', 'multi-scale SSIM (1 is perfect)'],
  ['pearson', 'Pearson r', 'Pearson correlation with the ground truth (phase after plane removal): 1 is perfect, 0 is none'],
  ['frc50', 'FRC50 (cycles/px)', 'the spatial frequency (cycles per pixel, 0.5 = Nyquist) where the Fourier ring correlation drops below 0.5: higher is finer resolution'],
];

function metricsTable(m: { amplitude?: MetricTable; phase?: MetricTable }): HTMLTableElement {
  const head = h('tr', {}, h('th', { scope: 'col' }, ''), ...METRIC_COLUMNS.map(([, label, help]) => h('th', { scope: 'col', title: help }, label)));
  const rows = (['amplitude', 'phase'] as const).filter((k) => m[k]).map((k) => h('tr', {}, h('th', { scope: 'row' }, k),
    ...METRIC_COLUMNS.map(([key]) => {
      const v = m[k]![key];
      return h('td', {}, v === undefined ? '' : v === null ? '—' : formatValue(v, 4));
    })));
  return h('table', { class: 'data-table jp-metrics', id: 'metrics-table' }, h('thead', {}, head), h('tbody', {}, ...rows));
}

function kv(label: string, value: string | HTMLElement, cls?: string): HTMLElement {
  return h('div', { class: `jp-row${cls ? ` ${cls}` : ''}` }, h('dt', {}, label), h('dd', {}, value));
}

function renderSummary(j: JobPanelState): void {
  const r: JobRunSummary | undefined = j.run;
  const buttons = h('div', { class: 'mv-controls' },
    ...(['showReconstruction', 'showManifest', 'openLogFile'] as JobAction[]).map((a) => h('button', {
      type: 'button', id: `action-${a}`, class: a === 'showReconstruction' && j.actions[a].enabled ? 'primary' : undefined, disabled: !j.actions[a].enabled,
      title: j.actions[a].enabled ? actionHelp(a) : `Not available: ${j.actions[a].why ?? ''}`, onclick: () => void runAction(a),
    }, actionLabel(a))));
  if (!r) {
    summaryEl.replaceChildren(h('div', { class: 'jp-card-head' }, h('h2', {}, 'Run')),
      h('p', { class: 'muted', id: 'run-none' }, isRecon(j) ? 'This reconstruction has not run yet.' : 'This job has not been dry-run or trained yet.'), buttons);
    return;
  }
  const rows: HTMLElement[] = [];
  rows.push(kv('status', h('span', { class: `jp-state state-${r.status}`, id: 'run-status' }, STATE_LABEL[r.status])));
  if (r.reason && (r.status === 'failed' || r.status === 'cancelled')) rows.push(kv('reason', r.reason, r.status === 'failed' ? 'error' : 'warn'));
  if (r.stopReason) rows.push(kv('stopped', r.stopReason));
  const ep = r.executionProviderUsed ?? (r.status === 'dry-run' ? undefined : '—');
  if (ep || r.executionProviderRequested) {
    rows.push(kv('execution provider', h('span', { id: 'run-ep' },
      ep ? `${ep}` : 'not started', r.executionProviderRequested && r.executionProviderRequested !== ep ? h('span', { class: 'muted' }, ` (requested ${r.executionProviderRequested})`) : undefined)));
  }
  if (r.fallbackReason) rows.push(kv('fallback', r.fallbackReason, 'warn'));
  if (r.epochs !== undefined) rows.push(kv(isRecon(j) ? 'iterations' : 'epochs', `${r.epochs}${r.steps !== undefined ? ` (${r.steps.toLocaleString('en-US')} steps)` : ''}`));
  if (r.finalLoss !== undefined && r.finalLoss !== null) rows.push(kv(isRecon(j) ? 'final relative error' : 'final train loss', formatValue(r.finalLoss, 6)));
  if (r.bestValLoss !== undefined && r.bestValLoss !== null) rows.push(kv('best val loss', formatValue(r.bestValLoss, 6)));
  if (r.seconds !== undefined) rows.push(kv('wall time', formatEta(r.seconds)));
  if (r.finishedAt) rows.push(kv('finished', new Date(r.finishedAt).toLocaleString()));
  else if (r.startedAt) rows.push(kv('started', new Date(r.startedAt).toLocaleString()));
  const parts: (HTMLElement | undefined)[] = [h('div', { class: 'jp-card-head' }, h('h2', {}, r.status === 'dry-run' ? 'Dry run' : 'Last run')), h('dl', { class: 'jp-dl' }, ...rows)];
  if (r.metrics) {
    parts.push(h('h3', { class: 'jp-sub' }, isRecon(j) ? 'Reconstruction vs. ground truth (common evaluation)' : 'Test reconstruction vs. ground truth'), h('div', { class: 'table-x' }, metricsTable(r.metrics)));
  } else if (r.status === 'succeeded') {
    parts.push(h('p', { class: 'muted' }, 'No metrics were recorded (the job has no test split).'));
  }
  parts.push(buttons);
  summaryEl.replaceChildren(...parts.filter((x): x is HTMLElement => x !== undefined));
}

function renderFindings(j: JobPanelState): void {
  const list = j.findings;
  findingsEl.hidden = list.length === 0;
  if (list.length === 0) {
    findingsEl.replaceChildren();
    return;
  }
  const order = { error: 0, warning: 1, info: 2 } as const;
  const sorted = [...list].sort((a, b) => order[a.severity] - order[b.severity]);
  const counts = (['error', 'warning', 'info'] as const).map((s) => [s, list.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  findingsEl.replaceChildren(
    h('div', { class: 'jp-card-head' }, h('h2', {}, 'Validation'), h('span', { class: 'muted' }, counts.map(([s, n]) => `${n} ${s}${n === 1 ? '' : 's'}`).join(', '))),
    h('div', { class: 'table-x' }, h('table', { class: 'jp-findings-table', id: 'findings-table' },
      h('thead', {}, h('tr', {}, ...['', 'rule', 'file', 'key', 'finding'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...sorted.map((f) => h('tr', { class: `sev-${f.severity}` },
        h('td', { class: 'sev', title: f.severity }, h('span', { class: `sev-badge sev-${f.severity}` }, f.severity)),
        h('td', {}, h('code', {}, f.rule)),
        h('td', { title: f.displayPath }, f.fileName),
        h('td', {}, f.key ? h('code', {}, f.key) : ''),
        h('td', { class: 'msg' }, f.message)))))));
}

function renderJob(j: JobPanelState): void {
  const changedJob = job?.jobId !== j.jobId;
  job = j;
  if (changedJob || state.jobId !== j.jobId) {
    state.jobId = j.jobId;
    persist();
  }
  chart.setUnits(isRecon(j) ? RECONSTRUCTION_UNITS : TRAINING_UNITS);
  log.logName = isRecon(j) ? 'recon.log' : 'train.log';
  quality.setUnit(isRecon(j) ? 'iteration' : 'epoch');
  renderHeader(j);
  if (!j.found) {
    notFoundEl.hidden = false;
    notFoundEl.replaceChildren(h('h1', {}, `${j.jobId} is not in this workspace`), h('p', { id: 'job-not-found-message' }, j.notFoundMessage ?? ''),
      h('p', { class: 'muted' }, 'The panel follows the workspace: it shows the job again when its data come back. Close it otherwise.'));
    body.hidden = true;
    reasonEl.hidden = true;
    progressEl.hidden = true;
    return;
  }
  notFoundEl.hidden = true;
  body.hidden = false;
  renderReason(j);
  renderProgress();
  renderDatasets(j);
  renderSummary(j);
  renderFindings(j);
  if (!renderedOnce) {
    renderedOnce = true;
    void client.emit('rendered', {
      what: `job ${j.jobId}`, scriptStartMs: client.timing.scriptStartMs, readyMs: client.timing.readyMs, drawnMs: performance.now(), requestMs: 0, drawMs: 0, first: true,
    }).catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Messages

client.on('job', renderJob);
client.on('log', (b) => log.apply(b));
let eventsGeneration = 0;
client.on('events', (b) => {
  if (b.generation < eventsGeneration) return; // a late batch from before the file was read again
  if (b.reset || b.generation !== eventsGeneration) {
    chart.reset();
    preview.restart();
  }
  eventsGeneration = b.generation;
  chart.model.add(b.events);
  const lp = chart.model.lastProgress;
  eventProgress = lp ? { epoch: lp.epoch, epochs: lp.epochs, stepInEpoch: lp.stepInEpoch, stepsPerEpoch: lp.stepsPerEpoch, loss: lp.loss, imagesPerSec: lp.imagesPerSec, etaSeconds: lp.etaSeconds } : undefined;
  chart.update();
  quality.update(chart.model);
  preview.setEpochs(previewEpochs());
  renderProgress();
});

function viewState(): JobPanelViewState {
  const axis = chart.axis();
  const s = log.search;
  const enabled = job ? (Object.keys(job.actions) as JobAction[]).filter((a) => job!.actions[a].enabled) : [];
  return {
    jobId: job?.jobId, state: job?.state, found: job?.found,
    lines: log.store.size, lastLine: log.store.rowCount > 0 ? log.store.row(log.store.rowCount - 1) : undefined,
    generation: log.store.generation, skippedBytes: log.store.skippedBytes, follow: log.follow, renderedRows: log.renderedRows,
    search: { query: s.query, matches: s.matches.length, current: s.current, ...(s.currentMatch ? { line: s.currentMatch.line } : {}) },
    chart: { epochs: chart.model.epochs.length, steps: chart.model.steps.length, yMode: chart.settings.yMode, nonBlank: chart.nonBlank(), lrMarks: chart.model.lrMarks.length, note: axis.note, smoothing: chart.settings.smoothing },
    quality: quality.viewState(),
    preview: preview.viewState(),
    runs: job?.runs?.length ?? 0,
    ...(job?.viewing ? { viewing: job.viewing.id } : {}),
    enabledActions: enabled,
    header: headerEl.innerText,
    progressText: progressEl.hidden ? '' : progressEl.innerText,
    findings: job?.findings.length ?? 0,
    metricsShown: Boolean(document.getElementById('metrics-table')),
    stats: { ...log.stats },
  };
}

client.onRequest('getViewState', () => {
  log.render();
  chart.draw();
  return viewState();
});
client.onRequest('showPreview', async (p) => {
  const i = preview.epochs.indexOf(p.epoch);
  if (i < 0) throw new Error(`no preview of epoch ${p.epoch}`);
  preview.following = i === preview.epochs.length - 1;
  const drawMs = await preview.show(p.epoch);
  return { shown: preview.shown, drawMs };
});
client.onRequest('exportLossCsv', async () => ({ saved: await chart.exportCsv() }));
client.onRequest('exportPreviewStrip', async () => ({ saved: await preview.exportStrip() }));
client.onRequest('search', (p) => {
  log.setSearch(p.query, p.caseSensitive ?? false, p.step);
  const s = log.search;
  return { query: s.query, matches: s.matches.length, current: s.current, ...(s.currentMatch ? { line: s.currentMatch.line } : {}) };
});
client.serveRelay();
client.ready();
