// "Open in Notebook": a Jupyter notebook (nbformat 4.5) beside a job's results, for the analysis the workbench does
// not do. It loads the job's reconstruction.npz (allow_pickle=False), metrics.json and events.jsonl through paths
// relative to the notebook's own folder — so it keeps working after the job folder is moved or copied — prints the
// headline metrics, shows amplitude and phase with the workbench's colormaps (and the ground truth when the file has
// it), and plots the run's loss (training) or error (Phase F reconstruction) per epoch / iteration.
// Everything taken from files (job id, settings, member names) enters the notebook as an escaped Python string
// literal or as escaped Markdown text: a hostile job id cannot become code. Pure Node (no vscode): the CLI's
// `notebook` command and the extension share it.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../atomic';
import type { ColormapName } from '../image/colormaps';
import { openNpz } from '../npy';
import { COMPARED_METRICS } from '../run/compareRuns';
import { readSmallFile } from '../run/safeFiles';
import { ARTIFACT, formatDose } from '../study/layout';
import { MANIFEST_MAX_BYTES } from '../study/manifest';

/** The workbench's maps (amplitude.png, the job panel, the reconstruction viewer); their names are matplotlib's. */
export const NOTEBOOK_AMPLITUDE_COLORMAP: ColormapName = 'gray';
export const NOTEBOOK_PHASE_COLORMAP: ColormapName = 'twilight';
/** The default notebook name in a job folder (analysis.ipynb, then analysis-2.ipynb, …). */
export const DEFAULT_NOTEBOOK_NAME = 'analysis';
/** Marks a notebook this module wrote (notebook metadata key). */
export const NOTEBOOK_METADATA_KEY = 'ptycho_study';
const GENERATOR = 'ptycho-study notebook';
/** An existing notebook larger than this is not read (it is not ours: ours have no outputs until run). */
const EXISTING_MAX_BYTES = 64 << 20;

export type JobKind = 'train' | 'reconstruct';

/** What the notebook is generated from: the job and what its folder holds (readJobNotebookInfo gathers it). */
export interface NotebookJobInfo {
  jobId: string;
  kind: JobKind;
  runId?: string;
  status?: string;
  startedAt?: string;
  finishedAt?: string;
  /** The job folder relative to the notebook's folder, POSIX separators (`.` when the notebook is in it). */
  jobDir: string;
  /** Numeric members of reconstruction.npz (what `np.load(..., allow_pickle=False)` can read), in file order. */
  arrays: string[];
  /** `_metadata` stored as a plain string (`<U`): read as JSON. */
  metadataString: boolean;
  /** Members stored as pickled objects (`|O`): never loaded. */
  pickled: string[];
  /** Which of metrics.json, events.jsonl, manifest.json the job folder has. */
  files: { metrics: boolean; events: boolean; manifest: boolean };
  /** The run's key settings, label → value, in display order. */
  settings: [string, string][];
}

export interface NotebookCell {
  cell_type: 'markdown' | 'code';
  id: string;
  metadata: Record<string, unknown>;
  source: string[];
  execution_count?: null;
  outputs?: unknown[];
}

export interface Notebook {
  nbformat: 4;
  nbformat_minor: 5;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export class NotebookError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = 'NotebookError';
  }
}

// ---------------------------------------------------------------- escaping

/**
 * A Python 3 string literal of `s`, ASCII only: printable ASCII as is (but `"` and `\`), everything else as an
 * escape (\n, \t, \uXXXX, \UXXXXXXXX; a lone surrogate becomes U+FFFD). Always exactly one line, always one literal.
 */
export function pyString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp >= 0xd800 && cp <= 0xdfff) out += '\\ufffd';
    else if (cp <= 0xffff) out += `\\u${cp.toString(16).padStart(4, '0')}`;
    else out += `\\U${cp.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** A Python list literal of strings. */
function pyList(items: readonly string[]): string {
  return `[${items.map(pyString).join(', ')}]`;
}

/**
 * Text from files as inline Markdown: one line (controls become spaces), at most `max` characters, the characters
 * that could start HTML, an entity, a link, an image, code, emphasis, math or a table cell boundary backslash-escaped
 * (CommonMark escapes), so it renders as the text it is.
 */
export function markdownText(s: string, max = 200): string {
  let t = [...s].map((c) => (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(c) ? ' ' : c)).join('');
  if (t.length > max) t = `${t.slice(0, max)}…`;
  return t.replace(/[\\`*_[\]<>|$&~#!{}()]/g, (c) => `\\${c}`);
}

// ---------------------------------------------------------------- the notebook

function lines(text: string): string[] {
  const parts = text.split('\n');
  return parts.map((l, i) => (i < parts.length - 1 ? `${l}\n` : l)).filter((l) => l !== '');
}

function markdown(id: string, text: string): NotebookCell {
  return { cell_type: 'markdown', id, metadata: {}, source: lines(text) };
}

function code(id: string, text: string): NotebookCell {
  return { cell_type: 'code', id, metadata: {}, execution_count: null, outputs: [], source: lines(text) };
}

/** The text of a cell's source (a string or a list of strings, as nbformat allows). */
export function cellText(source: unknown): string {
  return Array.isArray(source) ? source.join('') : typeof source === 'string' ? source : '';
}

/** The fingerprint of a notebook's cells (type and source): tells a notebook we wrote from one edited since. */
export function cellsFingerprint(cells: readonly { cell_type?: unknown; source?: unknown }[]): string {
  return createHash('sha256').update(JSON.stringify(cells.map((c) => [c.cell_type, cellText(c.source)]))).digest('hex');
}

const KIND_LABEL: Record<JobKind, string> = { train: 'training (PtychoPINN)', reconstruct: 'Phase F reconstruction' };

function titleCell(info: NotebookJobInfo): NotebookCell {
  const row = (k: string, v: string | undefined): string => `| ${k} | ${v === undefined || v === '' ? '—' : markdownText(v)} |`;
  const md = [
    `# ${info.kind === 'train' ? 'Training job' : 'Reconstruction job'} ${markdownText(info.jobId)}`,
    '',
    '| | |',
    '|---|---|',
    row('job', info.jobId),
    `| kind | ${KIND_LABEL[info.kind]} |`,
    row('run', info.runId),
    row('status', info.status),
    row('started', info.startedAt),
    row('finished', info.finishedAt),
  ];
  if (info.settings.length) {
    md.push('', '**Key settings** (from `manifest.json`)', '', '| setting | value |', '|---|---|');
    for (const [k, v] of info.settings) md.push(`| ${markdownText(k, 80)} | ${markdownText(v)} |`);
  }
  md.push(
    '',
    'Written by `ptycho-study notebook`. Every path below is relative to this notebook\'s folder, so the notebook keeps',
    'working when the job folder is moved or copied with it. Running `ptycho-study notebook` again refreshes this file',
    'only while its cells are as written; an edited copy is kept, and the new notebook gets another name.',
  );
  return markdown('title', md.join('\n'));
}

function setupCell(info: NotebookJobInfo): NotebookCell {
  const file = (variable: string, name: string, present: boolean): string =>
    present ? `${variable} = os.path.join(JOB_DIR, ${pyString(name)})` : `${variable} = None  # the job folder has no ${name}`;
  return code('setup', [
    'import json',
    'import os',
    '',
    'import numpy as np',
    'import matplotlib.pyplot as plt',
    '',
    '# The job folder, relative to this notebook\'s folder (Jupyter\'s working folder).',
    `JOB_DIR = ${pyString(info.jobDir)}`,
    `JOB_ID = ${pyString(info.jobId)}`,
    `JOB_KIND = ${pyString(info.kind)}`,
    `RUN_FINISHED_AT = ${info.finishedAt ? pyString(info.finishedAt) : 'None'}`,
    `RECONSTRUCTION = os.path.join(JOB_DIR, ${pyString(ARTIFACT.reconstruction)})`,
    file('METRICS_JSON', ARTIFACT.metrics, info.files.metrics),
    file('EVENTS_JSONL', ARTIFACT.events, info.files.events),
    file('MANIFEST_JSON', ARTIFACT.manifest, info.files.manifest),
  ].join('\n'));
}

function loadCell(info: NotebookJobInfo): NotebookCell {
  const has = (k: string): boolean => info.arrays.includes(k);
  const src = [
    '# allow_pickle=False: nothing in the file is unpickled (the workbench stores _metadata as a plain string).',
    `KEYS = ${pyList(info.arrays)}`,
    'with np.load(RECONSTRUCTION, allow_pickle=False) as npz:',
    '    arrays = {key: npz[key] for key in KEYS}',
  ];
  if (info.metadataString) {
    src.push(
      '    try:',
      '        metadata = json.loads(str(npz["_metadata"][()]))',
      '    except ValueError:  # not JSON, or a pickled object',
      '        metadata = None',
    );
  } else {
    src.push('    metadata = None  # no readable _metadata (a pickled one is never loaded)');
  }
  if (info.pickled.length) src.push(`PICKLED = ${pyList(info.pickled)}  # object arrays: not loaded`);
  src.push(
    has('amplitude') ? 'amplitude = arrays["amplitude"]' : 'amplitude = np.abs(arrays["object"])',
    has('phase') ? 'phase = arrays["phase"]' : 'phase = np.angle(arrays["object"])',
    has('ground_truth') ? 'ground_truth = arrays["ground_truth"]' : 'ground_truth = None  # the file has no ground_truth',
    'for key, value in arrays.items():',
    '    print(f"{key:<14} {str(value.dtype):<10} {value.shape}")',
    '',
    'manifest = None',
    'if MANIFEST_JSON is not None and os.path.exists(MANIFEST_JSON):',
    '    with open(MANIFEST_JSON, encoding="utf-8") as f:',
    '        manifest = json.load(f)',
    '',
    'metrics = None',
    'if METRICS_JSON is not None and os.path.exists(METRICS_JSON):',
    '    with open(METRICS_JSON, encoding="utf-8") as f:',
    '        metrics = json.load(f)',
    '',
    '# The headline metrics (amplitude and phase), as the workbench\'s run comparison shows them.',
    `HEADLINE = [${COMPARED_METRICS.map((m) => `(${pyString(m.key)}, ${pyString(m.label)})`).join(', ')}]`,
    'if metrics is None:',
    '    print("No metrics.json: the run was not scored.")',
    'else:',
    '    evaluation = metrics.get("evaluation") or {}',
    '    if isinstance(evaluation, dict) and evaluation.get("source"):',
    '        print(f"Scored on {evaluation.get(\'source\')}, region {evaluation.get(\'region\')}, coverage {evaluation.get(\'coverage\')}")',
    '    print(f"{\'metric\':<22}{\'amplitude\':>12}{\'phase\':>12}")',
    '    for key, label in HEADLINE:',
    '        cells = []',
    '        for part in ("amplitude", "phase"):',
    '            value = (metrics.get(part) or {}).get(key)',
    '            cells.append(f"{value:>12.4g}" if isinstance(value, (int, float)) else f"{\'—\':>12}")',
    '        print(f"{label:<22}" + "".join(cells))',
  );
  return code('load', src.join('\n'));
}

function imagesCell(): NotebookCell {
  return code('images', [
    '# The workbench\'s colormaps: amplitude in gray, phase in twilight (cyclic) over −π…π.',
    `AMPLITUDE_CMAP = ${pyString(NOTEBOOK_AMPLITUDE_COLORMAP)}`,
    `PHASE_CMAP = ${pyString(NOTEBOOK_PHASE_COLORMAP)}`,
    'rows = [("reconstruction", amplitude, phase)]',
    'if ground_truth is not None:',
    '    rows.append(("ground truth", np.abs(ground_truth), np.angle(ground_truth)))',
    'fig, axes = plt.subplots(len(rows), 2, figsize=(12, 4.5 * len(rows)), squeeze=False)',
    'for (label, amp, ph), (ax_amp, ax_ph) in zip(rows, axes):',
    '    im = ax_amp.imshow(amp, cmap=AMPLITUDE_CMAP, interpolation="nearest")',
    '    ax_amp.set_title(f"{label}: amplitude")',
    '    fig.colorbar(im, ax=ax_amp, fraction=0.046, pad=0.04)',
    '    im = ax_ph.imshow(ph, cmap=PHASE_CMAP, vmin=-np.pi, vmax=np.pi, interpolation="nearest")',
    '    ax_ph.set_title(f"{label}: phase (rad)")',
    '    fig.colorbar(im, ax=ax_ph, fraction=0.046, pad=0.04, ticks=[-np.pi, -np.pi / 2, 0, np.pi / 2, np.pi])',
    '    for ax in (ax_amp, ax_ph):',
    '        ax.set_xlabel("x (px)")',
    '        ax.set_ylabel("y (px)")',
    'fig.suptitle(JOB_ID)',
    'fig.tight_layout()',
    'plt.show()',
  ].join('\n'));
}

function probeCell(): NotebookCell {
  return code('probe', [
    '# The probe the reconstruction ended with (Phase F).',
    'probe = arrays["probe"]',
    'fig, (ax_amp, ax_ph) = plt.subplots(1, 2, figsize=(9, 4))',
    'im = ax_amp.imshow(np.abs(probe), cmap=AMPLITUDE_CMAP, interpolation="nearest")',
    'ax_amp.set_title("probe amplitude")',
    'fig.colorbar(im, ax=ax_amp, fraction=0.046, pad=0.04)',
    'im = ax_ph.imshow(np.angle(probe), cmap=PHASE_CMAP, vmin=-np.pi, vmax=np.pi, interpolation="nearest")',
    'ax_ph.set_title("probe phase (rad)")',
    'fig.colorbar(im, ax=ax_ph, fraction=0.046, pad=0.04)',
    'fig.tight_layout()',
    'plt.show()',
  ].join('\n'));
}

function historyCell(): NotebookCell {
  return code('history', [
    '# events.jsonl is the job\'s journal: every run appends to it. This run\'s part starts at its last fresh start',
    '# (a resume continues the same run) at or before the time the run finished.',
    'def read_events(path):',
    '    events = []',
    '    if path is None or not os.path.exists(path):',
    '        return events',
    '    with open(path, encoding="utf-8", errors="replace") as f:',
    '        for line in f:',
    '            line = line.strip()',
    '            if not line:',
    '                continue',
    '            try:',
    '                event = json.loads(line)',
    '            except ValueError:  # a line cut short by a crash',
    '                continue',
    '            if isinstance(event, dict):',
    '                events.append(event)',
    '    return events',
    '',
    'def run_segment(events, ended_at):',
    '    starts = [i for i, e in enumerate(events) if e.get("type") in ("started", "recon-started") and not e.get("resumedFrom")]',
    '    chosen = [k for k, i in enumerate(starts) if ended_at is None or str(events[i].get("time", "")) <= ended_at]',
    '    if not chosen:',
    '        return []',
    '    k = chosen[-1]',
    '    return events[starts[k]:starts[k + 1] if k + 1 < len(starts) else len(events)]',
    '',
    'def number(v):',
    '    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")',
    '',
    'segment = run_segment(read_events(EVENTS_JSONL), RUN_FINISHED_AT)',
    'epochs, iterations, quality = {}, {}, {}',
    'for e in segment:',
    '    if e.get("type") == "epoch":  # training: loss per epoch (a resumed epoch replaces its first record)',
    '        epochs[e.get("epoch")] = (number(e.get("trainLoss")), number(e.get("valLoss")))',
    '    elif e.get("type") == "quality":  # training: Pearson r on the preview window after each epoch',
    '        quality[e.get("epoch")] = (number((e.get("amplitude") or {}).get("pearson")), number((e.get("phase") or {}).get("pearson")))',
    '    elif e.get("type") == "iteration":  # reconstruction: error (and Pearson r against the ground truth) per iteration',
    '        iterations[e.get("iteration")] = number(e.get("relativeError"))',
    '        q = e.get("quality") or {}',
    '        quality[e.get("iteration")] = (number(q.get("amplitude")), number(q.get("phase")))',
    '',
    'if not epochs and not iterations and manifest is not None:  # no journal beside the run: the manifest\'s history',
    '    for h in (manifest.get("result") or {}).get("history") or []:',
    '        if "epoch" in h:',
    '            epochs[h["epoch"]] = (number(h.get("trainLoss")), number(h.get("valLoss")))',
    '        elif "iteration" in h:',
    '            iterations[h["iteration"]] = number(h.get("relativeError"))',
    '            quality[h["iteration"]] = (number(h.get("amplitudeR")), number(h.get("phaseR")))',
    '',
    'fig, (ax_cost, ax_q) = plt.subplots(1, 2, figsize=(12, 4))',
    'if epochs:',
    '    xs = sorted(epochs)',
    '    ax_cost.plot(xs, [epochs[x][0] for x in xs], "o-", label="loss")',
    '    ax_cost.plot(xs, [epochs[x][1] for x in xs], "s--", label="val_loss")',
    '    ax_cost.set_xlabel("epoch")',
    '    ax_cost.set_ylabel("loss")',
    '    ax_cost.legend()',
    'elif iterations:',
    '    xs = sorted(iterations)',
    '    ax_cost.semilogy(xs, [iterations[x] for x in xs], "o-", label="relative error")',
    '    ax_cost.set_xlabel("iteration")',
    '    ax_cost.set_ylabel("relative error")',
    '    ax_cost.legend()',
    'else:',
    '    ax_cost.text(0.5, 0.5, "no loss or error history recorded", ha="center", va="center", transform=ax_cost.transAxes)',
    'if quality:',
    '    xs = sorted(quality)',
    '    ax_q.plot(xs, [quality[x][0] for x in xs], "o-", label="amplitude r")',
    '    ax_q.plot(xs, [quality[x][1] for x in xs], "s-", label="phase r")',
    '    ax_q.set_xlabel("epoch" if epochs else "iteration")',
    '    ax_q.set_ylabel("Pearson r")',
    '    ax_q.legend()',
    'else:',
    '    ax_q.text(0.5, 0.5, "no quality history recorded", ha="center", va="center", transform=ax_q.transAxes)',
    'ax_cost.set_title("cost")',
    'ax_q.set_title("quality during the run")',
    'fig.suptitle(JOB_ID)',
    'fig.tight_layout()',
    'plt.show()',
  ].join('\n'));
}

/** The notebook of a job (nbformat 4.5): title, setup, load + metrics, images, (probe), history. */
export function jobNotebook(info: NotebookJobInfo): Notebook {
  if (!info.arrays.includes('object') && !(info.arrays.includes('amplitude') && info.arrays.includes('phase'))) {
    throw new NotebookError('reconstruction.npz has neither `object` nor `amplitude` and `phase`: nothing to show.');
  }
  const cells: NotebookCell[] = [
    titleCell(info),
    setupCell(info),
    markdown('load-notes', '## Results\n\n`reconstruction.npz` (the stitched object of the evaluation region; `origin` is its top-left pixel in the dataset\'s `objectGuess`), `metrics.json` (scored on the dose\'s common evaluation, after removing the global phase).'),
    loadCell(info),
    imagesCell(),
  ];
  if (info.arrays.includes('probe')) cells.push(probeCell());
  cells.push(markdown('history-notes', `## ${info.kind === 'train' ? 'Loss per epoch' : 'Error per iteration'}\n\nFrom \`events.jsonl\` (this run's part of the job's journal).`), historyCell());
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: {
        name: 'python', file_extension: '.py', mimetype: 'text/x-python', codemirror_mode: { name: 'ipython', version: 3 },
        pygments_lexer: 'ipython3', nbconvert_exporter: 'python',
      },
      [NOTEBOOK_METADATA_KEY]: {
        generator: GENERATOR, jobId: info.jobId, kind: info.kind, runId: info.runId ?? null, jobDir: info.jobDir,
        cellsSha256: cellsFingerprint(cells),
      },
    },
    cells,
  };
}

/** The notebook as written: nbformat's own layout (indent 1), newline-terminated. */
export function serializeNotebook(nb: Notebook): string {
  return `${JSON.stringify(nb, null, 1)}\n`;
}

// ---------------------------------------------------------------- reading a job folder

type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const scalar = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'boolean' ? String(v) : undefined;

const TRAINING_KEYS = [
  'epochs', 'batchSize', 'learningRate', 'nFiltersScale', 'seed', 'earlyStoppingMonitor', 'earlyStoppingPatience', 'patienceRestartsOnLrReduction', 'minDelta',
  'probeNormalization', 'weightInit', 'warmupSteps', 'probeBig', 'rampHead', 'residualBlocks', 'regroupEachEpoch', 'symmetryAugment', 'backprojectedInput', 'energyAmplitude', 'objectSupport', 'stitchCropSize', 'stitchBlend', 'stitchAmplitudeFilter', 'stitchPhaseFilter', 'stitchContrastCalibration', 'groupRefinement', 'neighborCount', 'executionProvider',
];

/** The key settings of a run's manifest (training or Phase F), label → value. */
export function keySettings(manifest: Json, kind: JobKind): [string, string][] {
  const out: [string, string][] = [];
  const add = (label: string, v: unknown): void => {
    const s = scalar(v);
    if (s !== undefined) out.push([label, s]);
  };
  const config = obj(manifest.config) ?? {};
  const job = obj(manifest.job) ?? {};
  add('dose', typeof job.dose === 'number' ? formatDose(job.dose) : config.dose);
  add('view', job.view ?? config.view);
  add('gridsize', job.gridsize ?? config.gridsize);
  if (kind === 'train') {
    add('pattern size N', config.n);
    add('training patterns', config.trainPatterns);
    add('test patterns', config.testPatterns);
    add('training groups', config.nGroups);
    const t = obj(config.training) ?? {};
    for (const k of TRAINING_KEYS) add(k, t[k]);
  } else {
    add('split', job.split ?? config.split);
    add('algorithm', job.algorithm ?? config.algorithm);
    add('pattern size N', config.n);
    add('patterns', config.patterns);
    const s = obj(config.settings) ?? {};
    for (const [k, v] of Object.entries(s)) add(k, v);
  }
  add('execution provider used', obj(manifest.runtime)?.executionProviderUsed);
  const result = obj(manifest.result) ?? {};
  add(kind === 'train' ? 'epochs run' : 'iterations run', kind === 'train' ? result.epochs : result.iterations);
  add('stop reason', result.stopReason);
  if (kind === 'train') {
    add('final loss', result.finalLoss);
    add('best val loss', result.bestValLoss);
  } else {
    add('final relative error', result.relativeError);
  }
  return out;
}

async function isRegularFile(file: string): Promise<boolean> {
  try {
    return (await fs.promises.lstat(file)).isFile();
  } catch {
    return false;
  }
}

/** The POSIX relative path from the notebook's folder to the job folder ('.' when they are the same). */
export function relativeJobDir(notebookFile: string, jobDir: string): string {
  const rel = path.relative(path.dirname(path.resolve(notebookFile)), path.resolve(jobDir));
  if (path.isAbsolute(rel)) throw new NotebookError(`The notebook ${notebookFile} cannot reach ${jobDir} by a relative path (another drive); write it inside the job folder.`, notebookFile);
  return rel === '' ? '.' : rel.split(path.sep).join('/');
}

/**
 * What a notebook of the job in `jobDir` needs: its manifest (id, kind, run, status, key settings), the members of
 * its reconstruction.npz, which of metrics.json / events.jsonl exist. `notebookFile` decides the relative path.
 * NotebookError when there is no reconstruction.npz yet.
 */
export async function readJobNotebookInfo(jobDir: string, notebookFile: string, opts: { jobId?: string; kind?: JobKind } = {}): Promise<NotebookJobInfo> {
  const npzFile = path.join(jobDir, ARTIFACT.reconstruction);
  let manifest: Json = {};
  const manifestFile = path.join(jobDir, ARTIFACT.manifest);
  const hasManifest = await isRegularFile(manifestFile);
  if (hasManifest) {
    try {
      manifest = obj(JSON.parse(await readSmallFile(manifestFile, MANIFEST_MAX_BYTES))) ?? {};
    } catch {
      manifest = {};
    }
  }
  const job = obj(manifest.job) ?? {};
  const config = obj(manifest.config) ?? {};
  const jobId = opts.jobId ?? [job.id, config.jobId].find((v): v is string => typeof v === 'string') ?? path.basename(path.resolve(jobDir));
  const kind: JobKind = opts.kind ?? (manifest.kind === 'ptycho-study-reconstruction' || config.kind === 'reconstruct' || typeof job.algorithm === 'string' ? 'reconstruct' : 'train');
  try {
    await fs.promises.lstat(npzFile);
  } catch {
    throw new NotebookError(`${jobId} has no ${ARTIFACT.reconstruction} in ${jobDir}: ${kind === 'train' ? 'train the job (ptycho-study train)' : 'reconstruct it (ptycho-study reconstruct)'} first, then generate its notebook.`, npzFile);
  }
  const arrays: string[] = [];
  const pickled: string[] = [];
  let metadataString = false;
  const npz = await openNpz(npzFile);
  try {
    for (const m of npz.members.values()) {
      if (m.header.dtype.name === 'O') pickled.push(m.name);
      else if (m.name === '_metadata') metadataString = m.header.dtype.name === 'U';
      else arrays.push(m.name);
    }
  } finally {
    await npz.close();
  }
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  return {
    jobId, kind, runId: str(manifest.runId), status: str(manifest.status), startedAt: str(manifest.startedAt), finishedAt: str(manifest.finishedAt),
    jobDir: relativeJobDir(notebookFile, jobDir), arrays, metadataString, pickled,
    files: { metrics: await isRegularFile(path.join(jobDir, ARTIFACT.metrics)), events: await isRegularFile(path.join(jobDir, ARTIFACT.events)), manifest: hasManifest },
    settings: keySettings(manifest, kind),
  };
}

// ---------------------------------------------------------------- writing

/** What is at a notebook path: nothing, a notebook we wrote (cells as written), or anything else. */
export type ExistingNotebook = 'none' | 'ours' | 'edited' | 'foreign';

/** Judges an existing file; a symlink, FIFO, folder or other non-regular file is refused (NotebookError). */
export async function existingNotebook(file: string): Promise<ExistingNotebook> {
  let st: fs.Stats;
  try {
    st = await fs.promises.lstat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw err;
  }
  if (st.isSymbolicLink()) throw new NotebookError(`Refusing to write ${file}: it is a symbolic link (a notebook is never written through a link). Remove it or choose another file.`, file);
  if (!st.isFile()) throw new NotebookError(`Refusing to write ${file}: it is ${st.isFIFO() ? 'a FIFO' : st.isDirectory() ? 'a folder' : 'not a regular file'}. Remove it or choose another file.`, file);
  let nb: Json | undefined;
  try {
    nb = obj(JSON.parse(await readSmallFile(file, EXISTING_MAX_BYTES)));
  } catch {
    return 'foreign';
  }
  const mark = obj(obj(nb?.metadata)?.[NOTEBOOK_METADATA_KEY]);
  if (!mark || mark.generator !== GENERATOR || !Array.isArray(nb?.cells)) return 'foreign';
  return mark.cellsSha256 === cellsFingerprint(nb.cells as Json[]) ? 'ours' : 'edited';
}

export interface WriteNotebookOptions {
  /** The notebook file (absolute); default `<job folder>/<name>.ipynb`, the first free or refreshable of name, name-2, …. */
  file?: string;
  /** Base name in the job folder (default `analysis`). */
  name?: string;
  /** Replace a file that is not an unedited notebook of ours (never a symlink or FIFO). */
  force?: boolean;
  jobId?: string;
  kind?: JobKind;
}

export interface WrittenNotebook {
  file: string;
  notebook: Notebook;
  info: NotebookJobInfo;
  /** What was at the path before: nothing, or a notebook replaced (ours refreshed, or any with force). */
  replaced: ExistingNotebook;
}

/**
 * Writes the job's notebook atomically. Without `file`: `<job folder>/analysis.ipynb`, refreshed when it is an
 * unedited notebook of ours, else the next of analysis-2.ipynb, analysis-3.ipynb, … that is free or ours (with
 * `force`, analysis.ipynb is replaced whatever it is). With `file`: that file, refused when it holds something else
 * unless `force`. A symlink or FIFO in the way is always refused.
 */
export async function writeJobNotebook(jobDir: string, opts: WriteNotebookOptions = {}): Promise<WrittenNotebook> {
  let file: string;
  let replaced: ExistingNotebook;
  if (opts.file) {
    file = path.resolve(opts.file);
    if (!file.toLowerCase().endsWith('.ipynb')) throw new NotebookError(`${file}: a notebook's name ends in .ipynb.`, file);
    replaced = await existingNotebook(file);
    if ((replaced === 'edited' || replaced === 'foreign') && !opts.force) {
      throw new NotebookError(`${file} exists and ${replaced === 'edited' ? 'was edited since ptycho-study wrote it' : 'was not written by ptycho-study notebook'}; it is kept. Use --force to replace it, or choose another --out.`, file);
    }
  } else {
    const name = opts.name ?? DEFAULT_NOTEBOOK_NAME;
    if (!/^[\w-][\w.-]{0,99}$/.test(name)) throw new NotebookError(`"${name}" is not a notebook name (letters, digits, _ . -).`);
    for (let k = 1; ; k++) {
      if (k > 1000) throw new NotebookError(`${jobDir} already holds ${name}.ipynb … ${name}-1000.ipynb; remove some or choose --out.`);
      file = path.join(jobDir, k === 1 ? `${name}.ipynb` : `${name}-${k}.ipynb`);
      replaced = await existingNotebook(file);
      if (replaced === 'none' || replaced === 'ours' || opts.force) break;
    }
  }
  const info = await readJobNotebookInfo(jobDir, file, { jobId: opts.jobId, kind: opts.kind });
  const notebook = jobNotebook(info);
  await writeFileAtomic(file, serializeNotebook(notebook));
  return { file, notebook, info, replaced };
}
