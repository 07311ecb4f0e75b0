"""`spikeforge predict`: a whole split agrees with `evaluate`; image and .npy inputs for the digits, and
event files written in the real N-MNIST, SHD and DVS Gesture formats, give the predictions of the same
samples inside the run's test split; the coding of an input is reproducible; bad inputs are one-line
errors. Also `spikeforge --version`."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest
from data.formats import (  # tests/data/formats.py
    write_event_npy,
    write_gesture,
    write_hdf5_audio,
    write_nmnist,
)
from PIL import Image

from spikeforge.cli import main
from spikeforge.data import digits_arrays
from spikeforge.training.predict import image_to_digit

from ._cli import cli_error

TINY = ["--epochs", "1", "--num-steps", "6", "--hidden", "12", "--batch-size", "16", "--no-progress"]


def _predict_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, str]]:
    out = tmp_path / "preds.csv"
    assert main(["predict", *argv, "--out", str(out)]) == 0
    capsys.readouterr()
    with out.open() as f:
        return list(csv.DictReader(f))


def _same_prediction(a: dict[str, str], b: dict[str, str]) -> bool:
    """Predicted class, score and every spike count (not the input's name or label)."""
    return {k: v for k, v in a.items() if k not in ("input", "label")} == \
        {k: v for k, v in b.items() if k not in ("input", "label")}


@pytest.fixture(scope="module")
def rate_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("predict") / "rate"
    assert main(["train", "--out", str(out), "--train-limit", "160", "--test-limit", "40", *TINY]) == 0
    return out


@pytest.fixture(scope="module")
def latency_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Latency coding involves no random numbers: a file holding a test image must be predicted exactly
    as that image inside the test split."""
    out = tmp_path_factory.mktemp("predict") / "latency"
    assert main(["train", "--out", str(out), "--encoding", "latency", "--model", "conv", "--train-limit",
                 "160", "--test-limit", "40", *TINY]) == 0
    return out


def test_split_agrees_with_evaluate_and_the_labels(
    rate_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _predict_csv(tmp_path, capsys, str(rate_run), "--split", "test")
    _, y = digits_arrays(train=False)
    assert [r["input"] for r in rows] == [f"test:{i}" for i in range(40)]
    assert [int(r["label"]) for r in rows] == y[:40].tolist()
    assert list(rows[0]) == ["input", "label", "predicted", "score", *(f"spikes_{c}" for c in range(10))]
    for r in rows:  # the count readout: the most spikes wins, the lowest class on a tie
        counts = [int(r[f"spikes_{c}"]) for c in range(10)]
        assert int(r["predicted"]) == counts.index(max(counts)) and 0 < float(r["score"]) <= 1
        assert sum(counts) <= 6 * 10  # at most one spike per step and output neuron
    assert main(["evaluate", str(rate_run), "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert sum(r["predicted"] == r["label"] for r in rows) / len(rows) == evaluated["accuracy"]
    # the printed table ends with the same accuracy
    assert main(["predict", str(rate_run), "--split", "test"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 42 and lines[-1].startswith(f"accuracy {evaluated['accuracy']:.4f} (")


def test_validation_and_training_splits(
    rate_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    val = _predict_csv(tmp_path, capsys, str(rate_run), "--split", "val")
    train = _predict_csv(tmp_path, capsys, str(rate_run), "--split", "train")
    summary = json.loads((rate_run / "summary.json").read_text())
    assert (len(val), len(train)) == (summary["val_samples"], summary["train_samples"])
    assert sorted(int(r["input"].split(":")[1]) for r in train) == list(range(len(train)))
    history = json.loads((rate_run / "metrics.json").read_text())
    assert sum(r["predicted"] == r["label"] for r in val) / len(val) == history[-1]["val_acc"]


def test_npy_inputs_are_coded_reproducibly(
    rate_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = digits_arrays(train=False)
    np.save(tmp_path / "three.npy", x[:3].numpy().reshape(3, 8, 8))
    np.save(tmp_path / "one.npy", x[1].numpy())
    np.save(tmp_path / "image.npy", x[2].numpy().reshape(8, 8))
    files = [str(tmp_path / name) for name in ("three.npy", "one.npy", "image.npy")]
    rows = _predict_csv(tmp_path, capsys, str(rate_run), *files)
    assert [r["input"] for r in rows] == [f"{tmp_path / 'three.npy'}#{i}" for i in range(3)] + [
        str(tmp_path / "one.npy"), str(tmp_path / "image.npy")]
    assert all(r["label"] == "" for r in rows)
    # the same pixels give the same spikes, wherever they stand among the inputs
    assert _same_prediction(rows[1], rows[3]) and _same_prediction(rows[2], rows[4])
    again = _predict_csv(tmp_path, capsys, str(rate_run), str(tmp_path / "one.npy"))
    assert _same_prediction(again[0], rows[1])
    # the documented coding: each input alone, spikegen.rate with a generator seeded with --seed
    # (default the run's seed, 0)
    import torch

    from spikeforge import spikegen
    from spikeforge.data.loaders import open_data
    from spikeforge.training.checkpoint import load_checkpoint
    from spikeforge.training.trainer import build_model, resume_config

    cfg = resume_config(rate_run, command="predict")
    model = build_model(cfg, open_data(cfg))
    model.load_state_dict(load_checkpoint(rate_run / "checkpoints/last.pt")["model"])
    for seed in (0, 1):
        got = _predict_csv(tmp_path, capsys, str(rate_run), str(tmp_path / "three.npy"), "--seed", str(seed))
        for i, row in enumerate(got):
            spikes = spikegen.rate(x[i: i + 1], num_steps=6, generator=torch.Generator().manual_seed(seed))
            with torch.no_grad():
                counts = model(spikes).sum(0)[0]
            assert [int(row[f"spikes_{c}"]) for c in range(10)] == counts.long().tolist()
        if seed == 0:  # the run's seed is the default
            assert all(_same_prediction(a, b) for a, b in zip(got, rows[:3]))


def test_files_give_the_predictions_of_the_same_test_images(
    latency_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    x, _ = digits_arrays(train=False)
    split = _predict_csv(tmp_path, capsys, str(latency_run), "--split", "test")
    np.save(tmp_path / "test.npy", x[:40].numpy())
    rows = _predict_csv(tmp_path, capsys, str(latency_run), str(tmp_path / "test.npy"))
    assert all(_same_prediction(a, b) for a, b in zip(rows, split))
    # PNG files: each test image drawn as a user would, dark ink on white, 8 times larger, inside a
    # larger white canvas; the ones whose ink box fills the height with equal side margins come back
    # as the same pixels (image_to_digit crops to the ink, centres it and averages 8x8 blocks)
    pixels = x[:40].numpy().reshape(40, 8, 8)
    checked = 0
    for i, img in enumerate(pixels):
        ink = img > 0.2
        cols = np.flatnonzero(ink.any(0))
        if not (ink.any(1).all() and cols[0] == 7 - cols[-1] and img[:, : cols[0]].sum() == 0
                and img[:, cols[-1] + 1:].sum() == 0 and img.max() == 1):
            continue
        canvas = np.full((100, 90), 255, dtype=np.uint8)
        canvas[20:84, 10:74] = np.kron(np.round(255 * (1 - img)).astype(np.uint8), np.ones((8, 8), np.uint8))
        path = tmp_path / f"digit{i}.png"
        Image.fromarray(canvas).convert("RGB").save(path)
        assert np.abs(image_to_digit(path).numpy().reshape(8, 8) - img).max() <= 0.5 / 255 + 1e-6
        # the same digit as black ink of that opacity on a transparent background
        alpha = np.zeros((100, 90), dtype=np.uint8)
        alpha[20:84, 10:74] = np.kron(np.round(255 * img).astype(np.uint8), np.ones((8, 8), np.uint8))
        ink = np.zeros((100, 90, 4), dtype=np.uint8)
        ink[..., 3] = alpha
        Image.fromarray(ink).save(tmp_path / "transparent.png")
        back = image_to_digit(tmp_path / "transparent.png").numpy().reshape(8, 8)
        assert np.abs(back - img).max() <= 1 / 255
        (row,) = _predict_csv(tmp_path, capsys, str(latency_run), str(path))
        assert _same_prediction(row, split[i]) and row["input"] == str(path)
        checked += 1
    assert checked >= 3


def test_bad_inputs(rate_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = str(rate_run)
    assert "give input files to classify, or --split" in cli_error(capsys, ["predict", run])
    np.save(tmp_path / "ok.npy", np.zeros(64, dtype=np.float32))
    assert "not both" in cli_error(capsys, ["predict", run, str(tmp_path / "ok.npy"), "--split", "test"])
    assert "input file" in cli_error(capsys, ["predict", run, str(tmp_path / "missing.png")])
    np.save(tmp_path / "shape.npy", np.zeros((2, 9)))
    assert "must be [8, 8], [64], [N, 8, 8] or [N, 64], got (2, 9)" in cli_error(
        capsys, ["predict", run, str(tmp_path / "shape.npy")])
    np.save(tmp_path / "raw.npy", np.full(64, 16.0))
    err = cli_error(capsys, ["predict", run, str(tmp_path / "raw.npy")])
    assert "pixels must be finite numbers in [0, 1]" in err
    (tmp_path / "fake.png").write_bytes(b"not an image")
    err = cli_error(capsys, ["predict", run, str(tmp_path / "fake.png")])
    assert "not an image file Pillow can read" in err
    (tmp_path / "rec.bin").write_bytes(b"\x00" * 5)
    assert "the digits take image files" in cli_error(capsys, ["predict", run, str(tmp_path / "rec.bin")])
    assert "invalid choice: 'all'" in cli_error(capsys, ["predict", run, "--split", "all"])
    assert "is not a run directory" in cli_error(capsys, ["predict", str(tmp_path), "--split", "test"])
    # an empty array, a folder, and seeds outside train's range (negative, 2**64 and 2**70)
    np.save(tmp_path / "empty.npy", np.zeros((0, 64), dtype=np.float32))
    err = cli_error(capsys, ["predict", run, str(tmp_path / "empty.npy")])
    assert f"{tmp_path / 'empty.npy'}: the array holds no digits (shape (0, 64))" in err
    assert f"input {tmp_path} is a folder" in cli_error(capsys, ["predict", run, str(tmp_path)])
    for seed in ("-1", str(2**64), str(2**70)):
        err = cli_error(capsys, ["predict", run, str(tmp_path / "ok.npy"), "--seed", seed])
        assert f"--seed must lie in [0, 2**64 - 1], got {seed}" in err
    # a 0-byte file, the file's own shape in the message, complex and timedelta "pixels"
    (tmp_path / "zero.npy").write_bytes(b"")
    assert f"{tmp_path / 'zero.npy'}: not a readable .npy array" in cli_error(
        capsys, ["predict", run, str(tmp_path / "zero.npy")])
    np.save(tmp_path / "empty3.npy", np.zeros((0, 8, 8), dtype=np.float32))
    err = cli_error(capsys, ["predict", run, str(tmp_path / "empty3.npy")])
    assert "holds no digits (shape (0, 8, 8))" in err
    for name, arr in [("cplx.npy", np.full((1, 8, 8), 0.5 + 0.9j)), ("td.npy", np.zeros((1, 64), "m8[s]"))]:
        np.save(tmp_path / name, arr)
        err = cli_error(capsys, ["predict", run, str(tmp_path / name)])
        assert "pixels must be finite numbers in [0, 1]" in err
    # --out: not one of the inputs (it would be overwritten), not a folder
    err = cli_error(capsys, ["predict", run, str(tmp_path / "ok.npy"), "--out", str(tmp_path / "ok.npy")])
    assert "is one of the inputs; it would be overwritten" in err
    assert np.load(tmp_path / "ok.npy").shape == (64,)
    err = cli_error(capsys, ["predict", run, str(tmp_path / "ok.npy"), "--out", str(tmp_path)])
    assert f"--out {tmp_path} is a folder" in err
    assert f"e.g. {tmp_path / '*.npy'})" in cli_error(capsys, ["predict", run, str(tmp_path) + "/"])
    from spikeforge.training.predict import predict

    with pytest.raises(ValueError, match=r"^seed must lie in \[0, 2\*\*64 - 1\], got -1"):
        predict(run, [str(tmp_path / "ok.npy")], seed=-1)


def test_boolean_arrays_are_pixels_of_0_and_1(
    rate_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pixels = np.random.default_rng(0).random((2, 8, 8)) < 0.4
    np.save(tmp_path / "bool.npy", pixels)
    np.save(tmp_path / "float.npy", pixels.astype(np.float32))
    got = _predict_csv(tmp_path, capsys, str(rate_run), str(tmp_path / "bool.npy"))
    want = _predict_csv(tmp_path, capsys, str(rate_run), str(tmp_path / "float.npy"))
    assert len(got) == 2 and all(_same_prediction(a, b) for a, b in zip(got, want))


def test_event_files_in_the_real_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)

    def camera(n: int, size: int) -> list[tuple[int, int, int, int]]:
        return [(int(rng.integers(size)), int(rng.integers(size)), int(rng.integers(2)), int(t))
                for t in np.sort(rng.integers(0, 5000, n))]

    # N-MNIST: the test split lists Test/<digit>/*.bin sorted by digit, then name; every digit needs
    # its folder (one training file each; three test files for digits 1 and 5, one for the others)
    n_test = {d: 3 if d in (1, 5) else 1 for d in range(10)}
    for digit in range(10):
        write_nmnist(tmp_path / f"NMNIST/Train/{digit}/00000.bin", camera(40, 34))
        for k in range(n_test[digit]):
            write_nmnist(tmp_path / f"NMNIST/Test/{digit}/{k:05d}.bin", camera(40, 34))
    run = tmp_path / "nmnist"
    assert main(["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--out", str(run),
                 "--downsample", "0.5", *TINY]) == 0
    split = _predict_csv(tmp_path, capsys, str(run), "--split", "test")
    files = [tmp_path / f"NMNIST/Test/{d}/{k:05d}.bin" for d in range(10) for k in range(n_test[d])]
    rows = _predict_csv(tmp_path, capsys, str(run), *map(str, files))
    assert [r["input"] for r in rows] == list(map(str, files)) and all(r["label"] == "" for r in rows)
    assert all(_same_prediction(a, b) for a, b in zip(rows, split))
    # a file added to the test split since training: the split's predictions would not be the run's
    write_nmnist(tmp_path / "NMNIST/Test/5/00099.bin", camera(40, 34))
    err = cli_error(capsys, ["predict", str(run), "--split", "test"])
    assert "splits now have [9, 1, 15] samples but it was trained on [9, 1, 14]" in err  # 10 % of 10: 1
    np.save(tmp_path / "digit.npy", np.zeros(64))
    assert "a nmnist run predicts N-MNIST .bin files" in cli_error(capsys, ["predict", str(run),
                                                                          str(tmp_path / "digit.npy")])

    # SHD: every sample of an .h5 file, with its label
    _cochlea_files(tmp_path, capsys, "shd", ([0, 1] * 3, [0, 1] * 2))

    # DVS Gesture: each labelled gesture of an .aedat file, and tonic's .npy rows (t in ms)
    packets = [camera(60, 128)]
    write_gesture(tmp_path, "user01_led", True, packets, [(1, 0, 2500), (3, 2500, 5000)])
    write_gesture(tmp_path, "user02_led", True, [camera(60, 128)], [(1, 0, 2500), (3, 2500, 5000)])
    test_events = camera(80, 128)
    write_gesture(tmp_path, "user03_led", False, [test_events], [(2, 0, 3000), (5, 3000, 5000)])
    run = tmp_path / "gesture"
    assert main(["train", "--dataset", "dvsgesture", "--data-dir", str(tmp_path), "--out", str(run),
                 "--downsample", "0.125", *TINY]) == 0
    split = _predict_csv(tmp_path, capsys, str(run), "--split", "test")
    aedat = tmp_path / "DVSGesture/DvsGesture/user03_led.aedat"
    rows = _predict_csv(tmp_path, capsys, str(run), str(aedat))
    assert [r["label"] for r in rows] == [r["label"] for r in split] == ["1", "4"]
    assert all(_same_prediction(a, b) for a, b in zip(rows, split))
    second = [(x, y, p, (t - 3000) / 1000) for x, y, p, t in test_events if 3000 <= t < 5000]
    np.save(tmp_path / "gesture.npy", np.asarray(second, dtype=np.float64))
    (row,) = _predict_csv(tmp_path, capsys, str(run), str(tmp_path / "gesture.npy"))
    assert _same_prediction(row, split[1]) and row["label"] == ""


def _cochlea_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], dataset: str,
                   labels: tuple[list[int], list[int]], classes: int = 2) -> Path:
    """Train on SHD- or SSC-format files whose samples have these (train, test) labels, and check that
    the test file, given as an input, gives every sample's label and the test split's prediction."""
    rng = np.random.default_rng(len(labels[0]))
    folder = tmp_path / dataset.upper()
    for split_name, ys in zip(("train", "test"), labels):
        samples = [(sorted(rng.uniform(0, 0.05, 30).tolist()), rng.integers(0, 700, 30).tolist(), y)
                   for y in ys]
        write_hdf5_audio(folder / f"{dataset}_{split_name}.h5", samples, [f"w{k}" for k in range(classes)])
    run = tmp_path / dataset
    assert main(["train", "--dataset", dataset, "--data-dir", str(tmp_path), "--out", str(run), *TINY]) == 0
    split = _predict_csv(tmp_path, capsys, str(run), "--split", "test")
    path = folder / f"{dataset}_test.h5"
    rows = _predict_csv(tmp_path, capsys, str(run), str(path))
    assert [r["input"] for r in rows] == [f"{path}#{i}" for i in range(len(labels[1]))]
    assert [r["label"] for r in rows] == [r["label"] for r in split] == [str(y) for y in labels[1]]
    assert all(_same_prediction(a, b) for a, b in zip(rows, split))
    return run


def test_ssc_and_pokerdvs_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(1)
    # SSC: every sample of an .h5 file, with its label (35 classes)
    run = _cochlea_files(tmp_path, capsys, "ssc", ([(7 * k) % 35 for k in range(12)], [0, 7, 14, 21, 28]), 35)
    np.save(tmp_path / "x.npy", np.zeros((2, 4)))
    err = cli_error(capsys, ["predict", str(run), str(tmp_path / "x.npy")])
    assert "a ssc run predicts SSC .h5 files" in err

    # POKER-DVS: tonic's .npy tables (rows t, x, y, p), the test split in class-folder order
    def table(n: int) -> list[list[int]]:
        return [[int(t), int(rng.integers(35)), int(rng.integers(35)), int(rng.integers(2))]
                for t in np.sort(rng.integers(0, 5000, n))]

    suits = ("cl", "he", "di", "sp")
    for split_name, n in (("train", 4), ("test", 2)):
        for suit in suits:
            for i in range(n):
                write_event_npy(tmp_path / f"POKERDVS/pips_{split_name}/{suit}/{i}.npy", table(30))
    run = tmp_path / "poker"
    assert main(["train", "--dataset", "pokerdvs", "--data-dir", str(tmp_path), "--out", str(run),
                 "--model", "conv", *TINY]) == 0
    split = _predict_csv(tmp_path, capsys, str(run), "--split", "test")
    files = [str(tmp_path / f"POKERDVS/pips_test/{suit}/{i}.npy") for suit in suits for i in range(2)]
    rows = _predict_csv(tmp_path, capsys, str(run), *files)
    assert [r["input"] for r in rows] == files and all(r["label"] == "" for r in rows)
    assert all(_same_prediction(a, b) for a, b in zip(rows, split))
    # checked like the data set's own samples: an event off the 35x35 sensor names the file
    write_event_npy(tmp_path / "off.npy", [[10, 3, 3, 1], [20, 40, 3, 0]])
    err = cli_error(capsys, ["predict", str(run), str(tmp_path / "off.npy")])
    assert f"pokerdvs input {tmp_path / 'off.npy'}: event 1 at x=40, y=3, p=0 lies outside the 35x35" in err
    np.save(tmp_path / "three.npy", np.zeros((4, 3)))
    err = cli_error(capsys, ["predict", str(run), str(tmp_path / "three.npy")])
    assert "expected [N, 4] rows of t, x, y, p" in err


def test_tonic_runs_take_the_files_of_the_data_set_of_that_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from spikeforge.data import read_event_file

    rng = np.random.default_rng(2)
    for split_name in ("train", "test"):  # tonic's check: the archive beside >= 20 tables
        (tmp_path / "POKERDVS").mkdir(exist_ok=True)
        (tmp_path / f"POKERDVS/pips_{split_name}.tar.gz").write_bytes(b"")
        for suit in ("cl", "he", "di", "sp"):
            for i in range(5):
                rows = [[int(t), int(rng.integers(35)), int(rng.integers(35)), 1] for t in range(0, 400, 20)]
                write_event_npy(tmp_path / f"POKERDVS/pips_{split_name}/{suit}/{i}.npy", rows)
    run = tmp_path / "tonic"
    assert main(["train", "--dataset", "tonic:POKERDVS", "--data-dir", str(tmp_path), "--out", str(run),
                 *TINY]) == 0
    split = _predict_csv(tmp_path, capsys, str(run), "--split", "test")
    # the split's order is tonic's: os.walk over the class folders, each folder's files sorted
    files = [str(Path(path, name)) for path, _, names in os.walk(tmp_path / "POKERDVS/pips_test")
             for name in sorted(names)]
    rows = _predict_csv(tmp_path, capsys, str(run), *files)
    assert len(rows) == len(split) == 20 and all(_same_prediction(a, b) for a, b in zip(rows, split))
    # a tonic class whose files spikeforge cannot read one by one: said, with what to do instead
    with pytest.raises(ValueError, match=r"^tonic:ASLDVS has no reader of single files in spikeforge .*"
                                         r"--split test\|train\|val$"):
        read_event_file("tonic:ASLDVS", tmp_path / "any.mat")


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"spikeforge {project['version']}\n"
