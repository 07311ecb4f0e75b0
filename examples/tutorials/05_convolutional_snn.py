"""Tutorial 5: a convolutional spiking network trained with ``spikeforge.backprop.BPTT``.

The layers sit in an ``nn.Sequential``; each neuron keeps its own state (``init_hidden=True``),
so the net takes one time step ``[B, 1, 8, 8]`` per call and ``backprop.BPTT`` runs the epoch:
it resets the states before each batch, feeds the ``num_steps`` steps and back-propagates
through all of them. The last neuron has ``output=True`` so the net returns ``(spk, mem)``.
Run: ``python examples/tutorials/05_convolutional_snn.py [OUT_DIR]`` (``SPIKEFORGE_SMALL=1``: quicker).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeforge as snn
import spikeforge.functional as SF
import spikeforge.spikeplot as splt
from spikeforge import backprop, spikegen, surrogate, utils
from spikeforge.data import digits_arrays


def build_net(beta: float = 0.8) -> nn.Sequential:
    """Conv(1->12, 3x3) -> MaxPool(2) -> Leaky -> Flatten -> Linear(192->10) -> Leaky."""
    grad = surrogate.atan()
    return nn.Sequential(
        nn.Conv2d(1, 12, kernel_size=3, padding=1),
        nn.MaxPool2d(2),
        snn.Leaky(beta=beta, spike_grad=grad, init_hidden=True),
        nn.Flatten(),
        nn.Linear(12 * 4 * 4, 10),
        snn.Leaky(beta=beta, spike_grad=grad, init_hidden=True, output=True),
    )


def spike_batches(
    x: torch.Tensor, y: torch.Tensor, batch_size: int, num_steps: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Shuffled mini-batches, rate coded: ``([T, B, 1, 8, 8], [B])``."""
    order = torch.randperm(len(x))
    for start in range(0, len(x), batch_size):
        idx = order[start:start + batch_size]
        yield spikegen.rate(x[idx], num_steps=num_steps), y[idx]


def run(net: nn.Sequential, spikes: torch.Tensor) -> torch.Tensor:
    """Output spikes ``[T, B, 10]`` of ``net`` on ``spikes`` ``[T, B, ...]`` (states reset first)."""
    utils.reset(net)
    return torch.stack([net(s)[0] for s in spikes])


def main(small: bool = False, out_dir: Path | str = "tutorial_out/05_convolutional_snn") -> dict[str, Any]:
    """Train, evaluate and plot; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    epochs, num_steps = (2, 10) if small else (10, 20)

    x_train, y_train = digits_arrays(train=True)
    x_test, y_test = digits_arrays(train=False)
    x_train, x_test = x_train.reshape(-1, 1, 8, 8), x_test.reshape(-1, 1, 8, 8)   # images [N, 1, 8, 8]

    net = build_net()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    loss_fn = SF.ce_rate_loss()
    losses, accuracies = [], []
    for epoch in range(epochs):
        loss = backprop.BPTT(net, spike_batches(x_train, y_train, 64, num_steps), optimizer, loss_fn)
        with torch.no_grad():
            spk_test = run(net, spikegen.rate(x_test, num_steps=num_steps))
        losses.append(float(loss))
        accuracies.append(float(SF.accuracy_rate(spk_test, y_test)))
        print(f"epoch {epoch + 1}: loss {losses[-1]:.3f}, test accuracy {accuracies[-1]:.3f}")

    fig, axs = plt.subplots(1, 2, figsize=(9, 3))
    axs[0].plot(range(1, epochs + 1), losses, marker="o")
    axs[0].set(xlabel="epoch", ylabel="training loss")
    axs[1].plot(range(1, epochs + 1), accuracies, marker="o")
    axs[1].set(xlabel="epoch", ylabel="test accuracy", ylim=(0, 1))
    fig.tight_layout()
    fig.savefig(out / "conv_training.png", dpi=80)
    plt.close(fig)

    # What the first layer sees: spikes of the 12 feature maps (4x4 after pooling) summed over time.
    with torch.no_grad():
        utils.reset(net)
        sample = spikegen.rate(x_test[:1], num_steps=num_steps)
        maps = sum(net[:3](s) for s in sample)[0]   # [12, 4, 4] spike counts
    fig, axs = plt.subplots(2, 7, figsize=(10, 3))
    axs[0, 0].imshow(x_test[0, 0].numpy(), cmap="gray")
    axs[0, 0].set_title("input")
    for k, ax in enumerate(axs.flat[1:13]):
        ax.imshow(maps[k].numpy(), cmap="viridis")
        ax.set_title(f"map {k}", fontsize=8)
    for ax in axs.flat:
        ax.axis("off")
    fig.savefig(out / "feature_maps.png", dpi=80)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    splt.spike_count(spk_test[:, :1], fig, ax, labels=[str(d) for d in range(10)], num_steps=num_steps,
                     batch=0)
    ax.set_title(f"Output spike counts, test digit '{int(y_test[0])}'")
    fig.savefig(out / "output_counts.png", dpi=80)
    plt.close(fig)
    return {
        "test_accuracy": accuracies[-1],
        "chance": 0.1,
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/05_convolutional_snn")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
