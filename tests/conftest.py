"""Shared test configuration: headless plotting, deterministic seeds, the shared/ folder."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest
import torch

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# the project's shared/ folder (NIR reference graphs): beside the checkout, as in CI, or $SPIKEFORGE_SHARED
SHARED = Path(os.environ.get("SPIKEFORGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared/ folder not found at {SHARED} (set SPIKEFORGE_SHARED to its path)")
    return SHARED
