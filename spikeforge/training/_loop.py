"""The epochs of ``spikeforge train`` in one process of the job: checkpoints at every epoch and where a
signal stops the run (with the optimizer's, schedule's and gradient scaler's states, so that a resume
is exact), early stopping, ``status.json``, ``log.txt`` and TensorBoard kept current, faults
recorded; used by `spikeforge.training.trainer.train`."""

from __future__ import annotations

import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import torch

from ..data.loaders import DataSource
from ._epoch import StopAtBatch, evaluate_model, run_epoch
from ._faults import StopRequest, TrainingFailed, TrainingInterrupted, fault_advice, fault_reason
from ._objective import Objective
from ._optim import build_stepper, check_resume, stopped_early
from ._run_dir import completed_summary, config_hash, finish_run, new_run_dir
from ._tracking import RunStatus, TensorBoardLog
from ._train_config import BEFORE_OPTIONS, RESUMABLE_CHANGES, TrainConfig
from ._train_model import build_model, load_weights
from .checkpoint import (
    append_log,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
    write_config_toml,
    write_metrics,
)
from .distributed import DistEnv, check_checkpoint_config, gather_objects, on_main, wrap_model


class Run:
    """One training run in this process (rank 0 alone writes files and prints).

    ``position`` is what ``checkpoints/last.pt`` holds: ``(epochs done, batches done in the next
    epoch)``; a run stopped by a signal inside an epoch saves ``batch > 0`` with the optimizer, the
    schedule and the gradient scaler (`spikeforge.training._optim.Stepper`), the RNG state and the
    epoch's running metric sums, so that `train` continues it exactly.
    """

    def __init__(self, cfg: TrainConfig, data: DataSource, env: DistEnv, device: torch.device,
                 request: StopRequest) -> None:
        self.cfg, self.data, self.env, self.device, self.request = cfg, data, env, device, request
        self.model = build_model(cfg, data).to(device)
        self.stepper = build_stepper(cfg, self.model, device, data.num_batches("train"))
        self.objective = Objective(cfg.loss)
        self.history: list[dict[str, Any]] = []
        self.best: dict[str, Any] = {"acc": -1.0, "epoch": 0}
        self.position = (0, 0)
        self.resumed: dict[str, Any] = {}  # the checkpoint a resumed run starts from
        self.run_dir = Path(".")
        self.status: RunStatus | None = None  # rank 0
        self.tensorboard: TensorBoardLog | None = None  # rank 0 with --tensorboard

    def open(self, resume: bool) -> dict[str, Any] | None:
        """Create the run directory, or load the checkpoint of the run to resume; returns the summary of
        a finished run that needs nothing more, else None."""
        cfg, env = self.cfg, self.env
        if not resume:
            self.run_dir = on_main(lambda: new_run_dir(cfg), env)
            return None
        self.run_dir = Path(cfg.out)  # type: ignore[arg-type]
        path = self.run_dir / "checkpoints" / "last.pt"
        ckpt = on_main(lambda: load_checkpoint(path), env)
        # made before the validation split or the optimisation options
        saved_cfg = {"val_fraction": 0.0, **BEFORE_OPTIONS, **ckpt["config"]}
        check_checkpoint_config(saved_cfg, cfg.to_dict(), RESUMABLE_CHANGES, str(path))
        check_resume(saved_cfg, cfg)
        done, batch = int(ckpt["epoch"]), int(ckpt.get("batch", 0))
        if batch and cfg.epochs <= done:
            raise ValueError(f"--epochs {cfg.epochs} ends before epoch {done + 1}, which {self.run_dir} "
                             f"stopped inside (after {batch} of its batches); pass --epochs N with "
                             f"N >= {done + 1}")
        if cfg.epochs < done:
            raise ValueError(f"--epochs {cfg.epochs} is fewer than the {done} epochs already done in "
                             f"{self.run_dir}; pass --epochs N with N > {done} to train longer")
        over = not batch and (cfg.epochs == done or stopped_early(cfg, ckpt["best"], done))
        finished = completed_summary(self.run_dir) if over else None
        if finished is not None:  # nothing to do: leave every file as it is
            return finished
        load_weights(self.model, ckpt["model"], path)
        self.stepper.optimizer.load_state_dict(ckpt["optimizer"])
        self.stepper.load_state_dict(ckpt.get("training"))
        self.history, self.best = list(ckpt["history"]), dict(ckpt["best"])
        self.position, self.resumed = (done, batch), ckpt
        set_rng_state(ckpt["rng"])
        return None

    def save(self, name: str, epoch: int, batch: int = 0, sums: list[dict[str, float]] | None = None) -> None:
        """Write ``checkpoints/NAME`` (rank 0): the state after ``epoch`` epochs and ``batch`` batches
        (with ``sums``, each process's running metric sums of the epoch)."""
        if self.env.is_main:
            config = self.cfg.to_dict()
            payload = {
                "epoch": epoch, "batch": batch,
                "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "optimizer": self.stepper.optimizer.state_dict(), "training": self.stepper.state_dict(),
                "config": config,
                "config_sha256": config_hash(config), "history": self.history, "best": self.best,
                "rng": rng_state(),
                "data_sizes": [self.data.size("train"), self.data.size("val"), self.data.size("test")],
            }
            if batch:
                payload["train_sums"] = list(sums or [])
            save_checkpoint(self.run_dir / "checkpoints" / name, payload)
        if name == "last.pt":
            self.position = (epoch, batch)

    def stop_requested(self) -> bool:
        return self.request.agreed(self.env, self.device)

    def train(self, resume: bool) -> dict[str, Any]:
        """Train the remaining epochs and write the final outputs; returns the summary.

        Raises:
            TrainingInterrupted: a signal stopped the run (after saving where). TrainingFailed: a fault
                of the machine (disk, memory). Anything else: after marking the run failed.
        """
        cfg, env = self.cfg, self.env
        if env.is_main:
            self.status = RunStatus(self.run_dir, cfg.epochs, self.data.num_batches("train"))
            self.status.begin(*self.position)
        try:
            net = wrap_model(self.model, env, self.device)
            cfg.out = str(self.run_dir)
            if self.status is not None:
                write_config_toml(self.run_dir / "config.toml", cfg.to_dict())
                self.status.write("running", *self.position)
                procs = f" x {env.world_size} processes" if env.enabled else ""
                append_log(self.run_dir, f"{'resume at' if resume else 'start'} {self._where()}: "
                                         f"{self.data.describe()} on {self.device}{procs}")
                if cfg.tensorboard:
                    self.tensorboard = TensorBoardLog(self.run_dir, self.position[0] if resume else None)
            if not resume:
                self.save("last.pt", 0)
            if self.stop_requested():
                raise self.stopped()
            t0 = time.perf_counter()
            for epoch in range(self.position[0] + 1, cfg.epochs + 1):
                if stopped_early(cfg, self.best, epoch - 1):
                    break
                self.epoch(net, epoch)
                if self.stop_requested():
                    raise self.stopped()
            elapsed = time.perf_counter() - t0
            last = int(self.history[-1]["epoch"]) if self.history else self.position[0]
            extra = {"epochs_trained": last, "stopped_early": last < cfg.epochs}
            summary = on_main(lambda: finish_run(cfg, self.model, self.data, self.device, self.history,
                                                 self.best, self.run_dir, elapsed, extra), env)
            if self.tensorboard is not None:
                self.tensorboard.add_figures(self.run_dir / "figures", last)
        except TrainingInterrupted:
            raise
        except KeyboardInterrupt:  # a second signal, or Ctrl-C with no handler: stop at once
            self.reread_position()
            raise self.stopped() from None
        except BaseException as exc:
            error = self.failed(exc)
            if error is exc:
                raise
            raise error from exc
        finally:
            if self.tensorboard is not None:
                self.tensorboard.close()
                self.tensorboard = None
        if self.status is not None:
            self.status.write("complete", last)
            late = self.request.signum
            note = f" ({signal.Signals(late).name} arrived while writing the final outputs)" if late else ""
            early = (f" (stopped early after epoch {last}: no better validation accuracy for "
                     f"{cfg.early_stopping} epochs)" if last < cfg.epochs else "")
            append_log(self.run_dir, f"complete: test accuracy {summary['test_accuracy']:.4f}{early}{note}")
        return summary

    def epoch(self, net: torch.nn.Module, epoch: int) -> None:
        """Train epoch ``epoch`` (from where a resumed run stopped inside it), measure, save."""
        cfg, data, env, device = self.cfg, self.data, self.env, self.device
        t0 = time.perf_counter()
        torch.manual_seed(data.stream_seed(epoch, 0))
        shards = iter(data.shards("train", epoch, env, train=True))
        skip = self.position[1] if epoch == self.position[0] + 1 else 0
        sums = None
        if skip:  # the data order and encoding of an epoch depend only on (seed, epoch): replay them
            for _ in range(skip):
                next(shards)
            set_rng_state(self.resumed["rng"])  # after the replay (a DataLoader draws from it)
            sums = _own_sums(self.resumed.get("train_sums") or [], env)
        watched = self.status.watch(shards, epoch, skip) if self.status is not None else shards
        try:
            tr = run_epoch(net, watched, data.num_batches("train"), device, self.stepper,
                           f"epoch {epoch}/{cfg.epochs}", cfg.progress and env.is_main, env, self.objective,
                           cfg.amp, start=skip, sums=sums, stop=self.stop_requested)
        except StopAtBatch as stop:
            self.save("last.pt", epoch - 1, stop.batch, gather_objects(stop.sums, env))
            raise self.stopped() from None
        measure = {"device": device, "progress": False, "env": env, "objective": self.objective,
                   "amp": cfg.amp}
        va = evaluate_model(self.model, data, split="val", **measure) if data.size("val") else None
        te = evaluate_model(self.model, data, **measure)
        self.history.append({"epoch": epoch, "train_loss": tr["loss"], "train_acc": tr["acc"],
                             "val_loss": va["loss"] if va else None, "val_acc": va["acc"] if va else None,
                             "test_loss": te["loss"], "test_acc": te["acc"],
                             "train_spikes_per_sample": tr["spikes_per_sample"],
                             "test_spikes_per_sample": te["spikes_per_sample"], "lr": self.stepper.last_lr,
                             "train_spike_rates": tr["spike_rates"], "test_spike_rates": te["spike_rates"],
                             "test_class_acc": te["class_acc"]})
        if self.tensorboard is not None:  # before the checkpoint: a resume from it hides these points
            self.tensorboard.epoch_done(self.history[-1])
        if va is not None and va["acc"] > self.best["acc"]:
            self.best = {"acc": va["acc"], "epoch": epoch, "test_acc": te["acc"]}
            self.save("best.pt", epoch)
        self.save("last.pt", epoch)
        if self.status is None:
            return
        write_metrics(self.run_dir, self.history)
        self.status.write("running", epoch)
        val = f"val acc {va['acc']:.4f}  " if va is not None else ""
        line = (f"epoch {epoch}: train acc {tr['acc']:.4f}  {val}test acc {te['acc']:.4f}  "
                f"loss {tr['loss']:.4f}  train spikes/sample {tr['spikes_per_sample']:.0f}")
        append_log(self.run_dir, f"{line}  ({time.perf_counter() - t0:.1f} s)")
        if cfg.progress:  # printed once the epoch is saved
            print(line, flush=True)

    def reread_position(self) -> None:
        """Read ``position`` back from ``last.pt`` (an abrupt stop may fall between saving it and noting
        it)."""
        if self.env.is_main:
            try:
                ckpt = load_checkpoint(self.run_dir / "checkpoints" / "last.pt")
                self.position = (int(ckpt["epoch"]), int(ckpt.get("batch", 0)))
            except (OSError, ValueError, KeyError):
                pass

    def _where(self) -> str:
        """Where ``last.pt`` stands, in words."""
        done, batch = self.position
        if batch:
            total = self.data.num_batches("train")
            return f"epoch {done} and {batch} of the {total} batches of epoch {done + 1}"
        return f"epoch {done}"

    def stopped(self) -> TrainingInterrupted:
        """Mark the run interrupted at ``position`` and return the exception to raise."""
        signum = self.request.signum or signal.SIGINT
        name = signal.Signals(signum).name
        done, batch = self.position
        if done == self.cfg.epochs and not batch:
            when = f"after the last epoch ({done}), while writing the final outputs"
        else:
            when = f"during epoch {done + 1}"
        if self.status is not None:
            self.status.write("interrupted", done, batch, signal=name)
            append_log(self.run_dir, f"interrupted by {name} {when}; last.pt holds {self._where()}")
        resume = f"spikeforge train --resume {self.run_dir}"
        return TrainingInterrupted(f"interrupted by {name} {when}; checkpoints/last.pt holds "
                                   f"{self._where()}; continue with: {resume}", signum)

    def failed(self, exc: BaseException) -> BaseException:
        """Mark the run failed with the reason; returns `TrainingFailed` for a fault of the machine (a
        full disk, no memory), else ``exc`` itself (a bug shows its traceback)."""
        reason = fault_reason(exc)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        note = ""
        if self.status is not None:
            try:
                self.status.write("failed", *self.position, error=reason or first)
            except OSError as again:  # the disk is still full: say so rather than hide the first fault
                note = f" (status.json could not be updated: {again.strerror})"
            with contextlib.suppress(OSError):
                append_log(self.run_dir, f"failed: {reason or first}; last.pt holds {self._where()}")
        if reason is None:
            return exc
        advice = fault_advice(exc, str(self.run_dir))
        return TrainingFailed(f"{reason}; the run stopped and checkpoints/last.pt holds {self._where()}"
                              f"{note}; {advice}")


def _own_sums(saved: list[dict[str, float]], env: DistEnv) -> dict[str, float] | None:
    """This process's share of the metric sums of an epoch stopped inside: its own when resumed with as
    many processes (so the epoch's metrics come out exactly as without the stop), else all on rank 0."""
    if len(saved) == env.world_size:
        return saved[env.rank]
    if not env.is_main:
        return None
    return {k: sum(part[k] for part in saved) for k in saved[0]} if saved else None
