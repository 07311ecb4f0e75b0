"""The options of ``spikeforge train`` as one table (`OPTIONS`): each option's type, allowed values and
help text. The command-line flags, the keys of a TOML file and the fields of `TrainConfig` are all
checked against it by `check_value`, so a new option is one `TrainConfig` field plus one row here.

Errors name the option the way the user wrote it (`Origin`): ``--lr`` for a flag, ``lr = inf in
my.toml`` for a TOML key, ``lr`` for a field set in Python.
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ARCHITECTURES = ("mlp", "conv")
NEURONS = ("leaky", "synaptic", "alpha", "lapicque", "rleaky", "rsynaptic")
ENCODINGS = ("rate", "latency")
RESETS = ("subtract", "zero", "none")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("adam", "adamw", "sgd")
LR_SCHEDULES = ("none", "cosine", "step", "onecycle")
LOSSES = ("ce_rate", "ce_count", "mse_count", "ce_max_membrane", "mse_membrane", "ce_temporal",
          "mse_temporal")
#: the largest integer torch takes as a size or a count (int64)
INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class Range:
    """Allowed numbers ``low <= x <= high`` (``low < x`` with ``low_open``; ``x < high`` with
    ``high_open``; None: unbounded). Floats must also be finite."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    #: how to write ``high`` in messages (e.g. ``2**64 - 1``)
    high_text: str | None = None

    def holds(self, x: float) -> bool:
        if isinstance(x, float) and not math.isfinite(x):
            return False
        above = self.low is None or (x > self.low if self.low_open else x >= self.low)
        below = self.high is None or (x < self.high if self.high_open else x <= self.high)
        return above and below

    def text(self, kind: type, value: float | None = None) -> str:
        """What "must" needs: ``be >= 1``, ``be a finite number > 0`` or ``lie in [0, 1)``; for a
        ``value`` above an upper bound that is only torch's limit, ``be at most 2**63 - 1``."""
        high = self.high_text or (None if self.high is None else _number(self.high))
        if self.high == INT64_MAX and value is not None and value > INT64_MAX:
            return "be at most 2**63 - 1 (the largest integer torch takes)"
        if high is None or self.high == INT64_MAX:
            bound = f"{'>' if self.low_open else '>='} {_number(self.low)}"
            return f"be a finite number {bound}" if kind is float else f"be {bound}"
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        return f"lie in {left}{_number(self.low)}, {high}{right}"


def _number(x: float | None) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


@dataclass(frozen=True)
class Option:
    """One option: its value type and allowed values, and its help text.

    Attributes:
        kind: ``int``, ``float``, ``str`` or ``bool`` (a float option also takes an integer; a bool is
            not a number). path: a ``str`` option that names a file or folder (also takes a
            ``pathlib.Path``). optional: None (not set) is allowed.
        allowed: a `Range` for numbers. choices: the names a ``str`` option takes.
        hint: added to an error, e.g. what the edge value means. metavar: the flag's placeholder.
        flag: whether ``spikeforge train`` has a ``--name`` flag for it (a ``bool`` option's flag is a
            switch that sets it true; ``progress`` has ``--no-progress`` instead).
    """

    kind: type
    help: str
    allowed: Range | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False
    path: bool = False
    hint: str = ""
    metavar: str | None = None
    flag: bool = True


_AT_LEAST_1 = Range(1, INT64_MAX)
_POSITIVE = Range(0, low_open=True)

#: every option of ``spikeforge train``, in the order of ``--help`` and config.toml
OPTIONS: dict[str, Option] = {
    "dataset": Option(str, "data set: digits (bundled, default), nmnist, shd, ssc, dvsgesture, pokerdvs, "
                      "cifar10dvs, ncaltech101, or tonic:NAME for any tonic.datasets class (e.g. "
                      "tonic:ASLDVS)", metavar="NAME"),
    "data_dir": Option(str, "folder holding the event data set's folder, e.g. NMNIST/ or SSC/, as tonic lays "
                       "it out (event data sets only; nothing is downloaded)",
                       optional=True, path=True, metavar="DIR"),
    "epochs": Option(int, "number of training epochs (default 15)", _AT_LEAST_1),
    "batch_size": Option(int, "mini-batch size (default 64)", _AT_LEAST_1),
    "num_steps": Option(int, "time steps: encoding length for digits, time bins for event data "
                        "(default 25)", _AT_LEAST_1),
    "encoding": Option(str, "digits only: rate (default) or latency spike coding (spikegen)",
                       choices=ENCODINGS, optional=True),
    "model": Option(str, "network: mlp (default: Linear, neuron, Linear, neuron) or conv (two blocks of "
                    "5x5 convolution, 2x2 average pooling and neuron, then Linear, neuron, Linear, neuron; "
                    "digits, nmnist, dvsgesture)", choices=ARCHITECTURES),
    "neuron": Option(str, "neuron model: leaky (default), synaptic, alpha, lapicque, rleaky, rsynaptic",
                     choices=NEURONS),
    "reset": Option(str, "reset mechanism of the neurons: subtract, zero or none (default: the neuron's "
                    "own, subtract for leaky); with zero a leaky model exports to NIR exactly",
                    choices=RESETS, optional=True),
    "hidden": Option(int, "hidden layer width (default 128)", _AT_LEAST_1),
    "beta": Option(float, "membrane decay per step in [0, 1] (default 0.9)", Range(0, 1)),
    "lr": Option(float, "learning rate, a finite number > 0 (default 5e-3; the peak rate under a schedule)",
                 _POSITIVE),
    "seed": Option(int, "seed of weights, data order and spike encoding, in [0, 2**64 - 1] (default 0)",
                   Range(0, 2**64 - 1, high_text="2**64 - 1"), metavar="N"),
    "device": Option(str, "auto (CUDA if available, default), cpu or cuda", choices=DEVICES),
    "out": Option(str, "run directory to create (default: the first free runs/<dataset>-seed<seed>[-N])",
                  optional=True, path=True, metavar="RUN_DIR"),
    "val_fraction": Option(float, "part of the training split, in [0, 1), held out (a fixed random choice, "
                           "at least one sample) to choose checkpoints/best.pt by validation accuracy "
                           "(default 0.1; 0: no validation split, no best.pt)", Range(0, 1, high_open=True),
                           hint="0 holds out no validation samples and writes no best.pt"),
    "train_limit": Option(int, "use only N training samples (quick runs; digits: the first N of the fixed "
                          "split, event data: a fixed random N); the validation samples come out of the N",
                          _AT_LEAST_1, optional=True, hint="leave it out to use the whole split"),
    "test_limit": Option(int, "use only N test samples (quick runs; chosen as for --train-limit)",
                         _AT_LEAST_1, optional=True, hint="leave it out to use the whole split"),
    "time_window_us": Option(float, "event data: time bin width in microseconds (default: split each "
                             "sample into --num-steps equal bins)", _POSITIVE, optional=True),
    "denoise_us": Option(float, "event data (cameras): drop events with no neighbour within this many us",
                         _POSITIVE, optional=True),
    "downsample": Option(float, "event data: spatial factor in (0, 1], e.g. 0.5 halves width and height",
                         Range(0, 1, low_open=True)),
    "drop_out_of_range": Option(bool, "event data: drop events outside the sensor and report how many "
                                "(default: stop with an error naming the file and sample)", optional=True),
    "optimizer": Option(str, "adam (default), adamw or sgd", choices=OPTIMIZERS),
    "momentum": Option(float, "SGD momentum in [0, 1) (--optimizer sgd only; default 0)",
                       Range(0, 1, high_open=True)),
    "weight_decay": Option(float, "weight decay, >= 0 (default 0; decoupled for adamw, an L2 term for adam "
                           "and sgd)", Range(0)),
    "lr_schedule": Option(str, "learning-rate schedule, stepped after every batch: none (default), cosine, "
                          "step or onecycle", choices=LR_SCHEDULES),
    "warmup_epochs": Option(int, "epochs of linear warm-up to --lr, fewer than --epochs (default 0; with "
                            "onecycle: its rising phase, default 30%% of the run)", Range(0, INT64_MAX)),
    "lr_step_size": Option(int, "--lr-schedule step: epochs between two decays (default: a third of "
                           "--epochs)", _AT_LEAST_1, optional=True, hint="epochs between two decays"),
    "lr_gamma": Option(float, "--lr-schedule step: the factor of each decay, in (0, 1] (default 0.1)",
                       Range(0, 1, low_open=True), optional=True),
    "grad_clip": Option(float, "clip the gradients' global L2 norm to X (> 0) before each step",
                        _POSITIVE, optional=True, hint="the largest gradient norm"),
    "early_stopping": Option(int, "stop when the validation accuracy has not improved for PATIENCE epochs",
                             _AT_LEAST_1, optional=True, hint="epochs without improvement",
                             metavar="PATIENCE"),
    "amp": Option(bool, "mixed precision: bfloat16 autocast on CPU, float16 autocast with a gradient scaler "
                  "on CUDA"),
    "loss": Option(str, "ce_rate (default), ce_count, mse_count (spike counts), ce_max_membrane, "
                   "mse_membrane (output membrane), ce_temporal, mse_temporal (first-spike times)",
                   choices=LOSSES),
    "tensorboard": Option(bool, "log every epoch's metrics and the figures to RUN_DIR/tensorboard (needs "
                          "pip install 'spikeforge[tensorboard]')"),
    "progress": Option(bool, "progress bars (on a terminal) and one line per epoch", flag=False),
}

_KIND_TEXT = {int: "be an integer", float: "be a number", str: "be a string", bool: "be true or false"}


@dataclass(frozen=True)
class Origin:
    """Where option values came from, so that an error names each option as the user wrote it.

    Attributes:
        cli: values not given are named by their flags (``--lr``), as the command's user would set
            them; else by their field names (``lr``), as in Python.
        flags: options given as command-line flags. file: a TOML file; file_keys: options whose value
            came from it.
    """

    cli: bool = False
    flags: frozenset[str] = field(default_factory=frozenset)
    file: str | None = None
    file_keys: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def command(cls, flags: Iterable[str] = (), file: str | None = None,
                file_keys: Iterable[str] = ()) -> Origin:
        """Values of the ``spikeforge`` command: these ``flags``, these ``file_keys`` from ``file``."""
        flags = frozenset(flags)
        return cls(True, flags, file, frozenset(file_keys) - flags)

    def name(self, key: str) -> str:
        """The option as the user writes it: ``--num-steps``, or ``num_steps`` (TOML key, Python field)."""
        if key in self.flags or (self.cli and key not in self.file_keys):
            return "--no-progress" if key == "progress" else "--" + key.replace("_", "-")
        return key

    def note(self, values: dict[str, Any]) -> str:
        """`` (beta = 1.0 in my.toml)`` for the options among ``values`` that came from the file."""
        parts = [f"{k} = {toml_value(v)}" for k, v in values.items() if k in self.file_keys]
        return f" ({', '.join(parts)} in {self.file})" if parts else ""


#: values set in Python (`TrainConfig(...)`)
PYTHON = Origin()


def toml_value(value: Any) -> str:
    """``value`` as TOML writes it (``true``, ``3``, ``inf``, ``"text"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False) if isinstance(value, str) else repr(value)


def _shown(value: Any, origin: Origin, key: str) -> str:
    if key in origin.flags:
        return str(value)
    return toml_value(value) if key in origin.file_keys else repr(value)


def bad_value(key: str, value: Any, requirement: str, origin: Origin = PYTHON) -> ValueError:
    """The error for a value that does not meet ``requirement`` (what follows "must", e.g. ``be > 0``):
    ``--lr must be > 0, got 0`` (flag, Python field) or ``lr = 0 in my.toml must be > 0`` (TOML key),
    with the option's hint."""
    hint = OPTIONS[key].hint if key in OPTIONS else ""
    tail = f" ({hint})" if hint else ""
    if key in origin.file_keys:
        return ValueError(f"{key} = {_shown(value, origin, key)} in {origin.file} must {requirement}{tail}")
    return ValueError(f"{origin.name(key)} must {requirement}, got {_shown(value, origin, key)}{tail}")


def check_value(key: str, value: Any, origin: Origin = PYTHON) -> Any:
    """``value`` checked against ``OPTIONS[key]`` and converted (a float option's integer to float, a
    path to ``str``, a numpy integer to ``int``).

    Raises:
        ValueError: wrong type, a non-finite or out-of-range number, or an unknown name (for an
            option with choices), naming the option as ``origin`` says.
    """
    opt = OPTIONS[key]
    if value is None:
        if opt.optional:
            return None
        raise bad_value(key, value, _KIND_TEXT[opt.kind], origin)
    kind = opt.kind
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    else:
        ok = isinstance(value, str) or (opt.path and isinstance(value, os.PathLike))
    if not ok:
        what = _KIND_TEXT[kind]
        if opt.allowed is not None:  # "be an integer >= 1", "be a number in [0, 1]"
            what += " " + opt.allowed.text(kind).removeprefix("be ").removeprefix("lie ").removeprefix(
                "a finite number ")
        raise bad_value(key, value, what, origin)
    if kind in (int, float):
        number = kind(value)
        if opt.allowed is not None and not opt.allowed.holds(number):
            raise bad_value(key, value, opt.allowed.text(kind, number), origin)  # shown as written
        return number
    elif kind is str:
        value = os.fspath(value)
        if opt.choices and value not in opt.choices:
            raise ValueError(f"unknown {key.replace('_', ' ')} {value!r}{origin.note({key: value})}; choose "
                             f"{origin.name(key)} from {', '.join(opt.choices)}")
    return value


def path_from_toml(key: str, value: Any) -> Any:
    """A path option written by `path_to_toml` as ``{ path_bytes = "<hex>" }`` (a path that is not
    valid UTF-8, which a TOML string cannot hold), back as the operating system's ``str``."""
    if OPTIONS[key].path and isinstance(value, dict) and set(value) == {"path_bytes"}:
        try:
            return os.fsdecode(bytes.fromhex(str(value["path_bytes"])))
        except ValueError:
            pass  # reported as a value of the wrong type
    return value


def path_to_toml(path: str) -> dict[str, str] | str:
    """``path`` as a TOML value: the text itself, or ``{"path_bytes": hex}`` when it holds bytes that are
    not valid UTF-8 (decoded by Python as surrogate escapes; TOML strings cannot hold them)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return {"path_bytes": os.fsencode(path).hex()}
    return path
