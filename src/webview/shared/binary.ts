// Binary payloads arrive as an ArrayBuffer or as a typed-array view of one (VS Code recreates views on the
// receiving side); these turn either into the typed array the protocol documents, without copying. Pure TS.
import type { Binary } from '../protocol';

function view<T>(b: Binary, ctor: { new (buffer: ArrayBuffer, byteOffset: number, length: number): T; BYTES_PER_ELEMENT: number }, what: string): T {
  const buffer = b instanceof ArrayBuffer ? b : (b.buffer as ArrayBuffer);
  const offset = b instanceof ArrayBuffer ? 0 : b.byteOffset;
  const length = b.byteLength;
  if (length % ctor.BYTES_PER_ELEMENT !== 0) throw new Error(`${what}: ${length} bytes is not a whole number of ${ctor.BYTES_PER_ELEMENT}-byte values`);
  if (offset % ctor.BYTES_PER_ELEMENT !== 0) return new ctor(buffer.slice(offset, offset + length), 0, length / ctor.BYTES_PER_ELEMENT);
  return new ctor(buffer, offset, length / ctor.BYTES_PER_ELEMENT);
}

export const asFloat32 = (b: Binary, what = 'data'): Float32Array => view(b, Float32Array, what);
export const asFloat64 = (b: Binary, what = 'data'): Float64Array => view(b, Float64Array, what);
export const asBytes = (b: Binary): Uint8Array => view(b, Uint8Array, 'data');
