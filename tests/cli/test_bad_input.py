"""Bad input: each a one-line error that says what to do, exit status 2, and no run directory that
looks complete; plus the TOML config file and event data through the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data.formats import fill_nmnist, write_nmnist, write_shd  # tests/data/formats.py (tests/ is on sys.path)

from spikeforge.cli import main

from ._cli import cli_error

TINY = ["--epochs", "1", "--train-limit", "40", "--test-limit", "20", "--num-steps", "4", "--hidden", "8",
        "--no-progress"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--dataset", "mnist"], "unknown data set 'mnist'; choose --dataset from digits, nmnist, shd"),
        (["--neuron", "izhikevich"], "unknown neuron 'izhikevich'; choose --neuron from leaky"),
        (["--encoding", "delta"], "unknown encoding 'delta'; choose --encoding from rate, latency"),
        (["--dataset", "shd", "--data-dir", "x", "--encoding", "rate"], "--encoding applies to digits only"),
        (["--data-dir", "x"], "--data-dir applies to event data sets only"),
        (["--dataset", "nmnist"], "--dataset nmnist needs --data-dir"),
        (["--epochs", "0"], "--epochs must be >= 1"),
        (["--beta", "1.5"], "--beta must lie in [0, 1]"),
        (["--device", "tpu"], "unknown device 'tpu'; choose --device from auto, cpu, cuda"),
        (["--epochs", "ten"], "argument --epochs: invalid int value"),
        (["--val-fraction", "1"], "--val-fraction must lie in [0, 1), got 1.0"),
        (["--val-fraction", "-0.1"], "--val-fraction must lie in [0, 1), got -0.1"),
        (["--train-limit", "1"], "--val-fraction 0.1 of 1 training samples leaves none to train on"),
        (["--seed", "-1"], "--seed must lie in [0, 2**64 - 1], got -1"),
        (["--seed", str(2**70)], f"--seed must lie in [0, 2**64 - 1], got {2**70}"),
        (["--lr", "inf"], "--lr must be a finite number > 0, got inf"),
        (["--lr", "nan"], "--lr must be a finite number > 0, got nan"),
        (["--lr", "0"], "--lr must be a finite number > 0, got 0.0"),
        (["--beta", "nan"], "--beta must lie in [0, 1], got nan"),
        (["--downsample", "0"], "--downsample must lie in (0, 1], got 0.0"),
        (["--dataset", "shd", "--data-dir", "x", "--denoise-us", "-5"],
         "--denoise-us must be a finite number > 0, got -5.0"),
        (["--dataset", "shd", "--data-dir", "x", "--time-window-us", "inf"],
         "--time-window-us must be a finite number > 0, got inf"),
        (["--hidden", str(2**63)], f"--hidden must be at most 2**63 - 1 (the largest integer torch takes), "
                                   f"got {2**63}"),
        (["--neuron", "lapicque", "--beta", "1"], "--neuron lapicque needs --beta strictly between 0 and 1"),
    ],
)
def test_bad_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: str
) -> None:
    out = tmp_path / "run"
    assert expected in cli_error(capsys, ["train", "--out", str(out), *extra])
    assert not out.exists()


def test_default_run_dir_never_collides(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", *TINY]) == 0 and main(["train", *TINY]) == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["digits-seed0", "digits-seed0-2"]
    assert (tmp_path / "runs/digits-seed0-2/summary.json").is_file()


def test_missing_and_corrupt_data_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    err = cli_error(capsys, ["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--out", str(out)])
    assert "NMNIST data not found: expected" in err and "cannot download" in err and not out.exists()
    for split in ("Train", "Test"):
        (tmp_path / f"NMNIST/{split}/0").mkdir(parents=True)
        (tmp_path / f"NMNIST/{split}/0/bad.bin").write_bytes(b"\x01" * 7)
        fill_nmnist(tmp_path, split)  # the other digits' folders, one good file each
    err = cli_error(capsys, ["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--out", str(out)])
    assert "bad.bin: 7 bytes is not a whole number of 5-byte events" in err and "re-extract" in err
    assert not out.exists()
    # a corrupt file met in the middle of training: the run is marked failed and never looks complete
    write_nmnist(tmp_path / "NMNIST/Train/0/a_good.bin", [(1, 1, 1, 5)])  # sorted before bad.bin
    write_nmnist(tmp_path / "NMNIST/Test/0/a_good.bin", [(1, 1, 1, 5)])
    argv = ["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--out", str(out), *TINY]
    assert "not a whole number of 5-byte" in cli_error(capsys, argv)
    assert json.loads((out / "status.json").read_text())["state"] == "failed"
    assert not (out / "summary.json").exists()


def test_existing_run_dir_and_resume_conflicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert "continue it with --resume" in cli_error(capsys, ["train", "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert "is not a run directory" in cli_error(capsys, ["train", "--resume", str(out)])
    assert "drop --config" in cli_error(capsys, ["train", "--resume", str(out), "--config", "x.toml"])


def test_config_file_and_checkpoint_of_another_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "small.toml"
    cfg.write_text('neuron = "synaptic"\nhidden = 8\nseed = 3\n')
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["train", "--config", str(cfg), "--out", str(a), *TINY]) == 0
    text = (a / "config.toml").read_text()
    assert 'neuron = "synaptic"' in text and "seed = 3" in text and "epochs = 1" in text
    assert main(["train", "--out", str(b), *TINY[:-3], "--hidden", "12", "--no-progress"]) == 0
    capsys.readouterr()
    err = cli_error(capsys, ["evaluate", str(a), "--checkpoint", str(b / "checkpoints/last.pt")])
    assert "was saved from a different model" in err and "config.toml of the run that made it" in err
    assert "cannot change when resuming" in cli_error(capsys, ["train", "--resume", str(a), "--hidden", "9"])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    assert "unreadable" in cli_error(capsys, ["evaluate", str(a), "--checkpoint", str(tmp_path / "junk.pt")])
    cfg.write_text("epochs = 2\nlearning_rate = 0.1\n")
    err = cli_error(capsys, ["train", "--config", str(cfg), "--out", str(b)])
    assert "unknown key 'learning_rate'" in err
    cfg.write_text("epochs = \n")
    argv = ["train", "--config", str(cfg), "--out", str(tmp_path / "c")]
    assert "is not valid TOML" in cli_error(capsys, argv)


def test_event_datasets_train_through_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for split, label in (("train", 0), ("test", 1)):
        write_shd(tmp_path / f"SHD/shd_{split}.h5", [([0.001 * k], [k], label) for k in range(1, 5)])
    out = tmp_path / "shd"
    assert main(["train", "--dataset", "shd", "--data-dir", str(tmp_path), "--out", str(out),
                 "--time-window-us", "1000", *TINY]) == 0
    summary = json.loads((out / "summary.json").read_text())
    # 10 % of 4 rounds to 0, but a validation split holds at least one sample
    assert (summary["train_samples"], summary["val_samples"], summary["test_samples"]) == (3, 1, 4)
    assert (tmp_path / ".spikeforge_cache").is_dir()
    write_nmnist(tmp_path / "NMNIST/Train/2/a.bin", [(1, 1, 1, 5), (2, 2, 0, 600)])
    write_nmnist(tmp_path / "NMNIST/Test/2/b.bin", [(3, 3, 1, 5)])
    fill_nmnist(tmp_path, "Train")
    fill_nmnist(tmp_path, "Test")
    out = tmp_path / "nm"
    assert main(["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--out", str(out),
                 "--downsample", "0.5", "--val-fraction", "0", *TINY]) == 0
    assert main(["evaluate", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    summary = json.loads((out / "summary.json").read_text())
    assert res["samples"] == 10 and res["accuracy"] == summary["test_accuracy"]
    # the files changed after training: evaluate refuses instead of reporting another number
    write_nmnist(tmp_path / "NMNIST/Test/3/c.bin", [(4, 4, 0, 7)])
    err = cli_error(capsys, ["evaluate", str(out)])
    assert "the test split now has 11 samples but this run was trained and tested on 10" in err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('epochs = "3"', 'epochs = "3" in {file} must be an integer >= 1'),
        ("epochs = 2.5", "epochs = 2.5 in {file} must be an integer >= 1"),
        ("epochs = true", "epochs = true in {file} must be an integer >= 1"),
        ('beta = "high"', 'beta = "high" in {file} must be a number in [0, 1]'),
        ('progress = "no"', 'progress = "no" in {file} must be true or false'),
        ("neuron = 3", "neuron = 3 in {file} must be a string"),
        ("lr = inf", "lr = inf in {file} must be a finite number > 0"),
        ("lr = nan", "lr = nan in {file} must be a finite number > 0"),
        ("seed = 1180591620717411303424",
         "seed = 1180591620717411303424 in {file} must lie in [0, 2**64 - 1]"),
        ("val_fraction = -0.5", "val_fraction = -0.5 in {file} must lie in [0, 1)"),
        ('encoding = "delta"',
         "unknown encoding 'delta' (encoding = \"delta\" in {file}); choose encoding from rate, latency"),
    ],
)
def test_config_values_of_the_wrong_type(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, expected: str
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(line + "\n")
    out = tmp_path / "run"
    assert expected.format(file=cfg) in cli_error(capsys, ["train", "--config", str(cfg), "--out", str(out)])
    assert not out.exists()


def test_config_float_option_takes_an_integer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text("beta = 1\nlr = 1\n")
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--out", str(out), *TINY]) == 0
    assert "beta = 1.0" in (out / "config.toml").read_text()


@pytest.mark.parametrize("flag", ["--train-limit", "--test-limit"])
@pytest.mark.parametrize("value", ["0", "-5"])
def test_sample_limits_must_be_positive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str
) -> None:
    out = tmp_path / "run"
    assert f"{flag} must be >= 1, got {value}" in cli_error(capsys, ["train", "--out", str(out), flag, value])
    assert not out.exists()


def test_out_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("mine")
    assert f"--out {afile} is a file" in cli_error(capsys, ["train", "--out", str(afile), *TINY])
    assert "is a file" in cli_error(capsys, ["train", "--out", str(afile / "run"), *TINY])
    assert afile.read_text() == "mine"


def test_not_a_run_directory_message_fits_the_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nowhere")
    assert "check the --resume path" in cli_error(capsys, ["train", "--resume", missing])
    not_a_run = tmp_path / "empty"
    not_a_run.mkdir()
    for command in ("evaluate", "export"):
        err = cli_error(capsys, [command, missing])
        assert f"{missing} does not exist" in err and "--resume" not in err
        assert f"spikeforge {command} RUN_DIR" in err
        err = cli_error(capsys, [command, str(not_a_run)])
        assert "is not a run directory" in err and f"spikeforge {command} RUN_DIR" in err


def test_a_bad_value_from_the_config_file_names_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "my_run.toml"
    cfg.write_text('val_fraction = 1\nneuron = "izh"\n')
    out = tmp_path / "run"
    err = cli_error(capsys, ["train", "--config", str(cfg), "--neuron", "leaky", "--out", str(out)])
    assert f"val_fraction = 1 in {cfg} must lie in [0, 1)" in err
    # every value of the file is checked, also one a flag overrides: the file is wrong either way
    cfg.write_text('neuron = "izh"\n')
    err = cli_error(capsys, ["train", "--config", str(cfg), "--neuron", "leaky", "--out", str(out)])
    assert f"unknown neuron 'izh' (neuron = \"izh\" in {cfg}); choose neuron from leaky" in err
    # a flag's own value is the flag's: no file named
    cfg.write_text("hidden = 8\n")
    err = cli_error(capsys, ["train", "--config", str(cfg), "--neuron", "bad", "--val-fraction", "0.2"])
    assert "unknown neuron 'bad'; choose --neuron from" in err and str(cfg) not in err
    # a combination names where each part came from
    cfg.write_text('neuron = "lapicque"\n')
    err = cli_error(capsys, ["train", "--config", str(cfg), "--beta", "1", "--out", str(out)])
    assert ("neuron lapicque needs --beta strictly between 0 and 1 (its R and C are derived from it), "
            f"got 1.0 (neuron = \"lapicque\" in {cfg})") in err
    assert not out.exists()
