"""Constructor arguments that are parameters (beta, alpha, threshold, V, R, C, ...) are checked at
construction: a clear TypeError/ValueError naming the argument, never a torch internal error or a
failure at the first forward. Values outside the natural range stay allowed (beta > 1 is clamped at
use, a negative threshold is a model choice); what snntorch accepts and computes with (a bool, an
infinite decay that is clamped) is accepted with a warning."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor

import spikeforge as snn

Build = Callable[[Any], Any]

# name of the checked argument -> a constructor taking that argument's value
BUILDERS: dict[str, list[tuple[str, Build]]] = {
    "beta": [
        ("Leaky", lambda v: snn.Leaky(beta=v)),
        ("Synaptic", lambda v: snn.Synaptic(alpha=0.5, beta=v)),
        ("RLeaky", lambda v: snn.RLeaky(beta=v, all_to_all=False)),
        ("RSynaptic", lambda v: snn.RSynaptic(alpha=0.5, beta=v, all_to_all=False)),
        ("Lapicque", lambda v: snn.Lapicque(beta=v)),
        ("StateLeaky", lambda v: snn.StateLeaky(beta=v, channels=2)),
        ("LeakyParallel", lambda v: snn.LeakyParallel(2, 3, beta=v)),
        ("DeltaLeaky", lambda v: snn.DeltaLeaky(beta=v, delta_threshold=0.1)),
    ],
    "alpha": [
        ("Synaptic", lambda v: snn.Synaptic(alpha=v, beta=0.5)),
        ("RSynaptic", lambda v: snn.RSynaptic(alpha=v, beta=0.5, all_to_all=False)),
        ("Alpha", lambda v: snn.Alpha(alpha=v, beta=0.5)),
    ],
    "threshold": [
        ("Leaky", lambda v: snn.Leaky(beta=0.9, threshold=v)),
        ("SLSTM", lambda v: snn.SLSTM(2, 3, threshold=v)),
        ("LeakyParallel", lambda v: snn.LeakyParallel(2, 3, threshold=v)),
        ("StateLeaky", lambda v: snn.StateLeaky(beta=0.9, channels=2, threshold=v)),
    ],
    "graded_spikes_factor": [
        ("Leaky", lambda v: snn.Leaky(beta=0.9, graded_spikes_factor=v)),
        ("LeakyParallel", lambda v: snn.LeakyParallel(2, 3, graded_spikes_factor=v)),
    ],
    "V": [
        ("RLeaky", lambda v: snn.RLeaky(beta=0.9, V=v, all_to_all=False)),
        ("RSynaptic", lambda v: snn.RSynaptic(alpha=0.5, beta=0.9, V=v, all_to_all=False)),
    ],
    "R": [("Lapicque", lambda v: snn.Lapicque(R=v, C=1.0))],
    "C": [("Lapicque", lambda v: snn.Lapicque(R=1.0, C=v))],
    "time_step": [("Lapicque", lambda v: snn.Lapicque(beta=0.9, time_step=v))],
    "delta_threshold": [("DeltaLeaky", lambda v: snn.DeltaLeaky(beta=0.9, delta_threshold=v))],
}
CASES = [(arg, owner, build) for arg, rows in BUILDERS.items() for owner, build in rows]
IDS = [f"{owner}-{arg}" for arg, owner, _ in CASES]


# None means "not given" for Lapicque's beta/R/C and LeakyParallel's beta (snntorch's defaults)
OPTIONAL = {("Lapicque", "beta"), ("Lapicque", "R"), ("Lapicque", "C"), ("LeakyParallel", "beta")}


@pytest.mark.parametrize(("arg", "owner", "build"), CASES, ids=IDS)
@pytest.mark.parametrize("bad", ["0.9", None, 1 + 2j, [], ["a"]])
def test_non_numeric_parameter_is_a_type_error(arg: str, owner: str, build: Build, bad: Any) -> None:
    if bad is None and (owner, arg) in OPTIONAL:
        return
    with pytest.raises(TypeError, match=rf"{owner}: {arg} must be a number"):
        build(bad)


@pytest.mark.parametrize(("arg", "owner", "build"), CASES, ids=IDS)
def test_nan_parameter_is_a_value_error_naming_it(arg: str, owner: str, build: Build) -> None:
    with pytest.raises(ValueError, match=rf"{owner}: {arg} must not be NaN"):
        build(float("nan"))
    with pytest.raises(ValueError, match=rf"{owner}: {arg} must not be NaN"):
        build(torch.tensor([0.5, float("nan")]))


# decays clamped to [0, 1] at use: snntorch accepts an infinite one (clamped), so do we, with a warning
_CLAMPING = ("Leaky", "Synaptic", "RLeaky", "RSynaptic", "LeakyParallel", "DeltaLeaky")
CLAMPED_INF = {("beta", o) for o in _CLAMPING}
CLAMPED_INF |= {("alpha", o) for o in ("Synaptic", "RSynaptic", "Alpha")}


@pytest.mark.parametrize(("arg", "owner", "build"), CASES, ids=IDS)
def test_infinite_parameter_only_plus_inf_threshold_or_clamped_decay(
    arg: str, owner: str, build: Build
) -> None:
    if (arg, owner) in CLAMPED_INF:
        for inf in (float("inf"), float("-inf")) if owner != "Alpha" else (float("inf"),):
            with pytest.warns(UserWarning, match=rf"{owner}: {arg}=-?inf is infinite; it is clamped"):
                build(inf)
        return
    with pytest.raises(ValueError, match=rf"{owner}: {arg} must be finite"):
        build(float("-inf"))
    if arg in ("threshold", "delta_threshold"):
        build(float("inf"))  # a neuron that never fires
    else:
        with pytest.raises(ValueError, match=rf"{owner}: {arg} must be finite"):
            build(float("inf"))


def test_infinite_beta_steps_like_beta_one() -> None:
    """snntorch clamps beta = inf to 1: U = 1*0.4 + 0.2 = 0.6 (and -inf to 0: U = 0.2)."""
    with pytest.warns(UserWarning, match="clamped"):
        hi, lo = snn.Leaky(beta=float("inf")), snn.Leaky(beta=float("-inf"))
    assert hi(torch.tensor([0.2]), torch.tensor([0.4]))[1].item() == pytest.approx(0.6)
    assert lo(torch.tensor([0.2]), torch.tensor([0.4]))[1].item() == pytest.approx(0.2)


@pytest.mark.parametrize(("arg", "owner", "build"), CASES, ids=IDS)
@pytest.mark.parametrize("flag", [True, torch.tensor([True, False])])
def test_bool_parameter_is_read_as_a_number_with_a_warning(
    arg: str, owner: str, build: Build, flag: Any
) -> None:
    """snntorch turns a bool into a tensor and computes with it (beta=True acts as beta=1)."""
    if (owner, arg) in {("Lapicque", "beta"), ("Alpha", "alpha")} or isinstance(flag, torch.Tensor) and (
        owner in ("Lapicque", "StateLeaky", "LeakyParallel", "SLSTM") or arg == "delta_threshold"
    ):
        return  # beta = 1 cannot derive R and C; alpha = 1 is not > beta with beta=1; per-neuron sizes
    with pytest.warns(UserWarning, match=rf"{owner}: {arg}=.* is a bool and is read as a number"):
        build(flag)


def test_bool_beta_steps_like_beta_one() -> None:
    """beta=True: U[1] = 1*U[0] + X - R*theta; from U[0] = 0.4, X = 0.2: 0.6 (snntorch gives 0.6)."""
    with pytest.warns(UserWarning, match="bool"):
        lif = snn.Leaky(beta=True)
    assert lif.beta.dtype == torch.get_default_dtype()
    assert lif(torch.tensor([0.2]), torch.tensor([0.4]))[1].item() == pytest.approx(0.6)


def test_string_number_gets_a_hint() -> None:
    with pytest.raises(TypeError, match=r"pass 0\.9, not the string '0\.9'"):
        snn.Leaky(beta="0.9")


@pytest.mark.parametrize(
    "value", [0.5, 1, np.float32(0.5), np.array([0.5, 0.25], dtype=np.float32), [0.5, 0.25], (0.5,)]
)
def test_numbers_sequences_and_arrays_are_accepted(value: Any) -> None:
    lif = snn.Leaky(beta=value)
    assert lif.beta.is_floating_point()
    assert torch.allclose(lif.beta.double(), torch.as_tensor(np.asarray(value, dtype=np.float64)))


def test_beta_outside_unit_interval_is_kept_and_clamped_at_use() -> None:
    """beta = 1.5 is stored as given; the step uses clamp(beta, 0, 1) = 1: U = 1*0.4 + 0.2 = 0.6."""
    lif = snn.Leaky(beta=1.5)
    assert lif.beta.item() == 1.5
    _, mem = lif(torch.tensor([[0.2]]), torch.tensor([[0.4]]))
    assert mem.item() == pytest.approx(0.6)


def test_negative_threshold_is_allowed() -> None:
    """theta = -0.5: an input of 0 from U = 0 gives U = 0 > -0.5, a spike."""
    spk, _ = snn.Leaky(beta=0.9, threshold=-0.5)(torch.zeros(1, 1), torch.zeros(1, 1))
    assert spk.item() == 1.0


def test_learnable_tensor_parameter_is_copied_not_shared() -> None:
    b = torch.tensor(0.8, requires_grad=True)
    lif = snn.Leaky(beta=b, learn_beta=True)
    assert isinstance(lif.beta, torch.nn.Parameter)
    assert lif.beta.data_ptr() != b.data_ptr()


@pytest.mark.parametrize(
    ("owner", "build"),
    [
        ("Leaky", lambda g: snn.Leaky(beta=0.9, spike_grad=g)),
        ("Synaptic", lambda g: snn.Synaptic(alpha=0.5, beta=0.9, spike_grad=g)),
        ("SLSTM", lambda g: snn.SLSTM(2, 3, spike_grad=g)),
        ("LeakyParallel", lambda g: snn.LeakyParallel(2, 3, spike_grad=g)),
        ("StateLeaky", lambda g: snn.StateLeaky(beta=0.9, channels=2, spike_grad=g)),
    ],
)
def test_spike_grad_must_be_callable(owner: str, build: Build) -> None:
    with pytest.raises(TypeError, match=rf"{owner}: spike_grad must be a callable.*surrogate\.atan\(\), not"):
        build("atan")
    with pytest.raises(TypeError, match=rf"{owner}: spike_grad must be a callable"):
        build(0.5)
    assert build(snn.surrogate.fast_sigmoid()).spike_grad is not None


# A per-neuron parameter whose shape does not fit the input only shows at the first step (the
# constructor does not know the input). snntorch raises torch's bare broadcast RuntimeError there;
# spikeforge raises the same type, naming the neuron, the constructor argument and the shapes.
WRONG_SHAPE: list[tuple[str, Callable[[Tensor], Any], str]] = [
    ("Leaky beta", lambda p: snn.Leaky(beta=p), "beta"),
    ("Leaky threshold", lambda p: snn.Leaky(beta=0.9, threshold=p), "threshold"),
    ("Leaky learnable", lambda p: snn.Leaky(beta=p, learn_beta=True), "beta"),
    ("Synaptic alpha", lambda p: snn.Synaptic(alpha=p, beta=0.9), "alpha"),
    ("RLeaky one-to-one", lambda p: snn.RLeaky(beta=p, all_to_all=False), "beta"),
    ("Alpha beta", lambda p: snn.Alpha(alpha=0.9, beta=p), "beta"),
    ("Leaky graded", lambda p: snn.Leaky(beta=0.9, graded_spikes_factor=p), "graded_spikes_factor"),
    ("RLeaky V", lambda p: snn.RLeaky(beta=0.9, V=p, all_to_all=False), "V"),
    ("RSynaptic V", lambda p: snn.RSynaptic(alpha=0.8, beta=0.9, V=p, all_to_all=False), "V"),
    ("Lapicque", lambda p: snn.Lapicque(beta=p.clamp(0.1, 0.9)), "R"),  # R = ones_like(beta)
]


@pytest.mark.parametrize("shape", [(5,), (2, 10), (10, 1), (3, 5)])
@pytest.mark.parametrize("how", ["step", "sequence", "SequentialSNN"])
@pytest.mark.parametrize(("case", "build", "name"), WRONG_SHAPE, ids=[c[0] for c in WRONG_SHAPE])
def test_parameter_that_does_not_fit_the_input_names_itself(
    case: str, build: Callable[[Tensor], Any], name: str, how: str, shape: tuple[int, ...]
) -> None:
    # steps are [B=3, F=10]: none of these shapes broadcasts against [3, 10]
    value = torch.full(shape, 0.5)
    neuron = build(value)
    with pytest.raises(RuntimeError) as info:
        if how == "step":
            neuron(torch.rand(3, 10))
        elif how == "sequence":
            neuron.forward_sequence(torch.rand(4, 3, 10))
        else:
            snn.SequentialSNN(torch.nn.Identity(), neuron)(torch.rand(4, 3, 10))
    msg = str(info.value)
    assert f"`{name}`" in msg and f"has shape {list(shape)}" in msg
    assert type(neuron).__name__ in msg and "[3, 10]" in msg and "(here [10])" in msg
    assert isinstance(info.value.__cause__, RuntimeError)  # torch's own message is kept as the cause


def test_shapes_that_fit_still_run_and_other_errors_pass_through() -> None:
    # [10], [1, 10], [3, 1] and [3, 10] all broadcast against steps [3, 10]
    for shape in [(10,), (1, 10), (3, 1), (3, 10)]:
        spk, mem = snn.Leaky(beta=torch.full(shape, 0.5))(torch.ones(3, 10))
        assert mem.shape == (3, 10) and torch.equal(mem, torch.ones(3, 10))
    # an error that is not a parameter's shape passes through unchanged, step and sequence
    def boom(*args: Any) -> Any:
        raise RuntimeError("boom from the step")

    class Boom(snn.Leaky):
        _step_fn = staticmethod(boom)

    neuron = Boom(beta=torch.full((10,), 0.5))
    for call in (lambda: neuron(torch.rand(3, 10)), lambda: neuron.forward_sequence(torch.rand(4, 3, 10))):
        with pytest.raises(RuntimeError) as info:
            call()
        assert str(info.value) == "boom from the step" and info.value.__cause__ is None


def test_lstm_parameters_are_compared_with_the_hidden_state() -> None:
    """The SLSTM's parameters act on its hidden state ([B, hidden]), not on the input step ([B, in]):
    a threshold per hidden unit runs; a wrong one is told the hidden size; an error that is not a
    parameter's shape (a surrogate that fails) passes through unchanged."""
    spk, syn, mem = snn.SLSTM(10, 20, threshold=torch.full((20,), 0.5))(torch.rand(3, 10))
    assert mem.shape == (3, 20)
    with pytest.raises(RuntimeError, match=r"`threshold` has shape \[10\].*shape \[3, 20\].*\(here \[20\]\)"):
        snn.SLSTM(10, 20, threshold=torch.full((10,), 0.5))(torch.rand(3, 10))
    with pytest.raises(RuntimeError, match=r"`threshold` has shape \[3, 1, 1\].*\(here \[4, 8, 8\]\)"):
        snn.SConv2dLSTM(2, 4, 3, threshold=torch.ones(3, 1, 1))(torch.rand(3, 2, 8, 8))

    def failing(x: Tensor) -> Tensor:
        raise RuntimeError("my surrogate failed")

    neuron = snn.SLSTM(10, 20, threshold=torch.full((20,), 0.5), spike_grad=failing)
    for call in (lambda: neuron(torch.rand(3, 10)), lambda: neuron.forward_sequence(torch.rand(4, 3, 10))):
        with pytest.raises(RuntimeError) as info:
            call()
        assert str(info.value) == "my surrogate failed" and info.value.__cause__ is None


def test_sconv2dlstm_with_pooling_names_both_shapes_its_threshold_meets() -> None:
    """With pooling the threshold meets the membrane [B, C, H, W] (the reset mask) and the pooled one
    [B, C, H/p, W/p] (the firing): only [C, 1, 1] (or one value) fits both, which the hint says."""
    x = torch.rand(2, 3, 6, 6)
    spk, _, _ = snn.SConv2dLSTM(3, 4, 3, max_pool=2, threshold=torch.full((4, 1, 1), 0.05))(x)
    assert spk.shape == (2, 4, 3, 3)
    for shape in [(4, 3, 3), (4, 6, 6)]:
        for pool in ("max_pool", "avg_pool"):
            neuron = snn.SConv2dLSTM(3, 4, 3, threshold=torch.full(shape, 0.05), **{pool: 2})
            with pytest.raises(RuntimeError) as info:
                neuron(x)
            msg = str(info.value)
            assert f"`threshold` has shape {list(shape)}" in msg
            assert "[2, 4, 6, 6] and [2, 4, 3, 3]" in msg and "(here [4, 1, 1])" in msg


def test_lapicque_derived_r_or_c_checked_per_neuron_and_r_c_shapes() -> None:
    # a beta of 1 (C = dt/(R ln 1) = inf) or 0 (C = 0) in any neuron is refused, as one value is
    for beta in ([0.5, 1.0], [0.0, 0.5], 1.0, 0.0):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            snn.Lapicque(beta=torch.tensor(beta))
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        snn.Lapicque(beta=torch.tensor([0.5, 1.0]), R=2.0)  # C derived from beta and R
    # beta > 1 gives a finite negative C, which snntorch accepts too: kept
    assert float(snn.Lapicque(beta=1.5).C) < 0
    with pytest.raises(ValueError, match=r"R of shape \[5\] and C of shape \[4\] do not broadcast"):
        snn.Lapicque(R=torch.ones(5), C=torch.ones(4))


SEQUENCE_NEURONS: list[tuple[str, Callable[[dict], Any], int]] = [
    ("StateLeaky", lambda kw: snn.StateLeaky(beta=0.9, channels=6, output=True, **kw), 6),
    ("LinearLeaky", lambda kw: snn.LinearLeaky(beta=0.9, in_features=4, out_features=6, output=True, **kw),
     4),
    ("LeakyParallel", lambda kw: snn.LeakyParallel(4, 6, **kw), 4),
]


@pytest.mark.parametrize("arg", ["threshold", "graded_spikes_factor"])
@pytest.mark.parametrize(("owner", "build", "width"), SEQUENCE_NEURONS, ids=[c[0] for c in SEQUENCE_NEURONS])
def test_whole_sequence_neurons_name_a_mis_shaped_threshold(
    owner: str, build: Callable[[dict], Any], width: int, arg: str
) -> None:
    """The neurons that fire a whole membrane [T, B, 6] at once name the argument too (forward and
    forward_sequence), checked against that whole membrane ([3, 6] fits one step but not [5, 3, 6]); a
    per-neuron [6] value and a [T, B, 6] one run."""
    x = torch.rand(5, 3, width)
    build({arg: torch.full((6,), 0.5)})(x)
    build({arg: torch.full((5, 3, 6), 0.5)})(x)
    for bad in [(7,), (4, 3, 6)]:
        neuron = build({arg: torch.full(bad, 0.5)})
        for call in (neuron, neuron.forward_sequence):
            with pytest.raises(RuntimeError) as info:
                call(x)
            msg = str(info.value)
            assert msg.startswith(f"{owner}: `{arg}` has shape {list(bad)}")
            assert "shape [5, 3, 6]" in msg and "(here [3, 6])" in msg


def test_leaky_parallel_unbatched_input_names_a_mis_shaped_threshold() -> None:
    """Unbatched [T, F] input: the membrane is [T, 6]; a [2, 6] threshold fits one step's [6] but not
    the membrane, and is named; [5, 6] (one per step and neuron) runs."""
    x = torch.rand(5, 4)
    snn.LeakyParallel(4, 6, threshold=torch.full((5, 6), 0.5))(x)
    with pytest.raises(RuntimeError, match=r"`threshold` has shape \[2, 6\].*shape \[5, 6\].*\(here \[6\]\)"):
        snn.LeakyParallel(4, 6, threshold=torch.full((2, 6), 0.5))(x)
