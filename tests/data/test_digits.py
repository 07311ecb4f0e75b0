"""The bundled digits split: sizes, class balance, range, disjointness, determinism."""

from __future__ import annotations

import torch
from sklearn.datasets import load_digits

from spikeforge.data import digits_arrays, digits_dataset


def test_split_sizes_and_range() -> None:
    x_tr, y_tr = digits_arrays(True)
    x_te, y_te = digits_arrays(False)
    assert x_tr.shape == (1347, 64) and x_te.shape == (450, 64)  # 1797 * 0.25 rounded up = 450
    assert x_tr.dtype == torch.float32 and y_tr.dtype == torch.int64
    assert float(x_tr.min()) == 0.0 and float(x_tr.max()) == 1.0
    # stratified: every class has 43..46 test images (10 classes of ~180 images, a quarter each)
    counts = torch.bincount(y_te, minlength=10)
    assert int(counts.min()) >= 43 and int(counts.max()) <= 46


def test_split_is_a_partition_of_the_raw_images() -> None:
    raw = torch.as_tensor(load_digits().data, dtype=torch.float32) / 16
    x_tr, _ = digits_arrays(True)
    x_te, _ = digits_arrays(False)
    both = torch.cat([x_tr, x_te])
    key = lambda t: sorted(map(tuple, t.tolist()))  # noqa: E731
    assert key(both) == key(raw)


def test_split_is_fixed() -> None:
    a, _ = digits_arrays(False)
    b, _ = digits_arrays(False)
    assert torch.equal(a, b)
    ds = digits_dataset(False)
    x, y = ds[0]
    assert x.shape == (64,) and int(y) == int(digits_arrays(False)[1][0])
