"""Two gloo processes on CPU take the same optimiser steps as one process on the same global batches.

The reference is plain single-process training (no process group) on the whole global batch; the
2-process run goes through ``torch.distributed`` (gloo, env:// rendezvous on 127.0.0.1 as torchrun
sets it up), DDP and :func:`~spikeforge.training.distributed.shard_batches`. The global batches are
7, 7 and 1 samples, so the slices are uneven (4/3) and the last one leaves rank 1 empty.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from spikeforge.training.distributed import DistEnv

from ._workers import SAMPLES, TinySNN, global_batches, spawn, train_steps

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed missing")


def test_two_gloo_processes_match_one_process(tmp_path: Path) -> None:
    batches = global_batches()  # the default data (bundled digits), rate-coded once for every process
    ranks = spawn(train_steps, 2, tmp_path, batches)
    single = train_steps(DistEnv(), batches)
    initial = TinySNN().state_dict()
    assert len(single["after"]) == 3 and all(len(r["after"]) == 3 for r in ranks)
    # one step on the global batch: DDP's averaged gradient and the parameters after the step agree
    # with the single-process step to 1e-6 (SGD: the update is proportional to the gradient)
    for name, value in single["grads"][0].items():
        torch.testing.assert_close(ranks[0]["grads"][0][name], value, atol=1e-6, rtol=0)
        assert torch.equal(ranks[1]["grads"][0][name], ranks[0]["grads"][0][name])
    for name, value in single["after"][0].items():
        torch.testing.assert_close(ranks[0]["after"][0][name], value, atol=1e-6, rtol=0)
    assert not torch.equal(single["after"][0]["fc1.weight"], initial["fc1.weight"]), "no update"
    # every step, including the one where rank 1 holds no sample, leaves both ranks identical
    for step in range(3):
        for name, value in ranks[0]["after"][step].items():
            assert torch.equal(ranks[1]["after"][step][name], value), f"ranks differ in {name} at step {step}"
    for name, value in single["after"][2].items():
        torch.testing.assert_close(ranks[0]["after"][2][name], value, atol=1e-5, rtol=0)
    # metrics summed over ranks count every sample once; rank 0's result and errors reach every rank
    for r in ranks:
        assert r["shared"] == {"rank": 0}
        assert r["refused"] == "checkpoint last.pt was saved from a different model"
        assert r["sums"]["n"] == SAMPLES
        assert r["sums"]["loss"] == pytest.approx(single["sums"]["loss"], rel=1e-5)
