"""The networks ``spikeforge train`` builds: ``--model conv``'s layers and sizes (worked out by hand),
image-shaped data, NIR export of the convolutions, the refusals, and the neurons' settings."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import pytest
import torch
from data.formats import fill_nmnist, write_nmnist  # tests/data/formats.py (tests/ is on sys.path)
from torch import nn

from spikeforge import neurons as sn
from spikeforge.cli import main
from spikeforge.data.loaders import DigitsSource
from spikeforge.training.trainer import TrainConfig, build_network, make_neuron

QUICK = ["--epochs", "2", "--train-limit", "120", "--test-limit", "40", "--num-steps", "6", "--hidden", "16",
         "--no-progress"]


@pytest.mark.parametrize(("shape", "flat"), [
    ((1, 8, 8), 32 * 2 * 2),    # 8 -> 4 -> 2 after the two 2x2 poolings
    ((2, 34, 34), 32 * 8 * 8),  # 34 -> 17 -> 8 (pooling floors)
    ((2, 17, 9), 32 * 4 * 2),   # 17 -> 8 -> 4 and 9 -> 4 -> 2
])
def test_conv_layers_and_sizes(shape: tuple[int, int, int], flat: int) -> None:
    net = build_network(0, 16, 10, "leaky", 0.9, model="conv", input_shape=shape)
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Conv2d", "AvgPool2d", "Leaky", "Conv2d", "AvgPool2d", "Leaky", "Flatten", "Linear",
                     "Leaky", "Linear", "Leaky"]
    first, second, hidden, out = net[0], net[3], net[7], net[9]
    assert (first.in_channels, first.out_channels, first.kernel_size, first.padding) == (shape[0], 12, (5, 5),
                                                                                        (2, 2))
    assert (second.in_channels, second.out_channels) == (12, 32)
    assert (hidden.in_features, hidden.out_features, out.in_features, out.out_features) == (flat, 16, 16, 10)
    assert net(torch.rand(3, 2, *shape)).shape == (3, 2, 10)


def test_recurrent_neurons_recur_through_a_convolution() -> None:
    rleaky = make_neuron("rleaky", 0.9, 12, conv=True)
    assert isinstance(rleaky, sn.RLeaky) and isinstance(rleaky.recurrent, nn.Conv2d)
    assert (rleaky.recurrent.in_channels, rleaky.recurrent.out_channels, rleaky.recurrent.kernel_size) == (
        12, 12, (3, 3))
    assert isinstance(make_neuron("rsynaptic", 0.9, 7).recurrent, nn.Linear)


def test_lapicque_input_gain_is_one() -> None:
    """R = 1/ln(1/beta): U[t] = U + dt/(RC) (R X - U) with dt/(RC) = ln(1/beta) becomes
    U[t] = (1 - ln(1/beta)) U[t-1] + X[t]; from U = 0, X = 0.5 then 0: U = 0.5, then 0.5 (1 - ln(1/0.9))."""
    import math

    lif = make_neuron("lapicque", 0.9, 1)
    mem = torch.zeros(1)
    spk, mem = lif(torch.tensor([0.5]), mem)
    assert mem.item() == pytest.approx(0.5, abs=1e-6) and spk.item() == 0
    spk, mem = lif(torch.tensor([0.0]), mem)
    assert mem.item() == pytest.approx(0.5 * (1 - math.log(1 / 0.9)), abs=1e-6)


def test_digits_come_as_images_for_the_conv_model() -> None:
    src = DigitsSource(TrainConfig(model="conv", num_steps=4, batch_size=5))
    x, y = next(iter(src.batches("test", None)))
    flat = DigitsSource(TrainConfig(num_steps=4, batch_size=5))
    x_flat, y_flat = next(iter(flat.batches("test", None)))
    assert x.shape == (4, 5, 1, 8, 8) and x_flat.shape == (4, 5, 64) and src.input_shape == (1, 8, 8)
    # the same spikes, pixel (r, c) at feature 8 * r + c
    assert torch.equal(x.flatten(2), x_flat) and torch.equal(y, y_flat)


def test_conv_run_exports_convolutions_and_the_nir_file_scores_the_checkpoint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main(["train", "--model", "conv", "--reset", "zero", "--out", str(out), *QUICK]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outputs"]["model.nir"] == "written"  # zero reset: nothing lossy
    graph = nir.read(str(out / "model.nir"))
    convs = [n for n in graph.nodes.values() if isinstance(n, nir.Conv2d)]
    assert len(convs) == 2 and tuple(convs[0].input_shape) == (8, 8)
    inputs = [tuple(n.input_type["input"]) for n in graph.nodes.values() if isinstance(n, nir.Input)]
    assert inputs == [(1, 8, 8)]
    capsys.readouterr()
    assert main(["evaluate", str(out / "model.nir"), "--json"]) == 0
    from_nir = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["evaluate", str(out), "--json"]) == 0
    from_ckpt = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert from_nir["accuracy"] == from_ckpt["accuracy"] == summary["test_accuracy"]
    err = _error(capsys, ["evaluate", str(out / "model.nir"), "--checkpoint", "best"])
    assert "--checkpoint is for a run directory; a .nir file is the model itself" in err


def test_conv_on_event_frames(tmp_path: Path) -> None:
    for k in range(3):
        write_nmnist(tmp_path / f"NMNIST/Train/{k}/a.bin", [(k, 2 * k, 1, 5), (30, 30, 0, 900)])
    write_nmnist(tmp_path / "NMNIST/Test/1/b.bin", [(3, 3, 1, 5)])
    fill_nmnist(tmp_path, "Train")  # 10 training samples (one per digit): 1 is held out for validation
    fill_nmnist(tmp_path, "Test")
    out = tmp_path / "nm"
    assert main(["train", "--dataset", "nmnist", "--data-dir", str(tmp_path), "--model", "conv", "--out",
                 str(out), "--epochs", "1", "--num-steps", "3", "--hidden", "8", "--no-progress"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["train_samples"], summary["val_samples"], summary["test_samples"]) == (9, 1, 10)
    ckpt = torch.load(out / "checkpoints/last.pt", weights_only=True)
    assert ckpt["model"]["0.weight"].shape == (12, 2, 5, 5)  # N-MNIST frames have 2 polarity channels


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    return capsys.readouterr().err


def test_conv_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    err = _error(capsys, ["train", "--dataset", "shd", "--data-dir", str(tmp_path), "--model", "conv",
                          "--out", str(out)])
    assert "--model conv needs image-like frames but shd" in err and "use --model mlp" in err
    assert "unknown model 'cnn'; choose --model from mlp, conv" in _error(capsys, ["train", "--model", "cnn"])
    assert not out.exists()
    with pytest.raises(ValueError, match=r"at least 4x4 pixels, got \(64,\)"):
        build_network(64, 16, 10, "leaky", 0.9, model="conv", input_shape=(64,))
    with pytest.raises(ValueError, match="or a larger --downsample for event data"):
        build_network(9, 16, 10, "leaky", 0.9, model="conv", input_shape=(1, 3, 3))
