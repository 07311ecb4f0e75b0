"""Training utilities (``snntorch.utils`` compatible): hidden-state reset and data-set helpers."""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import nn

from .neurons._base import SpikingNeuron

__all__ = ["reset", "data_subset", "valid_split"]


def reset(net: nn.Module) -> nn.Module:
    """Zero and detach the hidden state of every spiking neuron reachable from ``net``.

    Walks ``net.modules()`` (nested containers included; ``net`` itself too) and touches nothing
    else: neurons of other networks keep their state (snntorch 1.0.0 resets every instance of the
    flagged classes everywhere and misses nested ones).

    Args:
        net: any module (a neuron, ``nn.Sequential``, a custom network).

    Returns:
        ``net``, for chaining.

    Raises:
        TypeError: if ``net`` is not an ``nn.Module``.
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be a torch.nn.Module, got {type(net).__name__}")
    for m in net.modules():
        if isinstance(m, SpikingNeuron):
            m.reset_hidden()
            m.detach_hidden()
        elif hasattr(m, "reset_state") and callable(m.reset_state):
            m.reset_state()
    return net


def _check_dataset(dataset: Any, name: str) -> int:
    if not (hasattr(dataset, "data") and hasattr(dataset, "targets")):
        raise TypeError(
            f"{name} must have .data and .targets (torchvision-style), got {type(dataset).__name__}"
        )
    if len(dataset.data) != len(dataset.targets):
        raise ValueError(f"{name}.data and {name}.targets differ in length")
    return len(dataset.data)


def data_subset(dataset: Any, subset: int, idx: int = 0) -> Any:
    """Keep the ``idx``-th of ``subset`` equal contiguous parts of ``dataset`` (in place).

    Keeps ``data[k*idx : k*(idx+1)]`` and the matching ``targets``, ``k = N // subset``;
    ``subset <= 1`` keeps everything.

    Args:
        dataset: object with indexable ``.data`` and ``.targets`` (torchvision style).
        subset: number of parts. idx: which part, ``0 <= idx < subset``.

    Returns:
        ``dataset``, modified in place.

    Raises:
        TypeError: no ``.data``/``.targets``. ValueError: bad ``subset`` or ``idx``.
    """
    n = _check_dataset(dataset, "dataset")
    if isinstance(subset, bool) or int(subset) != subset or subset < 1:
        raise ValueError(f"subset must be a positive int, got {subset!r}")
    if subset > 1:
        if isinstance(idx, bool) or int(idx) != idx or not 0 <= idx < subset:
            raise ValueError(f"idx must be an int in [0, {subset - 1}], got {idx!r}")
        keep = np.arange(n)[n // subset * idx : n // subset * (idx + 1)]
        dataset.data, dataset.targets = dataset.data[keep], dataset.targets[keep]
    return dataset


def valid_split(ds_train: Any, ds_val: Any, split: float, seed: int = 0) -> tuple[Any, Any]:
    """Move a random fraction ``split`` of ``ds_train`` into ``ds_val`` (both modified in place).

    ``numpy.random.default_rng(seed)`` draws the ``n - int(n * split)`` training indices (in draw
    order); the rest, in ascending order, become ``ds_val.data``/``ds_val.targets``.

    Returns:
        ``(ds_train, ds_val)``.

    Raises:
        TypeError: a data set without ``.data``/``.targets``. ValueError: ``split`` outside ``[0, 1]``.
    """
    n = _check_dataset(ds_train, "ds_train")
    if not 0 <= split <= 1:
        raise ValueError(f"split must lie in [0, 1], got {split}")
    train_idx = np.random.default_rng(seed=seed).choice(n, size=n - int(n * split), replace=False)
    val_idx = np.setdiff1d(np.arange(n), train_idx)
    ds_val.data, ds_val.targets = ds_train.data[val_idx], ds_train.targets[val_idx]
    ds_train.data, ds_train.targets = ds_train.data[train_idx], ds_train.targets[train_idx]
    return ds_train, ds_val


def _final_layer_check(net: nn.Module) -> int:
    """How many values the last child of ``net`` returns with ``output=True``: 1 + its states other
    than ``spk`` (Leaky 2, Synaptic 3, Alpha 4, RLeaky 2, RSynaptic 3); 1 for a non-neuron."""
    children = list(net.children())
    last = children[-1] if children else net
    if not isinstance(last, SpikingNeuron):
        return 1
    return 1 + len([n for n in last._state_names if n != "spk"])
