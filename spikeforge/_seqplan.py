"""How `SequentialSNN` runs each layer over a time-major sequence: memory layout, folding, and time
chunks without autograd.

The rules are measured on CPU (``bench/conv_layout.py``, ``bench/workloads.py``; figures in
``bench/RESULTS.md``). Every stateless layer runs once over the ``T*B`` frames of the sequence (T folded
into the batch): one call per time step was never faster once the layout is right, and on 2 threads it
is several times slower (one thread barrier per call). 2-D convolutions and poolings run on
channels-last (NHWC) frames, 1.3-3x faster than on contiguous (NCHW) frames, where folding is what
makes a convolution slower than stepping; element-wise neurons take those frames as they are, as a
``[T, B, H, W, C]`` permutation. The layout changes only the order of floating-point sums inside a
convolution, so results agree with the contiguous computation to rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from .core import OneToOne
from .neurons import SpikingNeuron

#: layers run on channels-last frames on CPU (4-D input ``[T*B, C, H, W]``)
CHANNELS_LAST = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
#: without autograd, a sequence is run in chunks of time steps whose widest activation stays under this;
#: smaller chunks hold less but pay more often each neuron call's fixed work on ``[B, N]`` tensors
#: (the MLP of snntorch's tutorial 5 at batch 1024: 48 MB and 1.8x the time at one step per chunk,
#: 95 MB at 16 MB chunks, 223 MB and 0.9x the time at 64 MB; bench/RESULTS.md)
CHUNK_BYTES = 16 << 20
#: with autograd, the budget of a chunk's widest activation: each chunk's inputs to the layers and the
#: neurons' traces are kept for the backward whatever the chunking (as the step loop keeps them), so
#: only what a chunk holds for a moment (a layer's output before the neuron consumes it, the gradients
#: flowing through a chunk in the backward) scales with this
GRAD_CHUNK_BYTES = 4 << 20

#: layers that act on each frame alone (when their ``forward`` is torch's own), so running them over
#: fewer frames (time steps or chunks of them) or on channels-last frames computes the same thing
_PER_FRAME = (
    nn.Linear, nn.Bilinear, nn.modules.conv._ConvNd, nn.Flatten, nn.Unflatten, nn.Identity,
    nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd, nn.modules.pooling._AdaptiveAvgPoolNd,
    nn.modules.pooling._AdaptiveMaxPoolNd, nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.GELU, nn.ELU,
    nn.Softplus, nn.Hardtanh, nn.modules.padding._ConstantPadNd, nn.modules.padding._ReflectionPadNd,
    nn.modules.padding._ReplicationPadNd,
)
#: per frame in eval mode only (batch statistics and random masks in training)
_EVAL_PER_FRAME = (nn.modules.batchnorm._BatchNorm, nn.modules.dropout._DropoutNd)


def per_frame(layer: nn.Module) -> bool:
    """True if ``layer`` maps each frame (sample) of its input on its own: a torch layer of the kinds
    above (a subclass that overrides ``forward`` could mix frames, so it is not trusted)."""
    owner = next(c for c in type(layer).__mro__ if "forward" in vars(c))
    if not owner.__module__.startswith("torch.nn."):
        return False
    if isinstance(layer, _EVAL_PER_FRAME):
        return not layer.training
    if isinstance(layer, nn.Flatten) and layer.start_dim == 0:
        return False
    return isinstance(layer, _PER_FRAME)


def layout(layer: nn.Module, frames: Tensor) -> Tensor:
    """``frames`` in the layout ``layer`` gets: channels-last where it runs faster (CPU, 2-D spatial
    torch layers), contiguous for a layer not known to act per frame (custom code may ``view`` its
    input), else unchanged. ``empty_like(...).copy_`` also gives a one-channel tensor channels-last
    strides, which ``Tensor.contiguous(memory_format=...)`` leaves alone."""
    if not per_frame(layer):
        return frames.contiguous()
    if (isinstance(layer, CHANNELS_LAST) and frames.dim() == 4 and frames.device.type == "cpu"
            and frames.is_floating_point() and frames.stride(1) != 1):
        return torch.empty_like(frames, memory_format=torch.channels_last).copy_(frames)
    return frames


def apply_layer(layer: nn.Module, h: Tensor) -> Tensor:
    """Run a stateless ``layer`` once over the ``T*B`` frames of ``h[T, B, ...]``, in the layout above."""
    T, B = h.shape[:2]
    out = layer(layout(layer, h.reshape(T * B, *h.shape[2:])))
    return out.reshape(T, B, *out.shape[1:])


def dense_order(h: Tensor) -> tuple[int, ...] | None:
    """A permutation of the per-step dims that makes ``h[T, B, ...]`` contiguous (e.g. channels-last
    frames as ``[T, B, H, W, C]``), or None when ``h`` is contiguous already or no such one exists."""
    if h.is_contiguous() or h.dim() < 4:
        return None
    rest = sorted(range(2, h.dim()), key=lambda d: -h.stride(d))
    perm = (0, 1, *rest)
    return perm if h.permute(perm).is_contiguous() else None


def inverse(perm: Sequence[int]) -> tuple[int, ...]:
    """The permutation that undoes ``perm``."""
    out = [0] * len(perm)
    for i, p in enumerate(perm):
        out[p] = i
    return tuple(out)


def elementwise(neuron: SpikingNeuron) -> bool:
    """True if ``neuron`` treats every element on its own with scalar parameters, so it may run on
    any permutation of its input's per-step dims."""
    if neuron.inhibition or callable(neuron.state_quant):
        return False
    for value in neuron.params():
        if isinstance(value, OneToOne):
            value = value.V
        if not isinstance(value, Tensor) or value.numel() != 1:
            return False
    return True


def _stepwise(net: nn.Sequential) -> bool:
    """True if every layer of ``net`` is a sequence neuron or acts per frame, so that running the
    sequence in chunks of time steps (states carried between chunks) computes the same thing."""
    return all((isinstance(m, SpikingNeuron) and type(m)._step_fn is not None) or per_frame(m) for m in net)


def time_chunks(net: nn.Sequential, x: Tensor, record: bool) -> bool:
    """True if ``net`` may run ``x`` in chunks of time steps without autograd: nothing needs autograd
    (``no_grad`` or no tensor requiring grad), no traces are recorded, and every stateless layer acts
    per frame."""
    if record:
        return False
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in net.parameters())):
        return False
    return _stepwise(net)


def grad_chunks(net: nn.Sequential, record: bool) -> bool:
    """True if ``net`` may run in chunks of time steps with autograd (one autograd graph per chunk,
    the states and their gradients carried from chunk to chunk): no traces are recorded, every
    stateless layer acts per frame (in training mode batch norm and dropout do not) and nothing is
    being compiled (``torch.compile`` traces the whole-sequence path)."""
    if record or torch.compiler.is_compiling():
        return False
    return _stepwise(net)


def chunk_steps(T: int, B: int, widest: int, itemsize: int, budget: int | None = None) -> int:
    """Time steps per chunk so that the widest activation (``widest`` elements per frame) of a chunk
    stays under ``budget`` bytes (default `CHUNK_BYTES`; at least one step), the chunks of ``T``
    steps as even as that allows."""
    budget = CHUNK_BYTES if budget is None else budget
    k = max(1, min(T, budget // max(1, B * widest * itemsize)))
    n = -(-T // k)
    return -(-T // n)
