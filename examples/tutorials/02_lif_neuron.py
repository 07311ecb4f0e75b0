"""Tutorial 2: the leaky integrate-and-fire neuron and its membrane.

Drives one ``spikeforge.Leaky`` neuron with a step current, step by step with an explicit state,
and checks the membrane against the neuron's update equation
``U[t] = beta*U[t-1] + X[t] - R*theta`` (``R = 1`` when the previous step spiked). Then compares
the two reset mechanisms and a neuron driven by input spikes.
Run: ``python examples/tutorials/02_lif_neuron.py [OUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch

import spikeforge as snn
import spikeforge.spikeplot as splt


def simulate(neuron: snn.Leaky, cur: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Step ``neuron`` through ``cur[T]`` with an explicit membrane; returns ``(mem[T], spk[T])``."""
    mem = neuron.reset_mem()  # an empty state; the first step builds zeros of the input's shape
    mem_rec, spk_rec = [], []
    for step in range(cur.shape[0]):
        spk, mem = neuron(cur[step], mem)
        mem_rec.append(mem)
        spk_rec.append(spk)
    return torch.stack(mem_rec), torch.stack(spk_rec)


def by_hand(cur: torch.Tensor, beta: float, threshold: float) -> list[float]:
    """The same membrane from the update equation, in plain Python floats."""
    u, out = 0.0, []
    for x in cur.tolist():
        r = 1.0 if u > threshold else 0.0
        u = beta * u + x - r * threshold
        out.append(u)
    return out


def main(small: bool = False, out_dir: Path | str = "tutorial_out/02_lif_neuron") -> dict[str, Any]:
    """Simulate and plot; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    num_steps = 100 if small else 200
    beta, threshold = 0.8, 1.0

    # A step current switched on at t = 10. Below I = (1 - beta) * threshold = 0.2 the membrane
    # settles at I / (1 - beta) and never reaches the threshold; above it the neuron fires regularly.
    weak = torch.cat([torch.zeros(10), torch.full((num_steps - 10,), 0.15)])
    strong = torch.cat([torch.zeros(10), torch.full((num_steps - 10,), 0.3)])
    lif = snn.Leaky(beta=beta, threshold=threshold)
    mem_weak, spk_weak = simulate(lif, weak)
    mem_strong, spk_strong = simulate(lif, strong)

    fig = splt.plot_cur_mem_spk(weak, mem_weak, spk_weak, thr_line=threshold, ylim_max1=0.5,
                                title="Leaky neuron, weak step current (no spike)")
    fig.savefig(out / "lif_subthreshold.png", dpi=80)
    plt.close(fig)
    fig = splt.plot_cur_mem_spk(strong, mem_strong, spk_strong, thr_line=threshold, ylim_max1=0.5,
                                title="Leaky neuron, strong step current")
    fig.savefig(out / "lif_step_current.png", dpi=80)
    plt.close(fig)

    # Reset by subtraction keeps the overshoot above the threshold; reset to zero discards it.
    lif_zero = snn.Leaky(beta=beta, threshold=threshold, reset_mechanism="zero")
    mem_zero, spk_zero = simulate(lif_zero, strong)
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(mem_strong.detach().numpy(), label="reset_mechanism='subtract'")
    ax.plot(mem_zero.detach().numpy(), label="reset_mechanism='zero'")
    ax.axhline(threshold, color="black", linestyle="dashed", alpha=0.3)
    ax.set(xlabel="time step", ylabel="membrane", title="Two reset mechanisms")
    ax.legend()
    fig.savefig(out / "lif_reset_mechanisms.png", dpi=80, bbox_inches="tight")
    plt.close(fig)

    # Input spikes instead of a current: each spike adds its weight (0.5) to the membrane.
    torch.manual_seed(0)
    spk_in = (torch.rand(num_steps) < 0.15).float()
    mem_in, spk_out = simulate(lif, spk_in * 0.5)
    fig = splt.plot_spk_mem_spk(spk_in, mem_in, spk_out, title="Leaky neuron driven by input spikes")
    fig.savefig(out / "lif_spike_input.png", dpi=80)
    plt.close(fig)

    settle = weak[-1].item() / (1 - beta)
    return {
        "max_error_vs_equation": max(
            float((mem_weak - torch.tensor(by_hand(weak, beta, threshold))).abs().max()),
            float((mem_strong - torch.tensor(by_hand(strong, beta, threshold))).abs().max()),
        ),
        "weak_spikes": int(spk_weak.sum()),
        "weak_settles_at": settle,
        "weak_final_mem": float(mem_weak[-1]),
        "strong_spikes": int(spk_strong.sum()),
        "zero_reset_spikes": int(spk_zero.sum()),
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/02_lif_neuron")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
