"""A single mapped layer or neuron (not inside a container) exports as ``input -> "0" -> output`` and
round-trips through a .nir file to the same outputs as the module itself."""

from __future__ import annotations

import warnings
from pathlib import Path

import nir
import pytest
import torch
from torch import nn

import spikeforge as snn
from spikeforge import utils
from spikeforge.nir import NIRLossyExportWarning, export_to_nir, import_from_nir

T = 20


def _single(module: nn.Module, x: torch.Tensor, tmp_path: Path) -> tuple[nir.NIRGraph, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("error", NIRLossyExportWarning)
        graph = export_to_nir(module, x[0])
    path = tmp_path / "single.nir"
    nir.write(path, graph)
    return graph, import_from_nir(path).forward_sequence(x)


@pytest.mark.parametrize(
    ("module", "shape", "kind"),
    [
        (nn.Linear(4, 3), (2, 4), nir.Affine),
        (nn.Linear(4, 3, bias=False), (2, 4), nir.Linear),
        (nn.Conv2d(1, 2, 3), (2, 1, 6, 6), nir.Conv2d),
    ],
    ids=["linear", "linear_nobias", "conv2d"],
)
def test_single_layer_roundtrips(
    module: nn.Module, shape: tuple[int, ...], kind: type, tmp_path: Path
) -> None:
    x = torch.rand(T, *shape)
    graph, out = _single(module, x, tmp_path)
    assert set(graph.nodes) == {"input", "0", "output"}
    assert sorted(graph.edges) == [("0", "output"), ("input", "0")]
    assert isinstance(graph.nodes["0"], kind)
    with torch.no_grad():
        ref = torch.stack([module(x[t]) for t in range(T)])
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("init_hidden", [True, False])
def test_single_neuron_roundtrips(init_hidden: bool, tmp_path: Path) -> None:
    """A lone Leaky (zero reset: NIR-exact) gives the same spikes whether it returns spk or (spk, mem)."""
    lif = snn.Leaky(beta=0.8, threshold=0.7, reset_mechanism="zero", init_hidden=init_hidden)
    x = torch.rand(T, 3, 5)
    graph, out = _single(lif, x, tmp_path)
    assert isinstance(graph.nodes["0"], nir.LIF)
    assert sorted(graph.edges) == [("0", "output"), ("input", "0")]
    utils.reset(lif)
    spk_ref, _ = lif.forward_sequence(x)
    assert spk_ref.sum() > 0  # the comparison covers spikes and resets
    torch.testing.assert_close(out, spk_ref, rtol=0, atol=0)


def test_the_model_is_not_modified() -> None:
    lin = nn.Linear(4, 4)
    export_to_nir(lin, torch.zeros(1, 4))
    assert type(lin) is nn.Linear and not list(lin.children())


def test_bad_lossy_lists_the_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"lossy must be 'warn' or 'raise', got 'ignore'"):
        export_to_nir(nn.Linear(4, 4), torch.zeros(1, 4), lossy="ignore")
