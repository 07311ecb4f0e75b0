"""Following a run while it trains: ``status.json`` with the epoch and the estimated time to finish,
and TensorBoard logging (``--tensorboard``) through ``torch.utils.tensorboard``.

TensorBoard tags (step = epoch): ``loss/<split>``, ``accuracy/<split>`` for the train, validation and
test splits, ``spike_rate/<split>/<layer>`` (spikes per neuron per time step of each neuron layer,
named ``<index>_<class>`` as in the `SequentialSNN`), ``accuracy_per_class/test/<class>``, ``lr``, and
at the end every figure of ``RUN_DIR/figures`` as an image.
"""

from __future__ import annotations

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


class RunTracker:
    """``status.json`` with progress and time to finish, and the TensorBoard writer (rank 0 only).

    Args:
        run_dir: the run directory. epochs: the run's last epoch. start: the epochs already done.
        batches: training batches per epoch. tensorboard: write TensorBoard events to
            ``run_dir/tensorboard`` (a resumed run hides any events of epochs after ``start`` that an
            interrupted session wrote, TensorBoard's ``purge_step``).
    """

    def __init__(self, run_dir: Path, epochs: int, start: int, batches: int, tensorboard: bool) -> None:
        self.run_dir, self.epochs, self.start, self.batches = run_dir, epochs, start, max(batches, 1)
        self.t0 = time.time()
        self._last_write = 0.0
        self.writer: Any = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=start + 1 if start else None)

    def _eta(self, done: float) -> float | None:
        """Seconds to finish, from the mean time per epoch of this session (``done`` epochs, fractional)."""
        session = done - self.start
        if session <= 0:
            return None
        return (time.time() - self.t0) / session * (self.epochs - done)

    def _write(self, epoch: int, batch: int | None) -> None:
        done = epoch + (0 if batch is None else batch / self.batches)
        eta = self._eta(done)
        extra: dict[str, Any] = {"epochs": self.epochs, "current_epoch": min(epoch + 1, self.epochs)}
        if batch is not None:
            extra.update(batch=batch, batches=self.batches)
        if eta is not None:
            finish = datetime.now().astimezone() + timedelta(seconds=eta)
            extra.update(eta_seconds=round(eta, 1), finish_time=finish.isoformat(timespec="seconds"))
        write_status(self.run_dir, "running", epoch=epoch, **extra)
        self._last_write = time.time()

    def watch(self, shards: Iterable[Any], epoch: int) -> Iterator[Any]:
        """``shards`` of training epoch ``epoch`` (1-based), updating ``status.json`` at most every
        `STATUS_EVERY_S` seconds as the batches go by."""
        for batch, shard in enumerate(shards):
            if batch and time.time() - self._last_write >= STATUS_EVERY_S:
                self._write(epoch - 1, batch)
            yield shard

    def epoch_done(self, row: Mapping[str, Any], lr: float) -> None:
        """Record a finished epoch (a `metrics.json` row): ``status.json`` and TensorBoard."""
        epoch = int(row["epoch"])
        self._write(epoch, None)
        if self.writer is None:
            return
        for split in ("train", "val", "test"):
            for metric, tag in (("loss", "loss"), ("acc", "accuracy")):
                if row.get(f"{split}_{metric}") is not None:
                    self.writer.add_scalar(f"{tag}/{split}", row[f"{split}_{metric}"], epoch)
            for layer, rate in (row.get(f"{split}_spike_rates") or {}).items():
                self.writer.add_scalar(f"spike_rate/{split}/{layer}", rate, epoch)
        for cls, acc in (row.get("test_class_acc") or {}).items():
            if acc is not None:
                self.writer.add_scalar(f"accuracy_per_class/test/{cls}", acc, epoch)
        self.writer.add_scalar("lr", lr, epoch)
        self.writer.flush()

    def add_figures(self, folder: Path, epoch: int) -> None:
        """Every PNG in ``folder`` as a TensorBoard image ``figures/<name>`` at ``epoch``."""
        if self.writer is None:
            return
        import numpy as np
        from PIL import Image

        for path in sorted(folder.glob("*.png")):
            with Image.open(path) as image:
                pixels = np.asarray(image.convert("RGB"))
            self.writer.add_image(f"figures/{path.stem}", pixels, epoch, dataformats="HWC")
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
