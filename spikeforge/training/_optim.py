"""The optimisation options of ``spikeforge train``: optimizer, learning-rate schedule, gradient clipping,
mixed precision and early stopping, and their checkpoint state (each option's value is checked by the
table `spikeforge.training._options.OPTIONS`, their combinations by `TrainConfig.validate`).

Everything here is exactly resumable: the optimizer's, the schedule's and the gradient scaler's states
go into the checkpoint (`Stepper.state_dict`), and early stopping is a function of the checkpoint's
``best`` record (the epoch of the highest validation accuracy), so a run resumed after any epoch takes
the same steps as an uninterrupted one.

Schedules are stepped after every optimizer step (batch), as in timm and Hugging Face's Trainer:

- ``none``: constant ``lr``.
- ``cosine``: ``lr * (1 + cos(pi * s / S)) / 2`` after the warm-up, ``s`` the step since the warm-up
  and ``S`` the steps left after it (Loshchilov and Hutter, SGDR, 2017, without restarts).
- ``step``: ``lr * lr_gamma ** (epoch // lr_step_size)`` (torch's ``StepLR`` per epoch).
- ``onecycle``: ``torch.optim.lr_scheduler.OneCycleLR`` with ``max_lr = lr`` over the whole run, rising
  for ``warmup_epochs`` (default 30 % of the run), cycling the momentum as torch does (Smith and
  Topin, 2019).

Warm-up (``none``, ``cosine``, ``step``): the rate of step ``s < W`` is ``lr * (s + 1) / W`` with ``W =
warmup_epochs * batches per epoch``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor, nn

if TYPE_CHECKING:
    from ._train_config import TrainConfig

#: the factor of ``--lr-schedule step`` when ``--lr-gamma`` is not given
DEFAULT_LR_GAMMA = 0.1


def prepare_training(cfg: TrainConfig) -> None:
    """Before training (after `TrainConfig.validate`): check that ``--tensorboard`` can be used, and
    fill in the defaults that depend on other options, so ``config.toml`` names the values used: for
    ``--lr-schedule step``, ``lr_step_size`` (a third of the epochs, at least 1) and ``lr_gamma``.

    Raises:
        ValueError: ``--tensorboard`` without the tensorboard package (the message names the extra).
    """
    if cfg.tensorboard:
        from ._tracking import require_tensorboard

        require_tensorboard()
    if cfg.lr_schedule == "step":
        if cfg.lr_step_size is None:
            cfg.lr_step_size = max(1, cfg.epochs // 3)
        if cfg.lr_gamma is None:
            cfg.lr_gamma = DEFAULT_LR_GAMMA


def check_resume(saved: dict[str, Any], cfg: TrainConfig) -> None:
    """Refuse a resume whose new ``--epochs`` would bend a schedule that spans the whole run.

    Raises:
        ValueError: ``cosine`` or ``onecycle`` with a different number of epochs.
    """
    before = int(saved.get("epochs", cfg.epochs))
    if cfg.lr_schedule in ("cosine", "onecycle") and cfg.epochs != before:
        raise ValueError(f"--epochs cannot change when resuming a run with --lr-schedule {cfg.lr_schedule} "
                         f"(its schedule spans the run's {before} epochs); resume with --epochs {before}, or "
                         "start a new run")


def stopped_early(cfg: TrainConfig, best: dict[str, Any], epoch: int) -> bool:
    """True when early stopping ends the run after ``epoch``: the best validation accuracy (``best``,
    as the checkpoint records it) is at least ``early_stopping`` epochs old."""
    patience = cfg.early_stopping
    return patience is not None and epoch > 0 and epoch - int(best["epoch"]) >= patience


def build_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    """``torch.optim.Adam``, ``AdamW`` or ``SGD`` over ``model``'s parameters with ``cfg.lr``."""
    params = model.parameters()
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    kind = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    return kind(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _lr_factor(cfg: TrainConfig, batches: int) -> Callable[[int], float]:
    """The factor of ``cfg.lr`` at optimizer step ``s`` (0-based) for ``none``, ``cosine``, ``step``."""
    warm = int(cfg.warmup_epochs) * batches
    total = int(cfg.epochs) * batches

    def factor(s: int) -> float:
        if s < warm:
            return (s + 1) / warm
        if cfg.lr_schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * (s - warm) / max(total - warm, 1)))
        if cfg.lr_schedule == "step":
            return float(cfg.lr_gamma) ** ((s // batches) // int(cfg.lr_step_size))  # type: ignore[arg-type]
        return 1.0

    return factor


def build_scheduler(cfg: TrainConfig, optimizer: torch.optim.Optimizer, batches: int) -> Any:
    """The per-step learning-rate scheduler of ``cfg``, or None for a constant rate."""
    if cfg.lr_schedule == "onecycle":
        cycle_momentum = not (cfg.optimizer == "sgd" and cfg.momentum == 0)
        pct = cfg.warmup_epochs / cfg.epochs if cfg.warmup_epochs else 0.3
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=cfg.lr, total_steps=cfg.epochs * batches, pct_start=pct,
            cycle_momentum=cycle_momentum)
    if cfg.lr_schedule == "none" and not cfg.warmup_epochs:
        return None
    return torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(cfg, batches))


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[Any]:
    """Mixed precision for ``--amp``: bfloat16 autocast on CPU, float16 on CUDA; a no-op without it.

    The fused neuron kernels take float32 and float64 only, so under autocast the neurons run
    through the step loop (`spikeforge.runner.run_loop`) in the autocast dtype.
    """
    if not amp:
        return contextlib.nullcontext()
    dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _plain(state: dict[str, Any]) -> dict[str, Any]:
    """A scheduler's state without callables (older torch keeps a bound method in ``OneCycleLR``), so
    ``torch.load(weights_only=True)`` reads the checkpoint."""
    return {k: v for k, v in state.items() if not callable(v)}


class Stepper:
    """One optimizer step per batch: backward (scaled under CUDA ``--amp``), gradient clipping, the
    optimizer's step and the schedule's step.

    Args:
        optimizer: the torch optimizer. scheduler: from `build_scheduler`, or None.
        grad_clip: the largest global L2 norm of the gradients, or None.
        scaler: a ``torch.amp.GradScaler`` (float16 autocast), or None.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, scheduler: Any = None,
                 grad_clip: float | None = None, scaler: Any = None) -> None:
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.grad_clip = grad_clip
        self.scaler = scaler
        #: the learning rate of the last step taken
        self.last_lr = float(optimizer.param_groups[0]["lr"])

    def _params(self) -> Iterator[Tensor]:
        for group in self.optimizer.param_groups:
            yield from group["params"]

    def step(self, loss: Tensor) -> None:
        """Backpropagate ``loss`` and take one optimizer step (and one schedule step)."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        if self.grad_clip is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(list(self._params()), self.grad_clip)
        self.last_lr = float(self.optimizer.param_groups[0]["lr"])
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        """The schedule's and the scaler's states (the optimizer's is saved on its own)."""
        return {
            "scheduler": None if self.scheduler is None else _plain(self.scheduler.state_dict()),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "last_lr": self.last_lr,
        }

    def load_state_dict(self, state: dict[str, Any] | None) -> None:
        """Restore `state_dict` (None, from a checkpoint made before these options: nothing to restore)."""
        if state is None:
            return
        if self.scheduler is not None and state.get("scheduler") is not None:
            self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None and state.get("scaler") is not None:
            self.scaler.load_state_dict(state["scaler"])
        self.last_lr = float(state.get("last_lr", self.last_lr))


def build_stepper(cfg: TrainConfig, model: nn.Module, device: torch.device, batches: int) -> Stepper:
    """The optimizer, schedule, clipping and (float16 on CUDA) gradient scaler of ``cfg``; ``batches``
    is the number of optimizer steps per epoch."""
    optimizer = build_optimizer(cfg, model)
    scaler = torch.amp.GradScaler("cuda") if cfg.amp and device.type == "cuda" else None
    return Stepper(optimizer, build_scheduler(cfg, optimizer, batches), cfg.grad_clip, scaler)


def as_stepper(optimizer: torch.optim.Optimizer | Stepper | None) -> Stepper | None:
    """A `Stepper` for a plain torch optimizer (no schedule, no clipping), as it is, or None."""
    if optimizer is None or isinstance(optimizer, Stepper):
        return optimizer
    return Stepper(optimizer)
