"""`--tensorboard`: the event files, read back with TensorBoard's own reader, hold every epoch's metrics
once (also across an interruption and a resume) and the run's figures; without the tensorboard package
the option is a one-line error naming the extra, and runs made with it still evaluate."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from spikeforge.cli import main
from spikeforge.training import _loop

SMALL = ["--train-limit", "96", "--test-limit", "48", "--num-steps", "5", "--hidden", "12", "--batch-size",
         "32", "--lr", "0.01", "--no-progress"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-epoch run with --tensorboard, interrupted in epoch 2 and resumed."""
    out = tmp_path_factory.mktemp("tb") / "run"
    argv = ["train", "--epochs", "3", "--out", str(out), "--tensorboard", *SMALL]
    real = _loop.run_epoch
    calls = {"train": 0}

    def flaky(*args, **kwargs):
        if args[4] is not None:
            calls["train"] += 1
            if calls["train"] == 2:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    _loop.run_epoch = flaky
    try:
        assert main(argv) == 130
    finally:
        _loop.run_epoch = real
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    return out


def _events(run_dir: Path) -> EventAccumulator:
    acc = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return acc


def test_every_epoch_is_logged_once_with_the_metrics_values(run_dir: Path) -> None:
    acc = _events(run_dir)
    assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 2  # one per session
    history = json.loads((run_dir / "metrics.json").read_text())
    tags = {"loss/train": "train_loss", "accuracy/train": "train_acc", "loss/val": "val_loss",
            "accuracy/val": "val_acc", "loss/test": "test_loss", "accuracy/test": "test_acc", "lr": "lr"}
    for tag, key in tags.items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [1, 2, 3], tag
        # TensorBoard stores float32
        assert [e.value for e in events] == [np.float32(row[key]) for row in history], tag
    for split in ("train", "test"):
        for layer in ("2_Leaky", "4_Leaky"):  # the MLP's neuron layers, by index and class
            values = [e.value for e in acc.Scalars(f"spike_rate/{split}/{layer}")]
            assert values == [np.float32(row[f"{split}_spike_rates"][layer]) for row in history]
            assert all(0 <= v <= 1 for v in values)  # spikes per neuron per step
    per_class = [t for t in acc.Tags()["scalars"] if t.startswith("accuracy_per_class/test/")]
    assert sorted(per_class) == sorted(f"accuracy_per_class/test/{c}" for c in range(10)
                                       if history[-1]["test_class_acc"][str(c)] is not None)


def test_the_figures_are_logged_as_images(run_dir: Path) -> None:
    acc = _events(run_dir)
    figures = sorted((run_dir / "figures").glob("*.png"))
    assert "confusion_matrix.png" in [p.name for p in figures]
    assert sorted(acc.Tags()["images"]) == sorted(f"figures/{p.stem}" for p in figures)
    for path in figures:
        (image,) = acc.Images(f"figures/{path.stem}")
        with Image.open(path) as png:
            assert (image.step, image.width, image.height) == (3, *png.size)


BLOCK_TENSORBOARD = """
import sys

class Block:  # as if the tensorboard package were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "tensorboard" or name.startswith("tensorboard."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Block())
from spikeforge.cli import main
print("train", main(sys.argv[1].split()))
print("evaluate", main(["evaluate", sys.argv[2], "--json"]))
"""


def test_without_tensorboard_the_option_names_the_extra(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    argv = " ".join(["train", "--tensorboard", "--out", str(out), *SMALL])
    proc = subprocess.run([sys.executable, "-c", BLOCK_TENSORBOARD, argv, str(run_dir)], env=env,
                          capture_output=True, text=True, timeout=600)
    lines = proc.stdout.splitlines()
    assert proc.returncode == 0 and lines[0] == "train 2", proc.stdout + proc.stderr
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("spikeforge: error: --tensorboard needs the tensorboard package")
    assert "pip install 'spikeforge[tensorboard]'" in err[0] and not out.exists()
    # a run made with --tensorboard is evaluated without it
    summary = json.loads((run_dir / "summary.json").read_text())
    assert lines[-1] == "evaluate 0" and json.loads(lines[1])["accuracy"] == summary["test_accuracy"]
