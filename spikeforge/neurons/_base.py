"""The one base class of the stateful spiking neurons.

It owns the parameters (threshold, graded spike factor, reset mechanism), the lazily created hidden
state, ``init_hidden``, reset/detach, ``state_quant``, inhibition and the output rule. A neuron class
only declares its state names, its parameters and its pure step function (`spikeforge.core`).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from .. import surrogate
from ..core import RESET_CODES, Firing
from ..runner import run
from . import _jit
from ._params import check_spike_grad, param_tensor
from ._registry import HybridMethod, WeakInstances


def _compiling() -> bool:
    """True while torch.compile (Dynamo) traces the code."""
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None) or torch._dynamo.is_compiling
    return bool(check())

Step = Callable[[Tensor, Any, Any, Firing], tuple[Tensor, Any]]


def positive_int(owner: str, name: str, value: Any) -> int:
    """``value`` if it is an int > 0 (not a bool).

    Raises:
        ValueError: naming ``owner`` and the argument ``name``, otherwise.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return value


class SpikingNeuron(nn.Module):
    """Base class of spiking neurons (snntorch ``SpikingNeuron``).

    Args:
        threshold: firing threshold ``theta`` (scalar or per-neuron tensor, membrane units).
        spike_grad: surrogate gradient (default `surrogate.atan`); any callable on ``U - theta``.
        surrogate_disable: use a plain step with no gradient (for export/compile).
        init_hidden: keep the hidden state inside the module and return only spikes.
        inhibition: winner-take-all: only the neuron with the largest ``U - theta`` in each row of a
            ``[B, N]`` input may spike (warns: dense layers only).
        learn_threshold: make ``threshold`` an ``nn.Parameter``.
        reset_mechanism: ``"subtract"``, ``"zero"`` or ``"none"``.
        state_quant: ``False`` or a callable quantising each state (`functional.quant.state_quant`).
        output: with ``init_hidden=True``, also return the states.
        graded_spikes_factor: spike amplitude ``g``.
        learn_graded_spikes_factor: make ``g`` an ``nn.Parameter``.

    TorchScript: ``torch.jit.trace`` of a network stepped once per call records the state updates
    (the traced module carries the state; `spikeforge.neurons.reset_traced` zeros it), while
    ``torch.jit.script`` raises a ``RuntimeError`` saying the neurons cannot be scripted.

    Raises:
        ValueError: for an unknown ``reset_mechanism``; a NaN or infinite parameter (``threshold`` may
            be ``+inf``: the neuron never fires; an infinite decay that is clamped warns instead).
            Negative thresholds are allowed (a model choice).
        TypeError: a parameter that is not a number, a sequence of numbers or a real tensor (a string,
            None); a ``spike_grad`` that is neither callable nor None.
    """

    instances: ClassVar[WeakInstances] = WeakInstances()
    reset_dict: ClassVar[dict[str, int]] = dict(RESET_CODES)
    #: names of the hidden states, in the order the forward returns them after ``spk``
    _state_names: ClassVar[tuple[str, ...]] = ()
    #: the pure step function of the model (None for models with their own forward)
    _step_fn: ClassVar[Step | None] = None
    #: how a mis-shaped parameter is named (by its step field) where the field is not the constructor
    #: argument (see `_raise_shape_error`; other fields are named as they are)
    _param_labels: ClassVar[dict[str, str]] = {"graded": "`graded_spikes_factor`"}

    def __init__(
        self,
        threshold: float | Tensor = 1.0,
        spike_grad: Callable[[Tensor], Tensor] | None = None,
        surrogate_disable: bool = False,
        init_hidden: bool = False,
        inhibition: bool = False,
        learn_threshold: bool = False,
        reset_mechanism: str = "subtract",
        state_quant: Callable[[Tensor], Tensor] | bool = False,
        output: bool = False,
        graded_spikes_factor: float | Tensor = 1.0,
        learn_graded_spikes_factor: bool = False,
    ) -> None:
        super().__init__()
        SpikingNeuron.instances.append(self)
        _check_reset(reset_mechanism)
        check_spike_grad(type(self).__name__, spike_grad)
        self.surrogate_disable = surrogate_disable
        if surrogate_disable:
            self.spike_grad: Callable[[Tensor], Tensor] = surrogate.heaviside_no_grad
        else:
            self.spike_grad = spike_grad if spike_grad is not None else surrogate.atan()
        self.init_hidden = init_hidden
        self.inhibition = inhibition
        self.output = output
        if inhibition:
            warnings.warn(
                "inhibition is only defined for dense [B, N] layers (winner-take-all over dim 1)",
                UserWarning,
                stacklevel=2,
            )
        self._register("threshold", threshold, learn_threshold)
        self._register("graded_spikes_factor", graded_spikes_factor, learn_graded_spikes_factor)
        self.register_buffer("reset_mechanism_val", torch.as_tensor(RESET_CODES[reset_mechanism]))
        self._reset_mechanism = reset_mechanism
        self.state_quant = state_quant

    # ----------------------------------------------------------------- parameters
    def _register(self, name: str, value: Any, learn: bool) -> None:
        """Register ``value`` as a Parameter (``learn``) or a persistent buffer named ``name``.

        Raises:
            TypeError: ``value`` is not a number, a sequence of numbers or a real tensor.
            ValueError: ``value`` holds NaN or an infinity (``+inf`` is allowed for a threshold).
        """
        t = param_tensor(type(self).__name__, name, value)
        if learn:
            setattr(self, name, nn.Parameter(t))
        else:
            self.register_buffer(name, t)

    def _register_states(self) -> None:
        """Create the lazy (empty, non-persistent) state buffers; called last by subclasses."""
        for name in self._state_names:
            self.register_buffer(name, torch.zeros(0), persistent=False)

    @property
    def reset_mechanism(self) -> str:
        """``"subtract"``, ``"zero"`` or ``"none"``; setting it changes the dynamics and the buffer."""
        return self._reset_mechanism

    @reset_mechanism.setter
    def reset_mechanism(self, value: str) -> None:
        _check_reset(value)
        self._reset_mechanism = value
        self.reset_mechanism_val.fill_(RESET_CODES[value])

    def _load_from_state_dict(self, state_dict: dict[str, Any], prefix: str, *args: Any) -> None:
        super()._load_from_state_dict(state_dict, prefix, *args)
        code = int(self.reset_mechanism_val)
        names = {v: k for k, v in RESET_CODES.items()}
        if code not in names:
            raise ValueError(f"{prefix}reset_mechanism_val must be 0, 1 or 2, got {code}")
        self._reset_mechanism = names[code]

    def firing(self) -> Firing:
        """The static firing configuration used by the step function."""
        return Firing(
            spike_fn=_jit.traceable(self.spike_grad) if _jit.is_tracing() else self.spike_grad,
            reset=RESET_CODES[self._reset_mechanism],
            reset_delay=bool(getattr(self, "reset_delay", True)),
            state_quant=self.state_quant if callable(self.state_quant) else None,
            inhibition=bool(self.inhibition),
        )

    def params(self) -> Any:  # pragma: no cover - abstract
        """The step function's Params NamedTuple (live tensors, so gradients flow)."""
        raise NotImplementedError

    # ----------------------------------------------------------------- snntorch helpers
    def fire(self, mem: Tensor) -> Tensor:
        """``S = H(q(mem) - theta) * g``."""
        from ..core import fire

        return fire(mem, self.threshold, self.graded_spikes_factor, self.firing()._replace(inhibition=False))

    def fire_inhibition(self, batch_size: int, mem: Tensor) -> Tensor:
        """Winner-take-all spike over dim 1 (no ``g``)."""
        from ..core import fire

        return fire(mem, self.threshold, self.graded_spikes_factor, self.firing()._replace(inhibition=True))

    def mem_reset(self, mem: Tensor) -> Tensor:
        """The detached reset mask ``[H(mem - theta)]``."""
        from ..core import reset_mask

        return reset_mask(mem, self.threshold, self.firing())

    @classmethod
    def init(cls) -> None:
        """Forget every registered instance (snntorch's ``SpikingNeuron.init()``)."""
        SpikingNeuron.instances.clear()

    @staticmethod
    def detach(*args: Tensor) -> None:
        """Detach each tensor in place."""
        for t in args:
            t.detach_()

    @staticmethod
    def zeros(*args: Tensor) -> None:
        """Zero each tensor in place (snntorch's version is a no-op).

        A leaf that requires grad (a Parameter, a learnable initial state) is zeroed outside autograd,
        as ``torch.nn.init.zeros_`` does; any other tensor through autograd, so a graph through it sees
        the zeros (gradient 0).
        """
        for t in args:
            if t.is_leaf and t.requires_grad:
                with torch.no_grad():
                    t.zero_()
            else:
                t.zero_()

    # ----------------------------------------------------------------- state handling
    def _states(self) -> tuple[Tensor, ...]:
        return tuple(getattr(self, n) for n in self._state_names)

    def _set_states(self, states: Sequence[Tensor]) -> None:
        for n, s in zip(self._state_names, states):
            setattr(self, n, s)

    def _state_shapes(self, x: Tensor) -> tuple[torch.Size, ...]:
        """The shape of each hidden state for a one-step input ``x`` (default: ``x.shape``)."""
        return tuple(x.shape for _ in self._state_names)

    def _param_shapes(self, x: Tensor) -> tuple[torch.Size, ...]:
        """The shapes the parameters (threshold, beta, ...) act on for a one-step input ``x``: the
        membrane's, the last state (SConv2dLSTM with pooling: also the pooled membrane)."""
        return (self._state_shapes(x)[-1],)

    def reset_mem(self) -> Any:
        """Zero the stored states (keeping their shape) and return them (one tensor or a tuple)."""
        for n in self._state_names:
            setattr(self, n, torch.zeros_like(getattr(self, n)))
        states = self._states()
        return states[0] if len(states) == 1 else states

    @HybridMethod
    def reset_hidden(self) -> None:
        """Zero the hidden states. On the class: every live instance; on an instance: that one."""
        self.reset_mem()

    @HybridMethod
    def detach_hidden(self) -> None:
        """Detach the hidden states from the graph. On the class: every live instance."""
        for n in self._state_names:
            setattr(self, n, getattr(self, n).detach())

    def _initial_states(self, x: Tensor, given: Sequence[Tensor | None]) -> tuple[Tensor, ...]:
        """Resolve the state to start from: an explicit argument, else the stored state, else zeros.

        As in snntorch, an explicit state whose shape does not fit the input is replaced by zeros
        (the tutorials pass ``torch.zeros(1)`` with a 0-d input, or the previous batch's state);
        a *non-zero* one warns once, since its values are dropped. An explicit state of another dtype
        is used as it is (the step computes in the promoted dtype, as snntorch does) and warns once.
        A stored state whose shape, dtype or device no longer matches (new batch size) restarts from
        zeros, as in snntorch.

        Raises:
            TypeError: an explicit state that is not a tensor.
        """
        shapes = self._state_shapes(x)
        out = []
        for name, shape, arg, stored in zip(self._state_names, shapes, given, self._states()):
            if arg is not None:
                if not isinstance(arg, Tensor):
                    raise TypeError(f"`{name}` must be a torch.Tensor or None, got {type(arg).__name__}")
                if arg.shape != shape:
                    # an empty state (init_leaky() and friends) has no values to lose; under the
                    # compiler the check would be a data-dependent graph break, so it is skipped there
                    if arg.numel() and not _compiling() and bool(arg.detach().ne(0).any()):
                        self._warn_once(
                            "state-shape",
                            f"`{name}` has shape {tuple(arg.shape)} but this input needs {tuple(shape)}: "
                            f"it is replaced by zeros (as snntorch does), so its values are not used",
                        )
                    arg = x.new_zeros(shape)
                elif arg.dtype != x.dtype:
                    self._warn_once(
                        "state-dtype",
                        f"`{name}` has dtype {arg.dtype} but the input has {x.dtype}: the step computes "
                        f"in {torch.promote_types(arg.dtype, x.dtype)}",
                    )
                out.append(arg)
            elif stored.shape == shape and stored.dtype == x.dtype and stored.device == x.device:
                out.append(stored)
            else:
                out.append(x.new_zeros(shape))
        return tuple(out)

    def _warn_once(self, key: str, message: str) -> None:
        """``warnings.warn(message)`` the first time ``key`` occurs on this instance."""
        seen = self.__dict__.setdefault("_warned", set())
        if key not in seen:
            seen.add(key)
            warnings.warn(f"{type(self).__name__}: {message}", UserWarning, stacklevel=4)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle/deepcopy with the hidden states detached: a state still attached to an autograd
        graph (after a step with learnable parameters) cannot be deep-copied by torch."""
        state = super().__getstate__()
        buffers = dict(state["_buffers"])
        for name in self._state_names:
            if isinstance(buffers.get(name), Tensor):
                buffers[name] = buffers[name].detach()
        state["_buffers"] = buffers
        return state

    def _check_input(self, input_: Any, name: str = "input_") -> Tensor:
        if not isinstance(input_, Tensor):
            raise TypeError(f"`{name}` must be a torch.Tensor, got {type(input_).__name__}")
        if not input_.is_floating_point():
            input_ = input_.to(torch.get_default_dtype())
        return input_

    # ----------------------------------------------------------------- forward
    def _forward(self, input_: Any, given: Sequence[Tensor | None]) -> Any:
        """Shared forward: check, resolve state, one step, store state, apply the output rule."""
        x = self._check_input(input_)
        if self.init_hidden:
            for name, arg in zip(self._state_names, given):
                if arg is not None:
                    raise TypeError(f"`{name}` should not be passed as an argument while `init_hidden=True`")
        tracing = _jit.is_tracing()
        if tracing:  # shapes are plain ints untraced; the buffers are made to fit, unrecorded
            with _jit.not_traced():
                _jit.fit_buffers(self._states(), self._state_shapes(x), x)
                state = self._initial_states(x, given)
        else:
            state = self._initial_states(x, given)
        step = type(self)._step_fn
        assert step is not None
        params = self.params()
        try:
            spk, new = step(x, self._state_tuple(state), params, self.firing())
        except RuntimeError as err:
            _raise_shape_error(self, err, params, x)
            raise
        if tracing:  # recorded in place, so the traced module carries its state between calls
            _jit.write_buffers(self._states(), tuple(new))
        else:
            self._set_states(tuple(new))
        return self._output(spk, tuple(new))

    def _state_tuple(self, states: Sequence[Tensor]) -> Any:
        """Wrap a tuple of states in the step's State NamedTuple."""
        return self._state_type(*states)

    _state_type: ClassVar[Any] = tuple

    def _output(self, spk: Tensor, states: tuple[Tensor, ...]) -> Any:
        """The output rule: ``output`` -> ``(spk, *states)``; ``init_hidden`` -> ``spk``; else the tuple."""
        if self.output or not self.init_hidden:
            return (spk, *states)
        return spk

    def forward_sequence(self, x: Tensor, *states: Tensor | None, record: bool = False) -> tuple[Tensor, ...]:
        """Run a whole time-major sequence.

        Args:
            x: input ``[T, B, ...]`` (T >= 1), the same per-step shape ``forward`` takes.
            *states: optional initial states in forward's order (default: the stored state when
                ``init_hidden=True`` and it fits, else zeros).
            record: return every step's states ``[T, B, ...]`` instead of the final ones.

        Returns:
            ``(spk[T, B, ...], *states)``, equal to calling ``forward`` T times. ``states`` are the
            final values of *every* hidden state in the order ``forward`` takes them (for RLeaky
            ``(spk, mem)``, the last spikes included), so ``forward_sequence(x2, *states)`` continues
            the sequence. With ``init_hidden=True`` the final state is also stored in the module.

        Raises:
            TypeError: if ``x`` is not a tensor. ValueError: if ``x`` has no time dimension.
        """
        xs = self._check_input(x, "x")
        if xs.dim() < 1 or xs.shape[0] == 0:
            raise ValueError(f"x must be time-major [T, B, ...] with T >= 1, got shape {tuple(xs.shape)}")
        given = list(states) + [None] * (len(self._state_names) - len(states))
        if self.init_hidden:
            init = self._initial_states(xs[0], given)
        else:  # explicit-state mode: a missing state is zero, never what a previous call left behind
            shapes = self._state_shapes(xs[0])
            init = self._initial_states(xs[0], [g if g is not None else xs.new_zeros(z)
                                                for g, z in zip(given, shapes)])
        dtype = functools.reduce(torch.promote_types, [s.dtype for s in init], xs.dtype)
        xs, init = xs.to(dtype), tuple(s.to(dtype) for s in init)
        step = type(self)._step_fn
        assert step is not None
        params = self.params()
        try:
            res = run(step, xs, self._state_tuple(init), params, self.firing(), record=record)
        except RuntimeError as err:
            _raise_shape_error(self, err, params, xs[0])
            raise
        if self.init_hidden:
            self._set_states(tuple(res.final))
        out = res.trace if record else res.final
        return (res.spk, *out)

    def __prepare_scriptable__(self) -> SpikingNeuron:
        """Called by ``torch.jit.script`` on every module it compiles: raise its one clear error."""
        raise RuntimeError(_jit.SCRIPT_ERROR.format(cls=type(self).__name__))


def _check_reset(reset_mechanism: Any) -> None:
    if reset_mechanism not in RESET_CODES:
        raise ValueError(
            f"reset_mechanism must be set to either 'subtract', 'zero', or 'none', got {reset_mechanism!r}"
        )


def _named_tensors(params: Any) -> list[tuple[str, Tensor]]:
    """The tensors of a step's parameter NamedTuple, nested ones included (RLeaky's one-to-one
    recurrence holds ``V``), by field name."""
    out: list[tuple[str, Tensor]] = []
    items = params.items() if isinstance(params, dict) else zip(getattr(params, "_fields", ()), params)
    for name, value in items:
        if isinstance(value, Tensor):
            out.append((name, value))
        elif hasattr(value, "_fields"):
            out += _named_tensors(value)
    return out


def _raise_shape_error(neuron: nn.Module, err: RuntimeError, params: Any, step: Tensor,
                       targets: Sequence[Sequence[int]] | None = None) -> None:
    """Re-raise a step's broadcast error naming the parameter whose shape does not fit.

    A bare torch message ("The size of tensor a (5) must match ...") names neither the neuron nor
    the parameter. snntorch raises the same ``RuntimeError`` type, so the type is kept; only the
    message says which parameter, its shape, and the shapes that would fit. The parameters act on the
    neuron's states (the input's step shape for the LIF family, the hidden size for the LSTMs), so
    each is compared with the membrane's shape for this input. Returns (and the caller re-raises
    ``err`` unchanged) when ``err`` is no broadcast error or every parameter broadcasts. (A
    mis-shaped state never gets here: it is replaced by zeros, as in snntorch.) ``params`` is the step's
    NamedTuple or a dict; ``targets`` the shapes they act on when the neuron has no step states
    (StateLeaky, LeakyParallel: the whole membrane, ``[T, B, N]`` or unbatched ``[T, N]``).
    """
    message = str(err)
    if "must match the size of tensor" not in message and "broadcast" not in message:
        return
    try:
        targets = [list(t) for t in (targets if targets is not None else neuron._param_shapes(step))]
    except Exception:  # noqa: BLE001 - only a better message is at stake: keep torch's
        return
    target = targets[-1]
    for name, value in _named_tensors(params):
        if value.dim() == 0:
            continue
        try:
            for t in targets:
                torch.broadcast_shapes(value.shape, tuple(t))
        except RuntimeError:
            pass
        else:
            continue
        # the dimensions every shape it acts on agrees on; 1 where they differ
        trailing = [d if all(t[i] == d for t in targets) else 1 for i, d in enumerate(target)]
        trailing = trailing[1:] if len(trailing) > 1 else trailing
        labels = getattr(neuron, "_param_labels", SpikingNeuron._param_labels)
        label = labels.get(name, f"`{name}`")
        raise RuntimeError(
            f"{type(neuron).__name__}: {label} has shape {list(value.shape)}, which does not broadcast "
            f"against the neuron's state for this input, shape "
            f"{' and '.join(str(t) for t in targets)}. A per-neuron value "
            f"needs its trailing dimensions (here {trailing}), with size 1 where it is shared, or one "
            f"value (a float or a 0-d tensor)."
        ) from err


def fire_named(neuron: nn.Module, fire: Callable[[], Tensor], mem: Tensor) -> Tensor:
    """``fire()`` (spikes from a whole membrane ``mem[T, B, N]``, for the neurons that fire a sequence
    at once: StateLeaky, LinearLeaky, LeakyParallel), a threshold or graded factor that does not fit the
    membrane named as `_raise_shape_error` names it."""
    try:
        return fire()
    except RuntimeError as err:
        params = {"threshold": neuron.threshold, "graded_spikes_factor": neuron.graded_spikes_factor}
        _raise_shape_error(neuron, err, params, mem, targets=(mem.shape,))
        raise
