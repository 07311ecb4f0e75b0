"""End to end: `spikeforge train` on the bundled digits, `evaluate` reproducing its number, resume
after an interruption reproducing an uninterrupted run, and `export`."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from spikeforge.cli import main
from spikeforge.training import trainer

QUICK = ["--train-limit", "256", "--test-limit", "100", "--num-steps", "10", "--hidden", "32",
         "--batch-size", "32", "--lr", "0.01", "--no-progress"]


def _train(out: Path, *extra: str) -> int:
    return main(["train", "--epochs", "3", "--out", str(out), *QUICK, *extra])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "digits"
    assert _train(out) == 0
    return out


def test_run_learns_and_directory_is_complete(run_dir: Path) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    history = json.loads((run_dir / "metrics.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    # chance is 0.1 on 10 balanced classes
    assert summary["test_accuracy"] >= 0.5 and summary["test_accuracy"] == history[-1]["test_acc"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    with (run_dir / "metrics.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and float(rows[2]["test_acc"]) == pytest.approx(history[2]["test_acc"])
    assert set(rows[0]) >= {"epoch", "train_loss", "train_acc", "test_loss", "test_acc", "spikes_per_sample"}
    assert json.loads((run_dir / "status.json").read_text())["state"] == "complete"
    config = (run_dir / "config.toml").read_text()
    assert "epochs = 3" in config and 'neuron = "leaky"' in config and "hidden = 32" in config
    for name in ("last.pt", "best.pt"):
        ckpt = torch.load(run_dir / "checkpoints" / name, weights_only=True)
        assert ckpt["format"] == "spikeforge-run/1" and "1.weight" in ckpt["model"]
    assert torch.load(run_dir / "checkpoints/last.pt", weights_only=True)["epoch"] == 3
    log = (run_dir / "log.txt").read_text()
    for name, state in summary["outputs"].items():
        # each optional output is either in the run directory or explained in log.txt
        assert (run_dir / name).is_file() if state.startswith("written") else f"{name}: {state}" in log


def test_evaluate_reproduces_reported_accuracy(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["accuracy"] == summary["test_accuracy"] and res["samples"] == 100
    assert main(["evaluate", str(run_dir), "--checkpoint", "best", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == summary["best_test_accuracy"]


def test_interrupted_and_resumed_equals_uninterrupted(
    run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = trainer.run_epoch
    calls = {"train": 0}

    def flaky(*args, **kwargs):  # Ctrl-C in the middle of the second training epoch
        if args[4] is not None:
            calls["train"] += 1
            if calls["train"] == 2:
                raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(trainer, "run_epoch", flaky)
    out = tmp_path / "cut"
    assert _train(out) == 130
    assert "--resume" in capsys.readouterr().err
    assert json.loads((out / "status.json").read_text())["state"] == "interrupted"
    assert not (out / "summary.json").exists()
    monkeypatch.setattr(trainer, "run_epoch", real)
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed == json.loads((run_dir / "metrics.json").read_text())
    a = torch.load(out / "checkpoints/last.pt", weights_only=True)["model"]
    b = torch.load(run_dir / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)


def test_ctrl_c_in_a_real_process_leaves_a_resumable_run(tmp_path: Path) -> None:
    out = tmp_path / "sigint"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    cmd = [sys.executable, "-m", "spikeforge", "train", "--epochs", "200", "--out", str(out), *QUICK,
           "--train-limit", "64", "--test-limit", "32"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "metrics.json").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "--resume" in err
    done = json.loads((out / "status.json").read_text())["epoch"]
    assert done >= 1 and torch.load(out / "checkpoints/last.pt", weights_only=True)["epoch"] == done
    assert main(["train", "--resume", str(out), "--epochs", str(done + 1), "--no-progress"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())) == done + 1


def test_export_writes_nir_or_says_unavailable(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["export", str(run_dir), "--out", str(run_dir / "exported.nir")])
    err = capsys.readouterr().err
    if rc == 0:
        assert (run_dir / "exported.nir").stat().st_size > 0
    else:
        assert rc == 2 and err.count("\n") == 1 and "NIR export" in err


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--seed", "--device", "--epochs", "--batch-size", "--num-steps", "--encoding", "--neuron",
                 "--out", "--config", "--resume", "--data-dir"):
        assert flag in text
