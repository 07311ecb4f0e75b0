"""Thread use of the compiled CPU kernels: as many threads as torch was given, never more, and torch's own
setting left as it was.

numba's default threading layer on Linux is OpenMP, whose runtime (libgomp) torch shares: starting a
parallel numba kernel set the OpenMP thread count of the calling thread to numba's (all cores), so after
the first fused call ``torch.get_num_threads()`` said 2 where the user had set 1, and the layers'
convolutions ran on 2 threads too. spikeforge therefore asks numba for its own ``workqueue`` layer (a
small pool of numba's, no OpenMP state shared with torch) unless the user chose a layer
(``NUMBA_THREADING_LAYER``) or numba already started one; each call then runs on
``min(torch.get_num_threads(), blocks of work)`` threads (`numba.set_num_threads` is local to the
calling thread), and whatever layer runs, torch's thread count is put back after the call if the
kernel changed it.

The workqueue layer cannot run two parallel kernels at once; a call made while another thread is inside
a parallel kernel runs the serial variant instead (same results: blocks never share neurons).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

import numba
import torch

from ._native import MIN_BLOCK  # noqa: F401 - re-exported (ops.lif.cpu)
from ._native import blocks as _blocks

_lock = threading.Lock()


def _choose_layer() -> None:
    if "NUMBA_THREADING_LAYER" in os.environ:
        return  # the user's choice
    try:
        numba.threading_layer()  # raises ValueError until a layer was started
    except ValueError:
        numba.config.THREADING_LAYER = "workqueue"


_choose_layer()


def blocks(n: int) -> int:
    """`spikeforge.ops._native.blocks` (at most ``torch.get_num_threads()``, at least `MIN_BLOCK`
    neurons each), capped by numba's pool size."""
    return max(1, min(_blocks(n), numba.config.NUMBA_NUM_THREADS))


def run(parallel: Callable[..., None], serial: Callable[..., None], nb: int, *args: object) -> None:
    """Call ``parallel(*args)`` on ``nb`` threads, or ``serial(*args)`` when ``nb`` is 1 (no thread
    start-up) or another thread holds the pool; ``args`` must not depend on which one runs."""
    if nb <= 1 or not _lock.acquire(blocking=False):
        serial(*args)
        return
    torch_threads = torch.get_num_threads()
    numba_threads = numba.get_num_threads()
    try:
        numba.set_num_threads(nb)
        parallel(*args)
    finally:
        numba.set_num_threads(numba_threads)
        _lock.release()
        if torch.get_num_threads() != torch_threads:  # an OpenMP layer chosen by the user moved it
            torch.set_num_threads(torch_threads)


def pick(parallel: Callable[..., None], serial: Callable[..., None], nb: int) -> Callable[..., None]:
    """A callable running `run` with these variants and ``nb`` blocks."""

    def call(*args: object) -> None:
        run(parallel, serial, nb, *args)

    return call
