"""Any `tonic.datasets` class as an `EventDataset` (``--dataset tonic:NAME``), read from files already
under the data folder: nothing is downloaded.

tonic's classes download when their own check (``_check_exists``) fails. Here each class is used through
a subclass whose ``download`` (and the few other fetching methods) raises `DatasetNotFoundError` naming
what the check looked for (the archive tonic keeps beside the extracted files, and how many files of
which type it wants under which folder, with how many it found), and while the class is built every
network connection is refused, so a class that fetches by other means fails the same way.

The class gives the sensor size (``sensor_size``), the number of classes (``classes``) and the event
fields (its ``dtype``: any order, names ``x``, ``y``, ``t``, ``p``); every sample is checked like those
of the named data sets. A class with a ``train`` argument gets ``train=True``/``False``, one with a
``split`` argument ``"train"``/``"test"``; one with neither (e.g. CIFAR10DVS) gets a fixed split of
`FIXED_TEST_FRACTION` of every class (`fixed_class_split`).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .cameras import fixed_class_split
from .events import CorruptDataError, DatasetNotFoundError
from .frames import FrameSpec
from .neuromorphic import EventDataset

#: the prefix of ``--dataset`` that names a tonic class
TONIC_PREFIX = "tonic:"
#: methods of tonic classes that fetch files (all refused)
_FETCHERS = ("download", "_copy_and_extract_local_data", "_download_all")


def tonic_class_names() -> list[str]:
    """The data set classes of the installed tonic (`tonic.datasets.__all__`)."""
    import tonic.datasets

    return list(tonic.datasets.__all__)


def tonic_class(name: str) -> type:
    """The `tonic.datasets` class called ``name`` (case-insensitive).

    Raises:
        ValueError: no such class (the message lists them).
    """
    import tonic.datasets

    found = {n.lower(): n for n in tonic.datasets.__all__}.get(name.lower())
    if found is None:
        raise ValueError(f"tonic has no data set {name!r}; tonic {_version()} has: "
                         f"{', '.join(tonic_class_names())} (use --dataset tonic:NAME)")
    return getattr(tonic.datasets, found)


def _version() -> str:
    import tonic

    return str(getattr(tonic, "__version__", "?"))


def _offline_class(cls: type, root: Path) -> type:
    """A subclass of ``cls`` (same name, so the same folder) that records what its file check looks for
    and raises `DatasetNotFoundError` instead of fetching anything."""

    def note(self: Any, text: str) -> None:
        self.__dict__.setdefault("_spikeforge_checks", []).append(text)

    def is_file_present(self: Any) -> bool:
        ok = bool(cls._is_file_present(self))
        archive = Path(self.location_on_system, str(getattr(self, "filename", "")))
        note(self, f"{archive} ({'found' if ok else 'missing'})")
        return ok

    def folder_contains(self: Any, n_files: int, file_type: str) -> bool:
        ok = bool(cls._folder_contains_at_least_n_files_of_type(self, n_files, file_type))
        folder = Path(self.location_on_system, str(getattr(self, "folder_name", "")))
        found = sum(1 for _ in folder.glob(f"**/*{file_type}")) if folder.is_dir() else 0
        note(self, f"at least {n_files} {file_type} files under {folder} (found {found})")
        return ok

    def refuse(self: Any, *args: Any, **kwargs: Any) -> None:
        raise _missing(cls, self, root)

    attrs: dict[str, Any] = {"_is_file_present": is_file_present,
                             "_folder_contains_at_least_n_files_of_type": folder_contains}
    attrs.update({name: refuse for name in _FETCHERS if hasattr(cls, name)})
    return type(cls.__name__, (cls,), attrs)


def _missing(cls: type, obj: Any, root: Path) -> DatasetNotFoundError:
    where = getattr(obj, "location_on_system", root / cls.__name__)
    checks = obj.__dict__.get("_spikeforge_checks") or [f"its files under {where}"]
    url = getattr(obj, "url", None) or getattr(cls, "base_url", None)
    source = f" (tonic downloads them from {url})" if isinstance(url, str) else ""
    return DatasetNotFoundError(
        f"tonic.datasets.{cls.__name__} data not found: tonic looks for {'; '.join(dict.fromkeys(checks))}"
        f"{source}; this machine cannot download, so copy the files there (as tonic lays them out) and "
        f"pass --data-dir {root}"
    )


@contextlib.contextmanager
def _no_network(refusal: Callable[[], Exception]) -> Iterator[None]:
    """Refuse every socket connection and name lookup while the block runs (one thread: the data set is
    built before training starts)."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise refusal()

    saved = socket.socket.connect, socket.create_connection, socket.getaddrinfo
    socket.socket.connect = refuse  # type: ignore[method-assign,assignment]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        socket.socket.connect, socket.create_connection, socket.getaddrinfo = saved  # type: ignore[method-assign]


def _split_argument(cls: type, train: bool) -> dict[str, Any] | None:
    """``{"train": ...}`` or ``{"split": ...}`` for ``cls``, or None when it has no split argument."""
    params = inspect.signature(cls.__init__).parameters
    if "train" in params:
        return {"train": train}
    if "split" in params:
        return {"split": "train" if train else "test"}
    return None


def _sensor(value: Any, cls: type) -> tuple[int, int, int]:
    try:
        size = tuple(int(v) for v in value)
    except TypeError:
        size = ()
    if len(size) != 3 or min(size) < 1:
        hint = f"; use --dataset {cls.__name__.lower()}" if cls.__name__ == "NCALTECH101" else ""
        raise ValueError(f"tonic.datasets.{cls.__name__} has no fixed sensor size (sensor_size = {value!r}): "
                         f"spikeforge needs one (W, H, P) to make frames{hint}")
    return size  # type: ignore[return-value]


class TonicDataset(EventDataset):
    """A `tonic.datasets` class read offline (see the module docstring).

    Args:
        tonic_name: the class name, e.g. ``"POKERDVS"`` (case-insensitive).
        root, train, frames, transform, target_transform, cache, drop_out_of_range: as `EventDataset`.

    Raises:
        ValueError: an unknown class, or one that is not a classification data set with a fixed sensor.
        DatasetNotFoundError: the files tonic's check wants are absent (the message names them).
        CorruptDataError: tonic's class failed on the files that are there (its message is kept).
    """

    def __init__(
        self,
        tonic_name: str,
        root: str | Path,
        train: bool = True,
        frames: FrameSpec | None = None,
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        cache: bool = True,
        drop_out_of_range: bool = False,
    ) -> None:
        self._cls = tonic_class(tonic_name)
        self.name = f"tonic.datasets.{self._cls.__name__}"  # type: ignore[misc]
        self._root = Path(root).expanduser()
        self._split_kw = _split_argument(self._cls, train)
        self._train = train
        super().__init__(root, train, frames, transform, target_transform, cache, drop_out_of_range)

    def _build(self) -> Any:
        cls, root = self._cls, self._root
        offline = _offline_class(cls, root)
        try:
            with _no_network(lambda: DatasetNotFoundError(
                    f"tonic.datasets.{cls.__name__} tried to reach the network for files missing under "
                    f"{root / cls.__name__}; this machine cannot download: place them there")):
                return offline(str(root), **(self._split_kw or {}))
        except (DatasetNotFoundError, ValueError):
            raise
        except TypeError as exc:
            raise ValueError(f"tonic.datasets.{cls.__name__} cannot be built as (save_to, train=... or "
                             f"split=...): {exc}; spikeforge trains only on classification data "
                             "sets") from exc
        except SystemExit as exc:  # DVSLip exits when its manual download is missing
            raise DatasetNotFoundError(f"tonic.datasets.{cls.__name__} data not found under "
                                       f"{root / cls.__name__} (tonic exited: {exc})") from None
        except (OSError, KeyError) as exc:
            raise CorruptDataError(f"tonic.datasets.{cls.__name__} could not read its files under "
                                   f"{root / cls.__name__}: {type(exc).__name__}: {exc}") from exc

    def _index(self) -> list[Any]:
        self._tonic = self._build()
        self.sensor_size = _sensor(getattr(self._tonic, "sensor_size", None), self._cls)  # type: ignore[misc]
        classes = getattr(self._tonic, "classes", None)
        if classes is None or len(classes) == 0:
            raise ValueError(f"{self.name} has no classes: it is not a classification data set, "
                             "and spikeforge train trains classifiers")
        self.num_classes = len(classes)  # type: ignore[misc]
        self.classes = [c.decode() if isinstance(c, bytes) else str(c) for c in classes]
        n = len(self._tonic)
        if self._split_kw is not None:
            return list(range(n))
        targets = getattr(self._tonic, "targets", None)
        labels = [int(v) for v in targets] if targets is not None and len(targets) == n else [0] * n
        return fixed_class_split(labels, self._train)

    def expected(self) -> str:
        return f"the files of {self.name} under {self._root / self._cls.__name__}"

    def _read(self, sample: Any) -> tuple[np.ndarray, Any]:
        events, target = self._tonic[int(sample)]
        if not isinstance(events, np.ndarray) or events.dtype.names is None:
            raise CorruptDataError(f"{self.name} sample {sample} gave {type(events).__name__}, "
                                   "not a structured array of events")
        return events, target

    def _source(self, sample: Any) -> tuple[Path, str] | None:
        data = getattr(self._tonic, "data", None)
        item = data[int(sample)] if isinstance(data, list) and len(data) > int(sample) else None
        if isinstance(item, (str, os.PathLike)):
            return Path(item), ""
        file = getattr(self._tonic, "data_filename", None)
        if isinstance(file, str):  # one file holds every sample (SHD, SSC)
            return Path(self._tonic.location_on_system, file), str(int(sample))
        return None
