"""Tutorial 1: turning numbers into spikes (rate, latency and delta coding).

Encodes one image of the bundled digits (scikit-learn's 8x8 handwritten digits, no download) three
ways with :mod:`spikeforge.spikegen` and draws each code. Run it with
``python examples/tutorials/01_spike_encoding.py [OUT_DIR]``; ``SPIKEFORGE_SMALL=1`` makes it quicker.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import torch

import spikeforge.spikeplot as splt
from spikeforge import spikegen
from spikeforge.data import digits_arrays


def main(small: bool = False, out_dir: Path | str = "tutorial_out/01_spike_encoding") -> dict[str, Any]:
    """Encode a digit, draw the codes; returns the claims the tutorial makes (checked by the tests)."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    num_steps = 40 if small else 100

    # One digit: 64 pixel intensities in [0, 1].
    x, y = digits_arrays(train=True)
    image = x[0]

    # Rate code: at every step each pixel spikes with probability equal to its intensity.
    rate_spk = spikegen.rate(image, num_steps=num_steps)  # [T, 64]
    fig, ax = plt.subplots(figsize=(8, 4))
    splt.raster(rate_spk, ax, s=6, c="black")
    ax.set(title=f"Rate code of a '{int(y[0])}'", xlabel="time step", ylabel="pixel")
    fig.savefig(out / "rate_raster.png", dpi=80)
    plt.close(fig)

    # The same code as a movie: one 8x8 frame per time step (saved as a GIF through pillow).
    fig, ax = plt.subplots(figsize=(3, 3))
    splt.animator(rate_spk.reshape(num_steps, 8, 8), fig, ax, path=out / "rate_digit.gif", fps=10)
    plt.close(fig)

    # Latency code: each pixel spikes once; the brighter, the earlier (linear in the intensity).
    lat_spk = spikegen.latency(image, num_steps=num_steps, tau=5, threshold=0.01, linear=True,
                               normalize=True, clip=True)
    fig, ax = plt.subplots(figsize=(8, 4))
    splt.raster(lat_spk, ax, s=12, c="black")
    ax.set(title="Latency code: bright pixels fire first", xlabel="time step", ylabel="pixel")
    fig.savefig(out / "latency_raster.png", dpi=80)
    plt.close(fig)

    # Delta code: a spike whenever a signal rises by more than the threshold since the last step.
    t = torch.arange(num_steps, dtype=torch.float32)
    signal = torch.sin(t / num_steps * 4 * torch.pi)
    delta_spk = spikegen.delta(signal, threshold=0.1, off_spike=True)
    fig, axs = plt.subplots(2, 1, sharex=True, figsize=(8, 4))
    axs[0].plot(signal.numpy())
    axs[0].set(ylabel="signal")
    axs[1].stem(delta_spk.numpy())
    axs[1].set(xlabel="time step", ylabel="on/off spike")
    fig.savefig(out / "delta_code.png", dpi=80)
    plt.close(fig)

    times = lat_spk.argmax(0)  # first (only) spike time of each pixel
    lit = lat_spk.sum(0) > 0
    return {
        "mean_rate": float(rate_spk.mean()),
        "mean_intensity": float(image.mean()),
        "latency_max_spikes_per_pixel": int(lat_spk.sum(0).max()),
        "latency_order_ok": bool(
            (times[lit][image[lit].argsort(descending=True)].diff() >= 0).all()
        ),
        "delta_on": int((delta_spk > 0).sum()),
        "delta_off": int((delta_spk < 0).sum()),
        "files": sorted(p.name for p in out.iterdir()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/01_spike_encoding")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
