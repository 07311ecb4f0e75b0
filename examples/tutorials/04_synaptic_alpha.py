"""Tutorial 4: second-order neurons, ``Synaptic`` and ``Alpha``.

A ``Synaptic`` neuron filters its input through a decaying synaptic current before the membrane
(``I[t] = alpha*I[t-1] + X[t]``, ``U[t] = beta*U[t-1] + I[t] - R*theta``), so one input spike
raises the membrane over several steps. An ``Alpha`` neuron's membrane is the difference of two
exponentials, ``U = tau_a*(E + N)`` with ``E[t] = alpha*E[t-1] + X[t]`` and ``N[t] = beta*N[t-1] - X[t]``.
Both are checked against these equations here.
Run: ``python examples/tutorials/04_synaptic_alpha.py [OUT_DIR]``.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch

import spikeforge as snn
import spikeforge.spikeplot as splt


def main(small: bool = False, out_dir: Path | str = "tutorial_out/04_synaptic_alpha") -> dict[str, Any]:
    """Simulate and plot both neurons; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    num_steps = 100 if small else 200
    alpha, beta, threshold = 0.8, 0.7, 1.0

    # Synaptic neuron driven by random input spikes of weight 0.4.
    spk_in = (torch.rand(num_steps) < 0.1).float()
    x = 0.4 * spk_in
    syn_neuron = snn.Synaptic(alpha=alpha, beta=beta, threshold=threshold)
    syn = mem = torch.zeros(())
    syn_rec, mem_rec, spk_rec = [], [], []
    for step in range(num_steps):
        spk, syn, mem = syn_neuron(x[step], syn, mem)   # explicit states in, new states out
        syn_rec.append(syn)
        mem_rec.append(mem)
        spk_rec.append(spk)
    syn_rec, mem_rec, spk_rec = torch.stack(syn_rec), torch.stack(mem_rec), torch.stack(spk_rec)
    fig = splt.plot_spk_cur_mem_spk(spk_in, syn_rec, mem_rec, spk_rec, title="Synaptic neuron")
    fig.savefig(out / "synaptic.png", dpi=80)
    plt.close(fig)

    # The same membrane from the equations, in plain Python floats.
    i_h = u_h = 0.0
    errors = []
    for step, xv in enumerate(x.tolist()):
        r = 1.0 if u_h > threshold else 0.0
        i_h = alpha * i_h + xv
        u_h = beta * u_h + i_h - r * threshold
        errors.append(abs(u_h - float(mem_rec[step])))

    # Alpha neuron: the response to one input spike at t = 0 (threshold high enough not to fire).
    # Alpha requires alpha > beta: the excitatory current decays slower than the inhibitory one.
    a_alpha, a_beta = 0.9, 0.8
    alpha_neuron = snn.Alpha(alpha=a_alpha, beta=a_beta, threshold=100.0)
    impulse = torch.zeros(40)
    impulse[0] = 1.0
    spk_a, exc, inh, mem_a = alpha_neuron.forward_sequence(impulse.unsqueeze(1), record=True)
    tau_a = math.log(a_alpha) / (math.log(a_beta) - math.log(a_alpha)) + 1
    expected = [tau_a * (a_alpha ** k - a_beta ** k) for k in range(40)]
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.plot(mem_a[:, 0].detach().numpy(), label="Alpha membrane")
    ax.plot(exc[:, 0].detach().numpy() * tau_a, "--", label="tau_a * E (excitatory)")
    ax.plot(inh[:, 0].detach().numpy() * tau_a, "--", label="tau_a * N (inhibitory)")
    ax.set(xlabel="time step", title="Alpha neuron: response to one input spike at t = 0")
    ax.legend()
    fig.savefig(out / "alpha_kernel.png", dpi=80, bbox_inches="tight")
    plt.close(fig)

    return {
        "synaptic_max_error": max(errors),
        "synaptic_spikes": int(spk_rec.sum()),
        "alpha_max_error": float((mem_a[:, 0] - torch.tensor(expected)).abs().max()),
        "alpha_peak_step": int(mem_a[:, 0].argmax()),
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/04_synaptic_alpha")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
