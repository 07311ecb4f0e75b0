"""The run directory as a user meets it: file permissions that follow the umask, any path the file
system takes, export that does not overwrite, a checkpoint that knows its configuration, log and
status files that say what happened, and messages in the user's terms."""

from __future__ import annotations

import json
import os
import signal
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from data.formats import write_shd  # tests/data/formats.py (tests/ is on sys.path)

from spikeforge.cli import main
from spikeforge.training.checkpoint import read_toml

from ._cli import cli_error
from ._proc import Child

TINY = ["--train-limit", "40", "--test-limit", "20", "--num-steps", "4", "--hidden", "8", "--no-progress"]


@pytest.fixture
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0o002, 0o027], indirect=True, ids=["002", "027"])
def test_run_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 0
    paths = [out, *out.rglob("*")]
    assert {p.name for p in paths} >= {"config.toml", "status.json", "metrics.json", "metrics.csv",
                                       "summary.json", "log.txt", "last.pt", "best.pt", "model.nir"}
    for p in paths:
        expected = (0o777 if p.is_dir() else 0o666) & ~umask  # what mkdir and a plain open give
        assert stat.S_IMODE(p.stat().st_mode) == expected, p
    # a file rewritten atomically keeps the permissions its owner gave it, as a plain open would
    (out / "config.toml").chmod(0o600)
    (out / "status.json").chmod(0o640)
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert stat.S_IMODE((out / "config.toml").stat().st_mode) == 0o600
    assert stat.S_IMODE((out / "status.json").stat().st_mode) == 0o640
    assert stat.S_IMODE((out / "checkpoints/last.pt").stat().st_mode) == 0o666 & ~umask


#: names the file system takes: emoji, accents, spaces, and bytes that are not UTF-8 (Python sees them as
#: surrogate escapes; a TOML string cannot hold them)
ODD_NAMES = {"emoji": "run \U0001f600", "accents": "caf\u00e9 na\u00efve", "spaces": "my  run",
             "quotes": 'a "quoted" \\ name', "undecodable": os.fsdecode(b"caf\xe9-\xff")}


@pytest.mark.parametrize("name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
def test_any_path_works_end_to_end(tmp_path: Path, name: str) -> None:
    data = tmp_path / name / "data"
    for split, label in (("train", 0), ("test", 1)):
        write_shd(data / f"SHD/shd_{split}.h5", [([0.001 * k], [k], label) for k in range(1, 5)])
    out = tmp_path / name / name
    argv = ["--dataset", "shd", "--data-dir", str(data), "--time-window-us", "1000", *TINY]
    assert main(["train", "--epochs", "1", "--out", str(out), *argv]) == 0
    stored = read_toml(out / "config.toml")  # readable TOML that gives back both paths exactly
    from spikeforge.training.trainer import TrainConfig

    cfg = TrainConfig.from_dict(stored, "config.toml")
    assert (cfg.out, cfg.data_dir) == (str(out), str(data))
    assert main(["evaluate", str(out)]) == 0
    assert main(["export", str(out)]) == 0 and (out / "model.nir").is_file()
    assert main(["export", str(out), "--out", str(tmp_path / name / f"{name}.nir")]) == 0
    assert main(["evaluate", str(tmp_path / name / f"{name}.nir"), "--config", str(out / "config.toml")]) == 0
    assert main(["train", "--resume", str(out), "--epochs", "2", "--no-progress"]) == 0
    assert json.loads((out / "status.json").read_text())["state"] == "complete"


def test_the_run_directory_is_printed_as_its_bytes(tmp_path: Path) -> None:
    out = Path(os.fsdecode(bytes(tmp_path) + b"/r\xff"))
    child = Child(["train", "--epochs", "1", "--out", str(out), *TINY], tmp_path)
    code, err = child.finish()
    assert code == 0, err
    assert child.proc.stdout is not None
    assert os.fsencode(f"run directory: {out}") in "".join(child.lines).encode("utf-8", "surrogateescape")


def test_export_never_overwrites_another_file_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 0
    mine = tmp_path / "notes.nir"
    mine.write_text("my own file")
    err = cli_error(capsys, ["export", str(out), "--out", str(mine)])
    assert f"{mine} already exists; pass --force to overwrite it, or choose another --out" in err
    assert mine.read_text() == "my own file"
    assert main(["export", str(out), "--out", str(mine), "--force"]) == 0
    assert mine.read_bytes()[:4] == b"\x89HDF"  # an HDF5 file now
    # the run's own model.nir is the default target: rewritten without --force, also when named
    assert main(["export", str(out)]) == 0
    assert main(["export", str(out), "--out", str(out / "model.nir")]) == 0
    assert f"--out {tmp_path} is a folder" in cli_error(capsys, ["export", str(out), "--out", str(tmp_path)])
    missing = tmp_path / "no" / "such.nir"
    assert f"the folder {missing.parent} does not exist" in cli_error(capsys, ["export", str(out), "--out",
                                                                          str(missing)])
    assert not list(tmp_path.glob("*.tmp*")) and not list(out.glob("*.tmp*"))


def test_python_config_is_checked_before_any_file(tmp_path: Path) -> None:
    from spikeforge.training.trainer import TrainConfig, train

    out = tmp_path / "run"
    with pytest.raises(ValueError, match=r"^epochs must be an integer >= 1, got '3'$"):
        TrainConfig(epochs="3", out=str(out))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got inf$"):
        TrainConfig(lr=float("inf"))
    with pytest.raises(ValueError, match=r"^seed must lie in \[0, 2\*\*64 - 1\], got 1180591620717411303424"):
        TrainConfig(seed=2**70)
    with pytest.raises(ValueError, match=r"^val_fraction must lie in \[0, 1\), got 1.5"):
        TrainConfig(val_fraction=1.5)
    with pytest.raises(ValueError, match=r"^unknown neuron 'lif'; choose neuron from leaky"):
        TrainConfig(neuron="lif")
    cfg = TrainConfig(out=out)  # type: ignore[arg-type]  # a path is taken as such
    assert cfg.out == str(out) and TrainConfig(beta=1).beta == 1.0
    cfg.epochs = "3"  # type: ignore[assignment]  # set after construction: train checks again
    with pytest.raises(ValueError, match="^epochs must be an integer >= 1, got '3'$"):
        train(cfg)
    assert not out.exists()


def test_every_option_is_in_the_table_and_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from spikeforge.training._options import OPTIONS
    from spikeforge.training.trainer import TrainConfig

    assert list(OPTIONS) == list(TrainConfig.__dataclass_fields__)
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for name, opt in OPTIONS.items():
        assert ("--" + name.replace("_", "-") if opt.flag else "--no-progress") in text


def test_evaluate_refuses_an_edited_config_or_evaluates_as_trained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *TINY]) == 0
    reported = json.loads((out / "summary.json").read_text())["test_accuracy"]
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert len(ckpt["config_sha256"]) == 64 and ckpt["config"]["num_steps"] == 4
    config = out / "config.toml"
    config.write_text(config.read_text().replace("num_steps = 4", "num_steps = 3"))
    capsys.readouterr()
    err = cli_error(capsys, ["evaluate", str(out)])
    assert (f"{config} was edited after {out / 'checkpoints/last.pt'} was trained (num_steps = 3 in "
            "config.toml, 4 when trained); restore it, or pass --as-trained to evaluate") in err
    assert "num_steps = 3 in config.toml" in cli_error(capsys, ["export", str(out)])
    assert main(["evaluate", str(out), "--as-trained", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["accuracy"] == reported and "num_steps = 3 in config.toml, 4 when trained" in res["note"]
    assert main(["export", str(out), "--as-trained"]) == 0
    assert capsys.readouterr().out.startswith("note: export as trained: config.toml differs")
    # where the files are and which device runs them may change
    config.write_text(config.read_text().replace("num_steps = 3", "num_steps = 4")
                      .replace('device = "auto"', 'device = "cpu"'))
    assert main(["evaluate", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] == reported


def test_missing_checkpoints_and_nonsense_checkpoint_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--out", str(out), *TINY, "--val-fraction", "0"]) == 0
    for command in (["evaluate", str(out)], ["export", str(out)], ["predict", str(out), "--split", "test"]):
        err = cli_error(capsys, [*command, "--checkpoint", "best"])
        assert "has no best.pt: it is chosen on the validation split and this run held none out " \
               "(--val-fraction 0); use --checkpoint last" in err
        err = cli_error(capsys, [*command, "--checkpoint", "latest"])
        assert "--checkpoint latest: no such file; give last, best or the path of a .pt checkpoint" in err
        err = cli_error(capsys, [*command, "--checkpoint", str(out)])
        assert f"--checkpoint {out} is a folder" in err
    (out / "checkpoints/last.pt").unlink()
    err = cli_error(capsys, ["evaluate", str(out)])
    assert f"{out} has no checkpoint yet: training stopped before saving" in err


def test_an_empty_trials_file_is_not_called_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "DVSGesture/DvsGesture"
    folder.mkdir(parents=True)
    for split in ("train", "test"):
        (folder / f"trials_to_{split}.txt").write_text("")
    err = cli_error(capsys, ["train", "--dataset", "dvsgesture", "--data-dir", str(tmp_path),
                          "--out", str(tmp_path / "r")])
    assert "lists no recordings (it is empty); re-extract DvsGesture.tar.gz" in err and "not found" not in err


def test_log_status_and_output_when_not_on_a_terminal(tmp_path: Path) -> None:
    out = tmp_path / "run"
    child = Child(["train", "--epochs", "5", "--out", str(out), *TINY[:-1]], tmp_path)
    child.wait_for("epoch 1:")  # printed once epoch 1 is saved
    child.proc.send_signal(signal.SIGSTOP)
    status = json.loads((out / "status.json").read_text())  # current while running (it said 0 before)
    child.proc.send_signal(signal.SIGCONT)
    assert status["state"] == "running" and 1 <= status["epoch"] <= 5 and status["epochs"] == 5
    code, err = child.finish()
    assert code == 0 and err == ""  # no progress bars into a file or a pipe
    assert "\r" not in "".join(child.lines)
    assert [line.split(":")[0] for line in child.lines[:-1]] == [f"epoch {e}" for e in range(1, 6)]
    words = [line.split()[2:4] for line in (out / "log.txt").read_text().splitlines()]  # after the time
    assert [w for w in words if w[0] == "epoch"] == [["epoch", f"{e}:"] for e in range(1, 6)]
    assert words[-1] == ["complete:", "test"]
    assert json.loads((out / "status.json").read_text())["state"] == "complete"
    assert (out / "config.toml").read_text().endswith("\nprogress = true\n")


def test_a_signal_in_the_only_batch_stops_after_it_and_resumes_exactly(tmp_path: Path) -> None:
    whole, out = tmp_path / "whole", tmp_path / "cut"
    assert main(["train", "--epochs", "2", "--out", str(whole), *TINY]) == 0
    child = Child(["train", "--epochs", "2", "--out", str(out), *TINY[:-1]], tmp_path, terminal=True)
    child.wait_on_terminal(r"epoch 1/2:")  # the bar appears before the first (and only) batch
    child.proc.send_signal(signal.SIGTERM)
    code, screen = child.finish()
    status = json.loads((out / "status.json").read_text())
    assert code == 143, screen
    assert (status["state"], status["epoch"], status["batch"]) == ("interrupted", 0, 1)
    assert main(["train", "--resume", str(out), "--no-progress"]) == 0  # measures epoch 1, trains epoch 2
    assert json.loads((out / "metrics.json").read_text()) == json.loads((whole / "metrics.json").read_text())
