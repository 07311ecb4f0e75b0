"""``spikeforge predict``: classify new inputs, or a whole split, with a trained run; and the confusion
matrix every run writes.

Inputs, by the run's data set:

- digits: image files (PNG, JPEG, BMP, GIF, TIFF, ...; see `image_to_digit` for the conversion) and
  ``.npy`` arrays of pixels in [0, 1] shaped ``[8, 8]``, ``[64]``, ``[N, 8, 8]`` or ``[N, 64]``.
- event data sets: files in the data set's own format (`spikeforge.data.FILE_FORMATS`), read with
  the data layer's readers (`spikeforge.data.read_event_file`), checked like its samples
  (`spikeforge.data.check_events`: an event outside the sensor is an error naming the file and sample,
  or dropped and counted with the run's ``--drop-out-of-range``) and binned into frames with the run's
  options (`spikeforge.data.loaders.frame_spec`): an N-MNIST or N-Caltech101 ``.bin``; an SHD or SSC
  ``.h5`` (every sample in it, with its label); a DVS Gesture ``.aedat`` (each labelled gesture of the
  ``*_labels.csv`` beside it, else the whole recording) or tonic ``.npy`` of ``x, y, p, t(ms)`` rows;
  a POKER-DVS ``.npy`` of ``t, x, y, p`` rows; a CIFAR10-DVS ``.aedat4``. A ``tonic:NAME`` run takes
  the files of the named data set of the same name; other ``tonic:NAME`` runs predict a split only.
- ``split``: every sample of the run's ``train``, ``val`` or ``test`` split, encoded exactly as
  training and ``spikeforge evaluate`` encode it, so ``predict --split test`` gives evaluate's accuracy.

The checkpoint is checked against ``config.toml`` as ``spikeforge evaluate`` checks it (refused when
the config was edited after training, unless ``as_trained``).
The digits are spike coded like the training data; each input is coded on its own with a generator
seeded with ``seed`` (default: the run's ``--seed``), so an input always gives the same spikes and the
same prediction, whatever else is predicted with it. Event data involve no random numbers.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ..data.loaders import DataSource
from ..network import SequentialSNN
from ._objective import Objective
from ._optim import autocast
from ._options import check_value
from ._run_dir import TrainedRun, open_trained
from ._train_model import resolve_device
from .checkpoint import append_log

__all__ = ["Predictions", "image_to_digit", "predict", "predict_split", "write_confusion"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
#: grey values above this (in [0, 1], strokes bright) count as ink when finding the digit's box
INK = 0.2


@dataclass
class Predictions:
    """One row per input: its name, its label (None when unknown), the predicted class, that class's
    score (softmax of the readout, see `spikeforge.training._objective`) and the output spike count of
    every class."""

    names: list[str] = field(default_factory=list)
    labels: list[int | None] = field(default_factory=list)
    predicted: list[int] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    counts: list[list[int]] = field(default_factory=list)
    #: says the run was used under its checkpoint's configuration (``as_trained``), else empty
    note: str = ""

    def accuracy(self) -> float | None:
        """The share of correct predictions, when every row has a label (else None)."""
        if not self.labels or any(y is None for y in self.labels):
            return None
        return sum(int(p == y) for p, y in zip(self.predicted, self.labels)) / len(self.labels)

    def rows(self) -> list[dict[str, Any]]:
        """The CSV rows: ``input, label, predicted, score, spikes_0 .. spikes_<C-1>``."""
        columns = zip(self.names, self.labels, self.predicted, self.scores, self.counts)
        return [{"input": n, "label": "" if y is None else y, "predicted": p, "score": f"{s:.6f}",
                 **{f"spikes_{c}": k for c, k in enumerate(counts)}} for n, y, p, s, counts in columns]

    def to_csv(self) -> str:
        out = io.StringIO()
        rows = self.rows()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()

    def to_text(self) -> str:
        """An aligned table (the spike counts space-separated in class order)."""
        table = [("input", "label", "predicted", "score", "output spikes per class")]
        table += [(n, "" if y is None else str(y), str(p), f"{s:.4f}", " ".join(map(str, c)))
                  for n, y, p, s, c in zip(self.names, self.labels, self.predicted, self.scores, self.counts)]
        widths = [max(len(row[i]) for row in table) for i in range(4)]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[4]
                         for row in table)


def _run_batches(model: SequentialSNN, batches: Any, device: torch.device, objective: Objective,
                 amp: bool, out: Predictions) -> None:
    model.eval()
    with torch.no_grad():
        for x, y in batches:
            with autocast(device, amp):
                spk, traces = model(x.to(device), record=True)
            pred, score = objective.predict(spk, traces[-1].states["mem"])
            out.labels += [None if v is None else int(v) for v in y]
            out.predicted += pred.tolist()
            out.scores += score.gather(1, pred[:, None])[:, 0].tolist()
            out.counts += spk.detach().float().sum(0).round().long().tolist()


def predict_split(model: SequentialSNN, data: DataSource, split: str, device: torch.device,
                  objective: Objective, amp: bool) -> Predictions:
    """Predict every sample of ``split`` (``train``, ``val`` or ``test``) as `DataSource.batches` gives
    it (the training split in its fixed order of epoch 0); names are ``<split>:<index in the split>``."""
    out = Predictions()
    order = data._index_batches(split, data._generator(split, None))  # the order batches() uses
    out.names = [f"{split}:{i}" for batch in order for i in batch]
    _run_batches(model, data.batches(split, None), device, objective, amp, out)
    return out


def image_to_digit(path: str | Path) -> Tensor:
    """An image file as the digits' pixels: float32 ``[64]`` in [0, 1], strokes bright.

    The conversion mimics how the digits were made (32x32 bitmaps of a height-normalised, centred
    digit, counted in 4x4 blocks): grey scale (transparent pixels count as white paper); inverted
    when the border is light (dark ink on white paper); cropped to the box of the ink (pixels above
    `INK`) and padded to a centred square; averaged down to 8x8 (Pillow's box filter: each pixel the
    mean of its block); scaled so the brightest pixel is 1 (as in nearly all of the digits). A blank
    image stays 0.

    Raises:
        ValueError: not an image Pillow can read.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgba = image.convert("RGBA")
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{path}: not an image file Pillow can read ({exc})") from None
    paper = Image.new("RGBA", rgba.size, "white")
    paper.alpha_composite(rgba)  # transparent pixels are blank paper
    grey = np.asarray(paper.convert("L"), dtype=np.float64) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    if border.mean() > 0.5:
        grey = 1.0 - grey
    rows, cols = np.nonzero(grey > INK)
    if rows.size == 0:
        return torch.zeros(64)
    grey = grey[rows.min(): rows.max() + 1, cols.min(): cols.max() + 1]
    h, w = grey.shape
    side = max(h, w)
    square = np.zeros((side, side))
    top, left = (side - h) // 2, (side - w) // 2
    square[top: top + h, left: left + w] = grey
    grid = Image.fromarray(square.astype(np.float32)).resize((8, 8), Image.Resampling.BOX)  # mode F
    small = np.asarray(grid, dtype=np.float64)
    peak = small.max()
    return torch.from_numpy((small / peak if peak > 0 else small).astype(np.float32).reshape(64))


def _npy_digits(path: Path) -> list[tuple[str, Tensor]]:
    """The rows of a digits ``.npy`` file: one unnamed sample (``[8, 8]``, ``[64]``) or ``path#i``."""
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: an empty file
        raise ValueError(f"{path}: not a readable .npy array ({exc or 'no data'})") from None
    shape = arr.shape
    single = shape in ((8, 8), (64,))
    if single or (arr.ndim in (2, 3) and arr.shape[1:] in ((8, 8), (64,))):
        arr = arr.reshape(-1, 64)
    else:
        raise ValueError(f"{path}: digit arrays must be [8, 8], [64], [N, 8, 8] or [N, 64], got {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{path}: the array holds no digits (shape {shape})")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.float32)  # True/False pixels are 1/0
    numeric = arr.dtype.kind in "iuf" and np.isfinite(arr).all()  # not complex, timedelta, objects, ...
    if not numeric or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{path}: pixels must be finite numbers in [0, 1] as in training (the raw digits "
                         "0..16 divided by 16)")
    rows = torch.from_numpy(arr.astype(np.float32))
    return [(str(path), rows[0])] if single else [(f"{path}#{i}", row) for i, row in enumerate(rows)]


def _digit_inputs(paths: Sequence[str]) -> list[tuple[str, Tensor]]:
    """``(name, pixels [64])`` of each image and of each row of each ``.npy`` file."""
    out: list[tuple[str, Tensor]] = []
    for p in map(Path, paths):
        if p.suffix.lower() == ".npy":
            out += _npy_digits(p)
        elif p.suffix.lower() in IMAGE_SUFFIXES:
            out.append((str(p), image_to_digit(p)))
        else:
            raise ValueError(f"{p}: the digits take image files ({', '.join(IMAGE_SUFFIXES)}) or .npy "
                             "arrays of pixels in [0, 1]")
    return out


#: one input sample: ``(name, x [T, ...], label or None)``
_Input = tuple[str, Tensor, int | None]


@dataclass
class _Run:
    run: TrainedRun
    device: torch.device
    objective: Objective


def _load_run(run_dir: str | Path, checkpoint: str | Path | None, device: str | None,
              as_trained: bool) -> _Run:
    run = open_trained(run_dir, checkpoint, device, as_trained, "predict")
    dev = resolve_device(run.cfg.device)
    run.model.to(dev)
    return _Run(run, dev, Objective(run.cfg.loss))


def predict(run_dir: str | Path, inputs: Sequence[str] = (), split: str | None = None,
            checkpoint: str | Path | None = None, device: str | None = None,
            seed: int | None = None, as_trained: bool = False) -> Predictions:
    """Classify ``inputs`` (files, see the module) or every sample of ``split`` with a run's checkpoint.

    Args:
        run_dir: a run directory of ``spikeforge train``. checkpoint: ``last`` (default), ``best`` or a
            checkpoint file. device: ``auto``, ``cpu`` or ``cuda`` (default: the run's). seed: seeds each
            digit input's spike coding (default: the run's seed; see the module). as_trained: when
            ``config.toml`` was edited after training, use the checkpoint's own configuration (else
            refused), saying so in `Predictions.note`.

    Raises:
        ValueError: neither or both of ``inputs`` and ``split``; a ``seed`` outside ``[0, 2**64 - 1]``; an
            input folder; an input the run's data set cannot take
            (or a ``tonic:NAME`` run without a reader of single files); an edited ``config.toml``.
        FileNotFoundError: a missing run, checkpoint or input. CorruptDataError: a damaged input, or
            an event outside the sensor (without the run's ``--drop-out-of-range``).
    """
    if seed is not None:
        seed = check_value("seed", seed)  # as train's --seed: an integer in [0, 2**64 - 1]
    if bool(inputs) == bool(split):
        raise ValueError("give input files or --split test|train|val (one of the two)")
    loaded = _load_run(run_dir, checkpoint, device, as_trained)
    run, data, cfg = loaded.run, loaded.run.data, loaded.run.cfg
    if split is not None:
        from ..data.loaders import split_name

        now = [data.size(name) for name in ("train", "val", "test")]
        sizes = run.ckpt.get("data_sizes")
        if sizes is not None and [int(n) for n in sizes] != now:
            raise ValueError(f"the run's train, validation and test splits now have {now} samples but it was "
                             f"trained on {[int(n) for n in sizes]}: the data set's files changed since "
                             "training; restore them or train again")
        out = predict_split(run.model, data, split_name(split), loaded.device, loaded.objective, cfg.amp)
        out.note = run.note
        return out
    folders = [Path(p) for p in inputs if Path(p).is_dir()]
    if folders:
        raise ValueError(f"input {folders[0]} is a folder; give the files in it (e.g. "
                         f"{folders[0] / '*.npy'}), or --split for a whole split")
    missing = [p for p in inputs if not Path(p).is_file()]
    if missing:
        raise FileNotFoundError(f"input file {missing[0]} not found")
    samples = _encoded_inputs(run, inputs, cfg.seed if seed is None else seed)
    out = Predictions(names=[name for name, _, _ in samples], note=run.note)
    size = cfg.batch_size
    batches = [(torch.stack([x for _, x, _ in samples[i: i + size]], 1),
                [y for _, _, y in samples[i: i + size]]) for i in range(0, len(samples), size)]
    _run_batches(run.model, batches, loaded.device, loaded.objective, cfg.amp, out)
    return out


def _encoded_inputs(run: TrainedRun, inputs: Sequence[str], seed: int) -> list[_Input]:
    """``(name, x [T, ...], label or None)`` of every input sample, coded as the run's data."""
    if run.cfg.dataset == "digits":
        shape = run.data.input_shape
        coded = []
        for name, pixels in _digit_inputs(inputs):
            spk = run.data.encode(pixels[None], torch.Generator().manual_seed(seed))  # type: ignore[attr-defined]
            coded.append((name, spk[:, 0].reshape(spk.shape[0], *shape), None))
        return coded
    return _event_inputs(run, inputs)


def _event_inputs(run: TrainedRun, inputs: Sequence[str]) -> list[_Input]:
    """Every sample of the event files ``inputs``, read, checked and framed as the run's data set does."""
    from ..data import check_events, check_label, events_to_frames, read_event_file
    from ..data.loaders import DroppedEventsWarning, frame_spec

    cfg, spec = run.cfg, frame_spec(run.cfg)
    sensor = run.data.sensor_size  # type: ignore[attr-defined]
    drop = bool(cfg.drop_out_of_range)
    out: list[_Input] = []
    dropped: dict[str, int] = {}
    for path in inputs:
        for name, raw, label in read_event_file(cfg.dataset, path):
            where = f"{cfg.dataset} input {name}"
            events, n = check_events(raw, sensor, where, drop)
            if n:
                dropped[name] = n
            y = None if label is None else check_label(label, run.data.num_classes, where)
            out.append((name, torch.from_numpy(events_to_frames(events, sensor, spec)).float(), y))
    if dropped:
        warnings.warn(f"{cfg.dataset} inputs: dropped {sum(dropped.values())} events outside the sensor in "
                      f"{len(dropped)} of {len(out)} samples (--drop-out-of-range)", DroppedEventsWarning,
                      stacklevel=3)
    return out


def write_confusion(model: SequentialSNN, data: DataSource, device: torch.device, objective: Objective,
                    amp: bool, run_dir: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """Predict the test split, write ``figures/confusion_matrix.png`` and return ``(summary entries,
    output status)``: ``test_class_acc`` (each class's accuracy, None for a class absent from the
    split) and ``test_confusion_matrix`` (``[true][predicted]`` counts, scikit-learn's
    ``confusion_matrix``)."""
    from sklearn.metrics import confusion_matrix

    preds = predict_split(model, data, "test", device, objective, amp)
    cm = confusion_matrix(preds.labels, preds.predicted, labels=list(range(data.num_classes)))
    totals = cm.sum(1)
    per_class = {str(c): (float(cm[c, c] / totals[c]) if totals[c] else None) for c in range(len(cm))}
    name = "figures/confusion_matrix.png"
    try:
        from ..plotting.confusion import plot_confusion_matrix

        plot_confusion_matrix(cm, run_dir / name)
        state = "written"
    except Exception as exc:  # a plotting error must not lose the trained run (noted as write_outputs does)
        state = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        append_log(run_dir, f"{name}: {state}")
    return {"test_class_acc": per_class, "test_confusion_matrix": cm.tolist()}, {name: state}
