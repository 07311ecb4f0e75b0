"""The model that ``spikeforge train`` trains: neuron choice, network, device and weight loading;
re-exported by `spikeforge.training.trainer`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .. import neurons as sn
from ..data.loaders import DataSource
from ..network import SequentialSNN
from ._train_config import NEURONS, TrainConfig


def make_neuron(name: str, beta: float, features: int, reset: str | None = None) -> nn.Module:
    """A spikeforge neuron by name, with ``beta`` as membrane decay (``alpha = beta - 0.05`` for Synaptic,
    ``alpha = beta + 0.05`` capped at 0.99 for Alpha, which needs ``alpha > beta``) and ``reset`` as its
    reset mechanism (None: the neuron's default).

    Raises:
        ValueError: unknown name.
    """
    kw: dict[str, Any] = {} if reset is None else {"reset_mechanism": reset}
    if name == "leaky":
        return sn.Leaky(beta=beta, **kw)
    if name == "lapicque":
        return sn.Lapicque(beta=beta, **kw)
    if name == "synaptic":
        return sn.Synaptic(alpha=max(beta - 0.05, 0.0), beta=beta, **kw)
    if name == "alpha":
        return sn.Alpha(alpha=min(beta + 0.05, 0.99), beta=min(beta, 0.94), **kw)
    if name == "rleaky":
        return sn.RLeaky(beta=beta, linear_features=features, **kw)
    if name == "rsynaptic":
        return sn.RSynaptic(alpha=max(beta - 0.05, 0.0), beta=beta, linear_features=features, **kw)
    raise ValueError(f"unknown neuron {name!r}; choose one of {', '.join(NEURONS)}")


def build_network(
    in_features: int, hidden: int, num_classes: int, neuron: str, beta: float, reset: str | None = None
) -> SequentialSNN:
    """``Flatten -> Linear -> neuron -> Linear -> neuron`` as a `SequentialSNN`.

    Input ``[T, B, ...]`` (flattened per step to ``in_features``); output spikes ``[T, B, num_classes]``.
    """
    return SequentialSNN(
        nn.Flatten(), nn.Linear(in_features, hidden), make_neuron(neuron, beta, hidden, reset),
        nn.Linear(hidden, num_classes), make_neuron(neuron, beta, num_classes, reset),
    )


def run_network(model: SequentialSNN, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(spk_out[T, B, C], mem_out[T, B, C], spk_hidden[T, B, H])`` of `build_network`'s model."""
    spk, traces = model(x, record=True)
    return spk, traces[-1].states["mem"], traces[0].spk


def resolve_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def build_model(cfg: TrainConfig, data: DataSource) -> SequentialSNN:
    """The model of ``cfg`` for ``data``, initialised from ``cfg.seed``."""
    torch.manual_seed(cfg.seed)
    return build_network(data.in_features, cfg.hidden, data.num_classes, cfg.neuron, cfg.beta, cfg.reset)


def load_weights(model: nn.Module, state: dict[str, Any], source: Path) -> None:
    """Load a state dict, turning a mismatch into a one-line error that says what to do."""
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        detail = str(exc).splitlines()[1].strip() if "\n" in str(exc) else str(exc)
        raise ValueError(
            f"checkpoint {source} was saved from a different model ({detail[:160]}); use it "
            "with the config.toml of the run that made it"
        ) from None

