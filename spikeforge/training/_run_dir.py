"""The run directory of ``spikeforge train``: creating it, reading its config back for a resume, and
the final outputs (figures, NIR model, ``summary.json``); re-exported by
`spikeforge.training.trainer`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from ..data.loaders import DataSource
from ..network import SequentialSNN
from ._train_config import RESUMABLE_CHANGES, TrainConfig
from ._train_model import run_network
from .checkpoint import export_network, nir_sample, read_toml, write_json, write_outputs


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
        FileNotFoundError: no ``config.toml`` in ``run_dir``. ValueError: a change that is not allowed.
    """
    run_dir = Path(run_dir)
    hint = ("check the --resume path" if command == "train" else
            f"give 'spikeforge {command} RUN_DIR' a directory made by 'spikeforge train'")
    if not run_dir.exists():
        raise FileNotFoundError(f"{run_dir} does not exist; {hint}")
    if not (run_dir / "config.toml").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run directory (no config.toml); {hint}")
    stored = read_toml(run_dir / "config.toml")
    stored.setdefault("val_fraction", 0.0)  # runs made before the validation split held nothing out
    cfg = TrainConfig.from_dict(stored, str(run_dir / "config.toml"))
    for key, value in (changes or {}).items():
        if key not in RESUMABLE_CHANGES and value != getattr(cfg, key):
            raise ValueError(
                f"--{key.replace('_', '-')} cannot change when resuming (the run used "
                f"{getattr(cfg, key)!r}); start a new run with another --out instead"
            )
        setattr(cfg, key, value)
    cfg.out = str(run_dir)
    return cfg


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
