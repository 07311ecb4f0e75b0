"""``torchrun --nproc_per_node 2 -m spikeforge train`` (gloo on CPU) and the trainer's multi-process errors.

The reference for the 2-process resume is an uninterrupted single-process run of the same config:
the global batches do not depend on the number of processes, so the numbers must agree.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from spikeforge.cli import main

TINY = ["--train-limit", "15", "--batch-size", "7", "--test-limit", "20", "--hidden", "12",
        "--num-steps", "5", "--device", "cpu", "--no-progress", "--seed", "1"]
ROOT = Path(__file__).resolve().parents[2]


def _close(got: object, want: object) -> bool:
    """Equal up to a relative 1e-5, also inside the dict values of a metrics row (per-class accuracy,
    per-layer spike rates; None for a class without samples)."""
    if isinstance(want, dict):
        return isinstance(got, dict) and got.keys() == want.keys() and all(
            _close(got[k], want[k]) for k in want)
    return got is None if want is None else got == pytest.approx(want, rel=1e-5)


def _env() -> dict[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    return env


_LAUNCH = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "spikeforge"]


def _torchrun(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, *_LAUNCH, *args]
    return subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=240, cwd=ROOT)


def test_torchrun_resumes_a_single_process_run_with_two_processes(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--out", str(a), "--epochs", "1", *TINY]) == 0
    assert main(["train", "--out", str(b), "--epochs", "2", *TINY]) == 0  # uninterrupted reference
    done = _torchrun("train", "--resume", str(a), "--epochs", "2", "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run directory") == 1, done.stdout  # rank 0 reports, once
    log = [line.split(" ", 2)[2] for line in (a / "log.txt").read_text().splitlines()]  # after the time
    assert [line for line in log if line.startswith("resume at epoch 1")] == [
        # 10 % of the 15 training samples, 1.5, rounds to 2 held out for validation
        "resume at epoch 1: digits: 13 train / 2 validation / 20 test samples on cpu x 2 processes"
    ]
    status = json.loads((a / "status.json").read_text())
    assert (status["state"], status["epoch"], status["epochs"]) == ("complete", 2, 2)
    assert (a / "summary.json").is_file() and (a / "model.nir").is_file()
    got, want = (json.loads((d / "metrics.json").read_text()) for d in (a, b))
    assert got[0] == want[0] and len(got) == 2
    for key, value in want[1].items():
        assert _close(got[1][key], value), key
    ckpt_a, ckpt_b = (torch.load(d / "checkpoints" / "last.pt", weights_only=True) for d in (a, b))
    assert ckpt_a["epoch"] == 2 and list(ckpt_a["model"]) == list(ckpt_b["model"])  # no "module." prefix
    for name, value in ckpt_b["model"].items():
        torch.testing.assert_close(ckpt_a["model"][name], value, atol=1e-6, rtol=0)


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    return capsys.readouterr().err


def test_more_processes_than_data_is_refused_before_joining(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "0")
    err = _error(capsys, ["train", "--out", str(tmp_path / "r"), *TINY, "--train-limit", "4"])
    assert "4 processes but the training set has only 3 samples" in err  # 1 of 4 held out for validation
    err = _error(capsys, ["train", "--out", str(tmp_path / "r"), *TINY, "--batch-size", "2"])
    assert "--batch-size 2 is the global batch shared by 4 processes" in err
    assert not (tmp_path / "r").exists()


def test_resuming_from_a_checkpoint_of_another_config_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Same shapes, other beta: the weights would load, so only the config check can tell."""
    a, c = tmp_path / "a", tmp_path / "c"
    assert main(["train", "--out", str(a), "--epochs", "1", *TINY]) == 0
    assert main(["train", "--out", str(c), "--epochs", "1", *TINY, "--beta", "0.8"]) == 0
    shutil.copy(c / "checkpoints" / "last.pt", a / "checkpoints" / "last.pt")
    err = _error(capsys, ["train", "--resume", str(a), "--epochs", "2"])
    assert "was saved from a different model or configuration (beta=0.8 there, 0.9 here)" in err


def test_torchrun_on_event_data_equals_one_process(tmp_path: Path) -> None:
    """Event data: each of the 2 processes reads only its slice of every global batch (see
    test_event_shards.py); the run still gives the numbers of one process."""
    from data.formats import write_shd  # tests/data/formats.py (tests/ is on sys.path)

    # sample k: 30 + 5k spikes over 30 channels of its own, so every sample drives the network differently
    samples = [([0.0001 * (j + 1) for j in range(30 + 5 * k)], [20 * k + j % 30 for j in range(30 + 5 * k)],
                k % 2) for k in range(11)]
    write_shd(tmp_path / "SHD/shd_train.h5", samples)
    write_shd(tmp_path / "SHD/shd_test.h5", samples[:6])
    opts = ["--dataset", "shd", "--data-dir", str(tmp_path), "--batch-size", "4", "--num-steps", "4",
            "--hidden", "16", "--epochs", "2", "--device", "cpu", "--no-progress", "--seed", "3"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main(["train", "--out", str(one), *opts]) == 0
    done = _torchrun("train", "--out", str(two), *opts)
    assert done.returncode == 0, done.stderr[-3000:]
    got, want = (json.loads((d / "metrics.json").read_text()) for d in (two, one))
    assert len(got) == len(want) == 2
    for row_got, row_want in zip(got, want):
        for key, value in row_want.items():
            assert _close(row_got[key], value), key


def test_sigterm_to_torchrun_stops_both_processes_at_one_batch_and_resume_is_exact(tmp_path: Path) -> None:
    from cli._proc import Child  # tests/cli/_proc.py (tests/ is on sys.path)

    # 45 global batches of 8 an epoch (360 training samples), 4 samples on each process
    opts = ["--epochs", "2", "--batch-size", "8", "--num-steps", "8", "--hidden", "16",
            "--train-limit", "400", "--test-limit", "32", "--device", "cpu"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    done = _torchrun("train", "--out", str(whole), *opts, "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    child = Child(["train", "--out", str(cut), *opts], tmp_path, python=_LAUNCH, terminal=True, env=_env())
    child.wait_on_terminal(r"epoch 2/2:[^\r\n]*?\| *[1-9][0-9]*/45 ")  # rank 0's bar, inside epoch 2
    child.proc.send_signal(signal.SIGTERM)  # torchrun passes it on to both processes
    _, screen = child.finish()
    status = json.loads((cut / "status.json").read_text())
    assert (status["state"], status["epoch"], status["signal"]) == ("interrupted", 1, "SIGTERM")
    assert 0 < status["batch"] < 45
    ckpt = torch.load(cut / "checkpoints/last.pt", weights_only=True)
    assert [part["n"] for part in ckpt["train_sums"]] == [4 * status["batch"]] * 2  # each process's share
    # the processes agreed on where to stop, and one of them said so
    assert screen.count("spikeforge: interrupted by SIGTERM during epoch 2;") == 1, screen[-3000:]
    assert screen.count("spikeforge: SIGTERM received") == 1
    done = _torchrun("train", "--resume", str(cut), "--no-progress")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((cut / "metrics.json").read_text()) == json.loads((whole / "metrics.json").read_text())
    a = torch.load(cut / "checkpoints/last.pt", weights_only=True)["model"]
    b = torch.load(whole / "checkpoints/last.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in b)
