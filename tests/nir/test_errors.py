"""Negative tests: unknown nodes, mismatched shapes, corrupt files, unsupported modules; lenient reading."""

from __future__ import annotations

from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
import torch
from torch import nn

import spikeforge as snn
from spikeforge.nir import NIRExportError, NIRReadError, NIRReadWarning, export_to_nir, import_from_nir


def test_corrupt_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.nir"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(NIRReadError, match="bad.nir"):
        import_from_nir(bad)
    with pytest.raises(FileNotFoundError):
        import_from_nir(tmp_path / "missing.nir")


def test_unknown_node_type_in_file(tmp_path: Path) -> None:
    path = tmp_path / "u.nir"
    g = nir.NIRGraph.from_list(nir.Input(input_type={"input": [2]}), nir.Linear(weight=np.eye(2)))
    nir.write(path, g)
    with h5py.File(path, "r+") as f:
        del f["node/nodes/linear/type"]
        f["node/nodes/linear/type"] = "Spiky"
    with pytest.raises(NIRReadError, match="'linear'.*Spiky"):
        import_from_nir(path)


def test_mismatched_shapes_name_the_node() -> None:
    # the Input width disagrees with the weights: read with a warning (the weights win), and an input of
    # any other width is refused naming the input node and the width the weights take
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3])}),
            "fc": nir.Affine(np.ones((2, 4)), np.zeros(2)),
            "output": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("input", "fc"), ("fc", "output")],
        type_check=False,
    )
    with pytest.warns(NIRReadWarning, match=r"'input' declares shape \[3\].*'fc'.*takes \[4\]"):
        model = import_from_nir(g)
    for width in (3, 5):
        with pytest.raises(ValueError, match=r"'input' expects \[B, 4\]"):
            model(torch.ones(1, width))


def test_input_feeding_layers_of_different_widths_is_refused() -> None:
    g = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3])}),
            "a": nir.Linear(np.ones((2, 4))),
            "b": nir.Linear(np.ones((2, 5))),
            "output": nir.Output(output_type={"output": np.array([2])}),
        },
        edges=[("input", "a"), ("input", "b"), ("a", "output"), ("b", "output")],
        type_check=False,
    )
    with pytest.raises(NIRReadError, match="'a': \\[4\\], 'b': \\[5\\]"):
        import_from_nir(g)


def test_dangling_edge_and_unsupported_graphs() -> None:
    lin = nir.Linear(weight=np.eye(2))
    g = nir.NIRGraph(nodes={"a": lin}, edges=[("a", "ghost")], type_check=False)
    with pytest.raises(NIRReadError, match="ghost"):
        import_from_nir(g)
    g2 = nir.NIRGraph(
        nodes={
            "i1": nir.Input(input_type={"input": np.array([2])}),
            "i2": nir.Input(input_type={"input": np.array([2])}),
            "a": lin,
        },
        edges=[("i1", "a"), ("i2", "a")],
        type_check=False,
    )
    with pytest.raises(NotImplementedError, match="2 input"):
        import_from_nir(g2)


def test_old_file_zero_d_parameters_and_no_v_reset(tmp_path: Path) -> None:
    """A v0.x-style LIF: 0-d parameters, no v_reset; read leniently and broadcast."""
    path = tmp_path / "old.nir"
    with h5py.File(path, "w") as f:
        f["version"] = "0.1.1"
        n = f.create_group("node")
        n["type"] = "NIRGraph"
        n["edges"] = np.array([[b"input", b"lif"], [b"lif", b"output"]], dtype=object)
        nodes = n.create_group("nodes")
        i = nodes.create_group("input")
        i["type"], i["shape"] = "Input", np.array([3])
        o = nodes.create_group("output")
        o["type"], o["shape"] = "Output", np.array([3])
        lif = nodes.create_group("lif")
        lif["type"] = "LIF"
        for k, v in {"tau": 1e-3, "r": 10.0, "v_leak": 0.0, "v_threshold": 1.0}.items():
            lif[k] = np.float64(v)
    model = import_from_nir(path)
    x = torch.tensor([[1.0, 0.0, 2.0]])
    # beta = 0.9, gain r*dt/tau = 1: step 1 mem = x -> spikes where x > 1
    out, state = model(x)
    assert out.tolist() == [[0.0, 0.0, 1.0]]
    assert state["lif"].mem.tolist() == [[1.0, 0.0, 0.0]]


def test_export_unsupported_module_and_operation() -> None:
    with pytest.raises(NIRExportError, match="MaxPool2d"):
        export_to_nir(nn.Sequential(nn.MaxPool2d(2)), torch.zeros(1, 1, 4, 4))
    with pytest.raises(NIRExportError, match="alpha"):
        export_to_nir(nn.Sequential(nn.Linear(2, 2), snn.Alpha(alpha=0.9, beta=0.8)), torch.zeros(1, 2))

    class Loop(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.stack([self.fc(x[t]) for t in range(x.shape[0])])

    with pytest.raises(NIRExportError, match="trace"):
        export_to_nir(Loop(), torch.zeros(3, 1, 2))
    with pytest.raises(NIRExportError, match="item 1"):

        class Mem(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lif = snn.Leaky(beta=0.5, reset_mechanism="zero")

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return self.lif(x)[1]

        export_to_nir(Mem(), torch.zeros(1, 2))


def test_bad_arguments() -> None:
    net = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="dt"):
        export_to_nir(net, torch.zeros(1, 2), dt=0)
    with pytest.raises(ValueError, match="lossy"):
        export_to_nir(net, torch.zeros(1, 2), lossy="ignore")
    with pytest.raises(ValueError, match="dt"):
        import_from_nir(export_to_nir(net, torch.zeros(1, 2)), dt=-1.0)
