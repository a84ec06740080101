// The one typed message protocol between the extension host and every webview panel of the workbench.
// Pure types (plus two constants): imported by the extension (Node) and by the browser bundles alike, so it
// must use neither `vscode` nor DOM types.
//
// Envelope (the same for every panel):
//   webview → host   { kind: 'ready', panel, protocolVersion }            first message, once per page load
//   both ways        { kind: 'event', type, body }                         fire and forget
//   both ways        { kind: 'request', requestId, type, params }          expects exactly one response
//   both ways        { kind: 'response', inReplyTo, result }  |  { kind: 'response', inReplyTo, error: string }
// The host posts nothing before the webview's `ready` (vscode-pull-request-github's _waitForReady); a
// webview that reloads (hidden and shown again without retainContextWhenHidden) sends `ready` again and the
// host re-sends its initial state. Arrays travel as ArrayBuffers (VS Code ≥ 1.57 transfers them without
// JSON), never as JSON number lists; a receiver accepts an ArrayBuffer or any typed-array view of one.
//
// Each panel kind declares a `PanelProtocol`: its requests in both directions (params → result) and its
// events in both directions. The unions below turn one into the discriminated message types of each side.

import type { EmptyKind, FlatValue, GridColumn, MethodDelta, MetricKey } from './shared/results';
import type { RunCompareProtocol } from './runCompare/protocol';

/** Bumped when a message changes incompatibly; the host refuses a webview of another version. */
export const PROTOCOL_VERSION = 1;

/** Every webview panel kind of the workbench. Add yours here and to `PanelProtocols`. */
export type PanelKind = 'npzPreview' | 'jobPanel' | 'manifest' | 'reconstruction' | 'comparison' | 'runCompare';

export interface RequestSpec<P = unknown, R = unknown> {
  params: P;
  result: R;
}

export interface PanelProtocol {
  /** Requests the webview sends and the host answers. */
  hostRequests: Record<string, RequestSpec>;
  /** Requests the host sends and the webview answers. */
  webviewRequests: Record<string, RequestSpec>;
  /** Events the host sends to the webview. */
  hostEvents: Record<string, unknown>;
  /** Events the webview sends to the host. */
  webviewEvents: Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------
// Envelope types

export interface ReadyMessage {
  kind: 'ready';
  panel: PanelKind;
  protocolVersion: number;
}

export type EventMessage<E extends Record<string, unknown>> = {
  [K in keyof E & string]: { kind: 'event'; type: K; body: E[K] };
}[keyof E & string];

export type RequestMessage<R extends Record<string, RequestSpec>> = {
  [K in keyof R & string]: { kind: 'request'; requestId: number; type: K; params: R[K]['params'] };
}[keyof R & string];

export type ResponseMessage =
  | { kind: 'response'; inReplyTo: number; result: unknown; error?: undefined }
  | { kind: 'response'; inReplyTo: number; error: string; result?: undefined };

/** Everything the host may post to a webview of protocol P. */
export type ToWebview<P extends PanelProtocol> = EventMessage<P['hostEvents']> | RequestMessage<P['webviewRequests']> | ResponseMessage;

/** Everything a webview of protocol P may post to the host (after validation). */
export type FromWebview<P extends PanelProtocol> = ReadyMessage | EventMessage<P['webviewEvents']> | RequestMessage<P['hostRequests']> | ResponseMessage;

/** Binary payload: an ArrayBuffer when sent; an ArrayBuffer or a typed-array view of one when received. */
export type Binary = ArrayBuffer | ArrayBufferView;

/** A request result or an error, as a relay or a test hook reports it. */
export type Outcome<R = unknown> = { result: R; error?: undefined } | { error: string; result?: undefined };

// ---------------------------------------------------------------------------------------------------------
// Requests and events every panel has

export type LogLevel = 'info' | 'warn' | 'error';

/** Events every webview may send. */
export type CommonWebviewEvents = {
  /** A line for the extension's output channel (uncaught webview errors arrive this way). */
  log: { level: LogLevel; message: string };
  /** First pixels of a view are on screen; times from performance.now() (ms since the page started). */
  rendered: RenderedEvent;
};

export interface RenderedEvent {
  /** What was drawn, e.g. `diffraction[12]`. */
  what: string;
  /** performance.now() when the page's script started, when `ready` was posted, and when drawing ended. */
  scriptStartMs: number;
  readyMs: number;
  drawnMs: number;
  /** Time spent waiting for the data request, and drawing it. */
  requestMs: number;
  drawMs: number;
  /** The first render since the page loaded. */
  first: boolean;
  /** Where drawMs went (ms per stage), for the benchmarks. */
  stagesMs?: Record<string, number>;
}

/** Requests every webview answers (the host uses them in tests and for diagnostics). */
export type CommonWebviewRequests = {
  /** Sends `request` to the host as the webview itself would, and returns what came back. */
  relay: RequestSpec<{ type: string; params: unknown }, Outcome>;
};

/** Requests every host answers. */
export type CommonHostRequests = {
  /** Saves a PNG the webview rendered (Export PNG): asks where with a save dialog. */
  savePng: RequestSpec<{ suggestedName: string; data: Binary }, { saved: boolean; path?: string }>;
  /** Saves CSV text (a panel's table, the loss chart's series): asks where with a save dialog. */
  saveCsv: RequestSpec<{ suggestedName: string; text: string }, { saved: boolean; path?: string }>;
};

// ---------------------------------------------------------------------------------------------------------
// NPZ preview (custom editor `ptychoStudy.npzPreview` for *.npz / *.npy)

/** How the preview presents a member. */
export type MemberView =
  | 'image' // 2-D numeric (complex included)
  | 'stack' // ≥ 3-D numeric: frames along axis 0
  | 'series' // 1-D numeric
  | 'table' // 2-D with a short side (indices), or string arrays
  | 'scalar' // 0-d
  | 'metadata' // the `_metadata` JSON string
  | 'none'; // not shown (empty, object arrays, …) — `note` says why

export interface MemberInfo {
  name: string;
  /** NumPy descr as stored, e.g. `<f4`, `<c8`, `|b1`, `<U12`. */
  descr: string;
  /** Human dtype name, e.g. `float32`, `complex64`. */
  dtypeName: string;
  shape: number[];
  /** Uncompressed array bytes (elements × itemsize). */
  dataBytes: number;
  compression: 'stored' | 'deflated';
  /** Bytes in the archive (compressed size for deflated members). */
  storedBytes: number;
  complex: boolean;
  fortranOrder: boolean;
  view: MemberView;
  /** For stacks: the axes that form the image (e.g. [1, 2]) and the channel axis, if any. */
  imageAxes?: [number, number];
  channelAxis?: number;
  /** 0-d members: the value, formatted. */
  scalar?: string;
  /** Why the member is shown the way it is, or not at all. */
  note?: string;
}

export interface MetadataInfo {
  raw: string;
  /** Parsed JSON, absent when the string is not JSON. */
  json?: unknown;
  truncated?: boolean;
  error?: string;
}

export interface NpzInit {
  fileName: string;
  /** Path relative to the workspace when inside it, else absolute. */
  displayPath: string;
  fileSize: number;
  format: 'npz' | 'npy';
  members: MemberInfo[];
  metadata?: MetadataInfo;
  /** Zip entries that are not arrays (listed only). */
  otherEntries: string[];
  /** The member to show first. */
  initialMember?: string;
  /** Scan positions for the scatter plot: member names of x and y, when both exist and are 1-D of equal length. */
  scan?: { x: string; y: string; count: number };
  /** Arrays larger than this per side are block-mean decimated on the host before they are sent. */
  maxSide: number;
  /** Time the host took to open the file (headers only), ms. */
  openMs: number;
}

export interface SliceParams {
  member: string;
  /** Index along axis 0 for stacks (required for stacks, absent for 2-D images). */
  frame?: number;
  /** Index along the channel axis, for 4-D stacks. */
  channel?: number;
}

export interface SliceResult {
  member: string;
  frame?: number;
  channel?: number;
  /** Size of the slice as stored. */
  sourceWidth: number;
  sourceHeight: number;
  /** Size of `data` (after decimation). */
  width: number;
  height: number;
  /** Block-mean factor (1 = every pixel sent). */
  factor: number;
  complex: boolean;
  /** float32 values, row-major: width × height (× 2 interleaved re, im when complex). */
  data: Binary;
  /** Time the host spent reading (and decimating) the slice, ms. */
  readMs: number;
  /** Bytes read from the archive's uncompressed stream for this slice. */
  bytesRead: number;
}

export interface SeriesParams {
  member: string;
  /** At most this many points; longer series are subsampled by stride. */
  maxPoints: number;
}

export interface SeriesResult {
  member: string;
  length: number;
  /** Every `stride`-th value is sent (1 = all). */
  stride: number;
  /** float64 values. */
  data: Binary;
}

export interface TableParams {
  member: string;
  start: number;
  /** Rows wanted (the host sends at most 500 rows and 20,000 cells). */
  count: number;
}

export interface TableResult {
  member: string;
  start: number;
  rows: number;
  columns: number;
  /** Numeric cells (float64, row-major) or strings. */
  numbers?: Binary;
  strings?: string[];
}

export interface NpzPreviewProtocol extends PanelProtocol {
  hostRequests: CommonHostRequests & {
    readSlice: RequestSpec<SliceParams, SliceResult>;
    readSeries: RequestSpec<SeriesParams, SeriesResult>;
    readTable: RequestSpec<TableParams, TableResult>;
  };
  webviewRequests: CommonWebviewRequests & {
    /** What the webview shows now (tests and diagnostics). */
    getViewState: RequestSpec<Record<string, never>, NpzViewState>;
    /** Selects a member (and frame) as a click would. */
    select: RequestSpec<{ member: string; frame?: number }, NpzViewState>;
  };
  hostEvents: {
    init: NpzInit;
    /** The file could not be opened (or is not a NumPy file): shown instead of the preview. */
    fatal: { title: string; message: string };
  };
  webviewEvents: CommonWebviewEvents;
}

export interface ViewerState {
  id: string;
  mode: string;
  colormap: string;
  scale: 'linear' | 'log';
  window: { lo: number; hi: number };
  zoom: number;
  /** Width × height of the data drawn. */
  width: number;
  height: number;
  /** Fraction of canvas pixels that are not the background (0 when nothing is drawn). */
  nonBlank: number;
  /** Distinct colours in a sample of the canvas (≤ 256): 1 means a flat image. */
  distinctColors: number;
  readout: string;
}

export interface NpzViewState {
  member?: string;
  frame?: number;
  frames?: number;
  viewers: ViewerState[];
  /** The error message shown, if any. */
  error?: string;
  scatterPoints?: number;
}

// ---------------------------------------------------------------------------------------------------------
// Job panel (`ptychoStudy.openLog`: one panel per job — header, live log, loss chart, findings, run summary)

/** A job's state as the panel shows it: the study's job states plus the live states of a run in this window. */
export type JobPanelStateName = 'ready' | 'invalid' | 'missing' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'dry-run' | 'queued' | 'starting' | 'cancelling';

/** What the panel's buttons do (each runs the workbench command of that name with the panel's job). */
export type JobAction = 'dryRun' | 'train' | 'cancel' | 'resume' | 'revealArtifacts' | 'showReconstruction' | 'showManifest' | 'openLogFile';
export const JOB_ACTIONS: readonly JobAction[] = ['dryRun', 'train', 'cancel', 'resume', 'revealArtifacts', 'showReconstruction', 'showManifest', 'openLogFile'];

export interface JobProgressInfo {
  /** A Phase F run's stage when its iterations are not its own (e.g. `half set 1/2 (512 even patterns)`). */
  stage?: string;
  epoch: number;
  epochs: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  loss?: number;
  imagesPerSec?: number;
  etaSeconds?: number;
}

export interface JobDatasetInfo {
  split: 'train' | 'test';
  /** File name, and the path relative to the workspace (absolute outside it). */
  fileName: string;
  displayPath: string;
  exists: boolean;
  patterns?: number;
  n?: number;
  bytes?: number;
}

export interface JobFindingInfo {
  fileName: string;
  displayPath: string;
  key?: string;
  rule: string;
  severity: 'error' | 'warning' | 'info';
  message: string;
}

export type MetricTable = Record<string, number | null>;

/** The last run recorded in the job folder (manifest.json). */
export interface JobRunSummary {
  status: 'dry-run' | 'running' | 'succeeded' | 'failed' | 'cancelled';
  reason?: string;
  startedAt?: string;
  finishedAt?: string;
  seconds?: number;
  epochs?: number;
  steps?: number;
  finalLoss?: number | null;
  bestValLoss?: number | null;
  stopReason?: string;
  executionProviderRequested?: string;
  executionProviderUsed?: string;
  fallbackReason?: string;
  metrics?: { amplitude?: MetricTable; phase?: MetricTable };
}

export interface JobPanelState {
  jobId: string;
  /**
   * What the job is: a training job (default) or a Phase F iterative reconstruction, whose "epochs" are iterations,
   * whose loss is the relative error and whose log is recon.log; its split and algorithm.
   */
  kind?: 'train' | 'reconstruct';
  split?: string;
  algorithm?: string;
  /** False when the job no longer exists in the workspace (e.g. a panel restored after its data moved). */
  found: boolean;
  /** Shown instead of the job when it is not found. */
  notFoundMessage?: string;
  state: JobPanelStateName;
  /** One sentence: why the job is missing, invalid, failed or cancelled. */
  reason?: string;
  dose?: number;
  view?: string;
  gridsize?: number;
  /** Workspace folder name when the workspace has several. */
  folderName?: string;
  artifactDisplayPath?: string;
  datasets: JobDatasetInfo[];
  findings: JobFindingInfo[];
  progress?: JobProgressInfo;
  run?: JobRunSummary;
  /** Which buttons are enabled now (and why not, for the tooltip). */
  actions: Record<JobAction, { enabled: boolean; why?: string }>;
  trusted: boolean;
  /** The job's runs, newest first, when it has more than one (the run picker). */
  runs?: JobRunChoice[];
  /** Set while the panel shows an earlier run (its summary, curves and previews; the log stays the job's journal). */
  viewing?: JobRunChoice;
}

/** One run in the job panel's run picker. */
export interface JobRunChoice {
  id: string;
  latest: boolean;
  status: string;
  startedAt?: string;
  /** Epochs (training) or iterations (Phase F). */
  length?: number;
}

/** A batch of train.log lines (never one message per line). */
export interface LogBatch {
  /** Increments when the file was truncated or replaced (the page drops what it has and starts over). */
  generation: number;
  /** True for the first batch of a generation. */
  reset: boolean;
  /** Complete lines, in order. */
  lines: string[];
  /** The unterminated last line as it stands now ('' when the file ends with a newline). */
  partial: string;
  /** With `reset`: bytes at the start of a very large log that are not sent (the page says so). */
  skippedBytes?: number;
  /** Bytes of the file read so far (offset of the end of this batch). */
  offset: number;
  /** True while more of the file is being read (initial load of a long log). */
  more: boolean;
  /** True when train.log does not exist (yet). */
  missing?: boolean;
}

/** Pearson r and SSIM of one channel against the ground truth (null: not measurable, e.g. a flat window). */
export interface QualityScores {
  pearson: number | null;
  ssim: number | null;
}

/**
 * The model's quality after an epoch (events.jsonl `quality`, core/run/events' QualityEvent): a fixed window of
 * the job's test object inferred and scored against its ground truth (objectGuess). Checked by the host with
 * summary.ts's qualityEventCheck before it is sent.
 */
export interface QualityTrainEvent {
  type: 'quality';
  time: string;
  epoch: number;
  amplitude: QualityScores;
  /** Phase after plane removal. */
  phase: QualityScores;
  /** The window in object pixels, and how many test groups were inferred for it (absent for a Phase F iteration: the lit pixels). */
  region?: { x0: number; y0: number; width: number; height: number };
  /** The window's image after this epoch was saved (`previews/epoch_NNN.npz`): the Reconstruction section can show it. */
  preview?: boolean;
  groups: number;
  /** Time the measurement took. */
  seconds: number;
}

/** The training events the loss and quality charts use (from events.jsonl; a subset of core/run/events' RunEvent). */
export type TrainEvent =
  | { type: 'started'; time: string; epochs: number; stepsPerEpoch: number; executionProviderUsed?: string; resumedFrom?: { epoch: number; step: number } }
  | { type: 'progress'; time: string; epoch: number; epochs: number; stepInEpoch: number; stepsPerEpoch: number; loss: number; imagesPerSec: number; etaSeconds: number }
  | { type: 'epoch'; time: string; epoch: number; epochs: number; trainLoss: number; valLoss: number | null; lr: number; lrReduced: boolean; seconds: number }
  | QualityTrainEvent
  | { type: 'end'; time: string; status: 'succeeded' | 'failed' | 'cancelled'; message?: string };

export interface EventsBatch {
  generation: number;
  reset: boolean;
  events: TrainEvent[];
  more: boolean;
}

export interface LogSearchResult {
  query: string;
  matches: number;
  /** 0-based index of the current match, -1 when there is none. */
  current: number;
  /** 0-based line of the current match. */
  line?: number;
}

export interface JobPanelViewState {
  jobId?: string;
  state?: JobPanelStateName;
  found?: boolean;
  /** Complete lines held, and the text of the last one (partial included). */
  lines: number;
  lastLine?: string;
  generation: number;
  skippedBytes: number;
  follow: boolean;
  /** Rows in the DOM (the list is windowed: far fewer than `lines`). */
  renderedRows: number;
  search: LogSearchResult;
  chart: { epochs: number; steps: number; yMode: 'linear' | 'log'; nonBlank: number; lrMarks: number; note: string; smoothing: number };
  /** The quality chart: epochs measured, the caption, and the one line shown instead when there is nothing to plot ('' otherwise). */
  quality: { epochs: number; caption: string; empty: string; readout: string };
  /** The Reconstruction section: the epochs with a preview, the one shown, whether it follows the newest, the truth shown. */
  preview: { epochs: number[]; shown?: number; following: boolean; truth: boolean; caption: string; drawMs?: number; phaseRms?: number };
  /** Runs in the run picker (0 when the job has one run) and the earlier run shown, if any. */
  runs: number;
  viewing?: string;
  /** Buttons shown enabled. */
  enabledActions: JobAction[];
  header: string;
  progressText: string;
  findings: number;
  metricsShown: boolean;
  /** Receiving and rendering statistics since the page loaded (benchmark). */
  stats: { batches: number; linesReceived: number; handleMs: number; maxHandleMs: number; renders: number; maxRenderMs: number };
}

/** One uint8-quantised image pair (amplitude over `amplitudeRange`, phase over ±π) and its covered mask. */
export interface PreviewImage {
  width: number;
  height: number;
  amplitude: Uint8Array;
  amplitudeRange: [number, number];
  phase: Uint8Array;
  covered: Uint8Array;
}

/** An epoch's preview and, when the data have one, the ground truth of the same window. */
export interface PreviewImages {
  epoch: number;
  region: { x0: number; y0: number; width: number; height: number };
  image: PreviewImage;
  truth?: PreviewImage;
}

export interface JobPanelProtocol extends PanelProtocol {
  hostRequests: CommonHostRequests & {
    /** Runs an action on a job (the panel's own job only; the host checks it exists and the action is enabled). */
    action: RequestSpec<{ action: JobAction; jobId: string }, { done: true }>;
    /** Copies the whole train.log to the clipboard (read by the host from the file). */
    copyAll: RequestSpec<{ jobId: string }, { lines: number; bytes: number }>;
    /** Copies text the user selected in the log to the clipboard. */
    copyText: RequestSpec<{ text: string }, { bytes: number }>;
    /** The preview image of one epoch (read by the host from previews/epoch_NNN.npz), with the window's ground truth. */
    preview: RequestSpec<{ jobId: string; epoch: number }, PreviewImages>;
    /** The run picker: show an earlier run of the job (its id), or the latest again (null). */
    showRun: RequestSpec<{ jobId: string; runId: string | null }, { viewing: string | null }>;
  };
  webviewRequests: CommonWebviewRequests & {
    getViewState: RequestSpec<Record<string, never>, JobPanelViewState>;
    /** Moves the Reconstruction section's slider to an epoch, as the user would (tests). */
    showPreview: RequestSpec<{ epoch: number }, { shown?: number; drawMs: number }>;
    /** Presses the loss chart's Export CSV (tests): where it was saved. */
    exportLossCsv: RequestSpec<Record<string, never>, { saved?: string }>;
    /** Presses Export strip (tests): where the PNG was saved. */
    exportPreviewStrip: RequestSpec<Record<string, never>, { saved?: string }>;
    /** Searches the log as typing in the search box would (tests). */
    search: RequestSpec<{ query: string; caseSensitive?: boolean; step?: 1 | -1 }, LogSearchResult>;
  };
  hostEvents: {
    job: JobPanelState;
    log: LogBatch;
    events: EventsBatch;
  };
  webviewEvents: CommonWebviewEvents;
}

// ---------------------------------------------------------------------------------------------------------
// Manifest viewer (`ptychoStudy.showManifest`: a job's manifest.json or the study's training_manifest.json)

export interface ManifestDoc {
  kind: 'job' | 'study';
  /** The job id (job manifests), for the title and the buttons. */
  jobId?: string;
  fileName: string;
  displayPath: string;
  exists: boolean;
  bytes?: number;
  mtimeMs?: number;
  /** The parsed JSON, as read from disk (unchecked: the page renders what it finds). */
  manifest?: unknown;
  /** Why the file could not be read or parsed. */
  error?: string;
  /** How many times the file has been (re)loaded since the panel opened. */
  loads: number;
}

export interface ManifestViewState {
  kind?: 'job' | 'study';
  status?: string;
  /** Ids of the sections shown, in order. */
  sections: string[];
  raw: boolean;
  /** The execution provider text shown in the runtime section. */
  executionProviderUsed?: string;
  fallbackShown: boolean;
  loads: number;
  error?: string;
  title: string;
}

export interface ManifestProtocol extends PanelProtocol {
  hostRequests: CommonHostRequests & {
    /** Opens the manifest file as text, or the job panel of a job listed in the study manifest. */
    action: RequestSpec<{ action: 'openFile' | 'openJobPanel'; jobId?: string }, { done: true }>;
  };
  webviewRequests: CommonWebviewRequests & {
    getViewState: RequestSpec<Record<string, never>, ManifestViewState>;
    setRaw: RequestSpec<{ raw: boolean }, ManifestViewState>;
  };
  hostEvents: {
    manifest: ManifestDoc;
  };
  webviewEvents: CommonWebviewEvents;
}

// ---------------------------------------------------------------------------------------------------------
// Result panels: the reconstruction viewer (one WebviewPanel `ptychoStudy.reconstruction` per job) and the
// study comparison (WebviewPanel `ptychoStudy.comparison`). Every request names its job by id; the host
// refuses an id that is not a job of the study (or, in the reconstruction viewer, not the panel's job).
// Images and FRC curves travel as ArrayBuffers.

/** A job as the result panels show it. */
export interface ResultJobSummary {
  jobId: string;
  dose: number;
  view: string;
  gridsize: number;
  /** StudyJob state (`succeeded`, `ready`, `failed`, …). */
  state: string;
  reason?: string;
  epochs?: number;
  finalLoss?: number | null;
  bestValLoss?: number | null;
  stopReason?: string;
  executionProvider?: string;
  finishedAt?: string;
  trainingSeconds?: number;
  /** The job folder, relative to the workspace when inside it (display only). */
  folder: string;
  /** 'reconstruct' for a Phase F job (default: a training job). */
  kind?: 'train' | 'reconstruct';
  /** Phase F: the algorithm and the iterations it ran. */
  algorithm?: string;
  iterations?: number;
}

/** One component's metrics from metrics.json (non-finite values are null); the FRC curve as float64. */
export interface ResultImageMetrics {
  mae: number | null;
  mse: number | null;
  psnr: number | null;
  psnrStudy: number | null;
  ssim: number | null;
  msSsim: number | null;
  /** Pearson r against the ground truth (amplitude; phase after plane removal). */
  pearson: number | null;
  /** FRC crossings in cycles per pixel (0.5 = Nyquist). */
  frc50: number | null;
  frc50Interpolated: number | null;
  frc1over7: number | null;
  /** The same in cycles per metre, when the object pixel size is known. */
  frc50PerMeter: number | null;
  frc1over7PerMeter: number | null;
  /** Side L of the FRC square: shell k of frcCurve is k/L cycles/px (null when unknown). */
  frcSize: number | null;
  /** FRC per shell, float64. */
  frcCurve: Binary;
}

export interface ResultMetrics {
  amplitude: ResultImageMetrics;
  phase: ResultImageMetrics;
}

/** metrics.json as the viewer shows it. */
export interface ReconMetricsInfo {
  trained: ResultMetrics | null;
  /** The same metrics for the untrained network (the reference). */
  untrained: ResultMetrics | null;
  /** The flat predictor (constant amplitude = mean of the ground truth, zero phase), scored identically. */
  flat: ResultMetrics | null;
  /** Gridsize 2 with group refinement: the trained network's own stitch (no refinement), scored identically. */
  networkAlone?: ResultMetrics;
  /** The group refinement's iterations behind `trained` (metrics.json groupRefinementSelection.chosen or groupRefinement.iterations). */
  groupRefinement?: number;
  /** What the metrics were computed on: the dose's common evaluation (absent in older metrics.json). */
  evaluation?: ResultEvaluationInfo;
  coverage: number | null;
  /** Rectangle of the reconstruction (its own pixels) the metrics were computed on. */
  metricRegion: { x: number; y: number; width: number; height: number } | null;
  /** Radians: pred·e^{i·offset} best matches the ground truth. */
  globalPhaseOffset: number | null;
  testLoss: number | null;
  split?: string;
  /** Size of the images the metrics saw (after trimming), the trim and the phase alignment. */
  width?: number;
  height?: number;
  trim?: number;
  phaseAlign?: string;
  /** Why there are no metrics (no ground truth, too little coverage). */
  note?: string;
}

/** metrics.json `evaluation`: the dataset and object region every job of a dose is scored on. */
export interface ResultEvaluationInfo {
  dataset: string;
  /** `phase-c-test` (the dose's common evaluation), `own-test` or `own-train` (a fallback). */
  source: string;
  fallbackReason?: string;
  region: { x0: number; y0: number; width: number; height: number } | null;
  /** Object pixel size in metres from the dataset's _metadata, when recorded. */
  pixelSizeMeters: number | null;
}

export interface ReconImageInfo {
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  /** Block-mean factor the host applies (1 = full resolution). */
  factor: number;
  /** Object pixel of the reconstruction's pixel (0, 0): [x0, y0]. */
  origin: [number, number];
  hasGroundTruth: boolean;
  /** Objects larger than this per side are decimated on the host. */
  maxSide: number;
}

export interface ReconInit {
  job: ResultJobSummary;
  /** False when the job has no reconstruction.npz: `unavailable` says why. */
  available: boolean;
  unavailable?: { title: string; message: string; canTrain: boolean };
  image?: ReconImageInfo;
  metrics?: ReconMetricsInfo;
  /** metrics.json exists but could not be read. */
  metricsError?: string;
  /** Changes when the job's artifacts change (a retrain). */
  revision: string;
}

export interface ReconImages extends ReconImageInfo {
  jobId: string;
  revision: string;
  /** float32 interleaved (re, im), width × height. */
  object: Binary;
  /** float32 interleaved, same region pixel for pixel (absent without objectGuess). */
  groundTruth?: Binary;
  /** float32 stitching weight (0 = not reconstructed). */
  weight: Binary;
  /** Phase F: the reconstruction's final probe, float32 interleaved (re, im), probeSize × probeSize. */
  probe?: Binary;
  probeSize?: number;
  readMs: number;
}

/** The ground truth of the viewer's region, sent after the first pixels (the arrays are large). */
export interface ReconGroundTruth {
  jobId: string;
  revision: string;
  width: number;
  height: number;
  factor: number;
  /** float32 interleaved (re, im), width × height, the same pixels as `ReconImages.object`. */
  groundTruth: Binary;
  readMs: number;
}

export type ReconLayout = 'ampPhase' | 'rgb';
export type ResultArtifact = 'metrics' | 'manifest' | 'log' | 'folder';

export interface ReconViewParams {
  layout?: ReconLayout;
  /** Hatch the pixels with weight 0. */
  coverage?: boolean;
  /** Draw the metric region's rectangle. */
  metricRegion?: boolean;
  /** Rotate the reconstruction by the global phase offset before showing it and its difference. */
  removeOffset?: boolean;
  /** Also remove a least-squares plane from the phase difference. */
  removePlane?: boolean;
  /** Zoom all images (1 = fit). */
  zoom?: number;
}

export interface ReconViewState {
  jobId?: string;
  revision?: string;
  layout: ReconLayout;
  options: Required<Omit<ReconViewParams, 'layout' | 'zoom'>>;
  /** The unavailable / error title shown instead of images, if any. */
  message?: string;
  viewers: ViewerState[];
  /** The shared readout under the images. */
  readout: string;
  /** What arrived for the images: sizes and whether the arrays came as binary. */
  data?: { width: number; height: number; factor: number; binary: boolean; bytes: number; hasGroundTruth: boolean };
  /** Metric rows in the table and cells marked better. */
  metricRows: number;
  betterMarked: number;
  /** FRC curves drawn. */
  frcSeries: number;
  notes: string[];
  /** Phase F: the probe image drawn (its size), absent when there is none. */
  probe?: { size: number; nonBlank: number };
}

export interface ReconstructionProtocol extends PanelProtocol {
  hostRequests: CommonHostRequests & {
    /** The object and its weight; the ground truth too unless `groundTruth` is false (then see readGroundTruth). */
    readImages: RequestSpec<{ jobId: string; groundTruth?: boolean }, ReconImages>;
    readGroundTruth: RequestSpec<{ jobId: string }, ReconGroundTruth>;
    /** Starts training the job (the Train button of a job without results). */
    train: RequestSpec<{ jobId: string }, { started: boolean; message?: string }>;
    openArtifact: RequestSpec<{ jobId: string; artifact: ResultArtifact }, { opened: boolean }>;
    /** Preview Here While Training: the next training runs score and preview the window centred at (x, y), object pixels. */
    previewHere: RequestSpec<{ jobId: string; x: number; y: number }, { x: number; y: number }>;
  };
  webviewRequests: CommonWebviewRequests & {
    getViewState: RequestSpec<Record<string, never>, ReconViewState>;
    setView: RequestSpec<ReconViewParams, ReconViewState>;
    /** Moves the (synced) hover to a data pixel, as the pointer would. */
    hoverAt: RequestSpec<{ x: number; y: number }, ReconViewState>;
  };
  hostEvents: {
    init: ReconInit;
  };
  webviewEvents: CommonWebviewEvents;
}

// Study comparison

export interface ComparisonRow {
  jobId: string;
  dose: number;
  view: string;
  gridsize: number;
  /** `pinn` (a training job) or the Phase F algorithm (`epie`, `rpie`). */
  method: string;
  /** Its grid column key (shared/results.ts columnKey). */
  column: string;
  state: string;
  reason?: string;
  epochs: number | null;
  finalLoss: number | null;
  hasReconstruction: boolean;
  /** Metric values (null: not available). */
  amplitude: Partial<Record<MetricKey, number | null>>;
  phase: Partial<Record<MetricKey, number | null>>;
  /** What the metrics were computed on (absent: older metrics.json, scored on the job's own split). */
  evaluation?: ResultEvaluationInfo;
  revision: string;
  /** When a run other than the latest stands for the job: the one chosen (Use Run in Comparisons), or the latest that succeeded. */
  run?: { id: string; why: 'chosen' | 'latest-succeeded'; latestStatus?: string };
}

/**
 * A reference on one dose's common evaluation: the flat predictor (kind absent or 'flat'), or a refined PINN job's
 * network alone ('network-alone', with its jobId).
 */
export interface ComparisonReference {
  dose: number;
  kind?: 'flat' | 'network-alone';
  jobId?: string;
  label: string;
  description: string;
  amplitude: Partial<Record<MetricKey, number | null>>;
  phase: Partial<Record<MetricKey, number | null>>;
}

export interface ComparisonCellInfo {
  dose: number;
  /** Column key `view/gs<g>`. */
  column: string;
  jobId?: string;
  empty?: { kind: EmptyKind; text: string };
  /** Object region of the reconstruction: origin and size (source pixels). */
  region?: { x0: number; y0: number; width: number; height: number };
  hasGroundTruth?: boolean;
  revision?: string;
}

export interface ComparisonInit {
  title: string;
  /** Workspace folder name(s) of the study. */
  folder: string;
  doses: number[];
  columns: GridColumn[];
  /** Row-major: doses × columns. */
  cells: ComparisonCellInfo[];
  rows: ComparisonRow[];
  /** The flat predictor per dose (from the jobs' common evaluation), then each refined PINN job's network alone. */
  references: ComparisonReference[];
  /** PINN − iterative per dose × view × algorithm (shared/results.ts methodDeltas), where both have metrics. */
  deltas: MethodDelta[];
  config: { jobs: string[]; keys: { key: string; values: (FlatValue | null)[] }[]; identical: number; omitted: string[] };
  /**
   * The common canvas in object pixels (the union of every reconstruction's region) and the block factor the
   * host applies to every cell, so all cells align pixel for pixel and zoom together.
   */
  canvas?: { x0: number; y0: number; width: number; height: number; factor: number };
  maxSide: number;
  /** Changes whenever anything shown changes. */
  revision: string;
  updatedAt: string;
}

export interface CellImage {
  jobId: string;
  revision: string;
  /** Object pixel of this image's (0, 0), and its size after decimation by `factor`. */
  x0: number;
  y0: number;
  width: number;
  height: number;
  factor: number;
  object: Binary;
  weight: Binary;
  groundTruth?: Binary;
  globalPhaseOffset: number | null;
  readMs: number;
}

export type ComparisonComponent = 'phase' | 'amplitude';

export interface ComparisonViewParams {
  component?: ComparisonComponent;
  groundTruth?: boolean;
  hideUncovered?: boolean;
  /** Table sort: a column id (`jobId`, `dose`, `amplitude.psnr`, …). */
  sort?: { key: string; dir: 'asc' | 'desc' };
  zoom?: number;
}

export interface ComparisonViewState {
  component: ComparisonComponent;
  groundTruth: boolean;
  hideUncovered: boolean;
  colormap: string;
  window: { lo: number; hi: number };
  cells: { dose: number; column: string; jobId?: string; drawn: boolean; empty?: string; nonBlank: number; distinctColors: number; zoom: number; binary?: boolean }[];
  /** Job ids in table order, the sort, and per metric column the best job ids. */
  tableRows: string[];
  sort: { key: string; dir: 'asc' | 'desc' };
  best: Record<string, string[]>;
  configKeys: string[];
  /** init messages received (1 + live refreshes). */
  updates: number;
  revision?: string;
  chartSeries: number;
  /** The grid's column heads as drawn (PINN views, then the iterative methods per view). */
  columnLabels: string[];
  /** The PINN − iterative table: rows drawn, and per row the values marked better (`amplitude.ssim:pinn`, …). */
  deltaRows: { pinnJobId: string; iterativeJobId: string; marked: string[] }[];
  /** The reference table as drawn: per row its kind, its key (the dose, or the job of a network alone) and label. */
  referenceRows: { kind: string; key: string; label: string }[];
}

export interface ComparisonProtocol extends PanelProtocol {
  hostRequests: CommonHostRequests & {
    readCell: RequestSpec<{ jobId: string; groundTruth: boolean }, CellImage>;
    openReconstruction: RequestSpec<{ jobId: string }, { opened: boolean }>;
    train: RequestSpec<{ jobId: string }, { started: boolean; message?: string }>;
    /** Queue a Phase F job of the grid (ptychoStudy.reconstruct). */
    reconstruct: RequestSpec<{ jobId: string }, { started: boolean; message?: string }>;
    /** Export Study Report… (ptychoStudy.exportStudyReport on this panel's study): where it went, or why not. */
    exportReport: RequestSpec<Record<string, never>, { written: boolean; outDir?: string; jobs?: number; absent?: number; message?: string }>;
  };
  webviewRequests: CommonWebviewRequests & {
    getViewState: RequestSpec<Record<string, never>, ComparisonViewState>;
    setView: RequestSpec<ComparisonViewParams, ComparisonViewState>;
  };
  hostEvents: {
    init: ComparisonInit;
  };
  webviewEvents: CommonWebviewEvents;
}

/** Protocol of each panel kind, looked up by the `panel` field of `ready`. */
export interface PanelProtocols {
  npzPreview: NpzPreviewProtocol;
  reconstruction: ReconstructionProtocol;
  comparison: ComparisonProtocol;
  jobPanel: JobPanelProtocol;
  manifest: ManifestProtocol;
  runCompare: RunCompareProtocol;
}
