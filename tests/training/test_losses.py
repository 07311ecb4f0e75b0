"""Losses, accuracy, regulariser and quantiser: hand-derived values, API.md vectors, errors, dtypes."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

import spikeforge.functional as SF
from spikeforge.functional import quant

# Two-class example, T=2, B=1, C=2 (values derived by hand below).
SPK2 = torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]])
MEM2 = torch.tensor([[[0.2, 0.5]], [[0.9, 0.1]]])
Y0 = torch.tensor([0])
SP = math.log1p(math.exp(-1))  # CE of logits [1, 0] with label 0

# API.md section 5 reference (T=3, B=2, C=3).
SPK = torch.tensor([[[1, 0, 0], [0, 1, 1]], [[1, 1, 0], [0, 0, 1]], [[0, 0, 1], [1, 0, 1]]]).float()
MEM = torch.tensor(
    [
        [[0.5, 0.1, -0.2], [0.0, 0.9, 0.3]],
        [[1.2, 0.4, 0.0], [0.2, 0.1, 0.8]],
        [[0.3, 0.2, 1.1], [0.7, -0.1, 0.6]],
    ]
)
Y = torch.tensor([0, 2])
W = [0.2, 0.3, 0.5]


def close(a: torch.Tensor, b: float) -> None:
    """``a`` (a one-element loss: shape () or snntorch's (1,), see the shape test) equals ``b``."""
    assert a.numel() == 1 and a.dim() <= 1
    torch.testing.assert_close(a.reshape(()), torch.tensor(b, dtype=a.dtype), atol=1e-5, rtol=1e-5)


def test_two_class_by_hand() -> None:
    close(SF.ce_rate_loss()(SPK2, Y0), (SP + math.log(2)) / 2)  # steps: CE([1,0]), CE([1,1])
    close(SF.ce_count_loss()(SPK2, Y0), SP)  # counts [2, 1]
    close(SF.ce_max_membrane_loss()(MEM2, Y0), math.log1p(math.exp(-0.4)))  # peaks [0.9, 0.5]
    close(SF.mse_count_loss()(SPK2, Y0), 0.25)  # counts [2,1] vs [2,0], /T=2 -> [0, .5]
    close(SF.mse_membrane_loss()(MEM2, Y0), ((0.64 + 0.25) / 2 + (0.01 + 0.01) / 2) / 2)
    close(SF.mse_temporal_loss()(SPK2, Y0), 0.0)  # first spikes [0, 1] = targets [0, T-1]
    close(SF.mse_temporal_loss()(SPK2, torch.tensor([1])), 0.25)  # targets [1, 0]
    close(SF.ce_temporal_loss()(SPK2, Y0), SP)  # scores -[0, 1]
    close(SF.ce_temporal_loss(inverse="reciprocal")(SPK2, Y0), math.log1p(math.exp(-0.5)))


def test_accuracy_ties_go_to_the_first_class() -> None:
    tie = torch.tensor([[[1.0, 1.0]], [[0.0, 0.0]]])
    assert SF.accuracy_rate(tie, Y0) == 1.0 and SF.accuracy_rate(tie, torch.tensor([1])) == 0.0
    assert SF.accuracy_temporal(tie, Y0) == 1.0 and SF.accuracy_temporal(tie, torch.tensor([1])) == 0.0
    assert isinstance(SF.accuracy_rate(tie, Y0), np.float64)


def test_api_reference_vectors() -> None:
    close(SF.ce_rate_loss()(SPK, Y), 0.873386)
    torch.testing.assert_close(SF.ce_rate_loss(reduction="none")(SPK, Y), torch.tensor([0.988295, 0.758478]))
    close(SF.ce_rate_loss(weight=W)(SPK, Y), 0.288449)
    close(SF.ce_count_loss()(SPK, Y), 0.395495)
    close(SF.ce_count_loss(weight=W)(SPK, Y), 0.115031)
    close(SF.ce_max_membrane_loss()(MEM, Y), 0.979065)
    close(SF.mse_count_loss(correct_rate=0.8, incorrect_rate=0.2)(SPK, Y), 0.277778)
    expect = torch.tensor([[1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 0]])
    torch.testing.assert_close(SF.mse_count_loss(reduction="none")(SPK, Y), expect)
    close(SF.mse_membrane_loss()(MEM, Y), 0.238333)
    close(SF.mse_membrane_loss(on_target=1.0, off_target=0.2)(MEM, Y), 0.189444)
    close(SF.mse_temporal_loss(on_target=1, off_target=2, tolerance=1)(SPK, Y), 0.12963)
    close(SF.ce_temporal_loss()(SPK, Y), 0.583115)
    close(SF.ce_temporal_loss(inverse="reciprocal")(SPK, Y), 0.836517)
    assert SF.accuracy_rate(SPK, Y) == 1.0 and SF.accuracy_temporal(SPK, Y) == 0.5
    close(SF.l1_rate_sparsity(Lambda=0.1)(SPK), 0.9)
    spk6 = torch.cat([SPK, SPK.flip(-1)], -1)
    close(SF.ce_count_loss(population_code=True, num_classes=3)(spk6, Y), 2.44899)
    close(SF.mse_count_loss(population_code=True, num_classes=3)(spk6, Y), 4.33333)
    assert SF.accuracy_rate(spk6, Y, population_code=True, num_classes=3) == 0.5


def test_mse_temporal_default_targets_and_gradient() -> None:
    # first spikes [[0,1,2],[2,0,0]]; targets: label at 0, others at T-1=2 -> errors 1/3 and 2/3
    close(SF.mse_temporal_loss()(SPK, Y), (1 + 4) / 9 / 6)
    spk = SPK.clone().requires_grad_()
    SF.mse_temporal_loss()(spk, Y).backward()
    expect = torch.zeros_like(SPK)
    expect[1, 0, 1] = 1 / 27  # dL/dt = (t - tgt)/27, placed with a minus sign on the spike step
    expect[0, 1, 1] = 2 / 27
    torch.testing.assert_close(spk.grad, expect)


def test_multi_spike_and_target_is_time() -> None:
    spk = torch.tensor([[[0.0, 1.0]], [[1.0, 0.0]], [[1.0, 1.0]], [[0.0, 0.0]]])  # spikes at [1,2] and [0,2]
    times, tgt = SF.SpikeTime(multi_spike=True, on_target=[0, 1], off_target=[2, 3])(spk, Y0)
    assert times[:, 0].tolist() == [[1, 0], [2, 2]] and tgt[:, 0].tolist() == [[0, 2], [1, 3]]
    given = torch.tensor([[1.0, -1.0]])
    times, tgt = SF.SpikeTime(target_is_time=True)(spk, given)
    assert tgt.tolist() == [[1, 3]] and given.tolist() == [[1, -1]]  # not modified in place


def test_population_code_rate_loss_and_float64() -> None:
    spk = (torch.rand(4, 3, 6, dtype=torch.float64) > 0.5).double()
    y = torch.tensor([0, 2, 1])
    groups = spk.reshape(4, 3, 3, 2).sum(-1)
    expect = torch.nn.functional.cross_entropy(groups.reshape(12, 3), y.repeat(4))
    out = SF.ce_rate_loss(population_code=True, num_classes=3)(spk, y)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, expect.reshape(1))  # (1,) as the plain ce_rate_loss
    for fn in (
        SF.ce_count_loss(population_code=True, num_classes=3),
        SF.mse_count_loss(population_code=True, num_classes=3),
        SF.mse_temporal_loss(),
        SF.ce_temporal_loss(),
        SF.mse_membrane_loss(weight=[1.0, 2.0, 3, 4, 5, 6]),
        SF.ce_max_membrane_loss(reduction="sum"),
        SF.l1_rate_sparsity(),
    ):
        assert (fn(spk) if isinstance(fn, SF.l1_rate_sparsity) else fn(spk, y)).dtype == torch.float64


def test_weighted_rows_use_each_samples_label() -> None:
    spk = SPK[:, :1].expand(3, 2, 3)  # B=2 != C=3 (snntorch raises here)
    plain = SF.mse_count_loss(reduction="none")(spk, Y)
    weighted = SF.mse_count_loss(reduction="none", weight=W)(spk, Y)
    torch.testing.assert_close(weighted, plain * torch.tensor([[0.2], [0.5]]))


def test_time_varying_membrane_targets() -> None:
    y = torch.tensor([[0], [1]])  # per-step labels for T=2, B=1
    expect = ((0.8**2 + 0.5**2) / 2 + (0.9**2 + 0.9**2) / 2) / 2
    close(SF.mse_membrane_loss(time_var_targets=True)(MEM2, y), expect)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: SF.ce_rate_loss()(SPK, torch.tensor([0, 3])), "targets"),
        (lambda: SF.ce_rate_loss()(SPK, torch.tensor([0, 1, 2])), "batch"),
        (lambda: SF.ce_count_loss()(SPK[0], Y), r"\[T, B, C\]"),
        (lambda: SF.mse_count_loss(population_code=True)(SPK, Y), "num_classes"),
        (lambda: SF.ce_count_loss(population_code=True, num_classes=4)(SPK, Y), "num_classes"),
        (lambda: SF.ce_rate_loss(reduction="avg"), "reduction"),
        (lambda: SF.ce_temporal_loss(inverse="log"), "inverse"),
        (lambda: SF.accuracy_rate(SPK, torch.tensor([5, 0])), "targets"),
        (lambda: SF.ce_rate_loss(weight=[1.0])(SPK, Y), "weight"),
        (lambda: quant.state_quant(num_bits=0), "num_bits"),
    ],
)
def test_bad_input_raises(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


def test_state_quant_levels_and_ste() -> None:
    torch.testing.assert_close(
        quant.state_quant(2).levels.float(), torch.tensor([-1, -0.266667, 0.466667, 1.2])
    )
    torch.testing.assert_close(
        quant.state_quant(2, threshold=2, lower_limit=0.5, upper_limit=0.5).levels,
        torch.tensor([-3.0, -1, 1, 3], dtype=torch.float64),
    )
    nu = [-1, 0.400306, 0.820398, 0.946426, 0.984234, 0.995576, 0.998979, 1.2]
    torch.testing.assert_close(
        quant.state_quant(3, uniform=False).levels, torch.tensor(nu, dtype=torch.float64), atol=1e-6, rtol=0
    )
    zc = [-1, -0.280576, -0.064748, 0.006821, 0.029556, 0.10534, 0.357954, 1.2]
    torch.testing.assert_close(
        quant.state_quant(3, uniform=False, thr_centered=False).levels,
        torch.tensor(zc, dtype=torch.float64),
        atol=2e-6,
        rtol=1e-5,
    )
    x = torch.tensor([-2, -0.7, -0.64, 0, 0.1, 0.9, 5.0], dtype=torch.float64, requires_grad=True)
    y = quant.state_quant(2)(x)
    assert y.dtype == torch.float64
    torch.testing.assert_close(
        y.detach(),
        torch.tensor([-1, -1, -1, -0.266667, -0.266667, 1.2, 1.2], dtype=torch.float64),
        atol=1e-6,
        rtol=0,
    )
    y.sum().backward()
    assert x.grad.tolist() == [1.0] * 7
    q = pickle.loads(pickle.dumps(quant.state_quant(3)))
    torch.testing.assert_close(q(torch.tensor([0.3])), torch.tensor([0.257143]))


def test_state_quant_inside_a_neuron_pickles() -> None:
    import spikeforge as snn

    lif = snn.Leaky(beta=0.5, state_quant=quant.state_quant(2))
    lif2 = pickle.loads(pickle.dumps(lif))
    spk, mem = lif2(torch.tensor([0.3], dtype=torch.float64), torch.zeros(1, dtype=torch.float64))
    assert mem.dtype == torch.float64 and mem.item() == pytest.approx(0.466667, abs=1e-6)
