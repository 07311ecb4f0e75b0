"""The training options (optimizer, schedule, clipping, precision, loss, TensorBoard, out-of-range events)
are rows of the one option table: a bad value is named as the user wrote it (flag, TOML key, Python
field) before any file is created; and the configuration hash every checkpoint records covers them, so
``evaluate``, ``predict`` and ``export`` refuse a run whose ``config.toml`` was edited since."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spikeforge.cli import main
from spikeforge.training._options import OPTIONS
from spikeforge.training.trainer import TrainConfig

from ._cli import cli_error

TINY = ["--train-limit", "64", "--test-limit", "32", "--num-steps", "4", "--hidden", "8", "--batch-size",
        "16", "--no-progress"]


def test_the_training_options_are_rows_of_the_table() -> None:
    rows = ("drop_out_of_range", "optimizer", "momentum", "weight_decay", "lr_schedule", "warmup_epochs",
            "lr_step_size", "lr_gamma", "grad_clip", "early_stopping", "amp", "loss", "tensorboard")
    assert all(name in OPTIONS and OPTIONS[name].flag for name in rows)
    assert [k for k in OPTIONS if k in rows] == list(rows) and list(OPTIONS)[-1] == "progress"


@pytest.mark.parametrize(
    ("argv", "toml", "expected"),
    [
        (["--momentum", "2"], "", "--momentum must lie in [0, 1), got 2.0"),
        ([], "weight_decay = -1\n", "weight_decay = -1 in {file} must be a finite number >= 0"),
        ([], 'optimizer = "rmsprop"\n', 'unknown optimizer \'rmsprop\' (optimizer = "rmsprop" in {file}); '
                                       "choose optimizer from adam, adamw, sgd"),
        ([], "grad_clip = nan\n", "grad_clip = nan in {file} must be a finite number > 0 (the largest "
                                  "gradient norm)"),
        (["--warmup-epochs", "-2"], "", "--warmup-epochs must be >= 0, got -2"),
        ([], "amp = 1\n", "amp = 1 in {file} must be true or false"),
        ([], 'early_stopping = "3"\n', 'early_stopping = "3" in {file} must be an integer >= 1 (epochs '
                                       "without improvement)"),
        (["--lr-gamma", "1.5", "--lr-schedule", "step"], "", "--lr-gamma must lie in (0, 1], got 1.5"),
        # combinations: named as given, the file's values noted
        ([], 'momentum = 0.5\noptimizer = "adamw"\n', "momentum applies to optimizer sgd only (adamw keeps "
                                                      "its own moment estimates) (momentum = 0.5 in {file})"),
        (["--early-stopping", "2"], "val_fraction = 0\n", "--early-stopping watches the validation accuracy, "
                                                          "but val_fraction 0 holds no validation samples "
                                                          "out (val_fraction = 0.0 in {file})"),
        ([], 'dataset = "mnist"\n', "unknown data set 'mnist' (dataset = \"mnist\" in {file}); choose "
                                    "dataset from digits, nmnist"),
    ],
)
def test_bad_values_are_named_as_written_before_any_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], toml: str, expected: str
) -> None:
    out = tmp_path / "run"
    config = tmp_path / "my.toml"
    config.write_text(toml)
    err = cli_error(capsys, ["train", "--config", str(config), "--out", str(out), *argv])
    assert err.startswith("spikeforge: error: " + expected.format(file=config)), err
    assert not out.exists()


def test_bad_values_in_python_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"^unknown optimizer 'rmsprop'; choose optimizer from adam, adamw, "
                                         r"sgd$"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"^weight_decay must be a finite number >= 0, got -1$"):
        TrainConfig(weight_decay=-1)
    with pytest.raises(ValueError, match=r"^amp must be true or false, got 'yes'$"):
        TrainConfig(amp="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^warmup_epochs 15 must be fewer than epochs 15$"):
        TrainConfig(warmup_epochs=15).validate()
    with pytest.raises(ValueError, match=r"^lr_step_size applies to lr_schedule step only \(drop it, or add "
                                         r"lr_schedule step\)$"):
        TrainConfig(lr_step_size=2).validate()
    assert TrainConfig(momentum=0, weight_decay=1).weight_decay == 1.0  # an integer for a float option


def test_the_config_hash_covers_the_training_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), "--loss", "ce_count", *TINY]) == 0
    reported = json.loads((out / "summary.json").read_text())["test_accuracy"]
    config = out / "config.toml"
    trained = config.read_text()
    for edit in (('loss = "ce_count"', 'loss = "ce_rate"'), ('optimizer = "adam"', 'optimizer = "sgd"'),
                 ("amp = false", "amp = true"), ("# grad_clip: not set", "grad_clip = 1.0")):
        config.write_text(trained.replace(*edit))
        key = edit[1].split(" ")[0]
        for command in (["evaluate", str(out)], ["predict", str(out), "--split", "test"],
                        ["export", str(out)]):
            err = cli_error(capsys, command)
            assert f"{config} was edited after {out / 'checkpoints/last.pt'} was trained ({key} = " in err
            assert f"pass --as-trained to {command[0]} the checkpoint" in err
    config.write_text(trained.replace('loss = "ce_count"', 'loss = "ce_rate"'))
    capsys.readouterr()
    csv = tmp_path / "p.csv"
    assert main(["predict", str(out), "--split", "test", "--as-trained", "--out", str(csv)]) == 0
    said = capsys.readouterr().out
    assert said.startswith("note: predict as trained: config.toml differs from ")
    assert f"accuracy {reported:.4f}" in said  # the loss's readout as trained: the reported accuracy
    # what changes neither the model, the data nor the training may be edited
    config.write_text(trained.replace("tensorboard = false", "tensorboard = true"))
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == reported


def test_every_option_is_documented_with_an_example() -> None:
    """docs/cli.md shows every option in a ``spikeforge train`` command line and lists it in its table;
    the README's options table lists every option too."""
    root = Path(__file__).resolve().parents[2]
    docs = (root / "docs/cli.md").read_text()
    readme = (root / "README.md").read_text()
    commands = [line for line in docs.splitlines() if line.startswith("spikeforge train ")]
    tables = [line for line in docs.splitlines() if line.startswith("| `--")]
    readme_rows = [line for line in readme.splitlines() if line.startswith("| `--")]
    for name, opt in OPTIONS.items():
        flag = "--" + name.replace("_", "-") if opt.flag else "--no-progress"
        assert any(f"{flag} " in line + " " for line in commands), flag
        assert any(f"`{flag}" in line for line in tables), flag
        assert any(f"`{flag}" in line for line in readme_rows), flag
