"""Probes: record layer inputs, outputs, attributes (e.g. a neuron's ``mem``) and gradients over time.

Hooks go on every module of ``net.named_modules()`` that is an instance of ``instance`` (a class, a
tuple of classes, or a module whose class is used; ``None`` = the class of ``net``). Each call appends
one record; ``monitor[i]`` is the i-th record, ``monitor['layer.name']`` the list for one layer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

__all__ = [
    "BaseMonitor",
    "OutputMonitor",
    "InputMonitor",
    "AttributeMonitor",
    "GradInputMonitor",
    "GradOutputMonitor",
    "unpack_len1_tuple",
]


def unpack_len1_tuple(x: Any) -> Any:
    """``x[0]`` if ``x`` is a tuple of length 1, else ``x``."""
    return x[0] if isinstance(x, tuple) and len(x) == 1 else x


def _identity(x: Any) -> Any:
    return x


def _classes(net: nn.Module, instance: Any) -> type | tuple[type, ...]:
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
    if instance is None:
        return type(net)
    items = instance if isinstance(instance, tuple) else (instance,)
    out = tuple(i if isinstance(i, type) else type(i) for i in items)
    if not all(issubclass(c, nn.Module) for c in out):
        raise TypeError("instance must be an nn.Module class, a module, or a tuple of them")
    return out


class BaseMonitor:
    """Records, per-layer indexing, enable/disable and hook removal shared by the monitors."""

    def __init__(self) -> None:
        self.hooks: list[Any] = []
        self.monitored_layers: list[str] = []
        self.records: list[Any] = []
        self.name_records_index: dict[str, list[int]] = {}
        self._enable = True

    def __getitem__(self, i: int | str) -> Any:
        if isinstance(i, int):
            return self.records[i]
        if isinstance(i, str):
            if i not in self.name_records_index:
                raise KeyError(f"layer {i!r} is not monitored; monitored: {self.monitored_layers}")
            return [self.records[j] for j in self.name_records_index[i]]
        raise TypeError(f"index must be an int or a layer name, got {type(i).__name__}")

    def clear_recorded_data(self) -> None:
        self.records.clear()
        for v in self.name_records_index.values():
            v.clear()

    def enable(self) -> None:
        self._enable = True

    def disable(self) -> None:
        self._enable = False

    def is_enable(self) -> bool:
        return self._enable

    def remove_hooks(self) -> None:
        for h in self.hooks:
            h.remove()
        self.hooks = []

    def __del__(self) -> None:
        self.remove_hooks()

    def _attach(self, net: nn.Module, instance: Any, register: Callable[[nn.Module, str], Any]) -> None:
        cls = _classes(net, instance)
        for name, m in net.named_modules():
            if isinstance(m, cls):
                self.monitored_layers.append(name)
                self.name_records_index[name] = []
                self.hooks.append(register(m, name))

    def _record(self, name: str, value: Any) -> None:
        if self._enable:
            self.name_records_index[name].append(len(self.records))
            self.records.append(value)

    def _watch(self, net: nn.Module, instance: Any, backward: bool, which: int, fn_attr: str) -> None:
        """Hook the matching modules (forward, or full backward) and record
        ``self.<fn_attr>(hook argument number which)``; a 1-tuple is unpacked first."""

        def register(m: nn.Module, n: str) -> Any:
            def hook(_m: nn.Module, a: Any, b: Any) -> None:
                self._record(n, getattr(self, fn_attr)(unpack_len1_tuple((a, b)[which])))

            return m.register_full_backward_hook(hook) if backward else m.register_forward_hook(hook)

        self._attach(net, instance, register)


class OutputMonitor(BaseMonitor):
    """Record ``function_on_output(output)`` after every forward of the matching modules."""

    def __init__(
        self, net: nn.Module, instance: Any = None, function_on_output: Callable = _identity
    ) -> None:
        super().__init__()
        self.function_on_output = function_on_output
        self._watch(net, instance, backward=False, which=1, fn_attr="function_on_output")


class InputMonitor(BaseMonitor):
    """Record ``function_on_input(input)`` (a 1-tuple of inputs is unpacked) at every forward."""

    def __init__(self, net: nn.Module, instance: Any = None, function_on_input: Callable = _identity) -> None:
        super().__init__()
        self.function_on_input = function_on_input
        self._watch(net, instance, backward=False, which=0, fn_attr="function_on_input")


class AttributeMonitor(BaseMonitor):
    """Record ``function_on_attribute(module.<attribute_name>)`` before (``pre_forward``) or after each
    forward (e.g. ``'mem'`` of a neuron)."""

    def __init__(
        self,
        attribute_name: str,
        pre_forward: bool,
        net: nn.Module,
        instance: Any = None,
        function_on_attribute: Callable = _identity,
    ) -> None:
        super().__init__()
        self.attribute_name = attribute_name
        self.function_on_attribute = function_on_attribute

        def register(m: nn.Module, n: str) -> Any:
            def grab(mod: nn.Module, *_: Any) -> None:
                self._record(n, self.function_on_attribute(getattr(mod, attribute_name)))

            return m.register_forward_pre_hook(grab) if pre_forward else m.register_forward_hook(grab)

        self._attach(net, instance, register)


class GradInputMonitor(BaseMonitor):
    """Record ``function_on_grad_input(grad_input)`` in every backward (full backward hook)."""

    def __init__(
        self, net: nn.Module, instance: Any = None, function_on_grad_input: Callable = _identity
    ) -> None:
        super().__init__()
        self.function_on_grad_input = function_on_grad_input
        self._watch(net, instance, backward=True, which=0, fn_attr="function_on_grad_input")


class GradOutputMonitor(BaseMonitor):
    """Record ``function_on_grad_output(grad_output)`` in every backward (full backward hook)."""

    def __init__(
        self, net: nn.Module, instance: Any = None, function_on_grad_output: Callable = _identity
    ) -> None:
        super().__init__()
        self.function_on_grad_output = function_on_grad_output
        self._watch(net, instance, backward=True, which=1, fn_attr="function_on_grad_output")
