"""How many aten operations one training iteration of a stepped workload (`bench/wl_models.py`) runs,
forward and backward, under snntorch or spikeforge (the same tutorial code): the per-step overhead that
the eager stepped mode and the graphs ``torch.compile`` builds from it both start from.

    PYTHONPATH=. .venv/bin/python bench/op_count.py snntorch csnn
    PYTHONPATH=. .venv/bin/python bench/op_count.py spikeforge csnn

Prints the total count of ``aten::`` operations of the third iteration (the first two warm up) and the
twelve with the most self CPU time. Counts, not times: run `workloads.py` for those.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))
import wl_models  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("library", choices=["snntorch", "spikeforge"])
    ap.add_argument("workload", choices=sorted(wl_models.WORKLOADS))
    ap.add_argument("--batch", type=int, default=8)
    a = ap.parse_args()
    torch.set_num_threads(1)
    lib = importlib.import_module(a.library)
    cfg = dict(wl_models.WORKLOADS[a.workload])
    cfg["B"] = a.batch
    data = wl_models.make_data(a.workload, cfg, 0)
    built = wl_models.stepped(lib, a.workload, cfg)

    def iteration() -> None:
        spk, mem = built.forward(data)
        loss = wl_models.loss_fn(a.workload, spk, mem, data["y"])
        if loss.requires_grad:
            loss.backward()

    iteration()
    iteration()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        iteration()
    events = prof.key_averages()
    total = sum(e.count for e in events if e.key.startswith("aten::"))
    print(f"{a.library} {a.workload} (B={a.batch}): {total} aten operations per iteration")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:12]:
        print(f"  {e.key:40s} n={e.count:5d} self={e.self_cpu_time_total / 1e3:.2f} ms")


if __name__ == "__main__":
    main()
