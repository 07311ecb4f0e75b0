#!/usr/bin/env python
# spikeforge copy of the project harness (shared/bench/lif_bench.py); run from the repo root with
#   PYTHONPATH=. python bench/lif_bench.py --all --n 512 --n 2048 --threads 2 --out bench/results.jsonl
# ruff: noqa  (kept verbatim with the shared harness so results stay comparable)
"""CPU benchmark of spiking-neural-network libraries on one Linear + LIF layer.

Modeled on the Open Neuromorphic "SNN library benchmarks"
(github.com/open-neuromorphic/snn-library-benchmarks, docker/run_benchmark.py):
one ``nn.Linear(n, n)`` followed by one LIF layer, input ``B x T x n``
(default B=16, T=500), forward pass timed, then backward of
``loss = output.sum()`` timed. The input does not require grad, so backward
computes dW/db plus the BPTT through the neuron, exactly as in the original.

Differences from the original harness (all deliberate, for CPU fairness and
reproducibility):

* one framework per process (``--all`` spawns a subprocess per framework and
  per n), so imports, allocator state and thread pools do not leak between
  frameworks;
* fixed seeds; every framework gets the *same* Linear weights and the *same*
  input, so output spikes can be compared across frameworks;
* neuron parameters are set so every framework models (as far as its API
  allows) the same LIF:  ``v[t] = 0.95 v[t-1] + I[t]``, spike when
  ``v >= 1``, reset by subtracting the threshold.  Remaining differences are
  listed per framework in ``notes`` and in the docstring of each
  ``build_*`` function;
* fixed number of repeats (median reported) after ``--warmup`` untimed
  fwd+bwd iterations, instead of "at least 2 s"; a fresh forward is run before
  every backward (the original re-ran backward on one retained graph);
* peak memory = ``ru_maxrss`` of the process (CPU), not ``cuda.max_memory``.

Frameworks (``--framework``):

    linear             nn.Linear on [T*B, n] + memoryless threshold: lower bound
    snntorch           snntorch.Leaky stepped in Python, fc inside the loop (original)
    snntorch_hoisted   same Leaky loop, fc applied once to [T, B, n]
    snntorch_fast      snntorch 1.0 StateLeaky (parallel over time; no reset)
    snntorch_parallel  snntorch 1.0 LeakyParallel (nn.RNN based; no reset)
    norse              norse LIF via SequentialState (original); hard reset
    norse_box          norse LIFBoxCell + Lift, subtract reset (= reference model)
    norse_compiled     `norse` under torch.compile (whole model)
    spikingjelly       LIFNode(step_mode='m'), CPU op (= reference model)
    sinabs             sinabs.layers.LIF, SingleSpike (= reference model)
    product            spikeforge.Leaky stepped like `snntorch` (see product_model)
    product_seq        spikeforge multi-step entry point (see product_model)

Usage::

    python lif_bench.py --framework snntorch --n 512 --json
    python lif_bench.py --all --n 512 --n 2048 [--repeats 5] [--out res.jsonl] [--wait-idle 600]
    python lif_bench.py --table res.jsonl        # re-render the table from saved results

JSON fields: framework, version, n, batch, steps, forward_s / backward_s
(medians), total_s (= forward_s + backward_s), peak_rss_mb, spike_count
(checksum), spike_sha1 (hash of the binary spike raster, time-major),
firing_rate, agreement (fraction of the T*B*n spike raster identical to the
reference LIF below), ref_firing_rate, first_call_s (warm-up incl. any
compilation), total_min_s, forward_all/backward_all (every repeat),
own_cpu_cores / bg_cpu_cores (cores used by this process / by *other*
processes during the timed loop, from /proc/stat: bg > ~0.2 means the numbers
are contaminated on a shared machine), plus status/reason for skipped or
failed frameworks.

Reference LIF (computed with plain torch after timing, not timed)::

    I = x @ W.T + b
    v[t] = BETA * v[t-1] + I[t];  s[t] = (v[t] >= THRESHOLD);  v[t] -= THRESHOLD * s[t]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import traceback

BETA = 0.95                      # per-step membrane decay factor
THRESHOLD = 1.0
TAU_EXP = -1.0 / math.log(BETA)  # exp(-1/tau) = BETA  -> 19.4957 (sinabs, snntorch StateLeaky)
TAU_EULER = 1.0 / (1.0 - BETA)   # 1 - 1/tau = BETA    -> 20.0    (spikingjelly)
NORSE_DT = 1e-3                  # norse integrates dv = dt*tau_mem_inv*(...)
NORSE_A = 1.0 - BETA             # = dt * tau_mem_inv  -> tau_mem_inv = 50 /s

# Order of rows in the --all table (and of the default framework list).
FRAMEWORKS = [
    "linear",
    "snntorch",
    "snntorch_hoisted",
    "snntorch_fast",
    "snntorch_parallel",
    "norse",
    "norse_box",
    "norse_compiled",
    "spikingjelly",
    "sinabs",
    "product",
    "product_seq",
]


class Skip(Exception):
    """Framework not available / not applicable; reported as status 'skipped'."""


# ---------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------

def _dist_version(name):
    try:
        from importlib.metadata import version
        return version(name)
    except Exception:  # pragma: no cover
        return "unknown"


def _load_linear(fc, ctx):
    """Copy the shared, seeded Linear weights into a framework's linear layer."""
    import torch
    with torch.no_grad():
        fc.weight.copy_(ctx["W"])
        fc.bias.copy_(ctx["b"])
    return fc


def _atan_heaviside():
    """Heaviside with ATan surrogate (same as snntorch's default, alpha=2)."""
    import torch

    class _H(torch.autograd.Function):
        @staticmethod
        def forward(c, x):
            c.save_for_backward(x)
            return (x >= 0).to(x.dtype)

        @staticmethod
        def backward(c, g):
            (x,) = c.saved_tensors
            return g / (1 + (math.pi * x) ** 2)

    return _H.apply


class _LoopModel:
    """The original benchmark's snnTorch model, generic over the neuron class.

    ``hoisted=False``: ``fc`` is applied per time step inside the Python loop
    (exactly as in snn-library-benchmarks).  ``hoisted=True``: ``fc`` is
    applied once to the whole [T, B, n] tensor, then the neuron is stepped.
    The neuron must follow the snntorch call convention
    ``spk, mem = lif(cur, mem)`` and accept the value of ``init_leaky()`` /
    ``reset_mem()`` (or ``None``) as initial ``mem``.
    """

    @staticmethod
    def build(n, lif, hoisted):
        import torch
        from torch import nn

        class Model(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(n, n)
                self.lif = lif
                if hasattr(lif, "init_leaky"):
                    self.mem = lif.init_leaky()
                elif hasattr(lif, "reset_mem"):
                    self.mem = lif.reset_mem()
                else:
                    self.mem = None

            def forward(self, x):
                output = []
                mem = self.mem
                if hoisted:
                    cur_seq = self.fc(x)
                    for cur in cur_seq:
                        spk, mem = self.lif(cur, mem)
                        output.append(spk)
                else:
                    for inp in x:
                        cur = self.fc(inp)
                        spk, mem = self.lif(cur, mem)
                        output.append(spk)
                return torch.stack(output)

        return Model()


# ---------------------------------------------------------------------------
# PRODUCT ADAPTER -- the only place to edit when spikeforge's API changes.
# ---------------------------------------------------------------------------
#
# Contract with the harness: product_model(n, mode) returns an nn.Module with
#   * attribute ``fc``: the nn.Linear(n, n) (the harness loads the shared
#     seeded weights into it), and
#   * forward(x: [T, B, n] float32) -> spikes [T, B, n] (time-major).
# and sets ``model.entry_point`` (a string shown in the results).
#
# mode="loop": snntorch-compatible stepping, identical harness to the
#   ``snntorch`` row (fc inside the Python loop):
#       lif = spikeforge.Leaky(beta=0.95)
#       spk, mem = lif(cur_t, mem)
# mode="seq": one call of the neuron on the whole [T, B, n] current tensor
#   (fc applied once to the whole tensor, like the norse/spikingjelly rows).
#   Multi-step entry points tried, in this order (first one that exists AND
#   reproduces the loop-mode spikes on a small random input wins):
#       1. lif.forward_sequence(cur_seq)            method on spikeforge.Leaky
#       2. spikeforge.Leaky(beta=0.95, step_mode="m")(cur_seq)
#                                                   SpikingJelly-style flag
#       3. lif.multi_step_forward(cur_seq)          SpikingJelly method name
#   Each may return spk_seq or (spk_seq, mem).  Override the choice with env
#   SPIKEFORGE_SEQ_ENTRY=forward_sequence|step_mode|multi_step_forward.

PRODUCT_BETA = BETA
PRODUCT_SEQ_ENTRIES = ("forward_sequence", "step_mode", "multi_step_forward")


def _product_seq_neuron(spikeforge, entry):
    """Return (callable cur_seq -> spk_seq, module or None) for one entry point, or None."""
    if entry == "step_mode":
        try:
            lif = spikeforge.Leaky(beta=PRODUCT_BETA, step_mode="m")
        except TypeError:
            return None
        call = lif
    else:
        lif = spikeforge.Leaky(beta=PRODUCT_BETA)
        call = getattr(lif, entry, None)
        if not callable(call):
            return None

    def seq(cur_seq):
        out = call(cur_seq)
        return out[0] if isinstance(out, (tuple, list)) else out

    return seq, lif


def product_model(n, mode="loop"):
    import torch
    from torch import nn
    try:
        import spikeforge
    except ImportError as e:
        raise Skip(f"spikeforge not installed ({e})")

    if mode == "loop":
        model = _LoopModel.build(n, spikeforge.Leaky(beta=PRODUCT_BETA), hoisted=False)
        model.entry_point = "spikeforge.Leaky(beta=0.95) stepped: spk, mem = lif(cur_t, mem)"
        return model

    assert mode == "seq", mode
    forced = os.environ.get("SPIKEFORGE_SEQ_ENTRY")
    entries = (forced,) if forced else PRODUCT_SEQ_ENTRIES
    tried = []
    for entry in entries:
        built = _product_seq_neuron(spikeforge, entry)
        if built is None:
            tried.append(f"{entry}: absent")
            continue
        seq, lif = built
        ok, why = _check_seq_matches_loop(spikeforge, seq)
        if not ok:
            tried.append(f"{entry}: {why}")
            continue

        class SeqModel(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(n, n)
                self.lif = lif if isinstance(lif, nn.Module) else None

            def forward(self, x):
                return seq(self.fc(x))

        model = SeqModel()
        model.entry_point = {
            "forward_sequence": "spikeforge.Leaky(beta=0.95).forward_sequence(cur[T,B,n])",
            "step_mode": "spikeforge.Leaky(beta=0.95, step_mode='m')(cur[T,B,n])",
            "multi_step_forward": "spikeforge.Leaky(beta=0.95).multi_step_forward(cur[T,B,n])",
        }.get(entry, entry)
        return model
    raise Skip("no usable spikeforge multi-step entry point (" + "; ".join(tried) + ")")


def _check_seq_matches_loop(spikeforge, seq, T=64, B=2, n=32):
    """Run the candidate sequence entry point and the snntorch-style loop on the
    same small input; accept if >= 99.9% of spikes agree."""
    import torch
    g = torch.Generator().manual_seed(123)
    cur = torch.randn(T, B, n, generator=g) * 0.6
    try:
        with torch.no_grad():
            s_seq = seq(cur)
            lif = spikeforge.Leaky(beta=PRODUCT_BETA)
            mem = lif.init_leaky() if hasattr(lif, "init_leaky") else None
            out = []
            for t in range(T):
                spk, mem = lif(cur[t], mem)
                out.append(spk)
            s_loop = torch.stack(out)
    except Exception as e:  # noqa: BLE001
        return False, f"raised {type(e).__name__}: {e}"
    if tuple(s_seq.shape) != (T, B, n):
        return False, f"output shape {tuple(s_seq.shape)} != {(T, B, n)}"
    agree = (s_seq.float() == s_loop.float()).float().mean().item()
    if agree < 0.999:
        return False, f"spikes differ from loop mode (agreement {agree:.4f})"
    return True, ""


# ---------------------------------------------------------------------------
# Framework builders.  Each returns a dict with
#   model (nn.Module or None), forward (callable -> output), to_tbn (output ->
#   [T,B,n] spikes), version, notes, params (list of tensors to zero grads).
# ---------------------------------------------------------------------------

def build_linear(ctx):
    """Lower bound: one GEMM on [T*B, n] + a memoryless threshold (ATan surrogate).
    No temporal state at all, so this is the 'physical limit' for the workload:
    forward = 1 GEMM + 1 elementwise op, backward = dW GEMM + 1 elementwise op."""
    import torch
    from torch import nn
    T, B, n = ctx["T"], ctx["B"], ctx["n"]
    fc = _load_linear(nn.Linear(n, n), ctx)
    x2 = ctx["x"].reshape(T * B, n)
    H = _atan_heaviside()

    def forward():
        return H(fc(x2) - THRESHOLD).view(T, B, n)

    return dict(model=fc, forward=forward, version=torch.__version__,
                notes="nn.Linear on [T*B,n] + stateless Heaviside(I-1) with ATan surrogate; no LIF state (lower bound)")


def _snntorch_loop(ctx, hoisted):
    import snntorch
    model = _LoopModel.build(ctx["n"], snntorch.Leaky(beta=BETA), hoisted=hoisted)
    _load_linear(model.fc, ctx)
    x = ctx["x"]
    return dict(model=model, forward=lambda: model(x), version=snntorch.__version__)


def build_snntorch(ctx):
    """snntorch.Leaky(beta=0.95) stepped in Python, fc inside the loop (original benchmark).
    Leaky defaults: threshold 1, reset_mechanism='subtract', reset_delay=True,
    ATan surrogate, reset signal detached.  reset_delay=True means the
    subtraction for a spike at t is applied at t+1 *without* decay
    (v[t] = b v[t-1] + I[t] - s[t-1]), whereas the reference subtracts at t
    (equivalent to subtracting b*thr at t+1): small dynamics difference."""
    d = _snntorch_loop(ctx, hoisted=False)
    d["notes"] = ("Leaky(beta=0.95) defaults; fc per step in the loop (as original); "
                  "reset_delay=True: subtract thr at t+1 (ref subtracts at t); spike if v>thr")
    return d


def build_snntorch_hoisted(ctx):
    """Same neuron as `snntorch`, but fc applied once to [T,B,n] before the loop.
    Separates the cost of 500 small GEMMs from the cost of the neuron loop."""
    d = _snntorch_loop(ctx, hoisted=True)
    d["notes"] = "as snntorch, but fc hoisted out of the loop (one GEMM on [T*B,n])"
    return d


def build_snntorch_fast(ctx):
    """snntorch 1.0.0 StateLeaky: membrane via depthwise causal conv with kernel
    exp(-t/tau) (all time steps at once), spikes = threshold of the membrane.
    Semantic differences (cannot be removed with its API):
      * NO reset at all (the membrane is a pure leaky integral of the input),
        so the firing rate is much higher than a resetting LIF;
      * decay is exp(-1/tau) with tau = 1/(1-beta); we pass beta = 1+ln(0.95)
        so that the effective per-step decay is exactly 0.95;
      * cost is O(T^2) per neuron (conv kernel length = T)."""
    import torch
    from torch import nn
    import snntorch
    from snntorch._neurons.stateleaky import StateLeaky
    n = ctx["n"]
    beta_param = 1.0 + math.log(BETA)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(n, n)
            self.lif = StateLeaky(beta=beta_param, channels=n, threshold=THRESHOLD, output=True)

        def forward(self, x):
            spk, _mem = self.lif(self.fc(x))
            return spk

    model = Model()
    _load_linear(model.fc, ctx)
    decay = math.exp(-1.0 / float(model.lif.tau))
    x = ctx["x"]
    return dict(model=model, forward=lambda: model(x), version=snntorch.__version__,
                notes=f"StateLeaky (conv over time, O(T^2)); NO reset; per-step decay {decay:.5f}; spike if v>thr")


def build_snntorch_parallel(ctx):
    """snntorch 1.0.0 LeakyParallel(input_size=n, hidden_size=n): torch.nn.RNN
    (relu) with a diagonal, frozen W_hh = beta*I and the input Linear fused as
    W_ih (loaded with the shared Linear weights; b_hh zeroed).
    Semantic differences: NO reset; membrane clipped at 0 by the RNN's ReLU;
    the hidden step is a dense n x n GEMM per time step (diagonal matrix
    stored dense), so cost grows like T*B*n^2 on top of the input Linear."""
    import torch
    import snntorch
    n = ctx["n"]
    model = snntorch.LeakyParallel(input_size=n, hidden_size=n, beta=BETA, threshold=THRESHOLD)
    with torch.no_grad():
        model.rnn.weight_ih_l0.copy_(ctx["W"])
        model.rnn.bias_ih_l0.copy_(ctx["b"])
        model.rnn.bias_hh_l0.zero_()
    x = ctx["x"]
    return dict(model=model, forward=lambda: model(x), version=snntorch.__version__,
                notes="LeakyParallel (nn.RNN relu, dense diag W_hh); NO reset; v clipped >=0; spike if v>thr")


def _norse_lif(ctx):
    import torch
    from torch import nn
    import norse
    from norse.torch import LIF, LIFParameters, SequentialState
    # i[t] = x[t] exactly (tau_syn = dt -> synaptic current fully decays each step),
    # v[t] = (1-a) v[t-1] + a i[t] with a = dt*tau_mem_inv = 0.05 -> decay 0.95.
    # Scaling v by 1/a gives v' = 0.95 v' + I, so threshold 1 in reference units is v_th = a.
    p = LIFParameters(
        tau_syn_inv=torch.as_tensor(1.0 / NORSE_DT),
        tau_mem_inv=torch.as_tensor(NORSE_A / NORSE_DT),
        v_leak=torch.as_tensor(0.0),
        v_th=torch.as_tensor(THRESHOLD * NORSE_A),
        v_reset=torch.as_tensor(0.0),
    )
    model = SequentialState(nn.Linear(ctx["n"], ctx["n"]), LIF(p=p, dt=NORSE_DT))
    _load_linear(model[0], ctx)
    return model, norse.__version__


def build_norse(ctx):
    """norse LIF (current-based) via SequentialState, as in the original benchmark,
    with parameters chosen so v[t] = 0.95 v[t-1] + 0.05 I[t] and v_th = 0.05
    (= reference LIF scaled by 0.05).  Differences: norse's LIF only has a
    hard reset (v -> 0 instead of v -> v - thr), superspike surrogate
    (alpha=100, in scaled units), reset not detached, and it still carries
    (and updates) the synaptic-current state i, which here is just x[t]."""
    model, ver = _norse_lif(ctx)
    x = ctx["x"]
    return dict(model=model, forward=lambda: model(x)[0], version=ver,
                notes="LIF(tau_syn=dt, tau_mem: decay .95, v_th=.05 = scaled thr 1); HARD reset (no subtract option); superspike surrogate")


def build_norse_box(ctx):
    """norse LIFBoxCell (LIF without synaptic current; norse 1.1.0 has no
    time-looped LIFBox module) lifted over time with norse.torch.Lift, with
    reset_method=reset_subtract: the same model as the
    reference (in units scaled by 0.05).  Uses only public norse API."""
    import torch
    from torch import nn
    import norse
    from norse.torch import LIFBoxCell, LIFBoxParameters, Lift
    from norse.torch.functional.reset import reset_subtract
    p = LIFBoxParameters(
        tau_mem_inv=torch.as_tensor(NORSE_A / NORSE_DT),
        v_leak=torch.as_tensor(0.0),
        v_th=torch.as_tensor(THRESHOLD * NORSE_A),
        v_reset=torch.as_tensor(0.0),
        reset_method=reset_subtract,
    )
    # Lift(stateful cell) returns (spikes, final_state); plain nn.Sequential passes that through.
    model = nn.Sequential(nn.Linear(ctx["n"], ctx["n"]), Lift(LIFBoxCell(p=p, dt=NORSE_DT)))
    _load_linear(model[0], ctx)
    x = ctx["x"]
    return dict(model=model, forward=lambda: model(x)[0], version=norse.__version__,
                notes="Lift(LIFBoxCell) decay .95, v_th=.05, reset_subtract: same model as reference (scaled); superspike surrogate")


def build_norse_compiled(ctx):
    """`norse` model wrapped in torch.compile (whole model; Dynamo unrolls the
    T-step Python loop).  Compile time is reported as first_call_s."""
    import torch
    model, ver = _norse_lif(ctx)
    mode = os.environ.get("LIF_BENCH_COMPILE_MODE", "default")
    cmodel = torch.compile(model, mode=mode)
    x = ctx["x"]
    return dict(model=model, forward=lambda: cmodel(x)[0], version=f"{ver} + torch.compile({mode})",
                notes="as norse, torch.compile(whole model); first_call_s includes compilation")


def build_spikingjelly(ctx):
    """SpikingJelly LIFNode(step_mode='m').  In spikingjelly 2.0.0 there is no
    backend switch on CPU: multi-step LIF dispatches to the registered CPU
    implementation (a PyTorch-op loop with a hand-written backward), which is
    the 'torch backend' of older versions.  Parameters: tau=20,
    decay_input=False -> v = 0.95 v + I; v_reset=None -> subtract reset;
    detach_reset=True (as snntorch); ATan surrogate.  Spike if v >= thr."""
    from torch import nn
    from spikingjelly.activation_based import functional, layer, neuron, surrogate
    n = ctx["n"]
    model = nn.Sequential(
        layer.Linear(n, n),
        neuron.LIFNode(tau=TAU_EULER, decay_input=False, v_threshold=THRESHOLD, v_reset=None,
                       surrogate_function=surrogate.ATan(), detach_reset=True, step_mode="m"),
    )
    _load_linear(model[0], ctx)
    x = ctx["x"]

    def forward():
        functional.reset_net(model)
        return model(x)

    return dict(model=model, forward=forward, version=_dist_version("spikingjelly"),
                notes="LIFNode tau=20, decay_input=False, v_reset=None (subtract), detach_reset=True, ATan; same model as reference")


def build_sinabs(ctx):
    """sinabs.layers.LIF, batch-first input [B, T, n] (sinabs convention; the
    same data, transposed once at setup).  tau_mem = -1/ln(0.95) so that
    alpha = exp(-1/tau) = 0.95; norm_input=False (otherwise input is scaled by
    1-alpha); SingleSpike (the default MultiSpike can emit >1 spike/step);
    MembraneSubtract reset; tau_mem frozen (beta is not learnable elsewhere).
    Same model as the reference; surrogate = SingleExponential, reset not
    detached."""
    import torch
    from torch import nn
    import sinabs
    from sinabs.layers import LIF
    from sinabs.activation import MembraneSubtract, SingleSpike
    n = ctx["n"]
    lif = LIF(tau_mem=TAU_EXP, spike_threshold=torch.tensor(THRESHOLD), spike_fn=SingleSpike,
              reset_fn=MembraneSubtract(), norm_input=False)
    for p in lif.parameters():
        p.requires_grad_(False)
    model = nn.Sequential(nn.Linear(n, n), lif)
    _load_linear(model[0], ctx)
    x_btn = ctx["x"].transpose(0, 1).contiguous()

    def forward():
        sinabs.reset_states(model)
        return model(x_btn)

    return dict(model=model, forward=forward, to_tbn=lambda o: o.transpose(0, 1),
                version=sinabs.__version__,
                notes="LIF tau=-1/ln(.95), norm_input=False, SingleSpike, MembraneSubtract; [B,T,n] layout; same model as reference")


def _build_product(ctx, mode):
    model = product_model(ctx["n"], mode)
    _load_linear(model.fc, ctx)
    try:
        import spikeforge
        ver = getattr(spikeforge, "__version__", None) or _dist_version("spikeforge")
    except Exception:  # pragma: no cover
        ver = "unknown"
    x = ctx["x"]
    return dict(model=model, forward=lambda: model(x), version=ver,
                notes=getattr(model, "entry_point", ""))


def build_product(ctx):
    return _build_product(ctx, "loop")


def build_product_seq(ctx):
    return _build_product(ctx, "seq")


BUILDERS = {
    "linear": build_linear,
    "snntorch": build_snntorch,
    "snntorch_hoisted": build_snntorch_hoisted,
    "snntorch_fast": build_snntorch_fast,
    "snntorch_parallel": build_snntorch_parallel,
    "norse": build_norse,
    "norse_box": build_norse_box,
    "norse_compiled": build_norse_compiled,
    "spikingjelly": build_spikingjelly,
    "sinabs": build_sinabs,
    "product": build_product,
    "product_seq": build_product_seq,
}
assert list(BUILDERS) == FRAMEWORKS


# ---------------------------------------------------------------------------
# Single-framework run (child process)
# ---------------------------------------------------------------------------

def _rss_mb(field="VmRSS"):
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _proc_stat_busy_s():
    """System-wide busy CPU seconds (all cores) from /proc/stat, or None."""
    try:
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    return (sum(vals[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def background_cpu(seconds=2.0):
    """Average number of cores busy in *other* processes over `seconds`."""
    b0, o0, t0 = _proc_stat_busy_s(), _own_cpu_s(), time.perf_counter()
    time.sleep(seconds)
    b1, o1, t1 = _proc_stat_busy_s(), _own_cpu_s(), time.perf_counter()
    if b0 is None:
        return float("nan")
    return max(0.0, (b1 - b0) - (o1 - o0)) / (t1 - t0)


def _peak_rss_mb():
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return r / 1024.0 if sys.platform != "darwin" else r / 2**20


def reference_lif(I):
    """Canonical LIF on currents I [T,B,n]: subtract reset, spike if v >= thr."""
    import torch
    out = torch.empty_like(I)
    v = torch.zeros_like(I[0])
    for t in range(I.shape[0]):
        v = BETA * v + I[t]
        s = (v >= THRESHOLD).to(I.dtype)
        v = v - THRESHOLD * s
        out[t] = s
    return out


def run_one(args):
    base = dict(framework=args.framework, n=args.n, batch=args.batch, steps=args.steps)
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)
    base.update(torch=torch.__version__, threads=torch.get_num_threads(),
                interop_threads=torch.get_num_interop_threads())
    T, B, n = args.steps, args.batch, args.n

    # Shared, seeded weights and input (identical across frameworks).
    g = torch.Generator().manual_seed(args.seed)
    with torch.no_grad():
        bound = 1.0 / math.sqrt(n)  # nn.Linear default init range
        W = torch.empty(n, n).uniform_(-bound, bound, generator=g)
        b = torch.empty(n).uniform_(-bound, bound, generator=g)
    x = torch.randn(T, B, n, generator=torch.Generator().manual_seed(args.seed + 1))
    ctx = dict(T=T, B=B, n=n, W=W, b=b, x=x)

    torch.manual_seed(args.seed)
    try:
        bench = BUILDERS[args.framework](ctx)
    except Skip as e:
        return dict(base, status="skipped", reason=str(e))
    except ImportError as e:
        return dict(base, status="skipped", reason=f"not installed ({e})")

    model = bench["model"]
    params = [p for p in model.parameters() if p.requires_grad] if model is not None else []
    fwd = bench["forward"]
    to_tbn = bench.get("to_tbn", lambda o: o)
    base.update(version=bench["version"], notes=bench.get("notes", ""))
    base_rss = _rss_mb()

    def zero_grads():
        for p in params:
            p.grad = None

    def one_iter():
        t0 = time.perf_counter()
        out = fwd()
        t1 = time.perf_counter()
        loss = out.sum()
        loss.backward()
        t2 = time.perf_counter()
        return out, t1 - t0, t2 - t1

    first = []
    for _ in range(args.warmup):
        gc.collect()
        t0 = time.perf_counter()
        out, _, _ = one_iter()
        first.append(time.perf_counter() - t0)
        del out
        zero_grads()

    fwd_t, bwd_t = [], []
    out = None
    busy0, own0, wall0 = _proc_stat_busy_s(), _own_cpu_s(), time.perf_counter()
    for _ in range(args.repeats):
        out = None
        zero_grads()
        gc.collect()
        out, tf, tb = one_iter()
        fwd_t.append(tf)
        bwd_t.append(tb)
    peak = _peak_rss_mb()
    busy1, own1, wall1 = _proc_stat_busy_s(), _own_cpu_s(), time.perf_counter()
    own_cores = (own1 - own0) / (wall1 - wall0)
    bg_cores = (max(0.0, (busy1 - busy0) - (own1 - own0)) / (wall1 - wall0)) if busy0 is not None else float("nan")

    # Dynamics / checksum (untimed).
    with torch.no_grad():
        spk = to_tbn(out.detach()).float()
        spike_count = int(spk.sum(dtype=torch.float64).item())
        firing_rate = spk.mean(dtype=torch.float64).item()
        bits = (spk > 0).to(torch.uint8).contiguous().numpy().tobytes()
        sha = hashlib.sha1(bits).hexdigest()[:12]
        res = dict(base, status="ok",
                   forward_s=statistics.median(fwd_t), backward_s=statistics.median(bwd_t))
        res["total_s"] = res["forward_s"] + res["backward_s"]
        res["total_min_s"] = min(f + b for f, b in zip(fwd_t, bwd_t))
        res.update(forward_all=[round(v, 5) for v in fwd_t], backward_all=[round(v, 5) for v in bwd_t],
                   repeats=args.repeats, warmup=args.warmup,
                   first_call_s=first[0] if first else None,
                   peak_rss_mb=round(peak, 1), base_rss_mb=round(base_rss, 1),
                   spike_count=spike_count, spike_sha1=sha, firing_rate=round(firing_rate, 5),
                   nonbinary=bool(((spk != 0) & (spk != 1)).any().item()),
                   own_cpu_cores=round(own_cores, 2), bg_cpu_cores=round(bg_cores, 2),
                   loadavg_1m=round(os.getloadavg()[0], 2))
        if args.framework != "linear":
            I = torch.nn.functional.linear(x, W, b)
            ref = reference_lif(I)
            res["agreement"] = round((ref == (spk > 0).float()).float().mean().item(), 5)
            res["ref_firing_rate"] = round(ref.mean(dtype=torch.float64).item(), 5)
    return res


# ---------------------------------------------------------------------------
# --all driver
# ---------------------------------------------------------------------------

def machine_info():
    import torch
    info = dict(python=platform.python_version(), platform=platform.platform(),
                nproc=os.cpu_count(), torch=torch.__version__,
                torch_threads=torch.get_num_threads(),
                torch_interop_threads=torch.get_num_interop_threads())
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        info["mkldnn"] = torch.backends.mkldnn.is_available()
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except Exception:  # pragma: no cover
        pass
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if os.environ.get(k):
            info[k] = os.environ[k]
    return info


def _fmt_s(v):
    if v is None:
        return "-"
    return f"{v:.3f}" if v >= 0.01 else f"{v:.4f}"


def markdown_table(results):
    hdr = ("| n | framework | version | fwd s | bwd s | total s | min total s | x linear | x snntorch "
           "| peak RSS MB (+over setup) | rate | agree | bg cpu | notes |")
    lines = [hdr, "|" + "---|" * 14]
    by_n = {}
    for r in results:
        by_n.setdefault(r["n"], []).append(r)
    for n in sorted(by_n):
        rows = by_n[n]
        lin = next((r for r in rows if r["framework"] == "linear" and r.get("status") == "ok"), None)
        snn = next((r for r in rows if r["framework"] == "snntorch" and r.get("status") == "ok"), None)
        for r in rows:
            if r.get("status") != "ok":
                reason = str(r.get("reason", ""))[:160].replace("|", "/").replace("\n", " ")
                lines.append(f"| {n} | {r['framework']} | {r.get('version', '-')} | - | - | - | - | - | - | - | - | - | - "
                             f"| {r.get('status')}: {reason} |")
                continue
            xl = f"{r['total_s'] / lin['total_s']:.1f}" if lin else "-"
            xs = f"{r['total_s'] / snn['total_s']:.3f}" if snn else "-"
            agree = f"{r['agreement']:.3f}" if "agreement" in r else "-"
            notes = r.get("notes", "")
            if r.get("first_call_s") and r["framework"].endswith("compiled"):
                notes = f"first call (compile) {r['first_call_s']:.0f} s; " + notes
            lines.append(
                f"| {n} | {r['framework']} | {r['version']} | {_fmt_s(r['forward_s'])} | {_fmt_s(r['backward_s'])} "
                f"| {_fmt_s(r['total_s'])} | {_fmt_s(r.get('total_min_s'))} | {xl} | {xs} "
                f"| {r['peak_rss_mb']:.0f} (+{r['peak_rss_mb'] - r['base_rss_mb']:.0f}) | {r['firing_rate']:.3f} "
                f"| {agree} | {r.get('bg_cpu_cores', float('nan')):.2f} | {notes.replace('|', '/')} |")
    return "\n".join(lines)


IDLE_CORES = 0.2  # --wait-idle: start a child only when other processes use less than this


def _sigterm_to_keyboardinterrupt(signum, frame):
    raise KeyboardInterrupt  # lets subprocess.run kill the running child


def run_all(args):
    import signal
    signal.signal(signal.SIGTERM, _sigterm_to_keyboardinterrupt)
    frameworks = args.frameworks or FRAMEWORKS
    results = []
    info = machine_info()
    print("# machine: " + json.dumps(info), file=sys.stderr, flush=True)
    out_f = open(args.out, "a") if args.out else None
    for n in args.n:
        for fw in frameworks:
            cmd = [sys.executable, os.path.abspath(__file__), "--framework", fw, "--n", str(n),
                   "--batch", str(args.batch), "--steps", str(args.steps), "--repeats", str(args.repeats),
                   "--warmup", str(args.warmup), "--seed", str(args.seed), "--json"]
            if args.threads:
                cmd += ["--threads", str(args.threads)]
            waited, bg = 0.0, None
            if args.wait_idle > 0:
                while True:
                    bg = background_cpu(2.0)
                    if not bg > IDLE_CORES or waited >= args.wait_idle:
                        break
                    time.sleep(8.0)
                    waited += 10.0
            t0 = time.time()
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                line = next((l for l in reversed(p.stdout.strip().splitlines()) if l.startswith("{")), None)
                if line is not None:
                    r = json.loads(line)
                else:
                    r = dict(framework=fw, n=n, status="error",
                             reason=f"rc={p.returncode}: " + (p.stderr.strip().splitlines() or ["?"])[-1])
            except subprocess.TimeoutExpired:
                r = dict(framework=fw, n=n, status="timeout", reason=f"exceeded --timeout {args.timeout} s")
            r["wall_s"] = round(time.time() - t0, 1)
            if bg is not None:
                r["bg_cpu_before"] = round(bg, 2)
                r["idle_wait_s"] = waited
            r["cmd"] = " ".join(cmd[1:])
            results.append(r)
            short = {k: r.get(k) for k in ("framework", "n", "status", "forward_s", "backward_s", "total_s",
                                           "firing_rate", "agreement", "bg_cpu_cores", "bg_cpu_before",
                                           "wall_s", "reason")}
            print("# " + json.dumps(short), file=sys.stderr, flush=True)
            if out_f:
                out_f.write(json.dumps(r) + "\n")
                out_f.flush()
    if out_f:
        out_f.close()
    print(markdown_table(results))
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--framework", choices=FRAMEWORKS)
    ap.add_argument("--all", action="store_true", help="run every framework (subprocess each) and print a table")
    ap.add_argument("--frameworks", nargs="+", choices=FRAMEWORKS, help="subset for --all")
    ap.add_argument("--n", type=int, action="append", help="neurons (repeatable with --all)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")
    ap.add_argument("--timeout", type=float, default=600, help="per-subprocess timeout for --all (s)")
    ap.add_argument("--out", help="append JSON lines of --all results here")
    ap.add_argument("--json", action="store_true", help="print one JSON line (single framework)")
    ap.add_argument("--wait-idle", type=float, default=0.0,
                    help="--all: before each run wait (up to this many s) until other processes use < 0.2 cores")
    ap.add_argument("--table", metavar="JSONL", help="only re-render the markdown table from saved --out results "
                    "(last record per (n, framework) wins)")
    args = ap.parse_args(argv)
    if args.table:
        recs = {}
        with open(args.table) as f:
            for line in f:
                if line.strip():
                    r = json.loads(line)
                    recs[(r["n"], r["framework"])] = r
        order = {f: i for i, f in enumerate(FRAMEWORKS)}
        print(markdown_table(sorted(recs.values(), key=lambda r: (r["n"], order.get(r["framework"], 99)))))
        return 0
    if not args.n:
        args.n = [512]
    if args.all:
        run_all(args)
        return 0
    if not args.framework:
        ap.error("--framework or --all required")
    if len(args.n) != 1:
        ap.error("a single --n for --framework")
    args.n = args.n[0]
    try:
        res = run_one(args)
    except Exception as e:  # noqa: BLE001
        res = dict(framework=args.framework, n=args.n, batch=args.batch, steps=args.steps, status="error",
                   reason=f"{type(e).__name__}: {e}", traceback=traceback.format_exc()[-2000:])
    if args.json:
        print(json.dumps(res), flush=True)
    else:
        print(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
