"""Peer libraries' versions of the workload networks (`bench/wl_models.py`): spikingjelly and norse.

They model the same LIF as closely as each API allows; the remaining differences are in each
builder's ``notes``. Weights are the canonical ones (``Built.params`` or ``Built.extra["load"]``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from wl_models import Built, _names, _ver


def spikingjelly(wl: str, cfg: dict[str, Any]) -> Built:
    """spikingjelly multi-step (``step_mode='m'``): ``LIFNode(tau=1/(1-beta), decay_input=False,
    v_reset=None, detach_reset=True)``, ATan surrogate; on CPU its LIF runs its torch loop."""
    import spikingjelly
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def lif(mode: str = "m", store: bool = False) -> nn.Module:
        return neuron.LIFNode(tau=1.0 / (1.0 - cfg["beta"]), decay_input=False, v_threshold=1.0, v_reset=None,
                              surrogate_function=surrogate.ATan(), detach_reset=True, step_mode=mode,
                              store_v_seq=store)

    notes = "subtract reset in the spiking step (snntorch: next step); spike if v >= 1"
    load = None
    if wl in ("mlp", "mlp_infer"):
        net = nn.Sequential(layer.Linear(784, 1000, step_mode="m"), lif(),
                            layer.Linear(1000, 10, step_mode="m"), lif(store=True))
        names = _names(net, fc1="0", fc2="2")
    elif wl == "csnn":
        net = nn.Sequential(
            layer.Conv2d(1, 12, 5, step_mode="m"), layer.MaxPool2d(2, step_mode="m"), lif(),
            layer.Conv2d(12, 64, 5, step_mode="m"), layer.MaxPool2d(2, step_mode="m"), lif(),
            layer.Flatten(step_mode="m"), layer.Linear(64 * 4 * 4, 10, step_mode="m"), lif(),
        )
        names = _names(net, conv1="0", conv2="3", fc="7")
        notes += "; ATan surrogate (no fast sigmoid in spikingjelly)"
    elif wl == "shd":
        # the container feeds Linear([x, y[t-1]]) to its neuron: fc1 runs multi-step first, the container's
        # Linear is [I, W_rec] without bias (rec's bias joins fc1's), as its documentation suggests
        rc = layer.LinearRecurrentContainer(lif("s"), in_features=256, out_features=256, bias=False,
                                            step_mode="m")
        net = nn.Sequential(layer.Linear(700, 256, step_mode="m"), rc, layer.Linear(256, 20, step_mode="m"),
                            lif(store=True))
        names = _names(net, fc2="2")

        def load(canon: dict[str, Tensor]) -> None:
            with torch.no_grad():
                net[0].weight.copy_(canon["fc1.weight"])
                net[0].bias.copy_(canon["fc1.bias"] + canon["rec.bias"])
                rc.rc.weight.copy_(torch.cat([torch.eye(256), canon["rec.weight"]], dim=1))

        notes += "; LinearRecurrentContainer: Linear(512, 256) on [fc1(x)[t], y[t-1]] per step, [I W] trained"
    else:
        net = nn.Sequential(layer.Linear(512, 512, step_mode="m"), lif())
        names = _names(net, fc="0")

    def fwd(d: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
        functional.reset_net(net)
        spk = net(d["x_seq"])
        last = net[-1]
        return spk, (last.v_seq if getattr(last, "store_v_seq", False) else None)

    built = Built(net, fwd, names, _ver(spikingjelly), notes)
    built.extra["load"] = load
    return built


def norse(wl: str, cfg: dict[str, Any]) -> Built:
    """norse 1.1.0 ``LIFBoxCell`` (LIF without a synaptic current) stepped over time, decay
    ``1 - dt*tau_mem_inv = beta``; the membrane is in units scaled by ``a = 1 - beta`` (threshold
    ``a``) and divided back for the loss. SHD: ``LIFRecurrentCell`` (current-based, hard reset,
    no bias, no self-connections), the closest model norse has."""
    import norse as nr
    from norse.torch import LIFBoxCell, LIFBoxParameters, LIFParameters, LIFRecurrentCell
    from norse.torch.functional.reset import reset_subtract

    dt, beta = 1e-3, cfg["beta"]
    a = 1.0 - beta
    p = LIFBoxParameters(tau_mem_inv=torch.as_tensor(a / dt), v_th=torch.as_tensor(a),
                         reset_method=reset_subtract)
    notes = "SuperSpike surrogate; reset in the spiking step; states scaled by 1-beta"
    if wl in ("mlp", "mlp_infer", "linlif", "csnn"):
        if wl == "csnn":
            net = nn.ModuleDict(dict(conv1=nn.Conv2d(1, 12, 5), conv2=nn.Conv2d(12, 64, 5),
                                     fc=nn.Linear(64 * 4 * 4, 10)))
            names = _names(net, conv1="conv1", conv2="conv2", fc="fc")
        elif wl == "linlif":
            net = nn.ModuleDict(dict(fc=nn.Linear(512, 512)))
            names = _names(net, fc="fc")
        else:
            net = nn.ModuleDict(dict(fc1=nn.Linear(784, 1000), fc2=nn.Linear(1000, 10)))
            names = _names(net, fc1="fc1", fc2="fc2")
        cells = [LIFBoxCell(p, dt=dt) for _ in range(3)]
        pool = nn.MaxPool2d(2)

        def fwd(d: dict[str, Tensor]) -> tuple[Tensor, Tensor | None]:
            s = [None, None, None]
            spk_rec, mem_rec = [], []
            frames = d["x_seq"].unbind(0) if wl == "linlif" else [d["x"]] * cfg["T"]
            for x in frames:
                if wl == "csnn":
                    z, s[0] = cells[0](pool(net["conv1"](x)), s[0])
                    z, s[1] = cells[1](pool(net["conv2"](z)), s[1])
                    z, s[2] = cells[2](net["fc"](z.flatten(1)), s[2])
                elif wl == "linlif":
                    z, s[0] = cells[0](net["fc"](x), s[0])
                else:
                    z, s[0] = cells[0](net["fc1"](x), s[0])
                    z, s[1] = cells[1](net["fc2"](z), s[1])
                spk_rec.append(z)
                mem_rec.append(s[1].v / a if wl in ("mlp", "mlp_infer") else z)
            return torch.stack(spk_rec), torch.stack(mem_rec)

        return Built(net, fwd, names, _ver(nr), notes)
    pr = LIFParameters(tau_syn_inv=torch.as_tensor(1.0 / dt), tau_mem_inv=torch.as_tensor(a / dt),
                       v_th=torch.as_tensor(a))
    rcell = LIFRecurrentCell(700, 256, p=pr, dt=dt)
    fc2 = nn.Linear(256, 20)
    out_cell = LIFBoxCell(p, dt=dt)
    net = nn.ModuleDict(dict(rcell=rcell, fc2=fc2))
    names = _names(net, fc2="fc2")

    def load(canon: dict[str, Tensor]) -> None:
        with torch.no_grad():
            rcell.input_weights.copy_(canon["fc1.weight"])
            rcell.recurrent_weights.copy_(canon["rec.weight"])

    def fwd_r(d: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        s1 = s2 = None
        spk_rec, mem_rec = [], []
        for x in d["x_seq"].unbind(0):
            z, s1 = rcell(x, s1)
            z, s2 = out_cell(fc2(z), s2)
            spk_rec.append(z)
            mem_rec.append(s2.v / a)
        return torch.stack(spk_rec), torch.stack(mem_rec)

    built = Built(net, fwd_r, names, _ver(nr), notes + "; LIFRecurrentCell: current-based, hard reset")
    built.extra["load"] = load
    return built
