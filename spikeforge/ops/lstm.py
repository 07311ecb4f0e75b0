"""`SLSTM` over a whole sequence as one LSTM operator, where its dynamics are a plain LSTM's.

With ``reset_mechanism="none"`` (SLSTM's default) and no state quantiser, the spiking LSTM's states never
feel its spikes: ``(mem, syn)`` follow ``(h, c)`` of the ``nn.LSTMCell`` (Hochreiter & Schmidhuber 1997)
step after step, and the spikes ``S[t] = H(mem[t] - theta) * g`` only read them. The sequence is then
``torch.lstm`` (the operator under ``nn.LSTM``: the input projection ``X W_ih^T + b_ih`` as one product
over all ``T*B`` rows, the recurrence and its backward in C++) followed by the firing rule on all steps
at once. Against the step loop the states and spikes are equal to rounding (the input projection's
product over ``T*B`` rows instead of ``B`` may round differently; the cell's element-wise update is
torch's ``lstm_cell``, in its order); on the SHD-sized benchmark (``bench/lstm_bench.py``) the training
iteration takes about 0.7x the step loop's time.

Not used (the step loop runs instead) with a subtract or zero reset (the reset feeds back into the
cell), a quantiser, inhibition, forward hooks on the cell, a cell that is not a plain ``nn.LSTMCell``,
states or weights of another dtype or device, a recorded trace (``torch.lstm`` returns only the last cell
state), or while compiling, exporting or tracing (the loop is what those record).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..core import Firing, LSTMState, SLSTMParams, slstm_step
from ..core._firing import NONE, fire
from ..runner import SequenceResult, register_kernel
from ..runner._loop import run_loop

__all__ = ["fits_slstm", "run_slstm"]


def _recording() -> bool:
    return (torch.compiler.is_compiling() or torch.jit.is_tracing()
            or getattr(torch.compiler, "is_exporting", lambda: False)())


def fits_slstm(xs: Tensor, state: LSTMState, p: SLSTMParams, f: Firing) -> bool:
    """True when `slstm_step` over ``xs[T, B, input_size]`` is a plain LSTM's sequence (see the module)."""
    cell = p.cell
    if type(cell) is not nn.LSTMCell or cell._forward_hooks or cell._forward_pre_hooks:
        return False
    if f.reset != NONE or f.state_quant is not None or f.inhibition or xs.dim() != 3 or _recording():
        return False
    w = cell.weight_ih
    return all(t.dtype == w.dtype and t.device == w.device for t in (xs, state.syn, state.mem))


def run_slstm(xs: Tensor, state: LSTMState, p: SLSTMParams, f: Firing, record: bool) -> SequenceResult:
    """`slstm_step` over ``xs[T, B, input_size]`` as ``torch.lstm`` and one firing over all steps (the step
    loop where a trace of every state is asked for)."""
    if record:
        return run_loop(slstm_step, xs, state, p, f, record)
    cell = p.cell
    weights = [cell.weight_ih, cell.weight_hh]
    if cell.bias:
        weights += [cell.bias_ih, cell.bias_hh]
    h, h_last, c_last = torch.lstm(
        xs, (state.mem.unsqueeze(0), state.syn.unsqueeze(0)), weights, cell.bias, 1, 0.0, cell.training,
        False, False,
    )
    spk = fire(h, p.threshold, p.graded, f)
    return SequenceResult(spk, LSTMState(c_last[0], h_last[0]), None)


register_kernel(slstm_step, fits_slstm, run_slstm)
