"""Deliberate fixes of snntorch 1.0.0 bugs (API.md section 10), and the errors the neurons raise.

Expected values are derived by hand from the update equations in API.md section 2.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import pytest
import torch

import spikeforge as snn


# ----------------------------------------------------------------------------------- fixes
def test_lapicque_learn_beta_trains_across_steps() -> None:
    """V = X*dt/C with C = dt/(R ln(1/beta)), R = 1: V = X ln(1/beta), dV/dbeta = -X/beta."""
    lap = snn.Lapicque(beta=0.5, learn_beta=True)
    x = torch.tensor([[0.8]])
    _, mem = lap(x, torch.zeros(1, 1))
    assert mem.item() == pytest.approx(0.8 * math.log(2), abs=1e-6)
    mem.sum().backward()
    assert lap.beta.grad.item() == pytest.approx(-1.6, abs=1e-5)
    with torch.no_grad():
        lap.beta.fill_(0.25)
    lap.beta.grad = None
    _, mem = lap(x, torch.zeros(1, 1))  # snntorch: C stays frozen, and this backward raises
    assert mem.item() == pytest.approx(0.8 * math.log(4), abs=1e-6)
    mem.sum().backward()
    assert lap.beta.grad.item() == pytest.approx(-3.2, abs=1e-5)


def test_alpha_learn_alpha_works() -> None:
    """One step from zero: E = X, N = -X, U = tau_a (E + N) = 0, so the first membrane is 0; the second
    is tau_a*(alpha*X + (-beta*X)) with X at step 0 only. d tau_a/d alpha enters through U."""
    a = snn.Alpha(alpha=0.6, beta=0.5, learn_alpha=True)
    assert isinstance(a.alpha, torch.nn.Parameter)
    x = torch.tensor([[1.0]])
    _, e, n, m = a(x)
    assert m.item() == pytest.approx(0.0, abs=1e-7)
    _, e, n, m = a(torch.zeros(1, 1), e, n, m)
    tau = math.log(0.6) / (math.log(0.5) - math.log(0.6)) + 1
    assert m.item() == pytest.approx(tau * (0.6 - 0.5), abs=1e-6)
    m.sum().backward()
    # dU/dalpha = dtau/dalpha * 0.1 + tau * 1, dtau/dalpha = (1/a)(ln b - ln a)^-1 + ln a (ln b - ln a)^-2 / a
    la, lb = math.log(0.6), math.log(0.5)
    dtau = (1 / 0.6) / (lb - la) + la / (0.6 * (lb - la) ** 2)
    assert a.alpha.grad.item() == pytest.approx(dtau * 0.1 + tau, rel=1e-5)


def test_rsynaptic_reset_delay_false_resets_in_the_spiking_step() -> None:
    """alpha = beta = 0.5, V = 0, theta = 1, X = [1.5, 0, 0]: I = [1.5, 0.75, 0.375];
    step 0: U = 1.5 spikes and is reset at once (subtract, D = 1): U = 0.5;
    step 1: B = 0.25 + 0.75 = 1.0; R = H(0.5 - 1) = 0, so U = 1.0 (no spike: strict);
    step 2: B = 0.5 + 0.375 = 0.875."""
    rs = snn.RSynaptic(alpha=0.5, beta=0.5, V=0.0, all_to_all=False, reset_delay=False)
    spk = syn = mem = None
    out = []
    for x in (1.5, 0.0, 0.0):
        spk, syn, mem = rs(torch.tensor([[x]]), spk, syn, mem)
        out += [spk.item(), syn.item(), mem.item()]
    assert out == pytest.approx([1, 1.5, 0.5, 0, 0.75, 1.0, 0, 0.375, 0.875])
    hidden = snn.RSynaptic(alpha=0.5, beta=0.5, V=0.0, all_to_all=False, reset_delay=False, init_hidden=True)
    assert [hidden(torch.tensor([[x]])).item() for x in (1.5, 0.0, 0.0)] == [1, 0, 0]


def test_rsynaptic_reset_hidden_clears_the_stored_spike() -> None:
    rs = snn.RSynaptic(alpha=0.5, beta=0.5, V=0.5, all_to_all=False, init_hidden=True)
    assert rs(torch.tensor([[2.0]])).item() == 1
    rs.reset_hidden()
    rs(torch.zeros(1, 1))
    assert rs.syn.item() == 0.0  # snntorch: syn = V * 1 = 0.5 from the leaked spike


@pytest.mark.parametrize("dtype", [torch.float16, torch.float32, torch.float64])
def test_spikes_have_the_membrane_dtype(dtype: torch.dtype) -> None:
    lif = snn.Leaky(beta=0.5).to(dtype)
    spk, mem = lif(torch.tensor([[2.0, 0.1]], dtype=dtype))
    assert spk.dtype == mem.dtype == dtype
    assert spk.tolist() == [[1.0, 0.0]]


def test_a_nonzero_state_of_the_wrong_shape_restarts_from_zero_with_one_warning() -> None:
    """As snntorch: the state is replaced by zeros, so U = 0.5*0 + X = 1 (not 0.5*1 + 1 = 1.5)."""
    lif = snn.Leaky(beta=0.5)
    with pytest.warns(UserWarning, match=r"`mem` has shape \(3,\) but this input needs \(2, 3\)"):
        _, mem = lif(torch.ones(2, 3), torch.ones(3))
    assert torch.equal(mem, torch.ones(2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per neuron
        lif(torch.ones(2, 3), torch.ones(3))


def test_changing_batch_size_without_state_argument_restarts_from_zero() -> None:
    lif = snn.Leaky(beta=0.5)
    lif(torch.ones(2, 3))
    _, mem = lif(torch.full((4, 3), 0.5))
    assert torch.equal(mem, torch.full((4, 3), 0.5))


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "make",
    [
        lambda **k: snn.Leaky(beta=0.5, **k),
        lambda **k: snn.Synaptic(alpha=0.5, beta=0.5, **k),
        lambda **k: snn.Alpha(alpha=0.6, beta=0.5, **k),
        lambda **k: snn.Lapicque(beta=0.5, **k),
        lambda **k: snn.RLeaky(beta=0.5, all_to_all=False, **k),
        lambda **k: snn.RSynaptic(alpha=0.5, beta=0.5, all_to_all=False, **k),
    ],
    ids=["Leaky", "Synaptic", "Alpha", "Lapicque", "RLeaky", "RSynaptic"],
)
def test_common_errors(make: Callable[..., torch.nn.Module]) -> None:
    with pytest.raises(ValueError, match="reset_mechanism"):
        make(reset_mechanism="hard")
    n = make()
    names = n._state_names
    x = torch.ones(2, 3)
    with pytest.raises(TypeError, match="input_"):
        n([[1.0, 2.0]])
    with pytest.raises(TypeError, match="input_"):
        n(None)
    with pytest.raises(TypeError, match="`x` must be a torch.Tensor"):
        n.forward_sequence([[1.0]])
    for i, name in enumerate(names):
        states = [None] * len(names)
        states[i] = torch.ones(5)
        with pytest.warns(UserWarning, match=f"`{name}` has shape"):  # replaced by zeros
            out = make()(x, *states)
        torch.testing.assert_close(out, make()(x), rtol=0, atol=0)
        states[i] = torch.ones(2, 3, dtype=torch.float64)
        with pytest.warns(UserWarning, match=f"`{name}` has dtype"):  # promoted, as in snntorch
            out = make()(x, *states)
        assert out[-1].dtype == torch.float64
        states[i] = [[0.0] * 3] * 2
        with pytest.raises(TypeError, match=f"`{name}` must be a torch.Tensor"):
            n(x, *states)
    hidden = make(init_hidden=True)
    for i, name in enumerate(names):
        states = [None] * len(names)
        states[i] = torch.zeros(2, 3)
        with pytest.raises(TypeError, match=f"`{name}` should not be passed"):
            hidden(x, *states)


@pytest.mark.parametrize("cls", [snn.RLeaky, snn.RSynaptic])
def test_recurrent_size_errors(cls: type) -> None:
    extra = {"alpha": 0.5} if cls is snn.RSynaptic else {}

    def make(**k: object) -> torch.nn.Module:
        return cls(beta=0.5, **extra, **k)

    with pytest.raises(TypeError, match="linear_features"):
        make()  # all_to_all without a size
    with pytest.raises(TypeError, match="not both"):
        make(linear_features=3, conv2d_channels=2, kernel_size=3)
    with pytest.raises(TypeError, match="all_to_all=False"):
        make(all_to_all=False, linear_features=3)
    with pytest.raises(TypeError, match="kernel_size"):
        make(conv2d_channels=2)
    with pytest.raises(ValueError, match="linear_features must be a positive int"):
        make(linear_features=0)
    with pytest.raises(ValueError, match="kernel_size must be a positive int"):
        make(conv2d_channels=2, kernel_size=-1)
    with pytest.raises(ValueError, match="linear_features=3"):
        make(linear_features=3)(torch.ones(2, 4))
    with pytest.raises(ValueError, match="conv2d_channels=2"):
        make(conv2d_channels=2, kernel_size=3)(torch.ones(1, 3, 4, 4))


def test_alpha_and_lapicque_parameter_errors() -> None:
    with pytest.raises(ValueError, match="alpha must be greater than beta"):
        snn.Alpha(alpha=0.5, beta=0.6)
    with pytest.raises(ValueError, match="Lapicque needs"):
        snn.Lapicque(R=1.0)


def test_lapicque_per_neuron_r_and_c() -> None:
    """Per-neuron R and C (snntorch raises on their truth value): beta = exp(-dt/(R*C)) per neuron, and
    the update V = X*dt/C + (1 - dt/(R*C))*U, worked by hand for R = [2, 4], C = 1, dt = 1, X = 1."""
    lap = snn.Lapicque(R=torch.tensor([2.0, 4.0]), C=torch.tensor([1.0, 1.0]), threshold=5.0)
    torch.testing.assert_close(lap.beta, torch.exp(torch.tensor([-0.5, -0.25])))
    mem = torch.zeros(1, 2)
    x = torch.ones(1, 2)
    _, mem = lap(x, mem)  # 1*1/1 + (1 - ...)*0 = 1
    _, mem = lap(x, mem)  # 1 + (1 - 1/2)*1, 1 + (1 - 1/4)*1
    torch.testing.assert_close(mem, torch.tensor([[1.5, 1.75]]))
    assert snn.Lapicque(R=2.0, C=1.0).beta.shape == (1,)  # one value: [1], as snntorch's
