"""The ``spikeforge`` command: ``train``, ``evaluate``, ``predict`` and ``export`` (also
``python -m spikeforge``).

Options come from the defaults of `TrainConfig`, then a TOML file
(``--config``), then the flags given. Every error is one line ``spikeforge: error: ...`` that says what
to do; the exit status is 2 for an error and 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_TRAIN_OPTIONS: list[tuple[str, type, str]] = [
    ("dataset", str, "data set: digits (bundled, default), nmnist, shd, ssc, dvsgesture, pokerdvs, "
                     "cifar10dvs, ncaltech101, or tonic:NAME for any tonic.datasets class "
                     "(e.g. tonic:ASLDVS)"),
    ("data_dir", str, "folder holding the event data set's folder, e.g. NMNIST/ or SSC/, as tonic lays "
                      "it out (event data sets only; nothing is downloaded)"),
    ("epochs", int, "number of training epochs (default 15)"),
    ("batch_size", int, "mini-batch size (default 64)"),
    ("num_steps", int, "time steps: encoding length for digits, time bins for event data (default 25)"),
    ("encoding", str, "digits only: rate (default) or latency spike coding (spikegen)"),
    ("model", str, "network: mlp (default: Linear, neuron, Linear, neuron) or conv (two blocks of 5x5 "
                   "convolution, 2x2 average pooling and neuron, then Linear, neuron, Linear, neuron; "
                   "digits, nmnist, dvsgesture)"),
    ("neuron", str, "neuron model: leaky (default), synaptic, alpha, lapicque, rleaky, rsynaptic"),
    ("reset", str, "reset mechanism of the neurons: subtract, zero or none (default: the neuron's own, "
                   "subtract for leaky); with zero a leaky model exports to NIR exactly"),
    ("hidden", int, "hidden layer width (default 128)"),
    ("beta", float, "membrane decay per step in [0, 1] (default 0.9)"),
    ("lr", float, "learning rate (default 5e-3; the peak rate under a schedule)"),
    ("seed", int, "seed of weights, data order and spike encoding (default 0)"),
    ("device", str, "auto (CUDA if available, default), cpu or cuda"),
    ("out", str, "run directory to create (default: the first free runs/<dataset>-seed<seed>[-N])"),
    ("val_fraction", float, "part of the training split, in [0, 1), held out (a fixed random choice, at "
                            "least one sample) to choose checkpoints/best.pt by validation accuracy "
                            "(default 0.1; 0: no validation split, no best.pt)"),
    ("train_limit", int, "use only N training samples (quick runs; digits: the first N of the fixed "
                          "split, event data: a fixed random N); the validation samples come out of the N"),
    ("test_limit", int, "use only N test samples (quick runs; chosen as for --train-limit)"),
    ("time_window_us", float, "event data: time bin width in microseconds (default: split each sample "
                              "into --num-steps equal bins)"),
    ("denoise_us", float, "event data (cameras): drop events with no neighbour within this many us"),
    ("downsample", float, "event data: spatial factor in (0, 1], e.g. 0.5 halves width and height"),
    ("optimizer", str, "adam (default), adamw or sgd"),
    ("momentum", float, "SGD momentum in [0, 1) (--optimizer sgd only; default 0)"),
    ("weight_decay", float, "weight decay (default 0; decoupled for adamw, an L2 term for adam and sgd)"),
    ("lr_schedule", str, "learning-rate schedule, stepped after every batch: none (default), cosine, step "
                         "or onecycle"),
    ("warmup_epochs", int, "epochs of linear warm-up to --lr (default 0; with onecycle: its rising phase, "
                           "default 30%% of the run)"),
    ("lr_step_size", int, "--lr-schedule step: epochs between two decays (default: a third of --epochs)"),
    ("lr_gamma", float, "--lr-schedule step: the factor of each decay (default 0.1)"),
    ("grad_clip", float, "clip the gradients' global L2 norm to X before each step"),
    ("early_stopping", int, "stop when the validation accuracy has not improved for PATIENCE epochs"),
    ("loss", str, "ce_rate (default), ce_count, mse_count (spike counts), ce_max_membrane, mse_membrane "
                  "(output membrane), ce_temporal, mse_temporal (first-spike times)"),
]
#: the train options that are flags (no value): name -> help
_TRAIN_FLAGS = {
    "amp": "mixed precision: bfloat16 autocast on CPU, float16 autocast with a gradient scaler on CUDA",
    "tensorboard": "log every epoch's metrics and the figures to RUN_DIR/tensorboard (needs "
                   "pip install 'spikeforge[tensorboard]')",
    "drop_out_of_range": "event data: drop events outside the sensor and report how many (default: stop "
                         "with an error naming the file and sample)",
}


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors that point to --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"spikeforge: error: {message}; see '{self.prog} --help'\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``spikeforge`` command."""
    from . import __version__

    parser = _Parser(prog="spikeforge",
                     description="Train, evaluate, use and export spiking neural networks.")
    parser.add_argument("--version", action="version", version=f"spikeforge {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,evaluate,predict,export}",
                                parser_class=_Parser)
    sub.required = True
    tr = sub.add_parser("train", help="train a spiking network (default: the bundled digits)",
                        description="Train a spiking network (an MLP, or with --model conv a convolutional "
                                    "one) with BPTT. With no options: the bundled digits, "
                                    "rate-coded, 15 epochs. Flags override --config, which overrides "
                                    "defaults.")
    tr.add_argument("--config", metavar="FILE", help="TOML file whose keys are these options' names "
                    "(with underscores), e.g. epochs = 10")
    for name, kind, text in _TRAIN_OPTIONS:
        metavar = {"data_dir": "DIR", "out": "RUN_DIR", "early_stopping": "PATIENCE"}.get(
            name, {int: "N", float: "X", str: "NAME"}[kind])
        tr.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=text,
                        metavar=metavar)
    for name, text in _TRAIN_FLAGS.items():
        tr.add_argument("--" + name.replace("_", "-"), dest=name, action="store_true", default=None,
                        help=text)
    tr.add_argument("--no-progress", dest="progress", action="store_false", default=None,
                    help="no progress bars or per-epoch lines")
    tr.add_argument("--resume", metavar="RUN_DIR", help="continue an interrupted run from its last "
                    "checkpoint; only --epochs, --device and --tensorboard may change")
    ev = sub.add_parser("evaluate", help="test accuracy of a run's checkpoint or of a NIR file",
                        description="Evaluate a checkpoint on the run's test split with the run's config, "
                                    "or a NIR model file (model.nir) on a data set's test split.")
    ev.add_argument("run_dir", metavar="RUN_DIR|MODEL.nir",
                    help="a run directory made by 'spikeforge train', or a .nir file (its data set and "
                         "encoding come from --config, else from config.toml beside it, else the defaults)")
    ev.add_argument("--config", metavar="FILE", default=None,
                    help="with a .nir file: a TOML file of train options giving the data set and encoding")
    ev.add_argument("--dt", type=float, default=1e-4,
                    help="with a .nir file: time step in seconds for the NIR neurons (default 1e-4)")
    ev.add_argument("--checkpoint", default=None, help="last (default), best, or a checkpoint file path "
                    "(run directories only)")
    ev.add_argument("--device", default=None, help="auto, cpu or cuda (default: the run's device)")
    ev.add_argument("--json", action="store_true", help="print the result as JSON")
    pr = sub.add_parser("predict", help="classify input files, or a whole split, with a trained run",
                        description="Classify new inputs with a run's checkpoint: image files or .npy "
                                    "arrays for the digits, event files in the run's data set's format, or "
                                    "every sample of a split (--split). Prints a table, or writes CSV "
                                    "with --out.")
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'spikeforge train'")
    pr.add_argument("inputs", metavar="INPUT", nargs="*", help="image (.png, .jpg, ...) or .npy files for "
                    "the digits; .bin (N-MNIST), .h5 (SHD), .aedat or .npy (DVS Gesture) event files")
    pr.add_argument("--split", choices=["test", "train", "val"], default=None,
                    help="predict every sample of this split of the run's data, encoded as in training")
    pr.add_argument("--checkpoint", default="last", help="last (default), best, or a checkpoint file path")
    pr.add_argument("--out", metavar="FILE", default=None, help="write CSV here instead of printing a table")
    pr.add_argument("--seed", type=int, default=None, help="seed of each digit input's spike coding "
                    "(default: the run's --seed)")
    pr.add_argument("--device", default=None, help="auto, cpu or cuda (default: the run's device)")
    ex = sub.add_parser("export", help="write a run's model as NIR",
                        description="Export a run's model to NIR (Neuromorphic Intermediate Representation).")
    ex.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'spikeforge train'")
    ex.add_argument("--checkpoint", default="last", help="last (default), best, or a checkpoint file path")
    ex.add_argument("--out", default=None, metavar="FILE", help="output file (default RUN_DIR/model.nir)")
    ex.add_argument("--format", default="nir", choices=["nir"],
                    help="model file format: nir (the Neuromorphic Intermediate Representation, default)")
    return parser


def _checkpoint_path(run_dir: str, which: str) -> Path:
    if which in ("last", "best"):
        path = Path(run_dir) / "checkpoints" / f"{which}.pt"
        if which == "best" and not path.exists() and (Path(run_dir) / "checkpoints" / "last.pt").exists():
            raise FileNotFoundError(
                f"{path} does not exist: best.pt is chosen on the validation split and this run held "
                "none out (--val-fraction 0) or has not finished an epoch; use --checkpoint last"
            )
        return path
    return Path(which)


def _train(args: argparse.Namespace) -> int:
    from .training.checkpoint import read_toml
    from .training.distributed import is_main_process
    from .training.trainer import TrainConfig, completed_summary, resume_config, train

    given = {name: getattr(args, name) for name, _, _ in _TRAIN_OPTIONS if getattr(args, name) is not None}
    given.update({name: True for name in _TRAIN_FLAGS if getattr(args, name)})
    if args.progress is not None:
        given["progress"] = args.progress
    if args.resume:
        if args.config:
            raise ValueError("--resume takes the run's own config.toml; drop --config")
        if "out" in given and Path(given["out"]).resolve() != Path(args.resume).resolve():
            raise ValueError("--resume RUN_DIR continues that directory; drop --out")
        cfg = resume_config(args.resume, given)
        finished = completed_summary(args.resume)
        if finished is not None and finished.get("stopped_early"):
            print(f"run {args.resume} stopped early after epoch {finished['epochs_trained']} (no better "
                  f"validation accuracy for {cfg.early_stopping} epochs); nothing to do")
            return 0
        if finished is not None and finished.get("epochs") == cfg.epochs:
            print(f"run {args.resume} is already complete ({cfg.epochs} epochs, test accuracy "
                  f"{finished['test_accuracy']:.4f}); nothing to do (pass --epochs N with N > {cfg.epochs} "
                  "to train longer)")
            return 0
    else:
        base = read_toml(args.config) if args.config else {}
        cfg = TrainConfig.from_dict({**base, **given}, args.config or "options")
        try:
            cfg.validate()
        except ValueError as exc:  # a value from the config file: say where it came from
            named = re.search(r"--([a-z][a-z-]*)", str(exc))
            key = named.group(1).replace("-", "_") if named else ""
            if key in base and key not in given:
                raise ValueError(f"{exc} (set by {key} = {base[key]!r} in {args.config})") from None
            raise
    summary = train(cfg, resume=bool(args.resume))
    if not is_main_process():  # under torchrun only rank 0 reports
        return 0
    best = ""
    if summary.get("best_chosen_on") == "validation":
        best = (f" (best.pt: epoch {summary['best_epoch']}, validation accuracy "
                f"{summary['best_val_accuracy']:.4f}, test accuracy {summary['best_test_accuracy']:.4f})")
    elif summary.get("best_chosen_on") == "test":  # a run made before the validation split
        best = (f" (best.pt: epoch {summary['best_epoch']}, chosen on the test split by an older spikeforge, "
                f"test accuracy {summary['best_test_accuracy']:.4f})")
    print(f"test accuracy {summary['test_accuracy']:.4f}{best}; run directory: {cfg.out}")
    return 0


def _evaluate_nir(args: argparse.Namespace) -> int:
    from .training.checkpoint import read_toml
    from .training.nir_eval import evaluate_nir
    from .training.trainer import TrainConfig

    beside = Path(args.run_dir).parent / "config.toml"
    source = args.config or (str(beside) if beside.is_file() else None)
    values = read_toml(source) if source else {}
    values.pop("out", None)
    if args.device:
        values["device"] = args.device
    cfg = TrainConfig.from_dict(values, source or "defaults")
    cfg.validate()
    res = evaluate_nir(args.run_dir, cfg, dt=args.dt)
    if args.json:
        print(json.dumps(res))
    else:
        correct = round(res["accuracy"] * res["samples"])
        note = f"; NIR could not express: {res['lossy']}" if res["lossy"] else ""
        print(f"test accuracy {res['accuracy']:.4f} ({correct}/{res['samples']}) of {args.run_dir} on "
              f"{cfg.dataset}, output spikes/sample {res['output_spikes_per_sample']:.0f}{note}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from .training.trainer import evaluate

    if Path(args.run_dir).suffix == ".nir" or Path(args.run_dir).is_file():
        if args.checkpoint is not None:
            raise ValueError("--checkpoint is for a run directory; a .nir file is the model itself (drop it)")
        return _evaluate_nir(args)
    if args.config:
        raise ValueError("--config is only for evaluating a .nir file; a run directory uses its own config")
    path = _checkpoint_path(args.run_dir, args.checkpoint or "last")
    res = evaluate(args.run_dir, path, device=args.device)
    if args.json:
        print(json.dumps(res))
    else:
        correct = round(res["accuracy"] * res["samples"])
        print(f"test accuracy {res['accuracy']:.4f} ({correct}/{res['samples']}), loss {res['loss']:.4f}, "
              f"spikes/sample {res['spikes_per_sample']:.0f} [epoch {res['epoch']} of {res['checkpoint']}]")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .training.predict import predict

    if not args.inputs and not args.split:
        raise ValueError("give input files to classify, or --split test|train|val")
    if args.inputs and args.split:
        raise ValueError("give input files or --split, not both")
    path = _checkpoint_path(args.run_dir, args.checkpoint)
    res = predict(args.run_dir, args.inputs, args.split, path, args.device, args.seed)
    accuracy = res.accuracy()
    score = "" if accuracy is None else (f"; accuracy {accuracy:.4f} "
                                         f"({round(accuracy * len(res.names))}/{len(res.names)})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(res.to_csv())
        print(f"wrote {args.out} ({len(res.names)} rows){score}")
    else:
        print(res.to_text())
        if score:
            print(score.removeprefix("; "))
    return 0


def _export(args: argparse.Namespace) -> int:
    import torch

    from .training.checkpoint import export_network, export_nir, load_checkpoint, nir_sample
    from .training.trainer import build_model, load_weights, resume_config

    cfg = resume_config(args.run_dir, {"device": "cpu"}, command="export")
    path = _checkpoint_path(args.run_dir, args.checkpoint)
    ckpt = load_checkpoint(path)
    from .data.loaders import open_data

    data = open_data(cfg)
    model = build_model(cfg, data)
    load_weights(model, ckpt["model"], path)
    out = Path(args.out) if args.out else Path(args.run_dir) / "model.nir"
    x, _ = next(iter(data.batches("test", None)))
    state = export_nir(export_network(model), nir_sample(model, x).to(torch.get_default_dtype()), out)
    if not state.startswith("written"):
        raise ValueError(f"NIR export {state}")
    print(f"wrote {out}")
    if state != "written":  # "written (what the export could not express)", as train logs it
        print(f"note: {state.removeprefix('written (').removesuffix(')')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status (0 ok or --help, 2 error, 130 interrupted)."""
    from .data import CorruptDataError
    from .training.trainer import TrainingInterrupted

    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed as one line)
        return int(exc.code or 0)
    handlers: dict[str, Any] = {"train": _train, "evaluate": _evaluate, "predict": _predict,
                                "export": _export}
    try:
        return int(handlers[args.command](args))
    except TrainingInterrupted as exc:
        print(f"spikeforge: {exc}", file=sys.stderr)
        return 130
    except (ValueError, FileNotFoundError, CorruptDataError) as exc:
        message = " ".join(str(exc).split())
        print(f"spikeforge: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("spikeforge: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
