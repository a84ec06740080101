// An independent float64 implementation of the PtychoPINN model in plain loops (no ONNX, no shared code with
// src/core/model/graphs.ts beyond the parameter list), for checking the generated graphs: onnxruntime's CPU
// EP has no float64 Conv, so whole-model gradients are checked against finite differences of this model.

export interface Tensor4 {
  data: Float64Array;
  shape: [number, number, number, number];
}

export function t4(shape: [number, number, number, number], data?: Float64Array): Tensor4 {
  return { shape, data: data ?? new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]) };
}

/** 3×3 'same' convolution (cross-correlation, as ONNX Conv) with bias. */
export function conv3x3(x: Tensor4, w: ArrayLike<number>, b: ArrayLike<number>, co: number): Tensor4 {
  const [n, ci, h, wd] = x.shape;
  const out = t4([n, co, h, wd]);
  for (let s = 0; s < n; s++) {
    for (let o = 0; o < co; o++) {
      for (let i = 0; i < h; i++) {
        for (let j = 0; j < wd; j++) {
          let acc = b[o];
          for (let c = 0; c < ci; c++) {
            for (let ki = 0; ki < 3; ki++) {
              const ii = i + ki - 1;
              if (ii < 0 || ii >= h) continue;
              for (let kj = 0; kj < 3; kj++) {
                const jj = j + kj - 1;
                if (jj < 0 || jj >= wd) continue;
                acc += x.data[((s * ci + c) * h + ii) * wd + jj] * w[((o * ci + c) * 3 + ki) * 3 + kj];
              }
            }
          }
          out.data[((s * co + o) * h + i) * wd + j] = acc;
        }
      }
    }
  }
  return out;
}

export function mapT(x: Tensor4, f: (v: number) => number): Tensor4 {
  const out = t4(x.shape);
  for (let i = 0; i < x.data.length; i++) out.data[i] = f(x.data[i]);
  return out;
}

export function maxPool2(x: Tensor4): Tensor4 {
  const [n, c, h, w] = x.shape;
  const out = t4([n, c, h / 2, w / 2]);
  for (let s = 0; s < n * c; s++) {
    for (let i = 0; i < h / 2; i++) {
      for (let j = 0; j < w / 2; j++) {
        const base = s * h * w;
        const a = x.data[base + 2 * i * w + 2 * j];
        const b = x.data[base + 2 * i * w + 2 * j + 1];
        const c2 = x.data[base + (2 * i + 1) * w + 2 * j];
        const d = x.data[base + (2 * i + 1) * w + 2 * j + 1];
        out.data[s * (h / 2) * (w / 2) + i * (w / 2) + j] = Math.max(a, b, c2, d);
      }
    }
  }
  return out;
}

export function upsample2(x: Tensor4): Tensor4 {
  const [n, c, h, w] = x.shape;
  const out = t4([n, c, 2 * h, 2 * w]);
  for (let s = 0; s < n * c; s++) {
    for (let i = 0; i < 2 * h; i++) {
      for (let j = 0; j < 2 * w; j++) out.data[s * 4 * h * w + i * 2 * w + j] = x.data[s * h * w + (i >> 1) * w + (j >> 1)];
    }
  }
  return out;
}

export function pad2(x: Tensor4, q: number): Tensor4 {
  const [n, c, h, w] = x.shape;
  const out = t4([n, c, h + 2 * q, w + 2 * q]);
  const W = w + 2 * q;
  for (let s = 0; s < n * c; s++) {
    for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out.data[s * (h + 2 * q) * W + (i + q) * W + j + q] = x.data[s * h * w + i * w + j];
  }
  return out;
}

export interface ReferenceLayer { weight: string; bias: string; outChannels: number }

export interface ReferenceModel {
  n: number;
  gridsize: number;
  encoder: ReferenceLayer[][];
  ampDecoder: ReferenceLayer[][];
  phaseDecoder: ReferenceLayer[][];
  ampHead: ReferenceLayer;
  phaseHead: ReferenceLayer;
  intensityScale: number;
  probeRe: ArrayLike<number>;
  probeIm: ArrayLike<number>;
  canvas: number;
  epsilon: number;
}

const tent = (d: number): number => Math.max(0, 1 - Math.abs(d));

/** Mean Poisson NLL of the model on a batch X [B, C, N, N] with offsets [B, C, 2] (gs2). */
export function referenceLoss(m: ReferenceModel, params: Map<string, Float64Array>, x: Tensor4, offsets?: Float64Array): number {
  const [B, C, N] = x.shape;
  const logScale = params.get('log_scale')![0];
  const scale = m.intensityScale * Math.exp(-logScale);
  let h = mapT(x, (v) => v * scale);
  const convRelu = (t: Tensor4, l: ReferenceLayer): Tensor4 => mapT(conv3x3(t, params.get(l.weight)!, params.get(l.bias)!, l.outChannels), (v) => Math.max(0, v));
  for (const [a, b] of m.encoder) h = maxPool2(convRelu(convRelu(h, a), b));
  const decode = (levels: ReferenceLayer[][], head: ReferenceLayer): Tensor4 => {
    let d = h;
    for (const [a, b] of levels) d = upsample2(convRelu(convRelu(d, a), b));
    return conv3x3(d, params.get(head.weight)!, params.get(head.bias)!, head.outChannels);
  };
  const amp = pad2(mapT(decode(m.ampDecoder, m.ampHead), (v) => 1 / (1 + Math.exp(-v))), N / 4);
  const phase = pad2(mapT(decode(m.phaseDecoder, m.phaseHead), (v) => Math.PI * Math.tanh(v)), N / 4);
  const re = new Float64Array(amp.data.length);
  const im = new Float64Array(amp.data.length);
  for (let i = 0; i < re.length; i++) {
    re[i] = amp.data[i] * Math.cos(phase.data[i]);
    im[i] = amp.data[i] * Math.sin(phase.data[i]);
  }
  if (m.gridsize > 1) mergeInPlace(re, im, B, C, N, m.canvas, offsets!);
  // Far field with fftshift: Y[k1][k2] = Σ ψ[a][b] e^{−2πi(f1·a + f2·b)/N}, f = (k + N/2) mod N.
  let total = 0;
  const sq = m.intensityScale * m.intensityScale;
  const lamScale = Math.exp(2 * logScale);
  const tr = new Float64Array(N * N);
  const ti = new Float64Array(N * N);
  for (let s = 0; s < B * C; s++) {
    const psiR = new Float64Array(N * N);
    const psiI = new Float64Array(N * N);
    for (let i = 0; i < N * N; i++) {
      const or = re[s * N * N + i];
      const oi = im[s * N * N + i];
      psiR[i] = m.probeRe[i] * or - m.probeIm[i] * oi;
      psiI[i] = m.probeRe[i] * oi + m.probeIm[i] * or;
    }
    // Rows: T[k1][b] = Σ_a e^{−2πi f1 a/N} ψ[a][b]
    for (let k1 = 0; k1 < N; k1++) {
      const f1 = (k1 + N / 2) % N;
      for (let b = 0; b < N; b++) {
        let ar = 0;
        let ai = 0;
        for (let a = 0; a < N; a++) {
          const ang = (-2 * Math.PI * ((f1 * a) % N)) / N;
          const c = Math.cos(ang);
          const sn = Math.sin(ang);
          ar += c * psiR[a * N + b] - sn * psiI[a * N + b];
          ai += c * psiI[a * N + b] + sn * psiR[a * N + b];
        }
        tr[k1 * N + b] = ar;
        ti[k1 * N + b] = ai;
      }
    }
    for (let k1 = 0; k1 < N; k1++) {
      for (let k2 = 0; k2 < N; k2++) {
        const f2 = (k2 + N / 2) % N;
        let yr = 0;
        let yi = 0;
        for (let b = 0; b < N; b++) {
          const ang = (-2 * Math.PI * ((f2 * b) % N)) / N;
          const c = Math.cos(ang);
          const sn = Math.sin(ang);
          yr += c * tr[k1 * N + b] - sn * ti[k1 * N + b];
          yi += c * ti[k1 * N + b] + sn * tr[k1 * N + b];
        }
        const lambda = ((yr * yr + yi * yi) / (N * N)) * lamScale;
        const xv = x.data[s * N * N + k1 * N + k2];
        const k = xv * xv * sq;
        total += lambda - k * Math.log(lambda + m.epsilon);
      }
    }
  }
  return total / (B * C * N * N);
}

/** The gs2 merge: place each patch at its offset on a P×P canvas, divide by the central-mask count, re-extract. */
export function mergeInPlace(re: Float64Array, im: Float64Array, B: number, C: number, N: number, P: number, offsets: ArrayLike<number>): { canvasRe: Float64Array; canvasIm: Float64Array } {
  const c0 = (P - N) / 2;
  const canvasRe = new Float64Array(B * P * P);
  const canvasIm = new Float64Array(B * P * P);
  for (let b = 0; b < B; b++) {
    const numR = new Float64Array(P * P);
    const numI = new Float64Array(P * P);
    const count = new Float64Array(P * P);
    const wx: Float64Array[] = [];
    const wy: Float64Array[] = [];
    for (let c = 0; c < C; c++) {
      const dx = offsets[(b * C + c) * 2];
      const dy = offsets[(b * C + c) * 2 + 1];
      const ax = new Float64Array(P * N);
      const ay = new Float64Array(P * N);
      for (let p = 0; p < P; p++) {
        for (let n = 0; n < N; n++) {
          ax[p * N + n] = tent(p - n - c0 - dx);
          ay[p * N + n] = tent(p - n - c0 - dy);
        }
      }
      wx.push(ax);
      wy.push(ay);
      for (let py = 0; py < P; py++) {
        for (let px = 0; px < P; px++) {
          let sr = 0;
          let si = 0;
          let sc = 0;
          for (let ny = 0; ny < N; ny++) {
            const a = ay[py * N + ny];
            if (a === 0) continue;
            for (let nx = 0; nx < N; nx++) {
              const w = a * ax[px * N + nx];
              if (w === 0) continue;
              const k = ((b * C + c) * N + ny) * N + nx;
              sr += w * re[k];
              si += w * im[k];
              const inMask = ny >= N / 4 && ny < (3 * N) / 4 && nx >= N / 4 && nx < (3 * N) / 4;
              if (inMask) sc += w;
            }
          }
          numR[py * P + px] += sr;
          numI[py * P + px] += si;
          count[py * P + px] += sc;
        }
      }
    }
    for (let i = 0; i < P * P; i++) {
      canvasRe[b * P * P + i] = numR[i] / (count[i] + 1e-3);
      canvasIm[b * P * P + i] = numI[i] / (count[i] + 1e-3);
    }
    for (let c = 0; c < C; c++) {
      for (let ny = 0; ny < N; ny++) {
        for (let nx = 0; nx < N; nx++) {
          let sr = 0;
          let si = 0;
          for (let py = 0; py < P; py++) {
            const a = wy[c][py * N + ny];
            if (a === 0) continue;
            for (let px = 0; px < P; px++) {
              const w = a * wx[c][px * N + nx];
              if (w === 0) continue;
              sr += w * canvasRe[b * P * P + py * P + px];
              si += w * canvasIm[b * P * P + py * P + px];
            }
          }
          const k = ((b * C + c) * N + ny) * N + nx;
          re[k] = sr;
          im[k] = si;
        }
      }
    }
  }
  return { canvasRe, canvasIm };
}
