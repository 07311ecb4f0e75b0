"""Bool masks of spike traces, computed once and shared between the autograd nodes that keep them.

The dense-recurrent op keeps its spike trace for the backward as a bool mask, and so does the
``Linear``/convolution over those spikes after it (`spikeforge._seqplan.SpikeInput`): both keep the same
mask rather than two equal ones. A mask is noted on the tensor that owns the trace's memory and found
again from any contiguous view of all of it (the layer gets the ``[T*B, ...]`` frames) for as long as
the trace is unchanged (its version counter) and some node still keeps the mask (a weak reference: the
trace does not keep it alive).
"""

from __future__ import annotations

import weakref

from torch import Tensor

_ATTR = "_spikeforge_mask"


def _owner(t: Tensor) -> Tensor | None:
    """The tensor whose memory ``t`` is, when ``t`` is all of it in order (itself, or a contiguous view
    of all of a contiguous tensor), else None."""
    base = t if t._base is None else t._base
    if t is base or (t.is_contiguous() and base.is_contiguous() and t.numel() == base.numel()
                     and t.storage_offset() == base.storage_offset()):
        return base
    return None


def remember(spk: Tensor, mask: Tensor) -> None:
    """Note that ``mask`` is ``spk.bool()`` (``spk`` as it is now)."""
    owner = _owner(spk)
    if owner is not None:
        setattr(owner, _ATTR, (owner._version, weakref.ref(mask)))


def bool_mask(t: Tensor) -> Tensor:
    """``t.bool()``: the mask noted for ``t``'s memory when there is one, else a new one."""
    owner = _owner(t)
    noted = None if owner is None else getattr(owner, _ATTR, None)
    if noted is not None and noted[0] == owner._version:
        mask = noted[1]()
        if mask is not None:
            return mask.view(t.shape)
    return t.bool()
