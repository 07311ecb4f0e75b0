"""The options of ``spikeforge train`` (`TrainConfig`) and the names they accept; re-exported by
`spikeforge.training.trainer`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

ARCHITECTURES = ("mlp", "conv")
NEURONS = ("leaky", "synaptic", "alpha", "lapicque", "rleaky", "rsynaptic")
ENCODINGS = ("rate", "latency")
RESETS = ("subtract", "zero", "none")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("none", "cosine", "step", "onecycle")
LOSSES = ("ce_rate", "ce_count", "mse_count", "ce_max_membrane", "mse_membrane", "ce_temporal",
          "mse_temporal")
#: fields that may change when a run is resumed (the rest must match the checkpoint)
RESUMABLE_CHANGES = ("epochs", "device", "progress", "out", "tensorboard")
#: the values of the optimisation options in runs made before these options existed (for --resume)
BEFORE_OPTIONS = {"optimizer": "adam", "momentum": 0.0, "weight_decay": 0.0, "lr_schedule": "none",
                  "warmup_epochs": 0, "lr_step_size": None, "lr_gamma": None, "grad_clip": None,
                  "early_stopping": None, "amp": False, "loss": "ce_rate"}


@dataclass
class TrainConfig:
    """Everything ``spikeforge train`` needs; each field is also a command-line option and a TOML key.

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
        lr: Adam learning rate. seed: seeds weights, data order and encoding.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        out: the run directory (default: the first free ``runs/<dataset>-seed<seed>[-N]``).
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
        progress: show progress bars.
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

    def validate(self) -> None:
        """Check names, ranges and combinations.

        Raises:
            ValueError: with a message naming the option and what to do instead.
        """
        from ..data import check_dataset_name

        check_dataset_name(self.dataset)
        if self.neuron not in NEURONS:
            raise ValueError(f"unknown neuron {self.neuron!r}; choose --neuron from {', '.join(NEURONS)}")
        if self.model not in ARCHITECTURES:
            raise ValueError(f"unknown model {self.model!r}; choose --model mlp or conv")
        if self.model == "conv" and self.dataset == "shd":
            raise ValueError("--model conv needs image-like frames but shd gives one channel axis per step; "
                             "use --model mlp for shd")
        if self.reset is not None and self.reset not in RESETS:
            raise ValueError(f"unknown reset {self.reset!r}; choose --reset from {', '.join(RESETS)}")
        if self.encoding is not None and self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}; choose --encoding rate or latency")
        if self.device not in DEVICES:
            raise ValueError(f"unknown device {self.device!r}; choose --device auto, cpu or cuda")
        for name in ("epochs", "batch_size", "num_steps", "hidden"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        for name in ("train_limit", "test_limit"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)} "
                                 "(leave it out to use the whole split)")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"--val-fraction must lie in [0, 1), got {self.val_fraction} (0 holds out no "
                             "validation samples and writes no best.pt)")
        if not 0 <= self.beta <= 1:
            raise ValueError(f"--beta must lie in [0, 1], got {self.beta}")
        if self.neuron == "lapicque" and not 0 < self.beta < 1:
            raise ValueError(f"--neuron lapicque needs --beta strictly between 0 and 1 (its R and C are "
                             f"derived from it), got {self.beta}")
        if int(self.seed) < 0:
            raise ValueError(f"--seed must be >= 0, got {self.seed}")
        if not self.lr > 0:
            raise ValueError(f"--lr must be > 0, got {self.lr}")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("--device cuda but no CUDA device is available; use --device cpu or auto")
        from ._optim import check_training_options

        check_training_options(self)
        event_only = {
            "data_dir": self.data_dir,
            "time_window_us": self.time_window_us,
            "denoise_us": self.denoise_us,
            "downsample": None if self.downsample == 1 else 1,
            "drop_out_of_range": self.drop_out_of_range or None,
        }
        if self.dataset == "digits":
            given = [k for k, v in event_only.items() if v is not None]
            if given:
                opt = "--" + given[0].replace("_", "-")
                raise ValueError(f"{opt} applies to event data sets only; digits is bundled (drop {opt})")
        else:
            if self.encoding is not None:
                raise ValueError(
                    f"--encoding applies to digits only; {self.dataset} is already spikes (drop --encoding)"
                )
            if self.data_dir is None:
                raise ValueError(f"--dataset {self.dataset} needs --data-dir (the folder with its files)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> TrainConfig:
        """Build from a dict (e.g. TOML); an unknown key or a value of the wrong type (a bool is not an
        integer; a float option takes an integer) raises ValueError naming ``source``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - fields)
        if unknown:
            allowed = ", ".join(sorted(fields))
            raise ValueError(f"unknown key {unknown[0]!r} in {source}; allowed keys: {allowed}")
        return cls(**{key: _checked(key, value, source) for key, value in data.items()})


#: the value type of each option (None is allowed where the default is None)
_KINDS = {f.name: str(f.type).split(" | ")[0] for f in dataclasses.fields(TrainConfig)}
_KIND_NAMES = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}


def _checked(key: str, value: Any, source: str) -> Any:
    """``value`` if it has ``key``'s type (a float option also takes an integer, converted; a bool is
    not an integer), else ValueError naming the key, ``source``, the value and the type."""
    if value is None and getattr(TrainConfig, key) is None:
        return None
    kind = _KINDS[key]
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
    }[kind]
    if not ok:
        raise ValueError(f"{key} = {value!r} in {source} must be {_KIND_NAMES[kind]}")
    return float(value) if kind == "float" else value
