// The PNG encoder, checked by decoding its output with an independent minimal decoder (chunks, CRC-32,
// zlib inflate, all five scanline filters).
import { strict as assert } from 'node:assert';
import * as zlib from 'node:zlib';
import { encodePng, renderPng } from '../../src/core/image/png';
import { colormapLut } from '../../src/core/image/colormaps';

interface Decoded {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
  chunks: string[];
}

function crc32(buf: Uint8Array): number {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}

function decodePng(png: Buffer): Decoded {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'signature');
  let off = 8;
  let ihdr: Buffer | undefined;
  const idat: Buffer[] = [];
  const chunks: string[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    const body = png.subarray(off + 8, off + 8 + len);
    assert.equal(png.readUInt32BE(off + 8 + len), crc32(png.subarray(off + 4, off + 8 + len)), `CRC of ${type}`);
    chunks.push(type);
    if (type === 'IHDR') ihdr = body;
    if (type === 'IDAT') idat.push(body);
    off += 12 + len;
  }
  assert.ok(ihdr, 'IHDR');
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  assert.equal(ihdr[8], 8, 'bit depth');
  const channels = ({ 0: 1, 2: 3, 6: 4 } as Record<number, number>)[ihdr[9]];
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  assert.equal(raw.length, height * (stride + 1));
  const pixels = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i];
      const a = i >= channels ? pixels[y * stride + i - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = b;
      else if (f === 3) pred = (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.equal(f, 0, `filter type ${f}`);
      pixels[y * stride + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, channels, pixels, chunks };
}

/** Deterministic test pattern: gradients, noise and flat areas, so every filter type gets chosen. */
function pattern(width: number, height: number, channels: number): Uint8Array {
  const d = new Uint8Array(width * height * channels);
  let s = 12345;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        const region = (x >> 3) % 3;
        d[(y * width + x) * channels + c] = region === 0 ? (x * 7 + y * 3 + c * 50) & 0xff : region === 1 ? s >>> 24 : 200;
      }
    }
  }
  return d;
}

describe('image: PNG encoder', () => {
  for (const channels of [1, 3, 4] as const) {
    it(`round-trips a ${channels}-channel 37 × 23 image pixel for pixel`, () => {
      const data = pattern(37, 23, channels);
      const png = encodePng({ width: 37, height: 23, channels, data });
      const back = decodePng(png);
      assert.deepEqual([back.width, back.height, back.channels], [37, 23, channels]);
      assert.deepEqual(back.chunks, ['IHDR', 'IDAT', 'IEND']);
      assert.deepEqual(Buffer.from(back.pixels), Buffer.from(data));
    });
  }

  it('a 1 × 1 image and a large flat image (compresses well)', () => {
    assert.deepEqual([...decodePng(encodePng({ width: 1, height: 1, channels: 4, data: Uint8Array.from([1, 2, 3, 4]) })).pixels], [1, 2, 3, 4]);
    const flat = new Uint8Array(512 * 512 * 3).fill(90);
    const png = encodePng({ width: 512, height: 512, channels: 3, data: flat });
    assert.ok(png.length < 5000, `${png.length} bytes`);
    assert.deepEqual(Buffer.from(decodePng(png).pixels), Buffer.from(flat));
  });

  it('refuses inconsistent sizes', () => {
    assert.throws(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) }), RangeError);
    assert.throws(() => encodePng({ width: 0, height: 2, channels: 3, data: new Uint8Array(0) }), RangeError);
    assert.throws(() => encodePng({ width: 1, height: 1, channels: 2 as 3, data: new Uint8Array(2) }), RangeError);
  });

  it('renderPng draws a float image through a colormap (amplitude.png / phase.png for the worker)', () => {
    const values = Float32Array.from([0, 0.5, 1, NaN]);
    const png = renderPng(values, 2, 2, { colormap: 'viridis', lo: 0, hi: 1 });
    const { pixels, channels } = decodePng(png);
    assert.equal(channels, 3);
    const lut = colormapLut('viridis');
    assert.deepEqual([...pixels.subarray(0, 3)], [...lut.subarray(0, 3)]);
    assert.deepEqual([...pixels.subarray(3, 6)], [...lut.subarray(3 * 128, 3 * 128 + 3)]);
    assert.deepEqual([...pixels.subarray(6, 9)], [...lut.subarray(765, 768)]);
    assert.deepEqual([...pixels.subarray(9, 12)], [0, 0, 0], 'NaN is black');
    const phase = renderPng(Float32Array.from([-Math.PI, Math.PI]), 2, 1, { colormap: 'twilight', lo: -Math.PI, hi: Math.PI, wrap: true });
    const p = decodePng(phase).pixels;
    assert.deepEqual([...p.subarray(0, 3)], [...p.subarray(3, 6)], '−π and +π get the same colour');
  });
});
