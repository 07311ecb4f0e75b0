"""The fused CPU kernels run on the threads torch was given, never more, and leave torch's (and numba's)
thread count as it was (issue: numba's OpenMP layer used to raise ``torch.get_num_threads()`` to 2); for
the compiled kernels (`spikeforge.ops._native`) and the numba ones (the fallback, used by everything
with ``SPIKEFORGE_CPU_KERNELS=numba``).

Each case runs in a fresh interpreter, as a user's script would: set the thread count, build a network,
train a step. CPU ticks per thread are read from ``/proc/self/task/*/stat``; one busy thread at a time
gives a process CPU time no greater than the wall time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from spikeforge.ops import _native

pytest.importorskip("numba")

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time
    import torch
    torch.set_num_threads(int(sys.argv[1]))
    import numba
    import spikeforge as snn
    from spikeforge.ops import _native
    from spikeforge.ops._threads import blocks

    def ticks():
        out = {}
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            out[tid] = int(fields[11]) + int(fields[12])  # utime + stime
        return out

    numba_before = numba.get_num_threads()
    net = snn.SequentialSNN(snn.Leaky(beta=0.9, learn_beta=True), snn.Synaptic(alpha=0.8, beta=0.9),
                            snn.Alpha(alpha=0.9, beta=0.8))
    x = torch.randn(20, 2, 40000, requires_grad=True)  # 80000 neurons: enough for 2 blocks
    net(x)[0].sum().backward()  # compile and start any pool before counting
    before, t0, c0 = ticks(), time.perf_counter(), time.process_time()
    for _ in range(4):
        out = net(x)
        out[0].sum().backward()
        with torch.no_grad():
            net(x)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = ticks()
    busy = sorted((after[t] - before.get(t, 0) for t in after), reverse=True)
    print(json.dumps({"torch": torch.get_num_threads(), "numba": numba.get_num_threads(),
                      "numba_before": numba_before, "busy": busy, "cpu": cpu, "wall": wall,
                      "blocks": blocks(80000), "layer": numba.threading_layer(),
                      "native": _native.lib is not None, "native_blocks": _native.blocks(80000)}))
    """
)


def _run(threads: int, kernels: str) -> dict:
    env = {**os.environ, "SPIKEFORGE_CPU_KERNELS": kernels}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(threads)], capture_output=True, text=True,
                         timeout=300, check=True, env=env)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["native"] == (kernels == "compiled"), r
    return r


KERNELS = pytest.mark.parametrize("kernels", [
    pytest.param("compiled", marks=pytest.mark.skipif(_native.lib is None, reason="not built")), "numba"])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through /proc")
@KERNELS
def test_one_torch_thread_means_one_busy_thread_and_settings_unchanged(kernels: str):
    r = _run(1, kernels)
    assert r["torch"] == 1, "torch.get_num_threads() changed by the kernels"
    assert r["numba"] == r["numba_before"], "numba's thread count changed"
    assert r["blocks"] == 1 and r["native_blocks"] == 1
    assert r["layer"] == "workqueue"
    # at most one thread busy at a time: the process's CPU time does not exceed its wall time (two
    # threads working together would give close to twice the wall time). Which thread did the work is
    # not checked: the scheduler may hand a task's work to another of torch's threads between calls.
    assert sum(r["busy"]) > 0
    assert r["cpu"] <= 1.15 * r["wall"] + 0.05, r


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through /proc")
@KERNELS
def test_two_torch_threads_kept_and_used_as_given(kernels: str):
    r = _run(2, kernels)
    assert r["torch"] == 2
    assert r["numba"] == r["numba_before"]
    assert r["blocks"] == min(2, r["numba_before"])
    assert r["native_blocks"] == 2
