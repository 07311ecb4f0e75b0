"""End to end: `spikeforge train` on the bundled digits, `evaluate` reproducing its number, resume
after an interruption reproducing an uninterrupted run, and `export`."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import threading
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
    assert set(rows[0]) >= {"epoch", "train_loss", "train_acc", "test_loss", "test_acc",
                            "train_spikes_per_sample", "test_spikes_per_sample"}
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
    quick = [a for a in QUICK if a != "--no-progress"]  # the per-epoch lines on stdout are the marker
    cmd = [sys.executable, "-m", "spikeforge", "train", "--epochs", "100000", "--out", str(out), *quick,
           "--train-limit", "64", "--test-limit", "32"]
    with (tmp_path / "stderr.txt").open("w") as err_file:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err_file, text=True)
        watchdog = threading.Timer(300, proc.kill)  # a hung child fails the test instead of hanging it
        watchdog.start()
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # blocks until the child has finished (and saved) epoch 1
                if line.startswith("epoch 1:"):
                    break
            proc.send_signal(signal.SIGINT)
            proc.communicate(timeout=120)
        finally:
            watchdog.cancel()
    err = (tmp_path / "stderr.txt").read_text()
    assert proc.returncode == 130, err
    assert "--resume" in err
    done = json.loads((out / "status.json").read_text())["epoch"]
    assert done >= 1 and torch.load(out / "checkpoints/last.pt", weights_only=True)["epoch"] == done
    assert f"last.pt holds epoch {done}" in (out / "log.txt").read_text()
    assert main(["train", "--resume", str(out), "--epochs", str(done + 1), "--no-progress"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())) == done + 1


def test_ctrl_c_while_writing_outputs_records_the_saved_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(trainer, "finish_run", interrupted)
    out = tmp_path / "cut"
    assert main(["train", "--epochs", "2", "--out", str(out), *QUICK, "--train-limit", "64"]) == 130
    assert torch.load(out / "checkpoints/last.pt", weights_only=True)["epoch"] == 2
    assert json.loads((out / "status.json").read_text()) == {"state": "interrupted", "epoch": 2}
    assert "last.pt holds epoch 2" in (out / "log.txt").read_text()
    monkeypatch.undo()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert json.loads((out / "summary.json").read_text())["epochs"] == 2


def test_resume_never_shrinks_or_rewrites_a_finished_run(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = ("config.toml", "summary.json", "status.json", "log.txt", "metrics.json", "checkpoints/last.pt")
    before = {name: (run_dir / name).read_bytes() for name in names}
    assert main(["train", "--resume", str(run_dir), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--epochs 2 is fewer than the 3 epochs already done" in err
    assert main(["train", "--resume", str(run_dir), "--epochs", "3"]) == 0
    assert "is already complete (3 epochs, test accuracy" in capsys.readouterr().out
    assert main(["train", "--resume", str(run_dir)]) == 0
    assert {name: (run_dir / name).read_bytes() for name in names} == before


def test_config_toml_names_every_option(run_dir: Path) -> None:
    text = (run_dir / "config.toml").read_text()
    assert 'encoding = "rate"' in text
    for name in trainer.TrainConfig.__dataclass_fields__:
        assert f"\n{name} = " in text or f"\n# {name}: not set" in text, name


def test_summary_names_train_and_test_spike_counts(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = json.loads((run_dir / "summary.json").read_text())
    history = json.loads((run_dir / "metrics.json").read_text())
    assert "spikes_per_sample" not in summary
    assert summary["train_spikes_per_sample"] == history[-1]["train_spikes_per_sample"]
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    test = summary["test_spikes_per_sample"]
    assert test == history[-1]["test_spikes_per_sample"] == res["spikes_per_sample"]


def test_membrane_figure_shows_every_output_neuron(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from spikeforge.plotting import figures

    seen: dict[str, object] = {}

    def spy(mem: object, threshold: object, path: Path, spk: object = None, neurons: object = None,
            marked: object = None) -> Path:
        seen["neurons"], seen["marked"] = neurons, marked
        return path

    monkeypatch.setattr(figures, "plot_membrane_traces", spy)
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *QUICK, "--train-limit", "32"]) == 0
    assert seen["neurons"] == list(range(10))  # the digits have 10 classes
    marked = seen["marked"]
    assert isinstance(marked, dict) and {"true class", "predicted"} <= {w for v in marked.values() for w in
                                                                        v.split(", ")}


def test_export_writes_nir_or_says_unavailable(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["export", str(run_dir), "--out", str(run_dir / "exported.nir")])
    out, err = capsys.readouterr()
    if rc == 0:
        assert (run_dir / "exported.nir").stat().st_size > 0
        lines = out.splitlines()
        # the default Leaky resets by subtraction, which NIR cannot express
        assert lines[0] == f"wrote {run_dir / 'exported.nir'}" and lines[1].startswith("note: ")
        assert "reset" in lines[1] and len(lines) == 2
    else:
        assert rc == 2 and err.count("\n") == 1 and "NIR export" in err


def test_help_explains_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--seed", "--device", "--epochs", "--batch-size", "--num-steps", "--encoding", "--neuron",
                 "--out", "--config", "--resume", "--data-dir"):
        assert flag in text
