"""Process entry points for the multi-process tests (importable by ``torch.multiprocessing.spawn``)."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

import spikeforge as snn
from spikeforge.data.digits import digits_arrays
from spikeforge.training import ce_rate_loss
from spikeforge.training.distributed import (
    DistEnv,
    distributed_session,
    on_main,
    reduce_sums,
    shard_batches,
    wrap_model,
)

#: 15 samples in global batches of 7: sizes 7, 7, 1 -> uneven slices and, for 2 ranks, an empty one
SAMPLES, BATCH, STEPS_T, HIDDEN, LR = 15, 7, 6, 12, 0.5


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def torchrun_env(rank: int, world: int, port: int) -> dict[str, str]:
    """The variables ``torchrun`` sets for one worker on one machine."""
    return {
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
        "RANK": str(rank),
        "WORLD_SIZE": str(world),
        "LOCAL_RANK": str(rank),
        "LOCAL_WORLD_SIZE": str(world),
    }


class TinySNN(nn.Module):
    """Linear -> Leaky -> Linear -> Leaky over ``[T, B, 64]``; returns the output spikes."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(3)
        self.fc1, self.lif1 = nn.Linear(64, HIDDEN), snn.Leaky(beta=0.8, learn_beta=True)
        self.fc2, self.lif2 = nn.Linear(HIDDEN, 10), snn.Leaky(beta=0.8)

    def forward(self, x: Tensor) -> Tensor:
        spk1 = self.lif1.forward_sequence(self.fc1(x))[0]
        return self.lif2.forward_sequence(self.fc2(spk1))[0]


def global_batches() -> list[tuple[Tensor, Tensor]]:
    """Rate-coded digits ``(x[T, B, 64], y[B])``, the same in every process."""
    x, y = digits_arrays(True)
    g = torch.Generator().manual_seed(5)
    out = []
    for i in range(0, SAMPLES, BATCH):
        xb = x[i:min(i + BATCH, SAMPLES)] * 2
        out.append((snn.spikegen.rate(xb.clamp(max=1), num_steps=STEPS_T, generator=g), y[i:i + xb.shape[0]]))
    return out


def train_steps(env: DistEnv, batches: list[tuple[Tensor, Tensor]]) -> dict[str, Any]:
    """Train :class:`TinySNN` with SGD (updates proportional to the gradient) on this process's share
    of ``batches`` (from :func:`global_batches`); record gradients and parameters after each step."""
    with distributed_session("cpu", env) as (env, device):
        model = TinySNN()
        net = wrap_model(model, env, device)
        opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.5)
        loss_fn = ce_rate_loss()
        after: list[dict[str, Tensor]] = []
        grads: list[dict[str, Tensor]] = []
        sums = {"n": 0.0, "loss": 0.0}
        for shard in shard_batches(batches, env, train=True):
            loss = loss_fn(net(shard.x), shard.y)
            opt.zero_grad(set_to_none=True)
            (loss * shard.weight).backward()
            grads.append({k: p.grad.clone() for k, p in model.named_parameters()})
            opt.step()
            after.append({k: v.detach().clone() for k, v in model.state_dict().items()})
            sums["n"] += shard.n
            sums["loss"] += float(loss.detach()) * shard.n
        try:  # what rank 0 raises must reach every rank (no rank left waiting in a collective)
            on_main(_refuse, env)
            refused = ""
        except ValueError as exc:
            refused = str(exc)
        shared = on_main(lambda: {"rank": env.rank}, env)
        return {"after": after, "grads": grads, "sums": reduce_sums(sums, env, device), "refused": refused,
                "shared": shared}


def _refuse() -> None:
    raise ValueError("checkpoint last.pt was saved from a different model")


def _run_rank(rank: int, world: int, port: int, out_dir: str, job: Callable[..., Any], args: tuple) -> None:
    os.environ.update(torchrun_env(rank, world, port))
    torch.set_num_threads(1)
    from spikeforge.training.distributed import detect_env

    result = job(detect_env(), *args)
    torch.save(result, Path(out_dir) / f"rank{rank}.pt")


def spawn(job: Callable[..., Any], world: int, out_dir: Path, *args: Any) -> list[Any]:
    """Run ``job(env, *args)`` in ``world`` processes joined by gloo on 127.0.0.1 (the variables
    torchrun sets); return each rank's result."""
    import torch.multiprocessing as mp

    mp.spawn(_run_rank, args=(world, free_port(), str(out_dir), job, args), nprocs=world, join=True)
    return [torch.load(out_dir / f"rank{r}.pt", weights_only=False) for r in range(world)]
