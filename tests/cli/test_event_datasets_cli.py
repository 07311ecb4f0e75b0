"""The new event data sets, ``tonic:NAME`` and ``--drop-out-of-range`` through the command, end to end on
tiny files written in the real formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from data.formats import (  # tests/data/formats.py (tests/ is on sys.path)
    aedat4_bytes,
    fill_nmnist,
    write_event_npy,
    write_hdf5_audio,
    write_nmnist,
)

from spikeforge.cli import main
from spikeforge.data import CIFAR10DVS
from spikeforge.data.loaders import DroppedEventsWarning

from ._cli import cli_error

TINY = ["--epochs", "1", "--num-steps", "2", "--hidden", "8", "--batch-size", "4", "--no-progress"]


def _summary(out: Path) -> dict:
    return json.loads((out / "summary.json").read_text())


def _poker(root: Path, archives: bool = False) -> None:
    for split, n in (("train", 5), ("test", 5 if archives else 2)):  # tonic's check: >= 20 tables
        if archives:  # tonic's own class also wants its archive beside the tables
            (root / "POKERDVS").mkdir(parents=True, exist_ok=True)
            (root / f"POKERDVS/pips_{split}.tar.gz").write_bytes(b"")
        for k, suit in enumerate(("cl", "he", "di", "sp")):
            for i in range(n):
                write_event_npy(root / f"POKERDVS/pips_{split}/{suit}/{i}.npy", [[100 * i, 8 * k, 3, 1]])


def test_pokerdvs_conv_train_evaluate_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _poker(tmp_path)
    out = tmp_path / "poker"
    assert main(["train", "--dataset", "pokerdvs", "--data-dir", str(tmp_path), "--model", "conv",
                 "--out", str(out), *TINY]) == 0
    summary = _summary(out)
    assert (summary["train_samples"], summary["val_samples"], summary["test_samples"]) == (18, 2, 8)
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert ckpt["model"]["0.weight"].shape == (12, 2, 5, 5) and ckpt["model"]["9.weight"].shape[0] == 4
    assert (out / "figures/output_raster.png").is_file() and (out / "figures/membrane_trace.png").is_file()
    capsys.readouterr()
    assert main(["evaluate", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert res["samples"] == 8 and res["accuracy"] == summary["test_accuracy"]
    assert main(["export", str(out), "--out", str(tmp_path / "poker.nir")]) == 0
    assert (tmp_path / "poker.nir").stat().st_size > 0


def test_cifar10dvs_conv_and_ncaltech101_mlp(tmp_path: Path) -> None:
    for label, name in enumerate(CIFAR10DVS.classes):
        for i in range(2):
            path = tmp_path / f"CIFAR10DVS/{name}/{i}.aedat4"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(aedat4_bytes([(10, 12 * label, 5, 1)]))
    out = tmp_path / "cifar"
    assert main(["train", "--dataset", "cifar10dvs", "--data-dir", str(tmp_path), "--model", "conv",
                 "--downsample", "0.25", "--out", str(out), *TINY]) == 0
    assert (_summary(out)["train_samples"] + _summary(out)["val_samples"], _summary(out)["test_samples"]) \
        == (10, 10)  # one of the two files of each class is the test split
    for name in ("accordion", "yin_yang"):
        for i in range(3):
            write_nmnist(tmp_path / f"NCALTECH101/Caltech101/{name}/image_{i}.bin",
                         [(9, 9, 1, 10), (40, 30, 0, 20)])
    out = tmp_path / "caltech"
    assert main(["train", "--dataset", "ncaltech101", "--data-dir", str(tmp_path), "--downsample", "0.1",
                 "--val-fraction", "0", "--out", str(out), *TINY]) == 0
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert ckpt["model"]["1.weight"].shape == (8, 2 * 18 * 24)  # (240, 180) * 0.1


def test_ssc_and_tonic_names(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [f"w{k}" for k in range(35)]
    for split in ("train", "test"):
        samples = [([0.0001 * (k + 1)], [20 * k], k) for k in range(35)]
        write_hdf5_audio(tmp_path / f"SSC/ssc_{split}.h5", samples, keys)
    out = tmp_path / "ssc"
    assert main(["train", "--dataset", "ssc", "--data-dir", str(tmp_path), "--out", str(out), *TINY]) == 0
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert ckpt["model"]["3.weight"].shape == (35, 8) and _summary(out)["test_samples"] == 35
    # tonic's own class, with the default run directory named without the colon
    _poker(tmp_path, archives=True)
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--dataset", "tonic:POKERDVS", "--data-dir", str(tmp_path), *TINY]) == 0
    assert _summary(tmp_path / "runs/tonic-POKERDVS-seed0")["test_samples"] == 20
    err = cli_error(capsys, ["train", "--dataset", "tonic:MNIST", "--data-dir", str(tmp_path)])
    assert "tonic has no data set 'MNIST'" in err and "POKERDVS" in err
    err = cli_error(capsys, ["train", "--dataset", "tonic:NMNIST", "--data-dir", str(tmp_path), *TINY])
    assert "tonic.datasets.NMNIST data not found: tonic looks for" in err
    assert "NMNIST/test.zip (missing)" in err


def test_drop_out_of_range_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for split in ("Train", "Test"):
        write_nmnist(tmp_path / f"NMNIST/{split}/0/a.bin", [(1, 1, 1, 5), (50, 50, 0, 9), (1, 60, 1, 11)])
        fill_nmnist(tmp_path, split)
    argv = ["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--val-fraction", "0", *TINY]
    err = cli_error(capsys, [*argv, "--out", str(tmp_path / "a")])
    assert "NMNIST/Test/0/a.bin, sample 0: event 1 at x=50, y=50, p=0 lies outside the 34x34 sensor" in err
    assert "--drop-out-of-range" in err and not (tmp_path / "a").exists()
    with pytest.warns(DroppedEventsWarning) as caught:
        assert main([*argv, "--drop-out-of-range", "--out", str(tmp_path / "b")]) == 0
    said = {str(w.message) for w in caught}
    for split in ("train", "test"):  # one epoch: one pass over each split, each with the bad file once
        assert (f"nmnist {split} split: dropped 2 events outside the sensor in 1 of 10 samples read "
                "(--drop-out-of-range)") in said
    assert "drop_out_of_range = true" in (tmp_path / "b/config.toml").read_text()
    err = cli_error(capsys, ["train", "--drop-out-of-range"])
    assert "--drop-out-of-range applies to event data sets only" in err
