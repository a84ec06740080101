#!/usr/bin/env python3
"""README item 32's two-specimen training files: a copy of a study whose dense (or sparse) Phase D training file holds
a second specimen's training patterns after its own. NumPy only; the workbench's code is not used.

The second specimen's positions are moved to the right of the first object (its width + 64 px), so no gridsize-2
group mixes the two, and `objectGuess` becomes a canvas holding both (ones between them). The copy's Phase C files
and every other file are the base study's, so its common evaluation is unchanged. With `--resimulate`, the extra
specimen's `objectGuess` is imaged again under the base study's probe, at its positions rounded to pixels, with the
forward model of scripts/independent_study.py (|fftshift(fft2(P·O, ortho))|², Poisson counts at the base data's
photons per unit intensity, stored as sqrt(counts / scale)); without it, the extra file's own patterns are appended
and its probe must be the base study's.

  python3 scripts/append_specimen.py --base STUDY --extra OTHER/phase_d/dose_100000/dense/dense_train.npz \\
                                     --out NEW_STUDY [--dose 100000] [--view dense] [--resimulate] [--seed 7]
"""
import argparse
import json
import os
import shutil

import numpy as np


def load(path):
    with np.load(path) as d:
        return {k: d[k] for k in d.files}


def resimulate(extra, probe, scale, seed):
    """The extra specimen's objectGuess under `probe` at its positions rounded to pixels (independent_study.py's model)."""
    n = probe.shape[0]
    obj = extra['objectGuess']
    xs, ys = np.round(extra['xcoords']), np.round(extra['ycoords'])
    intensity = np.empty((len(xs), n, n))
    for k in range(len(xs)):
        x, y = int(xs[k]), int(ys[k])
        patch = obj[y - n // 2:y + n // 2, x - n // 2:x + n // 2]
        intensity[k] = np.abs(np.fft.fftshift(np.fft.fft2(probe * patch, norm='ortho'))) ** 2
    counts = np.random.default_rng(seed).poisson(intensity * scale)
    return (np.sqrt(counts) / np.sqrt(scale)).astype(np.float32), xs, ys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--base', required=True, help='the study to copy (holding phase_c and phase_d)')
    ap.add_argument('--extra', required=True, help='the .npz whose training patterns (or objectGuess, --resimulate) are appended')
    ap.add_argument('--out', required=True, help='the new study folder')
    ap.add_argument('--dose', type=int, default=100000)
    ap.add_argument('--view', default='dense')
    ap.add_argument('--resimulate', action='store_true', help='image the extra objectGuess under the base probe')
    ap.add_argument('--seed', type=int, default=7, help='Poisson seed of --resimulate')
    a = ap.parse_args()
    if os.path.exists(a.out):
        raise SystemExit(f'{a.out} exists: choose a new folder')
    dose_dir = f'dose_{a.dose}'
    train_rel = os.path.join('phase_d', dose_dir, a.view, f'{a.view}_train.npz')
    base = load(os.path.join(a.base, train_rel))
    extra = load(a.extra)
    probe = base['probeGuess']
    if a.resimulate:
        scale = a.dose / (base['diffraction'].astype(np.float64) ** 2).sum(axis=(1, 2)).mean()  # photons per unit intensity
        diffraction, xs, ys = resimulate(extra, probe.astype(np.complex64), scale, a.seed)
        groups = None
    else:
        if extra['probeGuess'].shape != probe.shape or not np.allclose(extra['probeGuess'], probe):
            raise SystemExit(f'{a.extra}: its probeGuess is not the base study\'s (use --resimulate)')
        diffraction, xs, ys = extra['diffraction'], extra['xcoords'], extra['ycoords']
        groups = extra.get('group_indices')

    os.makedirs(a.out)
    for sub in ('phase_c', 'phase_d'):
        shutil.copytree(os.path.join(a.base, sub), os.path.join(a.out, sub))
    if os.path.exists(os.path.join(a.base, 'study.json')):
        shutil.copy(os.path.join(a.base, 'study.json'), a.out)

    h1, w1 = base['objectGuess'].shape
    h2, w2 = extra['objectGuess'].shape
    off = w1 + 64
    canvas = np.ones((max(h1, h2), off + w2), np.complex64)
    canvas[:h1, :w1] = base['objectGuess']
    canvas[:h2, off:off + w2] = extra['objectGuess']
    n1, n2 = base['diffraction'].shape[0], diffraction.shape[0]
    out = dict(base)
    out['diffraction'] = np.concatenate([base['diffraction'], diffraction.astype(np.float32)])
    out['objectGuess'] = canvas
    for key, v in (('xcoords', xs + off), ('ycoords', ys), ('xcoords_start', xs + off), ('ycoords_start', ys)):
        out[key] = np.concatenate([base[key], np.asarray(v, np.float64)])
    out['scan_index'] = np.arange(n1 + n2, dtype=np.int64)
    if 'group_indices' in base:
        if groups is None:
            del out['group_indices']  # the workbench groups the patterns itself
        else:
            out['group_indices'] = np.concatenate([base['group_indices'], groups + n1])
    meta = json.loads(str(base['_metadata'])) if '_metadata' in base else {}
    meta.setdefault('additional_parameters', {})['second_specimen'] = {
        'source': os.path.abspath(a.extra), 'patterns': int(n2), 'x_offset_px': int(off),
        'resimulated_under_base_probe': bool(a.resimulate), 'generator': 'scripts/append_specimen.py (README item 32)',
    }
    out['_metadata'] = np.array(json.dumps(meta))
    np.savez(os.path.join(a.out, train_rel), **out)
    print(f'{os.path.join(a.out, train_rel)}: {n1} + {n2} patterns, the second specimen at x + {off}')


if __name__ == '__main__':
    main()
