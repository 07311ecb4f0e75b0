#!/usr/bin/env python
"""Workload benchmark: the networks users train, per library, on CPU (issue 14).

Workloads (`bench/wl_models.py`): ``mlp`` (snntorch tutorial 5), ``csnn`` (tutorial 6), ``shd`` (700 ->
RLeaky(256, all-to-all) -> 20), ``mlp_infer`` (the MLP's inference at batch 1024) and ``linlif`` (the
Open Neuromorphic Linear(512)+LIF, batch 16, 500 steps).

Variants: ``bound`` (the same layers and weights once over ``[T*B, ...]``, each neuron a stateless spike),
``snntorch`` (the tutorial code), ``snntorch_compiled`` (``torch.compile`` of it), ``spikingjelly``
(multi-step), ``norse`` (its LIF cells), ``sf_stepped`` (the tutorial code with ``import spikeforge as
snn``), ``sf_compiled`` (``torch.compile`` of that), ``sf_seq`` (`spikeforge.SequentialSNN` over the
input repeated in memory) and ``sf_seq_static`` (the same over the static frame viewed at every step,
``x.expand(T, ...)``: the layers before the first neuron run once; mlp, mlp_infer, csnn only).

One iteration = ``zero_grad``, forward, loss, backward, ``Adam.step`` (training workloads); forward
under ``torch.no_grad()`` (``mlp_infer``). Every (threads, round, workload, variant) runs in a fresh
process; rounds interleave the variants (rotated order). Reported: min and median ms per iteration
over all timed iterations of all rounds, peak RSS (``VmHWM``), the peak over the RSS after setup
(imports, model, data), the peak of the timed iterations over the RSS before them (the working
memory of one iteration), the first call (JIT/compile), and for every spikeforge variant the largest
difference of its first loss and gradients from snntorch's (same weights, inputs and thread count).

    python bench/workloads.py                                  # everything, 1 and 2 threads, 3 rounds
    python bench/workloads.py --workloads mlp csnn --variants bound snntorch sf_seq --threads 1 \\
        --rounds 2 --iters 3 --batch 16 --steps 5             # a quick smoke run
    python bench/workloads.py --table bench/workloads.jsonl    # re-render a saved run
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VARIANTS = ["bound", "snntorch", "snntorch_compiled", "spikingjelly", "norse", "sf_stepped", "sf_compiled",
            "sf_seq", "sf_seq_static"]
SPIKEFORGE = ("sf_stepped", "sf_compiled", "sf_seq", "sf_seq_static")
#: workloads whose input is one static frame at every step (the tutorials' direct encoding)
STATIC = ("mlp", "mlp_infer", "csnn")


# ----------------------------------------------------------------------------- child process
def _status() -> dict[str, float]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(line.split()[1]) / 1024.0
    return out


def _busy_s() -> float:
    """Busy CPU seconds of the whole machine (all cores) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def build(variant: str, wl: str, cfg: dict[str, Any]) -> Any:
    import torch
    import wl_models as m

    if variant == "bound":
        return m.bound(wl, cfg)
    if variant in ("snntorch", "snntorch_compiled", "sf_stepped", "sf_compiled"):
        if variant.startswith("sf"):
            import spikeforge as lib
        else:
            import snntorch as lib
        wrap = torch.compile if variant.endswith("compiled") else (lambda mod: mod)
        return m.stepped(lib, wl, cfg, wrap)
    if variant in ("sf_seq", "sf_seq_static"):
        return m.sequence(wl, cfg, static=variant == "sf_seq_static")
    import wl_peers

    return getattr(wl_peers, variant)(wl, cfg)


def child(a: argparse.Namespace) -> dict[str, Any]:
    import torch
    import wl_models as m

    torch.set_num_threads(a.threads)
    cfg = dict(m.WORKLOADS[a.workload])
    cfg["T"] = a.steps or cfg["T"]
    cfg["B"] = a.batch or cfg["B"]
    rec: dict[str, Any] = dict(workload=a.workload, variant=a.variant, threads=torch.get_num_threads(),
                               T=cfg["T"], B=cfg["B"], torch=torch.__version__)
    canon = m.canonical(a.workload, a.seed)
    data = m.make_data(a.workload, cfg, a.seed)
    torch.manual_seed(a.seed)
    built = build(a.variant, a.workload, cfg)
    with torch.no_grad():
        for name, p in built.params.items():
            p.copy_(canon[name])
    if built.extra.get("load"):
        built.extra["load"](canon)
    built.module.train(cfg["train"])
    params = [p for p in built.module.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg["lr"]) if cfg["train"] else None
    rec.update(version=built.version, notes=built.notes)
    rss_setup = _status()["VmRSS"]

    def iteration(capture: dict[str, Any] | None = None) -> None:
        if opt is None:
            with torch.no_grad():
                spk, mem = built.forward(data)
            if capture is not None:
                capture.update(out=spk.detach().clone(), rate=float(spk.float().mean()))
            return
        opt.zero_grad(set_to_none=True)
        spk, mem = built.forward(data)
        loss = m.loss_fn(a.workload, spk, mem, data["y"])
        loss.backward()
        if capture is not None:
            grads = {k: p.grad.detach().clone() for k, p in built.params.items() if p.grad is not None}
            capture.update(loss=loss.detach().clone(), rate=float(spk.detach().float().mean()), grads=grads)
        opt.step()

    first: dict[str, Any] = {}
    t0 = time.perf_counter()
    iteration(first)
    rec["first_call_s"] = time.perf_counter() - t0
    rec["rate"] = first["rate"]
    if "loss" in first:
        rec["loss"] = float(first["loss"])
    if a.parity_out:
        torch.save(first, a.parity_out)
    for _ in range(max(0, a.warmup - 1)):
        iteration()
    hwm_warm = _status()["VmHWM"]
    try:
        Path("/proc/self/clear_refs").write_text("5")  # restart VmHWM from the current RSS
        rec["hwm_reset"] = True
    except OSError:
        rec["hwm_reset"] = False
    rss_before = _status()["VmRSS"]
    times, cpu = [], []
    busy0, own0, w0 = _busy_s(), time.process_time(), time.perf_counter()
    for _ in range(a.iters):
        t, c = time.perf_counter(), time.process_time()
        iteration()
        times.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    wall = time.perf_counter() - w0
    bg = ((_busy_s() - busy0) - (time.process_time() - own0)) / wall if a.iters else float("nan")
    st = _status()
    if "numba" in sys.modules:
        rec["numba_threads"] = sys.modules["numba"].get_num_threads()
    if torch.get_num_threads() != a.threads:  # something changed torch's thread count behind our back
        rec["notes"] = f"torch threads {a.threads} -> {torch.get_num_threads()} in the run; " + rec["notes"]
    rec.update(status="ok", times_ms=times, cpu_ms=cpu, rss_setup_mb=rss_setup,
               peak_rss_mb=max(hwm_warm, st["VmHWM"]),
               iter_peak_mb=st["VmHWM"] - rss_before if rec["hwm_reset"] else float("nan"),
               bg_cores=max(0.0, bg), load=os.getloadavg()[0])
    return rec


# ----------------------------------------------------------------------------- parent
def run_child(a: argparse.Namespace, wl: str, variant: str, threads: int, iters: int, parity: Path | None,
              memory: bool = False) -> dict[str, Any]:
    """One fresh process. ``memory``: glibc maps every block of 8 KiB or more on its own and trims its
    heap at once, so that RSS follows the live tensors (timings of that process are not used)."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--workload", wl, "--variant", variant,
           "--threads", str(threads), "--iters", str(iters), "--warmup", str(a.warmup), "--seed", str(a.seed)]
    if a.steps:
        cmd += ["--steps", str(a.steps)]
    if a.batch:
        cmd += ["--batch", str(a.batch)]
    if parity is not None:
        cmd += ["--parity-out", str(parity)]
    env = dict(os.environ, **{k: v.replace("{threads}", str(threads)) for k, v in a.env})
    if memory:
        env.update(MALLOC_MMAP_THRESHOLD_="8192", MALLOC_TRIM_THRESHOLD_="0", MALLOC_TOP_PAD_="0")
    t0 = time.time()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, env=env)
        line = next((s for s in reversed(p.stdout.splitlines()) if s.startswith("{")), None)
        if line is None:
            tail = (p.stderr.strip().splitlines() or ["no output"])[-1]
            r = dict(status="error", reason=f"rc={p.returncode}: {tail}")
        else:
            r = json.loads(line)
    except subprocess.TimeoutExpired:
        r = dict(status="timeout", reason=f"over --timeout {a.timeout} s")
    r.update(workload=wl, variant=variant, threads=threads, wall_s=round(time.time() - t0, 1))
    if memory:
        r["kind"] = "memory"
    return r


def skipped(a: argparse.Namespace, wl: str, variant: str) -> bool:
    """Compiled variants on sequences longer than ``--compile-max-steps`` (compilation takes too long);
    ``sf_seq_static`` on workloads whose input varies over time."""
    from wl_models import WORKLOADS

    if variant == "sf_seq_static" and wl not in STATIC:
        return True
    return variant.endswith("compiled") and (a.steps or WORKLOADS[wl]["T"]) > a.compile_max_steps


def compare(ref: dict[str, Any], got: dict[str, Any]) -> dict[str, float]:
    """Largest absolute and relative differences of the first loss/output and of every gradient."""
    out: dict[str, float] = {}
    if "loss" in ref:
        out["loss_abs"] = abs(float(got["loss"]) - float(ref["loss"]))
        gabs = grel = 0.0
        for k, r in ref["grads"].items():
            g = got["grads"].get(k)
            if g is None:
                return dict(out, grad_abs=float("inf"), grad_rel=float("inf"))
            d = float((g - r).abs().max())
            gabs, grel = max(gabs, d), max(grel, d / max(float(r.abs().max()), 1e-30))
        out.update(grad_abs=gabs, grad_rel=grel)
    else:
        out["out_abs"] = float((got["out"].float() - ref["out"].float()).abs().max())
    return out


def parent(a: argparse.Namespace) -> None:
    import torch

    results: list[dict[str, Any]] = []
    pdir = Path(tempfile.mkdtemp(prefix="sf_workloads_"))
    up0 = os.getloadavg()
    out = open(a.out, "a") if a.out else None  # noqa: SIM115
    for threads in a.threads:
        for rnd in range(a.rounds):
            for wl in a.workloads:
                k = rnd % len(a.variants)
                for variant in a.variants[k:] + a.variants[:k]:
                    if skipped(a, wl, variant):
                        continue
                    parity = pdir / f"{wl}-{variant}-{threads}.pt"
                    r = run_child(a, wl, variant, threads, a.iters, parity if rnd == 0 else None)
                    r["round"] = rnd
                    results.append(r)
                    print(f"# t={threads} r={rnd} {wl:9s} {variant:17s} {r['status']:7s} "
                          f"{_fmt(min(r['times_ms'])) if r.get('times_ms') else r.get('reason', '')}"
                          f"  load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
                    if out:
                        out.write(json.dumps(r) + "\n")
                        out.flush()
        for wl in a.workloads:
            for variant in a.variants:
                if skipped(a, wl, variant):
                    continue
                r = run_child(a, wl, variant, threads, 1, None, memory=True)
                results.append(r)
                if out:
                    out.write(json.dumps(r) + "\n")
        for wl in a.workloads:
            ref = pdir / f"{wl}-snntorch-{threads}.pt"
            if not ref.exists() and any(v in SPIKEFORGE for v in a.variants):
                run_child(a, wl, "snntorch", threads, 0, ref)
            for v in a.variants:
                got = pdir / f"{wl}-{v}-{threads}.pt"
                if v in SPIKEFORGE and ref.exists() and got.exists():
                    diff = compare(torch.load(ref), torch.load(got))
                    rec = dict(kind="parity", workload=wl, variant=v, threads=threads, **diff)
                    results.append(rec)
                    if out:
                        out.write(json.dumps(rec) + "\n")
    head = dict(kind="run", load_start=up0, load_end=os.getloadavg(), cpus=os.cpu_count(), argv=sys.argv[1:])
    if out:
        out.write(json.dumps(head) + "\n")
        out.close()
    text = markdown([head, *results])
    print(text)
    if a.md:
        Path(a.md).write_text(text + "\n")


# ----------------------------------------------------------------------------- table
def _fmt(x: float | None, nd: int = 1) -> str:
    return "-" if x is None or x != x else f"{x:.{nd}f}"


def _aggregate(rs: list[dict[str, Any]], mem: dict[str, Any] | None) -> dict[str, Any]:
    ok = [r for r in rs if r.get("status") == "ok"]
    times = [t for r in ok for t in r["times_ms"]]
    cpu = [t for r in ok for t in r.get("cpu_ms", [])]
    first = ok[0] if ok else (rs[0] if rs else {})
    return dict(
        min=min(times, default=None), med=statistics.median(times) if times else None,
        cpu=min(cpu, default=None),
        peak=max((r["peak_rss_mb"] for r in ok), default=None),
        over=max((r["peak_rss_mb"] - r["rss_setup_mb"] for r in ok), default=None),
        iter=mem.get("iter_peak_mb") if mem and mem.get("status") == "ok" else None,
        first=statistics.median([r["first_call_s"] for r in ok]) if ok else None,
        bg=max((r.get("bg_cores", 0.0) for r in ok), default=None), version=first.get("version", "-"),
        notes=first.get("notes", "") if ok else first.get("reason", first.get("status", "")),
        rate=first.get("rate"), n=len(ok), of=len(rs),
    )


HEADER = ("| workload | variant | version | min ms | median ms | min CPU ms | x bound | x snntorch "
          "| peak RSS MB | over setup MB | iteration MB | first call s | spike rate | parity vs snntorch "
          "| bg cores | runs | notes |")


def markdown(records: list[dict[str, Any]]) -> str:
    """One table per thread count: every variant's aggregate over its rounds."""
    parity = {(r["threads"], r["workload"], r["variant"]): r for r in records if r.get("kind") == "parity"}
    memory = {(r["threads"], r["workload"], r["variant"]): r for r in records if r.get("kind") == "memory"}
    groups: dict[tuple[int, str, str], list[dict[str, Any]]] = {}
    for r in records:
        if r.get("kind") is None:
            groups.setdefault((r["threads"], r["workload"], r["variant"]), []).append(r)
    lines = [f"Load average (1, 5, 15 min) at start {h['load_start']}, at end {h['load_end']}; "
             f"{h['cpus']} CPUs; `{' '.join(h['argv'])}`" for h in records if h.get("kind") == "run"]
    agg = {k: _aggregate(rs, memory.get(k)) for k, rs in groups.items()}
    for threads in sorted({k[0] for k in agg}):
        lines += [f"\n### {threads} torch thread{'s' if threads > 1 else ''}\n", HEADER, "|" + "---|" * 17]
        for wl in dict.fromkeys(k[1] for k in agg if k[0] == threads):
            refs = [agg.get((threads, wl, v), {}).get("min") for v in ("bound", "snntorch")]
            for v in VARIANTS:
                g = agg.get((threads, wl, v))
                if g is None:
                    continue
                p = parity.get((threads, wl, v))
                par = "-"
                if p is not None:
                    par = (f"loss {p['loss_abs']:.1e}, grad {p['grad_abs']:.1e} abs / "
                           f"{p['grad_rel']:.1e} rel" if "loss_abs" in p else f"output {p['out_abs']:.1e}")
                ratios = ["-" if ref is None or g["min"] is None else f"{g['min'] / ref:.2f}" for ref in refs]
                lines.append(
                    f"| {wl} | {v} | {g['version']} | {_fmt(g['min'])} | {_fmt(g['med'])} | {_fmt(g['cpu'])} "
                    f"| {ratios[0]} | {ratios[1]} | {_fmt(g['peak'], 0)} | {_fmt(g['over'], 0)} "
                    f"| {_fmt(g['iter'], 0)} | {_fmt(g['first'], 2)} | {_fmt(g['rate'], 3)} | {par} "
                    f"| {_fmt(g['bg'], 2)} | {g['n']}/{g['of']} | {str(g['notes']).replace('|', '/')} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workloads", nargs="+", default=["mlp", "csnn", "shd", "mlp_infer", "linlif"])
    ap.add_argument("--variants", nargs="+", default=VARIANTS, choices=VARIANTS)
    ap.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5, help="timed iterations per process")
    ap.add_argument("--warmup", type=int, default=2, help="untimed iterations first (the first: JIT/compile)")
    ap.add_argument("--steps", type=int, default=0, help="override T of every workload (smoke runs)")
    ap.add_argument("--batch", type=int, default=0, help="override B of every workload (smoke runs)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--compile-max-steps", type=int, default=50,
                    help="skip the compiled variants on longer sequences (Dynamo unrolls the time loop)")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per process")
    ap.add_argument("--shuffle", action="store_true", help="random variant order per round (seeded)")
    ap.add_argument("--env", nargs="+", default=[], metavar="KEY=VALUE",
                    help="environment of every process ({threads}: its torch thread count)")
    ap.add_argument("--out", help="append JSON records here")
    ap.add_argument("--md", help="write the Markdown table here")
    ap.add_argument("--table", metavar="JSONL", help="only render the table of a saved --out file")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--workload", help=argparse.SUPPRESS)
    ap.add_argument("--variant", help=argparse.SUPPRESS)
    ap.add_argument("--parity-out", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.table:
        with open(a.table) as f:
            print(markdown([json.loads(s) for s in f if s.strip()]))
        return
    if a.child:
        a.threads = a.threads[0]
        try:
            rec = child(a)
        except Exception as e:  # noqa: BLE001 - a failing variant is a result, not a crash
            rec = dict(status="error", reason=f"{type(e).__name__}: {e}"[:500],
                       traceback=traceback.format_exc()[-3000:])
        print(json.dumps(rec), flush=True)
        return
    a.env = [tuple(kv.split("=", 1)) for kv in a.env]
    if a.shuffle:
        random.Random(a.seed).shuffle(a.variants)
    parent(a)


if __name__ == "__main__":
    main()
