#!/usr/bin/env python3
"""The PyTorch yardstick for `npm run bench:train -- --torch`: the same PtychoPINN network, physics and Adam
step as the generated ONNX train graph, run eagerly on the CPU (or `--device cuda`, timed with synchronisation). Not
a dependency of the workbench: it runs only when python3 with torch is installed. Prints one JSON object per
configuration (N:gridsize:batch:filterScale)."""
import argparse
import json
import math
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def ladders(n, fs):
    levels = int(math.log2(n // 8))
    base = (2048 // n) * fs
    enc = [base * 2 ** i for i in range(levels)]
    dec = [32 * fs * 2 ** (levels - 2 - i) for i in range(levels - 1)]
    return enc, dec


class PtychoPINN(nn.Module):
    def __init__(self, n, gs, fs, probe, s, canvas):
        super().__init__()
        c = gs * gs
        enc, dec = ladders(n, fs)
        layers = []
        ci = c
        for f in enc:
            layers += [nn.Conv2d(ci, f, 3, padding=1), nn.ReLU(), nn.Conv2d(f, f, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            ci = f
        self.encoder = nn.Sequential(*layers)

        def decoder():
            d = []
            cc = ci
            for f in dec:
                d += [nn.Conv2d(cc, f, 3, padding=1), nn.ReLU(), nn.Conv2d(f, f, 3, padding=1), nn.ReLU(), nn.Upsample(scale_factor=2, mode='nearest')]
                cc = f
            return nn.Sequential(*d), nn.Conv2d(cc, c, 3, padding=1)

        self.amp, self.amp_head = decoder()
        self.phase, self.phase_head = decoder()
        self.log_scale = nn.Parameter(torch.tensor([math.log(s)]))
        self.register_buffer('probe', probe)
        self.s = s
        self.n = n
        self.gs = gs
        self.canvas = canvas
        p = canvas
        grid = torch.arange(p).view(p, 1) - torch.arange(n).view(1, n) - (p - n) / 2
        self.register_buffer('grid', grid.float())
        mask = torch.zeros(n, n)
        mask[n // 4:3 * n // 4, n // 4:3 * n // 4] = 1
        self.register_buffer('mask', mask)

    def forward(self, x, offsets):
        n = self.n
        q = n // 4
        h = self.encoder(x * (self.s * torch.exp(-self.log_scale)))
        amp = F.pad(torch.sigmoid(self.amp_head(self.amp(h))), (q, q, q, q))
        phase = F.pad(math.pi * torch.tanh(self.phase_head(self.phase(h))), (q, q, q, q))
        obj = torch.polar(amp, phase)
        if self.gs > 1:
            sx = F.relu(1 - (self.grid - offsets[..., 0, None, None]).abs())
            sy = F.relu(1 - (self.grid - offsets[..., 1, None, None]).abs())
            sxt = sx.transpose(-1, -2)
            place = lambda v: (sy.to(v.dtype) @ v @ sxt.to(v.dtype)).sum(1, keepdim=True)
            inv = 1 / (place(self.mask.expand_as(amp)) + 1e-3)
            canvas = place(obj) * inv
            obj = sy.transpose(-1, -2).to(canvas.dtype) @ canvas @ sx.to(canvas.dtype)
        psi = self.probe * obj
        intensity = torch.fft.fftshift(torch.fft.fft2(psi), dim=(-2, -1)).abs() ** 2 / (n * n)
        lam = intensity * torch.exp(2 * self.log_scale)
        k = (self.s * x) ** 2
        return (lam - k * torch.log(lam + 1e-8)).mean()


def bench(n, gs, batch, fs, steps, threads, device='cpu'):
    torch.manual_seed(0)
    c = gs * gs
    probe = torch.polar(torch.ones(n, n), torch.zeros(n, n))
    model = PtychoPINN(n, gs, fs, probe, math.sqrt(1e4) / (n / 2), n // 2 + 2 * 8 + 2)
    model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    x = (torch.rand(batch, c, n, n) * 0.6).to(device)
    offsets = ((torch.rand(batch, c, 2) - 0.5) * 12).to(device)
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    times = []
    for i in range(steps + 2):
        t = time.perf_counter()
        opt.zero_grad()
        loss = model(x, offsets)
        loss.backward()
        opt.step()
        sync()
        dt = (time.perf_counter() - t) * 1000
        if i >= 2:
            times.append(dt)
    med = statistics.median(times)
    return {
        'config': {'N': n, 'gridsize': gs, 'batchSize': batch, 'filterScale': fs},
        'parameters': sum(p.numel() for p in model.parameters()),
        'stepMsMedian': med, 'stepMsMin': min(times), 'imagesPerSec': batch / (med / 1000),
        'torch': torch.__version__, 'threads': threads, 'device': device,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('configs', nargs='+')
    ap.add_argument('--steps', type=int, default=12)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--device', default='cpu')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    for spec in a.configs:
        n, gs, b, fs = (int(v) for v in spec.split(':'))
        print(json.dumps(bench(n, gs, b, fs, a.steps, a.threads, a.device)), flush=True)


if __name__ == '__main__':
    main()
