"""Sequence execution: `run` loops a step function over ``[T, B, ...]``, or a fused kernel."""

from ._loop import SequenceResult, find_kernel, register_kernel, run, run_loop

__all__ = ["SequenceResult", "find_kernel", "register_kernel", "run", "run_loop"]
