"""Tutorial 3: a feed-forward spiking network trained with backpropagation through time.

A 64-128-10 network of ``Leaky`` neurons classifies the bundled digits (8x8 images, 10 classes).
Each image is rate coded into ``num_steps`` steps of spikes; the network runs step by step with
explicit states; the loss is snntorch's rate cross-entropy (``SF.ce_rate_loss``) and the gradient
flows back through every step thanks to the surrogate gradient of the spike.
Run: ``python examples/tutorials/03_feedforward_bptt.py [OUT_DIR]`` (``SPIKEFORGE_SMALL=1``: quicker).
"""

from __future__ import annotations

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
from spikeforge import spikegen, surrogate
from spikeforge.data import digits_arrays
from spikeforge.plotting.figures import plot_output_raster, plot_training_curves


class Net(nn.Module):
    """Linear -> Leaky -> Linear -> Leaky, run over a time-major input ``[T, B, 64]``."""

    def __init__(self, hidden: int = 128, beta: float = 0.9) -> None:
        super().__init__()
        grad = surrogate.fast_sigmoid(slope=25)
        self.fc1 = nn.Linear(64, hidden)
        self.lif1 = snn.Leaky(beta=beta, spike_grad=grad)
        self.fc2 = nn.Linear(hidden, 10)
        self.lif2 = snn.Leaky(beta=beta, spike_grad=grad)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns hidden spikes, output spikes and output membranes, each ``[T, B, N]``."""
        # Explicit state: start every sequence from a zero membrane of the batch's size.
        mem1 = torch.zeros(x.shape[1], self.fc1.out_features)
        mem2 = torch.zeros(x.shape[1], self.fc2.out_features)
        spk1_rec, spk2_rec, mem2_rec = [], [], []
        for step in range(x.shape[0]):
            spk1, mem1 = self.lif1(self.fc1(x[step]), mem1)
            spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
            spk1_rec.append(spk1)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk1_rec), torch.stack(spk2_rec), torch.stack(mem2_rec)


def evaluate(net: Net, x: torch.Tensor, y: torch.Tensor, num_steps: int) -> tuple[float, float]:
    """Loss and accuracy (most spikes wins) on rate-coded ``x``."""
    loss_fn = SF.ce_rate_loss()
    with torch.no_grad():
        _, spk, _ = net(spikegen.rate(x, num_steps=num_steps))
    return float(loss_fn(spk, y)), float(SF.accuracy_rate(spk, y))


def main(small: bool = False, out_dir: Path | str = "tutorial_out/03_feedforward_bptt") -> dict[str, Any]:
    """Train, evaluate and plot; returns the tutorial's claims (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    epochs, num_steps, batch_size = (3, 15, 64) if small else (15, 25, 64)

    x_train, y_train = digits_arrays(train=True)   # [1347, 64] in [0, 1], labels 0..9
    x_test, y_test = digits_arrays(train=False)    # [450, 64]
    net = Net()
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    loss_fn = SF.ce_rate_loss()

    history = []
    for epoch in range(epochs):
        order = torch.randperm(len(x_train))
        total, correct = 0.0, 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            spikes = spikegen.rate(x_train[idx], num_steps=num_steps)   # [T, B, 64]
            _, spk_out, _ = net(spikes)
            loss = loss_fn(spk_out, y_train[idx])
            optimizer.zero_grad()
            loss.backward()          # backpropagation through all num_steps steps
            optimizer.step()
            total += loss.item() * len(idx)
            correct += float(SF.accuracy_rate(spk_out, y_train[idx])) * len(idx)
        test_loss, test_acc = evaluate(net, x_test, y_test, num_steps)
        history.append({"epoch": epoch + 1, "train_loss": total / len(order),
                        "train_acc": correct / len(order), "test_loss": test_loss, "test_acc": test_acc})
        print(f"epoch {epoch + 1}: train loss {total / len(order):.3f}, test accuracy {test_acc:.3f}")

    plot_training_curves(history, out / "training_curves.png")
    with torch.no_grad():
        spk_in = spikegen.rate(x_test[:1], num_steps=num_steps)
        spk_hid, spk_out, _ = net(spk_in)
    predicted = int(spk_out[:, 0].sum(0).argmax())
    plot_output_raster(spk_out[:, 0], predicted, int(y_test[0]), out / "output_raster.png")
    fig = splt.plot_snn_spikes(spk_in[:, 0], spk_hid[:, 0], spk_out[:, 0], title="One test digit")
    fig.savefig(out / "network_spikes.png", dpi=80)
    plt.close(fig)
    return {
        "test_accuracy": history[-1]["test_acc"],
        "chance": 0.1,
        "first_loss": history[0]["train_loss"],
        "last_loss": history[-1]["train_loss"],
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/03_feedforward_bptt")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
