"""The ``spikeforge`` command: ``train``, ``evaluate``, ``predict`` and ``export`` (also
``python -m spikeforge``).

Options come from the defaults of `TrainConfig`, then a TOML file
(``--config``), then the flags given; each is checked against one table
(`spikeforge.training._options.OPTIONS`) before any file is created. Every error is one line
``spikeforge: error: ...`` that says what to do. Exit status: 0 done, 1 the run failed on a fault of
the machine (a full disk, no memory), 2 bad input, ``128 + signal`` after SIGINT (130, Ctrl-C) or
SIGTERM (143), with a checkpoint that ``--resume`` continues.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .training._options import OPTIONS


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
    for name, opt in OPTIONS.items():
        flag = "--" + name.replace("_", "-")
        if opt.flag and opt.kind is bool:  # a switch: given means true
            tr.add_argument(flag, dest=name, action="store_true", default=None, help=opt.help)
        elif opt.flag:
            metavar = opt.metavar or {int: "N", float: "X", str: "NAME"}[opt.kind]
            tr.add_argument(flag, dest=name, type=opt.kind, default=None, help=opt.help, metavar=metavar)
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
    ev.add_argument("--as-trained", action="store_true", help="when config.toml was edited after training: "
                    "evaluate under the configuration stored in the checkpoint (else refused)")
    pr = sub.add_parser("predict", help="classify input files, or a whole split, with a trained run",
                        description="Classify new inputs with a run's checkpoint: image files or .npy "
                                    "arrays for the digits, event files in the run's data set's format, or "
                                    "every sample of a split (--split). Prints a table, or writes CSV "
                                    "with --out.")
    pr.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'spikeforge train'")
    pr.add_argument("inputs", metavar="INPUT", nargs="*", help="image (.png, .jpg, ...) or .npy files for "
                    "the digits; event files of the run's data set: .bin (N-MNIST, N-Caltech101), .h5 "
                    "(SHD, SSC), .aedat or .npy (DVS Gesture), .npy (POKER-DVS), .aedat4 (CIFAR10-DVS)")
    pr.add_argument("--split", choices=["test", "train", "val"], default=None,
                    help="predict every sample of this split of the run's data, encoded as in training")
    pr.add_argument("--checkpoint", default="last", help="last (default), best, or a checkpoint file path")
    pr.add_argument("--out", metavar="FILE", default=None, help="write CSV here instead of printing a table")
    pr.add_argument("--seed", type=int, default=None, help="seed of each digit input's spike coding "
                    "(default: the run's --seed)")
    pr.add_argument("--device", default=None, help="auto, cpu or cuda (default: the run's device)")
    pr.add_argument("--as-trained", action="store_true", help="when config.toml was edited after training: "
                    "predict under the configuration stored in the checkpoint (else refused)")
    ex = sub.add_parser("export", help="write a run's model as NIR",
                        description="Export a run's model to NIR (Neuromorphic Intermediate Representation).")
    ex.add_argument("run_dir", metavar="RUN_DIR", help="a run directory made by 'spikeforge train'")
    ex.add_argument("--checkpoint", default="last", help="last (default), best, or a checkpoint file path")
    ex.add_argument("--out", default=None, metavar="FILE", help="output file (default RUN_DIR/model.nir); "
                    "an existing file other than the run's own model.nir needs --force")
    ex.add_argument("--force", action="store_true", help="overwrite an existing --out file")
    ex.add_argument("--as-trained", action="store_true", help="when config.toml was edited after training: "
                    "export under the configuration stored in the checkpoint (else refused)")
    ex.add_argument("--format", default="nir", choices=["nir"],
                    help="model file format: nir (the Neuromorphic Intermediate Representation, default)")
    return parser


def _train(args: argparse.Namespace) -> int:
    from .training.checkpoint import read_toml
    from .training.distributed import is_main_process
    from .training.trainer import TrainConfig, completed_summary, resume_config, train

    given = {name: getattr(args, name) for name in OPTIONS if getattr(args, name, None) is not None}
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
        cfg = TrainConfig.from_command(given, read_toml(args.config) if args.config else {}, args.config)
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
    cfg = TrainConfig.from_command({"device": args.device} if args.device else {}, values, source)
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
    from .training.trainer import checkpoint_path, evaluate

    if Path(args.run_dir).suffix == ".nir" or Path(args.run_dir).is_file():
        if args.checkpoint is not None:
            raise ValueError("--checkpoint is for a run directory; a .nir file is the model itself (drop it)")
        return _evaluate_nir(args)
    if args.config:
        raise ValueError("--config is only for evaluating a .nir file; a run directory uses its own config")
    path = checkpoint_path(args.run_dir, args.checkpoint or "last")
    res = evaluate(args.run_dir, path, device=args.device, as_trained=args.as_trained)
    if args.json:
        print(json.dumps(res))
    else:
        correct = round(res["accuracy"] * res["samples"])
        at = f" and {res['batch']} batches of epoch {res['epoch'] + 1}" if res["batch"] else ""
        if "note" in res:
            print(f"note: {res['note']}")
        print(f"test accuracy {res['accuracy']:.4f} ({correct}/{res['samples']}), loss {res['loss']:.4f}, "
              f"spikes/sample {res['spikes_per_sample']:.0f} "
              f"[epoch {res['epoch']}{at} of {res['checkpoint']}]")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .training._options import Origin, check_value
    from .training.checkpoint import write_text
    from .training.predict import predict

    if not args.inputs and not args.split:
        raise ValueError("give input files to classify, or --split test|train|val")
    if args.inputs and args.split:
        raise ValueError("give input files or --split, not both")
    if args.seed is not None:
        check_value("seed", args.seed, Origin.command(flags=["seed"]))  # named --seed, as for train
    if args.out:
        out = Path(args.out)
        if out.is_dir():
            raise ValueError(f"--out {args.out} is a folder; give the CSV file to write")
        if out.exists() and any(Path(p).exists() and out.samefile(p) for p in args.inputs):
            raise ValueError(f"--out {args.out} is one of the inputs; it would be overwritten")
    res = predict(args.run_dir, args.inputs, args.split, args.checkpoint, args.device, args.seed,
                  as_trained=args.as_trained)
    if res.note:
        print(f"note: {res.note}")
    accuracy = res.accuracy()
    score = "" if accuracy is None else (f"; accuracy {accuracy:.4f} "
                                         f"({round(accuracy * len(res.names))}/{len(res.names)})")
    if args.out:
        write_text(Path(args.out), res.to_csv())
        print(f"wrote {args.out} ({len(res.names)} rows){score}")
    else:
        print(res.to_text())
        if score:
            print(score.removeprefix("; "))
    return 0


def _export_target(args: argparse.Namespace) -> Path:
    """The file ``export`` writes: ``--out`` or the run's ``model.nir``; an existing file other than the
    run's own ``model.nir`` only with ``--force``."""
    own = Path(args.run_dir) / "model.nir"
    out = Path(args.out) if args.out else own
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name, e.g. --out {out / 'model.nir'}")
    if not out.parent.is_dir():
        raise ValueError(f"--out {out}: the folder {out.parent} does not exist; create it or choose another "
                         "--out")
    if (out.exists() or out.is_symlink()) and not args.force:
        if not (own.exists() and out.exists() and out.samefile(own)):
            raise ValueError(f"{out} already exists; pass --force to overwrite it, or choose another --out")
    return out


def _export(args: argparse.Namespace) -> int:
    import torch

    from .training.checkpoint import export_network, export_nir, nir_sample
    from .training.trainer import checkpoint_path, open_trained, resume_config

    resume_config(args.run_dir, {"device": "cpu"}, command="export")  # not a run directory: said first
    checkpoint_path(args.run_dir, args.checkpoint)  # then a missing checkpoint, before --out
    out = _export_target(args)
    run = open_trained(args.run_dir, args.checkpoint, "cpu", args.as_trained, "export")
    x, _ = next(iter(run.data.batches("test", None)))
    state = export_nir(export_network(run.model), nir_sample(run.model, x).to(torch.get_default_dtype()), out)
    if not state.startswith("written"):
        raise ValueError(f"NIR export {state}")
    if run.note:
        print(f"note: {run.note}")
    print(f"wrote {out}")
    if state != "written":  # "written (what the export could not express)", as train logs it
        print(f"note: {state.removeprefix('written (').removesuffix(')')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit status: 0 ok or --help, 1 a fault of the machine (full disk,
    no memory), 2 bad input, 128 + signal after SIGINT (130) or SIGTERM (143)."""
    from .data import CorruptDataError
    from .training._faults import fault_advice, fault_reason
    from .training.distributed import is_main_process
    from .training.trainer import TrainingFailed, TrainingInterrupted

    for stream in (sys.stdout, sys.stderr):  # a path's undecodable bytes are printed as they are
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="surrogateescape")
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed as one line)
        return int(exc.code or 0)
    handlers: dict[str, Any] = {"train": _train, "evaluate": _evaluate, "predict": _predict,
                                "export": _export}
    try:
        return int(handlers[args.command](args))
    except TrainingInterrupted as exc:
        if is_main_process():  # under torchrun every process stops at the same batch: one says so
            print(f"spikeforge: {exc}", file=sys.stderr)
        return 128 + exc.signum
    except TrainingFailed as exc:
        print(f"spikeforge: error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, CorruptDataError) as exc:
        message = " ".join(str(exc).split())
        print(f"spikeforge: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("spikeforge: interrupted", file=sys.stderr)
        return 130
    except (OSError, MemoryError, RuntimeError) as exc:  # a fault outside a run (e.g. building the model)
        reason = fault_reason(exc)
        if reason is None:
            raise
        print(f"spikeforge: error: {reason}; {fault_advice(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
