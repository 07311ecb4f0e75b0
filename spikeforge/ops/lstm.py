"""`SLSTM` over a whole sequence as one LSTM operator, where its dynamics are a plain LSTM's.

With ``reset_mechanism="none"`` (SLSTM's default) and no state quantiser, the spiking LSTM's states never
feel its spikes: ``(mem, syn)`` follow ``(h, c)`` of the ``nn.LSTMCell`` (Hochreiter & Schmidhuber 1997)
step after step, and the spikes ``S[t] = H(mem[t] - theta) * g`` only read them. The sequence is then
``torch.lstm`` (the operator under ``nn.LSTM``: the input projection ``X W_ih^T + b_ih`` as one product
over all ``T*B`` rows, the recurrence in C++) followed by the firing rule on all steps at once. Against
the step loop the states and spikes are equal to rounding (the input projection over ``T*B`` rows
instead of ``B`` may round differently; the cell's element-wise update is torch's ``lstm_cell``).

Which implementation of ``torch.lstm`` runs (``bench/lstm_bench.py``, T=100, B=64, 700 -> 256, 1 thread):

* nothing needs a gradient (``torch.no_grad()``, or no input, state or weight requiring one): oneDNN's
  (mkldnn) where torch has it, about 0.4x the step loop's time;
* training: torch's own C++ loop, oneDNN turned off for the call: oneDNN would keep a workspace of about
  three times the step loop's saved tensors (195 against 68 MiB there) and has no forward-mode AD. That
  loop takes about 0.9x the step loop's time and saves the same tensors.

Not used (the step loop runs instead) with a subtract or zero reset (the reset feeds back into the cell),
a quantiser, inhibition, a spike function that is not one of `spikeforge.surrogate`'s element-wise
surrogates (a function of the whole ``[B, H]`` row, or a random one, would change meaning or draws over
``[T, B, H]``), a threshold or graded factor that does not broadcast to the state's shape, hooks on the
cell (forward or backward, its own or global), a cell that is not a plain ``nn.LSTMCell``, states or
weights of another dtype or device, tensors not on the CPU (cuDNN is untested), autocast (``torch.lstm``
would run in the lower precision, the loop's element-wise update does not), a recorded trace
(``torch.lstm`` returns only the last cell state), or while compiling, exporting or tracing (the loop is
what those record).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.autograd import forward_ad

from .._hooks import hooked
from .._seqplan import recording
from ..core import Firing, LSTMState, SLSTMParams, slstm_step
from ..core._firing import NONE, fire
from ..runner import SequenceResult, register_kernel
from ..runner._loop import run_loop
from ._surrogate_ids import broadcasts_to, plain_firing

__all__ = ["fits_slstm", "run_slstm"]


def _autocast() -> bool:
    try:
        return torch.is_autocast_enabled("cpu")
    except TypeError:  # torch < 2.4
        return torch.is_autocast_cpu_enabled()


def fits_slstm(xs: Tensor, state: LSTMState, p: SLSTMParams, f: Firing) -> bool:
    """True when `slstm_step` over ``xs[T, B, input_size]`` is a plain LSTM's sequence (see the module)."""
    cell = p.cell
    if type(cell) is not nn.LSTMCell or hooked(cell, backward=True):
        return False
    if f.reset != NONE or not plain_firing(f) or xs.dim() != 3 or _autocast():
        return False
    if torch.compiler.is_compiling() or recording():  # the loop is what those record
        return False
    shape = state.mem.shape
    if not (broadcasts_to(p.threshold.shape, shape) and broadcasts_to(p.graded.shape, shape)):
        return False
    w = cell.weight_ih
    return w.device.type == "cpu" and all(t.dtype == w.dtype and t.device == w.device
                                          for t in (xs, state.syn, state.mem))


def _needs_grad(xs: Tensor, state: LSTMState, cell: nn.LSTMCell) -> bool:
    if getattr(forward_ad, "_current_level", -1) >= 0:  # forward-mode AD: oneDNN has none
        return True
    return torch.is_grad_enabled() and any(
        t.requires_grad for t in (xs, state.syn, state.mem, *cell.parameters()))


def run_slstm(xs: Tensor, state: LSTMState, p: SLSTMParams, f: Firing, record: bool) -> SequenceResult:
    """`slstm_step` over ``xs[T, B, input_size]`` as ``torch.lstm`` and one firing over all steps (the step
    loop where a trace of every state is asked for)."""
    if record:
        return run_loop(slstm_step, xs, state, p, f, record)
    cell = p.cell
    weights = [cell.weight_ih, cell.weight_hh]
    if cell.bias:
        weights += [cell.bias_ih, cell.bias_hh]
    args = (xs, (state.mem.unsqueeze(0), state.syn.unsqueeze(0)), weights, cell.bias, 1, 0.0, cell.training,
            False, False)
    if _needs_grad(xs, state, cell) and torch._C._get_mkldnn_enabled():
        torch._C._set_mkldnn_enabled(False)  # see the module: oneDNN's workspace, no forward AD
        try:
            h, h_last, c_last = torch.lstm(*args)
        finally:
            torch._C._set_mkldnn_enabled(True)
    else:
        h, h_last, c_last = torch.lstm(*args)
    spk = fire(h, p.threshold, p.graded, f)
    return SequenceResult(spk, LSTMState(c_last[0], h_last[0]), None)


register_kernel(slstm_step, fits_slstm, run_slstm)
