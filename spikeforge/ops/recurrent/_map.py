"""The recurrent map ``W`` of a dense RLeaky/RSynaptic (an ``nn.Linear`` or an ``nn.Conv2d`` whose output
has its input's shape) as plain tensors, with the three products the fused op needs: the forward product
(the module's own functional call, so values are bit-identical to the step loop's), the gradient with
respect to its input (one product per step) and the weight and bias gradients over a whole sequence."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from ..._hooks import hooked

#: ``conv`` of a Linear map
LINEAR: tuple[int, ...] = ()


class RecurrentMap(NamedTuple):
    """``W`` and ``b`` of the recurrence; ``conv`` is ``()`` for a Linear layer, else
    ``(stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w, groups)`` of a Conv2d."""

    weight: Tensor
    bias: Tensor | None
    conv: tuple[int, ...]

    def __call__(self, spk: Tensor) -> Tensor:
        """``W(S)`` for one step, ``S`` shaped as the neuron's state (exactly the module's forward)."""
        if not self.conv:
            return F.linear(spk, self.weight, self.bias)
        sh, sw, ph, pw, dh, dw, groups = self.conv
        return F.conv2d(spk, self.weight, self.bias, (sh, sw), (ph, pw), (dh, dw), groups)

    def product_into(self, spk: Tensor, out: Tensor) -> Tensor:
        """``W(S)`` for one contiguous spike row ``spk`` written into ``out`` (``spk``'s shape) when the
        map has an out-variant (Linear: the ``addmm``/``mm`` that ``F.linear`` calls); returns the result."""
        if self.conv:
            return self(spk)
        if self.bias is None:
            torch.mm(self._rows(spk), self.weight.t(), out=self._rows(out))
        else:
            torch.addmm(self.bias, self._rows(spk), self.weight.t(), out=self._rows(out))
        return out

    def _rows(self, t: Tensor) -> Tensor:
        """``t`` flattened to the 2-D (Linear) or 4-D (Conv2d) batch the products work on."""
        if not self.conv:
            return t.reshape(-1, t.shape[-1])
        return t.reshape(-1, *t.shape[-3:])

    def _conv_backward(self, grad: Tensor, spk: Tensor, mask: list[bool]) -> tuple[Tensor, Tensor, Tensor]:
        sh, sw, ph, pw, dh, dw, groups = self.conv
        bias_sizes = None if self.bias is None else list(self.bias.shape)
        return torch.ops.aten.convolution_backward(
            grad, spk, self.weight, bias_sizes, [sh, sw], [ph, pw], [dh, dw], False, [0, 0], groups, mask
        )

    def grad_input(self, grad: Tensor, spk: Tensor, out: Tensor | None = None) -> Tensor:
        """``dL/dS`` from ``grad = dL/dW(S)`` (``spk`` gives the shape), one product; written into ``out``
        (contiguous, ``spk``'s shape) when given."""
        if not self.conv:
            if out is None:
                return torch.mm(self._rows(grad), self.weight).view(spk.shape)
            torch.mm(self._rows(grad), self.weight, out=self._rows(out))
            return out
        res = self._conv_backward(self._rows(grad), self._rows(spk), [True, False, False])[0].view(spk.shape)
        return res if out is None else out.copy_(res)

    def grad_params(self, grads: Tensor, spk0: Tensor, spk: Tensor) -> tuple[Tensor, Tensor | None]:
        """``(dL/dW, dL/db)`` over a sequence: ``grads[t] = dL/dW(S[t-1])`` ``[T, B, ...]``, the previous
        spikes being ``spk0`` then ``spk[:-1]`` (two products, no copy of the spike trace)."""
        has_bias = self.bias is not None
        first, rest = self._rows(grads[0]), self._rows(grads[1:])
        if not self.conv:
            gw = torch.mm(first.t(), self._rows(spk0))
            if rest.shape[0]:
                gw.addmm_(rest.t(), self._rows(spk[:-1]))
            gb = self._rows(grads).sum(0) if has_bias else None
            return gw, gb
        mask = [False, True, has_bias]
        _, gw, gb = self._conv_backward(first, self._rows(spk0), mask)
        if rest.shape[0]:
            _, gw_rest, gb_rest = self._conv_backward(rest, self._rows(spk[:-1]), mask)
            gw = gw + gw_rest
            gb = gb + gb_rest if has_bias else None
        return gw, gb


def dense_map(rec: object, xs: Tensor) -> RecurrentMap | None:
    """The map of a plain ``nn.Linear(F, F)`` or zero-padded ``nn.Conv2d(C, C, ...)`` whose output has the
    shape of one step of ``xs`` ``[T, B, ...]``, with ``xs``'s dtype and device and no hooks; else None
    (the runner then keeps the step loop, which calls the module as it is)."""
    if type(rec) not in (nn.Linear, nn.Conv2d) or hooked(rec):
        return None
    assert isinstance(rec, (nn.Linear, nn.Conv2d))
    weight, bias = rec.weight, rec.bias
    for p in (weight, bias):
        if p is not None and (p.dtype != xs.dtype or p.device != xs.device):
            return None
    step = xs.shape[1:]
    if isinstance(rec, nn.Linear):
        ok = rec.in_features == rec.out_features and len(step) >= 1 and step[-1] == rec.in_features
        return RecurrentMap(weight, bias, LINEAR) if ok else None
    if rec.padding_mode != "zeros" or isinstance(rec.padding, str) or len(step) not in (3, 4):
        return None
    c, h, w = step[-3:]
    if rec.in_channels != c or rec.out_channels != c:
        return None
    size = [
        (n + 2 * p - d * (k - 1) - 1) // s + 1
        for n, p, d, k, s in zip((h, w), rec.padding, rec.dilation, rec.kernel_size, rec.stride)
    ]
    if size != [h, w]:
        return None
    return RecurrentMap(weight, bias, (*rec.stride, *rec.padding, *rec.dilation, rec.groups))
