"""Tutorial 8: exporting a trained network to NIR and importing it back.

NIR (the Neuromorphic Intermediate Representation) is a file format for spiking networks that
simulators and neuromorphic chips read. This tutorial trains a small digits classifier, writes it
with :func:`spikeforge.export_to_nir` and ``nir.write``, reads it back with
:func:`spikeforge.import_from_nir`, and checks that the imported graph gives the same spikes.
The neurons use ``reset_mechanism="zero"`` and ``reset_delay=False``: NIR's LIF resets to zero in
the step it fires, so this configuration round-trips exactly (others export with a warning).
Run: ``python examples/tutorials/08_nir_export.py [OUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import nir
import torch
from torch import nn

import spikeforge as snn
import spikeforge.functional as SF
import spikeforge.spikeplot as splt
from spikeforge import backprop, spikegen, utils
from spikeforge.data import digits_arrays


def build_net() -> nn.Sequential:
    """64 -> 32 -> 10 with NIR-exact neurons, one time step per call."""
    lif = {"beta": 0.9, "reset_mechanism": "zero", "reset_delay": False, "init_hidden": True}
    return nn.Sequential(
        nn.Linear(64, 32), snn.Leaky(**lif), nn.Linear(32, 10), snn.Leaky(**lif, output=True)
    )


def main(small: bool = False, out_dir: Path | str = "tutorial_out/08_nir_export") -> dict[str, Any]:
    """Train, export, import and compare; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    epochs, num_steps = (2, 10) if small else (10, 20)
    x_train, y_train = digits_arrays(train=True)
    x_test, y_test = digits_arrays(train=False)

    net = build_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    for _ in range(epochs):
        batches = [(spikegen.rate(x_train[i:i + 64], num_steps=num_steps), y_train[i:i + 64])
                   for i in range(0, len(x_train), 64)]
        backprop.BPTT(net, batches, optimizer, SF.ce_rate_loss())

    # Export: the model is traced on one time step of sample input [B, 64].
    graph = snn.export_to_nir(net, torch.zeros(1, 64), model_name="digits-mlp")
    path = out / "digits.nir"
    nir.write(path, graph)

    # Import: a runnable module; forward_sequence runs a [T, B, 64] input.
    imported = snn.import_from_nir(path)
    test_spikes = spikegen.rate(x_test, num_steps=num_steps)
    with torch.no_grad():
        utils.reset(net)
        spk_original = torch.stack([net(step)[0] for step in test_spikes])
        imported.reset_state()
        spk_imported = imported.forward_sequence(test_spikes)

    # constrained layout keeps the axis labels inside the saved figure
    fig, axs = plt.subplots(1, 2, figsize=(10, 3), sharey=True, layout="constrained")
    splt.raster(spk_original[:, 0], axs[0], s=15, c="black")
    axs[0].set(title="spikeforge model", xlabel="time step", ylabel="output neuron")
    splt.raster(spk_imported[:, 0], axs[1], s=15, c="tab:blue")
    axs[1].set(title="imported from digits.nir", xlabel="time step", ylabel="")
    fig.savefig(out / "nir_roundtrip.png", dpi=80)
    plt.close(fig)
    return {
        "nodes": sorted(graph.nodes),
        "node_types": {name: type(node).__name__ for name, node in graph.nodes.items()},
        "same_spikes": bool(torch.equal(spk_original, spk_imported)),
        "output_spikes": int(spk_original.sum()),
        "accuracy_original": float(SF.accuracy_rate(spk_original, y_test)),
        "accuracy_imported": float(SF.accuracy_rate(spk_imported, y_test)),
        "chance": 0.1,
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/08_nir_export")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
