"""Shared test configuration: headless plotting, deterministic seeds, the shared/ folder."""

from __future__ import annotations

import os
from pathlib import Path

# Tests compare fused kernels with torch's step loop bit for bit, and chunked runs with whole ones. The
# neuron updates are exact, but MKL's own GEMM kernels on AVX-512 CPUs round a product differently with
# the data's alignment and the batch size (a recurrent product on a row of a trace against one on a
# tensor of its own; a Linear over 6 rows against 27): 1-ulp differences that are not the code under
# test. MKL's reproducible mode, set before torch first calls it, gives every call the same rounding.
os.environ.setdefault("MKL_CBWR", "COMPATIBLE")

import matplotlib  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import settings  # noqa: E402

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

# the project's shared/ folder (NIR reference graphs): beside the checkout, as in CI, or $SPIKEFORGE_SHARED
SHARED = Path(os.environ.get("SPIKEFORGE_SHARED", Path(__file__).resolve().parents[2] / "shared"))


# Property tests draw the same examples on every run, so CI on main never passes or fails by chance; a
# failure is reproduced by running the suite again. HYPOTHESIS_PROFILE=explore, or --hypothesis-seed N
# (which a derandomized profile would ignore), draws fresh examples: use it when changing a kernel or a
# tolerance.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("hypothesis_seed", None) is not None and "HYPOTHESIS_PROFILE" not in os.environ:
        settings.load_profile("explore")


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared/ folder not found at {SHARED} (set SPIKEFORGE_SHARED to its path)")
    return SHARED
