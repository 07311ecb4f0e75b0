"""The compiled CPU kernels (`spikeforge.ops._native`, ``_kernels.c``) and their numba fallback.

The compiled kernels are the numba ones written in C: same arguments, same operations in the same
order, in the data's precision. The numba kernels are checked against the step-by-step reference in
``test_parity.py``/``test_recurrent_dense.py`` (as the compiled ones are, being the default); here the two
implementations are run side by side on random arrays for every configuration and must agree bit for
bit (the equality of two independent codings of the same equations). The fallback (no library, or
``SPIKEFORGE_CPU_KERNELS=numba``) is checked by running the parity tests through it; and a training run
on the compiled kernels must not import numba (whose LLVM costs about 100 MB of resident memory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.ops import _native

pytest.importorskip("numba")

ROOT = Path(__file__).resolve().parents[2]
needs_lib = pytest.mark.skipif(_native.lib is None, reason="compiled kernels not built or turned off")


def test_library_is_built_on_this_platform() -> None:
    """CI builds the extension (the README's install); a silent fallback would hide a broken build."""
    if os.environ.get("SPIKEFORGE_CPU_KERNELS", "").lower() == "numba":
        pytest.skip("numba kernels asked for")
    if not sys.platform.startswith("linux"):
        pytest.skip("the build is only required on Linux here")
    assert _native.lib is not None
    assert _native.lib.sf_abi() == _native.ABI


def _arrays(rng: np.random.Generator, dt: type, T: int, N: int, syn: bool, rec: bool, per: bool,
            graded: bool) -> dict[str, np.ndarray]:
    one = np.zeros(1, dt)
    L = N if per else 1

    def r(*shape: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
        return (lo + (hi - lo) * rng.random(shape)).astype(dt)

    return dict(
        x=r(T, N, lo=-1.0, hi=2.5), u0=r(N, lo=-0.5, hi=1.5), i0=r(N) if syn else one,
        s0=(rng.random(N) < 0.5).astype(dt) if rec else one, alpha=r(L, hi=0.95), beta=r(L, hi=0.95),
        theta=r(L, lo=0.5, hi=1.5), g=r(L, lo=0.5, hi=2.0) if graded else np.ones(L, dt),
        vrec=r(L, lo=-1.0, hi=1.0) if rec else np.zeros(L, dt),
    )


CONFIG = st.fixed_dictionaries(dict(
    dt=st.sampled_from([np.float32, np.float64]), T=st.integers(1, 6), N=st.integers(1, 80),
    syn=st.booleans(), rec=st.booleans(), reset=st.integers(0, 3), immediate=st.booleans(),
    per=st.booleans(), graded=st.booleans(), nb=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
    sid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8]), has_gu=st.booleans(), has_gi=st.booleans(),
    params=st.booleans(), keep=st.booleans(), gs_row=st.booleans(),
))


def _forward(impl: str, a: dict, c: dict) -> tuple[np.ndarray, ...]:
    from spikeforge.ops.lif import cpu

    T, N = a["x"].shape
    rows = T if c["keep"] else 1
    dt = a["x"].dtype

    def buf(used: bool) -> np.ndarray:
        return np.full((rows, N), np.nan, dt) if used else np.full((1, 1), np.nan, dt)

    spk, u, itr, v = np.full((T, N), np.nan, dt), buf(True), buf(c["syn"]), buf(c["immediate"])
    args = (a["x"], a["u0"], a["i0"], a["s0"], a["alpha"], a["beta"], a["theta"], a["g"], a["vrec"],
            c["syn"], c["rec"], c["reset"], c["immediate"], c["nb"], spk, u, itr, v)
    if impl == "native":
        _native.lif_forward(*args)
    else:
        cpu.lif_forward_serial(*args)
    return spk, u, itr, v


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=CONFIG)
def test_lif_forward_equals_numba_bit_for_bit(c: dict) -> None:
    if c["syn"] and c["reset"] == 1:
        c["reset"] = 3  # the zero reset that keeps only the input is Leaky's alone
    a = _arrays(np.random.default_rng(c["seed"]), c["dt"], c["T"], c["N"],
                c["syn"], c["rec"], c["per"], c["graded"])
    got, want = _forward("native", a, c), _forward("numba", a, c)
    used = (True, True, c["syn"], c["immediate"])
    for g, w, u in zip(got, want, used):
        if u:
            np.testing.assert_array_equal(g, w)
            assert not np.isnan(g).any()


def _backward(impl: str, a: dict, fw: tuple[np.ndarray, ...], grads: dict, c: dict) -> list[np.ndarray]:
    from spikeforge.ops.lif import cpu

    T, N = a["x"].shape
    dt = a["x"].dtype

    def per(p: np.ndarray) -> np.ndarray:
        # numba needs parameters repeated per neuron; the compiled kernels also take them as one value
        return np.repeat(p, N) if p.shape[0] == 1 and N != 1 and impl == "numba" else p

    one = np.zeros(1, dt)
    dummy = np.zeros((1, 1), dt)
    spk, u, itr, v = fw

    def vec(used: bool, start: np.ndarray | None = None) -> np.ndarray:
        if not used:
            return one.copy()
        return np.full(N, np.nan, dt) if start is None else start.copy()

    used = (True, c["syn"], c["rec"], c["params"] and c["syn"], c["params"], c["params"], c["params"],
            c["params"] and c["rec"])
    starts = (grads["gu_last"], grads["gi_last"], grads["gs_last"], None, None, None, None, None)
    vecs = [vec(k, s) for k, s in zip(used, starts)]
    gx = np.full((T, N), np.nan, dt)
    args = (a["u0"], a["i0"], a["s0"], per(a["alpha"]) if c["syn"] else a["alpha"], per(a["beta"]),
            per(a["theta"]), per(a["g"]), per(a["vrec"]) if c["rec"] else a["vrec"], c["syn"], c["rec"],
            c["reset"], c["immediate"], c["sid"], 1.7, 0.3, c["nb"], spk if c["rec"] else dummy, u,
            itr if c["syn"] else dummy, v if c["immediate"] else dummy,
            grads["gs"][0] if c.get("gs_row") and impl == "native" else grads["gs"],
            grads["gu"] if c["has_gu"] else dummy, grads["gi"] if c["has_gi"] and c["syn"] else dummy,
            c["has_gu"], c["has_gi"] and c["syn"], gx, *vecs, c["params"])
    if impl == "native":
        _native.lif_backward(*args)
    else:
        cpu.lif_backward_serial(*args)
    return [gx] + [w for w, k in zip(vecs, used) if k]


def _check_backward(got: list[np.ndarray], want: list[np.ndarray], a: dict, fw: tuple[np.ndarray, ...],
                    grads: dict, c: dict) -> None:
    """Every gradient bit for bit, but those of parameters given as one value each (``per`` False, N > 1):
    the compiled kernels give their sums per block of neurons, in elements ``[:nb]`` (see
    `_native.lif_backward`), added in another order than numba's per-neuron sums. Their totals must agree
    to rounding: within 16 T eps(dtype) of a bound on the sum of the terms' magnitudes (each term a
    gradient of the state, at most |gx| + |gs| + |gu| + |gi| of its neuron and step, times a state or
    parameter value, at most ``big``)."""
    T, N = a["x"].shape
    n_state = 2 + c["syn"] + c["rec"]  # gx and the gradients of the initial states: always bit for bit
    compact = c["params"] and not c["per"] and N != 1
    for i, (g, w) in enumerate(zip(got, want)):
        if i < n_state or not compact:
            np.testing.assert_array_equal(g, w)
            assert not np.isnan(g).any()
            continue
        nb = _native.used_blocks(c["nb"], N)
        assert not np.isnan(g[:nb]).any()
        total, ref = g[:nb].astype(np.float64).sum(), w.astype(np.float64).sum()
        big = max([1.0] + [float(np.abs(t).max()) for t in (fw[1], a["u0"], a["theta"], a["g"], a["vrec"])]
                  + ([float(np.abs(fw[2]).max()), float(np.abs(a["i0"]).max())] if c["syn"] else []))
        mag = sum(float(np.abs(t).astype(np.float64).sum()) for t in
                  (got[0], grads["gs"], grads["gu"], grads["gi"], grads["gu_last"], grads["gi_last"],
                   grads["gs_last"]))
        tol = 16 * T * np.finfo(c["dt"]).eps * (big * mag + np.abs(w).astype(np.float64).sum())
        assert abs(total - ref) <= tol, (i, total, ref, tol)


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=CONFIG)
def test_lif_backward_equals_numba_bit_for_bit(c: dict) -> None:
    if c["syn"] and c["reset"] == 1:
        c["reset"] = 3
    c["keep"] = True  # the backward reads whole traces
    rng = np.random.default_rng(c["seed"])
    a = _arrays(rng, c["dt"], c["T"], c["N"], c["syn"], c["rec"], c["per"], c["graded"])
    fw = _forward("numba", a, c)
    T, N = a["x"].shape

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(c["dt"])

    grads = dict(gs=r(T, N), gu=r(T, N), gi=r(T, N), gu_last=r(N), gi_last=r(N), gs_last=r(N))
    if c["gs_row"]:  # the same spike gradient at every step: one row for the compiled kernels
        grads["gs"] = np.repeat(grads["gs"][:1], T, axis=0)
    got, want = _backward("native", a, fw, grads, c), _backward("numba", a, fw, grads, c)
    _check_backward(got, want, a, fw, grads, c)


@needs_lib
@pytest.mark.parametrize("params,per,nb", [(True, True, 2), (True, False, 1), (False, False, 2),
                                           (False, True, 1)])
def test_lif_backward_across_chunks_and_tiles_equals_numba(params: bool, per: bool, nb: int) -> None:
    """N spans several of the backward's scratch chunks (_kernels.c CHUNK, 512) and, per block, more than
    one parameter-gradient tile (TILE, 16384), with a remainder of each: the split must not change a bit
    (nor, for parameters of one value each, their sums beyond rounding)."""
    c = dict(dt=np.float32, syn=True, rec=True, reset=0, immediate=True, per=per, graded=True, nb=nb,
             sid=0, has_gu=True, has_gi=True, params=params, keep=True, gs_row=False)
    T, N = 3, 2 * 16384 * nb + 555
    rng = np.random.default_rng(7)
    a = _arrays(rng, c["dt"], T, N, c["syn"], c["rec"], per, c["graded"])
    fw = _forward("numba", a, c)

    def r(*shape: int) -> np.ndarray:
        return rng.standard_normal(shape).astype(c["dt"])

    grads = dict(gs=r(T, N), gu=r(T, N), gi=r(T, N), gu_last=r(N), gi_last=r(N), gs_last=r(N))
    _check_backward(_backward("native", a, fw, grads, c), _backward("numba", a, fw, grads, c), a, fw, grads,
                    c)


ALPHA = st.fixed_dictionaries(dict(
    dt=st.sampled_from([np.float32, np.float64]), T=st.integers(1, 6), N=st.integers(1, 80),
    reset=st.integers(0, 2), nb=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
    sid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8]), has=st.tuples(st.booleans(), st.booleans(),
                                                                     st.booleans()),
    params=st.booleans(), keep=st.booleans(),
))


def _alpha_case(c: dict) -> tuple[dict, dict]:
    rng = np.random.default_rng(c["seed"])
    T, N, dt = c["T"], c["N"], c["dt"]

    def r(*shape: int, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
        return (lo + (hi - lo) * rng.random(shape)).astype(dt)

    alpha, beta = r(N, lo=0.5, hi=0.95), r(N, lo=0.1, hi=0.45)  # alpha > beta, as the neuron requires
    a = dict(x=r(T, N, lo=-1.0, hi=2.5), e0=r(N, lo=-0.5, hi=1.0), n0=r(N, lo=-1.0, hi=0.5),
             u0=r(N, lo=-0.5, hi=1.5), alpha=alpha, beta=beta, tau=r(N, lo=0.5, hi=3.0),
             theta=r(N, lo=0.5, hi=1.5), g=r(N, lo=0.5, hi=2.0))
    grads = dict(gs=r(T, N, lo=-1, hi=1), ge=r(T, N, lo=-1, hi=1), gn=r(T, N, lo=-1, hi=1),
                 gu=r(T, N, lo=-1, hi=1))
    return a, grads


def _alpha_forward(impl: str, a: dict, c: dict) -> list[np.ndarray]:
    from spikeforge.ops.alpha import cpu

    T, N = a["x"].shape
    rows = T if c["keep"] else 1
    dt = a["x"].dtype
    outs = [np.full((T, N), np.nan, dt)] + [np.full((rows, N), np.nan, dt) for _ in range(3)]
    args = (*a.values(), c["reset"], c["nb"], *outs)
    (_native.alpha_forward if impl == "native" else cpu.alpha_forward_serial)(*args)
    return outs


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=ALPHA)
def test_alpha_forward_equals_numba_bit_for_bit(c: dict) -> None:
    a, _ = _alpha_case(c)
    for got, want in zip(_alpha_forward("native", a, c), _alpha_forward("numba", a, c)):
        np.testing.assert_array_equal(got, want)
        assert not np.isnan(got).any()


def _alpha_backward(impl: str, a: dict, fw: list[np.ndarray], grads: dict, c: dict) -> list[np.ndarray]:
    from spikeforge.ops.alpha import cpu

    T, N = a["x"].shape
    dt = a["x"].dtype
    dummy = np.zeros((1, 1), dt)
    opt = [grads[k] if h else dummy for k, h in zip(("ge", "gn", "gu"), c["has"])]
    outs = [np.full((T, N), np.nan, dt)] + [np.full(N, np.nan, dt) for _ in range(7)]
    args = (*a.values(), c["reset"], c["sid"], 1.7, 0.3, c["nb"], *fw[1:], grads["gs"], *opt, *c["has"],
            *outs, c["params"])
    (_native.alpha_backward if impl == "native" else cpu.alpha_backward_serial)(*args)
    return outs


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=ALPHA)
def test_alpha_backward_equals_numba_bit_for_bit(c: dict) -> None:
    c["keep"] = True  # the backward reads whole traces
    a, grads = _alpha_case(c)
    fw = _alpha_forward("numba", a, c)
    got = _alpha_backward("native", a, fw, grads, c)
    for g, w in zip(got, _alpha_backward("numba", a, fw, grads, c)):
        np.testing.assert_array_equal(g, w)
        assert not np.isnan(g).any()


@needs_lib
@pytest.mark.parametrize("params,nb", [(True, 2), (False, 1)])
def test_alpha_backward_across_chunks_and_tiles_equals_numba(params: bool, nb: int) -> None:
    c = dict(T=3, N=2 * 16384 * nb + 555, dt=np.float32, reset=0, nb=nb, seed=3, sid=0,
             has=(True, False, True), params=params, keep=True)
    a, grads = _alpha_case(c)
    fw = _alpha_forward("numba", a, c)
    got = _alpha_backward("native", a, fw, grads, c)
    for g, w in zip(got, _alpha_backward("numba", a, fw, grads, c)):
        np.testing.assert_array_equal(g, w)


REC = st.fixed_dictionaries(dict(
    dt=st.sampled_from([np.float32, np.float64]), T=st.integers(1, 5), N=st.integers(1, 70),
    syn=st.booleans(), reset=st.integers(0, 2), immediate=st.booleans(), seed=st.integers(0, 2**31 - 1),
    sid=st.sampled_from([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8]), has=st.tuples(st.booleans(), st.booleans(),
                                                                     st.booleans()),
    needs=st.tuples(st.booleans(), st.booleans(), st.booleans(), st.booleans()),
))


@needs_lib
@settings(max_examples=150, deadline=None)
@given(c=REC)
def test_dense_recurrent_steps_equal_numba_bit_for_bit(c: dict) -> None:
    from spikeforge.ops.recurrent import _numba

    if c["reset"] == 2:
        c["immediate"] = False  # the immediate reset needs a reset
    rng = np.random.default_rng(c["seed"])
    dt, T, N, syn, reset, imm = c["dt"], c["T"], c["N"], c["syn"], c["reset"], c["immediate"]

    def r(*shape: int, lo: float = -1.0, hi: float = 1.0) -> np.ndarray:
        return (lo + (hi - lo) * rng.random(shape)).astype(dt)

    x, rec = r(T, N, hi=2.0), r(T, N)
    u0, i0 = r(N), r(N)
    prm = (r(N, lo=0, hi=0.95), r(N, lo=0, hi=0.95), r(N, lo=0.5, hi=1.5), r(N, lo=0.5, hi=2.0))
    ph = np.zeros((1, 1), dt)

    def traces() -> list[np.ndarray]:
        def full(used: bool) -> np.ndarray:
            return np.full((T, N), np.nan, dt) if used else ph.copy()

        return [full(True), full(True), full(syn), full(imm)]

    got, want = traces(), traces()
    fwd = _native.RecurrentForward(x, u0, i0, *prm, syn, reset, imm, *got)
    for t in range(T):
        fwd.step(t, rec[t])
        _numba.step_forward(t, x, rec[t], u0, i0, *prm, syn, reset, imm, *want)
    used = (True, True, syn, imm)
    for g, w, k in zip(got, want, used):
        if k:
            np.testing.assert_array_equal(g, w)
    _, mem, cur, pre = want
    gs, gu, gi = (r(T, N) if h else ph for h in c["has"])
    # the carried gradients between steps, as the op sets them (W-products replaced by random rows)
    between = r(T, N)

    def run(native: bool) -> list[np.ndarray]:
        gx = np.full((T, N), np.nan, dt)
        carried = (r0 := np.zeros(N, dt), np.zeros(N, dt), np.zeros(N, dt))
        accs = [np.zeros(N, dt) for _ in range(4)]
        slope = np.zeros((1, N), dt)
        has = tuple(bool(h) for h in c["has"])
        if native:
            step = _native.RecurrentBackward(u0, i0, *prm, syn, reset, imm, c["sid"], 1.7, 0.3, mem, cur, pre,
                                             gs, gu, gi, has, slope, carried, c["needs"], accs, gx).step
        else:
            def step(t: int) -> None:
                if c["sid"] != -1:
                    _numba.slopes((pre if imm else mem)[t:t + 1], prm[2], prm[3], c["sid"], 1.7, 0.3, slope)
                _numba.step_backward(t, u0, i0, *prm, syn, reset, imm, slope, mem, cur, pre, gs, gu, gi, *has,
                                     *carried, *c["needs"], *accs, gx)
        for t in range(T - 1, -1, -1):
            step(t)
            r0[:] = between[t]
        return [gx, *carried[1:], *(a for a, n in zip(accs, c["needs"]) if n)]

    for g, w in zip(run(True), run(False)):
        np.testing.assert_array_equal(g, w)
        assert not np.isnan(g).any()


def _fresh(code: str, env: dict[str, str] | None = None) -> dict:
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                         timeout=300, check=True, env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


TRAIN = """
    import json, sys
    import torch
    import spikeforge as snn
    torch.manual_seed(0)
    net = snn.SequentialSNN(
        torch.nn.Linear(20, 64), snn.Leaky(beta=0.9, init_hidden=True),
        torch.nn.Linear(64, 32), snn.RLeaky(beta=0.8, linear_features=32, init_hidden=True),
        torch.nn.Linear(32, 16), snn.Synaptic(alpha=0.7, beta=0.9, learn_beta=True, init_hidden=True),
        torch.nn.Linear(16, 8), snn.Alpha(alpha=0.9, beta=0.8, learn_alpha=True, init_hidden=True))
    x = torch.rand(30, 8, 20) * 2
    out = net(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    with torch.no_grad():
        net(x)
    from spikeforge.ops import _native
    print(json.dumps({"native": _native.lib is not None,
                      "numba": any(m.split(".")[0] in ("numba", "llvmlite") for m in sys.modules),
                      "grad": float(net[0].weight.grad.abs().sum())}))
"""


@needs_lib
def test_training_on_compiled_kernels_never_imports_numba() -> None:
    r = _fresh(TRAIN)
    assert r["native"] and r["grad"] > 0
    assert not r["numba"], "numba (and LLVM) imported by a run the compiled kernels cover"


def test_numba_asked_for_by_environment() -> None:
    r = _fresh(TRAIN, {"SPIKEFORGE_CPU_KERNELS": "numba"})
    assert not r["native"] and r["numba"] and r["grad"] > 0


@needs_lib
@pytest.mark.parametrize("value", ["compiled", "AUTO", ""])
def test_compiled_kernels_asked_for_by_environment(value: str) -> None:
    r = _fresh(TRAIN, {"SPIKEFORGE_CPU_KERNELS": value})
    assert r["native"] and not r["numba"] and r["grad"] > 0


@needs_lib
def test_unknown_kernel_choice_warns_and_keeps_the_default() -> None:
    code = "import warnings; warnings.simplefilter('always'); " + textwrap.dedent(TRAIN).strip()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         check=True, env={**os.environ, "SPIKEFORGE_CPU_KERNELS": "numbaa"})
    assert "SPIKEFORGE_CPU_KERNELS='numbaa' is not one of auto, compiled, numba" in out.stderr
    assert out.stderr.count("SPIKEFORGE_CPU_KERNELS") == 1
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["native"] and not r["numba"]


def test_parity_suite_passes_on_the_numba_fallback() -> None:
    """The step-loop parity tests of both kernel families, run through numba (as a machine without a C
    compiler at install would), in a fresh process."""
    tests = [str(ROOT / "tests/ops" / f) for f in ("test_parity.py", "test_recurrent_dense.py")]
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests],
                         capture_output=True, text=True, timeout=600, cwd=ROOT,
                         env={**os.environ, "SPIKEFORGE_CPU_KERNELS": "numba"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "[100%]" in out.stdout


@needs_lib
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="builds with gcc")
def test_build_without_openmp_uses_its_own_threads_and_agrees(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A compiler without OpenMP (a wrapper that rejects ``-fopenmp``): ``setup.py`` builds again without
    it, the library then needs no OpenMP runtime, and its POSIX-thread blocks give the same bits.
    (The wrapper also builds at -O1, a sixth of the -O3 build's time: the threads are what is tested,
    and the kernels' results do not depend on how far gcc optimises them: no contraction, each
    neuron's operations in their order.)"""
    cc = tmp_path / "cc"
    cc.write_text('#!/bin/sh\nfor a in "$@"; do [ "$a" = -fopenmp ] && exit 1; done\nexec gcc "$@" -O1\n')
    cc.chmod(0o755)
    env = {**os.environ, "CC": str(cc), "LDSHARED": f"{cc} -shared"}
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", str(tmp_path / "lib"),
                    "--build-temp", str(tmp_path / "tmp")], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=600)
    [so] = (tmp_path / "lib").rglob("_kernels*.so")
    needed = subprocess.run(["ldd", str(so)], capture_output=True, text=True, check=True).stdout
    assert "gomp" not in needed
    lib = _native.open_library(so)
    assert lib is not None
    rng = np.random.default_rng(3)
    c = dict(syn=True, rec=True, reset=0, immediate=True, per=True, keep=True, nb=3, sid=0, has_gu=True,
             has_gi=True, params=True)
    a = _arrays(rng, np.float32, 9, 20000, True, True, True, True)
    grads = {k: rng.standard_normal(s).astype(np.float32)
             for k, s in dict(gs=(9, 20000), gu=(9, 20000), gi=(9, 20000), gu_last=20000, gi_last=20000,
                              gs_last=20000).items()}
    want_f = _forward("numba", a, c)
    want_b = _backward("numba", a, want_f, grads, c)
    monkeypatch.setattr(_native, "lib", lib)
    got_f = _forward("native", a, c)
    got_b = _backward("native", a, want_f, grads, c)
    for g, w in zip((*got_f, *got_b), (*want_f, *want_b)):
        np.testing.assert_array_equal(g, w)


def test_unloadable_library_warns_and_falls_back(tmp_path: Path) -> None:
    bad = tmp_path / "_kernels.so"
    bad.write_bytes(b"\x7fELF not really a library")
    with pytest.warns(RuntimeWarning, match="cannot load the compiled kernels"):
        assert _native.open_library(bad) is None


@needs_lib
def test_library_of_another_interface_version_warns_and_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """A library left from an older build (its structures differ) is never called: numba runs instead."""
    path = Path(_native.lib._name)
    monkeypatch.setattr(_native, "ABI", _native.ABI + 1)
    with pytest.warns(RuntimeWarning, match="built for another version"):
        assert _native.open_library(path) is None
