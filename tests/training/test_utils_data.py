"""utils.data_subset, valid_split, _final_layer_check: by hand and against snntorch."""

from __future__ import annotations

import types

import pytest
import torch

import spikeforge as snn
from spikeforge import utils


def ds(n: int = 10) -> types.SimpleNamespace:
    return types.SimpleNamespace(data=torch.arange(n) * 10, targets=torch.arange(n))


def test_data_subset_keeps_one_contiguous_part() -> None:
    d = utils.data_subset(ds(10), 3, idx=1)  # k = 10 // 3 = 3 -> items 3, 4, 5
    assert d.targets.tolist() == [3, 4, 5] and d.data.tolist() == [30, 40, 50]
    assert utils.data_subset(ds(4), 1).targets.tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="idx"):
        utils.data_subset(ds(), 2, idx=2)
    with pytest.raises(TypeError, match="data"):
        utils.data_subset(object(), 2)


def test_valid_split_partitions_and_matches_snntorch() -> None:
    tr, va = utils.valid_split(ds(10), ds(0), 0.3, seed=3)
    assert len(tr.targets) == 7 and len(va.targets) == 3
    assert sorted(tr.targets.tolist() + va.targets.tolist()) == list(range(10))
    sutils = pytest.importorskip("snntorch.utils")

    class D:  # snntorch uses len(dataset)
        def __init__(self) -> None:
            self.data, self.targets = torch.arange(10) * 10, torch.arange(10)

        def __len__(self) -> int:
            return len(self.data)

    str_, sva = sutils.valid_split(D(), D(), 0.3, seed=3)
    assert torch.equal(str_.targets, tr.targets) and torch.equal(sva.targets, va.targets)


def test_final_layer_check() -> None:
    lin = torch.nn.Linear(2, 2)
    assert utils._final_layer_check(torch.nn.Sequential(lin, snn.Leaky(beta=0.5))) == 2
    assert utils._final_layer_check(torch.nn.Sequential(lin, snn.Synaptic(alpha=0.5, beta=0.5))) == 3
    assert utils._final_layer_check(torch.nn.Sequential(lin, snn.Alpha(alpha=0.6, beta=0.5))) == 4
    assert utils._final_layer_check(torch.nn.Sequential(lin, snn.RLeaky(beta=0.5, linear_features=2))) == 2
    assert utils._final_layer_check(torch.nn.Sequential(lin)) == 1
