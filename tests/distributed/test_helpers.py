"""The building blocks of :mod:`spikeforge.training.distributed`, in one process."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import spikeforge as snn
from spikeforge.training.distributed import (
    DistEnv,
    check_checkpoint_config,
    check_world_size,
    detect_env,
    hidden_state_buffers,
    rank_device,
    reduce_sums,
    shard_batches,
    shard_bounds,
    wrap_model,
)


def test_detect_env_reads_torchrun_variables() -> None:
    assert detect_env({}) == DistEnv(0, 1, 0)
    env = detect_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"})
    assert (env.rank, env.world_size, env.local_rank, env.is_main, env.enabled) == (3, 4, 1, False, True)
    assert detect_env({"RANK": "0", "WORLD_SIZE": "1"}).enabled is False


@pytest.mark.parametrize(
    ("environ", "match"),
    [
        ({"WORLD_SIZE": "two"}, "WORLD_SIZE must be an integer"),
        ({"WORLD_SIZE": "0"}, "WORLD_SIZE must be >= 1"),
        ({"WORLD_SIZE": "2", "RANK": "2"}, r"RANK must lie in \[0, WORLD_SIZE=2\)"),
        ({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "-1"}, "LOCAL_RANK must be >= 0"),
    ],
)
def test_detect_env_rejects_bad_variables(environ: dict[str, str], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        detect_env(environ)


def test_rank_device_on_cpu() -> None:
    assert rank_device("cpu", DistEnv(1, 2, 1)) == torch.device("cpu")
    if not torch.cuda.is_available():
        assert rank_device("auto", DistEnv(1, 2, 1)) == torch.device("cpu")
        with pytest.raises(ValueError, match="no CUDA device"):
            rank_device("cuda", DistEnv())


@given(st.integers(0, 300), st.integers(1, 16))
def test_shards_partition_the_global_batch(total: int, world: int) -> None:
    bounds = [shard_bounds(total, r, world) for r in range(world)]
    assert bounds[0][0] == 0 and bounds[-1][1] == total
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1 and sizes == sorted(sizes, reverse=True)


@given(st.integers(1, 40), st.integers(1, 6))
def test_weighted_shard_means_average_to_the_global_mean(total: int, world: int) -> None:
    """DDP averages the ranks' gradients; with the weights that average is the global batch mean."""
    values = torch.arange(total, dtype=torch.float64) ** 1.5
    y = torch.arange(total)
    x = values.reshape(1, total)
    averaged = 0.0
    counted = 0
    for rank in range(world):
        for shard in shard_batches([(x, y)], DistEnv(rank, world, rank), train=True):
            averaged += float(shard.x.mean()) * shard.weight / world
            counted += shard.n
            lo, hi = shard_bounds(total, rank, world)
            assert torch.equal(shard.y, y[lo:hi] if shard.n else y[:1])
    assert counted == total
    assert averaged == pytest.approx(float(values.mean()), rel=1e-12)


def test_empty_slices_get_a_zero_weight_placeholder_in_training_only() -> None:
    x, y = torch.arange(2.0).reshape(1, 2), torch.tensor([4, 5])
    env = DistEnv(2, 3, 2)
    (train,) = shard_batches([(x, y)], env, train=True)
    assert (train.weight, train.n, train.y.tolist()) == (0.0, 0, [4])
    assert list(shard_batches([(x, y)], env, train=False)) == []


def test_check_world_size() -> None:
    check_world_size(2, 10, 2)
    with pytest.raises(ValueError, match="3 processes but the training set has only 2 samples"):
        check_world_size(3, 2, 64)
    with pytest.raises(ValueError, match="--batch-size 4 is the global batch shared by 8 processes"):
        check_world_size(8, 100, 4)


def test_check_checkpoint_config_names_the_differing_key() -> None:
    saved = {"hidden": 8, "beta": 0.9, "epochs": 3}
    check_checkpoint_config(saved, {**saved, "epochs": 5}, ("epochs",), "a.pt")
    with pytest.raises(ValueError, match=r"a.pt was saved from a different model .*beta=0.9 there, 0.8 here"):
        check_checkpoint_config(saved, {**saved, "beta": 0.8}, ("epochs",), "a.pt")


def test_hidden_state_buffers_are_the_neurons_states_only() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), snn.Synaptic(alpha=0.8, beta=0.9),
                        nn.Sequential(snn.RLeaky(beta=0.9, linear_features=4)))
    assert sorted(hidden_state_buffers(net)) == ["2.mem", "2.syn", "3.0.mem", "3.0.spk"]
    assert sorted(hidden_state_buffers(snn.Leaky(beta=0.5))) == ["mem"]


def test_one_process_needs_no_process_group() -> None:
    model = nn.Linear(2, 2)
    assert wrap_model(model, DistEnv(), torch.device("cpu")) is model
    assert reduce_sums({"n": 3, "loss": 1.5}, DistEnv(), torch.device("cpu")) == {"n": 3, "loss": 1.5}
