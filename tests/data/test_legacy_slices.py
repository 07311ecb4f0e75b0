"""snntorch's spikevision event slicing helpers (`spikeforge.data.legacy.slices`, also at
``spikeforge.spikevision.events_timeslices``), checked on small event lists worked out by hand."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spikeforge.data.legacy import slices as S

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from spikeforge.spikevision import events_timeslices


def test_the_snntorch_path_holds_the_same_functions() -> None:
    assert events_timeslices.chunk_evs_pol_dvs is S.chunk_evs_pol_dvs
    assert events_timeslices.get_slice is S.get_slice


def test_expand_targets_repeats_over_time_and_zeroes_the_burn_in() -> None:
    y = np.array([[0, 1], [1, 0]])
    out = S.expand_targets(y, T=3, burnin=1)
    assert out.shape == (3, 2, 2)
    assert (out[0] == 0).all()
    assert (out[1] == y).all() and (out[2] == y).all()
    assert (y == [[0, 1], [1, 0]]).all()  # the input is not modified


def test_one_hot_rows() -> None:
    out = S.one_hot(np.array([2.0, 0.0]), 3)
    assert out.dtype == np.float64
    assert out.tolist() == [[0, 0, 1], [1, 0, 0]]


def test_find_first_is_the_left_insertion_point() -> None:
    assert S.find_first([1, 3, 3, 5], 3) == 1
    assert S.find_first([1, 3, 3, 5], 6) == 4
    assert S.find_first([1, 3, 3, 5], 0) == 0


def test_cast_evs_seconds_to_microseconds() -> None:
    ts, ad = S.cast_evs(np.array([[0.5, 1, 2, 1], [1.25, 3, 4, 0]]))
    assert ts.dtype == np.uint64 and ts.tolist() == [500000, 1250000]
    assert ad.dtype == np.uint64 and ad.tolist() == [[1, 2, 1], [3, 4, 0]]


def test_subsampled_coordinates_are_ints_even_for_float_events() -> None:
    x, y = S.get_subsampled_coordinates(np.array([[0.0, 5.0, 7.0, 1.0]]), ds_h=2, ds_w=3)
    assert x.tolist() == [1] and y.tolist() == [3]
    assert np.issubdtype(x.dtype, np.integer)


TIMES = np.array([10, 20, 30, 40])
ADDRS = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 0], [3, 3, 1]])


def test_get_slice_is_relative_to_the_first_event_in_the_window() -> None:
    t, a = S.get_slice(TIMES, ADDRS, 15, 35)
    assert t.tolist() == [0, 10]
    assert a.tolist() == [[1, 1, 1], [2, 2, 0]]
    t, a = S.get_slice(TIMES, ADDRS, 22, 25)  # an empty window inside the recording
    assert t.size == 0 and a.shape == (0, 3)
    with pytest.raises(IndexError, match="Empty batch found"):
        S.get_slice(TIMES, ADDRS, 50, 60)


def test_get_tmad_slice_rows() -> None:
    assert S.get_tmad_slice(TIMES, ADDRS, 15, 20).tolist() == [[20, 1, 1, 1], [30, 2, 2, 0]]
    assert S.get_tmad_slice(TIMES, ADDRS, 50, 10).shape == (0, 4)


def test_chunk_evs_pol_dvs_windows_counts_and_dropped_tail() -> None:
    # edges t0 + k * 1000 = 100, 1100, 2100: frame 0 is empty (nothing before t0), frame 1 holds
    # t in [100, 1100), frame 2 holds [1100, 2100); t = 2100 and 3200 are after the last edge.
    times = np.array([100, 100, 1100, 1500, 2100, 3200])
    addrs = np.array([[1, 2, 0], [1, 2, 0], [0, 3, 1], [2, 2, 1], [3, 3, 0], [0, 0, 0]])  # x, y, p
    out = S.chunk_evs_pol_dvs(times, addrs, deltat=1000, chunk_size=3, size=[2, 4, 4])
    assert out.shape == (3, 2, 4, 4) and out.dtype == np.int8
    assert out[0].sum() == 0
    assert out[1, 0, 1, 2] == 2 and out[1].sum() == 2
    assert out[2, 1, 0, 3] == 1 and out[2, 1, 2, 2] == 1 and out[2].sum() == 2
    ds = S.chunk_evs_pol_dvs(times, addrs, deltat=1000, chunk_size=3, size=[2, 2, 2], ds_w=2, ds_h=2)
    assert ds[1, 0, 0, 1] == 2 and ds[2, 1, 0, 1] == 1 and ds[2, 1, 1, 1] == 1
    with pytest.raises(IndexError):
        S.chunk_evs_pol_dvs(np.array([]), np.zeros((0, 3)), chunk_size=2)


def test_counts_saturate_at_127_instead_of_wrapping() -> None:
    times = np.array([0] + [5] * 200)
    addrs = np.zeros((201, 3), dtype=int)
    out = S.chunk_evs_pol_dvs(times, addrs, deltat=10, chunk_size=2, size=[1, 1, 1])
    assert out[1, 0, 0, 0] == 127  # 201 events (t0 itself included) in frame 1


def test_get_event_slice_bins_the_window_from_its_first_event() -> None:
    times = np.array([0, 500, 1500, 2600])
    addrs = np.array([[0, 0, 0], [1, 1, 1], [2, 2, 0], [3, 3, 1]])
    # window [400, 2400): events at 500 and 1500; edges 500, 1500 -> frame 1 holds t = 500 only
    out = S.get_event_slice(times, addrs, 400, 2, size=[2, 4, 4], dt=1000)
    assert out.shape == (2, 2, 4, 4)
    assert out[0].sum() == 0 and out[1, 1, 1, 1] == 1 and out[1].sum() == 1
    with pytest.raises(IndexError, match="Empty batch found"):
        S.get_event_slice(times, addrs, 3000, 2, size=[2, 4, 4])


def test_frame_evs_downsamples_each_listed_column() -> None:
    times = np.array([0, 3, 4, 9])
    addrs = np.array([[5], [1], [4], [2]])
    # edges 0, 4, 8: frame 1 holds t in [0, 4) -> addresses 5, 1 -> bins 2, 0
    out = S.frame_evs(times, addrs, deltat=4, duration=3, size=[3], downsample=[2])
    assert out.tolist() == [[0, 0, 0], [1, 0, 1], [0, 0, 1]]


def test_binary_frames_write_signed_polarity_and_the_latest_event_wins() -> None:
    evs = np.array([[0, 1, 2, 1], [1, 1, 2, 0], [2, 3, 0, 1]])  # t, x, y, p
    arr = np.zeros((4, 4), dtype=np.int8)
    assert S.get_binary_frame_np(arr, evs) is None
    assert arr[1, 2] == -1 and arr[3, 0] == 1 and np.count_nonzero(arr) == 2
    ones = np.zeros((4, 4), dtype=np.int8)
    S.get_binary_frame(ones, evs)
    assert ones[1, 2] == 1 and ones[3, 0] == 1 and ones.sum() == 2


def test_chunk_evs_dvs_edges_start_chunk_size_after_the_first_event() -> None:
    # edges range(0 + 3, 3 * 10, 10) = 3, 13, 23: frame 0 holds t < 3, frame 1 holds [3, 13)
    evs = np.array([[0, 0, 0, 1], [5, 1, 1, 0], [12, 2, 2, 1], [25, 3, 3, 1]])
    out = S.chunk_evs_dvs(evs, deltat=10, chunk_size=3, size=[4, 4])
    assert out.shape == (3, 4, 4) and out.dtype == np.int8
    assert out[0, 0, 0] == 1 and np.count_nonzero(out[0]) == 1
    assert out[1, 1, 1] == -1 and out[1, 2, 2] == 1 and np.count_nonzero(out[1]) == 2
    assert np.count_nonzero(out[2]) == 0


def test_time_surface_is_the_difference_of_the_latest_on_and_off_times() -> None:
    evs = np.array([[1e6, 1, 0, 0], [2e6, 1, 0, 1], [3e6, 2, 1, 0], [0.5e6, 2, 1, 0]])  # t, x, y, p
    out = S.get_time_surface(evs, invtau=1e-6, size=(2, 3, 2))
    expected = np.zeros((2, 3))
    expected[0, 1] = np.exp(1.0) - np.exp(2.0)
    expected[1, 2] = np.exp(0.5)  # the latest event of a pixel (in order) wins, as in a loop
    np.testing.assert_allclose(out, expected)
