// The adjoint of the simulator's bilinear window, shared by the analyses that descend on an object grid
// (phase-information.ts, group-refinement.ts). No entry point: scripts with a main must not be imported.

/** The adjoint of the simulator's bilinear patch (`extractPatch`): adds a window's values back onto the object grid. */
export function scatter(grad: Float64Array, width: number, n: number, cx: number, cy: number, re: Float64Array, im: Float64Array): void {
  const x0 = Math.floor(cx), y0 = Math.floor(cy), fx = cx - x0, fy = cy - y0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    const a = 2 * ((y0 - n / 2 + i) * width + x0 - n / 2 + j), b = a + 2 * width, t = i * n + j;
    for (const [k, v] of [[0, re[t]], [1, im[t]]]) {
      grad[a + k] += (1 - fy) * (1 - fx) * v; grad[a + 2 + k] += (1 - fy) * fx * v;
      grad[b + k] += fy * (1 - fx) * v; grad[b + 2 + k] += fy * fx * v;
    }
  }
}
