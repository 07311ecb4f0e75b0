"""Evaluate a NIR model file on a data set: ``spikeforge evaluate model.nir``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ..data.loaders import open_data
from ._train_model import resolve_device


def evaluate_nir(path: str | Path, cfg: Any, dt: float = 1e-4) -> dict[str, Any]:
    """Test accuracy of the NIR graph in ``path`` on ``cfg``'s test split.

    The graph is imported with `spikeforge.import_from_nir` and run on the same spike-encoded
    test batches ``spikeforge evaluate RUN_DIR`` uses, reshaped per step to the graph's input shape
    (``[T, B, features]`` for a flat input, ``[T, B, C, H, W]`` for a convolutional one); the
    predicted class is the output with the most spikes (ties: the lowest index, as
    ``functional.accuracy_rate``).

    Args:
        path: a ``.nir`` file.
        cfg: a `TrainConfig` giving the data set and its encoding
            (the run's ``config.toml`` when the file lies in a run directory).
        dt: the time step in seconds used to discretise the NIR neurons (spikeforge exports with 1e-4).

    Returns:
        ``{"accuracy", "samples", "output_spikes_per_sample", "lossy"}``; ``lossy`` lists what the exporter
        recorded as not expressible in NIR (e.g. a subtract reset), so the NIR model may differ from
        the checkpoint it came from.

    Raises:
        FileNotFoundError: no such file. spikeforge.nir.NIRReadError: not a readable NIR file.
        ValueError: the graph's input or output does not fit the data set.
    """
    import nir as nir_lib

    from ..nir import import_from_nir

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; give a .nir file written by 'spikeforge export'")
    device = resolve_device(cfg.device)
    model = import_from_nir(path, dt=dt, device=device)
    lossy, in_shape = _metadata(nir_lib, path)
    data = open_data(cfg)
    correct = total = spikes = 0
    with torch.no_grad():
        for x, y in data.batches("test", None):
            model.reset_state()
            try:
                step = x.reshape(*x.shape[:2], *in_shape) if in_shape else x.flatten(2)
                out = model.forward_sequence(step.to(device, torch.float32))
            except RuntimeError as exc:
                raise ValueError(
                    f"{path} does not fit the {cfg.dataset} data (input {tuple(x.shape[2:])} per step): "
                    f"{str(exc).splitlines()[0]}"
                ) from exc
            if out.dim() != 3 or out.shape[-1] != data.num_classes:
                raise ValueError(
                    f"{path} outputs {tuple(out.shape[2:])} per step but {cfg.dataset} has "
                    f"{data.num_classes} classes"
                )
            correct += int((out.sum(0).argmax(-1).cpu() == y).sum())
            total += int(y.numel())
            spikes += float(out.sum())
    return {"accuracy": correct / total, "samples": total, "output_spikes_per_sample": spikes / total,
            "lossy": lossy}


def _metadata(nir_lib: Any, path: Path) -> tuple[str, tuple[int, ...] | None]:
    """What the exporter recorded as lossy, and the graph's per-step input shape (None if unknown)."""
    try:
        graph = nir_lib.read(str(path), type_check=False)
    except Exception:  # the lenient importer already read it; this is informative only
        return "", None
    value = (graph.metadata or {}).get("lossy", "")
    lossy = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    shapes = [tuple(int(d) for d in node.input_type["input"]) for node in graph.nodes.values()
              if isinstance(node, nir_lib.Input) and "input" in node.input_type]
    return lossy, shapes[0] if len(shapes) == 1 else None
