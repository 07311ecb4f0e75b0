"""Tutorial 6: event-camera data through tonic and ``spikeforge.data``.

Neuromorphic sensors emit events ``(x, y, t, p)``, not frames. Real sets (N-MNIST, DVS Gesture,
SHD) must be downloaded by hand, so this tutorial first *writes* a small set in N-MNIST's on-disk
format (5-byte events in ``NMNIST/Train/<class>/*.bin``): a bar sweeping down, right, or along the
diagonal of a 34x34 sensor, with noise. It then reads it exactly as it would read the real set:
tonic turns events into frames, :class:`spikeforge.data.NMNIST` does the same with a disk cache,
and :func:`spikeforge.data.collate_time_major` batches samples as ``[T, B, P, H, W]``.
Run: ``python examples/tutorials/06_neuromorphic_tonic.py [OUT_DIR]``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import tonic.transforms as tt
import torch
from torch import nn
from torch.utils.data import DataLoader

import spikeforge as snn
import spikeforge.functional as SF
from spikeforge import backprop, utils
from spikeforge.data import NMNIST, FrameSpec, collate_time_major, read_nmnist

CLASSES = ("down", "right", "diagonal")
SENSOR = 34


class Sweeps(NMNIST):
    """The sweeps in N-MNIST's format and folders, with three classes (folders 0, 1, 2): `NMNIST` itself
    checks that all ten digit folders are there."""

    classes = ("0", "1", "2")
    num_classes = len(CLASSES)


def sweep_events(kind: int, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Events ``(x, y, p, t_us)`` of a 3-pixel-wide bar crossing the sensor, plus noise."""
    events = []
    offset = int(rng.integers(0, 6))
    for pos in range(SENSOR):
        t0 = pos * 3000 + int(rng.integers(0, 500))
        for k in range(SENSOR):
            if rng.random() > 0.6:                      # sparse edges, as real sensors give
                continue
            lead = (pos, k) if kind == 1 else (k, pos)  # (x, y) of the bar's leading edge
            if kind == 2:
                lead = (k, (k + pos + offset) % SENSOR)
            events.append((lead[0], lead[1], 1, t0 + int(rng.integers(0, 300))))   # ON: edge arrives
    for _ in range(200):                                                         # background noise
        events.append((int(rng.integers(0, SENSOR)), int(rng.integers(0, SENSOR)), int(rng.integers(0, 2)),
                       int(rng.integers(0, SENSOR * 3000))))
    return sorted(events, key=lambda e: e[3])


def write_nmnist_file(path: Path, events: list[tuple[int, int, int, int]]) -> None:
    """N-MNIST's format: 5 bytes per event, x, y, then polarity (1 bit) and a 23-bit time in us."""
    raw = bytearray()
    for x, y, p, t in events:
        raw += bytes([x, y, (p << 7) | ((t >> 16) & 0x7F), (t >> 8) & 0xFF, t & 0xFF])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(raw))


def build_dataset(root: Path, per_class_train: int, per_class_test: int) -> None:
    """Write ``root/NMNIST/Train|Test/<class>/<n>.bin``."""
    rng = np.random.default_rng(0)
    for split, count in (("Train", per_class_train), ("Test", per_class_test)):
        for label in range(len(CLASSES)):
            for n in range(count):
                path = root / "NMNIST" / split / str(label) / f"{n:05d}.bin"
                write_nmnist_file(path, sweep_events(label, rng))


def main(small: bool = False, out_dir: Path | str = "tutorial_out/06_neuromorphic_tonic") -> dict[str, Any]:
    """Build the files, read them through tonic, train a small SNN; returns the tutorial's claims."""
    plt.switch_backend("agg")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    per_train, per_test, epochs = (16, 8, 4) if small else (60, 20, 8)
    root = out / "data"
    build_dataset(root, per_train, per_test)

    # 1. Plain tonic: read one file's events and bin them into 8 frames per polarity.
    events = read_nmnist(root / "NMNIST" / "Train" / "1" / "00000.bin")   # structured array x, y, t, p
    frames = tt.ToFrame(sensor_size=(SENSOR, SENSOR, 2), n_time_bins=8)(events)   # [8, 2, 34, 34]
    fig, axs = plt.subplots(1, 8, figsize=(12, 2))
    for k, ax in enumerate(axs):
        ax.imshow(frames[k, 1], cmap="gray_r")
        ax.set_title(f"bin {k}", fontsize=8)
        ax.axis("off")
    fig.suptitle(f"tonic ToFrame: '{CLASSES[1]}' sample, {len(events)} events")
    fig.savefig(out / "tonic_frames.png", dpi=80)
    plt.close(fig)

    # 2. The same files as a data set: frames [T, 2, 17, 17] (halved by tonic's Downsample), cached.
    spec = FrameSpec(n_time_bins=12, spatial_factor=0.5)
    train_set = Sweeps(root, train=True, frames=spec)
    test_set = Sweeps(root, train=False, frames=spec)
    train_loader = DataLoader(train_set, batch_size=16, shuffle=True, collate_fn=collate_time_major)
    test_loader = DataLoader(test_set, batch_size=64, collate_fn=collate_time_major)

    net = nn.Sequential(
        nn.Flatten(),
        nn.Linear(2 * 17 * 17, 64),
        snn.Leaky(beta=0.8, init_hidden=True),
        nn.Linear(64, len(CLASSES)),
        snn.Leaky(beta=0.8, init_hidden=True, output=True),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=5e-3)
    for epoch in range(epochs):
        loss = backprop.BPTT(net, train_loader, optimizer, SF.ce_rate_loss())   # batches are [T, B, ...]
        print(f"epoch {epoch + 1}: loss {float(loss):.3f}")

    correct = total = 0
    with torch.no_grad():
        for x, y in test_loader:
            utils.reset(net)
            spk = torch.stack([net(step)[0] for step in x])
            correct += int((spk.sum(0).argmax(1) == y).sum())
            total += len(y)
    x0, _ = next(iter(test_loader))
    return {
        "test_accuracy": correct / total,
        "chance": 1 / len(CLASSES),
        "batch_shape": tuple(x0.shape),
        "events_in_sample": len(events),
        "cache_written": (root / ".spikeforge_cache").is_dir(),
        "files": sorted(p.name for p in out.iterdir() if p.is_file()),
    }


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("tutorial_out/06_neuromorphic_tonic")
    print(main(small=os.environ.get("SPIKEFORGE_SMALL") == "1", out_dir=target))
