"""The options of ``spikeforge train`` (`TrainConfig`) and the names they accept; re-exported by
`spikeforge.training.trainer`."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from ._options import (
    ARCHITECTURES,
    DEVICES,
    ENCODINGS,
    LOSSES,
    LR_SCHEDULES,
    NEURONS,
    OPTIMIZERS,
    OPTIONS,
    PYTHON,
    RESETS,
    Origin,
    check_value,
    path_from_toml,
)

__all__ = ["ARCHITECTURES", "BEFORE_OPTIONS", "DEVICES", "ENCODINGS", "LOSSES", "LR_SCHEDULES", "NEURONS",
           "OPTIMIZERS", "RESETS", "RESUMABLE_CHANGES", "TrainConfig"]

#: fields that may change when a run is resumed (the rest must match the checkpoint)
RESUMABLE_CHANGES = ("epochs", "device", "progress", "out", "tensorboard")
#: the values of the optimisation options in runs made before these options existed (for --resume)
BEFORE_OPTIONS = {"optimizer": "adam", "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "none",
                  "warmup_epochs": 0, "lr_step_size": None, "lr_gamma": None, "grad_clip": None,
                  "early_stopping": None, "amp": False, "loss": "ce_rate"}


@dataclass
class TrainConfig:
    """Everything ``spikeforge train`` needs; each field is also a command-line option and a TOML key.

    Each value is checked when the config is made (its type, range or choices, from the table
    `spikeforge.training._options.OPTIONS`); `validate` also checks combinations. A new option is a
    field here plus a row in that table.

    Raises:
        ValueError: a value of the wrong type (``epochs="3"``), not finite or out of range
            (``lr=float("inf")``, ``seed=2**70``) or not among the choices, naming the field.

    Attributes:
        dataset: ``digits`` (bundled, default), an event data set (``nmnist``, ``shd``, ``ssc``,
            ``dvsgesture``, ``pokerdvs``, ``cifar10dvs``, ``ncaltech101``) or ``tonic:NAME`` for any
            `tonic.datasets` class (see `spikeforge.data.get_event_dataset`).
        data_dir: folder with the event data set's files (event data sets only).
        epochs, batch_size: training length and mini-batch size.
        num_steps: time steps ``T`` (digits: encoding length; event data: number of time bins).
        encoding: ``rate`` (default) or ``latency``; digits only (event data are already spikes).
        model: ``mlp`` (default: Linear, neuron, Linear, neuron) or ``conv`` (two convolution, pooling
            and neuron blocks, then Linear and neuron; for image-like data: digits as 1x8x8, N-MNIST,
            DVS Gesture). See `spikeforge.training.trainer.build_network`.
        neuron: one of `NEURONS`. hidden: width of the hidden Linear layer (both models; the ``conv``
            model's channels are fixed). beta: membrane decay per step.
        reset: the neurons' reset mechanism, ``subtract``, ``zero`` or ``none`` (default: the neuron's
            own, e.g. ``subtract`` for Leaky). NIR expresses only ``zero`` exactly, so a model trained
            with ``--reset zero`` exports to NIR without loss.
        lr: learning rate (finite, > 0; the peak rate under a schedule). seed: seeds weights, data
            order and encoding, in ``[0, 2**64 - 1]``.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        out: the run directory (default: the first free ``runs/<dataset>-seed<seed>[-N]``); ``data_dir``
            and ``out`` also take a ``pathlib.Path`` (stored as ``str``).
        val_fraction: the part of the training split held out (a fixed random subset) to choose the best
            epoch, ``checkpoints/best.pt``, by validation accuracy; 0 holds nothing out and writes no
            ``best.pt``. The test split is never used for a choice.
        train_limit, test_limit: use only N samples of each split (quick runs; see ``--train-limit``);
            the validation samples are held out of the ``train_limit`` ones.
        time_window_us, denoise_us, downsample: event data framing (see `FrameSpec`).
        drop_out_of_range: event data: drop events outside the sensor (and report how many) instead of
            stopping with an error naming the file and sample (None or False: stop).
        optimizer: ``adam`` (default), ``adamw`` or ``sgd``; momentum: SGD's momentum (``sgd`` only);
            weight_decay: the optimizer's weight decay (decoupled for ``adamw``, L2 otherwise).
        lr_schedule: ``none``, ``cosine``, ``step`` or ``onecycle``, stepped after every batch;
            warmup_epochs: linear warm-up from ``lr / steps`` to ``lr`` (``onecycle``: its rising phase);
            lr_step_size, lr_gamma: ``step`` multiplies the rate by ``lr_gamma`` every ``lr_step_size``
            epochs (defaults: 0.1 every third of the epochs). See `spikeforge.training._optim`.
        grad_clip: clip the gradients' global L2 norm to this value. early_stopping: stop when the
            validation accuracy has not improved for this many epochs.
        amp: mixed precision (bfloat16 autocast on CPU; float16 autocast and a gradient scaler on CUDA).
        loss: one of `LOSSES` (see `spikeforge.training._objective`).
        tensorboard: log to ``RUN_DIR/tensorboard`` (needs the ``tensorboard`` extra).
        progress: print a line per epoch, and progress bars when stderr is a terminal.
    """

    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 15
    batch_size: int = 64
    num_steps: int = 25
    encoding: str | None = None
    model: str = "mlp"
    neuron: str = "leaky"
    reset: str | None = None
    hidden: int = 128
    beta: float = 0.9
    lr: float = 5e-3
    seed: int = 0
    device: str = "auto"
    out: str | None = None
    val_fraction: float = 0.1
    train_limit: int | None = None
    test_limit: int | None = None
    time_window_us: float | None = None
    denoise_us: float | None = None
    downsample: float = 1.0
    drop_out_of_range: bool | None = None
    optimizer: str = "adam"
    momentum: float = 0.0
    weight_decay: float = 0.0
    lr_schedule: str = "none"
    warmup_epochs: int = 0
    lr_step_size: int | None = None
    lr_gamma: float | None = None
    grad_clip: float | None = None
    early_stopping: int | None = None
    amp: bool = False
    loss: str = "ce_rate"
    tensorboard: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        for key in OPTIONS:  # each value on its own; combinations are checked by `validate`
            setattr(self, key, check_value(key, getattr(self, key)))

    def validate(self, origin: Origin = PYTHON) -> None:
        """Check every value (as `__post_init__` does, in case a field was set since) and the
        combinations of values.

        Args:
            origin: where the values came from, so that a message names each option as the user wrote
                it (a flag, a TOML key, a field).

        Raises:
            ValueError: with a message naming the option and what to do instead.
        """
        from ..data import check_dataset_name

        for key in OPTIONS:
            setattr(self, key, check_value(key, getattr(self, key), origin))
        name, note = origin.name, origin.note
        try:
            check_dataset_name(self.dataset)
        except ValueError as exc:  # the data layer says --dataset: name it as the user wrote it
            head, _, tail = str(exc).replace("--dataset", name("dataset")).partition(";")
            raise ValueError(f"{head}{note({'dataset': self.dataset})};{tail}") from None
        if self.model == "conv" and self.dataset == "shd":
            raise ValueError(f"{name('model')} conv needs image-like frames but shd gives one channel axis "
                             f"per step{note({'model': 'conv', 'dataset': 'shd'})}; use {name('model')} mlp "
                             "for shd")
        if self.neuron == "lapicque" and not 0 < self.beta < 1:
            raise ValueError(f"{name('neuron')} lapicque needs {name('beta')} strictly between 0 and 1 (its "
                             f"R and C are derived from it), got {self.beta}"
                             f"{note({'neuron': self.neuron, 'beta': self.beta})}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{name('device')} cuda but no CUDA device is available"
                             f"{note({'device': 'cuda'})}; use {name('device')} cpu or auto")
        self._check_training(origin)
        event_only = {
            "data_dir": self.data_dir,
            "time_window_us": self.time_window_us,
            "denoise_us": self.denoise_us,
            "downsample": None if self.downsample == 1 else self.downsample,
            "drop_out_of_range": self.drop_out_of_range or None,
        }
        if self.dataset == "digits":
            given = {k: v for k, v in event_only.items() if v is not None}
            if given:
                key = next(iter(given))
                raise ValueError(f"{name(key)} applies to event data sets only; digits is bundled"
                                 f"{note({key: given[key]})} (drop {name(key)})")
        else:
            if self.encoding is not None:
                raise ValueError(f"{name('encoding')} applies to digits only; {self.dataset} is already "
                                 f"spikes{note({'encoding': self.encoding})} (drop {name('encoding')})")
            if self.data_dir is None:
                raise ValueError(f"{name('dataset')} {self.dataset} needs {name('data_dir')} (the folder "
                                 f"with its files){note({'dataset': self.dataset})}")

    def _check_training(self, origin: Origin) -> None:
        """The combinations of the optimisation options (each value is checked by the table)."""
        name, note = origin.name, origin.note
        if self.momentum and self.optimizer != "sgd":
            raise ValueError(f"{name('momentum')} applies to {name('optimizer')} sgd only ({self.optimizer} "
                             f"keeps its own moment estimates){note({'momentum': self.momentum})}; drop "
                             f"{name('momentum')} or use {name('optimizer')} sgd")
        if self.warmup_epochs and self.warmup_epochs >= self.epochs:
            raise ValueError(f"{name('warmup_epochs')} {self.warmup_epochs} must be fewer than "
                             f"{name('epochs')} {self.epochs}"
                             f"{note({'warmup_epochs': self.warmup_epochs, 'epochs': self.epochs})}")
        for key in ("lr_step_size", "lr_gamma"):
            if getattr(self, key) is not None and self.lr_schedule != "step":
                raise ValueError(f"{name(key)} applies to {name('lr_schedule')} step only"
                                 f"{note({key: getattr(self, key)})} (drop it, or add "
                                 f"{name('lr_schedule')} step)")
        if self.early_stopping is not None and self.val_fraction == 0:
            raise ValueError(f"{name('early_stopping')} watches the validation accuracy, but "
                             f"{name('val_fraction')} 0 holds no validation samples out"
                             f"{note({'early_stopping': self.early_stopping, 'val_fraction': 0.0})}; use a "
                             f"{name('val_fraction')} above 0")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "config") -> TrainConfig:
        """Build from the keys of a TOML file ``source`` (or any dict); each value is checked and an
        error names it as ``key = value in source``.

        Raises:
            ValueError: an unknown key, or a value of the wrong type or out of range.
        """
        return cls.from_command({}, data, source)

    @classmethod
    def from_command(cls, flags: Mapping[str, Any], file_values: Mapping[str, Any] | None = None,
                     file: str | None = None) -> TrainConfig:
        """Build from the defaults, then the keys of a TOML file, then the command-line flags.

        Every value is checked where it came from (a bad value in the file is reported even when a
        flag overrides it), then the combinations (`validate`), before anything is created.

        Args:
            flags: options given as flags, by field name. file_values: the keys read from ``file``.

        Raises:
            ValueError: an unknown key in the file, or a bad value, naming the flag or the file's key.
        """
        file_values = dict(file_values or {})
        unknown = sorted(set(file_values) - set(OPTIONS))
        if unknown:
            allowed = ", ".join(sorted(OPTIONS))
            raise ValueError(f"unknown key {unknown[0]!r} in {file}; allowed keys: {allowed}")
        from_file = Origin.command(file=file, file_keys=file_values)
        values = {k: check_value(k, path_from_toml(k, v), from_file) for k, v in file_values.items()}
        origin = Origin.command(flags, file, file_values)
        values.update({k: check_value(k, v, origin) for k, v in flags.items()})
        cfg = cls(**values)
        cfg.validate(origin)
        return cfg

