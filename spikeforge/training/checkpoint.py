"""Checkpoints and the run directory of ``spikeforge train``.

A checkpoint is a dict of tensors and plain containers only, so ``torch.load(path, weights_only=True)``
reads it. A run directory holds::

    RUN_DIR/config.toml          the resolved configuration
    RUN_DIR/status.json          {"state": "running" | "interrupted" | "failed" | "complete", ...}
    RUN_DIR/metrics.csv, .json   one row per finished epoch
    RUN_DIR/checkpoints/last.pt  after every epoch (and before the first), for --resume
    RUN_DIR/checkpoints/best.pt  the epoch with the highest validation accuracy (if a split is held out)
    RUN_DIR/model.nir            the last model in NIR (when NIR export is available)
    RUN_DIR/figures/*.png        curves, output raster, membrane trace (when plotting is available)
    RUN_DIR/log.txt              notes, e.g. which optional outputs were not available
    RUN_DIR/summary.json         written last: only a complete run has it
"""

from __future__ import annotations

import contextlib
import copy
import csv
import io
import json
import os
import random
import secrets
import stat
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._options import OPTIONS, path_to_toml, toml_value

CHECKPOINT_FORMAT = "spikeforge-run/1"


def _atomic_write(path: Path, write: Any, binary: bool = False, durable: bool = False) -> None:
    """Write through a temporary file in the same folder and rename it over ``path``, so that a crash or
    a full disk never leaves half a file (the old one stays).

    The file gets the permissions a plain ``open(path, "w")`` would give: an existing file keeps its
    own, a new one ``0o666`` less the umask (the temporary file is created with mode ``0o666`` and the
    kernel applies the umask). Text is UTF-8. ``durable``: flush the data to the disk (``fsync``) before
    the rename, for checkpoints.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        keep = stat.S_IMODE(path.stat().st_mode)
    except OSError:  # a new file
        keep = None
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:
            continue
    try:
        if keep is not None:
            os.fchmod(fd, keep)
        with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as f:
            write(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:  # e.g. ENOSPC from a write: name the file
            exc.filename = str(path)
        raise


def rng_state() -> dict[str, Any]:
    """The torch, numpy and Python RNG states as tensors and lists (weights_only-loadable)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": str(kind),
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "gauss": float(gauss),
        },
        "python": {
            "version": int(version),
            "internal": list(internal),
            "gauss_next": None if gauss_next is None else float(gauss_next),
        },
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"])
    )
    p = state["python"]
    random.setstate((p["version"], tuple(p["internal"]), p["gauss_next"]))


def save_checkpoint(path: Path, payload: Mapping[str, Any]) -> None:
    """Save ``payload`` (tensors, numbers, strings, lists, dicts) atomically with the format tag."""
    data = {"format": CHECKPOINT_FORMAT, **payload}
    _atomic_write(Path(path), lambda f: torch.save(data, f), binary=True, durable=True)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a run checkpoint with ``weights_only=True`` onto the CPU.

    Raises:
        FileNotFoundError: no such file. ValueError: not a spikeforge run checkpoint, or unreadable.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found; pass a RUN_DIR made by 'spikeforge train'")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for a damaged or foreign file
        raise ValueError(
            f"checkpoint {path} is unreadable ({type(exc).__name__}); it is damaged or not a "
            "spikeforge checkpoint"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a spikeforge run checkpoint (format {CHECKPOINT_FORMAT})")
    return data


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    _atomic_write(Path(path), lambda f: json.dump(data, f, indent=2))


def write_text(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) atomically, creating the folders above ``path``."""
    _atomic_write(Path(path), lambda f: f.write(text))


def write_status(run_dir: Path, state: str, **extra: Any) -> None:
    """Record the run's state (``running``, ``interrupted``, ``failed``, ``complete``) and the time.

    On a full disk the atomic write may find no room for its temporary file; the status is then
    rewritten in place (its old blocks are freed first), since a stale ``running`` would mislead.
    """
    data = {"state": state, **extra, "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    path = run_dir / "status.json"
    try:
        write_json(path, data)
    except OSError:
        with path.open("w", encoding="utf-8") as f:
            json.dump(data, f, indent=2)


def write_metrics(run_dir: Path, history: Sequence[Mapping[str, Any]]) -> None:
    """Write the per-epoch metrics as ``metrics.csv`` and ``metrics.json``; the CSV's columns are every
    key of any row, in first-seen order, a dict value giving one ``key.name`` column per entry (rows of
    a run made by an older spikeforge, resumed, may lack newer columns such as ``val_acc``: their cells
    are left empty)."""
    write_json(run_dir / "metrics.json", list(history))
    if not history:
        return
    flat = [{f"{k}.{n}" if isinstance(v, Mapping) else k: x for k, v in row.items()
             for n, x in (v.items() if isinstance(v, Mapping) else [(None, v)])} for row in history]
    fields = list(dict.fromkeys(key for row in flat for key in row))

    def write(f: Any) -> None:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(flat)

    _atomic_write(run_dir / "metrics.csv", write)


def _toml_string(text: str) -> str:
    """A TOML basic string: UTF-8 text as it is, quotes, backslashes and control characters escaped."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = [escapes.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 or ord(c) == 0x7F else c) for c in text]
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return toml_value(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def write_config_toml(path: Path, config: Mapping[str, Any]) -> None:
    """Write a flat config as TOML (UTF-8), one line per key; a key whose value is None (TOML has no
    null) is written as the comment ``# key: not set``, so the file names every option. A path that is
    not valid UTF-8 (bytes the file system allows but TOML text cannot hold) is written as
    ``{ path_bytes = "<hex>" }`` after a comment showing it, and read back exactly by
    `TrainConfig.from_dict`."""
    lines = []
    for key, value in config.items():
        if value is None:
            lines.append(f"# {key}: not set")
            continue
        if key in OPTIONS and OPTIONS[key].path:
            value = path_to_toml(value)
            if isinstance(value, dict):
                shown = os.fsencode(config[key]).decode("utf-8", "backslashreplace")
                lines.append(f"# {key}: {shown} (not valid UTF-8, so stored as its bytes)")
        lines.append(f"{key} = {_toml_value(value)}")
    write_text(path, "# spikeforge train: resolved configuration\n" + "\n".join(lines) + "\n")


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file (tomllib on Python >= 3.11, else tomli).

    Raises:
        FileNotFoundError: no such file. ValueError: invalid TOML (with the parser's message).
    """
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file {path} not found")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"config file {path} is not valid TOML: {exc}") from exc


def append_log(run_dir: Path, line: str) -> None:
    """Append one line to ``log.txt``, after the local time (UTF-8; a path's undecodable bytes as
    ``\\xNN``)."""
    path = run_dir / "log.txt"
    try:
        with path.open("a", encoding="utf-8", errors="backslashreplace") as f:
            f.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line.rstrip()}\n")
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise


def _starts_with_flatten(model: torch.nn.Module) -> bool:
    return isinstance(next(iter(model), None), torch.nn.Flatten)  # type: ignore[call-overload]


def export_network(model: torch.nn.Module) -> torch.nn.Sequential:
    """A copy of a `SequentialSNN` as the one-step ``nn.Sequential`` NIR export takes: a leading
    ``Flatten`` dropped (inputs are then given flat, see `nir_sample`) and neurons set to
    ``init_hidden=True`` (spikes out)."""
    from ..neurons import SpikingNeuron

    skip = 1 if _starts_with_flatten(model) else 0
    layers = [copy.deepcopy(m).cpu() for m in list(model)[skip:]]  # type: ignore[call-overload]
    for m in layers:
        if isinstance(m, SpikingNeuron):
            m.init_hidden = True
    return torch.nn.Sequential(*layers)


def nir_sample(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """One step of one sample of ``x[T, B, ...]`` as `export_network`'s copy of ``model`` takes it:
    ``[1, F]`` flat when the model starts with ``Flatten``, else ``[1, ...]`` as it comes."""
    return x[0, :1].flatten(1) if _starts_with_flatten(model) else x[0, :1]


def export_nir(net: torch.nn.Module, sample: torch.Tensor, path: Path) -> str:
    """Write ``net`` (from `export_network`) to ``path`` as NIR, with one input step (`nir_sample`);
    through a temporary file and a rename, so ``path`` is never left half written.

    Returns:
        ``"written"`` (plus any lossy-export warning), ``"not available: ..."`` when this spikeforge has
        no NIR export, or ``"failed: ..."`` when the export raised.
    """
    try:
        import nir

        from .. import export_to_nir  # type: ignore[attr-defined]
    except ImportError as exc:
        return f"not available: this spikeforge has no NIR export ({exc})"
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")  # written whole, then renamed
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("always")
            graph = export_to_nir(net, sample.cpu(), dt=1e-4)
            nir.write(str(tmp), graph)
        with contextlib.suppress(OSError):  # a rewritten file keeps its permissions
            tmp.chmod(stat.S_IMODE(path.stat().st_mode))
        os.replace(tmp, path)
    except Exception as exc:  # an export error must not lose the trained run
        return f"failed: {type(exc).__name__}: {_first_line(exc)}"
    finally:
        tmp.unlink(missing_ok=True)
    notes = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))
    return "written" + (f" ({notes})" if notes else "")


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else ""


def write_outputs(nir_net: torch.nn.Module, sample: torch.Tensor, spk: torch.Tensor, mem: torch.Tensor,
                  threshold: float, target: int, history: Sequence[Mapping[str, Any]],
                  run_dir: Path) -> dict[str, str]:
    """The NIR model and the figures of a finished run; what could not be made is noted in ``log.txt``.

    Args:
        nir_net: the network to export (see `export_network`); sample: one input step (`nir_sample`).
        spk, mem: output spikes and membrane ``[T, C]`` of one test sample; threshold: the output
            neurons' threshold; target: that sample's label. history: the per-epoch metrics.

    Returns:
        ``{output name: "written..." | "not available: ..." | "failed: ..."}``.
    """
    status = {"model.nir": export_nir(nir_net, sample, run_dir / "model.nir")}
    predicted = int(spk.sum(0).argmax())
    marks = {target: "true class", predicted: "predicted" if predicted != target else "true class, predicted"}
    try:
        from ..plotting import figures
    except ImportError as exc:
        figures = None
        missing = f"not available: this spikeforge has no plotting.figures ({exc})"
    jobs = {
        "figures/training_curves.png": lambda p: figures.plot_training_curves(list(history), p),
        "figures/output_raster.png": lambda p: figures.plot_output_raster(spk, predicted, target, p),
        "figures/membrane_trace.png": lambda p: figures.plot_membrane_traces(  # every output neuron (at
            mem, threshold, p, spk=spk, neurons=list(range(mem.shape[-1])), marked=marks),  # most 10)
    }
    for name, job in jobs.items():
        if figures is None:
            status[name] = missing
            continue
        try:
            job(run_dir / name)
            status[name] = "written"
        except Exception as exc:  # a plotting error must not lose the trained run
            status[name] = f"failed: {type(exc).__name__}: {_first_line(exc)}"
    for name, state in status.items():
        if state != "written":
            append_log(run_dir, f"{name}: {state}")
    return status
