"""The model that ``spikeforge train`` trains: neuron choice, network, device and weight loading;
re-exported by `spikeforge.training.trainer`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from .. import neurons as sn
from ..data.loaders import DataSource
from ..network import SequentialSNN
from ._train_config import NEURONS, TrainConfig


def make_neuron(
    name: str, beta: float, features: int, reset: str | None = None, conv: bool = False
) -> nn.Module:
    """A spikeforge neuron by name, with ``beta`` as membrane decay (``alpha = beta - 0.05`` for Synaptic,
    ``alpha = beta + 0.05`` capped at 0.99 for Alpha, which needs ``alpha > beta``) and ``reset`` as its
    reset mechanism (None: the neuron's default). Lapicque gets ``R = 1/ln(1/beta)``, so that its
    input gain ``R*ln(1/beta)`` is 1 as in Leaky (with ``beta`` alone, ``R = 1`` and the input enters
    scaled by ``ln(1/beta)``, about 0.1 at 0.9, too weak to make the untrained network spike). The
    recurrent neurons get an all-to-all recurrence over ``features``: a Linear, or with ``conv`` a 3x3
    convolution over ``features`` channels.

    Raises:
        ValueError: unknown name.
    """
    kw: dict[str, Any] = {} if reset is None else {"reset_mechanism": reset}
    if name == "leaky":
        return sn.Leaky(beta=beta, **kw)
    if name == "lapicque":  # R = 1/ln(1/beta): the input enters with gain R*ln(1/beta) = 1, as in Leaky
        return sn.Lapicque(beta=beta, R=1 / math.log(1 / beta), **kw)
    if name == "synaptic":
        return sn.Synaptic(alpha=max(beta - 0.05, 0.0), beta=beta, **kw)
    if name == "alpha":
        return sn.Alpha(alpha=min(beta + 0.05, 0.99), beta=min(beta, 0.94), **kw)
    if name in ("rleaky", "rsynaptic"):
        kw.update({"conv2d_channels": features, "kernel_size": 3} if conv else {"linear_features": features})
        if name == "rleaky":
            return sn.RLeaky(beta=beta, **kw)
        return sn.RSynaptic(alpha=max(beta - 0.05, 0.0), beta=beta, **kw)
    raise ValueError(f"unknown neuron {name!r}; choose one of {', '.join(NEURONS)}")


#: the channels of the two convolutions of the ``conv`` model
CONV_CHANNELS = (12, 32)


def build_network(
    in_features: int, hidden: int, num_classes: int, neuron: str, beta: float, reset: str | None = None,
    model: str = "mlp", input_shape: tuple[int, ...] | None = None,
) -> SequentialSNN:
    """The network ``spikeforge train`` trains, as a `SequentialSNN`; output spikes ``[T, B, num_classes]``.

    ``mlp``: ``Flatten -> Linear(in_features, hidden) -> neuron -> Linear(hidden, num_classes) -> neuron``,
    for input ``[T, B, ...]`` flattened per step to ``in_features``.

    ``conv``, for input ``[T, B, C, H, W]`` (``input_shape = (C, H, W)``): two blocks of
    ``Conv2d(5x5, padding 2) -> AvgPool2d(2) -> neuron`` with `CONV_CHANNELS` channels (pooling before
    the neuron, so the neurons see pooled currents; average pooling, since NIR has no max pooling),
    then ``Flatten -> Linear(., hidden) -> neuron -> Linear(hidden, num_classes) -> neuron``.

    Raises:
        ValueError: ``conv`` without a ``(C, H, W)`` input shape of at least 4x4 pixels.
    """
    if model == "mlp":
        return SequentialSNN(
            nn.Flatten(), nn.Linear(in_features, hidden), make_neuron(neuron, beta, hidden, reset),
            nn.Linear(hidden, num_classes), make_neuron(neuron, beta, num_classes, reset),
        )
    if input_shape is None or len(input_shape) != 3 or min(input_shape[1:]) < 4:
        raise ValueError(f"--model conv needs frames of shape (channels, height, width) of at least 4x4 "
                         f"pixels, got {input_shape}; use --model mlp, or a larger --downsample for event "
                         "data")
    (c, h, w), (c1, c2) = input_shape, CONV_CHANNELS
    flat = c2 * (h // 2 // 2) * (w // 2 // 2)
    return SequentialSNN(
        nn.Conv2d(c, c1, 5, padding=2), nn.AvgPool2d(2), make_neuron(neuron, beta, c1, reset, conv=True),
        nn.Conv2d(c1, c2, 5, padding=2), nn.AvgPool2d(2), make_neuron(neuron, beta, c2, reset, conv=True),
        nn.Flatten(), nn.Linear(flat, hidden), make_neuron(neuron, beta, hidden, reset),
        nn.Linear(hidden, num_classes), make_neuron(neuron, beta, num_classes, reset),
    )


def run_network(model: SequentialSNN, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``(spk_out[T, B, C], mem_out[T, B, C], spk_hidden[T, B, ...])`` of `build_network`'s model
    (``spk_hidden``: the first neuron layer's spikes)."""
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
    return build_network(data.in_features, cfg.hidden, data.num_classes, cfg.neuron, cfg.beta, cfg.reset,
                         model=cfg.model, input_shape=data.input_shape)


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

