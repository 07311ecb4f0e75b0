"""Event slicing and binning with snntorch's ``spikevision.events_timeslices`` conventions.

Events come either as one ``[N, 4]`` array ``evs`` with columns ``(t, x, y, p)``, or as ``times [N]``
(sorted, microseconds) with ``addrs [N, k]`` (``(x, y, p)`` for the polarity helpers). Frames are cut
at edges ``t0 + k * deltat`` from the first event's time ``t0``; as in snntorch, frame ``k`` counts the
events between edge ``k - 1`` and edge ``k`` (so frame 0 is empty and the events after the last edge
are dropped). Counts are ``int8``: saturated at 127 (snntorch's wrap around past 127).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "cast_evs", "chunk_evs_dvs", "chunk_evs_pol_dvs", "expand_targets", "find_first", "frame_evs",
    "get_binary_frame", "get_binary_frame_np", "get_event_slice", "get_slice",
    "get_subsampled_coordinates", "get_time_surface", "get_tmad_slice", "one_hot",
]


def expand_targets(targets: np.ndarray, T: int = 500, burnin: int = 0) -> np.ndarray:
    """Repeat ``targets`` over ``T`` leading steps (``np.tile(targets, [T, 1, 1])``), zero for the first
    ``burnin`` steps. ``[B, C]`` targets give ``[T, B, C]``; ``[C]`` gives ``[T, 1, C]``."""
    out = np.tile(np.array(targets, copy=True), [T, 1, 1])
    out[:burnin] = 0
    return out


def one_hot(mbt: np.ndarray, num_classes: int) -> np.ndarray:
    """``float64`` one-hot rows ``[N, num_classes]`` of the labels ``mbt [N]`` (cast to int)."""
    labels = np.asarray(mbt).astype(int)
    out = np.zeros((labels.shape[0], num_classes))
    out[np.arange(labels.shape[0]), labels] = 1
    return out


def find_first(a: Sequence[Any], tgt: Any) -> int:
    """Index of the first element of the sorted ``a`` that is ``>= tgt`` (``len(a)`` if none)."""
    return bisect.bisect_left(a, tgt)


def cast_evs(evs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split ``[N, 1 + k]`` events with times in seconds into ``uint64`` microseconds ``[N]`` and
    ``uint64`` addresses ``[N, k]``."""
    evs = np.asarray(evs)
    return (evs[:, 0] * 1e6).astype(np.uint64), evs[:, 1:].astype(np.uint64)


def get_subsampled_coordinates(evs: np.ndarray, ds_h: int, ds_w: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer pixel coordinates ``(x // ds_w, y // ds_h)`` of ``(t, x, y, p)`` events."""
    evs = np.asarray(evs)
    return (evs[:, 1] // ds_w).astype(int), (evs[:, 2] // ds_h).astype(int)


def _assign_last(arr: np.ndarray, index: tuple[np.ndarray, ...], values: Any) -> None:
    """``arr[index] = values`` where the last of repeated indices wins (numpy leaves that open)."""
    values = np.broadcast_to(np.asarray(values), index[0].shape)
    flat = np.ravel_multi_index(index, arr.shape)
    last = len(flat) - 1 - np.unique(flat[::-1], return_index=True)[1]
    arr[tuple(i[last] for i in index)] = values[last]


def get_binary_frame_np(arr: np.ndarray, evs: np.ndarray, ds_w: int = 1, ds_h: int = 1) -> None:
    """Write ``2p - 1`` (+1 ON, -1 OFF) at each event's pixel of the ``[W, H]`` frame ``arr``, in place
    (the latest event of a pixel wins)."""
    x, y = get_subsampled_coordinates(evs, ds_h, ds_w)
    _assign_last(arr, (x, y), 2 * np.asarray(evs)[:, 3] - 1)


def get_binary_frame(arr: np.ndarray, evs: np.ndarray, ds_w: int = 1, ds_h: int = 1) -> None:
    """Write 1 at each event's pixel of the ``[W, H]`` frame ``arr``, in place."""
    x, y = get_subsampled_coordinates(evs, ds_h, ds_w)
    arr[x, y] = 1


def get_slice(
    times: np.ndarray, addrs: np.ndarray, start_time: Any, end_time: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The events with ``start_time <= t < end_time``: times relative to the first of them, addresses.

    Raises:
        IndexError: "Empty batch found" when no event is at or after ``start_time``.
    """
    begin = find_first(times, start_time)
    end = bisect.bisect_left(times, end_time, lo=begin)
    if begin >= len(times):
        raise IndexError("Empty batch found")
    return times[begin:end] - times[begin], addrs[begin:end]


def get_tmad_slice(times: np.ndarray, addrs: np.ndarray, start_time: Any, T: Any) -> np.ndarray:
    """The events with ``start_time <= t < start_time + T`` as rows ``[t, *addr]``."""
    begin = find_first(times, start_time)
    end = bisect.bisect_left(times, start_time + T, lo=begin)
    return np.column_stack([times[begin:end], addrs[begin:end]])


def get_event_slice(
    times: np.ndarray, addrs: np.ndarray, start_time: Any, T: int,
    size: Sequence[int] = (128, 128), ds: int = 1, dt: int = 1000,
) -> np.ndarray:
    """`chunk_evs_pol_dvs` of the events in ``[start_time, start_time + T * dt)``: ``[T, *size]`` counts.

    Raises:
        IndexError: "Empty batch found" when that window holds no event.
    """
    begin = find_first(times, start_time)
    end = bisect.bisect_left(times, start_time + T * dt, lo=begin)
    if end <= begin:
        raise IndexError("Empty batch found")
    return chunk_evs_pol_dvs(times[begin:end], addrs[begin:end], deltat=dt, chunk_size=T, size=list(size),
                             ds_w=ds, ds_h=ds)


def get_time_surface(
    evs: np.ndarray, invtau: float = 1e-6, size: Sequence[int] = (346, 260, 2)
) -> np.ndarray:
    """Time surface of ``(t, x, y, p)`` events: ``exp(invtau * t_on) - exp(invtau * t_off)`` per pixel
    ``[y, x]``, with the latest ON (``p = 0`` plane) and OFF (``p = 1``) time of each pixel (``-inf``,
    i.e. 0, where none)."""
    evs = np.asarray(evs)
    last = np.full(tuple(size), -np.inf)
    if len(evs):
        idx = tuple(evs[:, c].astype(int) for c in (2, 1, 3))
        _assign_last(last, idx, evs[:, 0].astype(float))
    return np.exp(last[:, :, 0] * invtau) - np.exp(last[:, :, 1] * invtau)


def _edges(start: Any, stop: Any, step: Any) -> list[Any]:
    """``range(start, stop, step)``, also for float times."""
    if step <= 0:
        raise ValueError(f"the time step must be positive, got {step}")
    if all(isinstance(v, (int, np.integer)) for v in (start, stop, step)):
        return list(range(int(start), int(stop), int(step)))
    return np.arange(start, stop, step).tolist()


def _window_ends(times: np.ndarray, edges: Sequence[Any]) -> np.ndarray:
    """For each edge, the end of its window: the first index ``>= edge``, searched on from the end of
    the previous window."""
    ends, idx = [], 0
    for edge in edges:
        idx = bisect.bisect_left(times, edge, lo=idx)
        ends.append(idx)
    return np.asarray(ends, dtype=np.intp)


def _frame_of_events(times: np.ndarray, edges: Sequence[Any]) -> np.ndarray:
    """Frame index of each event in ``times[:ends[-1]]`` (window ``k`` ends at edge ``k``)."""
    ends = _window_ends(times, edges)
    counts = np.diff(np.concatenate([[0], ends]))
    return np.repeat(np.arange(len(ends)), counts)


def _counts(shape: Sequence[int], index: tuple[np.ndarray, ...]) -> np.ndarray:
    """``int8`` event counts at ``index`` (saturated at 127)."""
    counts = np.zeros(tuple(shape), dtype=np.int64)
    np.add.at(counts, index, 1)
    return np.minimum(counts, 127).astype(np.int8)


def chunk_evs_pol_dvs(
    times: np.ndarray, addrs: np.ndarray, deltat: Any = 1000, chunk_size: int = 500,
    size: Sequence[int] = (2, 304, 240), ds_w: int = 1, ds_h: int = 1,
) -> np.ndarray:
    """Count ``(x, y, p)`` events into ``chunk_size`` frames ``[chunk_size, *size]`` indexed
    ``[k, p, x // ds_w, y // ds_h]`` (``int8``; window convention in the module docstring).

    Raises:
        IndexError: no events (there is no first time to start from).
    """
    edges = _edges(times[0], times[0] + chunk_size * deltat, deltat)
    frame = _frame_of_events(times, edges)
    ee = np.asarray(addrs)[: len(frame)]
    index = (frame, ee[:, 2].astype(int), (ee[:, 0] // ds_w).astype(int), (ee[:, 1] // ds_h).astype(int))
    return _counts([len(edges), *size], index)


def frame_evs(
    times: np.ndarray, addrs: np.ndarray, deltat: Any = 1000, duration: int = 500,
    size: Sequence[int] = (240,), downsample: Sequence[int] = (1,),
) -> np.ndarray:
    """Count events into ``duration`` frames ``[duration, *size]``, indexed by address column ``j``
    divided by ``downsample[j]`` (one column per entry of ``downsample``; ``int8`` counts)."""
    edges = _edges(times[0], times[0] + duration * deltat, deltat)
    frame = _frame_of_events(times, edges)
    ee = np.asarray(addrs)[: len(frame)]
    index = (frame, *((ee[:, j] // d).astype(int) for j, d in enumerate(downsample)))
    return _counts([len(edges), *size], index)


def chunk_evs_dvs(
    evs: np.ndarray, deltat: Any = 1000, chunk_size: int = 500, size: Sequence[int] = (304, 240),
    ds_w: int = 1, ds_h: int = 1,
) -> np.ndarray:
    """Binary frames ``[K, *size]`` (``int8``, +1 ON / -1 OFF per pixel, latest event wins) of
    ``(t, x, y, p)`` events, with snntorch's edges ``range(t0 + chunk_size, t0 + chunk_size * deltat,
    deltat)`` (so ``K = chunk_size - 1`` when ``deltat == chunk_size``)."""
    evs = np.asarray(evs)
    t0 = evs[0, 0]
    edges = _edges(t0 + chunk_size, t0 + chunk_size * deltat, deltat)
    frame = _frame_of_events(evs[:, 0], edges)
    chunks = np.zeros([len(edges), *size], dtype=np.int8)
    if len(frame):
        x, y = get_subsampled_coordinates(evs[: len(frame)], ds_h, ds_w)
        _assign_last(chunks, (frame, x, y), 2 * evs[: len(frame), 3] - 1)
    return chunks
