"""The bundled default data set: scikit-learn's handwritten digits (no download needed).

1,797 grey-scale images of 8x8 pixels, 10 classes (Alpaydin and Kaynak, UCI "Optical Recognition
of Handwritten Digits", 1998), shipped inside scikit-learn. The split is fixed: a stratified
75 % / 25 % split with ``sklearn.model_selection.train_test_split(test_size=0.25,
random_state=DIGITS_SPLIT_SEED, stratify=labels)``, giving 1,347 training and 450 test images.
Pixel values 0..16 are scaled to [0, 1] by dividing by 16.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import TensorDataset

#: the seed of the fixed train/test split (never the training seed)
DIGITS_SPLIT_SEED = 0
#: fraction of the images held out for testing
DIGITS_TEST_FRACTION = 0.25
#: number of classes, pixels per image
DIGITS_CLASSES = 10
DIGITS_FEATURES = 64


def digits_arrays(train: bool = True) -> tuple[Tensor, Tensor]:
    """The fixed split of the digits as tensors.

    Args:
        train: the 1,347 training images, else the 450 test images.

    Returns:
        ``(x, y)``: ``x`` float32 ``[N, 64]`` in [0, 1] (row-major 8x8 pixels), ``y`` int64 ``[N]``
        class indices 0..9.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    data = np.asarray(bunch.data, dtype=np.float32) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        data, labels, test_size=DIGITS_TEST_FRACTION, random_state=DIGITS_SPLIT_SEED, stratify=labels
    )
    x, y = (x_tr, y_tr) if train else (x_te, y_te)
    return torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y))


def digits_dataset(train: bool = True) -> TensorDataset:
    """The fixed digits split as a ``TensorDataset`` of ``(x[64], y)`` pairs (see `digits_arrays`)."""
    return TensorDataset(*digits_arrays(train))
