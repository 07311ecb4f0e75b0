"""How `SequentialSNN` runs each layer over a time-major sequence: memory layout, folding, and time
chunks (with and without autograd), and layers over spikes that keep bool masks.

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
from typing import Any

import torch
from torch import Tensor, nn

from ._hooks import hooked
from .core import OneToOne
from .neurons import SpikingNeuron
from .ops._masks import bool_mask
from .ops._surrogate_ids import plain_firing

#: layers run on channels-last frames on CPU (4-D input ``[T*B, C, H, W]``)
CHANNELS_LAST = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
#: without autograd, a sequence is run in chunks of time steps whose widest activation stays under this
#: (the MLP of snntorch's tutorial 5 at batch 1024, one step per chunk: 4 MB; as fast as 8 or 16 MB
#: chunks since the kernels no longer copy per-neuron parameters per call; bench/RESULTS.md)
CHUNK_BYTES = 4 << 20
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
            and frames.is_floating_point() and frames.stride(1) != 1 and not transformed()):
        return torch.empty_like(frames, memory_format=torch.channels_last).copy_(frames)
    return frames


def apply_layer(layer: nn.Module, h: Tensor, spikes: bool = False) -> Tensor:
    """Run a stateless ``layer`` once over the ``T*B`` frames of ``h[T, B, ...]``, in the layout above.
    ``spikes``: ``h`` holds only 0s and 1s (see `keeps_spikes`), so a Linear or convolution that trains
    its weight may keep it for the backward as a bool mask (`SpikeInput`)."""
    T, B = h.shape[:2]
    frames = layout(layer, h.reshape(T * B, *h.shape[2:]))
    out = SpikeInput.run(layer, frames) if spikes and SpikeInput.fits(layer, frames) else layer(frames)
    return out.reshape(T, B, *out.shape[1:])


#: layers whose output holds only values of their input (0s and 1s stay 0s and 1s)
_SELECTING = (nn.Flatten, nn.Unflatten, nn.Identity, nn.modules.pooling._MaxPoolNd,
              nn.modules.pooling._AdaptiveMaxPoolNd)


def spike_output(neuron: SpikingNeuron) -> bool:
    """True if ``neuron``'s output holds only 0s and 1s: a spike function with a binary forward (a
    surrogate the fused kernels know, or ``heaviside_no_grad``; a custom ``spike_grad`` may return
    anything) and a graded spike factor of one value equal to 1."""
    if torch.compiler.is_compiling():  # traced (compile, export): reading g's value would guard on data
        return False
    if torch._C._len_torch_dispatch_stack() > 0:  # e.g. FakeTensorMode: no value to read, even of real g
        return False
    g = neuron.graded_spikes_factor
    if isinstance(g, Tensor):
        # no device sync for the check; a meta or fake factor has no value to read
        if g.numel() != 1 or g.device.type != "cpu" or type(g) not in (Tensor, nn.Parameter):
            return False
        if float(g.detach()) != 1.0:  # detached: a learnable factor's value, without autograd's warning
            return False
    elif g != 1:
        return False
    return plain_firing(neuron.firing())


def keeps_spikes(layer: nn.Module) -> bool:
    """True if a stateless ``layer`` (torch's own forward) passes 0s and 1s on as 0s and 1s."""
    return isinstance(layer, _SELECTING) and per_frame(layer)


def _autocast() -> bool:
    """True inside ``torch.autocast`` (any device): the layer would then compute in a lower precision
    from casts of its input, which the mask does not rebuild."""
    try:
        return any(torch.is_autocast_enabled(d) for d in ("cpu", "cuda"))
    except TypeError:  # torch < 2.4: no device argument
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


class SpikeInput(torch.autograd.Function):
    """``nn.Linear`` or ``nn.ConvNd`` over spikes (0s and 1s) that keeps its input for the weight
    gradient as a bool mask: a quarter of the float32 spikes the layer would keep (an eighth of
    float64), which is most of what a spiking network stores for its backward besides the membrane
    traces. The backward rebuilds the floats (exactly: they were 0s and 1s) and computes what torch's
    own backward of the layer computes (``mm`` products as ``addmm``'s backward, or
    ``aten.convolution_backward``)."""

    @staticmethod
    def fits(layer: nn.Module, frames: Tensor) -> bool:
        """Worth it and exact: autograd records, the weight trains, torch's forward of a plain Linear or
        zero-padded convolution, no module hooks (they would be skipped), no autocast, nothing being
        compiled or transformed by ``torch.func``."""
        weight = getattr(layer, "weight", None)
        if not (torch.is_grad_enabled() and isinstance(weight, Tensor) and weight.requires_grad):
            return False
        if torch.compiler.is_compiling() or transformed() or _autocast() or hooked(layer, backward=True):
            return False
        if not per_frame(layer) or frames.dtype not in (torch.float32, torch.float64, torch.float16,
                                                        torch.bfloat16):
            return False
        if type(layer) is nn.Linear:
            return True
        return type(layer) in (nn.Conv1d, nn.Conv2d, nn.Conv3d) and layer.padding_mode == "zeros" and \
            not isinstance(layer.padding, str)

    @staticmethod
    def run(layer: nn.Module, frames: Tensor) -> Tensor:
        conv = None
        if not isinstance(layer, nn.Linear):
            conv = (tuple(layer.stride), tuple(layer.padding), tuple(layer.dilation), layer.groups)
        return SpikeInput.apply(frames, layer.weight, layer.bias, conv)

    @staticmethod
    def forward(ctx: Any, x: Tensor, weight: Tensor, bias: Tensor | None, conv: tuple | None) -> Tensor:
        if conv is None:
            out = nn.functional.linear(x, weight, bias)
        else:
            fn = (nn.functional.conv1d, nn.functional.conv2d, nn.functional.conv3d)[x.dim() - 3]
            out = fn(x, weight, bias, *conv)
        # 0/1 floats to bool (a vectorised cast, 5x faster than != 0); the mask the op before kept, if any
        ctx.save_for_backward(bool_mask(x), weight)
        ctx.conv, ctx.has_bias, ctx.dtype = conv, bias is not None, x.dtype
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, ...]:
        mask, weight = ctx.saved_tensors
        x = mask.view(torch.uint8).to(ctx.dtype)  # keeps the strides; from uint8 4x faster than from bool
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        if ctx.conv is not None:
            stride, padding, dilation, groups = ctx.conv
            gx, gw, gb = torch.ops.aten.convolution_backward(
                grad, x, weight, [weight.shape[0]] if ctx.has_bias else None, list(stride), list(padding),
                list(dilation), False, [0] * len(stride), groups, [need_x, need_w, need_b and ctx.has_bias])
            return gx, gw, gb, None
        g2, x2 = grad.reshape(-1, grad.shape[-1]), x.reshape(-1, x.shape[-1])
        gx = grad.matmul(weight) if need_x else None
        gw = g2.t().mm(x2) if need_w else None  # as addmm's backward computes it (3x faster than x2.t() @ g2)
        gb = g2.sum(0) if need_b and ctx.has_bias else None
        return gx, gw, gb, None


def recording() -> bool:
    """True while ``torch.jit.trace`` or ``torch.export`` records a program: one that runs later on other
    inputs without the Python that recorded it, so nothing decided from the example's values or sizes
    (a static input, a number of time chunks) may shape it. (``torch.compile`` guards on what it
    specialised on and recompiles.)"""
    return torch.jit.is_tracing() or getattr(torch.compiler, "is_exporting", lambda: False)()


def static_input(x: Tensor) -> bool:
    """True if ``x[T, B, ...]`` is one step's frames viewed at every step (stride 0 over time, ``T > 1``):
    the stateless layers before the first neuron may then run once, on ``x[:1]``. Never while exporting
    or tracing (``torch.export``, ``torch.jit.trace``): the program recorded would read only the first
    step of whatever input it is later given, which nothing checks (``torch.compile`` guards on the
    strides and recompiles)."""
    if recording():
        return False
    return x.dim() >= 2 and x.shape[0] > 1 and x.stride(0) == 0


def dense_order(h: Tensor) -> tuple[int, ...] | None:
    """A permutation of the per-step dims that makes ``h[T, B, ...]`` contiguous (e.g. channels-last
    frames as ``[T, B, H, W, C]``; for a static input, each step contiguous), or None when ``h`` is
    contiguous already or no such one exists."""
    one = h[:1] if static_input(h) else h
    if one.is_contiguous() or h.dim() < 4:
        return None
    rest = sorted(range(2, h.dim()), key=lambda d: -h.stride(d))
    perm = (0, 1, *rest)
    return perm if one.permute(perm).is_contiguous() else None


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
    sequence in chunks of time steps (states carried between chunks) computes the same thing, and no
    layer has hooks (a hook sees whatever frames the layer gets: it may mix them, and monitors expect
    one call per forward)."""
    return all(((isinstance(m, SpikingNeuron) and type(m)._step_fn is not None) or per_frame(m))
               and not hooked(m, backward=True) for m in net)


def transformed() -> bool:
    """True inside a ``torch.func`` transform (``vmap``, ``grad``, ...), where autograd Functions without
    a vmap rule cannot run: the whole sequence then runs at once through torch's own layers (``grad``
    still fails in the fused neuron operators, whose autograd has no functorch support)."""
    return torch._C._functorch.peek_interpreter_stack() is not None


def time_chunks(net: nn.Sequential, x: Tensor, record: bool) -> bool:
    """True if ``net`` may run ``x`` in chunks of time steps without autograd: nothing needs autograd
    (``no_grad`` or no tensor requiring grad), no traces are recorded, every stateless layer acts
    per frame, and no program is being recorded (`recording`: the number of chunks depends on the
    example's sizes, and a traced program would run the example's number of steps on a longer input;
    an exported one with dynamic sizes could not be made)."""
    if record or recording():
        return False
    if torch.is_grad_enabled() and (x.requires_grad or any(p.requires_grad for p in net.parameters())):
        return False
    return _stepwise(net)


def grad_chunks(net: nn.Sequential, record: bool) -> bool:
    """True if ``net`` may run in chunks of time steps with autograd (one autograd graph per chunk,
    the states and their gradients carried from chunk to chunk): no traces are recorded, every
    stateless layer acts per frame (in training mode batch norm and dropout do not) and nothing is
    being compiled (``torch.compile`` traces the whole-sequence path), transformed (``torch.func``) or
    recorded (`recording`)."""
    if record or torch.compiler.is_compiling() or transformed() or recording():
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
