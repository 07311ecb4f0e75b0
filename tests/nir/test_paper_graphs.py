"""The NIR paper's graphs (shared/data/nir) reproduce their reference outputs (shared/NIR.md 5.1)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from spikeforge.nir import import_from_nir


@pytest.fixture
def nir_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "nir"


def test_lif_task_trace_and_spikes(nir_dir: Path) -> None:
    csv = np.loadtxt(nir_dir / "paper_01_lif_csv" / "lif_snntorch.csv", delimiter=",")
    norse = np.loadtxt(nir_dir / "paper_01_lif_csv" / "lif_norse.csv", delimiter=",")
    model = import_from_nir(nir_dir / "lif_norse.nir")
    x = torch.tensor(csv[:, 0], dtype=torch.float32).reshape(1000, 1, 1)
    state, mem, volt, spk = None, [], [], []
    for t in range(1000):
        out, state = model(x[t], state)
        mem.append(state["1"].mem.item())
        volt.append(model.node("1").voltage(state["1"]).item())
        spk.append(out.item())
    assert np.nonzero(spk)[0].tolist() == [460, 510, 710, 760]
    np.testing.assert_allclose(mem, csv[:, 1], atol=1e-6)  # snntorch units (threshold 2.5)
    np.testing.assert_allclose(volt, norse[:, 1], atol=1e-6)  # NIR volts (threshold 0.1)
    assert mem[60] == pytest.approx(1.0) and mem[61] == pytest.approx(0.96)


@pytest.mark.parametrize("graph", ["bias_zero", "noBias_subtract"])
def test_braille_rnn(nir_dir: Path, graph: str) -> None:
    ref = np.load(nir_dir / "braille_ref_outputs.npz")
    model = import_from_nir(nir_dir / f"braille_noDelay_{graph}.nir")
    x = torch.tensor(ref["input"]).unsqueeze(1)
    out, rec = model.forward_sequence(x, record=["lif1.lif"])
    key = f"{graph}__numpy_nir_euler_reset_zero__"
    np.testing.assert_array_equal(out[:, 0].numpy(), ref[key + "out"])
    np.testing.assert_array_equal(rec["lif1.lif"][:, 0].numpy(), ref[key + "lif1"])
    counts = {"bias_zero": [120, 74, 93, 80, 60, 112, 99], "noBias_subtract": [12, 0, 3, 0, 17, 10, 6]}
    assert out[:, 0].sum(0).tolist() == counts[graph]
    assert rec["lif1.lif"].sum().item() == {"bias_zero": 91, "noBias_subtract": 93}[graph]


def test_braille_steps_equal_sequence(nir_dir: Path) -> None:
    ref = np.load(nir_dir / "braille_ref_outputs.npz")
    model = import_from_nir(nir_dir / "braille_noDelay_bias_zero.nir")
    x = torch.tensor(ref["input"][:40]).unsqueeze(1)
    seq = model.forward_sequence(x)
    model.reset_state()
    steps = torch.stack([model(x[t])[0] for t in range(40)])
    assert torch.equal(seq, steps)


def test_cnn_batch_one_and_many(nir_dir: Path) -> None:
    ref = np.load(nir_dir / "cnn_ref_outputs.npz")
    model = import_from_nir(nir_dir / "cnn_sinabs.nir")
    x = torch.tensor(ref["input"])
    out, rec = model.forward_sequence(x, record=["1"])
    np.testing.assert_array_equal(out[:, 0].numpy(), ref["reference_out"])
    np.testing.assert_array_equal(rec["1"].numpy(), ref["reference_layer1"])
    assert out[:, 0].sum(0).tolist() == [0, 1, 1, 0, 0, 2, 0, 0, 0, 0]
    assert rec["1"].sum().item() == 5774
    # batch of 3: the reference sample, an all-zero sample, the reference again
    xb = torch.cat([x, torch.zeros_like(x), x], dim=1)
    model.reset_state()
    outb = model.forward_sequence(xb)
    assert outb.shape == (30, 3, 10)
    np.testing.assert_array_equal(outb[:, 0].numpy(), ref["reference_out"])
    np.testing.assert_array_equal(outb[:, 2].numpy(), ref["reference_out"])
    assert outb[:, 1].sum().item() == 0  # zero bias, zero input: no spikes


@pytest.mark.parametrize("dt", [1e-4, 1e-3])
def test_two_lif_neurons_at_both_dt(nir_dir: Path, dt: float) -> None:
    ref = np.load(nir_dir / "two_lif_ref_outputs.npz")
    model = import_from_nir(nir_dir / "two_lif_neurons.nir", dt=dt, dtype=torch.float64)
    x = torch.tensor(ref["input"], dtype=torch.float64).reshape(200, 1, 1)
    state, v2 = None, []
    for t in range(200):
        _, state = model(x[t], state)
        v2.append(model.node("lif2").voltage(state["lif2"]).item())
    model.reset_state()
    _, rec = model.forward_sequence(x, record=["lif1"])
    spikes = rec["lif1"].flatten().numpy()
    np.testing.assert_array_equal(spikes, ref[f"dt{dt}_lif1_spikes"])
    np.testing.assert_allclose(v2, ref[f"dt{dt}_lif2_v"], atol=1e-6)
    first = {1e-4: [178], 1e-3: [17, 35, 53]}[dt]
    assert np.nonzero(spikes)[0][: len(first)].tolist() == first
