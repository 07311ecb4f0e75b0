"""End to end: `spikeforge train` on the bundled digits, `evaluate` reproducing its number, resume
and `export` (signals and other faults: test_faults.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from spikeforge.cli import main
from spikeforge.training import _loop, trainer

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


def test_ctrl_c_while_writing_outputs_records_the_saved_epoch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(_loop, "finish_run", interrupted)  # Ctrl-C with no handler, or a second one
    out = tmp_path / "cut"
    assert main(["train", "--epochs", "2", "--out", str(out), *QUICK, "--train-limit", "64"]) == 130
    assert torch.load(out / "checkpoints/last.pt", weights_only=True)["epoch"] == 2
    status = json.loads((out / "status.json").read_text())
    assert {k: v for k, v in status.items() if k != "updated"} == {
        "state": "interrupted", "epoch": 2, "epochs": 2, "batches": 2, "signal": "SIGINT"}
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
