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

/** Bumped when a message changes incompatibly; the host refuses a webview of another version. */
export const PROTOCOL_VERSION = 1;

/** Every webview panel kind of the workbench. Add yours here and to `PanelProtocols`. */
export type PanelKind = 'npzPreview';

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

/** Protocol of each panel kind, looked up by the `panel` field of `ready`. */
export interface PanelProtocols {
  npzPreview: NpzPreviewProtocol;
}
