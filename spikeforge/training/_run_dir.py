"""The run directory of ``spikeforge train``: creating it, reading its config back for a resume, and
the final outputs (figures, NIR model, ``summary.json``); re-exported by
`spikeforge.training.trainer`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..data.loaders import DataSource, open_data
from ..network import SequentialSNN
from ._options import Origin, check_value, path_from_toml, toml_value
from ._train_config import BEFORE_OPTIONS, RESUMABLE_CHANGES, TrainConfig
from ._train_model import build_model, load_weights, run_network
from .checkpoint import export_network, load_checkpoint, nir_sample, read_toml, write_json, write_outputs


def new_run_dir(cfg: TrainConfig) -> Path:
    """Create the run directory: ``cfg.out`` (which must be new or empty), else the first free
    ``runs/<dataset>-seed<seed>[-N]`` (so repeating the default command never fails).

    Raises:
        ValueError: ``cfg.out`` is a non-empty directory, or it (or a folder above it) is a file.
    """
    if cfg.out is None:
        base = Path(f"runs/{cfg.dataset.replace(':', '-')}-seed{cfg.seed}")  # tonic:NAME
        run_dir, n = base, 1
        while run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
            n += 1
            run_dir = base.with_name(f"{base.name}-{n}")
        return _make_dir(run_dir)
    run_dir = Path(cfg.out)
    if run_dir.is_dir() and any(run_dir.iterdir()):
        raise ValueError(
            f"run directory {run_dir} already exists; continue it with --resume {run_dir} "
            "or choose another --out"
        )
    return _make_dir(run_dir)


def _make_dir(run_dir: Path) -> Path:
    blocker = next((p for p in (run_dir, *run_dir.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        what = f"--out {run_dir}" if blocker == run_dir else f"--out {run_dir} lies in {blocker}, which"
        raise ValueError(f"{what} is a file, not a folder; choose another --out")
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(
            f"cannot create run directory {run_dir} ({exc.strerror}); choose another --out"
        ) from exc
    return run_dir


def resume_config(run_dir: str | Path, changes: dict[str, Any] | None = None,
                  command: str = "train") -> TrainConfig:
    """The config of an existing run with allowed ``changes`` (`RESUMABLE_CHANGES`) applied.

    Args:
        command: the ``spikeforge`` command reading the run (``train`` for ``--resume``,
            ``evaluate``, ``export``), for the not-found message.

    Raises:
        FileNotFoundError: no ``config.toml`` in ``run_dir``. ValueError: a change that is not allowed, or
            a bad value (in ``config.toml``, named as its key, or in ``changes``, named as a flag).
    """
    run_dir = Path(run_dir)
    hint = ("check the --resume path" if command == "train" else
            f"give 'spikeforge {command} RUN_DIR' a directory made by 'spikeforge train'")
    if not run_dir.exists():
        raise FileNotFoundError(f"{run_dir} does not exist; {hint}")
    if not (run_dir / "config.toml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.toml); {hint}")
    source = str(run_dir / "config.toml")
    stored = read_toml(source)
    stored.setdefault("val_fraction", 0.0)  # runs made before the validation split held nothing out
    changes = {k: v for k, v in (changes or {}).items() if v is not None}
    for key, value in changes.items():
        before = stored.get(key, getattr(TrainConfig, key))
        if key in stored:
            before = check_value(key, path_from_toml(key, before),
                                 Origin.command(file=source, file_keys=[key]))
        if key not in RESUMABLE_CHANGES and check_value(key, value, Origin.command([key])) != before:
            raise ValueError(
                f"--{key.replace('_', '-')} cannot change when resuming (the run used "
                f"{before!r}); start a new run with another --out instead"
            )
    stored.pop("out", None)  # the run directory is where it is now
    return TrainConfig.from_command({**changes, "out": str(run_dir)}, stored, source)


#: options that may differ between ``config.toml`` and a checkpoint that is evaluated, used by
#: ``predict`` or exported: they change neither the model, nor the data, nor how the model was trained
#: (``data_dir`` says where the files are; a change of the files themselves is caught by the split
#: sizes the checkpoint records)
UNHASHED = ("epochs", "device", "progress", "out", "data_dir", "tensorboard")


def config_hash(config: dict[str, Any]) -> str:
    """SHA-256 of the options that define the model, the data and the training (all but `UNHASHED`:
    also the optimizer, schedule, clipping, precision and loss), as stored in every checkpoint."""
    kept = {k: config[k] for k in sorted(config) if k not in UNHASHED}
    return hashlib.sha256(json.dumps(kept, sort_keys=True).encode()).hexdigest()


def trained_config(cfg: TrainConfig, ckpt: dict[str, Any], path: Path, run_dir: Path, as_trained: bool,
                   command: str) -> tuple[TrainConfig, str]:
    """The configuration to evaluate or export the checkpoint ``ckpt`` (read from ``path``) under.

    ``cfg`` (from ``config.toml``) when it matches the configuration the checkpoint was trained under
    (`config_hash`), else with ``as_trained`` the checkpoint's own (``device`` and ``data_dir`` still
    from ``cfg``) and a note saying so.

    Raises:
        ValueError: they differ and not ``as_trained``: naming the options, both values and what to do.
    """
    stored = ckpt.get("config")
    current = cfg.to_dict()
    if not isinstance(stored, dict) or ckpt.get("config_sha256") == config_hash(current):
        return cfg, ""
    stored = {"val_fraction": 0.0, **BEFORE_OPTIONS, **stored}  # made before these options
    diffs = [k for k in sorted(set(stored) | set(current))
             if k not in UNHASHED and stored.get(k) != current.get(k)]
    if not diffs:
        return cfg, ""
    shown = ", ".join(f"{k} = {_shown(current.get(k))} in config.toml, {_shown(stored.get(k))} when trained"
                      for k in diffs[:3])
    own = path.resolve().parent == (run_dir / "checkpoints").resolve()
    if not as_trained and own:
        raise ValueError(f"{run_dir / 'config.toml'} was edited after {path} was trained ({shown}); "
                         f"restore it, or pass --as-trained to {command} the checkpoint under the "
                         "configuration it was trained with")
    if not as_trained:
        raise ValueError(f"checkpoint {path} was saved from a different model or configuration ({shown}); "
                         f"use it with the config.toml of the run that made it, or pass --as-trained")
    keep = {k: current[k] for k in ("device", "data_dir", "out") if current.get(k) is not None}
    values = {k: v for k, v in stored.items() if v is not None and k not in UNHASHED}
    trained = TrainConfig.from_command(keep, values, f"the configuration stored in {path}")
    return trained, f"{command} as trained: config.toml differs from {path} ({shown})"


@dataclass
class TrainedRun:
    """A run's checkpoint with what it needs: the configuration it was trained under (`trained_config`),
    its data and its model (on the CPU, weights loaded)."""

    cfg: TrainConfig
    path: Path
    ckpt: dict[str, Any]
    data: DataSource
    model: SequentialSNN
    #: says the configuration came from the checkpoint (``--as-trained``), else empty
    note: str


def open_trained(run_dir: str | Path, checkpoint: str | Path | None = None, device: str | None = None,
                 as_trained: bool = False, command: str = "evaluate") -> TrainedRun:
    """Read a run for ``spikeforge evaluate``, ``predict`` or ``export`` (``command``): its config
    (with ``device`` when given), the checkpoint ``last`` (default), ``best`` or a file, checked
    against the config by `trained_config`, the data and the model.

    Raises:
        FileNotFoundError: not a run directory, no such checkpoint or data. ValueError: an edited
            ``config.toml`` (without ``as_trained``), a checkpoint of another model, a bad value.
    """
    cfg = resume_config(run_dir, {"device": device} if device else None, command=command)
    path = checkpoint_path(run_dir, str(checkpoint or "last"))
    ckpt = load_checkpoint(path)
    cfg, note = trained_config(cfg, ckpt, path, Path(run_dir), as_trained, command)
    data = open_data(cfg)
    model = build_model(cfg, data)
    load_weights(model, ckpt["model"], path)
    return TrainedRun(cfg, path, ckpt, data, model, note)


def _shown(value: Any) -> str:
    return "not set" if value is None else toml_value(value)


def checkpoint_path(run_dir: str | Path, which: str) -> Path:
    """The checkpoint ``--checkpoint`` names: ``last`` or ``best`` of the run, else a file path.

    Raises:
        FileNotFoundError: the checkpoint does not exist, with why (the run held out no validation split,
            stopped before its first checkpoint, ...) and what to give instead.
    """
    run_dir = Path(run_dir)
    folder = run_dir / "checkpoints"
    if which not in ("last", "best"):
        path = Path(which)
        if path.is_dir():
            raise FileNotFoundError(f"--checkpoint {which} is a folder; give last, best or a checkpoint "
                                    "file (e.g. RUN_DIR/checkpoints/last.pt)")
        if not path.is_file():
            raise FileNotFoundError(f"--checkpoint {which}: no such file; give last, best or the path of a "
                                    ".pt checkpoint file")
        return path
    path = folder / f"{which}.pt"
    if path.is_file() or not (run_dir / "config.toml").is_file():
        return path  # (not a run directory: reported by resume_config)
    if not (folder / "last.pt").is_file():
        raise FileNotFoundError(f"{run_dir} has no checkpoint yet: training stopped before saving "
                                f"{folder / 'last.pt'} (see its status.json and log.txt); train it again")
    try:
        held_out = float(read_toml(run_dir / "config.toml").get("val_fraction", 0.0)) > 0
    except (OSError, ValueError, TypeError):
        held_out = True
    if not held_out:
        raise FileNotFoundError(f"{run_dir} has no best.pt: it is chosen on the validation split and this "
                                "run held none out (--val-fraction 0); use --checkpoint last")
    raise FileNotFoundError(f"{run_dir} has no best.pt yet: it is written after the first epoch and this "
                            "run has not finished one; use --checkpoint last")


def completed_summary(run_dir: str | Path) -> dict[str, Any] | None:
    """The ``summary.json`` of a finished run (``status.json`` says complete), else None."""
    run_dir = Path(run_dir)
    try:
        status = json.loads((run_dir / "status.json").read_text())
        summary = json.loads((run_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if status.get("state") == "complete" and isinstance(summary, dict) else None


def finish_run(cfg: TrainConfig, model: SequentialSNN, data: DataSource, device: torch.device,
               history: list[dict[str, Any]], best: dict[str, Any], run_dir: Path,
               elapsed: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the figures (with the test split's confusion matrix), the NIR model and (last)
    ``summary.json`` (with ``extra``); returns the summary."""
    from ._objective import Objective
    from .predict import write_confusion

    confusion, written = write_confusion(model, data, device, Objective(cfg.loss), cfg.amp, run_dir)
    final = history[-1] if history else {}
    # best.pt is chosen on the validation split; a run made by a spikeforge before it (resumed with no
    # validation split) may hold a best.pt chosen on the test split, named as such
    on_val, chosen = data.size("val") > 0, best["epoch"] > 0
    summary = {
        "dataset": cfg.dataset, "epochs": cfg.epochs, "seed": cfg.seed, "device": str(device),
        "test_accuracy": final.get("test_acc"), "test_loss": final.get("test_loss"),
        "val_accuracy": final.get("val_acc"),
        "best_epoch": best["epoch"] if chosen else None,
        "best_chosen_on": ("validation" if on_val else "test") if chosen else None,
        "best_val_accuracy": best["acc"] if chosen and on_val else None,
        "best_test_accuracy": (best.get("test_acc") if on_val else best["acc"]) if chosen else None,
        "train_spikes_per_sample": final.get("train_spikes_per_sample"),
        "test_spikes_per_sample": final.get("test_spikes_per_sample"), "train_samples": data.size("train"),
        "val_samples": data.size("val"), "test_samples": data.size("test"),
        "train_seconds_this_session": round(elapsed, 2), **(extra or {}), **confusion,
        "outputs": {**_outputs(model, data, device, history, run_dir), **written},
    }
    write_json(run_dir / "summary.json", summary)
    return summary


def _outputs(model: SequentialSNN, data: DataSource, device: torch.device, history: list[dict[str, Any]],
             run_dir: Path) -> dict[str, str]:
    """Figures of the first test sample and the NIR file (see `write_outputs`)."""
    x, y = next(iter(data.batches("test", None)))
    model.eval()
    with torch.no_grad():
        spk, mem, _ = run_network(model, x[:, :1].to(device))
    return write_outputs(export_network(model), nir_sample(model, x), spk[:, 0].cpu(), mem[:, 0].cpu(),
                         float(model[-1].threshold.reshape(-1)[0]), int(y[0]), history, run_dir)
