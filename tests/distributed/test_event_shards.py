"""Event data under several processes: each rank reads only its own samples of a global batch, and its
slices equal those cut from the whole batch (event frames involve no random numbers)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from data.formats import write_shd  # tests/data/formats.py (tests/ is on sys.path)

from spikeforge.data.loaders import DataSource, EventSource
from spikeforge.training.distributed import DistEnv, shard_batches
from spikeforge.training.trainer import TrainConfig


@pytest.fixture
def source(tmp_path: Path) -> EventSource:
    # sample k has k + 1 spikes on channel k and label k % 3, so every sample is told apart by its frames
    samples = [([0.001 * (j + 1) for j in range(k + 1)], [k] * (k + 1), k % 3) for k in range(8)]
    write_shd(tmp_path / "SHD/shd_train.h5", samples)
    write_shd(tmp_path / "SHD/shd_test.h5", samples[:5])
    cfg = TrainConfig(dataset="shd", data_dir=str(tmp_path), batch_size=3, num_steps=4, val_fraction=0.0,
                      seed=2)
    return EventSource(cfg)


def _reads(src: EventSource, split: str, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record which sample indices of ``split`` are read (through the Subset's index list)."""
    subset = src._splits[split]
    seen: list[int] = []
    real = type(subset.dataset).__getitem__

    def spy(self, index: int):  # noqa: ANN001, ANN202
        seen.append(index)
        return real(self, index)

    monkeypatch.setattr(type(subset.dataset), "__getitem__", spy)
    return seen


@pytest.mark.parametrize(("split", "train", "world"),
                         [("train", True, 2), ("train", True, 4), ("test", False, 2), ("test", False, 4)])
def test_rank_slices_equal_the_sliced_whole_batch(source: EventSource, split: str, train: bool,
                                                  world: int) -> None:
    for rank in range(world):
        env = DistEnv(rank, world, rank)
        got = list(source.shards(split, 3, env, train))
        want = list(shard_batches(source.batches(split, 3), env, train))
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and (a.weight, a.n) == (b.weight, b.n)
    # the generic implementation (slice the whole batch) gives the same: it is what the digits use
    env = DistEnv(1, world, 1)
    generic = list(DataSource.shards(source, split, 3, env, train))
    assert [s.y.tolist() for s in generic] == [s.y.tolist() for s in source.shards(split, 3, env, train)]


def test_each_rank_reads_only_its_samples(source: EventSource, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = _reads(source, "train", monkeypatch)
    per_rank = []
    for rank in range(2):
        seen.clear()
        list(source.shards("train", 1, DistEnv(rank, 2, rank), train=True))
        per_rank.append(sorted(seen))
    # 8 samples in global batches of 3, 3, 2: rank 0 keeps 2 + 2 + 1 of them, rank 1 the other 1 + 1 + 1
    assert [len(r) for r in per_rank] == [5, 3]
    assert sorted(per_rank[0] + per_rank[1]) == list(range(8))
    seen.clear()
    list(source.batches("train", 1))
    assert sorted(seen) == list(range(8))  # one process reads everything once
