// PNG encoder (8-bit gray, RGB or RGBA; zlib from node:zlib, CRC-32 per chunk) and a helper that renders a
// float image through a colormap into a PNG (the training worker writes amplitude.png and phase.png with it).
// The only file of src/core/image that uses Node APIs.
import * as zlib from 'node:zlib';
import { colormapLut, mapToRgba, type ColormapName, type Scale } from './colormaps';
import { autoWindow } from './stats';

export type PngChannels = 1 | 3 | 4;

export interface PngImage {
  width: number;
  height: number;
  /** 1 = gray, 3 = RGB, 4 = RGBA; 8 bits per channel. */
  channels: PngChannels;
  /** Row-major, channels values per pixel, width × height × channels bytes. */
  data: Uint8Array | Uint8ClampedArray;
}

export interface PngOptions {
  /** zlib level 0–9 (default 6). */
  level?: number;
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOR_TYPE: Record<PngChannels, number> = { 1: 0, 3: 2, 4: 6 };

function chunk(type: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(body.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body, zlib.crc32(head.subarray(4))) >>> 0, 0);
  return Buffer.concat([head, body, crc]);
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/**
 * Filters each scanline with the PNG filter (None, Sub, Up, Average, Paeth) whose output has the smallest
 * sum of absolute (signed) bytes — libpng's heuristic — and returns the filtered stream (1 + stride bytes per row).
 */
function filterRows(data: Uint8Array | Uint8ClampedArray, width: number, height: number, bpp: number): Buffer {
  const stride = width * bpp;
  const out = Buffer.alloc(height * (stride + 1));
  const cand = [0, 1, 2, 3, 4].map(() => Buffer.alloc(stride));
  for (let y = 0; y < height; y++) {
    const row = y * stride;
    const prev = y > 0 ? row - stride : -1;
    let best = 0;
    let bestSum = Infinity;
    for (let f = 0; f < 5; f++) {
      const c = cand[f];
      let sum = 0;
      for (let i = 0; i < stride; i++) {
        const x = data[row + i];
        const a = i >= bpp ? data[row + i - bpp] : 0;
        const b = prev >= 0 ? data[prev + i] : 0;
        const cc = prev >= 0 && i >= bpp ? data[prev + i - bpp] : 0;
        const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : paeth(a, b, cc);
        const v = (x - pred) & 0xff;
        c[i] = v;
        sum += v < 128 ? v : 256 - v;
        if (sum >= bestSum) break;
      }
      if (sum < bestSum) {
        bestSum = sum;
        best = f;
      }
    }
    // Only a candidate that ran to the end of the row can have become `best`, so its buffer is complete.
    const o = y * (stride + 1);
    out[o] = best;
    cand[best].copy(out, o + 1);
  }
  return out;
}

/** Encodes an 8-bit gray/RGB/RGBA image as a PNG file. */
export function encodePng(img: PngImage, opts: PngOptions = {}): Buffer {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`PNG size must be positive integers, got ${width}×${height}`);
  }
  if (!(channels in COLOR_TYPE)) throw new RangeError(`PNG channels must be 1, 3 or 4, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`PNG data holds ${data.length} bytes; ${width}×${height}×${channels} needs ${width * height * channels}`);
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = COLOR_TYPE[channels];
  ihdr[10] = 0; // deflate
  ihdr[11] = 0; // adaptive filtering
  ihdr[12] = 0; // no interlace
  const idat = zlib.deflateSync(filterRows(data, width, height, channels), { level: opts.level ?? 6 });
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))]);
}

export interface RenderPngOptions extends PngOptions {
  colormap: ColormapName;
  /** Data window; default the 1st–99th percentile auto window. */
  lo?: number;
  hi?: number;
  scale?: Scale;
  /** Wrap into the window's period (phase on a cyclic map). */
  wrap?: boolean;
}

/**
 * Renders a row-major width × height float image through a colormap into an RGB PNG (NaN as black), e.g.
 * amplitude with gray/viridis, phase with twilight over [−π, π] and wrap.
 */
export function renderPng(values: ArrayLike<number>, width: number, height: number, opts: RenderPngOptions): Buffer {
  if (values.length !== width * height) throw new RangeError(`renderPng: ${width}×${height} needs ${width * height} values, got ${values.length}`);
  const auto = opts.lo === undefined || opts.hi === undefined ? autoWindow(values) : undefined;
  const rgba = new Uint8Array(width * height * 4);
  mapToRgba(values, colormapLut(opts.colormap), {
    lo: opts.lo ?? auto!.lo, hi: opts.hi ?? auto!.hi, scale: opts.scale, wrap: opts.wrap, nanColor: [0, 0, 0, 255],
  }, rgba);
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    rgb[j] = rgba[i];
    rgb[j + 1] = rgba[i + 1];
    rgb[j + 2] = rgba[i + 2];
  }
  return encodePng({ width, height, channels: 3, data: rgb }, opts);
}
