// The PtychoPINN "cnn" generator (domain.md §10.1): an encoder of Conv3×3+ReLU ×2 + MaxPool 2×2 per level
// down to 8×8, and two decoders (amplitude, phase) of Conv3×3+ReLU ×2 + nearest ×2 upsampling per level up to
// N/2, each ending in a 3×3 head (sigmoid / π·tanh) whose N/2×N/2 output is zero-padded to N×N (pad_object);
// optionally (residualBlocks) each level's second conv is a residual branch.
// This module is pure bookkeeping: the parameter list with shapes and initialisers.
import { Rng } from '../simulate/rng';

export interface ArchitectureSpec {
  /** Pattern size N (a power of two ≥ 16). */
  n: number;
  gridsize: number;
  /** `n_filters_scale` (TF default 2). */
  filterScale: number;
  /** Explicit filter ladders (small networks for gradient checks); default from N and filterScale. */
  filters?: { encoder: number[]; decoder: number[] };
  /**
   * PtychoPINN's `probe.big` (its ModelConfig default): each decoder also predicts the object outside the
   * central N/2 square through a border branch, so the model can explain the diffraction from all of the
   * probe's footprint. Without it the object is zero outside the centre (pad_object only).
   */
  probeBig?: boolean;
  /**
   * A ramp head: a linear phase per pattern on the central N/2, its slopes a linear function of the spatially
   * averaged bottleneck features and the pattern's intensity centroid (graphs.ts `phaseRamp`). Not in
   * PtychoPINN; without it the decoders under-predict the local phase gradient ~8× (README, item 15).
   */
  rampHead?: boolean;
  /**
   * Energy-scaled amplitude: the amplitude head's output is 2·σ(z)·a₀ instead of σ(z), with a₀ each pattern's rms
   * object amplitude under the probe that its total counts imply (Parseval: a₀² = Σ y² / Σ |P|², y the
   * network's scaled input), so the untrained model already explains every pattern's total and the decoder learns
   * only the relative structure (graphs.ts `network`). Not in PtychoPINN; no parameters (README item 18).
   */
  energyAmplitude?: boolean;
  /**
   * The object support (training.objectSupport 'full'): each decoder gains a level, so its head predicts the
   * object on all N×N at full resolution instead of the central N/2 (pad_object). A group's patterns then hold
   * their phase as the whole window does (README item 19: a group on the central N/2 squares is bounded at
   * phase r 0.77 even without noise, on the whole window 1.00). Excludes probeBig, which fills the border from a
   * small branch instead.
   */
  fullSupport?: boolean;
  /**
   * Residual blocks (training.residualBlocks): each level's second Conv+ReLU adds to its input, u + ReLU(conv(u)),
   * so the fourteen plain layers train as a shallower network would at first (graphs.ts `network`; README item 27:
   * a lower loss sooner, the same phase). No parameters; not in PtychoPINN.
   */
  residualBlocks?: boolean;
  /**
   * Back-projected input (training.backprojectedInput): besides each pattern's amplitude the encoder reads its
   * back-projection — the measured amplitude with the flat object's far-field phase, propagated back to the sample
   * and divided by the probe (graphs.ts `backprojection`): two real-space planes per pattern (re, im), so the
   * first conv sees 3C channels. No parameters besides the wider first kernel; not in PtychoPINN.
   */
  backprojectedInput?: boolean;
}

/** Whether the network predicts all N×N of each patch (probe.big's border branch, or the full support). */
export function predictsFullPatch(spec: ArchitectureSpec): boolean {
  return Boolean(spec.probeBig || spec.fullSupport);
}

/** Channels of the last decoder features that feed the border branch (PtychoPINN's `c_outer`). */
export const BORDER_CHANNELS = 4;

/** One decoder's border branch (probe.big): Conv+ReLU ×2 on the last BORDER_CHANNELS features, ×2 up, head. */
export interface BorderBranch {
  convs: [ConvLayer, ConvLayer];
  head: ConvLayer;
}

export interface ParamSpec {
  name: string;
  shape: number[];
  /** 'relu': a hidden conv followed by a ReLU; 'head': a conv producing the sigmoid / tanh pre-activation. */
  init: 'relu' | 'head' | 'zeros' | 'logScale';
  /** Conv fan-in/fan-out for Glorot. */
  fanIn?: number;
  fanOut?: number;
}

export interface ConvLayer {
  weight: string;
  bias: string;
  inChannels: number;
  outChannels: number;
}

export interface Architecture {
  spec: ArchitectureSpec;
  channels: number;
  encoder: ConvLayer[][];
  decoders: { amplitude: ConvLayer[][]; phase: ConvLayer[][] };
  heads: { amplitude: ConvLayer; phase: ConvLayer };
  /** probe.big only: the border branches; the heads then read all but the last BORDER_CHANNELS features. */
  border?: { amplitude: BorderBranch; phase: BorderBranch };
  /** rampHead only: the ramp head's 1×1 kernel [2C, bottleneck + 2C, 1, 1] and bias [2C]. */
  ramp?: { weight: string; bias: string };
  params: ParamSpec[];
  /** Conv multiply-adds of one forward pass per group (for FLOP counts). */
  convMacsPerGroup: number;
}

export const LOG_SCALE = 'log_scale';

function levels(n: number): number {
  if (!Number.isInteger(Math.log2(n)) || n < 16) throw new Error(`N must be a power of two ≥ 16 (got ${n})`);
  return Math.log2(n / 8);
}

/** Encoder filters per level: [32n, 64n, 128n] for N=64, [16n, …, 128n] for N=128 (base 2048n/N). */
export function encoderFilters(n: number, filterScale: number): number[] {
  const base = (2048 / n) * filterScale;
  return Array.from({ length: levels(n) }, (_, i) => Math.max(1, Math.round(base * 2 ** i)));
}

/** Decoder filters per level, ending at 32n: [64n, 32n] for N=64, [128n, 64n, 32n] for N=128. */
export function decoderFilters(n: number, filterScale: number): number[] {
  const count = levels(n) - 1;
  return Array.from({ length: count }, (_, i) => 32 * filterScale * 2 ** (count - 1 - i));
}

export function buildArchitecture(spec: ArchitectureSpec): Architecture {
  const { n, gridsize, filterScale } = spec;
  if (gridsize !== 1 && gridsize !== 2) throw new Error(`gridsize must be 1 or 2 (got ${gridsize})`);
  if (!Number.isInteger(filterScale) || filterScale < 1) throw new Error(`filterScale must be a positive integer (got ${filterScale})`);
  const channels = gridsize * gridsize;
  const params: ParamSpec[] = [];
  let macs = 0;
  let size = n;
  const conv = (name: string, ci: number, co: number, spatial: number, init: 'relu' | 'head' = 'relu'): ConvLayer => {
    params.push({ name: `${name}.weight`, shape: [co, ci, 3, 3], init, fanIn: ci * 9, fanOut: co * 9 });
    params.push({ name: `${name}.bias`, shape: [co], init: 'zeros' });
    macs += spatial * spatial * co * ci * 9;
    return { weight: `${name}.weight`, bias: `${name}.bias`, inChannels: ci, outChannels: co };
  };
  const encFilters = spec.filters?.encoder ?? encoderFilters(n, filterScale);
  const decFilters = spec.filters?.decoder ?? decoderFilters(n, filterScale);
  if (encFilters.length !== levels(n) || decFilters.length !== levels(n) - 1) {
    throw new Error(`N=${n} needs ${levels(n)} encoder and ${levels(n) - 1} decoder levels (got ${encFilters.length} and ${decFilters.length})`);
  }
  const encoder: ConvLayer[][] = [];
  let ci = spec.backprojectedInput ? 3 * channels : channels;
  encFilters.forEach((f, l) => {
    encoder.push([conv(`enc${l}.conv0`, ci, f, size), conv(`enc${l}.conv1`, f, f, size)]);
    ci = f;
    size /= 2;
  });
  const bottleneck = ci;
  if (spec.fullSupport && spec.probeBig) throw new Error('the full object support and probe.big exclude each other (both predict the border)');
  const lastDecoder = decFilters.at(-1) ?? bottleneck;
  // The full support's extra level at N/2 (then ×2 up to N): half the last decoder level's width.
  const ladder = spec.fullSupport ? [...decFilters, Math.max(4, Math.round(lastDecoder / 2))] : decFilters;
  const decoder = (kind: string): ConvLayer[][] => {
    let c = bottleneck;
    let s = size;
    return ladder.map((f, l) => {
      const layers = [conv(`dec_${kind}${l}.conv0`, c, f, s), conv(`dec_${kind}${l}.conv1`, f, f, s)];
      c = f;
      s *= 2;
      return layers;
    });
  };
  const amplitude = decoder('amp');
  const phase = decoder('phase');
  const last = ladder.at(-1) ?? bottleneck;
  if (spec.probeBig && last <= BORDER_CHANNELS) throw new Error(`probe.big needs more than ${BORDER_CHANNELS} decoder output channels (got ${last})`);
  // As PtychoPINN's create_decoder_last: with the border branch the centre head reads the first last − 4 features.
  const headIn = spec.probeBig ? last - BORDER_CHANNELS : last;
  const headSize = spec.fullSupport ? n : n / 2;
  const heads = { amplitude: conv('head_amp', headIn, channels, headSize, 'head'), phase: conv('head_phase', headIn, channels, headSize, 'head') };
  let border: Architecture['border'];
  if (spec.probeBig) {
    // n_filters_scale · 2048/N filters (64 at N=64), Conv_Up_block at N/2 then the head at N.
    const width = spec.filters ? last : (2048 / n) * filterScale;
    const branch = (kind: string): BorderBranch => ({
      convs: [conv(`border_${kind}.conv0`, BORDER_CHANNELS, width, n / 2), conv(`border_${kind}.conv1`, width, width, n / 2)],
      head: conv(`border_head_${kind}`, width, channels, n, 'head'),
    });
    border = { amplitude: branch('amp'), phase: branch('phase') };
  }
  let ramp: Architecture['ramp'];
  if (spec.rampHead) {
    params.push({ name: 'ramp.weight', shape: [2 * channels, bottleneck + 2 * channels, 1, 1], init: 'zeros' });
    params.push({ name: 'ramp.bias', shape: [2 * channels], init: 'zeros' });
    ramp = { weight: 'ramp.weight', bias: 'ramp.bias' };
  }
  params.push({ name: LOG_SCALE, shape: [1], init: 'logScale' });
  return { spec, channels, encoder, decoders: { amplitude, phase }, heads, border, ramp, params, convMacsPerGroup: macs };
}

export function parameterCount(arch: Architecture): number {
  return arch.params.reduce((s, p) => s + p.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * How the conv kernels start.
 * - 'he': He-uniform (limit √(6/fan_in)) on the ReLU convs, so activations keep their scale through the 14
 *   layers, and zero head kernels, so the untrained model is exactly the flat object (amplitude σ(0) = 0.5,
 *   phase 0) and the first steps move the heads, not the features.
 * - 'glorot': Keras's glorot_uniform everywhere (PtychoPINN's). With ReLUs it shrinks the activations about √2×
 *   per layer (the decoders' features start ~10⁻³ on normalised diffraction). Measured at the learning rate
 *   1e-3 on a gridsize-2 model: channels of the last encoder layer dead after 5 epochs 96 % (glorot) and 59 %
 *   (he), output flat; at 2.5e-4 both rules train equally well (README, "Reconstruction quality").
 */
export type WeightInit = 'he' | 'glorot';

/**
 * Initial parameter values from the seeded stream (seed, 'init'): kernels by `weightInit`, zero biases,
 * log_scale = log(s), so a run's initialisation is reproducible from its config.
 */
export function initialParameters(arch: Architecture, seed: number, intensityScale: number, weightInit: WeightInit = 'glorot'): Map<string, Float32Array> {
  const rng = new Rng(seed, 'init', arch.spec.n, arch.spec.gridsize, arch.spec.filterScale);
  const out = new Map<string, Float32Array>();
  for (const p of arch.params) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    if (p.init === 'relu' || p.init === 'head') {
      const limit = weightInit === 'glorot' ? Math.sqrt(6 / (p.fanIn! + p.fanOut!)) : p.init === 'relu' ? Math.sqrt(6 / p.fanIn!) : 0;
      // Draw even when the limit is 0, so the other layers get the same numbers under either head rule.
      for (let i = 0; i < size; i++) data[i] = (2 * rng.uniform() - 1) * limit;
    } else if (p.init === 'logScale') {
      data[0] = Math.log(intensityScale);
    }
    out.set(p.name, data);
  }
  return out;
}
