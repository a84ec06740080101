// A known object as a stitched canvas: for tests that score stitching or its corrections against the truth.
import type { StitchedCanvas } from '../../../src/core/train';

/** The object (amplitude, phase) = truthAt(x, y) on a size × size canvas at the origin, every pixel weighted 1. */
export function truthCanvas(size: number, truthAt: (x: number, y: number) => [number, number]): StitchedCanvas {
  const object = new Float32Array(2 * size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) {
    const [a, p] = truthAt(x, y);
    object[2 * (y * size + x)] = a * Math.cos(p);
    object[2 * (y * size + x) + 1] = a * Math.sin(p);
  }
  return { region: { x0: 0, y0: 0, width: size, height: size }, object, weight: new Float32Array(size * size).fill(1) };
}
