// The PtychoPINN model as ONNX graphs: the network, the gridsize-2 patch merge, the probe, the far field and
// the Poisson loss (domain.md §9–§10), assembled into the train-step graph (forward, backward, Adam), the
// evaluation graph (per-group loss) and the standalone inference graph (weights baked in → model.onnx).
import { adamUpdate, gradients, Graph, op, type Value } from '../onnx';
import { BORDER_CHANNELS, LOG_SCALE, predictsFullPatch, type Architecture, type BorderBranch, type ConvLayer } from './architecture';
import { backprojectionConstants, borderMask, centralMask, probeIntensity, relativeIntensity, shiftedDftMatrices, tentGrid } from './physics';

export interface ModelGraphSpec {
  arch: Architecture;
  /** Groups per batch (a session has a fixed batch). */
  batch: number;
  /** Canvas side P for the gridsize-2 merge (ignored for gridsize 1). */
  canvas: number;
  /** Dose-derived physics scale s = sqrt(nphotons)/(N/2): inputs are s·X, targets (s·X)². */
  intensityScale: number;
  /** Normalised probe, N×N. */
  probe: { re: Float32Array; im: Float32Array };
  /** Whether log_scale is trained. */
  trainLogScale: boolean;
  /** ε in the Poisson NLL λ − k·log(λ + ε). */
  poissonEpsilon?: number;
  /** Graph float type: float64 for gradient checks of ops that have double kernels. */
  floatType?: 'float32' | 'float64';
}

/** Names of graph inputs and outputs (a contract with the training loop and users of model.onnx). */
export const IO = {
  diffraction: 'diffraction',
  offsets: 'offsets',
  lr: 'lr_t',
  loss: 'loss',
  sampleLoss: 'sample_loss',
  amplitude: 'amplitude',
  phase: 'phase',
} as const;

export const POISSON_EPSILON = 1e-8;

export interface ForwardOutputs {
  /** Predicted object patches after the merge (gs2) or as predicted (gs1), [B, C, N, N]. */
  objRe: Value;
  objIm: Value;
  /** Network outputs (zero-padded heads), [B, C, N, N]. */
  amplitude: Value;
  phase: Value;
  /** gs2: the merged canvas, [B, 1, P, P]. */
  canvasRe?: Value;
  canvasIm?: Value;
  /** Poisson NLL per pixel, [B, C, N, N]. */
  nll: Value;
}

/** `v` under a given output name (an Identity: only for small outputs, it copies). */
function named(v: Value, name: string): Value {
  return v.graph.untaped(() => v.graph.node('Identity', [v], [{ shape: v.shape, dtype: v.dtype }], { outputNames: [name] })[0]);
}

function convRelu(x: Value, layer: ConvLayer, params: Map<string, Value>): Value {
  return op.relu(op.conv2d(x, params.get(layer.weight)!, params.get(layer.bias)!));
}

/**
 * The CNN: normalised diffraction [B, C, N, N] → amplitude in (0, 1) and phase in (−π, π) on the central N/2,
 * zero outside; with probe.big the border branch fills the outside (swish, as PtychoPINN's decoder_last).
 * `backprojected` [B, 2C, N, N] (`scaledBackprojection`) joins the input when the architecture reads it.
 */
export function network(x: Value, arch: Architecture, params: Map<string, Value>, probeEnergy?: number, offsets?: Value, backprojected?: Value): { amplitude: Value; phase: Value } {
  // A level's two convs; with residual blocks the second adds to the first's output (same width by construction).
  const level = (v: Value, a: ConvLayer, b: ConvLayer): Value => {
    const u = convRelu(v, a, params);
    return arch.spec.residualBlocks ? op.add(u, convRelu(u, b, params)) : convRelu(u, b, params);
  };
  if (arch.spec.backprojectedInput && !backprojected) throw new Error('the back-projected input needs the back-projection of the patterns');
  let h = arch.spec.backprojectedInput ? op.concat([x, backprojected!], 1) : x;
  for (const [a, b] of arch.encoder) h = op.maxPool2(level(h, a, b));
  const n = arch.spec.n;
  const q = n / 4;
  const conv = (v: Value, layer: ConvLayer): Value => op.conv2d(v, params.get(layer.weight)!, params.get(layer.bias)!);
  const decode = (levels: ConvLayer[][], head: ConvLayer, activate: (v: Value) => Value, border?: BorderBranch): Value => {
    let d = h;
    for (const [a, b] of levels) d = op.upsample2(level(d, a, b));
    const channels = d.shape[1];
    const centreFeatures = border ? op.slice(d, [0], [channels - BORDER_CHANNELS], [1]) : d;
    const predicted = activate(conv(centreFeatures, head));
    // The full support's head already covers N×N; pad_object puts the central N/2 in an N×N patch.
    const centre = arch.spec.fullSupport ? predicted : op.pad(predicted, [0, 0, q, q], [0, 0, q, q]);
    if (!border) return centre;
    const outer = op.slice(d, [channels - BORDER_CHANNELS], [channels], [1]);
    const up = op.upsample2(convRelu(convRelu(outer, border.convs[0], params), border.convs[1], params));
    const pre = conv(up, border.head);
    const swish = op.mul(pre, op.sigmoid(pre));
    const outside = constantMatrix(x.graph, `border_mask_${n}`, borderMask(n), [n, n]);
    return op.add(centre, op.mul(swish, outside));
  };
  let amplitude = decode(arch.decoders.amplitude, arch.heads.amplitude, op.sigmoid, arch.border?.amplitude);
  if (arch.spec.energyAmplitude) {
    // a₀ per pattern [B, C, 1, 1] from the input's energy; 2·σ(0)·a₀ = a₀: the untrained model matches every total.
    // The 1e-12 keeps √'s gradient finite for a blank frame.
    if (!(probeEnergy && probeEnergy > 0)) throw new Error('the energy-scaled amplitude needs the model probe\'s energy');
    const a0 = op.sqrt(op.addConst(op.scale(op.reduceSum(op.square(x), [2, 3], true), 1 / probeEnergy), 1e-12));
    amplitude = op.mul(amplitude, op.scale(a0, 2));
  }
  let phase = decode(arch.decoders.phase, arch.heads.phase, (v) => op.scale(op.tanh(v), Math.PI), arch.border?.phase);
  if (arch.ramp) phase = op.add(phase, phaseRamp(x, h, arch, params, offsets));
  return { amplitude, phase };
}

/**
 * Each pattern's back-projection [B, 2C, N, N] (re planes, then im): its amplitude y with the flat object's
 * far-field phase θ, propagated back (the inverse of the forward model's shifted DFT) and divided by the probe
 * with a Wiener floor: O₁ = F⁻¹(N·y·e^{iθ})·P̄/(|P|² + ε). For the flat object O₁ ≈ 1 under the probe; a weak
 * object's phase appears in it as in an in-line hologram (with its twin), in the frame of the object the
 * network predicts. Linear in y, so scaling y scales it. The network reads it beside y (ArchitectureSpec
 * backprojectedInput).
 */
export function backprojection(y: Value, probe: { re: Float32Array; im: Float32Array }): Value {
  const g = y.graph;
  const n = y.shape[3];
  // Host-side constants: 2N³ complex products, negligible beside building the graph.
  const k = backprojectionConstants(probe, n);
  const dft = shiftedDftMatrices(n);
  const m = {
    cr: constantMatrix(g, `backprojection_phasor_re_${n}`, k.phasorRe, [n, n]),
    ci: constantMatrix(g, `backprojection_phasor_im_${n}`, k.phasorIm, [n, n]),
    qr: constantMatrix(g, `backprojection_inverse_re_${n}`, k.inverseRe, [n, n]),
    qi: constantMatrix(g, `backprojection_inverse_im_${n}`, k.inverseIm, [n, n]),
    fr: constantMatrix(g, `dft${n}_re`, dft.re, [n, n]),
    fi: constantMatrix(g, `dft${n}_im`, dft.im, [n, n]),
    frT: constantMatrix(g, `dft${n}_re_t`, dft.reT, [n, n]),
    fiT: constantMatrix(g, `dft${n}_im_t`, dft.imT, [n, n]),
  };
  const zr = op.mul(y, m.cr);
  const zi = op.mul(y, m.ci);
  // T = Fsᴴ·Z, U = T·conj(Fs) (Fs·Fsᴴ = N·I), O₁ = U·P̄/(|P|² + ε)/N.
  const tr = op.add(op.matmul(m.frT, zr), op.matmul(m.fiT, zi));
  const ti = op.sub(op.matmul(m.frT, zi), op.matmul(m.fiT, zr));
  const ur = op.add(op.matmul(tr, m.fr), op.matmul(ti, m.fi));
  const ui = op.sub(op.matmul(ti, m.fr), op.matmul(tr, m.fi));
  const re = op.sub(op.mul(ur, m.qr), op.mul(ui, m.qi));
  const im = op.add(op.mul(ur, m.qi), op.mul(ui, m.qr));
  return op.concat([re, im], 1);
}

/** The network's back-projected input: of the raw patterns (no gradient), times the input scale (which has one). */
function scaledBackprojection(spec: ModelGraphSpec, x: Value, inputScale: Value): Value | undefined {
  if (!spec.arch.spec.backprojectedInput) return undefined;
  return op.mul(x.graph.untaped(() => backprojection(x, spec.probe)), inputScale);
}

/**
 * The ramp head's output gain: its weights start at zero and Adam moves each by about the learning rate per
 * step, so without a gain the slopes (~0.25 detector pixels) would take thousands of steps to appear.
 */
export const RAMP_GAIN = 20;

/**
 * The ramp head: a linear phase g·(u, v) per pattern on the central N/2 (all of N with probe.big) (u, v = 2π·pixel/N from the centre, so
 * g is in detector pixels: a ramp g shifts the diffraction pattern by g). g = RAMP_GAIN × a linear function of
 * the bottleneck features averaged over space and of the pattern's intensity centroid (cx, cy, the shift
 * itself, detached: data, not a gradient path). Convolutions cannot turn spatially constant information into
 * a ramp away from the borders, and max pooling keeps little of a sub-pixel shift, so without it the decoders
 * under-predict the local phase gradient (README, Reconstruction quality item 15). In a gridsize-2 group each
 * pattern's plane is taken about the group's origin (its offset enters as a constant), so that patterns with one
 * slope agree where they overlap (item 20).
 */
function phaseRamp(x: Value, h: Value, arch: Architecture, params: Map<string, Value>, offsets?: Value): Value {
  const g = x.graph;
  const n = x.shape[3];
  const c = x.shape[1];
  const centroid = g.untaped(() => {
    const coord = new Float32Array(n).map((_, i) => i - n / 2);
    const u = constantMatrix(g, `moment_u_${n}`, coord, [1, n]);
    const v = constantMatrix(g, `moment_v_${n}`, coord, [n, 1]);
    const intensity = op.square(x);
    const total = op.addConst(op.reduceSum(intensity, [2, 3], true), 1e-12);
    const cx = op.div(op.reduceSum(op.mul(intensity, u), [2, 3], true), total);
    const cy = op.div(op.reduceSum(op.mul(intensity, v), [2, 3], true), total);
    return op.detach(op.concat([cx, cy], 1));
  });
  // [B, F + 2C, 1, 1] → a 1×1 convolution (batch-agnostic, unlike a Reshape) → slopes [B, 2C, 1, 1].
  const features = op.concat([op.reduceMean(h, [2, 3], true), centroid], 1);
  const slopes = op.scale(op.conv2d(features, params.get(arch.ramp!.weight)!, params.get(arch.ramp!.bias)!), RAMP_GAIN);
  const gx = op.slice(slopes, [0], [c], [1]);
  const gy = op.slice(slopes, [c], [2 * c], [1]);
  // The plane covers where the network predicts the object: the central N/2, or all N with probe.big (a plane
  // on the centre only would put a phase step between the centre and the border branch).
  const q = predictsFullPatch(arch.spec) ? 0 : n / 4;
  const inSupport = (k: number): boolean => {
    const i = Math.floor(k / n), j = k % n;
    return i >= q && i < n - q && j >= q && j < n - q;
  };
  const plane = (along: 'u' | 'v'): Float32Array => Float32Array.from({ length: n * n }, (_, k) =>
    (inSupport(k) ? (2 * Math.PI * ((along === 'u' ? k % n : Math.floor(k / n)) - n / 2)) / n : 0));
  const tag = q ? '' : '_full';
  const pu = constantMatrix(g, `ramp_u_${n}${tag}`, plane('u'), [n, n]);
  const pv = constantMatrix(g, `ramp_v_${n}${tag}`, plane('v'), [n, n]);
  const ramp = op.add(op.mul(gx, pu), op.mul(gy, pv));
  if (!offsets) return ramp;
  // A group's planes share the group's origin: pattern k sits at offset d_k on the canvas (patch pixel u ↔ canvas
  // u + d_k), so its plane is g·(u + d_k). Planes about each pattern's own centre would disagree by g·(d_j − d_k)
  // where two patterns overlap — a mismatch the merge averages away and the loss then charges to every slope.
  const shift = g.untaped(() => {
    const along = (axis: number): Value => op.scale(op.unsqueeze(op.slice(offsets, [axis], [axis + 1], [2]), [3]), (2 * Math.PI) / n);
    return { u: along(0), v: along(1), support: constantMatrix(g, `ramp_support_${n}${tag}`, Float32Array.from({ length: n * n }, (_, k) => (inSupport(k) ? 1 : 0)), [n, n]) };
  });
  const constant = op.add(op.mul(gx, shift.u), op.mul(gy, shift.v));
  return op.add(ramp, op.mul(constant, shift.support));
}

/** Bilinear translation matrices S[b, c] (P×N) for offsets [B, C, 2] (dx, dy): canvas = S_y · patch · S_xᵀ. */
function translationMatrices(g: Graph, offsets: Value, p: number, n: number): { sx: Value; sy: Value } {
  return g.untaped(() => {
    const grid = g.memo(`tent${p}x${n}`, () => g.initializer(`tent_grid_${p}x${n}`, g.floatType === 'float64' ? Float64Array.from(tentGrid(p, n)) : tentGrid(p, n), [p, n], { uniqueFrom: true }));
    const one = g.constant(1);
    const along = (axis: number): Value => {
      const d = op.unsqueeze(op.slice(offsets, [axis], [axis + 1], [2]), [3]);
      return op.relu(op.sub(one, op.abs(op.sub(grid, d))));
    };
    return { sx: along(0), sy: along(1) };
  });
}

function constantMatrix(g: Graph, name: string, data: Float32Array, shape: number[]): Value {
  return g.memo(name, () => g.initializer(name, g.floatType === 'float64' ? Float64Array.from(data) : data, shape, { uniqueFrom: true }));
}

/** Weight of a patch's border (probe.big) in the merge, against 1 for its central N/2 square. */
export const BORDER_MERGE_WEIGHT = 0.01;

/** Floor of the full support's merge weight |P|²/max|P|², so a pixel only the probes' tails reach is still an average. */
export const PROBE_MERGE_FLOOR = 1e-3;

/**
 * How a group's patches are weighted where they overlap on the canvas:
 * - 'central': the central N/2 square only (pad_object; the numerator is already zero outside);
 * - 'border': probe.big, 1 on the centre and BORDER_MERGE_WEIGHT on the border;
 * - probe intensity: the full support, each patch weighted by its probe's |P|² / max|P|² (relativeIntensity, as
 *   the stitch's probe blend weights; floored at PROBE_MERGE_FLOOR) — each pattern decides the object where it
 *   illuminates it, as in ptychography's overlap update.
 */
export type MergeWeighting = 'central' | 'border' | { probeIntensity: Float32Array };

/** The merge weighting of a model: by its support. */
export function mergeWeightingOf(spec: ModelGraphSpec): MergeWeighting {
  if (spec.arch.spec.probeBig) return 'border';
  if (!spec.arch.spec.fullSupport) return 'central';
  return { probeIntensity: relativeIntensity(Float32Array.from(probeIntensityOf(spec))) };
}

/** |P|² of the model's probe, per pixel (double, so Σ|P|² is exact to the probe's float32 values). */
function probeIntensityOf(spec: ModelGraphSpec): Float64Array {
  const { re, im } = spec.probe;
  return probeIntensity(re.length, (k) => re[k], (k) => im[k]);
}

/**
 * Merges a group's C patches on a shared P×P canvas (each translated by its offset), normalised by the
 * translated weights (`weighting`). Without probe.big the numerator is already masked (the network predicts only
 * the central N/2, zero outside) and the weight is the central mask, so there is no border blow-up
 * (TORCH-REASSEMBLY-NORM-001). With probe.big the weights are 1 on the centre and BORDER_MERGE_WEIGHT on the
 * border, in numerator and denominator alike: where a centre covers the canvas it decides, where only borders do
 * they are averaged at their own scale (PtychoPINN divides border-only pixels by 0.001 instead). With the full
 * support each patch is weighted by its probe's intensity. Returns the canvas and the patches re-extracted from it.
 */
export function mergePatches(re: Value, im: Value, offsets: Value, p: number, weighting: MergeWeighting = 'central'): { canvasRe: Value; canvasIm: Value; re: Value; im: Value } {
  const g = re.graph;
  const n = re.shape[3];
  const { sx, sy } = translationMatrices(g, offsets, p, n);
  const sxT = g.untaped(() => op.transposeLast2(sx));
  const syT = g.untaped(() => op.transposeLast2(sy));
  const place = (v: Value): Value => op.reduceSum(op.matmul(op.matmul(sy, v), sxT), [1], true);
  const weighted = weighting !== 'central';
  const weight = weighting === 'central'
    ? constantMatrix(g, `central_mask_${n}`, centralMask(n), [n, n])
    : weighting === 'border'
      ? constantMatrix(g, `merge_weight_${n}`, mergeWeight(n), [n, n])
      : constantMatrix(g, `merge_probe_weight_${n}`, probeMergeWeight(weighting.probeIntensity), [n, n]);
  const inverseCount = g.untaped(() => op.div(g.constant(1), op.addConst(place(weight), weighted ? 1e-8 : 1e-3)));
  const apply = (v: Value): Value => (weighted ? op.mul(v, weight) : v);
  const canvasRe = op.mul(place(apply(re)), inverseCount);
  const canvasIm = op.mul(place(apply(im)), inverseCount);
  const extract = (canvas: Value): Value => op.matmul(op.matmul(syT, canvas), sx);
  return { canvasRe, canvasIm, re: extract(canvasRe), im: extract(canvasIm) };
}

function mergeWeight(n: number): Float32Array {
  const centre = centralMask(n);
  return centre.map((c) => c + BORDER_MERGE_WEIGHT * (1 - c));
}

function probeMergeWeight(relativeIntensity: Float32Array): Float32Array {
  return relativeIntensity.map((v) => Math.max(v, PROBE_MERGE_FLOOR));
}

/** |fftshift(FFT2(P·O))|²/N² for object patches [B, C, N, N] and a fixed probe. */
export function farFieldIntensity(re: Value, im: Value, probe: { re: Float32Array; im: Float32Array }): Value {
  const g = re.graph;
  const n = re.shape[re.rank - 1];
  return probedFarField(re, im, constantMatrix(g, 'probe_re', probe.re, [n, n]), constantMatrix(g, 'probe_im', probe.im, [n, n]));
}

/**
 * |fftshift(FFT2(P·O))|²/N² for object patches [..., N, N] and a probe given as graph values [N, N] (a constant,
 * or a parameter the ad reconstructor refines).
 */
export function probedFarField(re: Value, im: Value, pr: Value, pi: Value): Value {
  const g = re.graph;
  const n = re.shape[re.rank - 1];
  const dft = shiftedDftMatrices(n);
  const fr = constantMatrix(g, `dft${n}_re`, dft.re, [n, n]);
  const fi = constantMatrix(g, `dft${n}_im`, dft.im, [n, n]);
  const frT = constantMatrix(g, `dft${n}_re_t`, dft.reT, [n, n]);
  const fiT = constantMatrix(g, `dft${n}_im_t`, dft.imT, [n, n]);
  const psiRe = op.sub(op.mul(pr, re), op.mul(pi, im));
  const psiIm = op.add(op.mul(pr, im), op.mul(pi, re));
  const tRe = op.sub(op.matmul(fr, psiRe), op.matmul(fi, psiIm));
  const tIm = op.add(op.matmul(fr, psiIm), op.matmul(fi, psiRe));
  const yRe = op.sub(op.matmul(tRe, frT), op.matmul(tIm, fiT));
  const yIm = op.add(op.matmul(tRe, fiT), op.matmul(tIm, frT));
  return op.scale(op.add(op.square(yRe), op.square(yIm)), 1 / (n * n));
}

/** Σ |P|² of the model's probe (the energy-scaled amplitude's denominator). */
function probeEnergyOf(spec: ModelGraphSpec): number {
  return probeIntensityOf(spec).reduce((sum, v) => sum + v, 0);
}

/**
 * The whole autoencoder: input scaling by s/exp(log_scale), network, A·e^{iφ} (MATH_POLAR_001), merge (gs2),
 * far field, λ = exp(log_scale)²·I, and the Poisson NLL λ − k·log(λ + ε) against k = (s·X)².
 */
export function forward(spec: ModelGraphSpec, params: Map<string, Value>, x: Value, offsets?: Value): ForwardOutputs {
  const g = x.graph;
  const s = spec.intensityScale;
  const logScale = params.get(LOG_SCALE)!;
  const inputScale = op.mul(g.constant(s), op.exp(op.neg(logScale)));
  const { amplitude, phase } = network(op.mul(x, inputScale), spec.arch, params, probeEnergyOf(spec), offsets, scaledBackprojection(spec, x, inputScale));
  let re = op.mul(amplitude, op.cos(phase));
  let im = op.mul(amplitude, op.sin(phase));
  let canvasRe: Value | undefined;
  let canvasIm: Value | undefined;
  if (spec.arch.spec.gridsize > 1) {
    if (!offsets) throw new Error('gridsize 2 needs the group offsets');
    const merged = mergePatches(re, im, offsets, spec.canvas, mergeWeightingOf(spec));
    ({ canvasRe, canvasIm } = merged);
    re = merged.re;
    im = merged.im;
  }
  const intensity = farFieldIntensity(re, im, spec.probe);
  const lambda = op.mul(intensity, op.exp(op.scale(logScale, 2)));
  const counts = g.untaped(() => op.scale(op.square(x), s * s));
  const nll = op.sub(lambda, op.mul(counts, op.log(op.addConst(lambda, spec.poissonEpsilon ?? POISSON_EPSILON))));
  return { objRe: re, objIm: im, amplitude, phase, canvasRe, canvasIm, nll };
}

function dataInputs(g: Graph, spec: ModelGraphSpec): { x: Value; offsets?: Value } {
  const { n } = spec.arch.spec;
  const c = spec.arch.channels;
  const x = g.input(IO.diffraction, [spec.batch, c, n, n]);
  const offsets = spec.arch.spec.gridsize > 1 ? g.input(IO.offsets, [spec.batch, c, 2]) : undefined;
  return { x, offsets };
}

/** Which parameters the optimiser updates. */
export function trainableNames(spec: ModelGraphSpec): string[] {
  return spec.arch.params.map((p) => p.name).filter((name) => name !== LOG_SCALE || spec.trainLogScale);
}

export interface TrainStepGraph {
  model: Uint8Array;
  /** Parameters fed and updated, in order; Adam moments are inputs `m_<name>`, `v_<name>`. */
  trainable: string[];
  /** Parameters fed but not updated (log_scale when it is fixed). */
  frozen: string[];
  nodeCount: number;
}

/** Inputs: parameters, Adam moments, a batch, lr_t. Outputs: loss, new parameters, new moments. */
export function buildTrainStepGraph(spec: ModelGraphSpec): TrainStepGraph {
  const g = new Graph('ptychopinn_train_step', spec.floatType);
  const trainable = trainableNames(spec);
  const params = new Map<string, Value>();
  for (const p of spec.arch.params) params.set(p.name, g.input(p.name, p.shape, { requiresGrad: trainable.includes(p.name) }));
  const moments = trainable.map((name) => ({ m: g.input(`m_${name}`, params.get(name)!.shape), v: g.input(`v_${name}`, params.get(name)!.shape) }));
  const { x, offsets } = dataInputs(g, spec);
  const lr = g.input(IO.lr, []);
  const fwd = forward(spec, params, x, offsets);
  const loss = op.reduceMean(fwd.nll);
  const grads = gradients(loss, trainable.map((name) => params.get(name)!));
  g.output(named(loss, IO.loss));
  trainable.forEach((name, i) => {
    const next = adamUpdate(g, params.get(name)!, grads[i], moments[i].m, moments[i].v, lr);
    g.output(next.param);
    g.output(next.m);
    g.output(next.v);
  });
  return { model: g.toModel(), trainable, frozen: spec.arch.params.map((p) => p.name).filter((n) => !trainable.includes(n)), nodeCount: g.nodes.length };
}

/** Inputs: parameters and a batch. Output: the mean Poisson NLL of each group, [B]. */
export function buildEvalGraph(spec: ModelGraphSpec): { model: Uint8Array } {
  const g = new Graph('ptychopinn_eval', spec.floatType);
  const params = new Map<string, Value>();
  for (const p of spec.arch.params) params.set(p.name, g.input(p.name, p.shape));
  const { x, offsets } = dataInputs(g, spec);
  const fwd = forward(spec, params, x, offsets);
  g.output(named(op.reduceMean(fwd.nll, [1, 2, 3]), IO.sampleLoss));
  return { model: g.toModel() };
}

/** Gradients of the mean loss (for tests and gradient checks): outputs `loss` and `grad_<name>`. */
export function buildGradientGraph(spec: ModelGraphSpec): { model: Uint8Array; names: string[] } {
  const g = new Graph('ptychopinn_gradients', spec.floatType);
  const names = trainableNames(spec);
  const params = new Map<string, Value>();
  for (const p of spec.arch.params) params.set(p.name, g.input(p.name, p.shape, { requiresGrad: names.includes(p.name) }));
  const { x, offsets } = dataInputs(g, spec);
  const fwd = forward(spec, params, x, offsets);
  const loss = op.reduceMean(fwd.nll);
  const grads = gradients(loss, names.map((n) => params.get(n)!));
  g.output(named(loss, IO.loss));
  grads.forEach((gr, i) => g.output(named(gr, `grad_${names[i]}`)));
  return { model: g.toModel(), names };
}

/**
 * The standalone inference model (model.onnx): weights as initializers; inputs `diffraction` [B, C, N, N]
 * (loader-normalised amplitudes) and, for gridsize 2, `offsets` [B, C, 2] (each pattern's (dx, dy) from the
 * group centroid, in pixels); outputs `amplitude` and `phase` [B, 1, N, N] of the object around the group
 * centre (gs2: the merged canvas cropped to N×N; gs1: the predicted patch).
 */
export function buildInferenceGraph(
  spec: ModelGraphSpec, values: ReadonlyMap<string, Float32Array> | 'inputs', metadata: Record<string, string> = {}, options: { symbolicBatch?: boolean } = {},
): { model: Uint8Array } {
  const g = new Graph('ptychopinn_inference', spec.floatType);
  const params = new Map<string, Value>();
  for (const p of spec.arch.params) {
    // 'inputs': the parameters are fed at every run (one session follows a model while it trains).
    if (values === 'inputs') {
      params.set(p.name, g.input(p.name, p.shape));
      continue;
    }
    const data = values.get(p.name);
    if (!data) throw new Error(`inference graph: no value for parameter ${p.name}`);
    params.set(p.name, g.initializer(p.name, data, p.shape));
  }
  const { x, offsets } = dataInputs(g, spec);
  const { n } = spec.arch.spec;
  g.untaped(() => {
    const s = spec.intensityScale;
    const inputScale = op.mul(g.constant(s), op.exp(op.neg(params.get(LOG_SCALE)!)));
    const net = network(op.mul(x, inputScale), spec.arch, params, probeEnergyOf(spec), offsets, scaledBackprojection(spec, x, inputScale));
    if (spec.arch.spec.gridsize === 1) {
      g.output(named(net.amplitude, IO.amplitude));
      g.output(named(net.phase, IO.phase));
      return;
    }
    const re = op.mul(net.amplitude, op.cos(net.phase));
    const im = op.mul(net.amplitude, op.sin(net.phase));
    const merged = mergePatches(re, im, offsets!, spec.canvas, mergeWeightingOf(spec));
    // Crop the canvas to N×N around the group centre (the zero-offset translation's transpose).
    const zero = g.constant(new Array(2).fill(0), [1, 1, 2], 'zero_offset');
    const { sx, sy } = translationMatrices(g, zero, spec.canvas, n);
    const crop = (v: Value): Value => op.matmul(op.matmul(op.transposeLast2(sy), v), sx);
    const cropRe = crop(merged.canvasRe);
    const cropIm = crop(merged.canvasIm);
    g.output(named(op.sqrt(op.add(op.square(cropRe), op.square(cropIm))), IO.amplitude));
    g.output(named(op.atan2(cropIm, cropRe), IO.phase));
  });
  // No node depends on the batch size, so model.onnx accepts any batch.
  if (options.symbolicBatch) for (const v of [...g.inputs, ...g.outputs]) v.dims[0] = 'batch';
  return { model: g.toModel(metadata) };
}
