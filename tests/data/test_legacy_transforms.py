"""snntorch's spikevision transforms (`spikeforge.data.legacy.transforms`, also at
``spikeforge.spikevision._transforms``), checked on small inputs worked out by hand."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from spikeforge.data.legacy import transforms as T

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from spikeforge.spikevision import _transforms


def test_the_snntorch_path_holds_the_same_classes() -> None:
    assert _transforms.ToCountFrame is T.ToCountFrame
    assert _transforms.find_first([0, 2, 4], 3) == 2


# rows (t, p, x, y)
TMAD = np.array([[0, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1], [2, 0, 1, 0], [3, 1, 0, 1]])


def test_to_count_frame_puts_times_i_to_i_plus_1_in_frame_i() -> None:
    out = T.ToCountFrame(T=3, size=[2, 2, 2])(TMAD)
    assert out.shape == (3, 2, 2, 2) and out.dtype == np.int8
    assert out[0, 0, 0, 0] == 2 and out[0].sum() == 2
    assert out[1, 1, 1, 1] == 1 and out[1].sum() == 1
    assert out[2, 0, 1, 0] == 1 and out[2].sum() == 1  # t = 3 is after the last frame
    assert repr(T.ToCountFrame(T=3)) == "ToCountFrame(T=3)"


def test_to_event_sum_counts_the_events_before_t_minus_1() -> None:
    out = T.ToEventSum(T=3, size=[2, 2, 2])(TMAD)  # edges 0, 1, 2: events with t < 2 are counted
    assert out.shape == (1, 2, 2, 2) and out.dtype == np.int64
    assert out[0, 0, 0, 0] == 2 and out[0, 1, 1, 1] == 1 and out.sum() == 3


def test_downsample_divides_every_column() -> None:
    assert T.Downsample(2)(np.array([[5, 1, 7, 8]])).tolist() == [[2, 0, 3, 4]]
    assert T.Downsample([1, 1, 2, 4])(np.array([[5, 1, 7, 8]])).tolist() == [[5, 1, 3, 2]]
    assert repr(T.Downsample(2)) == "Downsample(factor=2)"
    with pytest.raises(TypeError):
        T.Downsample(1.5)


def test_crop_dims_keeps_the_window_and_shifts_it_to_zero() -> None:
    tmad = np.array([[0, 0, 1, 0], [1, 0, 3, 1], [2, 1, 2, 2], [3, 1, 0, 1]])
    out = T.CropDims(low_crop=[1, 0], high_crop=[3, 2], dims=[2, 3])(tmad)
    assert out.tolist() == [[0, 0, 0, 0]]  # x in [1, 3) and y in [0, 2): only the first event
    assert tmad[0, 2] == 1  # input untouched


def test_crop_center_translates_and_drops_outside_without_touching_the_input() -> None:
    tmad = np.array([[0, 0, 3, 3], [1, 0, 6, 6], [2, 0, 7, 5], [3, 0, 2, 5]], dtype=np.int64)
    crop = T.CropCenter(center=[5, 5], size=[2, 4, 4])  # window corner (3, 3), 4 x 4
    out = crop(tmad)
    assert out.tolist() == [[0, 0, 0, 0], [1, 0, 3, 3]]
    assert tmad[1].tolist() == [1, 0, 6, 6]


def test_attention_follows_the_running_median() -> None:
    tmad = np.array([[0, 0, 10, 10], [1, 0, 12, 10], [2, 0, 20, 10]])
    # medians over the last 2 events: (10, 10), (11, 10), (16, 10); window 4 x 4, corner median - 2
    out = T.Attention(2, size=[2, 4, 4])(tmad)
    assert out.tolist() == [[0, 0, 2, 2], [1, 0, 3, 2]]  # the third lands at x = 6 (outside)


def test_to_channel_height_width_pads_1d_addresses() -> None:
    assert T.ToChannelHeightWidth()(np.array([[1, 5]])).tolist() == [[1, 5, 0, 0]]
    four = np.array([[1, 0, 2, 3]])
    assert T.ToChannelHeightWidth()(four) is four
    with pytest.raises(TypeError, match="Found 2"):
        T.ToChannelHeightWidth()(np.zeros((1, 3)))


def test_one_hot_and_dtype() -> None:
    out = T.toOneHot(3)(np.array([[2], [0]]))
    assert out.dtype == torch.float32 and out.tolist() == [[0, 0, 1], [1, 0, 0]]
    assert T.toOneHot(3)(np.array([1])).tolist() == [[0, 1, 0]]
    assert T.toDtype(torch.int64)(np.array([1.7, 2.2])).tolist() == [1, 2]
    src = torch.tensor([1.5])
    copy = T.toDtype(torch.float64)(src)
    assert copy.dtype == torch.float64 and copy.data_ptr() != src.data_ptr()


@pytest.mark.parametrize("as_tensor", [True, False], ids=["tensor", "numpy"])
def test_flips_and_rotations(as_tensor: bool) -> None:
    img = np.array([[0, 1], [2, 3]])
    x = torch.tensor(img) if as_tensor else img

    def rows(a: object) -> list:
        return np.asarray(a).tolist()

    assert rows(T.hflip()(x)) == [[1, 0], [3, 2]]
    assert rows(T.rot90()(x)) == [[1, 3], [0, 2]]  # 90 degrees counter-clockwise
    assert rows(T.dvs_permute()(x)) == [[0, 2], [1, 3]]  # up-down flip, then clockwise: the transpose


def test_repeat_rescale_to_tensor() -> None:
    assert T.Repeat(3)(np.array([1, 0])).tolist() == [[1, 0]] * 3
    assert T.Rescale(2)(np.array([1.5])).tolist() == [3.0]
    frame = np.array([[1, 2]], dtype=np.int8)
    out = T.ToTensor()(frame)
    assert out.dtype == torch.float32 and out.tolist() == [[1.0, 2.0]]
    frame[0, 0] = 9
    assert out[0, 0] == 1  # a copy
    assert repr(T.ToTensor()) == "ToTensor(device:cpu)"


def test_shuffle_along_axis_permutes_each_row_reproducibly() -> None:
    a = np.arange(12).reshape(3, 4)
    np.random.seed(0)
    first = T.shuffle_along_axis(a, axis=1)
    np.random.seed(0)
    assert (T.shuffle_along_axis(a, axis=1) == first).all()
    assert (np.sort(first, axis=1) == a).all()
    assert not (first == a).all()


def test_exp_filter_events_convolves_in_time_with_the_normalised_kernel() -> None:
    w = torch.exp(-torch.arange(3.0)) / torch.exp(-torch.arange(3.0)).sum()
    frames = torch.zeros(4, 2, 1, 1)  # [T, C, H, W], an impulse at t = 0 in channel 0
    frames[0, 0] = 1
    out = T.ExpFilterEvents(length=3, tau=1, channels=2)(frames)
    assert out.shape == (4, 2, 1, 1)
    # padding 1 either side of a reversed kernel: y[0] = w[1], y[1] = w[2], nothing later
    torch.testing.assert_close(out[:, 0, 0, 0], torch.tensor([w[1], w[2], 0.0, 0.0]))
    assert out[:, 1].abs().sum() == 0
    batch = T.ExpFilterEvents(length=3, tau=1, channels=2)(frames.unsqueeze(0))
    torch.testing.assert_close(batch[0], out)
    assert math.isclose(float(w.sum()), 1.0, rel_tol=1e-6)
