"""Forward and backward time of the fused CPU kernels alone, per element (issue 14: "a CPU backward as
cheap as the forward, within 1.5x per element").

A neuron layer runs ``forward_sequence`` over ``x[T, N]`` (float32) and ``spk.sum()`` is
back-propagated, as in training; only the kernel calls are timed (``spikeforge.ops._native``'s
``*_forward``/``*_backward`` wrappers: the C call and its argument packing, not the op's buffers).
Each case runs in a fresh process, the cases interleaved over ``--rounds``; min and median over the
timed iterations of every round.

    PYTHONPATH=. .venv/bin/python bench/kernel_bench.py --rounds 3

Cases: ``leaky`` (atan, fixed parameters), ``leaky_learn`` (``learn_beta``, ``learn_threshold``: the
backward also sums the parameter gradients), ``leaky_learn_per`` (the same with a per-neuron ``beta``
and ``threshold`` of 1000 features: ``x[T, N / 1000, 1000]``), ``alpha``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = ("leaky", "leaky_learn", "leaky_learn_per", "alpha")


def child(case: str, threads: int, T: int, N: int, iters: int) -> dict:
    import torch

    import spikeforge as snn
    from spikeforge.ops import _native

    if _native.lib is None:
        return dict(case=case, error="compiled kernels not loaded")
    torch.set_num_threads(threads)
    acc: dict[str, list[float]] = {"forward": [], "backward": []}

    def timed(fn, key):  # noqa: ANN001, ANN202
        def wrapper(*a, **k):  # noqa: ANN002, ANN003, ANN202
            t = time.perf_counter()
            fn(*a, **k)
            acc[key].append(time.perf_counter() - t)
        return wrapper

    kind = "alpha" if case == "alpha" else "lif"
    setattr(_native, f"{kind}_forward", timed(getattr(_native, f"{kind}_forward"), "forward"))
    setattr(_native, f"{kind}_backward", timed(getattr(_native, f"{kind}_backward"), "backward"))
    torch.manual_seed(0)
    if case == "alpha":
        neuron = snn.Alpha(alpha=0.9, beta=0.8)
    elif case == "leaky_learn_per":
        neuron = snn.Leaky(beta=torch.full((1000,), 0.9), threshold=torch.ones(1000), learn_beta=True,
                           learn_threshold=True)
    else:
        learn = case == "leaky_learn"
        neuron = snn.Leaky(beta=0.9, learn_beta=learn, learn_threshold=learn)
    shape = (T, N // 1000, 1000) if case == "leaky_learn_per" else (T, N)
    x = (torch.randn(shape) * 0.6 + 0.3).requires_grad_()
    for _ in range(iters):
        spk = neuron.forward_sequence(x)[0]
        spk.sum().backward()
        x.grad = None
        neuron.zero_grad()
    warm = 3
    return dict(case=case, threads=threads, T=T, N=N,
                **{k: [s * 1e3 for s in v[warm:]] for k, v in acc.items()})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--T", type=int, default=25)
    ap.add_argument("--N", type=int, default=128000)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.threads, a.T, a.N, a.iters)))
        return
    runs: dict[str, list[dict]] = {c: [] for c in a.cases}
    for r in range(a.rounds):
        order = a.cases[r % len(a.cases):] + a.cases[:r % len(a.cases)]
        for case in order:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", case, "--threads",
                   str(a.threads), "--T", str(a.T), "--N", str(a.N), "--iters", str(a.iters)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
            runs[case].append(json.loads(out))
    print(f"T={a.T} N={a.N} float32, {a.threads} thread(s), {a.rounds} rounds; ms per call (ns per element)")
    print("| case | forward min; median | backward min; median | backward / forward (min; median) |")
    print("|---|---|---|---|")
    n = a.T * a.N
    for case, rs in runs.items():
        if any("error" in r for r in rs):
            print(f"| {case} | {rs[0].get('error')} | | |")
            continue
        f = [t for r in rs for t in r["forward"]]
        b = [t for r in rs for t in r["backward"]]
        fm, fmed, bm, bmed = min(f), statistics.median(f), min(b), statistics.median(b)
        print(f"| {case} | {fm:.3f}; {fmed:.3f} ({fm * 1e6 / n:.2f} ns) | {bm:.3f}; {bmed:.3f} "
              f"({bm * 1e6 / n:.2f} ns) | {bm / fm:.2f}; {bmed / fmed:.2f} |")


if __name__ == "__main__":
    main()
