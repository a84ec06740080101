// Draws the extension's Marketplace icon, media/icon.png (128×128 RGBA): a phase-wheel disc — the azimuth of
// each pixel coloured by the cyclic twilight map used for phase throughout the extension — whose brightness is an
// Airy diffraction pattern on a log scale (the bright central spot and its rings), on a dark rounded tile.
// Deterministic; run `npm run icon` after changing it and commit the PNG.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { colormapColor } from '../src/core/image/colormaps';
import { encodePng } from '../src/core/image/png';

/** Bessel function J1(x) by its integral (1/π)∫₀^π cos(τ − x sin τ) dτ (Simpson's rule, ample for |x| < 30). */
function besselJ1(x: number): number {
  const n = 200;
  const h = Math.PI / n;
  let s = 0;
  for (let i = 0; i <= n; i++) {
    const t = i * h;
    const w = i === 0 || i === n ? 1 : i % 2 ? 4 : 2;
    s += w * Math.cos(t - x * Math.sin(t));
  }
  return (s * h) / 3 / Math.PI;
}

/** Airy intensity (2 J1(x) / x)², 1 at the centre. */
function airy(x: number): number {
  if (x < 1e-6) return 1;
  const a = (2 * besselJ1(x)) / x;
  return a * a;
}

/** airy() tabulated on [0, xMax] in steps of `step`, linearly interpolated (the icon samples it 262 144 times). */
function airyTable(xMax: number, step = 0.002): (x: number) => number {
  const n = Math.ceil(xMax / step) + 2;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = airy(i * step);
  return (x) => {
    const f = x / step;
    const i = Math.min(Math.floor(f), n - 2);
    return t[i] + (t[i + 1] - t[i]) * (f - i);
  };
}

/** Coverage of a rounded square (side `size`, corner radius `r`) at (x, y), one pixel of antialiasing. */
function tileCoverage(x: number, y: number, size: number, r: number): number {
  const dx = Math.max(Math.abs(x - size / 2) - (size / 2 - r), 0);
  const dy = Math.max(Math.abs(y - size / 2) - (size / 2 - r), 0);
  return Math.min(Math.max(r - Math.hypot(dx, dy) + 0.5, 0), 1);
}

/** The icon as RGBA pixels (size × size × 4), 4×4 supersampled. */
export function renderIcon(size = 128): Uint8Array {
  const out = new Uint8Array(size * size * 4);
  const ss = 4;
  const c = size / 2;
  const disc = size * 0.44; // disc radius
  const k = 17 / disc; // Airy argument per pixel: five rings inside the disc
  const decades = 3.6; // log-scale range of the brightness
  const bg: [number, number, number] = [0x16, 0x1b, 0x26];
  const intensity = airyTable(k * disc + 1);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = 0; sy < ss; sy++) {
        for (let sx = 0; sx < ss; sx++) {
          const x = px + (sx + 0.5) / ss;
          const y = py + (sy + 0.5) / ss;
          const dx = x - c;
          const dy = c - y;
          const rad = Math.hypot(dx, dy);
          let col: [number, number, number] = bg;
          const edge = Math.min(Math.max(disc - rad, 0), 1); // antialiased disc rim
          if (edge > 0) {
            const phase = (Math.atan2(dy, dx) + Math.PI) / (2 * Math.PI); // 0..1 around the wheel
            const [cr, cg, cb] = colormapColor('twilight', phase);
            // Brightness: Airy rings on a log scale, a floor so the wheel's colours show between the rings.
            const v = Math.max(0, 1 + Math.log10(Math.max(intensity(k * rad), 1e-12)) / decades);
            const lum = 0.3 + 0.7 * Math.sqrt(v);
            const mix = (a: number, bgv: number) => bgv + (a * lum - bgv) * edge;
            col = [mix(cr, bg[0]), mix(cg, bg[1]), mix(cb, bg[2])];
          }
          r += col[0];
          g += col[1];
          b += col[2];
        }
      }
      const n = ss * ss;
      const o = 4 * (py * size + px);
      out[o] = Math.round(r / n);
      out[o + 1] = Math.round(g / n);
      out[o + 2] = Math.round(b / n);
      out[o + 3] = Math.round(255 * tileCoverage(px + 0.5, py + 0.5, size, size * 0.18));
    }
  }
  return out;
}

export function iconPng(size = 128): Buffer {
  return encodePng({ width: size, height: size, channels: 4, data: renderIcon(size) }, { level: 9 });
}

if (require.main === module) {
  const file = path.resolve(process.argv[2] ?? 'media/icon.png');
  fs.writeFileSync(file, iconPng());
  console.log(`wrote ${file} (${fs.statSync(file).size} bytes)`);
}
