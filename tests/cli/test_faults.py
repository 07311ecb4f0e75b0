"""Faults made for real: SIGTERM and SIGINT sent to a training process, a full disk (a tiny tmpfs, and
/dev/full), and an allocation that fails under a memory limit. Each must end with one line saying what
happened and what to do, a ``status.json`` that says so, and a last checkpoint that ``--resume``
continues exactly."""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import torch

from spikeforge.cli import main

from ._proc import Child

#: 540 training samples (600, less 60 held out) in batches of 8: 68 batches an epoch, so that a signal
#: sent once the progress bar shows a batch of epoch 2 done lands inside epoch 2
SLOW = ["--batch-size", "8", "--num-steps", "8", "--hidden", "16", "--train-limit", "600",
        "--test-limit", "64", "--lr", "0.01"]
BATCHES = 68


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "whole"
    assert main(["train", "--epochs", "2", "--out", str(out), *SLOW, "--no-progress"]) == 0
    return out


def _status(run: Path) -> dict:
    return json.loads((run / "status.json").read_text())


def _same_run(a: Path, b: Path) -> None:
    """Bit for bit the same numbers: metrics of every epoch, and the weights, the optimizer's state
    (every moment or momentum buffer) and the schedule's and gradient scaler's states of last.pt."""
    assert json.loads((a / "metrics.json").read_text()) == json.loads((b / "metrics.json").read_text())
    ca = torch.load(a / "checkpoints/last.pt", weights_only=True)
    cb = torch.load(b / "checkpoints/last.pt", weights_only=True)
    assert ca["model"].keys() == cb["model"].keys()
    assert all(torch.equal(ca["model"][k], cb["model"][k]) for k in cb["model"])
    sa, sb = ca["optimizer"]["state"], cb["optimizer"]["state"]
    assert sb and sa.keys() == sb.keys()
    for i in sb:
        assert sa[i].keys() == sb[i].keys() and all(torch.equal(sa[i][k], sb[i][k]) for k in sb[i])
    assert ca["training"] == cb["training"]
    summary = json.loads((a / "summary.json").read_text())
    assert summary["test_accuracy"] == json.loads((b / "summary.json").read_text())["test_accuracy"]


def _no_temporaries(run: Path) -> None:
    assert not [p.name for p in run.rglob("*.tmp")]


def _stop_inside_epoch_2(out: Path, tmp_path: Path, sig: signal.Signals, epochs: int,
                         extra: Sequence[str] = ()) -> tuple[int, str]:
    """Train in a child whose stderr is a terminal, send ``sig`` once its progress bar shows a batch of
    epoch 2 done, and return ``(exit status, what its terminal showed)``."""
    child = Child(["train", "--epochs", str(epochs), "--out", str(out), *SLOW, *extra], tmp_path,
                  terminal=True)
    child.wait_on_terminal(rf"epoch 2/{epochs}:[^\r\n]*?\| *[1-9][0-9]*/{BATCHES} ")
    child.proc.send_signal(sig)
    return child.finish()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_at_a_batch_and_resume_is_exact(
    uninterrupted: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], sig: signal.Signals
) -> None:
    out = tmp_path / "cut"
    code, screen = _stop_inside_epoch_2(out, tmp_path, sig, 2)
    assert code == 128 + sig == {signal.SIGTERM: 143, signal.SIGINT: 130}[sig], screen
    status = _status(out)
    batch = status.get("batch", 0)
    assert 0 < batch < BATCHES, status  # stopped inside epoch 2, at a batch boundary
    assert {k: status[k] for k in ("state", "epoch", "epochs", "signal")} == {
        "state": "interrupted", "epoch": 1, "epochs": 2, "signal": sig.name}
    lines = [line for line in screen.splitlines() if line.startswith("spikeforge:")]
    assert lines == [
        f"spikeforge: {sig.name} received: stopping at the end of this batch (send it again to stop at once)",
        f"spikeforge: interrupted by {sig.name} during epoch 2; checkpoints/last.pt holds epoch 1 and "
        f"{batch} of the {BATCHES} batches of epoch 2; continue with: spikeforge train --resume {out}",
    ]
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert (ckpt["epoch"], ckpt["batch"]) == (1, batch) and ckpt["train_sums"][0]["n"] == 8 * batch
    assert not (out / "summary.json").exists()
    _no_temporaries(out)
    assert f"interrupted by {sig.name} during epoch 2" in (out / "log.txt").read_text()
    assert main(["evaluate", str(out), "--json"]) == 0  # the checkpoint in the middle of epoch 2
    assert (json.loads(capsys.readouterr().out)["batch"]) == batch
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    _same_run(out, uninterrupted)
    assert _status(out)["state"] == "complete"


def test_resume_needs_the_epoch_it_stopped_inside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cut"
    assert _stop_inside_epoch_2(out, tmp_path, signal.SIGTERM, 3)[0] == 143
    batch = _status(out)["batch"]
    assert main(["train", "--resume", str(out), "--epochs", "1"]) == 2
    assert capsys.readouterr().err == (f"spikeforge: error: --epochs 1 ends before epoch 2, which {out} "
                                       f"stopped inside (after {batch} of its batches); pass --epochs N with "
                                       "N >= 2\n")
    assert _status(out)["state"] == "interrupted"  # the refused resume changed nothing


#: the trainer's options whose state a stop inside an epoch must keep: SGD's momentum buffers, a
#: learning-rate schedule stepped after every batch (one epoch of warm-up, then cosine), clipping
OPTIMISED = ["--optimizer", "sgd", "--momentum", "0.9", "--lr-schedule", "cosine", "--warmup-epochs", "1",
             "--grad-clip", "1"]


@pytest.fixture(scope="module")
def uninterrupted_optimised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("faults") / "whole-optimised"
    argv = ["train", "--epochs", "2", "--out", str(out), *SLOW, *OPTIMISED, "--tensorboard", "--no-progress"]
    assert main(argv) == 0
    return out


def _scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every TensorBoard scalar of a run as ``(step, value)`` points, read with TensorBoard's own reader
    (which hides what a resumed session purged)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.parametrize("tensorboard", [False, True], ids=["options", "options-tensorboard"])
def test_sigterm_inside_an_epoch_with_the_training_options_resumes_exactly(
    uninterrupted_optimised: Path, tmp_path: Path, tensorboard: bool
) -> None:
    out = tmp_path / "cut"
    extra = [*OPTIMISED, *(["--tensorboard"] if tensorboard else [])]
    code, screen = _stop_inside_epoch_2(out, tmp_path, signal.SIGTERM, 2, extra)
    assert code == 143, screen
    status = _status(out)
    batch = status["batch"]
    assert 0 < batch < BATCHES, status
    assert set(status) == {"state", "epoch", "epochs", "batch", "batches", "signal", "updated"}
    assert (status["state"], status["epoch"], status["epochs"], status["batches"], status["signal"]) == (
        "interrupted", 1, 2, BATCHES, "SIGTERM")
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert (ckpt["epoch"], ckpt["batch"]) == (1, batch)
    # the schedule was stepped after each of the 68 batches of epoch 1 and of the first `batch` of epoch
    # 2; the last step's rate is the cosine's (warm-up over 68 steps, then 68 cosine steps) at step
    # 68 + batch - 1: 0.01 * (1 + cos(pi * (batch - 1) / 68)) / 2
    assert ckpt["training"]["scheduler"]["last_epoch"] == BATCHES + batch
    rate = 0.005 * (1 + math.cos(math.pi * (batch - 1) / BATCHES))
    assert ckpt["training"]["last_lr"] == pytest.approx(rate)
    assert all("momentum_buffer" in state for state in ckpt["optimizer"]["state"].values())
    if tensorboard:  # epoch 1 logged once, epoch 2 not yet
        assert {points[-1][0] for points in _scalars(out).values()} == {1}
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    whole = uninterrupted_optimised
    _same_run(out, whole)
    if tensorboard:  # every epoch's points once, the values of the uninterrupted run
        got = _scalars(out)
        assert got == _scalars(whole) and all([s for s, _ in points] == [1, 2] for points in got.values())
        assert len(list((out / "tensorboard").glob("events.out.tfevents.*"))) == 2  # one per session
    assert _status(out)["state"] == "complete"


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted for the test (needs root; skipped elsewhere)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)],
                          capture_output=True, text=True, timeout=60)
    if made.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], timeout=60)


def _fill(disk: Path) -> Path:
    """Write a file until the file system is full (the kernel answers ENOSPC)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 16, 1 << 12, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_ends_in_one_line_and_keeps_the_last_checkpoint(
    uninterrupted: Path, tiny_disk: Path, tmp_path: Path
) -> None:
    out = tiny_disk / "run"
    child = Child(["train", "--epochs", "2", "--out", str(out), *SLOW], tmp_path)
    child.wait_for("epoch 1:")
    child.proc.send_signal(signal.SIGSTOP)  # hold it inside epoch 2 while the disk fills up
    filler = _fill(tiny_disk)
    child.proc.send_signal(signal.SIGCONT)
    code, err = child.finish()
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("spikeforge: error: disk full (No space left on device) "
                                                   f"writing {out / 'checkpoints'}/"), err
    assert err.rstrip().endswith(f"the run stopped and checkpoints/last.pt holds epoch 1; free some disk "
                                 f"space, then continue with: spikeforge train --resume {out}"), err
    status = _status(out)
    assert status["state"] == "failed" and status["error"].startswith("disk full (No space left on device)")
    assert status["epoch"] == 1
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)  # intact, not half written
    assert (ckpt["epoch"], ckpt["batch"]) == (1, 0)
    _no_temporaries(out)
    filler.unlink()
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0
    _same_run(out, uninterrupted)


def test_a_log_on_a_full_device_fails_the_run_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # /dev/full answers every write with ENOSPC: no root needed
    out = tmp_path / "run"
    tiny = ["--train-limit", "40", "--test-limit", "20", "--num-steps", "4", "--hidden", "8", "--no-progress"]
    assert main(["train", "--epochs", "1", "--out", str(out), *tiny]) == 0
    before = (out / "checkpoints/last.pt").read_bytes()
    log = (out / "log.txt").read_text()
    (out / "log.txt").unlink()
    (out / "log.txt").symlink_to("/dev/full")
    capsys.readouterr()
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 1
    err = capsys.readouterr().err
    assert err == (f"spikeforge: error: disk full (No space left on device) writing {out / 'log.txt'}; the "
                   "run stopped and checkpoints/last.pt holds epoch 1; free some disk space, then continue "
                   f"with: spikeforge train --resume {out}\n")
    status = _status(out)
    assert (status["state"], status["epoch"]) == ("failed", 1) and "disk full" in status["error"]
    assert (out / "checkpoints/last.pt").read_bytes() == before
    (out / "log.txt").unlink()
    (out / "log.txt").write_text(log)
    assert main(["train", "--resume", str(out), "--epochs", "2"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())) == 2


#: the child: warm up (kernels compiled, thread pools started, modules imported), then limit the
#: address space to what it uses now plus 64 MiB and train; the first training batch needs far more
_LIMITED = """
import resource, sys, torch
from spikeforge.cli import main
from spikeforge.data.digits import digits_arrays
from spikeforge.training.trainer import build_network, run_network
digits_arrays(True)
spk, _, _ = run_network(build_network(64, 8, 10, "leaky", 0.9), torch.rand(3, 2, 64))
spk.sum().backward()
torch.optim.Adam([torch.zeros(1, requires_grad=True)])  # the optimiser's first use imports torch._dynamo
vm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmSize"))
resource.setrlimit(resource.RLIMIT_AS, (vm + (64 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
sys.exit(main(sys.argv[1:]))
"""


def test_out_of_memory_ends_in_one_line_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    out = tmp_path / "run"
    # one batch of 250 samples x 200 steps x 256 hidden neurons: about 50 MB for each of its tensors
    big = ["--batch-size", "250", "--num-steps", "200", "--hidden", "256", "--train-limit", "280",
           "--test-limit", "32", "--epochs", "1", "--out", str(out)]
    child = Child(["train", *big], tmp_path, python=["-c", _LIMITED])
    code, err = child.finish()
    assert code == 1, err
    assert err.count("\n") == 1 and err.startswith("spikeforge: error: out of memory ("), err
    assert err.rstrip().endswith("the run stopped and checkpoints/last.pt holds epoch 0; use a smaller "
                                 "--batch-size, --hidden or --num-steps in a new run, or continue this run "
                                 f"on a machine with more memory with: spikeforge train --resume {out}"), err
    status = _status(out)
    assert (status["state"], status["epoch"]) == ("failed", 0) and status["error"].startswith("out of memory")
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)  # the initial weights, whole
    assert (ckpt["epoch"], ckpt["batch"]) == (0, 0) and ckpt["model"]["1.weight"].shape == (256, 64)
    _no_temporaries(out)


@pytest.mark.skipif(not Path("/proc/sys/vm/overcommit_memory").is_file()
                    or Path("/proc/sys/vm/overcommit_memory").read_text().strip() == "1",
                    reason="with overcommit always on, the allocation would succeed and the kernel kill us")
def test_a_model_too_large_for_memory_is_one_line_and_no_run_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    # a hidden layer of 10**12 neurons: 256 TB of weights, refused by the allocator at once
    assert main(["train", "--hidden", str(10**12), "--out", str(out), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spikeforge: error: out of memory (you tried to allocate ")
    assert err.endswith("use a smaller --batch-size, --hidden or --num-steps in a new run\n")
    assert not out.exists()
