"""The networks of the workload benchmark (`bench/workloads.py`), one builder per library and style.

Every workload has canonical weights (plain torch layers made from one seed) and inputs; each builder
returns a `Built` whose ``params`` maps the canonical names onto its own parameters, so the harness can
load the same weights into every variant and compare gradients by name.

Workloads (the snntorch tutorials as users write them):

* ``mlp``: tutorial 5, 784-1000-10 ``Leaky(beta=0.95)``, the static image fed at every step, loss
  ``sum_t CE(mem2[t], y)``; ``mlp_infer`` is its inference (output spikes, ``torch.no_grad()``).
* ``csnn``: tutorial 6, ``Conv2d(1, 12, 5)``, ``MaxPool2d(2)``, ``Leaky``, ``Conv2d(12, 64, 5)``,
  ``MaxPool2d(2)``, ``Leaky``, ``Linear(1024, 10)``, ``Leaky`` (beta 0.5, ``fast_sigmoid(slope=25)``,
  ``init_hidden=True``), loss ``mean_t CE(spk[t], y)`` (snntorch's ``ce_rate_loss``).
* ``shd``: 700 -> ``RLeaky(beta=0.9, linear_features=256)`` (all-to-all) -> 20 ``Leaky(0.9)``, sparse
  input spikes, loss ``sum_t CE(mem2[t], y)``.
* ``linlif``: Open Neuromorphic: ``Linear(512, 512)`` + ``Leaky(0.95)``, fc inside the loop when stepped,
  loss ``spk.sum()``.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

#: per workload: time steps, batch, neuron constants, the optimiser's learning rate
WORKLOADS: dict[str, dict[str, Any]] = {
    "mlp": dict(T=25, B=128, beta=0.95, lr=5e-4, train=True, surrogate="atan"),
    "csnn": dict(T=25, B=64, beta=0.5, lr=1e-2, train=True, surrogate="fast_sigmoid"),
    "shd": dict(T=100, B=64, beta=0.9, lr=1e-3, train=True, surrogate="atan"),
    "mlp_infer": dict(T=25, B=1024, beta=0.95, lr=0.0, train=False, surrogate="atan"),
    "linlif": dict(T=500, B=16, beta=0.95, lr=1e-3, train=True, surrogate="atan"),
}


@dataclass
class Built:
    """A network ready to time: ``forward(data) -> (spk[T, B, C], mem[T, B, C] or None)``."""

    module: nn.Module
    forward: Callable[[dict[str, Tensor]], tuple[Tensor, Tensor | None]]
    params: dict[str, nn.Parameter]
    version: str
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def canonical(wl: str, seed: int) -> dict[str, Tensor]:
    """The workload's weights by canonical name (torch's default initialisation, seeded)."""
    torch.manual_seed(seed)
    if wl in ("mlp", "mlp_infer"):
        layers = dict(fc1=nn.Linear(784, 1000), fc2=nn.Linear(1000, 10))
    elif wl == "csnn":
        layers = dict(conv1=nn.Conv2d(1, 12, 5), conv2=nn.Conv2d(12, 64, 5), fc=nn.Linear(64 * 4 * 4, 10))
    elif wl == "shd":
        layers = dict(fc1=nn.Linear(700, 256), rec=nn.Linear(256, 256), fc2=nn.Linear(256, 20))
    else:
        layers = dict(fc=nn.Linear(512, 512))
    return {f"{k}.{n}": p.detach().clone() for k, m in layers.items() for n, p in m.named_parameters()}


def make_data(wl: str, cfg: dict[str, Any], seed: int) -> dict[str, Tensor]:
    """Inputs: ``x`` (one static frame for mlp/csnn, else ``[T, B, ...]``), ``x_seq`` ``[T, B, ...]``
    and class targets ``y``. MNIST-like frames: 20 % of the pixels lit, uniform in [0, 1)."""
    g = torch.Generator().manual_seed(seed + 1)
    T, B = cfg["T"], cfg["B"]
    if wl in ("mlp", "mlp_infer", "csnn"):
        shape = (B, 784) if wl != "csnn" else (B, 1, 28, 28)
        x = torch.rand(shape, generator=g) * (torch.rand(shape, generator=g) < 0.2)
        x_seq = x.unsqueeze(0).repeat(T, *([1] * x.dim()))
        return dict(x=x, x_seq=x_seq, y=torch.randint(0, 10, (B,), generator=g))
    if wl == "shd":
        x_seq = (torch.rand(T, B, 700, generator=g) < 0.03).float()
        return dict(x=x_seq, x_seq=x_seq, y=torch.randint(0, 20, (B,), generator=g))
    x_seq = torch.randn(T, B, 512, generator=g)
    return dict(x=x_seq, x_seq=x_seq, y=torch.zeros(B, dtype=torch.long))


def loss_fn(wl: str, spk: Tensor, mem: Tensor | None, y: Tensor) -> Tensor:
    """The same loss for every variant (vectorised over time; equal to the tutorials' loops)."""
    T, B = spk.shape[:2]
    if wl in ("mlp", "shd"):
        assert mem is not None
        return F.cross_entropy(mem.flatten(0, 1), y.repeat(T), reduction="sum") / B
    if wl == "csnn":
        return F.cross_entropy(spk.flatten(0, 1), y.repeat(T))
    return spk.sum()


# ----------------------------------------------------------------------------- snntorch-style code
def _surrogate(lib: Any, kind: str) -> Any:
    surrogate = importlib.import_module(f"{lib.__name__}.surrogate")  # from snntorch import surrogate
    return surrogate.fast_sigmoid(slope=25) if kind == "fast_sigmoid" else surrogate.atan()


def stepped(lib: Any, wl: str, cfg: dict[str, Any], wrap: Callable[[nn.Module], Any] = lambda m: m) -> Built:
    """The tutorial code, unchanged, with ``snn = lib`` (snntorch or spikeforge); the model is called
    through ``wrap(net)`` (e.g. ``torch.compile``)."""
    snn, beta, T = lib, cfg["beta"], cfg["T"]
    if wl in ("mlp", "mlp_infer"):

        class Net(nn.Module):  # tutorial 5
            def __init__(self) -> None:
                super().__init__()
                self.fc1 = nn.Linear(784, 1000)
                self.lif1 = snn.Leaky(beta=beta)
                self.fc2 = nn.Linear(1000, 10)
                self.lif2 = snn.Leaky(beta=beta)

            def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
                mem1 = self.lif1.init_leaky()
                mem2 = self.lif2.init_leaky()
                spk2_rec, mem2_rec = [], []
                for _step in range(T):
                    cur1 = self.fc1(x)
                    spk1, mem1 = self.lif1(cur1, mem1)
                    cur2 = self.fc2(spk1)
                    spk2, mem2 = self.lif2(cur2, mem2)
                    spk2_rec.append(spk2)
                    mem2_rec.append(mem2)
                return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)

        net = Net()
        run = wrap(net)
        return Built(net, lambda d: run(d["x"]), _names(net, fc1="fc1", fc2="fc2"), _ver(lib))
    if wl == "csnn":
        sg = _surrogate(lib, cfg["surrogate"])
        net = nn.Sequential(  # tutorial 6
            nn.Conv2d(1, 12, 5), nn.MaxPool2d(2), snn.Leaky(beta=beta, spike_grad=sg, init_hidden=True),
            nn.Conv2d(12, 64, 5), nn.MaxPool2d(2), snn.Leaky(beta=beta, spike_grad=sg, init_hidden=True),
            nn.Flatten(), nn.Linear(64 * 4 * 4, 10),
            snn.Leaky(beta=beta, spike_grad=sg, init_hidden=True, output=True),
        )

        run_c = wrap(net)
        utils = importlib.import_module(f"{lib.__name__}.utils")  # from snntorch import utils

        def forward_pass(d: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
            spk_rec, mem_rec = [], []
            utils.reset(net)
            for _step in range(T):
                spk_out, mem_out = run_c(d["x"])
                spk_rec.append(spk_out)
                mem_rec.append(mem_out)
            return torch.stack(spk_rec), torch.stack(mem_rec)

        return Built(net, forward_pass, _names(net, conv1="0", conv2="3", fc="7"), _ver(lib))
    if wl == "shd":

        class RNet(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.fc1 = nn.Linear(700, 256)
                self.rlif1 = snn.RLeaky(beta=beta, linear_features=256)
                self.fc2 = nn.Linear(256, 20)
                self.lif2 = snn.Leaky(beta=beta)

            def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
                spk1, mem1 = self.rlif1.init_rleaky()
                mem2 = self.lif2.init_leaky()
                spk2_rec, mem2_rec = [], []
                for step in range(x.size(0)):
                    cur1 = self.fc1(x[step])
                    spk1, mem1 = self.rlif1(cur1, spk1, mem1)
                    spk2, mem2 = self.lif2(self.fc2(spk1), mem2)
                    spk2_rec.append(spk2)
                    mem2_rec.append(mem2)
                return torch.stack(spk2_rec), torch.stack(mem2_rec)

        net = RNet()
        run_r = wrap(net)
        return Built(net, lambda d: run_r(d["x"]), _names(net, fc1="fc1", rec="rlif1.recurrent", fc2="fc2"),
                     _ver(lib))

    class LinLif(nn.Module):  # the Open Neuromorphic benchmark's snntorch model: fc inside the loop
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(512, 512)
            self.lif = snn.Leaky(beta=beta)

        def forward(self, x: Tensor) -> tuple[Tensor, None]:
            mem = self.lif.init_leaky()
            out = []
            for inp in x:
                spk, mem = self.lif(self.fc(inp), mem)
                out.append(spk)
            return torch.stack(out), None

    net = LinLif()
    run_l = wrap(net)
    return Built(net, lambda d: run_l(d["x"]), _names(net, fc="fc"), _ver(lib))


def sequence(wl: str, cfg: dict[str, Any], static: bool = False) -> Built:
    """The same networks as one `spikeforge.SequentialSNN` over ``x_seq[T, B, ...]``; with ``static``
    (mlp, mlp_infer, csnn) over the static frame ``x`` viewed at every step (``x.expand(T, ...)``, stride
    0 over time: the layers before the first neuron then run once)."""
    import spikeforge as snn

    def seq(d: dict[str, Tensor]) -> Tensor:
        return d["x"].expand(cfg["T"], *d["x"].shape) if static else d["x_seq"]

    beta = cfg["beta"]
    if wl in ("mlp", "mlp_infer", "shd"):
        n_in, n_hid, n_out = (784, 1000, 10) if wl != "shd" else (700, 256, 20)
        hidden = snn.RLeaky(beta=beta, linear_features=256) if wl == "shd" else snn.Leaky(beta=beta)
        net = snn.SequentialSNN(nn.Linear(n_in, n_hid), hidden, nn.Linear(n_hid, n_out), snn.Leaky(beta=beta))
        names = _names(net, fc1="0", fc2="2", **({"rec": "1.recurrent"} if wl == "shd" else {}))
        if not cfg["train"]:
            return Built(net, lambda d: (net(seq(d)), None), names, _ver(snn))

        def fwd(d: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
            spk, traces = net(seq(d), record=[-1])  # only the output layer's membrane
            return spk, traces[-1].states["mem"]

        return Built(net, fwd, names, _ver(snn))
    if wl == "csnn":
        sg = _surrogate(snn, cfg["surrogate"])
        net = snn.SequentialSNN(
            nn.Conv2d(1, 12, 5), nn.MaxPool2d(2), snn.Leaky(beta=beta, spike_grad=sg, init_hidden=True),
            nn.Conv2d(12, 64, 5), nn.MaxPool2d(2), snn.Leaky(beta=beta, spike_grad=sg, init_hidden=True),
            nn.Flatten(), nn.Linear(64 * 4 * 4, 10),
            snn.Leaky(beta=beta, spike_grad=sg, init_hidden=True, output=True),
        )
        return Built(net, lambda d: (net(seq(d)), None), _names(net, conv1="0", conv2="3", fc="7"),
                     _ver(snn))
    net = snn.SequentialSNN(nn.Linear(512, 512), snn.Leaky(beta=beta))
    return Built(net, lambda d: (net(d["x_seq"]), None), _names(net, fc="0"), _ver(snn))


# ----------------------------------------------------------------------------- lower bound
class _Spike(torch.autograd.Function):
    """Stateless ``H(x)`` with a surrogate derivative: atan (alpha 2) or fast sigmoid (slope 25)."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, kind: str) -> Tensor:  # noqa: D102
        ctx.save_for_backward(x)
        ctx.kind = kind
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, g: Tensor) -> tuple[Tensor, None]:  # noqa: D102
        (x,) = ctx.saved_tensors
        if ctx.kind == "fast_sigmoid":
            return g / (25 * x.abs() + 1) ** 2, None
        return g / (1 + (math.pi * x) ** 2), None


def bound(wl: str, cfg: dict[str, Any]) -> Built:
    """The same layers and weights once over ``[T*B, ...]``, every neuron a stateless spike
    ``H(I - 1)``; ``mem`` is the last layer's input current. The recurrent layer's GEMM runs once over
    the first spikes: ``s1 = H(a + rec(H(a - 1)) - 1)`` with ``a = fc1(x)``."""
    T, B, kind = cfg["T"], cfg["B"], cfg["surrogate"]

    def spike(x: Tensor) -> Tensor:
        return _Spike.apply(x - 1.0, kind)

    if wl in ("mlp", "mlp_infer", "shd"):
        n_in, n_hid, n_out = (784, 1000, 10) if wl != "shd" else (700, 256, 20)
        net = nn.ModuleDict(dict(fc1=nn.Linear(n_in, n_hid), fc2=nn.Linear(n_hid, n_out)))
        if wl == "shd":
            net["rec"] = nn.Linear(256, 256)

        def fwd(d: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
            a = net["fc1"](d["x_seq"].reshape(T * B, -1))
            s = spike(a)
            if wl == "shd":
                s = spike(a + net["rec"](s))
            mem = net["fc2"](s).view(T, B, -1)
            return spike(mem), mem

        return Built(net, fwd, _names(net, **{k: k for k in net}), torch.__version__)
    if wl == "csnn":
        net = nn.Sequential(nn.Conv2d(1, 12, 5), nn.MaxPool2d(2), nn.Conv2d(12, 64, 5), nn.MaxPool2d(2),
                            nn.Flatten(), nn.Linear(64 * 4 * 4, 10))

        def fwd_c(d: dict[str, Tensor]) -> tuple[Tensor, None]:
            h = spike(net[1](net[0](d["x_seq"].reshape(T * B, 1, 28, 28))))
            h = spike(net[3](net[2](h)))
            return spike(net[5](net[4](h))).view(T, B, -1), None

        return Built(net, fwd_c, _names(net, conv1="0", conv2="2", fc="5"), torch.__version__)
    fc = nn.Linear(512, 512)
    return Built(fc, lambda d: (spike(fc(d["x_seq"].reshape(T * B, -1))).view(T, B, -1), None),
                 _names(fc, fc=""), torch.__version__)


def _names(net: nn.Module, **prefixes: str) -> dict[str, nn.Parameter]:
    """Map ``canon.weight``/``canon.bias`` to ``net``'s parameters under each module prefix."""
    own = dict(net.named_parameters())
    out = {}
    for canon, prefix in prefixes.items():
        for leaf in ("weight", "bias"):
            name = f"{prefix}.{leaf}" if prefix else leaf
            out[f"{canon}.{leaf}"] = own[name]
    return out


def _ver(lib: Any) -> str:
    from importlib.metadata import version

    return version(lib.__name__)
