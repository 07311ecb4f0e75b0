"""Validation of events and labels as they are read: every problem is a `CorruptDataError` naming the
file, the sample, the value found and what is allowed; nothing is dropped silently.

The one exception is opt-in: with ``drop=True`` (``--drop-out-of-range``) events whose coordinate,
channel or polarity lies outside the sensor are dropped, and the number dropped is returned so the
caller can report it. Bad times (NaN, infinite, negative) and bad labels are always errors: they mean
a damaged file, not a few stray events.
"""

from __future__ import annotations

import numpy as np

from .events import AUDIO_DTYPE, CAMERA_DTYPE, CorruptDataError

#: the largest time accepted, in microseconds (about 106 days; larger values overflow int64 arithmetic
#: once scaled, so they can only come from a damaged file)
MAX_TIME_US = 2**53


def check_times(t: np.ndarray, where: str, unit: str = "us") -> None:
    """Raise unless every time is finite, ``>= 0`` and at most `MAX_TIME_US` microseconds.

    Args:
        t: the times (any numeric dtype). where: names the file and sample, e.g. ``"SHD file F, sample 3"``.
        unit: ``"us"`` (microseconds) or ``"s"`` (seconds, as SHD stores them).

    Raises:
        CorruptDataError: naming the first bad event, its value and the allowed range.
    """
    t = np.asarray(t)
    scale = 1e6 if unit == "s" else 1.0
    if np.issubdtype(t.dtype, np.floating):
        bad = ~np.isfinite(t) | (t < 0) | (t * scale > MAX_TIME_US)
    else:
        bad = (t < 0) | (t > MAX_TIME_US)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
        limit = MAX_TIME_US / scale
        raise CorruptDataError(
            f"{where}: event {k} has time {t[k].item()} {unit}{more}; times must be finite numbers in "
            f"0..{limit:.6g} {unit}; the file is damaged: replace it"
        )


def _bounds(sensor_size: tuple[int, int, int], names: tuple[str, ...]) -> dict[str, int]:
    """The exclusive upper bound of each coordinate field present in ``names``."""
    w, h, p = sensor_size
    bounds = {"x": w}
    if "y" in names:
        bounds["y"] = h
    if "p" in names and p > 1:
        bounds["p"] = p
    return bounds


def check_events(
    events: np.ndarray, sensor_size: tuple[int, int, int], where: str, drop: bool = False
) -> tuple[np.ndarray, int]:
    """Check events against a sensor and bring them to spikeforge's int64 dtypes.

    Args:
        events: structured array with ``x``, ``t`` and for cameras ``y`` and ``p`` (any numeric dtypes,
            any field order, as tonic's classes give them; a boolean ``p`` counts as 0/1).
        sensor_size: tonic-style ``(W, H, P)``; ``H == 1`` and ``P == 1`` is a 1-D sensor (``t, x, p``).
        where: names the file and sample for the message.
        drop: drop events outside the sensor (and count them) instead of raising.

    Returns:
        ``(events, dropped)``: ``CAMERA_DTYPE`` or ``AUDIO_DTYPE`` events and the number dropped.

    Raises:
        CorruptDataError: a bad time (always), or with ``drop=False`` an event outside the sensor; the
            message names the event, its coordinates and the allowed ranges.
    """
    names = events.dtype.names or ()
    camera = "y" in names
    missing = [f for f in ("x", "t", *("p" if camera else "")) if f not in names]
    if missing:
        raise CorruptDataError(f"{where}: events lack the field(s) {missing}; they have {list(names)}")
    check_times(events["t"], where)
    bounds = _bounds(sensor_size, names)
    for f in bounds:
        raw = np.asarray(events[f])
        if np.issubdtype(raw.dtype, np.floating) and (~np.isfinite(raw) | (raw != np.round(raw))).any():
            k = int(np.flatnonzero(~np.isfinite(raw) | (raw != np.round(raw)))[0])
            raise CorruptDataError(f"{where}: event {k} has {f}={raw[k].item()}; {f} must be a whole number")
    values = {f: np.asarray(events[f]).astype(np.int64) for f in bounds}
    outside = np.zeros(len(events), dtype=bool)
    for f, hi in bounds.items():
        outside |= (values[f] < 0) | (values[f] >= hi)
    dropped = int(outside.sum())
    if dropped and not drop:
        k = int(np.flatnonzero(outside)[0])
        more = f" (and {dropped - 1} more)" if dropped > 1 else ""
        hint = "(--drop-out-of-range drops such events and reports how many)"
        if not camera:
            raise CorruptDataError(
                f"{where}: event {k} has channel (unit id) {int(values['x'][k])}, outside the "
                f"{sensor_size[0]}-channel sensor{more}; channels must be 0..{sensor_size[0] - 1} {hint}"
            )
        at = ", ".join(f"{f}={int(values[f][k])}" for f in bounds)
        allowed = ", ".join(f"{f} 0..{hi - 1}" for f, hi in bounds.items())
        raise CorruptDataError(
            f"{where}: event {k} at {at} lies outside the {sensor_size[0]}x{sensor_size[1]} sensor{more}; "
            f"allowed {allowed} {hint}"
        )
    keep = ~outside
    out = np.empty(int(keep.sum()), dtype=CAMERA_DTYPE if camera else AUDIO_DTYPE)
    out["x"] = values["x"][keep]
    t = np.asarray(events["t"])[keep]
    out["t"] = (np.round(t) if np.issubdtype(t.dtype, np.floating) else t).astype(np.int64)
    if camera:
        out["y"] = values["y"][keep]
        out["p"] = values["p"][keep] if "p" in values else np.asarray(events["p"])[keep].astype(np.int64)
    else:
        out["p"] = 1
    return out, dropped


def check_label(label: object, num_classes: int, where: str) -> int:
    """``label`` as an int class index in ``0..num_classes-1``.

    Raises:
        CorruptDataError: a label that is not a whole number or lies outside the range.
    """
    allowed = f"labels must be 0..{num_classes - 1}"
    try:
        value = int(label)  # type: ignore[call-overload]
        whole = not isinstance(label, (str, bytes)) and value == label
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole:
        raise CorruptDataError(f"{where}: label {label!r} is not a class index; {allowed}")
    if not 0 <= value < num_classes:
        raise CorruptDataError(f"{where}: label {value} is out of range; {allowed}")
    return value
