"""The compiled CPU kernels (``_kernels.c``, built at install) through ctypes, with numba as the fallback.

Why not numba alone: importing numba loads LLVM (``libllvmlite.so``, about 100 MB of resident memory
before any kernel runs, 116 MB with numba's modules) and its first compiled calls add 25-50 MB more,
which put the peak memory of a sequence-mode training run 30-100 MB over snntorch's. The compiled
library is under 1 MB. The kernels are the numba ones written in C (same equations, codes, layouts and
rounding), so either backend gives the same bits.

`lib` is the loaded library, or None when it was not built (no C compiler at install), its interface
does not match (`ABI`), or ``SPIKEFORGE_CPU_KERNELS=numba`` asks for the numba kernels; the callers then
use those (``ops/lif/cpu.py``, ``ops/alpha/cpu.py``, ``ops/recurrent/_numba.py``). ctypes releases the
GIL during a call.

Thread use: a LIF or alpha call splits its neurons into `blocks` contiguous blocks, one thread each, at
most ``torch.get_num_threads()``. Built with OpenMP (gcc on Linux), the library shares the OpenMP runtime
torch loaded, and the blocks run on torch's own pool (whose threads are still spinning from torch's last
parallel operation: starting threads of our own, which then waited for those to yield a core, made a
2-thread inference 20-35 % slower); a ``num_threads`` clause per call, so torch's thread count is never
changed. Built without OpenMP, it starts POSIX threads per call. The dense-recurrent step is serial.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import os
import warnings
from pathlib import Path

import numpy as np
import torch

#: the interface version the structures below describe (``SF_ABI`` in ``_kernels.c``)
ABI = 6
#: fewest neurons per thread: below that, starting threads costs more than it saves
MIN_BLOCK = 4096

_i64, _i32, _ptr, _f64 = ctypes.c_int64, ctypes.c_int32, ctypes.c_void_p, ctypes.c_double


def _fields(spec: str) -> list[tuple[str, type]]:
    """``"T N:i64 x alpha:p"`` -> ctypes fields: each name takes the type written after the next colon."""
    out, names = [], []
    kinds = {"i64": _i64, "i32": _i32, "p": _ptr, "f64": _f64}
    for word in spec.split():
        name, _, kind = word.partition(":")
        names.append(name)
        if kind:
            out += [(n, kinds[kind]) for n in names]
            names = []
    return out


class LifForwardArgs(ctypes.Structure):
    _fields_ = _fields("T N P keep:i64 x alpha beta theta g vrec spk u itr v u_prev i_prev s_prev:p "
                       "per syn rec reset immediate nb:i32")


class LifBackwardArgs(ctypes.Structure):
    _fields_ = _fields("T N P gs_stride gu_stride gi_stride:i64 u0 i0 s0 alpha beta theta g vrec spk u itr v "
                       "gs gu gi gx gu0 gi0 gs0 galpha gbeta gtheta gg gvrec:p p1 p2:f64 "
                       "sid syn rec reset immediate params nb per:i32")


class RecForwardArgs(ctypes.Structure):
    _fields_ = _fields("t N:i64 x rec u0 i0 alpha beta theta g spk u itr v:p syn reset immediate unused:i32")


class RecBackwardArgs(ctypes.Structure):
    _fields_ = _fields("t N:i64 u0 i0 alpha beta theta g u itr v gs gu gi slope gsc guc gic galpha gbeta "
                       "gtheta gg gx:p p1 p2:f64 sid syn reset immediate has_gs has_gu has_gi need_alpha "
                       "need_beta need_theta need_g unused:i32")


class AlphaForwardArgs(ctypes.Structure):
    _fields_ = _fields("T N P keep:i64 x alpha beta tau theta g spk e n u e_prev n_prev u_prev:p reset nb "
                       "per:i32")


class AlphaBackwardArgs(ctypes.Structure):
    _fields_ = _fields("T N P ge_stride gn_stride gu_stride:i64 x e0 n0 u0 alpha beta tau theta g e n u gs "
                       "ge gn gu gx ge0 gn0 galpha gbeta gtau gtheta gg:p p1 p2:f64 "
                       "sid reset params nb per:i32")


def open_library(path: str | Path) -> ctypes.CDLL | None:
    """The kernels library at ``path`` with its functions' signatures set, or None when it cannot be
    loaded or was built for another interface version (`ABI`)."""
    try:
        lib = ctypes.CDLL(str(path))
        lib.sf_abi.restype = ctypes.c_int
        if lib.sf_abi() != ABI:
            warnings.warn(f"spikeforge: {path} was built for another version (interface {lib.sf_abi()}, "
                          f"this code needs {ABI}); using the numba kernels. Reinstall spikeforge "
                          "(pip install -e .) to rebuild it.", RuntimeWarning, stacklevel=2)
            return None
    except (OSError, AttributeError) as err:
        warnings.warn(f"spikeforge: cannot load the compiled kernels {path} ({err}); using the numba "
                      "kernels", RuntimeWarning, stacklevel=2)
        return None
    for kind, args in (("lif_forward", LifForwardArgs), ("lif_backward", LifBackwardArgs),
                       ("rec_step_forward", RecForwardArgs), ("rec_step_backward", RecBackwardArgs),
                       ("alpha_forward", AlphaForwardArgs), ("alpha_backward", AlphaBackwardArgs)):
        for dt in ("f32", "f64"):
            fn = getattr(lib, f"sf_{kind}_{dt}")
            fn.argtypes = [ctypes.POINTER(args)]
            fn.restype = None if kind.startswith("rec") else ctypes.c_int
    return lib


#: the values of ``SPIKEFORGE_CPU_KERNELS``: the compiled kernels where built (the default), or numba's
CHOICES = ("auto", "compiled", "numba")


def _load() -> ctypes.CDLL | None:
    choice = os.environ.get("SPIKEFORGE_CPU_KERNELS", "").strip().lower()
    if choice == "numba":
        return None
    if choice not in ("", *CHOICES):
        warnings.warn(f"SPIKEFORGE_CPU_KERNELS={os.environ['SPIKEFORGE_CPU_KERNELS']!r} is not one of "
                      f"{', '.join(CHOICES)}: ignored (the compiled kernels are used where built)",
                      RuntimeWarning, stacklevel=2)
    here = Path(__file__).parent
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        path = here / f"_kernels{suffix}"
        if path.is_file():
            return open_library(path)
    return None


lib = _load()


def blocks(n: int) -> int:
    """How many contiguous blocks of neurons (one per thread) a LIF or alpha call splits ``n`` neurons
    into: at most ``torch.get_num_threads()``, at least `MIN_BLOCK` neurons each."""
    return max(1, min(torch.get_num_threads(), n // MIN_BLOCK))


def used_blocks(nb: int, n: int) -> int:
    """The number of blocks `lif_backward` splits ``n`` neurons into when asked for ``nb``: between 1 and
    ``n`` (for ``n`` >= 1)."""
    return max(1, min(int(nb), n))


def _suffix(a: np.ndarray) -> str:
    if a.dtype == np.float32:
        return "f32"
    if a.dtype == np.float64:
        return "f64"
    raise TypeError(f"the compiled kernels take float32 or float64 arrays, not {a.dtype}")


def _p(a: np.ndarray, dtype: np.dtype) -> int:
    """The address of ``a``'s data (C-contiguous, ``dtype``: the kernels index it as such)."""
    if a.dtype != dtype or not a.flags.c_contiguous:
        raise ValueError(f"kernel array must be C-contiguous {dtype}, got {a.dtype} {a.strides}")
    return a.ctypes.data


def _check(rc: int) -> None:
    if rc:
        raise MemoryError("spikeforge CPU kernel: out of memory for its per-thread buffers")


def _period_of(beta: np.ndarray, theta: np.ndarray, g: np.ndarray, n: int,
               *more: np.ndarray) -> tuple[int, int]:
    """``(P, per)`` of the LIF and alpha kernels' parameters (beta, theta, g and ``more``: the ones
    always read; the LIF's alpha and vrec, when read, are as long): ``per`` 0 for one value each (``[1]``
    while ``n > 1``), else 1 with ``P`` their length, which must divide ``n``.

    Raises:
        ValueError: the lengths differ, or ``P`` does not divide ``n``.
    """
    P = beta.shape[0]
    if any(t.shape[0] != P for t in (theta, g, *more)) or (n and (P == 0 or n % P)):
        raise ValueError(f"kernel parameters must all be [1] or all [P] with P dividing {n}; got "
                         f"beta {beta.shape}, theta {theta.shape}, g {g.shape}")
    if n == 0:  # no neuron: nothing is read
        return 1, 0
    return P, int(P == n or P > 1)


def lif_forward(x: np.ndarray, u0: np.ndarray, i0: np.ndarray, s0: np.ndarray, alpha: np.ndarray,
                beta: np.ndarray, theta: np.ndarray, g: np.ndarray, vrec: np.ndarray, syn: bool, rec: bool,
                reset: int, immediate: bool, nb: int, spk: np.ndarray, u: np.ndarray, itr: np.ndarray,
                v: np.ndarray) -> None:
    """As ``ops.lif.cpu.lif_forward`` (same arguments, same results), on ``nb`` threads; and more
    lenient: the parameters may also be one value each (all ``[1]``), or all ``[P]`` with ``N`` a
    multiple of ``P``, neuron ``k`` reading element ``k % P`` (parameters of the trailing dimensions)."""
    T, N = x.shape
    dt = x.dtype
    u_prev, i_prev, s_prev = u0.copy(), i0.copy(), s0.copy()
    P, per = _period_of(beta, theta, g, N)
    a = LifForwardArgs(T, N, P, int(u.shape[0] == T), *(_p(b, dt) for b in (
        x, alpha, beta, theta, g, vrec, spk, u, itr, v, u_prev, i_prev, s_prev)),
        per, int(syn), int(rec), int(reset), int(immediate), max(1, int(nb)))
    _check(getattr(lib, f"sf_lif_forward_{_suffix(x)}")(ctypes.byref(a)))


def lif_backward(u0: np.ndarray, i0: np.ndarray, s0: np.ndarray, alpha: np.ndarray, beta: np.ndarray,
                 theta: np.ndarray, g: np.ndarray, vrec: np.ndarray, syn: bool, rec: bool, reset: int,
                 immediate: bool, sid: int, p1: float, p2: float, nb: int, spk: np.ndarray, u: np.ndarray,
                 itr: np.ndarray, v: np.ndarray, gs: np.ndarray, gu: np.ndarray, gi: np.ndarray,
                 has_gu: bool, has_gi: bool, gx: np.ndarray, gu0: np.ndarray, gi0: np.ndarray,
                 gs0: np.ndarray, galpha: np.ndarray, gbeta: np.ndarray, gtheta: np.ndarray,
                 gg: np.ndarray, gvrec: np.ndarray, need_params: bool = True, need_g: bool = True) -> None:
    """As ``ops.lif.cpu.lif_backward`` (same arguments, same results), on ``nb`` threads; and more
    lenient: the parameters may also be one value each (all ``[1]``) or ``[P]``, as the forward takes
    them (the per-neuron gradients are then still ``[N]``, each neuron's sum over time), and
    ``gs`` one ``[N]`` row that every step reads (a gradient broadcast over time, e.g. from
    ``spk.sum()``), where numba needs them repeated.

    With parameters of one value each and ``need_params``, the parameters' gradients are not per neuron:
    element ``c`` of ``galpha``, ``gbeta``, ``gtheta``, ``gg``, ``gvrec`` holds block ``c``'s sum (over
    its neurons and the steps), for ``c < nb`` (``nb`` as clamped here: `used_blocks`); their total is the
    gradient. The other elements are left as they were. With ``need_g`` False (and ``need_params``), ``gg``
    is not written (one fewer sum per element: the graded-spike factor rarely learns) and may be 1-element."""
    T, N = u.shape
    nb = used_blocks(nb, N)
    if N == 0:
        return
    dt = u.dtype
    zero_row = None
    if not (has_gu and has_gi):
        zero_row = np.zeros(N, dtype=dt)
    gu_, gi_ = (gu if has_gu else zero_row), (gi if has_gi else zero_row)
    if gs.size not in (T * N, N):
        raise ValueError(f"gs must hold {T} x {N} or {N} values, not {gs.shape}")
    P, per = _period_of(beta, theta, g, N)
    a = LifBackwardArgs(T, N, P, N if gs.size == T * N else 0, N if has_gu else 0, N if has_gi else 0,
                        *(_p(b, dt) for b in (u0, i0, s0, alpha, beta, theta, g, vrec, spk, u, itr, v, gs,
                                              gu_, gi_, gx, gu0, gi0, gs0, galpha, gbeta, gtheta, gg, gvrec)),
                        float(p1), float(p2), int(sid), int(syn), int(rec), int(reset), int(immediate),
                        (2 if need_g else 1) if need_params else 0, nb, per)
    _check(getattr(lib, f"sf_lif_backward_{_suffix(u)}")(ctypes.byref(a)))


def alpha_forward(x: np.ndarray, e0: np.ndarray, n0: np.ndarray, u0: np.ndarray, alpha: np.ndarray,
                  beta: np.ndarray, tau: np.ndarray, theta: np.ndarray, g: np.ndarray, reset: int, nb: int,
                  spk: np.ndarray, e: np.ndarray, n: np.ndarray, u: np.ndarray) -> None:
    """As ``ops.alpha.cpu.alpha_forward`` (same arguments, same results), on ``nb`` threads; the
    parameters may be ``[N]``, or all ``[1]`` or all ``[P]`` as `lif_forward` takes them."""
    T, N = x.shape
    dt = x.dtype
    e_prev, n_prev, u_prev = e0.copy(), n0.copy(), u0.copy()
    P, per = _period_of(beta, theta, g, N, alpha, tau)
    a = AlphaForwardArgs(T, N, P, int(u.shape[0] == T), *(_p(b, dt) for b in (
        x, alpha, beta, tau, theta, g, spk, e, n, u, e_prev, n_prev, u_prev)), int(reset), max(1, int(nb)),
        per)
    _check(getattr(lib, f"sf_alpha_forward_{_suffix(x)}")(ctypes.byref(a)))


def alpha_backward(x: np.ndarray, e0: np.ndarray, n0: np.ndarray, u0: np.ndarray, alpha: np.ndarray,
                   beta: np.ndarray, tau: np.ndarray, theta: np.ndarray, g: np.ndarray, reset: int, sid: int,
                   p1: float, p2: float, nb: int, e: np.ndarray, n: np.ndarray, u: np.ndarray,
                   gs: np.ndarray, ge: np.ndarray, gn: np.ndarray, gu: np.ndarray, has_ge: bool,
                   has_gn: bool, has_gu: bool, gx: np.ndarray, ge0: np.ndarray, gn0: np.ndarray,
                   galpha: np.ndarray, gbeta: np.ndarray, gtau: np.ndarray, gtheta: np.ndarray,
                   gg: np.ndarray, need_params: bool = True) -> None:
    """As ``ops.alpha.cpu.alpha_backward`` (same arguments, same results), on ``nb`` threads; an absent
    ``ge``/``gn``/``gu`` (1x1) is read as one row of zeros; the parameters as `alpha_forward` takes them
    (their gradients ``[N]`` all the same: each neuron's sum over time)."""
    T, N = x.shape
    dt = x.dtype
    zero_row = np.zeros(N, dtype=dt) if not (has_ge and has_gn and has_gu) else None
    rows = [(t, N) if has else (zero_row, 0) for t, has in ((ge, has_ge), (gn, has_gn), (gu, has_gu))]
    P, per = _period_of(beta, theta, g, N, alpha, tau)
    a = AlphaBackwardArgs(T, N, P, *(stride for _, stride in rows), *(_p(b, dt) for b in (
        x, e0, n0, u0, alpha, beta, tau, theta, g, e, n, u, gs, *(t for t, _ in rows), gx, ge0, gn0, galpha,
        gbeta, gtau, gtheta, gg)), float(p1), float(p2), int(sid), int(reset), int(need_params),
        max(1, int(nb)), per)
    _check(getattr(lib, f"sf_alpha_backward_{_suffix(x)}")(ctypes.byref(a)))


class RecurrentForward:
    """The dense-recurrent forward steps of one sequence: the arrays are fixed once, then `step` runs
    step ``t`` with the recurrent input ``rec`` (``[N]``, ``x``'s dtype) as
    ``ops.recurrent._numba.step_forward`` does."""

    def __init__(self, x: np.ndarray, u0: np.ndarray, i0: np.ndarray, alpha: np.ndarray,
                 beta: np.ndarray, theta: np.ndarray, g: np.ndarray, syn: bool, reset: int,
                 immediate: bool, spk: np.ndarray, u: np.ndarray, itr: np.ndarray, v: np.ndarray) -> None:
        self.dt = x.dtype
        self.keep = (x, u0, i0, alpha, beta, theta, g, spk, u, itr, v)  # alive while the pointers are used
        p = [_p(b, self.dt) for b in self.keep]
        self.args = RecForwardArgs(0, x.shape[1], p[0], 0, *p[1:], int(syn), int(reset), int(immediate), 0)
        self.fn = getattr(lib, f"sf_rec_step_forward_{_suffix(x)}")
        self.ref = ctypes.byref(self.args)

    def step(self, t: int, rec: np.ndarray) -> None:
        if rec.dtype != self.dt or not rec.flags.c_contiguous:  # (in practice it is already)
            rec = np.ascontiguousarray(rec, dtype=self.dt)
            self.keep_rec = rec
        self.args.t = t
        self.args.rec = rec.ctypes.data
        self.fn(self.ref)


class RecurrentBackward:
    """The dense-recurrent BPTT steps of one sequence (``ops.recurrent._numba.slopes`` then
    ``step_backward`` per step, as one call): arrays fixed once, `step` runs step ``t``. ``slope`` is a
    zero ``[N]`` scratch row (left at zero without a surrogate, ``sid == -1``); ``accs`` are the four
    ``[N]`` parameter gradients (alpha, beta, threshold, graded factor), all accumulated when any of
    ``needs`` is set (the unneeded ones are then computed and not used)."""

    def __init__(self, u0: np.ndarray, i0: np.ndarray, alpha: np.ndarray, beta: np.ndarray,
                 theta: np.ndarray, g: np.ndarray, syn: bool, reset: int, immediate: bool, sid: int,
                 p1: float, p2: float, u: np.ndarray, itr: np.ndarray, v: np.ndarray, gs: np.ndarray,
                 gu: np.ndarray, gi: np.ndarray, has: tuple[bool, bool, bool], slope: np.ndarray,
                 carried: tuple[np.ndarray, np.ndarray, np.ndarray], needs: tuple[bool, ...],
                 accs: list[np.ndarray], gx: np.ndarray) -> None:
        dt = u.dtype
        zero_row = np.zeros(u.shape[1], dtype=dt)  # an absent upstream gradient (the kernel reads it)
        gs, gu, gi = (a if h else zero_row for a, h in zip((gs, gu, gi), has))
        self.keep = (u0, i0, alpha, beta, theta, g, u, itr, v, gs, gu, gi, slope, *carried, *accs, gx)
        p = [_p(b, dt) for b in self.keep]
        self.args = RecBackwardArgs(0, u.shape[1], *p, float(p1), float(p2), int(sid), int(syn), int(reset),
                                    int(immediate), *(int(h) for h in has), *(int(n) for n in needs), 0)
        self.fn = getattr(lib, f"sf_rec_step_backward_{_suffix(u)}")
        self.ref = ctypes.byref(self.args)

    def step(self, t: int) -> None:
        self.args.t = t
        self.fn(self.ref)
