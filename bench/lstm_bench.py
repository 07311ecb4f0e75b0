"""Does a sequence-level SLSTM pay (issue 14, item 4: "the SLSTM and SConv2dLSTM too if the benchmark
shows it pays")? One training iteration of ``SLSTM(700, 256)`` on a SHD-sized input (T=100, B=64, 3 %
input spikes; threshold 0.05, as the hidden state lies in (-1, 1)), its spikes summed over time into
``Linear(256, 20)`` and a cross-entropy loss, ``Adam``.

Variants, each in a fresh process, interleaved over rounds (min and median ms; then the forward alone
under ``torch.no_grad()``, min ms):

* ``snntorch``: snntorch 1.0.0's ``SLSTM`` stepped in a Python loop (the tutorial way);
* ``sf_stepped``: the same code with ``import spikeforge as snn``;
* ``sf_seq``: ``SLSTM.forward_sequence`` (what ``SequentialSNN`` calls);
* ``fold``: a prototype written here, not in the library: the input projection ``X W_ih^T + b_ih`` as
  one product over all ``T*B`` rows, then per step only ``h W_hh^T + b_hh`` and the cell's element-wise
  update (torch's ``lstm_cell`` order), the spike from spikeforge's firing rule;
* ``bound``: ``torch.nn.LSTM`` over the whole sequence (one fused operator; oneDNN on CPU where
  available) with a stateless spike (``H(h - theta)``, ATan surrogate) on its outputs: the cost of the
  LSTM alone. Not the same dynamics as a spiking LSTM's (no reset; here SLSTM's default, reset
  ``none``, which makes it the same LSTM), so a lower bound.

The first loss and the gradients of every variant are compared with the step loop's (``sf_stepped``):
snntorch 1.0.0 re-zeroes both states at every step when ``input_size != hidden_size`` (see
``docs/differences.md``), so its numbers are of another computation; it is timed as what users run.

    PYTHONPATH=. python bench/lstm_bench.py --threads 1 --rounds 3 [--input 256]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

VARIANTS = ("snntorch", "sf_stepped", "sf_seq", "fold", "bound")
T, B, IN, HID, OUT = 100, 64, 700, 256, 20
THETA = 0.05  # h = o*tanh(c) lies in (-1, 1): the default threshold 1.0 never fires


def _data():  # noqa: ANN202
    import torch

    g = torch.Generator().manual_seed(0)
    x = (torch.rand(T, B, IN, generator=g) < 0.03).float()
    y = torch.randint(0, OUT, (B,), generator=g)
    return x, y


def _weights():  # noqa: ANN202
    import torch

    torch.manual_seed(1)
    cell = torch.nn.LSTMCell(IN, HID)
    fc = torch.nn.Linear(HID, OUT)
    return {k: v.detach().clone() for k, v in {**{f"cell.{k}": v for k, v in cell.state_dict().items()},
                                               **{f"fc.{k}": v for k, v in fc.state_dict().items()}}.items()}


def child(variant: str, threads: int, iters: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    x, y = _data()
    w = _weights()
    fc = torch.nn.Linear(HID, OUT)
    fc.load_state_dict({"weight": w["fc.weight"], "bias": w["fc.bias"]})
    if variant == "snntorch":
        import snntorch as snn_mod
    else:
        import spikeforge as snn_mod
    if variant == "bound":
        lstm = torch.nn.LSTM(IN, HID)
        lstm.load_state_dict({"weight_ih_l0": w["cell.weight_ih"], "weight_hh_l0": w["cell.weight_hh"],
                              "bias_ih_l0": w["cell.bias_ih"], "bias_hh_l0": w["cell.bias_hh"]})
        spike = snn_mod.surrogate.atan()
        params = [*lstm.parameters(), *fc.parameters()]

        def run() -> torch.Tensor:
            h, _ = lstm(x)
            return spike(h - THETA)
    else:
        neuron = snn_mod.SLSTM(IN, HID, threshold=THETA)
        neuron.lstm_cell.load_state_dict({k[5:]: v for k, v in w.items() if k.startswith("cell.")})
        params = [*neuron.parameters(), *fc.parameters()]
        if variant == "sf_seq":
            def run() -> torch.Tensor:
                return neuron.forward_sequence(x)[0]
        elif variant == "fold":
            from spikeforge.core._firing import fire

            cell = neuron.lstm_cell

            def run() -> torch.Tensor:
                gx = torch.nn.functional.linear(x.reshape(T * B, IN), cell.weight_ih, cell.bias_ih)
                gx = gx.view(T, B, 4 * HID)
                h = x.new_zeros(B, HID)
                c = x.new_zeros(B, HID)
                p, f = neuron.params(), neuron.firing()
                out = []
                for gx_t in gx.unbind(0):  # one backward node for all steps (gx[t] would zero-fill T)
                    gates = torch.nn.functional.linear(h, cell.weight_hh, cell.bias_hh) + gx_t
                    i, fg, g, o = gates.chunk(4, 1)
                    c = torch.sigmoid(fg) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    out.append(fire(h, p.threshold, p.graded, f))
                return torch.stack(out)
        else:
            def run() -> torch.Tensor:
                syn, mem = neuron.reset_mem()  # the tutorial way: zero states per sequence
                out = []
                for t in range(T):
                    spk, syn, mem = neuron(x[t], syn, mem)
                    out.append(spk)
                return torch.stack(out)
    opt = torch.optim.Adam([*params], lr=1e-3)
    times, first = [], None
    for k in range(iters + 2):
        t0 = time.perf_counter()
        spk = run()
        loss = torch.nn.functional.cross_entropy(fc(spk.sum(0)), y)
        opt.zero_grad()
        loss.backward()
        if first is None:
            first = dict(loss=float(loss), rate=float(spk.mean()),
                         grads=[float(p.grad.abs().sum()) for p in params])
        opt.step()
        if k >= 2:
            times.append((time.perf_counter() - t0) * 1e3)
    infer = []  # the forward alone under torch.no_grad()
    with torch.no_grad():
        for k in range(iters + 2):
            t0 = time.perf_counter()
            run()
            if k >= 2:
                infer.append((time.perf_counter() - t0) * 1e3)
    return dict(variant=variant, threads=threads, times=times, infer=infer, **first)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--input", type=int, default=IN, help="input features (snntorch re-zeroes the states "
                    "at every step unless this equals the hidden size, 256)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    globals()["IN"] = a.input
    if a.child:
        print(json.dumps(child(a.child, a.threads, a.iters)))
        return
    runs: dict[str, list[dict]] = {v: [] for v in a.variants}
    for r in range(a.rounds):
        order = a.variants[r % len(a.variants):] + a.variants[:r % len(a.variants)]
        for v in order:
            cmd = [sys.executable, str(Path(__file__).resolve()), "--child", v, "--threads", str(a.threads),
                   "--iters", str(a.iters), "--input", str(a.input)]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()[-1]
            runs[v].append(json.loads(out))
    ref = runs.get("sf_stepped", [None])[0]
    print(f"SLSTM({IN}, {HID}), T={T}, B={B}, {a.threads} thread(s), {a.rounds} rounds x {a.iters} "
          "iterations")
    print("| variant | min ms | median ms | x snntorch | no_grad min ms | spike rate | first loss "
          "| grad sums vs sf_stepped (max rel) |")
    print("|---|---|---|---|---|---|---|---|")
    base = runs.get("snntorch")
    for v, rs in runs.items():
        ts = [t for r in rs for t in r["times"]]
        inf = min(t for r in rs for t in r["infer"])
        ratio = min(ts) / min(t for r in base for t in r["times"]) if base else float("nan")
        rel = (max(abs(g - h) / max(abs(h), 1e-30) for g, h in zip(rs[0]["grads"], ref["grads"]))
               if ref and v != "bound" else float("nan"))
        print(f"| {v} | {min(ts):.1f} | {statistics.median(ts):.1f} | {ratio:.2f} | {inf:.1f} | "
              f"{rs[0]['rate']:.4f} | {rs[0]['loss']:.6f} | {rel:.1e} |")


if __name__ == "__main__":
    main()
