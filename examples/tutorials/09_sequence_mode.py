"""Tutorial 9: speeding up with the sequence mode.

Calling a neuron once per time step is how snntorch code runs, and it works unchanged in
spikeforge. When the whole input sequence ``[T, B, ...]`` is known in advance (the layer before
the neuron does not depend on its spikes), ``neuron.forward_sequence(x)`` runs all ``T`` steps in
one call: with a fused kernel (numba on CPU, triton on CUDA) when one fits, else the same step
loop. This tutorial checks that both modes give the same spikes, membranes and gradients, and
times them. Finally a whole feed-forward network runs in sequence mode with ``snn.SequentialSNN``.
Run: ``python examples/tutorials/09_sequence_mode.py [OUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeforge as snn
from spikeforge import utils


def step_by_step(neuron: snn.Leaky, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The snntorch way: a Python loop over time with an explicit membrane."""
    mem = torch.zeros_like(x[0])
    spk_rec, mem_rec = [], []
    for step in range(x.shape[0]):
        spk, mem = neuron(x[step], mem)
        spk_rec.append(spk)
        mem_rec.append(mem)
    return torch.stack(spk_rec), torch.stack(mem_rec)


def sequence(neuron: snn.Leaky, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The sequence mode: one call from the same zero membrane; ``record=True`` returns the membrane
    at every step (else only the final one)."""
    spk, mem = neuron.forward_sequence(x, torch.zeros_like(x[0]), record=True)
    return spk, mem


def timed(fn: Callable[[], Any], repeats: int) -> float:
    """Best wall time of ``repeats`` calls, in milliseconds."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main(small: bool = False, out_dir: Path | str = "tutorial_out/09_sequence_mode") -> dict[str, Any]:
    """Compare the two modes; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    num_steps, batch, width, repeats = (50, 16, 128, 2) if small else (200, 64, 512, 5)
    neuron = snn.Leaky(beta=0.9)
    x = (torch.rand(num_steps, batch, width) * 0.5).requires_grad_()

    # Same spikes and membranes...
    spk_a, mem_a = step_by_step(neuron, x)
    spk_b, mem_b = sequence(neuron, x)
    # ...and the same gradient of a loss through all steps (the surrogate gradient, BPTT).
    grad_a, = torch.autograd.grad(mem_a.pow(2).sum() + spk_a.sum(), x)
    grad_b, = torch.autograd.grad(mem_b.pow(2).sum() + spk_b.sum(), x)

    def train_step(run: Callable[[snn.Leaky, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> None:
        spk, mem = run(neuron, x)
        (mem.pow(2).sum() + spk.sum()).backward()

    ms_loop = timed(lambda: train_step(step_by_step), repeats)
    ms_sequence = timed(lambda: train_step(sequence), repeats)
    print(f"forward + backward, T={num_steps}, B={batch}, N={width}: step loop {ms_loop:.1f} ms, "
          f"forward_sequence {ms_sequence:.1f} ms")

    # A whole network in sequence mode: SequentialSNN applies each nn layer to all T*B samples at
    # once and runs each neuron with forward_sequence. The same layers stepped one time step at a
    # time in an nn.Sequential (neurons with init_hidden=True) give the same output spikes.
    fc1, fc2 = nn.Linear(width, 32), nn.Linear(32, 10)
    seq_net = snn.SequentialSNN(fc1, snn.Leaky(beta=0.9), fc2, snn.Leaky(beta=0.9))
    step_net = nn.Sequential(fc1, snn.Leaky(beta=0.9, init_hidden=True), fc2,
                             snn.Leaky(beta=0.9, init_hidden=True))
    with torch.no_grad():
        out_seq = seq_net(x)                                   # [T, B, 10] in one call
        utils.reset(step_net)
        out_step = torch.stack([step_net(x_t) for x_t in x])   # T calls

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(["step loop", "forward_sequence"], [ms_loop, ms_sequence], color=["tab:gray", "tab:green"])
    ax.set(xlabel=f"milliseconds (forward + backward, best of {repeats})",
           title=f"Leaky, T={num_steps}, B={batch}, N={width}, CPU")
    fig.tight_layout()
    fig.savefig(out / "sequence_speed.png", dpi=80)
    plt.close(fig)
    return {
        "spikes_equal": bool(torch.equal(spk_a, spk_b)),
        "max_mem_difference": float((mem_a - mem_b).abs().max().detach()),
        "max_grad_difference": float((grad_a - grad_b).abs().max()),
        "spike_count": int(spk_a.sum()),
        "network_spikes_equal": bool(torch.equal(out_seq, out_step)),
        "network_spike_count": int(out_seq.sum()),
        "ms_step_loop": ms_loop,
        "ms_forward_sequence": ms_sequence,
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/09_sequence_mode")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
