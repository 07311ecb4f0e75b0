"""The class-level registry of live neurons (snntorch's ``SpikingNeuron.instances``) and the
methods that act on one instance or, called on the class, on every live instance."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from typing import Any

from torch import nn


class WeakInstances:
    """A list-like registry of live neurons that does not keep them alive (snntorch's
    ``SpikingNeuron.instances`` was a plain list that leaked every neuron ever built)."""

    def __init__(self) -> None:
        self._refs: list[weakref.ref[nn.Module]] = []

    def append(self, module: nn.Module) -> None:
        self._refs = [r for r in self._refs if r() is not None]
        self._refs.append(weakref.ref(module))

    def clear(self) -> None:
        self._refs = []

    def __iter__(self) -> Iterator[nn.Module]:
        return iter([m for m in (r() for r in self._refs) if m is not None])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._refs = []


class HybridMethod:
    """``Cls.method()`` acts on every live instance of ``Cls`` (snntorch's class-level behaviour);
    ``instance.method()`` acts on that instance only."""

    def __init__(self, func: Callable[[Any], None]) -> None:
        self.func = func
        self.__doc__ = func.__doc__

    def __get__(self, obj: Any, cls: type) -> Callable[[], None]:
        if obj is not None:
            return lambda: self.func(obj)

        def on_all() -> None:
            for m in cls.instances:
                if isinstance(m, cls):
                    self.func(m)

        return on_all
