#!/usr/bin/env python3
"""How much of each diffraction pattern's first moment is the object's phase, and how much its amplitude.

A pattern's sin-weighted intensity centroid is the object's phase slope under the probe plus the probe's crosstalk
with the amplitude (README, Reconstruction quality items 17, 21). This diagnostic splits the measured centroids of a
Phase C split that carries its `objectGuess` into the parts the ground truth predicts:

  truth           the true object (its misfit is the Poisson noise floor)
  phase only      the true phase on a flat amplitude (the signal a phase reconstruction reads)
  amplitude only  the true amplitude with no phase (the crosstalk a reconstruction must explain away)

and, with --reconstruction (a job's reconstruction.npz), how well the reconstructed amplitude, alone and with the
true phase, and the reconstructed object explain them. NumPy only; none of the workbench's code (an independent
check of its forward model: the first line prints how well the truth's patterns match the measured ones).

usage: python3 scripts/centroid_budget.py --data patched_test.npz [--reconstruction reconstruction.npz] [--patterns 600]
"""
import argparse

import numpy as np


def bilinear_patch(obj, x, y, n):
    """The n x n patch whose centre is at (x, y), sampled bilinearly (the simulator's extraction)."""
    x0, y0 = x - n / 2, y - n / 2
    ix, iy = int(np.floor(x0)), int(np.floor(y0))
    fx, fy = x0 - ix, y0 - iy
    a = obj[iy:iy + n + 1, ix:ix + n + 1]
    return (1 - fy) * ((1 - fx) * a[:-1, :-1] + fx * a[:-1, 1:]) + fy * ((1 - fx) * a[1:, :-1] + fx * a[1:, 1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', required=True, help='a Phase C split with objectGuess, probeGuess, diffraction, xcoords, ycoords')
    ap.add_argument('--reconstruction', help="a job's reconstruction.npz (object, origin) scored on the same split")
    ap.add_argument('--patterns', type=int, default=600, help='patterns used (the first ones; default 600)')
    a = ap.parse_args()

    d = np.load(a.data)
    obj = d['objectGuess'].astype(np.complex128)
    probe = d['probeGuess'].astype(np.complex128)
    counts_like = d['diffraction'].astype(np.float64) ** 2
    xs, ys = d['xcoords'], d['ycoords']
    n = probe.shape[0]
    k = np.arange(n) - n / 2
    sin_k = np.sin(2 * np.pi * k / n)

    def far_field(o, i):
        return np.abs(np.fft.fftshift(np.fft.fft2(probe * bilinear_patch(o, xs[i], ys[i], n)))) ** 2

    def centroid(intensity):
        t = intensity.sum()
        return np.array([(intensity.sum(0) * sin_k).sum() / t, (intensity.sum(1) * sin_k).sum() / t]) * n / (2 * np.pi)

    def rms(c):
        c = c - c.mean(0)
        return float(np.sqrt((c ** 2).sum(1).mean()))

    amp, phase = np.abs(obj), np.angle(obj)
    objects = {'truth': obj, 'phase only': amp.mean() * np.exp(1j * phase), 'amplitude only': amp + 0j}
    which = range(len(xs))
    if a.reconstruction:
        r = np.load(a.reconstruction)
        x0, y0 = int(r['origin'][0]), int(r['origin'][1])
        rec = r['object'].astype(np.complex128)
        h, w = rec.shape
        inside = [i for i in which if xs[i] - n / 2 - 1 >= x0 and xs[i] + n / 2 + 1 < x0 + w and ys[i] - n / 2 - 1 >= y0 and ys[i] + n / 2 + 1 < y0 + h]
        which = inside
        rec_amp = amp.copy()
        block = (slice(y0, y0 + h), slice(x0, x0 + w))
        rec_amp[block] = np.abs(rec) * amp[block].mean() / np.abs(rec).mean()
        rec_phase = phase.copy()
        rec_phase[block] = np.angle(rec)
        objects.update({
            'reconstructed amplitude only': rec_amp + 0j,
            'reconstructed amplitude, true phase': rec_amp * np.exp(1j * phase),
            'reconstructed object': rec_amp * np.exp(1j * rec_phase),
        })
    which = list(which)[:a.patterns]
    match = np.mean([np.corrcoef(far_field(obj, i).ravel(), counts_like[i].ravel())[0, 1] for i in which[:20]])
    print(f'{len(which)} patterns{" whose window lies inside the reconstruction" if a.reconstruction else ""}; '
          f'the truth\'s patterns match the measured ones at r {match:.4f}')
    measured = np.array([centroid(counts_like[i]) for i in which])
    print(f'{"centroids (detector px, mean removed)":40s} {"rms":>7s} {"misfit":>7s} {"r x":>6s} {"r y":>6s}')
    print(f'{"measured":40s} {rms(measured):7.4f}')
    for name, o in objects.items():
        c = np.array([centroid(far_field(o, i)) for i in which])
        rx = np.corrcoef(c[:, 0], measured[:, 0])[0, 1]
        ry = np.corrcoef(c[:, 1], measured[:, 1])[0, 1]
        print(f'{name:40s} {rms(c):7.4f} {rms(measured - c):7.4f} {rx:6.3f} {ry:6.3f}')


if __name__ == '__main__':
    main()
