"""Surrogate gradients (API.md section 3): defaults, reference vectors, values semantics, dtypes,
finiteness for every finite input, and gradcheck of each backward against its smooth primitive."""

from __future__ import annotations

import dataclasses
import math
import pickle
from collections.abc import Callable

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode

import spikeforge as snn
from spikeforge import surrogate as S

U = [-5.0, -1.0, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 1.5, 2.0]
SPIKES = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]


def _fs_custom(input_: Tensor, grad_input: Tensor, spikes: Tensor) -> Tensor:
    return grad_input / (25 * input_.abs() + 1) ** 2


REFERENCE = [
    (
        "atan()",
        S.atan(),
        [0.00403649, 0.0919997, 0.2884, 0.91017, 1, 0.91017, 0.2884, 0.0919997, 0.0430912, 0.0247045],
    ),
    (
        "atan(4)",
        S.atan(alpha=4),
        [0.00202437, 0.049409, 0.183999, 1.43391, 2, 1.43391, 0.183999, 0.049409, 0.0222652, 0.0125854],
    ),
    (
        "fast_sigmoid()",
        S.fast_sigmoid(),
        [
            6.29882e-05,
            0.00147929,
            0.00548697,
            0.0816327,
            1,
            0.0816327,
            0.00548697,
            0.00147929,
            0.00067465,
            0.000384468,
        ],
    ),
    (
        "fast_sigmoid(5)",
        S.fast_sigmoid(slope=5),
        [
            0.00147929,
            0.0277778,
            0.0816327,
            0.444444,
            1,
            0.444444,
            0.0816327,
            0.0277778,
            0.0138408,
            0.00826446,
        ],
    ),
    # snntorch gives NaN at U=-5; the exact value 25*e^-125 underflows to 0 in float32
    (
        "sigmoid()",
        S.sigmoid(),
        [
            0.0,
            3.47199e-10,
            9.31656e-05,
            1.75259,
            6.25,
            1.75259,
            9.31656e-05,
            3.47199e-10,
            1.29389e-15,
            4.82187e-21,
        ],
    ),
    (
        "sigmoid(5)",
        S.sigmoid(slope=5),
        [
            6.94397e-11,
            0.0332403,
            0.350519,
            1.17502,
            1.25,
            1.17502,
            0.350519,
            0.0332403,
            0.00276236,
            0.000226979,
        ],
    ),
    ("triangular()", S.triangular(), [1, 1, 1, 1, -1, -1, -1, -1, -1, -1]),
    ("triangular(0.5)", S.triangular(threshold=0.5), [0.5] * 4 + [-0.5] * 6),
    ("ste()", S.straight_through_estimator(), [1.0] * 10),
    (
        "spike_rate_escape()",
        S.spike_rate_escape(),
        [0.0619688, 3.38338, 5.57825, 8.32178, 9.19699, 10.1642, 15.1633, 25, 15.1633, 9.19699],
    ),
    (
        "spike_rate_escape(2,1)",
        S.spike_rate_escape(beta=2, slope=1),
        [6.14421e-06, 0.0183156, 0.0497871, 0.110803, 0.135335, 0.165299, 0.367879, 1, 0.367879, 0.135335],
    ),
    ("heaviside()", S.heaviside(), SPIKES),
    ("SFS()", S.SFS(), [0, 0, 0, 0, 0, 0, 0, 0, 0.00067465, 0.000384468]),
    ("SFS(B=0)", S.SFS(B=0), [0, 0, 0, 0, 0, 0.0816327, 0.00548697, 0.00147929, 0.00067465, 0.000384468]),
    (
        "custom",
        S.custom_surrogate(_fs_custom),
        [
            6.29882e-05,
            0.00147929,
            0.00548697,
            0.0816327,
            1,
            0.0816327,
            0.00548697,
            0.00147929,
            0.00067465,
            0.000384468,
        ],
    ),
    ("LSO()", S.LSO(), [0.1] * 5 + [1.0] * 5),  # the documented intent (snntorch 1.0.0's LSO crashes)
]


@pytest.mark.parametrize(("name", "fn", "expected"), REFERENCE, ids=[r[0] for r in REFERENCE])
def test_reference_vectors(name: str, fn: Callable[[Tensor], Tensor], expected: list[float]) -> None:
    u = torch.tensor(U, requires_grad=True)
    spk = fn(u)
    assert spk.tolist() == SPIKES
    (g,) = torch.autograd.grad(spk.sum(), u)
    torch.testing.assert_close(g, torch.tensor(expected, dtype=torch.float32), atol=1e-6, rtol=1e-5)


def test_default_hyper_parameters() -> None:
    assert S.atan() == S.ATan(alpha=2.0)
    assert S.fast_sigmoid() == S.FastSigmoid(slope=25)
    assert S.sigmoid() == S.Sigmoid(slope=25)
    assert S.triangular() == S.Triangular(threshold=1)
    assert S.spike_rate_escape() == S.SpikeRateEscape(beta=1, slope=25)
    assert S.SSO() == S.StochasticSpikeOperator(mean=0, variance=0.2)
    assert S.LSO() == S.LeakySpikeOperator(slope=0.1)
    assert S.SFS() == S.SparseFastSigmoid(slope=25, B=1)
    assert S.heaviside() == S.Heaviside() and S.straight_through_estimator() == S.StraightThroughEstimator()


def test_sso_gradient_is_one_where_spiked_and_small_noise_elsewhere() -> None:
    u = torch.tensor(U * 20, requires_grad=True)
    (g,) = torch.autograd.grad(S.SSO()(u).sum(), u)
    spiked = u.detach() > 0
    assert torch.all(g[spiked] == 1)
    assert torch.all((g[~spiked] >= -0.1) & (g[~spiked] < 0.1)) and g[~spiked].std() > 0
    (g2,) = torch.autograd.grad(S.SSO(mean=0.5, variance=1.0)(u).sum(), u)
    assert torch.all((g2[~spiked] >= 0) & (g2[~spiked] < 1))


CLASSES = [
    (S.ATan, (4.0,), S.atan(alpha=4.0)),
    (S.FastSigmoid, (5.0,), S.fast_sigmoid(slope=5)),
    (S.Sigmoid, (5.0,), S.sigmoid(slope=5)),
    (S.Triangular, (0.5,), S.triangular(threshold=0.5)),
    (S.SpikeRateEscape, (2.0, 1.0), S.spike_rate_escape(beta=2, slope=1)),
    (S.SparseFastSigmoid, (25.0, 0.0), S.SFS(B=0)),
    (S.LeakySpikeOperator, (0.3,), S.LSO(slope=0.3)),
    (S.StraightThroughEstimator, (), S.straight_through_estimator()),
    (S.Heaviside, (), S.heaviside()),
]


@pytest.mark.parametrize(("cls", "hyper", "factory_value"), CLASSES, ids=[c[0].__name__ for c in CLASSES])
def test_class_apply_with_and_without_hyper_parameters(
    cls: type, hyper: tuple, factory_value: S.Surrogate
) -> None:
    u = torch.tensor(U, requires_grad=True)
    (g_apply,) = torch.autograd.grad(cls.apply(u, *hyper).sum(), u)
    (g_factory,) = torch.autograd.grad(factory_value(u).sum(), u)
    torch.testing.assert_close(g_apply, g_factory)
    (g_default,) = torch.autograd.grad(cls.apply(u).sum(), u)  # snntorch needs the hyper-parameters
    torch.testing.assert_close(g_default, cls().grad(u.detach()))


ALL = [
    S.atan(),
    S.fast_sigmoid(),
    S.sigmoid(),
    S.triangular(),
    S.straight_through_estimator(),
    S.spike_rate_escape(),
    S.heaviside(),
    S.SSO(),
    S.LSO(),
    S.SFS(),
    S.custom_surrogate(_fs_custom),
]


@pytest.mark.parametrize("surr", ALL, ids=lambda s: type(s).__name__)
def test_surrogates_are_picklable_hashable_comparable_values(surr: S.Surrogate) -> None:
    clone = pickle.loads(pickle.dumps(surr))
    assert clone == surr and hash(clone) == hash(surr)
    assert {surr: 1}[clone] == 1
    assert surr != S.atan(alpha=3.0)
    with pytest.raises(AttributeError):
        surr.x = 1  # frozen


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(min_value=-1e30, max_value=1e30, allow_nan=False), min_size=1, max_size=16),
    st.sampled_from([torch.float32, torch.float64]),
)
def test_gradients_finite_for_every_finite_input(values: list[float], dtype: torch.dtype) -> None:
    u = torch.tensor(values + [1e30, -1e30, 0.0], dtype=dtype, requires_grad=True)
    for surr in ALL + [S.sigmoid(slope=1e3), S.atan(alpha=1e3), S.fast_sigmoid(slope=1e3)]:
        (g,) = torch.autograd.grad(surr(u).sum(), u)
        assert torch.isfinite(g).all(), surr


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
@pytest.mark.parametrize(
    "surr", ALL + [S.heaviside_no_grad], ids=lambda s: getattr(s, "__name__", type(s).__name__)
)
def test_spike_dtype_follows_input(surr: Callable[[Tensor], Tensor], dtype: torch.dtype) -> None:
    u = torch.tensor(U, dtype=dtype, requires_grad=True)
    spk = surr(u)
    assert spk.dtype == dtype and spk.tolist() == SPIKES
    if spk.requires_grad:
        (g,) = torch.autograd.grad(spk.sum(), u)
        assert g.dtype == dtype


def _relu(x: Tensor) -> Tensor:
    return x.clamp(min=0)


# (surrogate, smooth primitive F with F' = the surrogate derivative, where F is smooth)
PRIMITIVES: list[tuple[S.Surrogate, Callable[[Tensor], Tensor]]] = [
    (S.atan(), lambda x: torch.atan(math.pi / 2 * 2.0 * x) / math.pi + 0.5),
    (S.atan(alpha=4), lambda x: torch.atan(math.pi / 2 * 4.0 * x) / math.pi + 0.5),
    (S.fast_sigmoid(), lambda x: x / (1 + 25 * x.abs())),
    (S.fast_sigmoid(slope=5), lambda x: x / (1 + 5 * x.abs())),
    (S.sigmoid(), lambda x: torch.sigmoid(25 * x)),
    (S.sigmoid(slope=5), lambda x: torch.sigmoid(5 * x)),
    (S.straight_through_estimator(), lambda x: x),
    (S.spike_rate_escape(), lambda x: 25 * torch.sign(x - 1) * (1 - torch.exp(-(x - 1).abs()))),
    (
        S.spike_rate_escape(beta=2, slope=1),
        lambda x: torch.sign(x - 1) * (1 - torch.exp(-2 * (x - 1).abs())) / 2,
    ),
    (S.heaviside(), _relu),
    (S.triangular(), lambda x: -x.abs()),
    (S.triangular(threshold=0.5), lambda x: -0.5 * x.abs()),
    (S.LSO(), lambda x: torch.where(x > 0, x, 0.1 * x)),
    (S.SFS(), lambda x: torch.where(x > 1, x / (1 + 25 * x) - 1 / 26, torch.zeros_like(x))),
    (S.SFS(B=0), lambda x: torch.where(x > 0, x / (1 + 25 * x), torch.zeros_like(x))),
]
# points away from the kinks at 0 and 1 (the primitive is smooth within eps of each point)
POINTS = [-4.0, -1.3, -0.6, -0.2, -0.03, 0.04, 0.3, 0.7, 1.2, 1.9, 3.5]


@pytest.mark.parametrize(
    ("surr", "primitive"), PRIMITIVES, ids=lambda p: repr(p) if isinstance(p, S.Surrogate) else ""
)
def test_gradcheck_backward_is_the_primitive_derivative(
    surr: S.Surrogate, primitive: Callable[[Tensor], Tensor]
) -> None:
    def f(x: Tensor) -> Tensor:
        spk = surr(x)  # analytic derivative: the surrogate; value: the primitive
        return spk + (primitive(x) - spk).detach()

    x = torch.tensor(POINTS, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(f, (x,), eps=1e-7, atol=1e-5, rtol=1e-4)


def test_custom_surrogate_receives_input_grad_and_spikes() -> None:
    seen = {}

    def fn(input_: Tensor, grad_input: Tensor, spikes: Tensor) -> Tensor:
        seen.update(input_=input_.clone(), grad=grad_input.clone(), spikes=spikes.clone())
        return grad_input * 3

    u = torch.tensor(U, requires_grad=True)
    w = torch.arange(10.0)
    (g,) = torch.autograd.grad((S.custom_surrogate(fn)(u) * w).sum(), u)
    torch.testing.assert_close(g, 3 * w)
    torch.testing.assert_close(seen["input_"], u.detach())
    torch.testing.assert_close(seen["grad"], w)
    assert seen["spikes"].tolist() == SPIKES


def test_kernel_ids_are_unique_and_params_are_floats() -> None:
    kernelled = [s for s in ALL if s.kernel_id is not None]
    assert len({s.kernel_id for s in kernelled}) == len(kernelled)
    assert S.spike_rate_escape(beta=2, slope=1).kernel_params() == (2.0, 1.0)
    assert all(isinstance(p, float) for s in kernelled for p in s.kernel_params())


class _Ops(TorchDispatchMode):
    """Records the aten operations run while active (the backward's included), each with its second
    argument where that is a number."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[tuple[str, float | None]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        other = args[1] if len(args) > 1 and isinstance(args[1], (int, float)) else None
        self.names.append((func.overloadpacket.__name__, other))
        return func(*args, **(kwargs or {}))


class _OwnVjpReadingSpikes(S.Surrogate):
    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        return grad_out * out


class _OwnGradOnly(S.Surrogate):
    def grad(self, x: Tensor) -> Tensor:
        return torch.ones_like(x)


@pytest.mark.parametrize("surr,reads", [
    (S.atan(), False), (S.fast_sigmoid(), False), (S.sigmoid(), False), (S.spike_rate_escape(), False),
    (S.SFS(), False), (S.heaviside(), False), (S.triangular(), False), (S.custom_surrogate(_fs_custom), True),
    (_OwnVjpReadingSpikes(), True), (_OwnGradOnly(), False),
])
def test_backward_recomputes_spikes_only_for_a_vjp_that_reads_them(surr: S.Surrogate, reads: bool) -> None:
    u = torch.randn(50, requires_grad=True)
    spk = surr(u)
    ops = _Ops()
    with ops:
        (g,) = torch.autograd.grad(spk.sum(), u)
    assert surr.reads_spikes() is reads
    # the spikes are H(U) = U > 0 (Heaviside's own gradient is that too)
    recomputed = ("gt", 0) in ops.names
    assert recomputed is (reads or isinstance(surr, S.Heaviside))
    # the values are those of the formula, spikes or not
    if isinstance(surr, _OwnVjpReadingSpikes):
        torch.testing.assert_close(g, (u.detach() > 0).float())
    elif not isinstance(surr, S.CustomSurrogate):
        torch.testing.assert_close(g, surr.grad(u.detach()))


# ------------------------------------------------------------------ user subclasses of built-in surrogates
@dataclasses.dataclass(frozen=True)
class _SteepATan(S.ATan):
    """Overrides the gradient: twice ATan's."""

    def grad(self, x: Tensor) -> Tensor:
        return 2 * super().grad(x)


@dataclasses.dataclass(frozen=True)
class _RenamedATan(S.ATan):
    """Changes nothing of the formula: may keep the fused kernels."""


@dataclasses.dataclass(frozen=True)
class _SpikeGatedFastSigmoid(S.FastSigmoid):
    """Overrides the vjp and reads the spikes (the parent declares that its own vjp does not)."""

    def vjp(self, x: Tensor, out: Tensor | None, grad_out: Tensor) -> Tensor:
        assert out is not None, "the spikes were not passed"
        return grad_out * (1 + out) / (self.slope * x.abs() + 1.0) ** 2


def _seq_and_step_grads(make: Callable[[], torch.nn.Module]) -> tuple[Tensor, Tensor]:
    torch.manual_seed(0)
    xs = torch.randn(6, 2, 5, dtype=torch.float64) + 0.6
    grads = []
    for fused in (True, False):
        neuron, x = make().double(), xs.clone().requires_grad_()
        if fused:
            spk = neuron.forward_sequence(x)[0]
        else:
            spks, states = [], ()
            for x_t in x:
                spk_t, *rest = neuron(x_t, *states)
                states = (spk_t, *rest) if isinstance(neuron, snn.RLeaky) else tuple(rest)
                spks.append(spk_t)
            spk = torch.stack(spks)
        (spk * torch.linspace(0.5, 1.5, spk.numel(), dtype=spk.dtype).view_as(spk)).sum().backward()
        grads.append(x.grad)
    return grads[0], grads[1]


@pytest.mark.parametrize("kind", ["leaky", "rleaky_dense", "rleaky_diag"])
def test_a_subclass_that_overrides_the_gradient_is_not_given_the_parents_kernel(kind: str) -> None:
    """The fused kernels pick the formula by ``kernel_id``, which a subclass inherits: they must not apply
    the parent's formula to a subclass whose ``grad`` differs (the step loop's gradient, twice ATan's)."""
    from spikeforge.ops._surrogate_ids import surrogate_spec

    def make(spike_grad: S.Surrogate) -> Callable[[], torch.nn.Module]:
        def build() -> torch.nn.Module:
            torch.manual_seed(1)
            if kind == "leaky":
                return snn.Leaky(beta=0.8, spike_grad=spike_grad)
            if kind == "rleaky_dense":
                return snn.RLeaky(beta=0.8, linear_features=5, spike_grad=spike_grad)
            return snn.RLeaky(beta=0.8, all_to_all=False, V=0.3, spike_grad=spike_grad)
        return build

    assert surrogate_spec(_SteepATan()) is None
    assert surrogate_spec(_RenamedATan(alpha=3.0)) == (0, 3.0, 0.0)
    steep_seq, steep_step = _seq_and_step_grads(make(_SteepATan()))
    torch.testing.assert_close(steep_seq, steep_step, rtol=1e-12, atol=1e-12)
    plain_seq, _ = _seq_and_step_grads(make(S.ATan()))
    renamed_seq, renamed_step = _seq_and_step_grads(make(_RenamedATan()))
    torch.testing.assert_close(renamed_seq, plain_seq, rtol=0, atol=0)
    torch.testing.assert_close(renamed_step, plain_seq, rtol=1e-12, atol=1e-12)
    # a single neuron layer, one step: the input gradient is exactly the surrogate's, so twice ATan's
    if kind == "leaky":
        x = torch.tensor([[0.3, 1.4]], dtype=torch.float64, requires_grad=True)
        snn.Leaky(beta=0.8, spike_grad=_SteepATan())(x)[0].sum().backward()
        z = x.detach() - 1.0
        torch.testing.assert_close(x.grad, 2 * (2.0 / 2) / (1 + (math.pi / 2 * 2.0 * z) ** 2))


def test_a_subclass_that_overrides_vjp_gets_the_spikes() -> None:
    """``uses_spikes = False`` speaks for the class that declares it beside its vjp, not for a subclass
    that overrides the vjp again."""
    assert not S.FastSigmoid.reads_spikes() and _SpikeGatedFastSigmoid.reads_spikes()
    assert not _SteepATan.reads_spikes()  # the base vjp: grad_out * grad(x), no spikes
    x = torch.tensor([-0.5, 0.5], requires_grad=True)  # U - theta: no spike, then a spike
    _SpikeGatedFastSigmoid(slope=2.0)(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([1 / 4, 2 / 4]))  # (1 + S) / (2|U| + 1)^2


@dataclasses.dataclass(frozen=True)
class _SteepFastSigmoid(S.FastSigmoid):
    """Overrides grad below FastSigmoid's own vjp (which does not call grad)."""

    def grad(self, x: Tensor) -> Tensor:
        return 3 / (self.slope * x.abs() + 1.0) ** 2


@dataclasses.dataclass(frozen=True)
class _ShiftedATan(S.ATan):
    """Overrides the forward: spikes at U > 0.5."""

    def __call__(self, x: Tensor) -> Tensor:
        return super().__call__(x - 0.5)


def test_a_grad_override_below_a_custom_vjp_is_applied_stepped_and_fused() -> None:
    """dS/dU of the override, 3 / (slope |U| + 1)^2, on the step loop and in the fused path (by hand for
    one neuron step: the input's gradient is the surrogate's at U - theta)."""
    assert _SteepFastSigmoid.grad_overrides_vjp() and not S.FastSigmoid.grad_overrides_vjp()
    assert _SteepFastSigmoid.kernel_formula() is None and not _SteepFastSigmoid.reads_spikes()
    x = torch.tensor([0.3, 1.4], dtype=torch.float64, requires_grad=True)
    _SteepFastSigmoid(slope=2.0)(x).sum().backward()
    torch.testing.assert_close(x.grad, 3 / (2 * x.detach().abs() + 1) ** 2)
    seq, step = _seq_and_step_grads(lambda: snn.Leaky(beta=0.8, spike_grad=_SteepFastSigmoid()))
    torch.testing.assert_close(seq, step, rtol=1e-12, atol=1e-12)
    plain, _ = _seq_and_step_grads(lambda: snn.Leaky(beta=0.8, spike_grad=S.FastSigmoid()))
    assert not torch.allclose(seq, plain)


def test_a_forward_override_is_not_given_the_parents_kernel() -> None:
    assert _ShiftedATan.kernel_formula() is None
    torch.manual_seed(0)
    xs = torch.rand(6, 2, 5) * 1.2
    spk_seq = snn.Leaky(beta=0.5, spike_grad=_ShiftedATan()).forward_sequence(xs)[0]
    lif, mem, spks = snn.Leaky(beta=0.5, spike_grad=_ShiftedATan()), None, []
    for x in xs:
        spk, mem = lif(x) if mem is None else lif(x, mem)
        spks.append(spk)
    torch.testing.assert_close(spk_seq, torch.stack(spks), rtol=0, atol=0)
    plain = snn.Leaky(beta=0.5).forward_sequence(xs)[0]
    assert spk_seq.sum() < plain.sum()  # spikes need U > theta + 0.5
