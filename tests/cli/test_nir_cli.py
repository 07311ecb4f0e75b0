"""`spikeforge export RUN_DIR --format nir` and `spikeforge evaluate model.nir`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikeforge.cli import main

QUICK = ["--train-limit", "256", "--test-limit", "100", "--num-steps", "10", "--hidden", "32",
         "--batch-size", "32", "--lr", "0.01", "--no-progress", "--epochs", "3"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("nirruns") / "digits"
    assert main(["train", "--out", str(out), *QUICK]) == 0
    return out


def test_export_format_nir_then_evaluate_the_file(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    checkpoint_acc = json.loads(capsys.readouterr().out)["accuracy"]
    target = run_dir / "exported.nir"
    assert main(["export", str(run_dir), "--format", "nir", "--out", str(target)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(target), "--json"]) == 0  # data set and encoding from config.toml beside it
    res = json.loads(capsys.readouterr().out)
    assert res["samples"] == 100  # the run's --test-limit, read from its config.toml
    # the NIR model resets to zero where the trained Leaky subtracts (recorded as lossy), so its accuracy
    # is close to the checkpoint's, not equal; chance is 0.1
    assert res["accuracy"] > 0.5 and abs(res["accuracy"] - checkpoint_acc) < 0.15
    assert "subtract" in res["lossy"]


def test_evaluate_nir_with_a_config_elsewhere(run_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    moved = tmp_path / "model.nir"
    moved.write_bytes((run_dir / "model.nir").read_bytes())
    assert main(["evaluate", str(moved), "--config", str(run_dir / "config.toml")]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_bad_nir_inputs_give_one_line_errors(run_dir: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    garbage = tmp_path / "garbage.nir"
    garbage.write_text("not hdf5")
    assert main(["evaluate", str(garbage)]) == 2
    assert "not a readable NIR" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "missing.nir")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["export", str(run_dir), "--format", "onnx"]) == 2
    assert "invalid choice: 'onnx'" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir), "--config", str(run_dir / "config.toml")]) == 2
    assert "only for evaluating a .nir file" in capsys.readouterr().err
    assert main(["evaluate", str(run_dir / "model.nir"), "--device", "tpu"]) == 2
    assert "unknown device 'tpu'" in capsys.readouterr().err


def test_zero_reset_run_exports_to_nir_without_loss(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Leaky with reset to zero is exactly NIR's LIF (NIR.md 2.3), so the file scores what the checkpoint does
    out = tmp_path / "zero"
    assert main(["train", "--out", str(out), "--reset", "zero", *QUICK]) == 0
    assert 'reset = "zero"' in (out / "config.toml").read_text()
    capsys.readouterr()
    assert main(["evaluate", str(out), "--json"]) == 0
    checkpoint = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(out / "model.nir"), "--json"]) == 0
    nir_res = json.loads(capsys.readouterr().out)
    assert nir_res["lossy"] == ""
    assert nir_res["accuracy"] == checkpoint["accuracy"] and nir_res["samples"] == checkpoint["samples"]


def test_unknown_reset_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--out", str(tmp_path / "r"), "--reset", "hard", *QUICK]) == 2
    assert "unknown reset 'hard'; choose --reset from subtract, zero, none" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
