"""Every nir 1.0.8 node type imports and runs with the forward-Euler semantics of NIR.md (dt = 1e-4 s).

Expected values are worked by hand from the node equations (NIR.md section 1.1-1.2):
LI ``v += dt/tau*(v_leak - v + r*x)``; CubaLI ``I += dt/tau_syn*(-I + w_in*x)`` then
``v += dt/tau_mem*(v_leak - v + r*I)``; I/IF ``v += r*x`` per step; LIF/IF spike when ``v > v_threshold``
and set ``v = v_reset`` in the same step; Delay shifts by ``round(delay/dt)`` steps.
"""

from __future__ import annotations

import nir
import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

import spikeforge as sf

DT = 1e-4


def _a(*v: float) -> np.ndarray:
    return np.array(v, dtype=np.float64)


def _single(node: nir.NIRNode, shape: list[int]) -> nir.NIRGraph:
    return nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array(shape)}),
            "n": node,
            "output": nir.Output(output_type={"output": np.array(shape)}),
        },
        edges=[("input", "n"), ("n", "output")],
        type_check=False,
    )


def _run(node: nir.NIRNode, xs: list[float]) -> list[float]:
    model = sf.import_from_nir(_single(node, [1]), dt=DT)
    out = model.forward_sequence(torch.tensor(xs, dtype=torch.float32).reshape(len(xs), 1, 1))
    return out.flatten().tolist()


def test_li_leaks_towards_v_leak() -> None:
    # dt/tau = 0.5, r = 2, v_leak = 0.1: 0.5*(0.1 + 2) = 1.05; 1.05 + 0.5*(0.1 - 1.05) = 0.575; ...
    got = _run(nir.LI(tau=_a(2e-4), r=_a(2.0), v_leak=_a(0.1)), [1, 0, 0])
    assert got == pytest.approx([1.05, 0.575, 0.3375], abs=1e-6)


def test_cuba_li_updates_the_current_first() -> None:
    # I0 = 0.5*(2*1) = 1, v0 = 0.25*1 = 0.25; I1 = 1 + 0.5*(-1) = 0.5, v1 = 0.25 + 0.25*(0.5 - 0.25)
    node = nir.CubaLI(tau_syn=_a(2e-4), tau_mem=_a(4e-4), r=_a(1.0), v_leak=_a(0.0), w_in=_a(2.0))
    assert _run(node, [1, 0]) == pytest.approx([0.25, 0.3125], abs=1e-6)


def test_integrator_scale_threshold_and_delay() -> None:
    assert _run(nir.I(r=_a(3.0)), [1, 2]) == pytest.approx([3.0, 9.0])
    assert _run(nir.Scale(scale=_a(2.0)), [0.4, 0.5]) == pytest.approx([0.8, 1.0])
    assert _run(nir.Threshold(threshold=_a(0.5)), [0.4, 0.5, 0.6]) == [0.0, 0.0, 1.0]  # strict >
    assert _run(nir.Delay(delay=_a(2e-4)), [1, 2, 3, 4]) == [0.0, 0.0, 1.0, 2.0]  # 2e-4 s = 2 steps


def test_if_resets_to_v_reset() -> None:
    # v: 0.6, 1.2 -> spike, reset to 0; 0.6
    node = nir.IF(r=_a(1.0), v_threshold=_a(1.0), v_reset=_a(0.0))
    assert _run(node, [0.6, 0.6, 0.6]) == [0.0, 1.0, 0.0]


def test_lif_honours_v_reset() -> None:
    # dt/tau = 0.5: v0 = 0.5*1.2 = 0.6 > 0.5 -> spike, v = v_reset = 0.2; v1 = 0.2 + 0.5*(0.9 - 0.2) = 0.55
    # > 0.5 -> spike. With v_reset ignored (0) v1 would be 0.45: no spike.
    node = nir.LIF(tau=_a(2e-4), r=_a(1.0), v_leak=_a(0.0), v_threshold=_a(0.5), v_reset=_a(0.2))
    assert _run(node, [1.2, 0.9]) == [1.0, 1.0]


def test_conv1d_matches_torch_conv1d() -> None:
    rng = np.random.default_rng(0)
    w, b = rng.normal(size=(3, 2, 3)), rng.normal(size=3)
    node = nir.Conv1d(input_shape=8, weight=w, stride=1, padding=1, dilation=1, groups=1, bias=b)
    graph = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2, 8])}),
            "conv": node,
            "output": nir.Output(output_type={"output": np.array([3, 8])}),
        },
        edges=[("input", "conv"), ("conv", "output")],
        type_check=False,
    )
    x = torch.randn(4, 5, 2, 8)
    got = sf.import_from_nir(graph, dt=DT).forward_sequence(x)
    wt, bt = torch.tensor(w, dtype=torch.float32), torch.tensor(b, dtype=torch.float32)
    want = F.conv1d(x.flatten(0, 1), wt, bt, padding=1).reshape(4, 5, 3, 8)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_nested_graph_equals_the_flat_graph(tmp_path) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 2))
    lif = dict(tau=_a(*[2e-4] * 3), r=_a(*[1.0] * 3), v_leak=_a(*[0.0] * 3), v_threshold=_a(*[0.5] * 3))
    flat = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2])}),
            "fc": nir.Linear(weight=w),
            "lif": nir.LIF(**lif),
            "output": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")],
    )
    inner = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([3])}),
            "lif": nir.LIF(**lif),
            "output": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("input", "lif"), ("lif", "output")],
    )
    nested = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type={"input": np.array([2])}),
            "fc": nir.Linear(weight=w),
            "sub": inner,
            "output": nir.Output(output_type={"output": np.array([3])}),
        },
        edges=[("input", "fc"), ("fc", "sub"), ("sub", "output")],
    )
    x = torch.rand(30, 4, 2) * 2
    want = sf.import_from_nir(flat, dt=DT).forward_sequence(x)
    got = sf.import_from_nir(nested, dt=DT).forward_sequence(x)
    assert want.sum() > 0
    torch.testing.assert_close(got, want)
    nir.write(tmp_path / "nested.nir", nested)
    from_file = sf.import_from_nir(tmp_path / "nested.nir", dt=DT).forward_sequence(x)
    torch.testing.assert_close(from_file, want)
