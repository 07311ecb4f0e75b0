"""The optimisation options' building blocks: learning-rate schedules against their formulas, gradient
clipping against a hand-computed step, the gradient scaler and the schedule resuming exactly from a
saved state, and mixed precision falling back to the neuron step loop in bfloat16."""

from __future__ import annotations

import io
import math

import pytest
import torch
from torch import nn

import spikeforge as snn
from spikeforge.training._optim import Stepper, autocast, build_stepper
from spikeforge.training.trainer import TrainConfig

LR = 0.1


def _lrs(cfg: TrainConfig, batches: int) -> list[float]:
    """The learning rate of every optimizer step of a run of ``cfg`` with ``batches`` per epoch."""
    model = nn.Linear(1, 1)
    stepper = build_stepper(cfg, model, torch.device("cpu"), batches)
    out = []
    for _ in range(cfg.epochs * batches):
        stepper.step(model(torch.ones(1, 1)).sum())
        out.append(stepper.last_lr)
    return out


def test_constant_rate_has_no_scheduler_and_warm_up_is_linear() -> None:
    assert build_stepper(TrainConfig(lr=LR), nn.Linear(1, 1), torch.device("cpu"), 3).scheduler is None
    got = _lrs(TrainConfig(lr=LR, epochs=3, warmup_epochs=1), batches=2)
    assert got == pytest.approx([LR / 2, LR, LR, LR, LR, LR], rel=1e-12)


def test_cosine_schedule_with_warm_up() -> None:
    # 4 epochs of 3 batches: warm-up over W = 3 steps, then lr * (1 + cos(pi * (s - 3) / 9)) / 2
    got = _lrs(TrainConfig(lr=LR, epochs=4, warmup_epochs=1, lr_schedule="cosine"), batches=3)
    expected = [LR * (s + 1) / 3 for s in range(3)]
    expected += [LR * 0.5 * (1 + math.cos(math.pi * (s - 3) / 9)) for s in range(3, 12)]
    assert got == pytest.approx(expected, rel=1e-12)
    # spot values by hand: the first cosine step is the peak; cos(8 pi / 9) = -0.93969262...
    assert got[3] == pytest.approx(LR) and got[11] == pytest.approx(LR * 0.5 * (1 - 0.9396926208), rel=1e-9)


def test_step_schedule_decays_every_lr_step_size_epochs() -> None:
    cfg = TrainConfig(lr=LR, epochs=4, lr_schedule="step", lr_step_size=1, lr_gamma=0.5)
    assert _lrs(cfg, batches=2) == pytest.approx([LR, LR, LR / 2, LR / 2, LR / 4, LR / 4, LR / 8, LR / 8])
    cfg = TrainConfig(lr=LR, epochs=4, lr_schedule="step", lr_step_size=3, lr_gamma=0.1)
    assert _lrs(cfg, batches=1) == pytest.approx([LR, LR, LR, LR / 10])


def test_onecycle_rises_for_the_warm_up_then_anneals() -> None:
    # 20 steps, warm-up 1 of 4 epochs = 25 %: torch's OneCycleLR starts at max_lr / 25, peaks at step
    # 0.25 * 20 - 1 = 4 and ends at max_lr / 25 / 1e4
    got = _lrs(TrainConfig(lr=LR, epochs=4, warmup_epochs=1, lr_schedule="onecycle"), batches=5)
    assert got[0] == pytest.approx(LR / 25) and got[4] == pytest.approx(LR)
    assert got[-1] == pytest.approx(LR / 25 / 1e4)
    assert all(a < b for a, b in zip(got[:4], got[1:5])) and all(a > b for a, b in zip(got[4:-1], got[5:]))


@pytest.mark.parametrize("clip", [None, 1.0, 10.0])
def test_grad_clip_scales_the_global_norm(clip: float | None) -> None:
    model = nn.Linear(2, 1, bias=False)
    nn.init.zeros_(model.weight)
    cfg = TrainConfig(optimizer="sgd", lr=1.0, grad_clip=clip)
    stepper = build_stepper(cfg, model, torch.device("cpu"), 1)
    stepper.step(model(torch.tensor([[3.0, 4.0]])).sum())  # gradient (3, 4), norm 5
    expected = {None: [-3.0, -4.0], 1.0: [-0.6, -0.8], 10.0: [-3.0, -4.0]}[clip]
    assert model.weight.detach()[0].tolist() == pytest.approx(expected, rel=1e-6)


def test_sgd_momentum_and_adamw_weight_decay_reach_the_optimizer() -> None:
    model = nn.Linear(1, 1)
    sgd = build_stepper(TrainConfig(optimizer="sgd", momentum=0.9, weight_decay=0.01), model,
                        torch.device("cpu"), 1).optimizer
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.9
    assert sgd.defaults["weight_decay"] == 0.01
    cfg = TrainConfig(optimizer="adamw", weight_decay=0.05)
    adamw = build_stepper(cfg, model, torch.device("cpu"), 1).optimizer
    assert type(adamw) is torch.optim.AdamW and adamw.defaults["weight_decay"] == 0.05
    adam = build_stepper(TrainConfig(), model, torch.device("cpu"), 1).optimizer
    assert type(adam) is torch.optim.Adam and adam.defaults["weight_decay"] == 0.0


def _float16_stepper(model: nn.Module, cfg: TrainConfig) -> Stepper:
    """What `build_stepper` makes for CUDA ``--amp`` (a float16 gradient scaler), on the CPU."""
    plain = build_stepper(cfg, model, torch.device("cpu"), 4)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    return Stepper(plain.optimizer, plain.scheduler, cfg.grad_clip, scaler)


def _run(stepper: Stepper, model: nn.Module, steps: range) -> None:
    for s in steps:
        x = torch.full((2, 3), float(s + 1))
        with torch.autocast("cpu", dtype=torch.float16):
            loss = (model(x) ** 2).mean()
        stepper.step(loss)


def test_schedule_and_scaler_state_resume_exactly() -> None:
    cfg = TrainConfig(lr=0.01, epochs=3, lr_schedule="onecycle", optimizer="sgd", momentum=0.5, grad_clip=0.5)
    torch.manual_seed(0)
    whole = nn.Linear(3, 2)
    torch.manual_seed(0)
    cut = nn.Linear(3, 2)
    a = _float16_stepper(whole, cfg)
    _run(a, whole, range(12))
    b = _float16_stepper(cut, cfg)
    _run(b, cut, range(5))
    buffer = io.BytesIO()  # through torch.save, read back as a checkpoint is (weights only)
    torch.save({"training": b.state_dict(), "optimizer": b.optimizer.state_dict(), "model": cut.state_dict()},
               buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    assert saved["training"]["scaler"]["scale"] > 0 and saved["training"]["scheduler"]["last_epoch"] == 5
    resumed = nn.Linear(3, 2)
    resumed.load_state_dict(saved["model"])
    c = _float16_stepper(resumed, cfg)
    c.optimizer.load_state_dict(saved["optimizer"])
    c.load_state_dict(saved["training"])
    _run(c, resumed, range(5, 12))
    assert torch.equal(resumed.weight, whole.weight) and torch.equal(resumed.bias, whole.bias)
    assert c.last_lr == a.last_lr and c.scaler.get_scale() == a.scaler.get_scale()


def test_autocast_is_bfloat16_on_cpu_and_off_without_amp() -> None:
    with autocast(torch.device("cpu"), amp=True):
        assert nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.bfloat16
    with autocast(torch.device("cpu"), amp=False):
        assert nn.Linear(2, 2)(torch.ones(1, 2)).dtype == torch.float32


def test_amp_runs_leaky_through_the_step_loop_in_bfloat16(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fused kernels take float32/float64 only: under autocast the runner falls back to the step
    loop, which must compute U[t] = beta U[t-1] + X[t] - S[t-1] thr, S[t] = H(U[t] - thr) in bfloat16."""
    from spikeforge.runner import _loop

    found = []
    real = _loop.find_kernel

    def spy(step, xs, *args):  # what the runner chose for each sequence
        kernel = real(step, xs, *args)
        found.append((xs.dtype, kernel))
        return kernel

    monkeypatch.setattr(_loop, "find_kernel", spy)
    torch.manual_seed(1)
    lin = nn.Linear(6, 5)
    net = snn.SequentialSNN(lin, snn.Leaky(beta=0.75))
    x = torch.rand(12, 4, 6) * 2
    with torch.autocast("cpu", dtype=torch.bfloat16):
        spk, traces = net(x, record=True)
    mem = traces[0].states["mem"]
    assert spk.dtype == mem.dtype == torch.bfloat16
    # no kernel took the bfloat16 sequence (if one does one day, docs/cli.md's --amp note must change)
    assert found == [(torch.bfloat16, None)]
    cur = nn.functional.linear(x.bfloat16(), lin.weight.bfloat16(), lin.bias.bfloat16())
    u, s, us, ss = torch.zeros(4, 5, dtype=torch.bfloat16), torch.zeros(4, 5, dtype=torch.bfloat16), [], []
    for t in range(12):  # the equations, each operation rounded to bfloat16
        u = 0.75 * u + cur[t] - s * 1.0
        s = (u > 1).bfloat16()
        us.append(u)
        ss.append(s)
    assert torch.equal(mem, torch.stack(us)) and torch.equal(spk, torch.stack(ss))
    assert 0 < float(spk.detach().float().mean()) < 1
