// Number formatting shared by the pages and their DOM-free models.

/** "1.4 MiB" (binary units); with `exact`, the byte count too: "1.4 MiB (1,468,006 B)". */
export function formatBytes(n: number, opts: { exact?: boolean } = {}): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  if (u === 0) return `${n} B`;
  const short = `${v.toFixed(v >= 100 ? 0 : 1)} ${units[u]}`;
  return opts.exact ? `${short} (${n.toLocaleString('en-US')} B)` : short;
}
