#!/usr/bin/env python3
"""NumPy yardstick for bench:recon: a straightforward ePIE (Maiden & Rodenburg 2009), known probe, the same
physics as src/core/iterative (bilinear patches, far field |fftshift(FFT2(P*O))|/N as amplitude, probe scaled
once to the data's mean energy, object = 1). Not tuned: what a scientist would write in an afternoon.

usage: bench_recon_numpy.py INPUT.npz OUTPUT.npz ITERATIONS
INPUT holds amplitudes (P, N, N) float32 (fftshifted, as stored), xs, ys (object pixels), probe (N, N) complex,
shape (2,) = (height, width). Writes OUTPUT.npz with `object` (complex64) and prints one JSON line
{"iterations", "seconds", "updates_per_sec"}.
"""
import json
import sys
import time

import numpy as np


def main():
    inp, out, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
    d = np.load(inp)
    amps = np.fft.ifftshift(d["amplitudes"].astype(np.float64), axes=(-2, -1))  # unshift once
    xs, ys = d["xs"], d["ys"]
    probe = d["probe"].astype(np.complex128)
    h, w = (int(v) for v in d["shape"])
    n = probe.shape[0]
    count = len(xs)
    probe *= np.sqrt(np.mean(np.sum(amps ** 2, axis=(1, 2))) / np.sum(np.abs(probe) ** 2))
    obj = np.ones((h, w), np.complex128)
    x0 = np.floor(xs).astype(int) - n // 2
    y0 = np.floor(ys).astype(int) - n // 2
    fx = xs - np.floor(xs)
    fy = ys - np.floor(ys)
    rng = np.random.default_rng(1)
    pmax = np.max(np.abs(probe) ** 2)
    t0 = time.perf_counter()
    for _ in range(iterations):
        for p in rng.permutation(count):
            a, b = y0[p], x0[p]
            w00, w01, w10, w11 = (1 - fy[p]) * (1 - fx[p]), (1 - fy[p]) * fx[p], fy[p] * (1 - fx[p]), fy[p] * fx[p]
            patch = (w00 * obj[a:a + n, b:b + n] + w01 * obj[a:a + n, b + 1:b + n + 1]
                     + w10 * obj[a + 1:a + n + 1, b:b + n] + w11 * obj[a + 1:a + n + 1, b + 1:b + n + 1])
            psi = probe * patch
            f = np.fft.fft2(psi)
            mag = np.abs(f)
            f = np.where(mag > 0, f * (n * amps[p] / np.maximum(mag, 1e-300)), n * amps[p])
            dpsi = np.fft.ifft2(f) - psi
            step = np.conj(probe) * dpsi / pmax
            obj[a:a + n, b:b + n] += w00 * step
            obj[a:a + n, b + 1:b + n + 1] += w01 * step
            obj[a + 1:a + n + 1, b:b + n] += w10 * step
            obj[a + 1:a + n + 1, b + 1:b + n + 1] += w11 * step
    seconds = time.perf_counter() - t0
    np.savez(out, object=obj.astype(np.complex64))
    print(json.dumps({"iterations": iterations, "seconds": seconds, "updates_per_sec": iterations * count / seconds}))


if __name__ == "__main__":
    main()
