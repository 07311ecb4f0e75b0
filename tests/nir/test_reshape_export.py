"""A ``view``/``reshape`` in ``forward`` that flattens adjacent dimensions exports as NIR ``Flatten``
(snntorch's NIR tutorial writes ``x.view(-1, C*H*W)`` after a functional pooling); other reshapes are
refused by name. The exported file runs as the model does."""

from __future__ import annotations

from pathlib import Path

import nir
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import spikeforge as snn
from spikeforge import utils
from spikeforge.nir import NIRExportError, export_to_nir, import_from_nir


class _Net(nn.Module):
    def __init__(self, form: str) -> None:
        super().__init__()
        self.form = form
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.lif1 = snn.Leaky(beta=0.8, init_hidden=True, reset_mechanism="zero")
        self.fc = nn.Linear(4 * 3 * 3, 5)
        self.lif2 = snn.Leaky(beta=0.9, init_hidden=True, reset_mechanism="zero")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.avg_pool2d(self.conv(x), kernel_size=2, stride=2)
        if self.form == "view":
            x = x.view(-1, 4 * 3 * 3)
        elif self.form == "reshape":
            x = x.reshape(x.shape[0], -1)
        else:
            x = torch.reshape(x, (x.shape[0], 4 * 3 * 3))
        return self.lif2(self.fc(self.lif1(x)))


@pytest.mark.parametrize("form", ["view", "reshape", "torch.reshape"])
def test_flattening_reshape_is_a_flatten_node_and_runs_like_the_model(form: str, tmp_path: Path) -> None:
    torch.manual_seed(2)
    net = _Net(form)
    x = torch.rand(3, 1, 6, 6)
    graph = export_to_nir(net, x)
    flat = [n for n in graph.nodes.values() if isinstance(n, nir.Flatten)]
    assert len(flat) == 1
    assert (flat[0].start_dim, flat[0].end_dim) == (0, 2)  # [C, H, W] without the batch
    assert list(flat[0].input_type["input"]) == [4, 3, 3]
    nir.write(tmp_path / "m.nir", graph)
    nir.read(tmp_path / "m.nir", type_check=True)
    model = import_from_nir(tmp_path / "m.nir")
    xs = torch.rand(30, 3, 1, 6, 6) * 4
    utils.reset(net)
    want = torch.stack([net(xs[t]) for t in range(xs.shape[0])])
    assert want.sum() > 0
    assert torch.equal(model.forward_sequence(xs), want)


class _Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape
        self.lif = snn.Leaky(beta=0.5, init_hidden=True, reset_mechanism="zero")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif(x.reshape(*self.shape))


def test_unchanged_shape_passes_through_and_other_reshapes_are_named() -> None:
    graph = export_to_nir(_Reshape((2, 6)), torch.rand(2, 6))
    assert not any(isinstance(n, nir.Flatten) for n in graph.nodes.values())
    assert ("input", "lif") in graph.edges
    with pytest.raises(NIRExportError, match=r"reshape from \(2, 6\) to \(2, 3, 2\) is not a flatten"):
        export_to_nir(_Reshape((2, 3, 2)), torch.rand(2, 6))
    with pytest.raises(NIRExportError, match="flattening the batch"):
        export_to_nir(_Reshape((12,)), torch.rand(2, 6))
