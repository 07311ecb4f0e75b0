"""Every tutorial in examples/tutorials runs end to end with the small budget and does what its page claims.

Expected values come from the tutorials' own statements (chance levels, the neuron equations they
print next to the code, exact NIR round trips), never from a previous run of the same code.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
TUTORIALS = ROOT / "examples" / "tutorials"


def load(stem: str) -> ModuleType:
    path = TUTORIALS / f"{stem}.py"
    spec = importlib.util.spec_from_file_location(f"tutorial_{stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    """Small tensors: one intra-op thread is faster and fair to the other tests on 2 cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def run(stem: str, tmp_path: Path) -> dict[str, Any]:
    claims = load(stem).main(small=True, out_dir=tmp_path)
    assert isinstance(claims, dict)
    return claims


def assert_figures(out: Path, names: list[str]) -> None:
    """Each figure exists, decodes, and is not a single flat colour."""
    for name in names:
        path = out / name
        assert path.is_file(), f"{name} not written"
        with Image.open(path) as img:
            img.load()
            lo, hi = img.convert("L").getextrema()
            assert hi - lo > 50, f"{name} looks blank"
            if name.endswith(".gif"):
                assert getattr(img, "n_frames", 1) > 1, f"{name} is not animated"


def test_every_tutorial_is_tested() -> None:
    scripts = sorted(p.stem for p in TUTORIALS.glob("[0-9][0-9]_*.py"))
    tested = sorted(name[len("test_"):] for name in globals() if name.startswith("test_0"))
    assert [s[:2] for s in scripts] == [t[:2] for t in tested] and len(scripts) == 9


def test_01_spike_encoding(tmp_path: Path) -> None:
    c = run("01_spike_encoding", tmp_path)
    # a Bernoulli rate code fires, on average, with the pixel intensity (40 x 64 draws: sd < 0.01)
    assert abs(c["mean_rate"] - c["mean_intensity"]) < 0.04
    assert c["latency_max_spikes_per_pixel"] == 1 and c["latency_order_ok"]
    # a sine over two periods has rising and falling halves: both ON and OFF delta spikes
    assert c["delta_on"] > 0 and c["delta_off"] > 0
    assert_figures(tmp_path, ["rate_raster.png", "latency_raster.png", "delta_code.png", "rate_digit.gif"])


def test_02_lif_neuron(tmp_path: Path) -> None:
    c = run("02_lif_neuron", tmp_path)
    assert c["max_error_vs_equation"] < 1e-5
    # I = 0.15 < (1 - beta) * theta = 0.2: settles at I / (1 - beta) = 0.75 without a spike
    assert c["weak_spikes"] == 0 and math.isclose(c["weak_settles_at"], 0.75, rel_tol=1e-6)
    assert abs(c["weak_final_mem"] - 0.75) < 1e-4
    assert c["strong_spikes"] > 0 and c["zero_reset_spikes"] > 0
    assert_figures(tmp_path, ["lif_subthreshold.png", "lif_step_current.png", "lif_reset_mechanisms.png",
                              "lif_spike_input.png"])


def test_03_feedforward_bptt(tmp_path: Path) -> None:
    c = run("03_feedforward_bptt", tmp_path)
    assert c["test_accuracy"] > 3 * c["chance"]
    assert c["last_loss"] < c["first_loss"]
    assert_figures(tmp_path, ["training_curves.png", "output_raster.png", "network_spikes.png"])


def test_04_synaptic_alpha(tmp_path: Path) -> None:
    c = run("04_synaptic_alpha", tmp_path)
    assert c["synaptic_max_error"] < 1e-5 and c["synaptic_spikes"] > 0
    assert c["alpha_max_error"] < 1e-5
    # tau_a * (0.9^k - 0.8^k) peaks where k = ln(ln 0.8 / ln 0.9) / ln(0.9 / 0.8) ~ 6.2
    assert c["alpha_peak_step"] == 6
    assert_figures(tmp_path, ["synaptic.png", "alpha_kernel.png"])


def test_05_convolutional_snn(tmp_path: Path) -> None:
    c = run("05_convolutional_snn", tmp_path)
    assert c["test_accuracy"] > 3 * c["chance"]
    assert_figures(tmp_path, ["conv_training.png", "feature_maps.png", "output_counts.png"])


def test_06_neuromorphic_tonic(tmp_path: Path) -> None:
    c = run("06_neuromorphic_tonic", tmp_path)
    assert c["test_accuracy"] > 1.5 * c["chance"]
    assert c["batch_shape"][0] == 12 and c["batch_shape"][2:] == (2, 17, 17)   # [T, B, P, H, W]
    assert c["cache_written"] and c["events_in_sample"] > 200
    assert_figures(tmp_path, ["tonic_frames.png"])


def test_07_population_regression(tmp_path: Path) -> None:
    c = run("07_population_regression", tmp_path)
    assert c["population_accuracy"] > 3 * c["population_chance"]
    assert c["regression_final_mse"] < 0.2 * c["regression_first_mse"]
    assert c["regression_final_mse"] < 0.25   # below a constant prediction's 0.5 for a unit sine
    assert_figures(tmp_path, ["population_raster.png", "regression.png"])


def test_08_nir_export(tmp_path: Path) -> None:
    c = run("08_nir_export", tmp_path)
    assert c["node_types"] == {"input": "Input", "0": "Affine", "1": "LIF", "2": "Affine", "3": "LIF",
                               "output": "Output"}
    assert c["same_spikes"] and c["output_spikes"] > 0
    assert c["accuracy_imported"] == c["accuracy_original"] > 3 * c["chance"]
    import nir

    assert set(nir.read(tmp_path / "digits.nir").nodes) == set(c["nodes"])
    assert_figures(tmp_path, ["nir_roundtrip.png"])


def test_09_sequence_mode(tmp_path: Path) -> None:
    c = run("09_sequence_mode", tmp_path)
    assert c["spikes_equal"] and c["spike_count"] > 0
    assert c["max_mem_difference"] < 1e-5 and c["max_grad_difference"] < 1e-4
    assert c["network_spikes_equal"] and c["network_spike_count"] > 0
    assert c["ms_step_loop"] > 0 and c["ms_forward_sequence"] > 0
    assert_figures(tmp_path, ["sequence_speed.png"])
