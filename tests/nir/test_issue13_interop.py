"""NIR interop fixes: 1-D sample data, functional average pooling, a mis-declared Input width, dt metadata."""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import spikeforge as snn
from spikeforge import utils
from spikeforge.nir import NIRExportError, NIRReadWarning, export_to_nir, import_from_nir


def _leaky(beta: float) -> snn.Leaky:
    return snn.Leaky(beta=beta, reset_mechanism="zero", init_hidden=True)


# ------------------------------------------------------------------ 1-D sample data (no batch dimension)
def test_one_dimensional_sample_is_one_unbatched_sample() -> None:
    net = nn.Sequential(nn.Linear(3, 2), _leaky(0.5))
    g1 = export_to_nir(net, torch.rand(3))
    gb = export_to_nir(net, torch.rand(4, 3))
    assert list(g1.nodes["input"].input_type["input"]) == [3]
    assert list(g1.nodes["output"].output_type["output"]) == [2]
    assert sorted(g1.edges) == sorted(gb.edges)
    for name in ("0", "1"):
        for key, value in gb.nodes[name].to_dict().items():
            if isinstance(value, np.ndarray):
                assert np.array_equal(g1.nodes[name].to_dict()[key], value), (name, key)
    # a lone layer and a lone neuron too
    assert list(export_to_nir(nn.Linear(3, 2), torch.rand(3)).nodes["0"].weight.shape) == [2, 3]
    lif = export_to_nir(snn.Leaky(beta=0.5, reset_mechanism="zero"), torch.rand(5)).nodes["0"]
    # Leaky(beta=0.5) at dt = 1e-4: tau = dt/(1 - beta) = 2e-4 for each of the 5 neurons
    assert np.allclose(lif.tau, np.full(5, 2e-4))


def test_one_dimensional_sample_with_a_state_argument() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)
            self.lif = snn.Leaky(beta=0.5, reset_mechanism="zero")

        def forward(self, x: torch.Tensor, mem: torch.Tensor) -> torch.Tensor:
            spk, _ = self.lif(self.fc(x), mem)
            return spk

    g = export_to_nir(Net(), torch.rand(3), model_fwd_args=(torch.zeros(2),))
    assert list(g.nodes["input"].input_type["input"]) == [3]
    assert set(g.nodes) == {"input", "fc", "lif", "output"}


def test_zero_dimensional_sample_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="0-d"):
        export_to_nir(nn.Linear(1, 1), torch.tensor(1.0))


# ------------------------------------------------------------------ functional average pooling
class _ConvNet(nn.Module):
    def __init__(self, pool: str) -> None:
        super().__init__()
        self.pool = pool
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.lif1 = _leaky(0.8)
        self.mod = nn.AvgPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 5)
        self.lif2 = _leaky(0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lif1(self.conv(x))
        if self.pool == "module":
            x = self.mod(x)
        elif self.pool == "positional":
            x = F.avg_pool2d(x, 2)
        else:  # keywords, stride and padding given
            x = torch.nn.functional.avg_pool2d(x, kernel_size=(2, 2), stride=2, padding=0)
        return self.lif2(self.fc(torch.flatten(x, 1)))


@pytest.mark.parametrize("form", ["positional", "keywords"])
def test_functional_avg_pool2d_is_exported_like_the_module(form: str, tmp_path: Path) -> None:
    torch.manual_seed(1)
    net = _ConvNet(form)
    ref = _ConvNet("module")
    ref.load_state_dict(net.state_dict())
    x = torch.rand(3, 2, 6, 6)
    g = export_to_nir(net, x)
    g_ref = export_to_nir(ref, x)
    pool = g.nodes["avg_pool2d"]
    assert isinstance(pool, nir.AvgPool2d)
    for key in ("kernel_size", "stride", "padding"):
        assert np.array_equal(getattr(pool, key), getattr(g_ref.nodes["mod"], key))
    assert [2, 2] == pool.kernel_size.tolist() == pool.stride.tolist()
    assert ("lif1", "avg_pool2d") in g.edges and ("avg_pool2d", "flatten") in g.edges
    # the file type-checks and runs as the model does
    nir.write(tmp_path / "m.nir", g)
    nir.read(tmp_path / "m.nir", type_check=True)
    model = import_from_nir(tmp_path / "m.nir")
    xs = (torch.rand(40, 3, 2, 6, 6) < 0.4).float() * 2
    out = model.forward_sequence(xs)
    utils.reset(net)
    want = torch.stack([net(xs[t]) for t in range(xs.shape[0])])
    assert want.sum() > 0
    assert torch.equal(out, want)


def test_functional_global_pooling_with_sizes_from_the_input() -> None:
    class Global(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.flatten(F.avg_pool2d(self.conv(x), x.shape[2:]), 1)

    g = export_to_nir(Global(), torch.rand(2, 2, 4, 6))
    pool = g.nodes["avg_pool2d"]
    # the kernel is the sample's [H, W] = [4, 6]; the stride defaults to the kernel
    assert pool.kernel_size.tolist() == [4, 6] and pool.stride.tolist() == [4, 6]
    assert list(g.nodes["output"].output_type["output"]) == [3]


def test_functional_avg_pool2d_that_nir_cannot_express_is_named() -> None:
    class Ceil(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.avg_pool2d(x, 2, ceil_mode=True)

    with pytest.raises(NIRExportError, match="avg_pool2d.*ceil_mode"):
        export_to_nir(Ceil(), torch.rand(1, 1, 5, 5))


# ------------------------------------------------------------ Input width that disagrees with the weights
def _affine_graph(declared: list[int]) -> nir.NIRGraph:
    weight = np.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]], dtype=np.float32)
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array(declared)}),
            "fc": nir.Affine(weight=weight, bias=np.array([0.5, -1.0], dtype=np.float32)),
            "output": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("input", "fc"), ("fc", "output")],
        type_check=False,
    )


@pytest.mark.parametrize("declared", [[1, 3], [5]])
def test_input_width_disagreeing_with_the_weights_reads_with_a_warning(
    declared: list[int], tmp_path: Path
) -> None:
    # [1, 3]: the batch dimension written into Input (snntorch without ignore_dims); [5]: a wrong width
    path = tmp_path / "g.nir"
    nir.write(path, _affine_graph(declared))
    with pytest.raises(ValueError):  # nir's own type check refuses the file
        nir.read(path, type_check=True)
    for graph in (path, _affine_graph(declared)):
        with pytest.warns(NIRReadWarning, match=rf"declares shape \[{', '.join(map(str, declared))}\].*'fc'"):
            model = import_from_nir(graph)
        out, _ = model(torch.tensor([[1.0, 1.0, 1.0], [0.0, 2.0, 0.0]]))
        # W x + b: [1+2+3+0.5, 1-1] and [4+0.5, 2-1]
        assert torch.equal(out, torch.tensor([[6.5, 0.0], [4.5, 1.0]]))


def test_conv_input_disagreeing_with_the_weights_reads_with_a_warning() -> None:
    weight = np.full((2, 1, 1, 1), 3.0, dtype=np.float32)
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3, 4, 4])}),
            "conv": nir.Conv2d(input_shape=(4, 4), weight=weight, stride=1, padding=0, dilation=1,
                               groups=1, bias=np.array([1.0, -1.0], dtype=np.float32)),
            "output": nir.Output(output_type={"output": np.array([2, 4, 4])}),
        },
        edges=[("input", "conv"), ("conv", "output")],
        type_check=False,
    )
    with pytest.warns(NIRReadWarning, match=r"takes \[1, 4, 4\]"):
        model = import_from_nir(g)
    x = torch.rand(2, 1, 4, 4)
    out, _ = model(x)
    # a 1x1 convolution: 3x + 1 and 3x - 1
    assert torch.allclose(out, torch.cat([3 * x + 1, 3 * x - 1], dim=1))


def test_a_matching_input_gives_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = import_from_nir(_affine_graph([3]))
    assert model.input_shape == (3,)


# ------------------------------------------------------------------ dt in the file's metadata
def _leaky_net() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 2), _leaky(0.5))


def test_dt_is_written_to_the_file_and_used_on_import(tmp_path: Path) -> None:
    path = tmp_path / "m.nir"
    nir.write(path, export_to_nir(_leaky_net(), torch.rand(1, 2), dt=1e-3))
    with h5py.File(path, "r") as f:
        assert float(f["node/metadata/dt"][()]) == 1e-3
    # Leaky(beta=0.5) exported at dt = 1e-3: tau = 2e-3; read back at dt = 1e-3: beta = 1 - dt/tau = 0.5
    with warnings.catch_warnings():
        warnings.simplefilter("error", NIRReadWarning)
        model = import_from_nir(path)
        model_mem = import_from_nir(nir.read(path))
    for m in (model, model_mem):
        assert torch.allclose(m.node("1").beta, torch.tensor([0.5, 0.5]))
    # an explicit dt wins, with a warning: beta = 1 - 1e-4/2e-3 = 0.95
    with pytest.warns(NIRReadWarning, match="exported with dt=0.001"):
        other = import_from_nir(path, dt=1e-4)
    assert torch.allclose(other.node("1").beta, torch.tensor([0.95, 0.95]))


def test_a_file_without_dt_uses_the_default(tmp_path: Path) -> None:
    g = nir.NIRGraph.from_list(
        nir.Affine(weight=np.eye(2, dtype=np.float32), bias=np.zeros(2, dtype=np.float32)),
        nir.LIF(tau=np.full(2, 2e-3), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2),
                v_reset=np.zeros(2)),
    )
    path = tmp_path / "plain.nir"
    nir.write(path, g)
    with h5py.File(path, "r") as f:
        assert "metadata" not in f["node"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", NIRReadWarning)
        model = import_from_nir(path)
        slow = import_from_nir(path, dt=1e-3)
    # default dt = 1e-4: beta = 1 - 1e-4/2e-3 = 0.95; dt = 1e-3: 0.5
    assert torch.allclose(model.node("lif").beta, torch.tensor([0.95, 0.95]))
    assert torch.allclose(slow.node("lif").beta, torch.tensor([0.5, 0.5]))


def test_an_unusable_recorded_dt_is_ignored_with_a_warning() -> None:
    g = export_to_nir(_leaky_net(), torch.rand(1, 2), dt=1e-3)
    g.metadata["dt"] = "soon"
    with pytest.warns(NIRReadWarning, match="dt='soon'"):
        model = import_from_nir(g)
    # the default 1e-4 against tau = 2e-3
    assert torch.allclose(model.node("1").beta, torch.tensor([0.95, 0.95]))
