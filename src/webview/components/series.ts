// The data of a line-plot series and the palette's order (DOM-free, so page models and their unit tests use them).

export interface Series {
  label: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  /** A theme chart colour name (blue, red, green, orange, purple, yellow) or a CSS colour. */
  color: string;
  dash?: number[];
  markers?: boolean;
}

/** Theme chart colours in the order series take them. */
export const SERIES_COLORS = ['blue', 'orange', 'green', 'purple', 'red', 'yellow'];
