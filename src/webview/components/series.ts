// The data of a line-plot series and the palette's order (DOM-free, so page models and their unit tests use them).

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A theme chart colour name (blue, red, green, orange, purple, yellow) or a CSS colour. */
  color: string;
  dash?: number[];
  markers?: boolean;
  /** Marker radius in CSS pixels (default 3). */
  markerRadius?: number;
  /** Line width (default 1.75) and opacity (default 1): a faint raw curve behind its smoothed one. */
  width?: number;
  alpha?: number;
  /** False: not a stop of the x cursor (snapX) and no ring there (a dense per-step curve under per-epoch points). */
  cursor?: boolean;
  /** False: left out of the canvas legend (the caller has its own). */
  legend?: boolean;
}

/** A vertical marker at an x (a learning-rate reduction, a resume). */
export interface VLine {
  x: number;
  label: string;
  /** A theme chart colour name or a CSS colour. */
  color: string;
  /** Label row from the top (0, 1, …) so that marks at the same x do not overlap. */
  row?: number;
}

/** Theme chart colours in the order series take them. */
export const SERIES_COLORS = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
