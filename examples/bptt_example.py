"""Train a small spiking network with backprop.BPTT and SF.ce_rate_loss (included in docs/training.md)."""

import torch
from torch import nn

import spikeforge as snn
import spikeforge.functional as SF
from spikeforge import backprop, spikegen

torch.manual_seed(0)
num_steps, batch, n_in, n_classes = 10, 32, 8, 2

# Two classes of static inputs: class 0 is bright on the first half of the inputs, class 1 on the second.
labels = torch.randint(0, n_classes, (batch,))
images = torch.rand(batch, n_in) * 0.2
images[labels == 0, : n_in // 2] += 0.7
images[labels == 1, n_in // 2 :] += 0.7
spikes = spikegen.rate(images, num_steps=num_steps)  # [T, B, n_in]
loader = [(spikes, labels)]

net = nn.Sequential(
    nn.Linear(n_in, 16),
    snn.Leaky(beta=0.9, init_hidden=True),
    nn.Linear(16, n_classes),
    snn.Leaky(beta=0.9, init_hidden=True, output=True),  # returns (spk, mem) each step
)
optimizer = torch.optim.Adam(net.parameters(), lr=5e-2)
loss_fn = SF.ce_rate_loss()

losses = [backprop.BPTT(net, loader, optimizer, loss_fn).item() for _epoch in range(15)]
print(f"loss: first epoch {losses[0]:.3f}, last epoch {losses[-1]:.3f}")
