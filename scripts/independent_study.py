#!/usr/bin/env python3
"""An independent simulation of the dose study, written with NumPy alone (none of the workbench's code): the
check the reconstruction-quality issue asks for — data the product's simulator, and every choice tuned on it,
never saw. Forward model as domain.md §3/§9: exit wave = probe × object patch (integer positions, patch pixel
N/2 on the scan position), far field = |fftshift(fft2(.))|² (unitary FFT), Poisson counts at `dose` photons per pattern on
average, stored as amplitude sqrt(counts)/s. The object (smooth amplitude 0.55–1.0, phase ±1.2 rad, correlation
length ~`--feature` px) and the probe (a focused beam: a defocused circular pupil, so its phase is curved) are
drawn here, differently from `ptycho-study simulate`. Writes Phase C (patched_{train,test}.npz, split by y as the
study does) and Phase D's dense view (the same patterns; the workbench groups them).

  python3 scripts/independent_study.py --out DIR [--n-images 2048] [--dose 1e5] [--seed 1] [--feature 12]
                                       [--pupil-radius 8] [--defocus 2.5]
"""
import argparse
import json
import os

import numpy as np


def smooth_field(rng, size, feature):
    """Gaussian-filtered white noise (correlation length ~feature px), scaled to [0, 1]."""
    noise = rng.standard_normal((size, size))
    f = np.fft.fftfreq(size)
    k2 = f[:, None] ** 2 + f[None, :] ** 2
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) * np.exp(-2 * (np.pi * feature) ** 2 * k2 / 4)))
    return (field - field.min()) / (field.max() - field.min())


def focused_probe(n, pupil_radius, defocus):
    """Object-plane probe of a circular pupil (radius in detector px) with a quadratic (defocus) phase, peak 1."""
    c = n // 2
    y, x = np.mgrid[0:n, 0:n] - c
    rho = np.hypot(x, y) / pupil_radius
    pupil = (rho <= 1.0) * np.exp(1j * defocus * rho ** 2)
    probe = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(pupil)))
    return (probe / np.abs(probe).max()).astype(np.complex64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', required=True)
    ap.add_argument('--n-images', type=int, default=2048)
    ap.add_argument('--dose', type=float, default=1e5)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--feature', type=float, default=12.0)
    ap.add_argument('--n', type=int, default=64)
    ap.add_argument('--pupil-radius', type=float, default=8.0, help='detector pixels (default N/8 at N = 64)')
    ap.add_argument('--defocus', type=float, default=2.5, help='quadratic pupil phase at the pupil edge, in units of π')
    ap.add_argument('--probe-from', help='use the probeGuess of this .npz instead (e.g. a measured probe)')
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    n = a.n
    # Object side: about the same scan density as the study (2,048 positions over ~380² px).
    size = int(round(n + np.sqrt(a.n_images * 70)))
    amp = 0.55 + 0.45 * smooth_field(rng, size, a.feature)
    phase = -1.2 + 2.4 * smooth_field(rng, size, a.feature)
    obj = (amp * np.exp(1j * phase)).astype(np.complex64)
    if a.probe_from:
        probe = np.load(a.probe_from)['probeGuess'].astype(np.complex64)
        if probe.shape != (n, n):
            raise SystemExit(f'{a.probe_from}: probeGuess is {probe.shape}, not {n}×{n}')
    else:
        probe = focused_probe(n, pupil_radius=a.pupil_radius, defocus=a.defocus * np.pi)
    lo, hi = n // 2 + 2, size - n // 2 - 2
    xs = rng.integers(lo, hi, a.n_images).astype(np.float64)
    ys = rng.integers(lo, hi, a.n_images).astype(np.float64)
    intensity = np.empty((a.n_images, n, n), np.float64)
    for k in range(a.n_images):
        x, y = int(xs[k]), int(ys[k])
        patch = obj[y - n // 2:y + n // 2, x - n // 2:x + n // 2]
        intensity[k] = np.abs(np.fft.fftshift(np.fft.fft2(probe * patch, norm="ortho"))) ** 2
    scale = a.dose / intensity.sum(axis=(1, 2)).mean()  # photons per unit intensity
    counts = rng.poisson(intensity * scale)
    diffraction = (np.sqrt(counts) / np.sqrt(scale)).astype(np.float32)
    split = np.median(ys)
    meta = {
        'schema_version': '1.0.0',
        'physics_parameters': {'nphotons': a.dose, 'N': n, 'gridsize': 1},
        'additional_parameters': {'generator': 'scripts/independent_study.py (NumPy, independent of the workbench)', 'seed': a.seed,
                                  'feature_px': a.feature, 'probe': f'probeGuess of {a.probe_from}' if a.probe_from else f'defocused circular pupil, radius {a.pupil_radius} px, defocus {a.defocus}π',
                                  'mean_counts_per_pattern': float(counts.sum(axis=(1, 2)).mean())},
    }
    dose_dir = f'dose_{int(a.dose)}'
    for name, sel in (('train', ys < split), ('test', ys >= split)):
        idx = np.nonzero(sel)[0]
        arrays = dict(
            diffraction=diffraction[idx], objectGuess=obj, probeGuess=probe,
            xcoords=xs[idx], ycoords=ys[idx], xcoords_start=xs[idx], ycoords_start=ys[idx],
            scan_index=np.arange(len(idx), dtype=np.int64),
            _metadata=np.array(json.dumps({**meta, 'split': name})),
        )
        for path in (os.path.join(a.out, 'phase_c', dose_dir, f'patched_{name}.npz'), os.path.join(a.out, 'phase_d', dose_dir, 'dense', f'dense_{name}.npz')):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            np.savez(path, **arrays)
        print(f'{name}: {len(idx)} patterns')
    print(f'object {size}×{size}, mean counts per pattern {counts.sum(axis=(1, 2)).mean():.0f}, '
          f'energy of the far field inside radius N/8: {np.mean([(intensity[k] * (np.hypot(*(np.mgrid[0:n, 0:n] - n // 2)) <= n / 8)).sum() / intensity[k].sum() for k in range(8)]):.3f}')


if __name__ == '__main__':
    main()
