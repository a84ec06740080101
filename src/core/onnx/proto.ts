// A zero-dependency protobuf writer for the subset of onnx.proto the workbench emits (ModelProto with one
// GraphProto of nodes, initializers, inputs and outputs). Field numbers are from onnx.proto (IR 10); the wire
// format has been stable since IR 3. Attributes are typed so a float is never emitted as an int.

/** ONNX TensorProto.DataType codes used here. */
export const ONNX_DTYPE = { float32: 1, uint8: 2, int32: 6, int64: 7, bool: 9, float64: 11 } as const;
export type DType = keyof typeof ONNX_DTYPE;

const enum WireType { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 }

/** Growable byte buffer with protobuf primitives. */
export class ProtoWriter {
  private buf = new Uint8Array(1024);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** Unsigned varint of a non-negative safe integer or a bigint (two's complement for negatives, 10 bytes). */
  varint(v: number | bigint): this {
    let x = typeof v === 'bigint' ? BigInt.asUintN(64, v) : v < 0 ? BigInt.asUintN(64, BigInt(v)) : v;
    this.ensure(10);
    if (typeof x === 'number') {
      while (x >= 0x80) {
        this.buf[this.len++] = (x % 0x80) | 0x80;
        x = Math.floor(x / 0x80);
      }
      this.buf[this.len++] = x;
      return this;
    }
    while (x >= 0x80n) {
      this.buf[this.len++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.len++] = Number(x);
    return this;
  }

  private tag(field: number, wire: WireType): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, v: number | bigint): this {
    this.tag(field, WireType.Varint);
    return this.varint(v);
  }

  float(field: number, v: number): this {
    this.tag(field, WireType.Fixed32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, v, true);
    this.len += 4;
    return this;
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, WireType.Bytes);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }

  message(field: number, write: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    write(inner);
    return this.bytes(field, inner.finish());
  }

  packedInts(field: number, values: readonly (number | bigint)[]): this {
    const inner = new ProtoWriter();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  packedFloats(field: number, values: readonly number[]): this {
    const f = new Float32Array(values);
    return this.bytes(field, new Uint8Array(f.buffer));
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** A typed node attribute. */
export type Attribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'tensor'; value: TensorProtoData }
  | { type: 'graph'; value: GraphProtoData };

export const attr = {
  float: (value: number): Attribute => ({ type: 'float', value }),
  int: (value: number): Attribute => {
    if (!Number.isInteger(value)) throw new Error(`int attribute must be an integer (got ${value})`);
    return { type: 'int', value };
  },
  string: (value: string): Attribute => ({ type: 'string', value }),
  floats: (value: number[]): Attribute => ({ type: 'floats', value }),
  ints: (value: number[]): Attribute => ({ type: 'ints', value }),
  tensor: (value: TensorProtoData): Attribute => ({ type: 'tensor', value }),
  graph: (value: GraphProtoData): Attribute => ({ type: 'graph', value }),
};

const ATTRIBUTE_TYPE = { float: 1, int: 2, string: 3, tensor: 4, graph: 5, floats: 6, ints: 7 } as const;

export interface TensorProtoData {
  name: string;
  dtype: DType;
  dims: number[];
  /** Little-endian raw bytes of the elements. */
  raw: Uint8Array;
}

export interface ValueInfoData {
  name: string;
  dtype: DType;
  /** Static dims; a string is a symbolic dim. */
  dims: (number | string)[];
}

export interface NodeProtoData {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attributes: Record<string, Attribute>;
}

export interface GraphProtoData {
  name: string;
  nodes: NodeProtoData[];
  initializers: TensorProtoData[];
  inputs: ValueInfoData[];
  outputs: ValueInfoData[];
}

export interface ModelProtoData {
  irVersion: number;
  opsetVersion: number;
  producerName: string;
  producerVersion?: string;
  graph: GraphProtoData;
  metadata?: Record<string, string>;
  extraOpsets?: { domain: string; version: number }[];
}

function writeTensor(w: ProtoWriter, t: TensorProtoData): void {
  // TensorProto: dims 1, data_type 2, name 8, raw_data 9.
  if (t.dims.length > 0) w.packedInts(1, t.dims);
  w.int(2, ONNX_DTYPE[t.dtype]);
  w.string(8, t.name);
  w.bytes(9, t.raw);
}

function writeValueInfo(w: ProtoWriter, v: ValueInfoData): void {
  // ValueInfoProto: name 1, type 2. TypeProto: tensor_type 1. Tensor: elem_type 1, shape 2. Shape: dim 1.
  w.string(1, v.name);
  w.message(2, (type) => type.message(1, (tensor) => {
    tensor.int(1, ONNX_DTYPE[v.dtype]);
    tensor.message(2, (shape) => {
      for (const d of v.dims) {
        shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      }
    });
  }));
}

function writeAttribute(w: ProtoWriter, name: string, a: Attribute): void {
  // AttributeProto: name 1, f 2, i 3, s 4, t 5, g 6, floats 7, ints 8, type 20.
  w.string(1, name);
  switch (a.type) {
    case 'float': w.float(2, a.value); break;
    case 'int': w.int(3, a.value); break;
    case 'string': w.string(4, a.value); break;
    case 'tensor': w.message(5, (t) => writeTensor(t, a.value)); break;
    case 'graph': w.message(6, (g) => writeGraph(g, a.value)); break;
    case 'floats': w.packedFloats(7, a.value); break;
    case 'ints': w.packedInts(8, a.value); break;
  }
  w.int(20, ATTRIBUTE_TYPE[a.type]);
}

function writeNode(w: ProtoWriter, n: NodeProtoData): void {
  // NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, a] of Object.entries(n.attributes)) w.message(5, (aw) => writeAttribute(aw, k, a));
  if (n.domain) w.string(7, n.domain);
}

function writeGraph(w: ProtoWriter, g: GraphProtoData): void {
  // GraphProto: node 1, name 2, initializer 5, input 11, output 12.
  for (const n of g.nodes) w.message(1, (nw) => writeNode(nw, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (tw) => writeTensor(tw, t));
  for (const i of g.inputs) w.message(11, (iw) => writeValueInfo(iw, i));
  for (const o of g.outputs) w.message(12, (ow) => writeValueInfo(ow, o));
}

/** Serialises a model to the ONNX wire format. */
export function encodeModel(m: ModelProtoData): Uint8Array {
  // ModelProto: ir_version 1, producer_name 2, producer_version 3, graph 7, opset_import 8, metadata_props 14.
  const w = new ProtoWriter();
  w.int(1, m.irVersion);
  w.string(2, m.producerName);
  if (m.producerVersion) w.string(3, m.producerVersion);
  w.message(7, (g) => writeGraph(g, m.graph));
  w.message(8, (o) => { o.string(1, ''); o.int(2, m.opsetVersion); });
  for (const extra of m.extraOpsets ?? []) w.message(8, (o) => { o.string(1, extra.domain); o.int(2, extra.version); });
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    // StringStringEntryProto: key 1, value 2.
    w.message(14, (e) => { e.string(1, key); e.string(2, value); });
  }
  return w.finish();
}
