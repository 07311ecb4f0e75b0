"""What stops a training run from outside: signals (Ctrl-C, ``kill``, a batch scheduler's or ``docker
stop``'s SIGTERM), a full disk and exhausted memory; re-exported by `spikeforge.training.trainer`.

A first SIGINT or SIGTERM only asks the run to stop: the trainer stops at the next batch boundary,
saves a checkpoint that ``--resume`` continues exactly, marks the run ``interrupted`` and raises
`TrainingInterrupted`; the command then exits with ``128 + signal`` (130 for SIGINT, 143 for SIGTERM).
A second signal stops at once (``KeyboardInterrupt``), keeping the previous checkpoint.
"""

from __future__ import annotations

import errno
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import torch

from .distributed import DistEnv

#: the signals that ask a run to stop
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(RuntimeError):
    """A signal stopped training; the run directory holds a checkpoint that ``--resume`` continues.

    Attributes:
        signum: the signal (``signal.SIGINT`` for Ctrl-C, ``signal.SIGTERM``); the command exits with
            ``128 + signum``.
    """

    def __init__(self, message: str, signum: int = signal.SIGINT) -> None:
        super().__init__(message)
        self.signum = int(signum)


class TrainingFailed(RuntimeError):
    """Training stopped on a fault of the machine (a full disk, no memory, a file that cannot be
    written); ``status.json`` says ``failed`` with the reason and the last checkpoint is intact. The
    original exception is the ``__cause__``."""


class StopRequest:
    """Whether a stop signal arrived (see `stop_on_signals`)."""

    def __init__(self, announce: bool = True) -> None:
        self.signum: int | None = None
        self.announce = announce  # say on stderr that the run will stop (rank 0 only)

    def handle(self, signum: int, frame: FrameType | None) -> None:
        """The signal handler: note the first signal, stop at once on the second."""
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        if not self.announce:
            return
        isatty = getattr(sys.stderr, "isatty", None)
        below_bar = "\n" if isatty and isatty() else ""  # not on the line of a progress bar
        print(f"{below_bar}spikeforge: {signal.Signals(signum).name} received: stopping at the end of this "
              "batch (send it again to stop at once)", file=sys.stderr, flush=True)

    def agreed(self, env: DistEnv, device: torch.device) -> bool:
        """True when this process or (with several processes) any process got a signal, so that every
        process stops at the same batch."""
        if not env.enabled:
            return self.signum is not None
        import torch.distributed as dist

        flag = torch.tensor([0 if self.signum is None else self.signum], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        if self.signum is None and int(flag):
            self.signum = int(flag)
        return bool(int(flag))


@contextmanager
def stop_on_signals(announce: bool = True) -> Iterator[StopRequest]:
    """Turn SIGINT and SIGTERM into a `StopRequest` while the block runs (in the main thread only;
    elsewhere the signals keep their handlers), then restore the previous handlers.

    Args:
        announce: print on stderr that the run will stop (False on all but rank 0).
    """
    request = StopRequest(announce)
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.signal(s, request.handle) for s in STOP_SIGNALS}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for an allocation that failed: ``MemoryError``, ``torch.OutOfMemoryError`` (CUDA) or the
    ``RuntimeError`` of torch's CPU allocator."""
    if isinstance(exc, MemoryError) or isinstance(exc, getattr(torch, "OutOfMemoryError", MemoryError)):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and ("can't allocate memory" in text or "not enough memory" in text)


def fault_reason(exc: BaseException) -> str | None:
    """A one-line reason for a fault of the machine (``disk full: ...``, ``out of memory: ...``,
    ``cannot write FILE: ...``), or None for any other exception (a bug, bad data)."""
    if is_out_of_memory(exc):
        text = " ".join(str(exc).split()) or type(exc).__name__
        detail = text[text.find("you tried"):] if "you tried" in text else text
        return f"out of memory ({detail[:200]})"
    if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError) and exc.errno is not None:
        where = f" writing {exc.filename}" if exc.filename else ""
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"disk full ({exc.strerror}){where}"
        return f"{exc.strerror}{where}"
    return None


def fault_advice(exc: BaseException, run_dir: str | None = None) -> str:
    """What to do after the fault `fault_reason` describes (and how to continue ``run_dir``)."""
    resume = f"spikeforge train --resume {run_dir}" if run_dir else ""
    if is_out_of_memory(exc):
        more = f", or continue this run on a machine with more memory with: {resume}" if resume else ""
        return f"use a smaller --batch-size, --hidden or --num-steps in a new run{more}"
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "free some disk space" + (f", then continue with: {resume}" if resume else " and try again")
    return "fix the cause" + (f", then continue with: {resume}" if resume else " and try again")
