// numpy.fft.fftshift / ifftshift of square n×n row-major arrays (both axes). For even n the two are the same
// permutation; for odd n they are inverses of each other.

/** numpy.fft.fftshift of an n×n row-major array (`out` must not alias `src`); works for odd n too. */
export function fftshift2d<T extends Float32Array | Float64Array>(src: T, n: number, out: T): T {
  return roll2d(src, n, out, Math.floor(n / 2));
}

/** numpy.fft.ifftshift of an n×n row-major array (`out` must not alias `src`): undoes fftshift2d. */
export function ifftshift2d<T extends Float32Array | Float64Array>(src: T, n: number, out: T): T {
  return roll2d(src, n, out, n - Math.floor(n / 2));
}

/** Index of the fftshift'ed position of unshifted pixel (r, c) in an n×n array. */
export function shiftedIndex(r: number, c: number, n: number): number {
  const h = Math.floor(n / 2);
  return ((r + h) % n) * n + ((c + h) % n);
}

/** out[(r + s) mod n][(c + s) mod n] = src[r][c]. */
function roll2d<T extends Float32Array | Float64Array>(src: T, n: number, out: T, s: number): T {
  if (src.length < n * n || out.length < n * n) throw new RangeError(`fftshift of size ${n} needs ${n * n} elements`);
  for (let r = 0; r < n; r++) {
    const rr = ((r + s) % n) * n;
    const base = r * n;
    for (let c = 0; c < n; c++) out[rr + ((c + s) % n)] = src[base + c];
  }
  return out;
}
