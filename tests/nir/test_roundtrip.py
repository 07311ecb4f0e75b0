"""spikeforge -> .nir file -> spikeforge gives identical spikes over hundreds of steps."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import nir
import numpy as np
import pytest
import torch
from torch import nn

import spikeforge as snn
from spikeforge import utils
from spikeforge.nir import NIRExportError, NIRLossyExportWarning, export_to_nir, import_from_nir

T = 300


def _roundtrip(
    net: nn.Module, x: torch.Tensor, tmp_path: Path
) -> tuple[torch.Tensor, torch.Tensor, nir.NIRGraph]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NIRLossyExportWarning)
        graph = export_to_nir(net, x[0])
    path = tmp_path / "model.nir"
    nir.write(path, graph)
    nir.read(path, type_check=True)  # the file passes nir's own type check
    model = import_from_nir(path)
    out = model.forward_sequence(x)
    utils.reset(net)
    ref = torch.stack([net(x[t]) for t in range(x.shape[0])])
    return out, ref, graph


def _spikes(*shape: int) -> torch.Tensor:
    return (torch.rand(T, *shape) < 0.3).float() * 1.5


NEURONS: dict[str, Callable[[int], nn.Module]] = {
    "leaky_zero_delay": lambda n: snn.Leaky(beta=0.9, reset_mechanism="zero", init_hidden=True),
    "leaky_zero_nodelay": lambda n: snn.Leaky(
        beta=torch.rand(n) * 0.9,
        threshold=torch.rand(n) + 0.5,
        reset_mechanism="zero",
        reset_delay=False,
        init_hidden=True,
    ),
    "leaky_if": lambda n: snn.Leaky(beta=1.0, threshold=2.0, reset_mechanism="zero", init_hidden=True),
    "synaptic": lambda n: snn.Synaptic(
        alpha=0.8, beta=torch.rand(n) * 0.9, reset_mechanism="zero", reset_delay=False, init_hidden=True
    ),
    "rleaky_dense": lambda n: snn.RLeaky(
        beta=0.85, linear_features=n, reset_mechanism="zero", reset_delay=False, init_hidden=True
    ),
    "rleaky_one_to_one": lambda n: snn.RLeaky(
        beta=0.85,
        all_to_all=False,
        V=torch.randn(n),
        reset_mechanism="zero",
        reset_delay=False,
        init_hidden=True,
    ),
    "rsynaptic_dense": lambda n: snn.RSynaptic(
        alpha=0.7, beta=0.9, linear_features=n, reset_mechanism="zero", reset_delay=False, init_hidden=True
    ),
}


@pytest.mark.parametrize("kind", list(NEURONS))
def test_dense_roundtrip_identical_spikes(kind: str, tmp_path: Path) -> None:
    net = nn.Sequential(
        nn.Linear(6, 12),
        NEURONS[kind](12),
        nn.Linear(12, 5),
        snn.Leaky(beta=0.8, threshold=0.3, reset_mechanism="zero", init_hidden=True),
    )
    x = _spikes(4, 6) * 2
    out, ref, graph = _roundtrip(net, x, tmp_path)
    assert ref.sum() > 20, "the test network must spike"
    assert torch.equal(out, ref)
    if kind.startswith("r"):
        assert {("1.lif", "1.w_rec"), ("1.w_rec", "1.lif"), ("0", "1.lif")} <= set(graph.edges)
        w = graph.nodes["1.w_rec"].weight
        assert not np.allclose(w, np.eye(12)), "the recurrent matrix must not be the identity"


def test_conv_network_batch_roundtrip(tmp_path: Path) -> None:
    net = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1),
        snn.Leaky(beta=0.8, threshold=0.5, reset_mechanism="zero", init_hidden=True),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 4, 3, stride=1),
        nn.LPPool2d(1, 2),
        nn.Identity(),
        nn.Flatten(),
        nn.Linear(4, 5),
        snn.Synaptic(alpha=0.5, beta=0.7, reset_mechanism="zero", reset_delay=False, init_hidden=True),
    )
    x = (torch.rand(200, 3, 2, 10, 10) < 0.3).float()
    out, ref, graph = _roundtrip(net, x, tmp_path)
    assert ref.sum() > 10
    assert torch.equal(out, ref)
    assert tuple(graph.nodes["0"].input_shape) == (10, 10)
    assert type(graph.nodes["4"]).__name__ == "SumPool2d" and "5" not in graph.nodes


class _Custom(nn.Module):
    """A custom module with tuple-returning neurons and a residual sum."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(4, 8)
        self.lif1 = snn.Leaky(beta=0.9, reset_mechanism="zero")
        self.fc3 = nn.Linear(8, 3)
        self.lif2 = snn.Leaky(beta=0.7, reset_mechanism="zero")
        self.mem1 = self.mem2 = None

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        spk1, self.mem1 = self.lif1(self.fc1(x) + self.fc2(x), self.mem1)
        spk2, self.mem2 = self.lif2(self.fc3(spk1), self.mem2)
        return spk2, self.mem2


def test_custom_module_with_sum(tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = _Custom()
    graph = export_to_nir(net, torch.zeros(2, 4))
    assert {("input", "fc1"), ("input", "fc2"), ("fc1", "lif1"), ("fc2", "lif1")} <= set(graph.edges)
    x = _spikes(2, 4)
    model = import_from_nir(graph)
    out = model.forward_sequence(x)
    net.mem1 = net.mem2 = None
    ref = torch.stack([net(x[t])[0] for t in range(T)])
    assert ref.sum() > 5 and torch.equal(out, ref)


def test_leaky_encoding_values() -> None:
    """LIF: tau = dt/(1-beta), r = 1, v_threshold = thr*(1-beta); scalars broadcast; metadata dt."""
    net = nn.Sequential(nn.Linear(3, 4), snn.Leaky(beta=0.75, threshold=2.0, reset_mechanism="zero"))
    g = export_to_nir(net, torch.zeros(1, 3), dt=1e-3)
    lif = g.nodes["1"]
    np.testing.assert_allclose(lif.tau, np.full(4, 1e-3 / 0.25))
    np.testing.assert_allclose(lif.r, np.ones(4))
    np.testing.assert_allclose(lif.v_threshold, np.full(4, 0.5))
    np.testing.assert_allclose(lif.v_reset, np.zeros(4))
    assert g.metadata["dt"] == 1e-3 and "lossy" not in g.metadata


@pytest.mark.parametrize(
    ("neuron", "text"),
    [
        (lambda: snn.Leaky(beta=0.9), "subtract"),
        (lambda: snn.Leaky(beta=0.9, reset_mechanism="none"), "none"),
        (lambda: snn.Synaptic(alpha=0.5, beta=0.9, reset_mechanism="zero"), "reset_delay"),
        # U[t+1] = (1 - [U[t] > theta]) * V[t+1]: the input of the step after a spike is lost, while NIR's
        # LIF resets at once and integrates it
        (lambda: snn.Lapicque(beta=0.9, reset_mechanism="zero"), "Lapicque's reset 'zero' applies at the"),
        (lambda: snn.Leaky(beta=0.9, reset_mechanism="zero", graded_spikes_factor=2.0), "graded"),
    ],
)
def test_lossy_features_warn_or_raise(neuron: Callable[[], nn.Module], text: str) -> None:
    net = nn.Sequential(nn.Linear(3, 4), neuron())
    with pytest.warns(NIRLossyExportWarning, match=text):
        g = export_to_nir(net, torch.zeros(1, 3))
    assert text in g.metadata["lossy"]
    with pytest.raises(NIRExportError, match=text):
        export_to_nir(net, torch.zeros(1, 3), lossy="raise")


def test_float64_model_roundtrip(tmp_path: Path) -> None:
    net = nn.Sequential(
        nn.Linear(5, 9), snn.Leaky(beta=torch.rand(9), reset_mechanism="zero", init_hidden=True)
    )
    net = net.double()
    x = _spikes(3, 5).double()
    graph = export_to_nir(net, x[0])
    nir.write(tmp_path / "m.nir", graph)
    model = import_from_nir(tmp_path / "m.nir", dtype=torch.float64)
    utils.reset(net)
    ref = torch.stack([net(x[t]) for t in range(T)])
    out = model.forward_sequence(x)
    assert out.dtype == torch.float64 and torch.equal(out, ref)


def test_sequential_snn_container_exports_its_chain(tmp_path: Path) -> None:
    network = pytest.importorskip("spikeforge.network")
    net = network.SequentialSNN(
        nn.Linear(3, 6),
        snn.Leaky(beta=0.9, reset_mechanism="zero"),
        nn.Linear(6, 2),
        snn.Leaky(beta=0.8, threshold=0.3, reset_mechanism="zero"),
    )
    graph = export_to_nir(net, torch.zeros(2, 3))
    assert graph.edges == [("input", "0"), ("0", "1"), ("1", "2"), ("2", "3"), ("3", "output")]
    x = _spikes(2, 3) * 2
    ref = net(x)
    ref = ref[0] if isinstance(ref, tuple) else ref
    nir.write(tmp_path / "s.nir", graph)
    out = import_from_nir(tmp_path / "s.nir").forward_sequence(x)
    assert ref.sum() > 5 and torch.equal(out, ref)
