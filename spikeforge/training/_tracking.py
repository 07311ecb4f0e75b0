"""Following a run while it trains: ``status.json`` (`RunStatus`, its one writer) and TensorBoard
logging (``--tensorboard``, `TensorBoardLog`) through ``torch.utils.tensorboard``.

``status.json`` always has ``state`` (``running``, ``interrupted``, ``failed`` or ``complete``),
``epoch`` (the epochs finished), ``epochs`` (the run's last epoch), ``batches`` (training batches per
epoch) and ``updated`` (local time, ISO 8601); inside an epoch also ``batch`` (the batches of epoch
``epoch + 1`` done); while running also ``current_epoch`` (``epoch + 1``) and, once this session
has trained a batch or an epoch, ``eta_seconds`` (rounded up to 0.1 s) and ``finish_time``; when
interrupted ``signal`` (``SIGINT`` or ``SIGTERM``); when failed ``error`` (the reason, one line).

TensorBoard tags (step = epoch): ``loss/<split>``, ``accuracy/<split>`` for the train, validation and
test splits, ``spike_rate/<split>/<layer>`` (spikes per neuron per time step of each neuron layer,
named ``<index>_<class>`` as in the `SequentialSNN`), ``accuracy_per_class/test/<class>``, ``lr``, and
at the end every figure of ``RUN_DIR/figures`` as an image. An epoch's points are written just before
its checkpoint is saved, and a resumed session hides what an earlier one wrote after the checkpoint
it resumes from (TensorBoard's ``purge_step``), so an interrupted and resumed run has every epoch's
points once, wherever it stopped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .checkpoint import write_status

#: the extra that installs TensorBoard
TENSORBOARD_EXTRA = "pip install 'spikeforge[tensorboard]'"
#: the least number of seconds between two in-epoch updates of ``status.json``
STATUS_EVERY_S = 5.0


def require_tensorboard() -> None:
    """Raise ValueError naming the extra when ``torch.utils.tensorboard`` cannot be imported."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError as exc:
        raise ValueError(f"--tensorboard needs the tensorboard package, which is not installed ({exc}); "
                         f"install it with {TENSORBOARD_EXTRA}, or drop --tensorboard") from None


class RunStatus:
    """``status.json`` of a run (rank 0 only): the one place that writes it (see the module for its
    keys), with the estimated time to finish while running.

    Args:
        run_dir: the run directory. epochs: the run's last epoch. batches: training batches per epoch.
    """

    def __init__(self, run_dir: Path, epochs: int, batches: int) -> None:
        self.run_dir, self.epochs, self.batches = run_dir, epochs, max(batches, 1)
        self.t0, self.start = time.time(), 0.0
        self._last_write = 0.0

    def begin(self, epoch: int, batch: int = 0) -> None:
        """This session starts after ``epoch`` epochs and ``batch`` batches: the time to finish is
        estimated from its own pace."""
        self.t0, self.start = time.time(), epoch + batch / self.batches

    def _eta(self, done: float) -> float | None:
        """Seconds to finish, from the mean time per epoch of this session (``done`` epochs, fractional)."""
        session = done - self.start
        if session <= 0:
            return None
        return (time.time() - self.t0) / session * (self.epochs - done)

    def write(self, state: str, epoch: int, batch: int = 0, **extra: Any) -> None:
        """Write ``state`` after ``epoch`` epochs and ``batch`` batches of the next (``extra``: ``signal``,
        ``error``); a ``running`` state gets the current epoch and the time to finish."""
        fields: dict[str, Any] = {"epoch": epoch, "epochs": self.epochs}
        if batch:
            fields["batch"] = batch
        fields["batches"] = self.batches
        if state == "running":
            fields["current_epoch"] = min(epoch + 1, self.epochs)
            eta = self._eta(epoch + batch / self.batches)
            if eta is not None:
                finish = datetime.now().astimezone() + timedelta(seconds=eta)
                eta_up = math.ceil(eta * 10) / 10  # to 0.1 s, never 0 while work remains
                fields.update(eta_seconds=eta_up, finish_time=finish.isoformat(timespec="seconds"))
        write_status(self.run_dir, state, **fields, **extra)
        self._last_write = time.time()

    def watch(self, shards: Iterable[Any], epoch: int, start: int = 0) -> Iterator[Any]:
        """``shards`` of training epoch ``epoch`` (1-based; the first ``start`` batches already done),
        updating ``status.json`` at most every `STATUS_EVERY_S` seconds as the batches go by."""
        for batch, shard in enumerate(shards, start):
            if batch > start and time.time() - self._last_write >= STATUS_EVERY_S:
                self.write("running", epoch - 1, batch)
            yield shard


class TensorBoardLog:
    """The TensorBoard writer of a run (rank 0, ``--tensorboard``), in ``run_dir/tensorboard``.

    Args:
        run_dir: the run directory. resumed_at: for a resumed session, the epochs its checkpoint holds:
            any events of later epochs that an interrupted session wrote are hidden.
    """

    def __init__(self, run_dir: Path, resumed_at: int | None = None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        purge = None if resumed_at is None else resumed_at + 1
        self.writer: Any = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge)

    def epoch_done(self, row: Mapping[str, Any]) -> None:
        """Log a finished epoch (a ``metrics.json`` row)."""
        epoch = int(row["epoch"])
        for split in ("train", "val", "test"):
            for metric, tag in (("loss", "loss"), ("acc", "accuracy")):
                if row.get(f"{split}_{metric}") is not None:
                    self.writer.add_scalar(f"{tag}/{split}", row[f"{split}_{metric}"], epoch)
            for layer, rate in (row.get(f"{split}_spike_rates") or {}).items():
                self.writer.add_scalar(f"spike_rate/{split}/{layer}", rate, epoch)
        for cls, acc in (row.get("test_class_acc") or {}).items():
            if acc is not None:
                self.writer.add_scalar(f"accuracy_per_class/test/{cls}", acc, epoch)
        self.writer.add_scalar("lr", row["lr"], epoch)
        self.writer.flush()

    def add_figures(self, folder: Path, epoch: int) -> None:
        """Every PNG in ``folder`` as a TensorBoard image ``figures/<name>`` at ``epoch``."""
        import numpy as np
        from PIL import Image

        for path in sorted(folder.glob("*.png")):
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image(f"figures/{path.stem}", pixels, epoch, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
