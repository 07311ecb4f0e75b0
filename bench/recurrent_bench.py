#!/usr/bin/env python
"""CPU benchmark of a recurrent spiking network (SHD-sized): ``700 -> RLeaky(256, all-to-all) -> 20``.

One training iteration (forward, cross-entropy on the output spike counts, backward, Adam step) on a
Bernoulli spike input ``[T=100, B=64, 700]`` (rate 0.05, no gradient). The network:
``nn.Linear(700, 256)`` -> ``RLeaky(beta=0.9, linear_features=256)`` -> ``nn.Linear(256, 20)`` ->
``Leaky(beta=0.9)``, ATan surrogate, subtract reset. Variants (``--variant``):

    snntorch         snntorch 1.0.0 modules stepped in a Python loop, layers inside the loop (tutorial style)
    stepped          the same code with ``import spikeforge as snn``
    sequential_loop  ``spikeforge.SequentialSNN`` with the dense-recurrent fused op removed from the
                     runner (the RLeaky then runs the per-step loop: the state before the fused op)
    sequential       ``spikeforge.SequentialSNN`` (RLeaky through ``torch.ops.spikeforge.recurrent_lif``)
    sequential_torchops  the same with the op's element-wise steps in torch operations instead of numba
                     (what the op runs on non-CPU devices; here to compare the two on CPU)
    bound            lower bound: the same layers with stateless spikes (Heaviside forward, ATan backward),
                     each layer once over ``[T*B, ...]``: ``H(fc2(H(rec(H(fc1(x))))))``; the recurrent
                     ``Linear(256, 256)`` runs once over all ``T*B`` rows (the same products as the
                     recurrence, without the time dependence)

Each (round, variant) runs in a fresh process; rounds interleave the variants; each process times
``--iters`` iterations after ``--warmup`` and reports all of them. The summary gives, per variant, the
minimum and the median over every timed iteration of every round, in ms, of wall-clock and of process
CPU time, and the ratio of each minimum to ``bound``'s.

Usage (repo root)::

    .venv/bin/python bench/recurrent_bench.py                      # all variants, 1 thread, 5 rounds
    .venv/bin/python bench/recurrent_bench.py --threads 2 --rounds 3 --batch 256 --hidden 1024
    .venv/bin/python bench/recurrent_bench.py --variant sequential --json   # one process, one variant
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time

VARIANTS = ["snntorch", "stepped", "sequential_loop", "sequential", "sequential_torchops", "bound"]


def _data(a: argparse.Namespace):  # noqa: ANN202
    import torch

    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(a.steps, a.batch, a.inputs, generator=gen) < 0.05).float()
    y = torch.randint(0, a.outputs, (a.batch,), generator=gen)
    return x, y


def _layers(a: argparse.Namespace):  # noqa: ANN202
    import torch
    from torch import nn

    torch.manual_seed(1)
    fc1, rec = nn.Linear(a.inputs, a.hidden), nn.Linear(a.hidden, a.hidden)
    fc2 = nn.Linear(a.hidden, a.outputs)
    with torch.no_grad():
        fc1.weight.mul_(6.0)  # a firing rate of a few percent in the recurrent layer
        rec.weight.mul_(0.5)
        fc2.weight.mul_(4.0)
    return fc1, rec, fc2


class _SpikeATan:
    """Stateless spike for the bound: ``H(u - 1)`` forward, ATan(alpha=2) surrogate backward."""

    @staticmethod
    def build():  # noqa: ANN205
        import torch

        class Spike(torch.autograd.Function):
            @staticmethod
            def forward(ctx, u):  # noqa: ANN001, ANN205
                ctx.save_for_backward(u)
                return (u > 1.0).to(u.dtype)

            @staticmethod
            def backward(ctx, g):  # noqa: ANN001, ANN205
                (u,) = ctx.saved_tensors
                return g / (1 + (math.pi * (u - 1.0)) ** 2)

        return Spike.apply


def _model(variant: str, a: argparse.Namespace):  # noqa: ANN202, C901
    """``forward(x) -> output spikes [T, B, outputs]`` and the module holding the parameters."""
    import torch
    from torch import nn

    fc1, rec, fc2 = _layers(a)
    if variant == "bound":
        spike = _SpikeATan.build()
        net = nn.ModuleList([fc1, rec, fc2])

        def forward_bound(x):  # noqa: ANN001, ANN202
            return spike(fc2(spike(rec(spike(fc1(x))))))

        return forward_bound, net
    if variant in ("snntorch", "stepped"):
        if variant == "snntorch":
            import snntorch as snn
        else:
            import spikeforge as snn
        rlif = snn.RLeaky(beta=0.9, linear_features=a.hidden)
        rlif.recurrent.load_state_dict(rec.state_dict())
        lif = snn.Leaky(beta=0.9)
        net = nn.ModuleList([fc1, rlif, fc2, lif])

        def forward_stepped(x):  # noqa: ANN001, ANN202
            spk1, mem1 = rlif.init_rleaky()
            mem2 = lif.init_leaky()
            out = []
            for x_t in x:
                spk1, mem1 = rlif(fc1(x_t), spk1, mem1)
                spk2, mem2 = lif(fc2(spk1), mem2)
                out.append(spk2)
            return torch.stack(out)

        return forward_stepped, net
    import spikeforge as sf

    if variant == "sequential_loop":
        from spikeforge.core import rleaky_step
        from spikeforge.ops.recurrent import run_rleaky_dense
        from spikeforge.runner import _loop

        kernels = _loop._KERNELS[rleaky_step]
        _loop._KERNELS[rleaky_step] = [fk for fk in kernels if fk[1] is not run_rleaky_dense]
    if variant == "sequential_torchops":
        from spikeforge.ops.recurrent import _loops, _op

        _op._impl = lambda t: _loops
    rlif = sf.RLeaky(beta=0.9, linear_features=a.hidden)
    rlif.recurrent.load_state_dict(rec.state_dict())
    net = sf.SequentialSNN(fc1, rlif, fc2, sf.Leaky(beta=0.9))
    return net, net


def run_one(variant: str, a: argparse.Namespace) -> dict:
    """Time ``a.iters`` training iterations of one variant in this process."""
    import torch

    torch.set_num_threads(a.threads)
    x, y = _data(a)
    forward, net = _model(variant, a)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    times, cpu, rates, reset_threads = [], [], [], 0
    for i in range(a.warmup + a.iters):
        t0, c0 = time.perf_counter(), time.process_time()
        out = forward(x)
        loss = torch.nn.functional.cross_entropy(out.sum(0), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if torch.get_num_threads() != a.threads:
            # the first numba-parallel call (the fused Leaky kernel) resets torch's OpenMP thread count
            # (a known issue of ops/lif at the time of writing); put it back so the variants compare
            reset_threads += 1
            torch.set_num_threads(a.threads)
        if i >= a.warmup:
            times.append(dt * 1e3)
            cpu.append(dc * 1e3)
            rates.append(out.mean().item())
    return {"variant": variant, "ms": times, "cpu_ms": cpu, "out_rate": statistics.mean(rates),
            "threads": a.threads, "threads_reset": reset_threads}


def _summary(results: list[dict]) -> None:
    """Per variant: wall-clock min and median, and process CPU time min and median (1 thread: less
    disturbed by other processes than wall time on a loaded machine), each with the ratio of the min
    to the bound's."""
    cols = ("min ms", "median", "x bound", "cpu min", "median", "x bound")
    print(f"{'variant':<20} " + " ".join(f"{c:>8}" for c in cols))
    rows = {}
    for key in ("ms", "cpu_ms"):
        by: dict[str, list[float]] = {}
        for r in results:
            by.setdefault(r["variant"], []).extend(r[key])
        bound = min(by["bound"]) if "bound" in by else None
        for v, ts in by.items():
            ratio = f"{min(ts) / bound:.2f}" if bound else "-"
            rows.setdefault(v, []).append(f"{min(ts):8.1f} {statistics.median(ts):8.1f} {ratio:>8}")
    for v in VARIANTS:
        if v in rows:
            print(f"{v:<20} {' '.join(rows[v])}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=VARIANTS, action="append")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--iters", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--inputs", type=int, default=700)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--outputs", type=int, default=20)
    p.add_argument("--json", action="store_true", help="run one variant in this process, print JSON")
    a = p.parse_args()
    variants = a.variant or VARIANTS
    if a.json:
        print(json.dumps(run_one(variants[0], a)))
        return
    print(f"load before: {os.getloadavg()}, threads {a.threads}, T={a.steps} B={a.batch} "
          f"{a.inputs}->{a.hidden}->{a.outputs}", flush=True)
    results = []
    passthrough = [f"--{k}={getattr(a, k)}" for k in
                   ("threads", "iters", "warmup", "steps", "batch", "inputs", "hidden", "outputs")]
    for rnd in range(a.rounds):
        for v in variants:
            cmd = [sys.executable, __file__, "--json", f"--variant={v}", *passthrough]
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
            if res.returncode != 0:
                print(f"{v} failed:\n{res.stderr[-2000:]}", flush=True)
                continue
            r = json.loads(res.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"round {rnd} {v:<16} min {min(r['ms']):7.1f} ms  rate {r['out_rate']:.3f}  "
                  f"torch threads reset {r['threads_reset']}x", flush=True)
    print(f"load after: {os.getloadavg()}")
    _summary(results)


if __name__ == "__main__":
    main()
