"""Tutorial 7: population coding and regression.

*Population coding*: instead of one output neuron per class, each class gets a group of neurons
and the group's total spike count is the class score (``SF.ce_rate_loss(population_code=True,
num_classes=10)``); with few time steps, ten neurons per class can say more than one.
*Regression*: a network whose output neuron does not fire (``reset_mechanism="none"``, a high
threshold) is trained so that its membrane follows a target curve, with a mean squared error.
Both networks run whole sequences with ``forward_sequence`` (input ``[T, B, ...]``).
Run: ``python examples/tutorials/07_population_regression.py [OUT_DIR]``.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch
from torch import nn

import spikeforge as snn
import spikeforge.functional as SF
import spikeforge.spikeplot as splt
from spikeforge import spikegen
from spikeforge.data import digits_arrays

POPULATION = 10   # output neurons per class


class PopulationNet(nn.Module):
    """64 -> 64 Leaky -> 10 x POPULATION Leaky; ``forward`` takes ``[T, B, 64]``, returns output spikes."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 64)
        self.lif1 = snn.Leaky(beta=0.85)
        self.fc2 = nn.Linear(64, 10 * POPULATION)
        self.lif2 = snn.Leaky(beta=0.85)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spk1, _ = self.lif1.forward_sequence(self.fc1(x))   # nn.Linear applies to every step at once
        spk2, _ = self.lif2.forward_sequence(self.fc2(spk1))
        return spk2


class Regressor(nn.Module):
    """Spikes ``[T, B, 8]`` -> 64 Leaky -> one non-firing Leaky whose membrane is the prediction."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(8, 64)
        self.lif1 = snn.Leaky(beta=0.9)
        self.fc2 = nn.Linear(64, 1)
        self.out = snn.Leaky(beta=0.9, threshold=1e6, reset_mechanism="none")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spk1, _ = self.lif1.forward_sequence(self.fc1(x))
        _, mem = self.out.forward_sequence(self.fc2(spk1), record=True)   # record: mem at every step
        return mem[..., 0]   # [T, B]


def population(small: bool, out: Path) -> dict[str, Any]:
    """Classify the digits with 10 neurons per class and only 5 time steps."""
    epochs, num_steps = (3, 5) if small else (15, 5)
    x_train, y_train = digits_arrays(train=True)
    x_test, y_test = digits_arrays(train=False)
    net = PopulationNet()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    loss_fn = SF.ce_rate_loss(population_code=True, num_classes=10)
    for _ in range(epochs):
        order = torch.randperm(len(x_train))
        for start in range(0, len(order), 64):
            idx = order[start:start + 64]
            loss = loss_fn(net(spikegen.rate(x_train[idx], num_steps=num_steps)), y_train[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        spk = net(spikegen.rate(x_test, num_steps=num_steps))
    accuracy = float(SF.accuracy_rate(spk, y_test, population_code=True, num_classes=10))
    fig, ax = plt.subplots(figsize=(8, 4))
    splt.raster(spk[:, 0], ax, s=20, c="black")
    for k in range(1, 10):
        ax.axhline(k * POPULATION - 0.5, color="gray", linewidth=0.5)
    ax.set(title=f"Output population of test digit '{int(y_test[0])}' (10 neurons per class)",
           xlabel="time step", ylabel="output neuron")
    fig.savefig(out / "population_raster.png", dpi=80)
    plt.close(fig)
    return {"population_accuracy": accuracy, "population_chance": 0.1}


def regression(small: bool, out: Path) -> dict[str, Any]:
    """Fit the membrane of a non-firing neuron to one period of a sine."""
    steps, iterations = 60, (150 if small else 600)
    target = torch.sin(torch.linspace(0, 2 * math.pi, steps)).unsqueeze(1)   # [T, 1]
    spikes = spikegen.rate(torch.full((1, 8), 0.3), num_steps=steps)      # fixed input [T, 1, 8]
    net = Regressor()
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(iterations):
        loss = nn.functional.mse_loss(net(spikes), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        prediction = net(spikes)
    fig, axs = plt.subplots(1, 2, figsize=(10, 3))
    axs[0].plot(target[:, 0].numpy(), label="target")
    axs[0].plot(prediction[:, 0].numpy(), label="membrane")
    axs[0].set(xlabel="time step", title="Regression: membrane follows a sine")
    axs[0].legend()
    axs[1].semilogy(losses)
    axs[1].set(xlabel="iteration", ylabel="MSE")
    fig.tight_layout()
    fig.savefig(out / "regression.png", dpi=80)
    plt.close(fig)
    return {"regression_first_mse": losses[0], "regression_final_mse": float(
        nn.functional.mse_loss(prediction, target))}


def main(
    small: bool = False, out_dir: Path | str = "tutorial_out/07_population_regression"
) -> dict[str, Any]:
    """Run both parts; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    claims = {**population(small, out), **regression(small, out)}
    claims["files"] = sorted(p.name for p in out.iterdir())
    return claims


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/07_population_regression")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
