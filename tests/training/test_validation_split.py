"""The validation split of ``spikeforge train``: held out of the training data, disjoint from it, and
the only split that chooses ``checkpoints/best.pt`` (the test split is measured, never used to choose)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from spikeforge.cli import main
from spikeforge.data.digits import digits_arrays
from spikeforge.data.loaders import DigitsSource, holdout_indices
from spikeforge.training import _loop
from spikeforge.training.trainer import TrainConfig, resume_config

TINY = ["--epochs", "3", "--train-limit", "60", "--test-limit", "20", "--num-steps", "4", "--hidden", "8",
        "--no-progress"]


@pytest.mark.parametrize(("total", "fraction", "n_val"), [
    (1347, 0.1, 135),  # 134.7 rounds to 135
    (15, 0.1, 2),      # 1.5 rounds half up
    (4, 0.1, 1),       # 0.4 rounds to 0, but a split holds at least one sample
    (10, 0.25, 3),     # 2.5 rounds half up (not to the even 2)
    (7, 0.0, 0),
])
def test_holdout_sizes_and_disjoint(total: int, fraction: float, n_val: int) -> None:
    train, val = holdout_indices(total, fraction)
    assert len(val) == n_val and len(train) == total - n_val
    assert sorted(train + val) == list(range(total)) and train == sorted(train) and val == sorted(val)
    assert holdout_indices(total, fraction) == (train, val)  # fixed: not drawn from the global RNG


def test_holdout_does_not_depend_on_the_global_seed() -> None:
    torch.manual_seed(1)
    first = holdout_indices(100, 0.2)
    torch.manual_seed(2)
    assert holdout_indices(100, 0.2) == first


@pytest.mark.parametrize(("total", "fraction", "message"), [
    (10, 1.0, r"must lie in \[0, 1\), got 1.0"),
    (10, -0.5, r"must lie in \[0, 1\), got -0.5"),
    (1, 0.1, "leaves none to train on"),
])
def test_holdout_refuses(total: int, fraction: float, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        holdout_indices(total, fraction)


def test_digits_validation_is_part_of_the_training_split() -> None:
    src = DigitsSource(TrainConfig())
    assert (src.size("train"), src.size("val"), src.size("test")) == (1212, 135, 450)
    x_tr, y_tr = digits_arrays(True)
    x = torch.cat([src._splits["train"][0], src._splits["val"][0]])
    y = torch.cat([src._splits["train"][1], src._splits["val"][1]])
    # the two parts together are the whole fixed training split, row for row (as multisets)
    key = lambda a, b: sorted(map(tuple, torch.cat([a, b[:, None].float()], 1).tolist()))  # noqa: E731
    assert key(x, y) == key(x_tr, y_tr)
    assert src.size(True) == 1212 and src.size(False) == 450  # the boolean spelling still works


def _fake_evaluations(monkeypatch: pytest.MonkeyPatch, val: list[float], test: list[float]) -> None:
    """Replace the evaluation by scripted accuracies per epoch (the training itself is real)."""
    calls = {"val": 0, "test": 0}

    def fake(model, data, device, progress, env=None, split="test", **kwargs):  # noqa: ANN001, ANN202
        seq = val if split == "val" else test
        acc = seq[min(calls[split], len(seq) - 1)]
        calls[split] += 1
        return {"loss": 1.0 - acc, "acc": acc, "spikes_per_sample": 1.0, "n": 20, "spike_rates": {},
                "class_acc": {}}

    monkeypatch.setattr(_loop, "evaluate_model", fake)  # the training loop's


def test_best_checkpoint_follows_validation_not_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # validation peaks at epoch 2, test at epoch 3: best.pt must be epoch 2
    _fake_evaluations(monkeypatch, val=[0.3, 0.8, 0.5], test=[0.2, 0.4, 0.9])
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    summary = json.loads((out / "summary.json").read_text())
    best = (summary["best_epoch"], summary["best_val_accuracy"], summary["best_test_accuracy"])
    assert best == (2, 0.8, 0.4)
    assert summary["test_accuracy"] == 0.9 and summary["val_accuracy"] == 0.5
    assert (summary["train_samples"], summary["val_samples"]) == (54, 6)
    assert torch.load(out / "checkpoints/best.pt", weights_only=True)["epoch"] == 2
    assert summary["best_chosen_on"] == "validation"
    history = json.loads((out / "metrics.json").read_text())
    assert [h["val_acc"] for h in history] == [0.3, 0.8, 0.5]


def test_ties_keep_the_earlier_epoch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_evaluations(monkeypatch, val=[0.5, 0.7, 0.7], test=[0.1, 0.2, 0.3])
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), *TINY]) == 0
    assert json.loads((out / "summary.json").read_text())["best_epoch"] == 2


def test_without_a_validation_split_there_is_no_best(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--val-fraction", "0", *TINY]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["best_epoch"] is None and summary["best_test_accuracy"] is None
    assert (summary["train_samples"], summary["val_samples"]) == (60, 0)
    assert not (out / "checkpoints/best.pt").exists()
    assert all(h["val_acc"] is None for h in json.loads((out / "metrics.json").read_text()))
    capsys.readouterr()
    assert main(["evaluate", str(out), "--checkpoint", "best"]) == 2
    err = capsys.readouterr().err
    assert "held none out (--val-fraction 0)" in err and "use --checkpoint last" in err


def test_runs_made_before_the_split_resume_without_one(tmp_path: Path) -> None:
    """A run made before the validation split: no ``val_fraction`` in config.toml or the checkpoint, no
    ``val_*`` keys in its history, and a best.pt chosen on the test split. It resumes with no validation
    split, the CSV keeps every row, and the summary says on which split its best.pt was chosen."""
    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--val-fraction", "0", *TINY]) == 0
    path = out / "config.toml"
    path.write_text("".join(line + "\n" for line in path.read_text().splitlines()
                            if not line.startswith("val_fraction")))
    assert resume_config(out).val_fraction == 0.0
    assert TrainConfig().val_fraction == 0.1
    last = out / "checkpoints/last.pt"
    ckpt = torch.load(last, weights_only=True)
    del ckpt["config"]["val_fraction"]
    ckpt["history"] = [{k: v for k, v in row.items() if not k.startswith("val_")} for row in ckpt["history"]]
    old_best = {"acc": ckpt["history"][1]["test_acc"], "epoch": 2}  # the old rule: highest test accuracy
    ckpt["best"] = old_best
    torch.save(ckpt, last)
    torch.save({**ckpt, "epoch": 2}, out / "checkpoints/best.pt")
    assert main(["train", "--resume", str(out), "--epochs", "4", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["epochs"] == 4 and summary["best_chosen_on"] == "test"
    assert (summary["best_epoch"], summary["best_test_accuracy"]) == (2, old_best["acc"])
    assert summary["best_val_accuracy"] is None
    with (out / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["epoch"] for r in rows] == ["1", "2", "3", "4"] and all(r["val_acc"] == "" for r in rows)
    assert not list(out.glob("*.tmp"))


def test_metrics_csv_has_every_column_of_any_row(tmp_path: Path) -> None:
    from spikeforge.training.checkpoint import write_metrics

    history = [{"epoch": 1, "train_acc": 0.5}, {"epoch": 2, "train_acc": 0.6, "val_acc": 0.55}]
    write_metrics(tmp_path, history)
    assert (tmp_path / "metrics.csv").read_text() == "epoch,train_acc,val_acc\n1,0.5,\n2,0.6,0.55\n"
    assert json.loads((tmp_path / "metrics.json").read_text()) == history


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    from spikeforge.training.checkpoint import _atomic_write

    target = tmp_path / "metrics.csv"
    target.write_text("old\n")

    def broken(f) -> None:  # noqa: ANN001
        f.write("half")
        raise ValueError("disk full")

    with pytest.raises(ValueError, match="disk full"):
        _atomic_write(target, broken)
    assert target.read_text() == "old\n" and sorted(p.name for p in tmp_path.iterdir()) == ["metrics.csv"]
