// Compare Runs (`ptychoStudy.compareRuns`, viewType ptychoStudy.runCompare): the messages between the host
// (src/extension/results/runComparePanel.ts) and the page (./main.ts). Pure types: no vscode, no DOM.
import type { Binary, CommonHostRequests, CommonWebviewEvents, CommonWebviewRequests, RequestSpec } from '../protocol';

/** One run of the comparison (core/run/compareRuns ComparedRun without its folder and raw settings). */
export interface ComparedRunInfo {
  /** `<job id>@<run id>`: what the page asks for. */
  key: string;
  jobId: string;
  runId: string;
  latest: boolean;
  kind: 'train' | 'reconstruct';
  status: string;
  reason?: string;
  startedAt?: string;
  length?: number;
  seconds?: number;
  hasReconstruction: boolean;
  /** Changes when the run's reconstruction, metrics or manifest change (the page re-reads only those images). */
  revision: string;
}

/** A run's curve: epochs and loss (training) or iterations and relative error (Phase F); NaN = no value. */
export interface RunCurveInfo {
  key: string;
  xLabel: string;
  yLabel: string;
  /** float64 */
  x: Binary;
  y: Binary;
  /** Validation loss per epoch, NaN where none (float64). */
  val: Binary;
}

export interface RunCompareInit {
  runs: ComparedRunInfo[];
  curves: RunCurveInfo[];
  settings: { key: string; values: string[] }[];
  metrics: { part: string; key: string; label: string; lowerIsBetter: boolean; values: (number | null)[]; best: number[] }[];
  notes: string[];
  /** What the panel compares (the page keeps it in its state, so a reloaded window reopens the comparison). */
  selection: { jobId: string; folder?: string; runId?: string }[];
  /** Bumped on every (re)build (a run finishing or a file changing re-sends init). */
  revision: number;
}

/** A run's reconstruction, decimated: the object (complex64 interleaved) and its weight (float32). */
export interface RunImage {
  key: string;
  width: number;
  height: number;
  factor: number;
  object: Binary;
  weight: Binary;
  /** Radians that best align the run's phase with the ground truth (metrics.json), when known. */
  globalPhaseOffset: number | null;
}

export interface RunCompareViewState {
  runs: string[];
  /** Keys whose images are drawn. */
  drawn: string[];
  /** The one amplitude window of every run's image, and the phase window. */
  amplitudeWindow: { lo: number; hi: number } | null;
  phaseWindow: { lo: number; hi: number };
  /** Rows of the metrics table and the best cells marked. */
  metricRows: number;
  bestCells: number;
  settingRows: number;
  curves: number;
}

export interface RunCompareProtocol {
  hostRequests: CommonHostRequests & {
    readImage: RequestSpec<{ key: string }, RunImage>;
    /** Opens the run's manifest (manifest viewer) or its job panel. */
    open: RequestSpec<{ key: string; what: 'manifest' | 'jobPanel' }, { opened: boolean }>;
  };
  webviewRequests: CommonWebviewRequests & {
    getViewState: RequestSpec<Record<string, never>, RunCompareViewState>;
  };
  hostEvents: {
    init: RunCompareInit;
  };
  webviewEvents: CommonWebviewEvents;
}
