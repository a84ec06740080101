// Axis and colorbar ticks: "nice" linear ticks (1, 2, 5 × 10^k), ticks for a log10(1 + x) scale, multiples
// of π for phase, and compact number formatting. Pure TypeScript.
import { scaleValue, type Scale } from './colormaps';

export interface Tick {
  value: number;
  label: string;
}

/** About `count` round tick values covering [lo, hi] (inside it). */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi < lo) [lo, hi] = [hi, lo];
  if (hi === lo) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  const first = Math.ceil(lo / step - 1e-9);
  const last = Math.floor(hi / step + 1e-9);
  const out: number[] = [];
  for (let i = first; i <= last && out.length < 100; i++) out.push(i * step === 0 ? 0 : i * step);
  return out;
}

/** Formats a value compactly, with about `digits` significant digits (exponent form when large or tiny). */
export function formatValue(v: number, digits = 4): string {
  if (v !== v) return 'NaN';
  if (v === Infinity) return '∞';
  if (v === -Infinity) return '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  const s = a >= 1e5 || a < 1e-3 ? v.toExponential(Math.max(0, digits - 2)).replace(/\.?0+e/, 'e').replace('e+', 'e') : String(Number(v.toPrecision(digits)));
  return s.replace(/^-/, '−');
}

/** Tick labels formatted consistently for one axis (enough digits to tell neighbours apart). */
export function labelTicks(values: number[]): Tick[] {
  for (let digits = 2; digits <= 8; digits++) {
    const labels = values.map((v) => formatValue(v, digits));
    if (new Set(labels).size === labels.length) return values.map((value, i) => ({ value, label: labels[i] }));
  }
  return values.map((value) => ({ value, label: formatValue(value, 8) }));
}

/**
 * Ticks for a colorbar over the data window [lo, hi] drawn with `scale`: linear → nice ticks; log (the
 * log10(1 + x) transform) → 0 and powers of ten (with 2× and 5× when few decades are shown). Values are in
 * data units; place them with scaleValue.
 */
export function windowTicks(lo: number, hi: number, scale: Scale, count = 5): Tick[] {
  if (scale === 'linear') return labelTicks(niceTicks(lo, hi, count));
  const f0 = scaleValue(lo, 'log');
  const f1 = scaleValue(hi, 'log');
  if (!(f1 > f0)) return labelTicks([lo]);
  const values: number[] = [];
  if (lo <= 0 && hi >= 0) values.push(0);
  const decades = f1 - f0;
  const mults = decades < 1.5 ? [1, 2, 5] : decades < 3 ? [1, 3] : [1];
  const kMin = Math.floor(Math.log10(Math.max(lo, 1e-300)));
  const kMax = Math.ceil(Math.log10(Math.max(hi, 1e-300)));
  for (let k = Math.max(kMin, -6); k <= kMax; k++) {
    for (const m of mults) {
      const v = m * 10 ** k;
      if (v >= lo && v <= hi && (v >= 1 || values.length === 0 || v > 0.1 * hi)) values.push(v);
    }
  }
  // Keep the labels readable: thin out evenly (in screen space) to about count + 2.
  const uniq = [...new Set(values)].sort((a, b) => a - b);
  const limit = count + 2;
  if (uniq.length <= limit) return labelTicks(uniq);
  const step = Math.ceil(uniq.length / limit);
  return labelTicks(uniq.filter((_, i) => i % step === 0));
}

/** Ticks in multiples of π/2 (or π) over [lo, hi] radians, labelled −π, −π/2, 0, π/2, π. */
export function phaseTicks(lo: number, hi: number): Tick[] {
  const span = hi - lo;
  if (!(span > 0) || span > 8 * Math.PI || span < 0.5) return labelTicks(niceTicks(lo, hi, 5));
  const unit = span > 3 * Math.PI ? Math.PI : Math.PI / 2;
  const out: Tick[] = [];
  for (let k = Math.ceil(lo / unit - 1e-9); k * unit <= hi + 1e-9; k++) {
    const halves = unit === Math.PI ? 2 * k : k; // value in units of π/2
    out.push({ value: k * unit, label: piLabel(halves) });
  }
  return out;
}

function piLabel(halves: number): string {
  if (halves === 0) return '0';
  const sign = halves < 0 ? '−' : '';
  const h = Math.abs(halves);
  if (h % 2 === 0) return `${sign}${h / 2 === 1 ? '' : h / 2}π`;
  return `${sign}${h === 1 ? '' : h}π/2`;
}
