"""spikeplot.raster: one marker per spike, whole time axis, explicit batch/neuron selection."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge import spikeplot as splt


def _points(coll) -> set[tuple[float, float]]:
    return {(float(x), float(y)) for x, y in np.asarray(coll.get_offsets())}


def test_markers_sit_at_each_spike() -> None:
    data = torch.zeros(5, 3)
    data[0, 2] = 1
    data[3, 0] = 1
    data[4, 1] = 1
    fig, ax = plt.subplots()
    coll = splt.raster(data, ax)
    assert _points(coll) == {(0.0, 2.0), (3.0, 0.0), (4.0, 1.0)}
    assert len(coll.get_offsets()) == 3


@settings(max_examples=20, deadline=None)
@given(
    steps=st.integers(1, 30), neurons=st.integers(1, 12), p=st.floats(0.0, 1.0), seed=st.integers(0, 2**16)
)
def test_number_of_points_equals_number_of_spikes(steps: int, neurons: int, p: float, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    data = torch.bernoulli(torch.full((steps, neurons), p), generator=gen)
    fig, ax = plt.subplots()
    coll = splt.raster(data, ax)
    assert len(coll.get_offsets()) == int(data.sum())
    assert ax.get_xlim() == (-0.5, steps - 0.5)
    assert ax.get_ylim() == (-0.5, neurons - 0.5)
    plt.close(fig)


def test_graded_and_negative_spikes_get_one_marker_each() -> None:
    data = torch.tensor([[0.0, 2.0], [-1.0, 0.0], [0.5, 3.0]])
    fig, ax = plt.subplots()
    coll = splt.raster(data, ax)
    assert _points(coll) == {(0.0, 1.0), (1.0, 0.0), (2.0, 0.0), (2.0, 1.0)}


@pytest.mark.parametrize("shape", [(40,), (40, 1), (40, 7)])
def test_silent_recording_still_spans_the_whole_time_axis(shape: tuple[int, ...]) -> None:
    fig, ax = plt.subplots()
    coll = splt.raster(torch.zeros(shape), ax)
    assert len(coll.get_offsets()) == 0
    assert ax.get_xlim() == (-0.5, 39.5)
    n = 1 if len(shape) == 1 else shape[1]
    assert ax.get_ylim() == (-0.5, n - 0.5)


def test_single_spike_of_a_single_neuron_spans_the_recording() -> None:
    data = torch.zeros(100)
    data[17] = 1
    fig, ax = plt.subplots()
    coll = splt.raster(data, ax)
    assert _points(coll) == {(17.0, 0.0)}
    lo, hi = ax.get_xlim()
    assert lo <= 0 and hi >= 99 and hi - lo == 100


def test_one_step_recording() -> None:
    fig, ax = plt.subplots()
    splt.raster(torch.ones(1, 4), ax)
    assert ax.get_xlim() == (-0.5, 0.5)


def test_labels_default_and_user_labels_are_kept() -> None:
    fig, (a, b) = plt.subplots(2)
    splt.raster(torch.ones(3, 2), a)
    assert (a.get_xlabel(), a.get_ylabel()) == ("Time step", "Neuron")
    b.set_ylabel("Output")
    splt.raster(torch.ones(3, 2), b)
    assert b.get_ylabel() == "Output"


def test_default_marker_is_a_black_bar_and_kwargs_override() -> None:
    fig, ax = plt.subplots()
    coll = splt.raster(torch.ones(2, 2), ax)
    assert np.allclose(coll.get_edgecolors()[0], [0, 0, 0, 1])
    vertices = coll.get_paths()[0].vertices
    assert np.allclose(vertices[:, 0], 0) and np.ptp(vertices[:, 1]) > 0  # a vertical bar
    red = splt.raster(torch.ones(2, 2), ax, c="red", s=5)
    assert np.allclose(red.get_facecolors()[0], [1, 0, 0, 1])
    assert red.get_sizes()[0] == 5


def test_tensor_with_grad_bool_and_bfloat16_are_accepted() -> None:
    base = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    fig, ax = plt.subplots()
    variants = (base.clone().requires_grad_(True), base.bool(), base.bfloat16(), base.numpy(), base.tolist())
    for data in variants:
        assert len(splt.raster(data, ax).get_offsets()) == 4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensor_is_accepted() -> None:
    data = torch.eye(4, device="cuda", requires_grad=True)
    fig, ax = plt.subplots()
    assert _points(splt.raster(data, ax)) == {(float(i), float(i)) for i in range(4)}


def test_batch_selects_the_sample() -> None:
    data = torch.zeros(4, 2, 3)
    data[1, 0, 2] = 1
    data[2, 1, 0] = 1
    data[3, 1, 1] = 1
    fig, ax = plt.subplots()
    assert _points(splt.raster(data, ax, batch=1)) == {(2.0, 0.0), (3.0, 1.0)}
    assert _points(splt.raster(data, ax, batch=0)) == {(1.0, 2.0)}


def test_batch_of_one_needs_no_index_and_trailing_dims_flatten() -> None:
    data = torch.zeros(3, 1, 2, 2)
    data[0, 0, 1, 0] = 1  # flat neuron 2
    fig, ax = plt.subplots()
    assert _points(splt.raster(data, ax)) == {(0.0, 2.0)}
    assert ax.get_ylim() == (-0.5, 3.5)


def test_batch_errors() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"pass batch=<index>"):
        splt.raster(torch.zeros(5, 2, 3), ax)
    with pytest.raises(ValueError, match=r"batch=2 is out of range .* allowed 0\.\.1"):
        splt.raster(torch.zeros(5, 2, 3), ax, batch=2)
    with pytest.raises(ValueError, match=r"batch=-1 is out of range"):
        splt.raster(torch.zeros(5, 2, 3), ax, batch=-1)
    with pytest.raises(ValueError, match=r"no batch dimension"):
        splt.raster(torch.zeros(5, 3), ax, batch=0)
    with pytest.raises(TypeError, match=r"batch must be an int"):
        splt.raster(torch.zeros(5, 2, 3), ax, batch=0.5)


def test_neuron_selection_keeps_original_indices() -> None:
    data = torch.zeros(4, 6)
    data[0, 1] = data[1, 4] = data[2, 5] = 1
    fig, ax = plt.subplots()
    coll = splt.raster(data, ax, neurons=[4, 5])
    assert _points(coll) == {(1.0, 4.0), (2.0, 5.0)}
    assert ax.get_ylim() == (3.5, 5.5)


def test_neuron_selection_errors() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match=r"neurons \[6\] are out of range .* allowed 0\.\.5"):
        splt.raster(torch.zeros(4, 6), ax, neurons=[0, 6])
    with pytest.raises(ValueError, match="empty selection"):
        splt.raster(torch.zeros(4, 6), ax, neurons=[])
    with pytest.raises(TypeError, match="int indices"):
        splt.raster(torch.zeros(4, 6), ax, neurons=[0.5])


def test_bad_data_errors() -> None:
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="T >= 1"):
        splt.raster(torch.tensor(1.0), ax)
    with pytest.raises(ValueError, match="T >= 1"):
        splt.raster(torch.zeros(0, 3), ax)
    with pytest.raises(ValueError, match="NaN"):
        splt.raster(torch.tensor([[1.0, float("nan")]]), ax)
    with pytest.raises(TypeError, match="real numbers"):
        splt.raster(np.array([["a", "b"]]), ax)
