// The Reconstruction section's DOM-free parts (unit-tested): the difference of a preview with the truth, and which
// epochs an exported strip shows.
import type { PreviewImage } from '../protocol';

/**
 * The difference of a preview with the truth, as an image pair on the same scales the viewer uses: amplitude
 * (after matching the means on the covered pixels) minus the truth's, gray over ±its largest magnitude (mid-gray = 0);
 * phase minus the truth's after removing the mean offset, wrapped to (−π, π], on the cyclic map.
 */
export function differenceImage(img: PreviewImage, truth: PreviewImage): PreviewImage & { amplitudeSpan: number; phaseRms: number } {
  const n = img.width * img.height;
  const aOf = (x: PreviewImage, q: number): number => x.amplitudeRange[0] + (x.amplitude[q] / 255) * (x.amplitudeRange[1] - x.amplitudeRange[0]);
  const pOf = (x: PreviewImage, q: number): number => -Math.PI + (x.phase[q] / 255) * 2 * Math.PI;
  let sa = 0;
  let st = 0;
  let c = 0;
  let s = 0;
  let k = 0;
  for (let q = 0; q < n; q++) {
    if (!img.covered[q]) continue;
    sa += aOf(img, q);
    st += aOf(truth, q);
    const d = pOf(img, q) - pOf(truth, q);
    c += Math.cos(d);
    s += Math.sin(d);
    k++;
  }
  const scale = sa > 0 ? st / sa : 1;
  const offset = Math.atan2(s, c);
  const da = new Float32Array(n);
  const dp = new Float32Array(n);
  let span = 1e-9;
  let sq = 0;
  for (let q = 0; q < n; q++) {
    if (!img.covered[q]) continue;
    da[q] = aOf(img, q) * scale - aOf(truth, q);
    span = Math.max(span, Math.abs(da[q]));
    let d = pOf(img, q) - pOf(truth, q) - offset;
    d = Math.atan2(Math.sin(d), Math.cos(d));
    dp[q] = d;
    sq += d * d;
  }
  const amplitude = new Uint8Array(n);
  const phase = new Uint8Array(n);
  for (let q = 0; q < n; q++) {
    if (!img.covered[q]) continue;
    amplitude[q] = Math.round(((da[q] + span) / (2 * span)) * 255);
    phase[q] = Math.round(((dp[q] + Math.PI) / (2 * Math.PI)) * 255);
  }
  return { width: img.width, height: img.height, amplitude, amplitudeRange: [-span, span], phase, covered: img.covered, amplitudeSpan: span, phaseRms: k ? Math.sqrt(sq / k) : 0 };
}

/** At most `max` epochs, evenly spread, always the first and the last. */
export function stripEpochs(epochs: readonly number[], max = 16): number[] {
  if (epochs.length <= max) return [...epochs];
  const out = new Set<number>();
  for (let i = 0; i < max; i++) out.add(epochs[Math.round((i * (epochs.length - 1)) / (max - 1))]);
  return [...out];
}

