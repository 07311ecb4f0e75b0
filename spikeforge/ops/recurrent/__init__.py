"""Fused sequence kernels of ``RLeaky`` and ``RSynaptic`` with a dense recurrence: an ``nn.Linear(F, F)``
(``all_to_all`` with ``linear_features``) or an ``nn.Conv2d(C, C, ...)`` whose output keeps its input's
shape (``conv2d_channels``/``kernel_size``), with exact BPTT.

One operator (``torch.ops.spikeforge.recurrent_lif``, see ``_op.py``) runs the whole sequence: per step the
recurrent product ``W(S[t-1])`` (``F.linear``/``F.conv2d``, as the module computes it) and the neuron update
(``_loops.py``), so spikes and states are bit-identical to the step loop. Its backward walks time in
reverse with no autograd graph. With ``r = [U[t-1] > theta]`` (detached), ``v`` the membrane that fires,
``z = v - theta``, ``h = [z > 0]``, ``S = h*g``, ``s'`` the surrogate derivative at ``z``, per step::

    carried in:  dL/dS[t] += W^T-product of dL/dd[t+1];  dL/dU[t] += beta*dL/dbase[t+1];
                 dL/dI[t] += alpha*dL/dI[t+1]
    immediate reset (reset_delay=False, D = S/g - r; subtract U = v - D*theta, zero U = v - D*v):
        q = dL/dU * (theta or v)/g;  dL/dS -= q;  dL/dg += q*h
        subtract: dL/dtheta -= dL/dU * D, dL/dv = dL/dU;   zero: dL/dv = dL/dU * (1 - D)
    otherwise dL/dv = dL/dU
    dL/dz = dL/dS * g * s'(z);  dL/dv += dL/dz;  dL/dtheta -= dL/dz;  dL/dg += dL/dS * h
    reset:  subtract v = base - r*theta: dL/dbase = dL/dv, dL/dtheta -= r*dL/dv
            zero v = base - r*base: dL/dbase = (1 - r)*dL/dv;   none: dL/dbase = dL/dv
    base = beta*U[t-1] + d:  dL/dU[t-1] = beta*dL/dbase;  dL/dbeta += U[t-1]*dL/dbase
    RLeaky: d = X + W(S[t-1]), dL/dd = dL/dbase
    RSynaptic: d = I = alpha*I[t-1] + X + W(S[t-1]), dL/dd = dL/dbase + dL/dI (upstream + carried);
               dL/dI[t-1] = alpha*dL/dd;  dL/dalpha += I[t-1]*dL/dd
    dL/dX[t] = dL/dd;  dL/dS[t-1] = W-transpose product of dL/dd (one ``mm``/convolution per step)

After the loop, ``dL/dW = sum_t dL/dd[t]^T S[t-1]`` and ``dL/db = sum dL/dd``, one product over all ``T*B``
rows (``S[-1]`` the initial spike state). Saved for the backward: the inputs' initial states and
parameters and the op's outputs (spike trace as a bool mask, membrane and current traces; the pre-reset
membrane with ``reset_delay=False``). The final states are outputs of their own (copies of the last
step), whose gradients start the carried ones: a gradient reaching only the last step (the next time
chunk's, `SequentialSNN`) costs no zero-filled gradient of a whole trace.

A kernel fits when the firing configuration is plain (a surrogate with a ``kernel_id`` or
``heaviside_no_grad``; no ``state_quant``, no ``inhibition``), states and parameters share the input's dtype
and device (float32 parameters under float64 input are promoted, as the step functions do), and the
recurrence is exactly ``nn.Linear`` or ``nn.Conv2d`` (``padding_mode="zeros"``, numeric padding, same
in/out channels and spatial size) with weights of the input's dtype and device and no forward hooks.
The recurrent products are torch's (its thread count); the element-wise step is one serial compiled call
per step on CPU tensors (``cpu.py``: `spikeforge.ops._native`, or numba where it was not built) and torch
operations on any other device (``_loops.py``).
"""

from __future__ import annotations

from torch import Tensor

from ...core import (
    NONE,
    Firing,
    RLeakyParams,
    RLeakyState,
    RSynapticParams,
    RSynapticState,
    rleaky_step,
    rsynaptic_step,
)
from ...runner import SequenceResult, register_kernel
from .._surrogate_ids import NO_GRAD, plain_firing, surrogate_spec, tensors_fit
from . import _op  # noqa: F401 - defines torch.ops.spikeforge.recurrent_lif
from ._map import RecurrentMap, dense_map

__all__ = ["fits_dense", "run_rleaky_dense", "run_rsynaptic_dense"]


def fits_dense(xs: Tensor, state: RLeakyState | RSynapticState, p: RLeakyParams | RSynapticParams,
               firing: Firing) -> bool:
    """True when the fused dense-recurrent kernel can run this `rleaky_step`/`rsynaptic_step` call."""
    params = (p.beta, p.threshold, p.graded)
    if isinstance(p, RSynapticParams):
        params = (p.alpha, *params)
    return (
        plain_firing(firing)
        and tensors_fit(xs, tuple(state), params)
        and dense_map(p.recurrent, xs) is not None
    )


def _call(xs: Tensor, spk0: Tensor, syn0: Tensor | None, mem0: Tensor, alpha: Tensor | None, beta: Tensor,
          threshold: Tensor, graded: Tensor, rec: RecurrentMap, f: Firing) -> tuple[Tensor, ...]:
    dt = xs.dtype
    sid, p1, p2 = surrogate_spec(f.spike_fn) or (NO_GRAD, 0.0, 0.0)
    empty = xs.new_empty(0)
    return _op.recurrent_lif(
        xs, spk0, empty if syn0 is None else syn0, mem0, empty if alpha is None else alpha.clamp(0, 1).to(dt),
        beta.clamp(0, 1).to(dt), threshold.to(dt), graded.to(dt), rec.weight, rec.bias, list(rec.conv),
        syn0 is not None, f.reset, not f.reset_delay and f.reset != NONE, sid, p1, p2,
    )


def run_rleaky_dense(xs: Tensor, state: RLeakyState, p: RLeakyParams, f: Firing,
                     record: bool) -> SequenceResult:
    """Fused `spikeforge.core.rleaky_step` over ``xs[T, B, ...]`` with a Linear/Conv2d recurrence."""
    rec = dense_map(p.recurrent, xs)
    assert rec is not None, "run_rleaky_dense needs a map that fits_dense accepts"
    spk, mem, _, _, spk_last, mem_last, _ = _call(xs, state.spk, None, state.mem, None, p.beta, p.threshold,
                                                  p.graded, rec, f)
    return SequenceResult(spk, RLeakyState(spk_last, mem_last), RLeakyState(spk, mem) if record else None)


def run_rsynaptic_dense(xs: Tensor, state: RSynapticState, p: RSynapticParams, f: Firing,
                        record: bool) -> SequenceResult:
    """Fused `spikeforge.core.rsynaptic_step` over ``xs[T, B, ...]`` with a Linear/Conv2d recurrence."""
    rec = dense_map(p.recurrent, xs)
    assert rec is not None, "run_rsynaptic_dense needs a map that fits_dense accepts"
    spk, mem, syn, _, spk_last, mem_last, syn_last = _call(
        xs, state.spk, state.syn, state.mem, p.alpha, p.beta, p.threshold, p.graded, rec, f)
    trace = RSynapticState(spk, syn, mem) if record else None
    return SequenceResult(spk, RSynapticState(spk_last, syn_last, mem_last), trace)


register_kernel(rleaky_step, fits_dense, run_rleaky_dense)
register_kernel(rsynaptic_step, fits_dense, run_rsynaptic_dense)
