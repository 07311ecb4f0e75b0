"""Regenerate the plotting gallery (docs/images/gallery/) from synthetic data built with spikeforge.

Usage: ``python scripts/make_gallery.py [--out DIR]`` (default ``docs/images/gallery``).

Every image comes from a seeded simulation: Bernoulli input spikes (``torch.bernoulli``) drive
``spikeforge.Leaky``/``Synaptic`` layers through fixed random weights, and the training-run
figures use the output of that network. Only the loss/accuracy history is a closed-form
stand-in for a real run (exponential approach to a plateau).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

import spikeforge as sf  # noqa: E402
from spikeforge import spikeplot as splt  # noqa: E402
from spikeforge.plotting import figures  # noqa: E402

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "gallery"
DPI = 72


def _network(steps: int, n_in: int = 100, n_hidden: int = 40, n_out: int = 10) -> dict[str, torch.Tensor]:
    """A two-layer Leaky network driven by rate-coded input; returns its recordings [T, 1, N]."""
    rates = torch.linspace(0.02, 0.3, n_in)
    spk_in = torch.bernoulli(rates.expand(steps, 1, n_in))
    w1 = torch.randn(n_in, n_hidden) * 0.05 + 0.006
    w2 = torch.randn(n_hidden, n_out) * 0.12 + 0.06
    spk1, mem1 = sf.Leaky(beta=0.9).forward_sequence(spk_in @ w1, record=True)
    spk2, mem2 = sf.Leaky(beta=0.9).forward_sequence(spk1 @ w2, record=True)
    return {"spk_in": spk_in, "spk1": spk1, "mem1": mem1, "spk2": spk2, "mem2": mem2}


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _spikeplot_images(out: Path, net: dict[str, torch.Tensor], steps: int) -> list[Path]:
    written = []
    fig, ax = plt.subplots(figsize=(8, 4))
    splt.raster(net["spk_in"], ax, batch=0, s=12)
    ax.set_title("raster: Bernoulli input, rates 0.02..0.3 per step")
    written.append(_save(fig, out / "raster.png"))

    cur = torch.cat([torch.zeros(10), torch.full((steps - 10,), 0.25)])
    spk, mem = sf.Leaky(beta=0.9).forward_sequence(cur.reshape(steps, 1, 1), record=True)
    fig = splt.plot_cur_mem_spk(cur, mem[:, 0], spk[:, 0], thr_line=1.0, vline=10, ylim_max1=0.5,
                                title="plot_cur_mem_spk: Leaky neuron, step current")
    written.append(_save(fig, out / "plot_cur_mem_spk.png"))

    title = "plot_snn_spikes: 100-40-10 Leaky network"
    fig = splt.plot_snn_spikes(net["spk_in"], net["spk1"], net["spk2"], title)
    written.append(_save(fig, out / "plot_snn_spikes.png"))

    spk_in = torch.bernoulli(torch.full((steps, 1, 1), 0.15))
    spk, mem = sf.Leaky(beta=0.85).forward_sequence(spk_in * 0.45, record=True)
    fig = splt.plot_spk_mem_spk(spk_in, mem, spk, "plot_spk_mem_spk: Leaky neuron, input spikes")
    written.append(_save(fig, out / "plot_spk_mem_spk.png"))

    spk, syn, mem = sf.Synaptic(alpha=0.8, beta=0.9).forward_sequence(spk_in * 0.2, record=True)
    fig = splt.plot_spk_cur_mem_spk(spk_in, syn, mem, spk, "plot_spk_cur_mem_spk: Synaptic neuron")
    written.append(_save(fig, out / "plot_spk_cur_mem_spk.png"))

    fig = plt.figure(figsize=(8, 5))
    splt.traces(net["mem1"], spk=net["spk1"], batch=0, spk_height=1.5,
                titles=[f"hidden {i}" for i in range(9)], fig=fig)
    written.append(_save(fig, out / "traces.png"))

    fig, ax = plt.subplots(figsize=(8, 4.5))
    splt.spike_count(net["spk2"], fig, ax, [str(i) for i in range(10)], batch=0, time_step=1e-3)
    fig.tight_layout()
    written.append(_save(fig, out / "spike_count.png"))

    yy, xx = torch.meshgrid(torch.arange(16.0), torch.arange(16.0), indexing="ij")
    disk = (((yy - 7.5) ** 2 + (xx - 7.5) ** 2).sqrt() < 6).float() * 0.6 + 0.05
    frames = torch.bernoulli(disk.expand(20, 16, 16))
    fig, ax = plt.subplots(figsize=(2.5, 2.5))
    splt.animator(frames, fig, ax, interval=150, path=out / "animator.gif")
    plt.close(fig)
    written.append(out / "animator.gif")
    return written


def _training_images(out: Path, net: dict[str, torch.Tensor]) -> list[Path]:
    history = [
        {"epoch": e, "train_loss": 2.3 * math.exp(-e / 3) + 0.25, "train_acc": 0.97 - 0.87 * math.exp(-e / 3),
         "test_loss": 2.3 * math.exp(-e / 3.5) + 0.35, "test_acc": 0.94 - 0.84 * math.exp(-e / 3.5)}
        for e in range(1, 13)
    ]
    spk2 = net["spk2"][:, 0]
    layers = {"input": "spk_in", "lif1": "spk1", "lif2": "spk2"}
    per_sample = {name: float(net[key].sum() / net[key].shape[1]) for name, key in layers.items()}
    predicted = int(spk2.sum(0).argmax())
    return [
        figures.plot_training_curves(history, out / "training_curves.png"),
        figures.plot_output_raster(spk2, predicted, (predicted + 3) % 10, out / "output_raster.png"),
        figures.plot_membrane_traces(net["mem1"][:, 0], 1.0, out / "membrane_traces.png",
                                     spk=net["spk1"][:, 0], neurons=[0, 1, 2, 3]),
        figures.plot_spike_counts(per_sample, out / "spike_counts.png"),
    ]


def make_gallery(out: Path = DEFAULT_OUT, steps: int = 100) -> list[Path]:
    """Write every gallery image into ``out`` (created if needed); returns the written paths."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    with torch.no_grad():
        net = _network(steps)
    return _spikeplot_images(out, net, steps) + _training_images(out, net)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    for path in make_gallery(parser.parse_args().out):
        print(path)


if __name__ == "__main__":
    main()
