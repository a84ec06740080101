// Shared view state (zoom and centre) for image viewers that move together: a viewer that zooms or pans
// sets it, and every subscribed viewer redraws. Centre is in image fractions (0..1), so viewers of images of
// different sizes stay aligned; zoom 1 = the image fits its canvas.

export interface ViewState {
  zoom: number;
  /** Image coordinates of the canvas centre, as fractions of the image width and height. */
  cx: number;
  cy: number;
}

export const FIT_VIEW: ViewState = { zoom: 1, cx: 0.5, cy: 0.5 };
export const MIN_ZOOM = 0.25;
export const MAX_ZOOM = 256;

export class ViewSync {
  private current: ViewState;
  private readonly listeners = new Set<(v: ViewState, source: unknown) => void>();

  constructor(initial: ViewState = FIT_VIEW) {
    this.current = { ...initial };
  }

  get state(): ViewState {
    return this.current;
  }

  set(v: ViewState, source?: unknown): void {
    const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, v.zoom));
    const next = { zoom, cx: clamp01(v.cx), cy: clamp01(v.cy) };
    if (next.zoom === this.current.zoom && next.cx === this.current.cx && next.cy === this.current.cy) return;
    this.current = next;
    for (const l of [...this.listeners]) l(next, source);
  }

  reset(source?: unknown): void {
    this.set(FIT_VIEW, source);
  }

  subscribe(fn: (v: ViewState, source: unknown) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0.5;
}
