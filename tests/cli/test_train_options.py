"""End to end on the bundled digits: every optimisation option and loss of `spikeforge train`, a run
interrupted and resumed ending with exactly the numbers of an uninterrupted one for several option
combinations, early stopping, status.json while running, and the options' errors."""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path

import pytest
import torch

from spikeforge.cli import main
from spikeforge.training import _loop, _tracking
from spikeforge.training.trainer import LOSSES

from ._cli import cli_error

SMALL = ["--train-limit", "128", "--test-limit", "64", "--num-steps", "6", "--hidden", "16", "--batch-size",
         "32", "--lr", "0.01", "--no-progress"]
BATCHES = 4  # 128 - 13 validation samples = 115 training samples in batches of 32


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open() as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("loss", LOSSES)
def test_each_loss_trains_and_its_readout_gives_the_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], loss: str
) -> None:
    out = tmp_path / loss
    assert main(["train", "--epochs", "2", "--out", str(out), "--loss", loss, *SMALL]) == 0
    assert f'loss = "{loss}"' in (out / "config.toml").read_text()
    history = json.loads((out / "metrics.json").read_text())
    assert history[1]["train_loss"] < history[0]["train_loss"]
    summary = json.loads((out / "summary.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(out), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)["accuracy"]
    assert main(["predict", str(out), "--split", "test", "--out", str(tmp_path / "p.csv")]) == 0
    rows = _csv_rows(tmp_path / "p.csv")
    correct = [row["predicted"] == row["label"] for row in rows]
    assert len(rows) == 64 and sum(correct) / 64 == evaluated == summary["test_accuracy"]
    for cls, acc in summary["test_class_acc"].items():  # per class, counted from the predictions
        mine = [ok for ok, row in zip(correct, rows) if row["label"] == cls]
        assert acc == (sum(mine) / len(mine) if mine else None)
    assert summary["test_class_acc"] == history[-1]["test_class_acc"]
    last = _csv_rows(out / "metrics.csv")[-1]  # the dicts of metrics.json, one column per entry
    for cls, acc in history[-1]["test_class_acc"].items():
        assert last[f"test_class_acc.{cls}"] == ("" if acc is None else repr(acc))
    for layer in ("2_Leaky", "4_Leaky"):
        assert float(last[f"train_spike_rates.{layer}"]) == history[-1]["train_spike_rates"][layer]


def _interrupt_second_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    real = _loop.run_epoch
    calls = {"train": 0}

    def flaky(*args, **kwargs):  # Ctrl-C in the middle of the second training epoch
        if args[4] is not None:
            calls["train"] += 1
            if calls["train"] == 2:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_loop, "run_epoch", flaky)


COMBINATIONS = {
    "sgd-step-clip-count": ('optimizer = "sgd"\nmomentum = 0.9\nlr_schedule = "step"\nlr_step_size = 1\n'
                            'grad_clip = 0.5\nloss = "ce_count"\nlr = 0.05\n', 3),
    "adamw-cosine-warmup-amp-membrane": ('optimizer = "adamw"\nweight_decay = 0.01\nlr_schedule = "cosine"\n'
                                         'warmup_epochs = 1\namp = true\nloss = "mse_membrane"\n', 3),
    "onecycle-early-stopping-temporal": ('lr_schedule = "onecycle"\nearly_stopping = 2\n'
                                         'loss = "mse_temporal"\n', 4),
}


@pytest.mark.parametrize("name", list(COMBINATIONS))
def test_interrupted_and_resumed_equals_uninterrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    toml, epochs = COMBINATIONS[name]
    config = tmp_path / "options.toml"
    config.write_text(toml)
    argv = ["train", "--config", str(config), "--epochs", str(epochs), *SMALL]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main([*argv, "--out", str(whole)]) == 0
    _interrupt_second_epoch(monkeypatch)
    assert main([*argv, "--out", str(cut)]) == 130
    monkeypatch.undo()
    saved = torch.load(cut / "checkpoints/last.pt", weights_only=True)
    assert saved["epoch"] == 1 and set(saved["training"]) == {"scheduler", "scaler", "last_lr"}
    assert main(["train", "--resume", str(cut), "--no-progress"]) == 0
    assert json.loads((cut / "metrics.json").read_text()) == json.loads((whole / "metrics.json").read_text())
    a = torch.load(cut / "checkpoints/last.pt", weights_only=True)
    b = torch.load(whole / "checkpoints/last.pt", weights_only=True)
    assert all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"])
    assert a["training"] == b["training"] and a["epoch"] == b["epoch"]
    assert b["optimizer"]["state"] and a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    summary = json.loads((cut / "summary.json").read_text())
    capsys.readouterr()
    assert main(["evaluate", str(cut), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == summary["test_accuracy"]


def test_step_and_cosine_rates_per_epoch(tmp_path: Path) -> None:
    """The rate of each epoch's last step (metrics.json ``lr``) by the formulas of docs/cli.md."""
    import math

    out = tmp_path / "step"
    assert main(["train", "--epochs", "3", "--out", str(out), "--lr-schedule", "step", "--lr-step-size", "1",
                 "--lr-gamma", "0.5", *SMALL]) == 0
    lrs = [r["lr"] for r in json.loads((out / "metrics.json").read_text())]
    assert lrs == pytest.approx([0.01, 0.005, 0.0025])
    assert "lr_step_size = 1" in (out / "config.toml").read_text()
    out = tmp_path / "cosine"
    assert main(["train", "--epochs", "3", "--out", str(out), "--lr-schedule", "cosine", "--warmup-epochs",
                 "1", *SMALL]) == 0
    # warm-up over the first 4 steps, then 0.01 * (1 + cos(pi * s / 8)) / 2 for s = 0..7
    expected = [0.01, 0.005 * (1 + math.cos(math.pi * 3 / 8)), 0.005 * (1 + math.cos(math.pi * 7 / 8))]
    assert [r["lr"] for r in json.loads((out / "metrics.json").read_text())] == pytest.approx(expected)


def test_early_stopping_stops_and_the_run_is_complete(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "stop"
    # a learning rate too small to change a spike: the validation accuracy of epoch 1 is never beaten,
    # so patience 2 stops the run after epoch 3
    assert main(["train", "--epochs", "10", "--out", str(out), "--early-stopping", "2", *SMALL,
                 "--lr", "1e-12"]) == 0
    history = json.loads((out / "metrics.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3] and len({r["val_acc"] for r in history}) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stopped_early"] is True and summary["epochs_trained"] == 3 and summary["best_epoch"] == 1
    status = json.loads((out / "status.json").read_text())
    assert {k: v for k, v in status.items() if k != "updated"} == {
        "state": "complete", "epoch": 3, "epochs": 10, "batches": BATCHES}
    assert "complete: test accuracy" in (out / "log.txt").read_text().splitlines()[-1]
    assert "(stopped early after epoch 3: no better validation accuracy for 2 epochs)" in \
        (out / "log.txt").read_text()
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    capsys.readouterr()
    for extra in ([], ["--epochs", "20"]):
        assert main(["train", "--resume", str(out), *extra]) == 0
        assert "stopped early after epoch 3" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_status_json_has_the_epoch_and_time_to_finish_while_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "run"
    real = _loop.run_epoch
    seen: list[dict] = []

    def spy(*args, **kwargs):
        res = real(*args, **kwargs)
        if args[4] is not None:  # after a training pass, before the epoch's end is recorded
            seen.append(json.loads((out / "status.json").read_text()))
        return res

    monkeypatch.setattr(_loop, "run_epoch", spy)
    monkeypatch.setattr(_tracking, "STATUS_EVERY_S", 0.0)  # update on every batch
    start = datetime.now().astimezone().replace(microsecond=0)  # finish_time is in whole seconds
    assert main(["train", "--epochs", "3", "--out", str(out), *SMALL]) == 0
    assert [s["state"] for s in seen] == ["running"] * 3
    assert [(s["epoch"], s["current_epoch"], s["batch"], s["batches"]) for s in seen] == [
        (e, e + 1, BATCHES - 1, BATCHES) for e in range(3)]
    for s in seen:
        assert s["epochs"] == 3 and s["eta_seconds"] > 0
        assert datetime.fromisoformat(s["finish_time"]) >= start


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--optimizer", "lamb"], "unknown optimizer 'lamb'; choose --optimizer from adam, adamw, sgd"),
        (["--momentum", "0.9"], "--momentum applies to --optimizer sgd only"),
        (["--optimizer", "sgd", "--momentum", "1"], "--momentum must lie in [0, 1), got 1.0"),
        (["--weight-decay", "-1"], "--weight-decay must be a finite number >= 0, got -1.0"),
        (["--lr-schedule", "linear"], "choose --lr-schedule from none, cosine, step, onecycle"),
        (["--warmup-epochs", "15"], "--warmup-epochs 15 must be fewer than --epochs 15"),
        (["--warmup-epochs", "-1"], "--warmup-epochs must be >= 0"),
        (["--lr-step-size", "2"], "--lr-step-size applies to --lr-schedule step only"),
        (["--lr-gamma", "0.5", "--lr-schedule", "cosine"], "--lr-gamma applies to --lr-schedule step only"),
        (["--lr-schedule", "step", "--lr-step-size", "0"],
         "--lr-step-size must be >= 1, got 0 (epochs between two decays)"),
        (["--lr-schedule", "step", "--lr-gamma", "0"], "--lr-gamma must lie in (0, 1], got 0.0"),
        (["--grad-clip", "0"],
         "--grad-clip must be a finite number > 0, got 0.0 (the largest gradient norm)"),
        (["--early-stopping", "0"], "--early-stopping must be >= 1"),
        (["--early-stopping", "3", "--val-fraction", "0"],
         "--early-stopping watches the validation accuracy"),
        (["--loss", "hinge"], "unknown loss 'hinge'; choose --loss from ce_rate, ce_count, mse_count"),
    ],
)
def test_bad_option_values(tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
                           expected: str) -> None:
    out = tmp_path / "run"
    assert expected in cli_error(capsys, ["train", "--out", str(out), *extra])
    assert not out.exists()


def test_a_schedule_spanning_the_run_refuses_new_epochs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--out", str(out), "--lr-schedule", "onecycle", *SMALL]) == 0
    err = cli_error(capsys, ["train", "--resume", str(out), "--epochs", "3"])
    assert "--epochs cannot change when resuming a run with --lr-schedule onecycle" in err
    err = cli_error(capsys, ["train", "--resume", str(out), "--optimizer", "sgd"])
    assert "--optimizer cannot change when resuming" in err


def test_a_run_made_before_these_options_resumes_as_adam_and_ce_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, old = tmp_path / "whole", tmp_path / "old"
    argv = ["train", "--epochs", "2", *SMALL]
    assert main([*argv, "--out", str(whole)]) == 0
    _interrupt_second_epoch(monkeypatch)
    assert main([*argv, "--out", str(old)]) == 130
    monkeypatch.undo()
    new_keys = ("optimizer", "momentum", "weight_decay", "lr_schedule", "warmup_epochs", "lr_step_size",
                "lr_gamma", "grad_clip", "early_stopping", "amp", "loss", "tensorboard")
    config = old / "config.toml"  # as an older spikeforge wrote them: no such keys
    config.write_text("".join(line + "\n" for line in config.read_text().splitlines()
                              if not line.lstrip("# ").startswith(new_keys)))
    ckpt = torch.load(old / "checkpoints/last.pt", weights_only=True)
    ckpt["config"] = {k: v for k, v in ckpt["config"].items() if k not in new_keys}
    del ckpt["training"]
    torch.save(ckpt, old / "checkpoints/last.pt")
    assert main(["train", "--resume", str(old), "--no-progress"]) == 0
    assert json.loads((old / "metrics.json").read_text()) == json.loads((whole / "metrics.json").read_text())
    assert 'optimizer = "adam"' in config.read_text() and 'loss = "ce_rate"' in config.read_text()


def test_early_stopping_waits_for_a_strictly_better_validation_accuracy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    val = [0.5, 0.6, 0.55, 0.6, 0.7, 0.9]  # scripted: epoch 4 only ties the best of epoch 2

    def fake(model, data, device, progress, env=None, split="test", **kwargs):  # noqa: ANN001, ANN202
        acc = val[fake.calls] if split == "val" else 0.5
        fake.calls += split == "val"
        return {"loss": 1.0 - acc, "acc": acc, "spikes_per_sample": 1.0, "n": 20, "spike_rates": {},
                "class_acc": {}}

    fake.calls = 0
    monkeypatch.setattr(_loop, "evaluate_model", fake)
    out = tmp_path / "run"
    # patience 2: best at epoch 2, no better at 3 and 4, so the run ends after epoch 4
    assert main(["train", "--epochs", "6", "--early-stopping", "2", "--out", str(out), *SMALL]) == 0
    history = json.loads((out / "metrics.json").read_text())
    assert [r["val_acc"] for r in history] == [0.5, 0.6, 0.55, 0.6]
    assert torch.load(out / "checkpoints/best.pt", weights_only=True)["epoch"] == 2
    assert json.loads((out / "summary.json").read_text())["epochs_trained"] == 4
