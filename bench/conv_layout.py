#!/usr/bin/env python
"""Fold or step, contiguous or channels-last: the CSNN's stateless layers alone (issue 14, item 5).

For each layer of snntorch tutorial 6 at its sizes (T=25, B=64): ``Conv2d(1, 12, 5)`` on 28x28 frames,
``MaxPool2d(2)`` on its output, ``Conv2d(12, 64, 5)`` on 12x12 spike frames (20 % ones) and
``MaxPool2d(2)`` on its output, one forward + backward (input gradient too, except for the first
conv, whose input is data) is timed four ways: folded (one call over the T*B frames) or stepped (T
calls over B frames), in contiguous (NCHW) or channels-last (NHWC) layout (input and weights).
The ways are interleaved over ``--reps`` repetitions; min and median of wall time and of the
process's CPU time (which a loaded machine inflates less; with 2 threads it also counts spinning).

    python bench/conv_layout.py --threads 1 2 --reps 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any


def measure(threads: int, reps: int, T: int, B: int) -> list[dict[str, Any]]:
    import torch
    from torch import nn

    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(T * B, 1, 28, 28, generator=g) * (torch.rand(T * B, 1, 28, 28, generator=g) < 0.2)
    spikes = (torch.rand(T * B, 12, 12, 12, generator=g) < 0.2).float()
    layers = {
        "conv1": (nn.Conv2d(1, 12, 5), frames, False),
        "pool1": (nn.MaxPool2d(2), torch.randn(T * B, 12, 24, 24, generator=g), True),
        "conv2": (nn.Conv2d(12, 64, 5), spikes, True),
        "pool2": (nn.MaxPool2d(2), torch.randn(T * B, 64, 8, 8, generator=g), True),
    }
    ways = [(fold, cl) for fold in (True, False) for cl in (False, True)]
    cases = {}
    for name, (layer, data, need_grad) in layers.items():
        for fold, cl in ways:
            mod = layer
            x = data
            if cl:
                if isinstance(layer, nn.Conv2d):
                    mod = nn.Conv2d(layer.in_channels, layer.out_channels, 5)
                    mod.load_state_dict(layer.state_dict())
                    mod = mod.to(memory_format=torch.channels_last)
                x = torch.empty_like(data, memory_format=torch.channels_last).copy_(data)
            x = x.detach().requires_grad_(need_grad)
            cases[(name, fold, cl)] = (mod, x)

    def run(mod: nn.Module, x: Any, fold: bool) -> None:
        outs = [mod(x)] if fold else [mod(c) for c in x.split(B)]
        torch.autograd.backward(outs, [torch.ones_like(o) for o in outs])

    times: dict[tuple[str, bool, bool], list[tuple[float, float]]] = {k: [] for k in cases}
    for key, (mod, x) in cases.items():  # warm-up
        run(mod, x, key[1])
    for _ in range(reps):
        for key, (mod, x) in cases.items():
            c0, w0 = time.process_time(), time.perf_counter()
            run(mod, x, key[1])
            times[key].append(((time.perf_counter() - w0) * 1e3, (time.process_time() - c0) * 1e3))
    out = []
    for (name, fold, cl), ts in times.items():
        wall, cpu = [t[0] for t in ts], [t[1] for t in ts]
        out.append(dict(layer=name, way=("fold" if fold else "step") + (" CL" if cl else ""), threads=threads,
                        wall_min=min(wall), wall_med=statistics.median(wall), cpu_min=min(cpu),
                        cpu_med=statistics.median(cpu)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--child", type=int, default=0, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(measure(a.child, a.reps, a.steps, a.batch)))
        return
    import os

    print(f"load average {os.getloadavg()}; T={a.steps} B={a.batch}; ms per forward+backward\n")
    print("| threads | layer | way | wall min | wall median | CPU min | CPU median |")
    print("|---|---|---|---|---|---|---|")
    for th in a.threads:
        cmd = [sys.executable, __file__, "--child", str(th), "--reps", str(a.reps), "--steps", str(a.steps),
               "--batch", str(a.batch)]
        rows = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
        for r in rows:
            print(f"| {th} | {r['layer']} | {r['way']} | {r['wall_min']:.1f} | {r['wall_med']:.1f} "
                  f"| {r['cpu_min']:.1f} | {r['cpu_med']:.1f} |")
    print(f"\nload average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
