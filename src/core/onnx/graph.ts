// The graph builder: typed values with static shapes, ONNX nodes, constants, and a tape of backward rules
// for reverse-mode differentiation (see autodiff.ts). Ops (ops.ts) compute their output shape, emit their
// node(s) and, when an input needs a gradient, record how to emit the backward nodes.
import { encodeModel, type Attribute, type DType, type NodeProtoData, type TensorProtoData, type ValueInfoData } from './proto';

export const OPSET = 21;
export const IR_VERSION = 10;

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(',')}]`;
}

/** A tensor in the graph. */
export class Value {
  constructor(
    readonly graph: Graph,
    readonly name: string,
    readonly shape: Shape,
    readonly dtype: DType,
    /** True when a gradient with respect to some parameter flows through this value. */
    readonly requiresGrad: boolean,
  ) {}

  get rank(): number {
    return this.shape.length;
  }

  get size(): number {
    return sizeOf(this.shape);
  }

  toString(): string {
    return `${this.name}${shapeStr(this.shape)}`;
  }
}

/** How to emit the gradients of an op's inputs from the gradients of its outputs. */
export type BackwardRule = (outputGrads: (Value | undefined)[]) => (Value | undefined)[];

export interface TapeRecord {
  op: string;
  inputs: Value[];
  outputs: Value[];
  backward: BackwardRule;
}

export type TypedData = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

function rawBytes(data: TypedData): Uint8Array {
  // Every platform Node runs on is little-endian, as ONNX raw_data requires.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

function dtypeOf(data: TypedData): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int32Array) return 'int32';
  return 'uint8';
}

export interface NodeOptions {
  attributes?: Record<string, Attribute>;
  /** Output names; generated from the op type when omitted. */
  outputNames?: string[];
  domain?: string;
  /** Outputs never need a gradient (a value used as data, e.g. features computed from the input). */
  detached?: boolean;
}

export class Graph {
  readonly nodes: NodeProtoData[] = [];
  readonly initializers: TensorProtoData[] = [];
  readonly inputs: ValueInfoData[] = [];
  readonly outputs: ValueInfoData[] = [];
  readonly tape: TapeRecord[] = [];
  private taping = true;
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();
  private readonly constants = new Map<string, Value>();

  constructor(readonly name: string, readonly floatType: 'float32' | 'float64' = 'float32') {}

  /** A name not used yet in this graph, derived from `base`. */
  uniqueName(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_.:/-]/g, '_');
    if (!this.used.has(clean)) {
      this.used.add(clean);
      return clean;
    }
    let i = this.counters.get(clean) ?? 1;
    while (this.used.has(`${clean}_${i}`)) i++;
    this.counters.set(clean, i + 1);
    const name = `${clean}_${i}`;
    this.used.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.used.has(name)) throw new Error(`graph ${this.name}: the name "${name}" is already used`);
    this.used.add(name);
    return name;
  }

  /** A graph input. `requiresGrad` marks a parameter to differentiate with respect to. */
  input(name: string, shape: Shape, options: { dtype?: DType; requiresGrad?: boolean } = {}): Value {
    const dtype = options.dtype ?? this.floatType;
    const v = new Value(this, this.claim(name), [...shape], dtype, options.requiresGrad ?? false);
    this.inputs.push({ name: v.name, dtype, dims: [...shape] });
    return v;
  }

  /**
   * A constant tensor stored in the model (an initializer). With `requiresGrad` it is a parameter baked into
   * the model (an inference graph's weights) — it can still be differentiated, which tests use.
   * With `uniqueFrom`, `name` is a base from which an unused name is derived.
   */
  initializer(name: string, data: TypedData, shape: Shape, options: { requiresGrad?: boolean; uniqueFrom?: boolean } = {}): Value {
    if (data.length !== sizeOf(shape)) throw new Error(`initializer ${name}: ${data.length} values for shape ${shapeStr(shape)}`);
    const dtype = dtypeOf(data);
    const v = new Value(this, options.uniqueFrom ? this.uniqueName(name) : this.claim(name), [...shape], dtype, options.requiresGrad ?? false);
    this.initializers.push({ name: v.name, dtype, dims: [...shape], raw: rawBytes(data) });
    return v;
  }

  /** A float constant (graph float type) of the given shape; scalars are shared. */
  constant(values: number | ArrayLike<number>, shape: Shape = [], base = 'const'): Value {
    const arr = typeof values === 'number' ? [values] : Array.from(values);
    const key = shape.length === 0 ? `${this.floatType}:${arr[0]}` : undefined;
    const cached = key ? this.constants.get(key) : undefined;
    if (cached) return cached;
    const data = this.floatType === 'float64' ? Float64Array.from(arr) : Float32Array.from(arr);
    const v = this.initializer(base, data, shape, { uniqueFrom: true });
    if (key) this.constants.set(key, v);
    return v;
  }

  /** A value built once per graph under `key` (shared constants such as DFT matrices or one-hot kernels). */
  memo(key: string, make: () => Value): Value {
    const cached = this.constants.get(`memo:${key}`);
    if (cached) return cached;
    const v = make();
    this.constants.set(`memo:${key}`, v);
    return v;
  }

  /** A 1-D int64 constant (shapes, axes, pads, slice bounds); shared by value. */
  int64s(values: readonly (number | bigint)[]): Value {
    const key = `i64:${values.join(',')}`;
    const cached = this.constants.get(key);
    if (cached) return cached;
    const v = this.initializer('i64', BigInt64Array.from(values.map((x) => BigInt(x))), [values.length], { uniqueFrom: true });
    this.constants.set(key, v);
    return v;
  }

  /**
   * Emits one node. Output shapes and dtypes are given by the op (its shape inference); outputs need a
   * gradient when any input does.
   */
  node(opType: string, inputs: (Value | '')[], outputs: { shape: Shape; dtype?: DType }[], options: NodeOptions = {}): Value[] {
    for (const i of inputs) if (i !== '' && i.graph !== this) throw new Error(`${opType}: input ${i.name} belongs to another graph`);
    const requiresGrad = !options.detached && inputs.some((i) => i !== '' && i.requiresGrad);
    const names = options.outputNames ?? outputs.map(() => this.uniqueName(opType.toLowerCase()));
    if (options.outputNames) for (const n of names) this.claim(n);
    const values = outputs.map((o, k) => new Value(this, names[k], [...o.shape], o.dtype ?? this.floatType, requiresGrad && (o.dtype ?? this.floatType) === this.floatType));
    this.nodes.push({
      opType,
      inputs: inputs.map((i) => (i === '' ? '' : i.name)),
      outputs: values.map((v) => v.name),
      name: this.uniqueName(`n_${opType}`),
      domain: options.domain,
      attributes: options.attributes ?? {},
    });
    return values;
  }

  /** Records a backward rule for outputs computed from inputs (skipped when nothing needs a gradient). */
  record(op: string, inputs: Value[], outputs: Value[], backward: BackwardRule): void {
    if (!this.taping) return;
    if (!inputs.some((i) => i.requiresGrad)) return;
    this.tape.push({ op, inputs, outputs, backward });
  }

  /** Runs `fn` without recording: the nodes it emits are never differentiated (backward passes, optimisers). */
  untaped<T>(fn: () => T): T {
    const was = this.taping;
    this.taping = false;
    try {
      return fn();
    } finally {
      this.taping = was;
    }
  }

  get isTaping(): boolean {
    return this.taping;
  }

  /** Marks `v` as a graph output (under its own name). */
  output(v: Value): Value {
    if (this.outputs.some((o) => o.name === v.name)) throw new Error(`graph ${this.name}: ${v.name} is already an output`);
    this.outputs.push({ name: v.name, dtype: v.dtype, dims: [...v.shape] });
    return v;
  }

  /** The serialised ONNX model (opset 21, IR 10). */
  toModel(metadata: Record<string, string> = {}, producerVersion?: string): Uint8Array {
    return encodeModel({
      irVersion: IR_VERSION,
      opsetVersion: OPSET,
      producerName: 'ptychopinn-study-workbench',
      producerVersion,
      graph: { name: this.name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
      metadata,
    });
  }
}
