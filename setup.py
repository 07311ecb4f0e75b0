"""Build of spikeforge's compiled CPU kernels (the rest of the metadata is in pyproject.toml).

``spikeforge/ops/_kernels.c`` is plain C loaded with ctypes (no Python API). The extension is optional:
without a C compiler the install still succeeds and the kernels run through numba instead
(`spikeforge.ops._native`). ``-ffp-contract=off`` keeps every product and sum rounded on its own (no
fused multiply-add), as torch's element-wise operations round them: the kernels' results are then
bit-identical to the step-by-step reference. ``-fno-trapping-math`` lets gcc evaluate both sides of a
select (no floating-point exception flags are read), which the loops need to vectorise; ``-fno-math-errno``
likewise for ``exp``.
"""

import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildKernels(build_ext):
    """Builds with OpenMP where the compiler has it (the kernels then run their thread blocks on the
    OpenMP runtime torch loaded, see ``_kernels.c``), else again without (POSIX threads of their own)."""

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception:
            if "-fopenmp" not in ext.extra_compile_args:
                raise
            ext.extra_compile_args = [a for a in ext.extra_compile_args if a != "-fopenmp"]
            ext.extra_link_args = [a for a in ext.extra_link_args if a != "-fopenmp"]
            super().build_extension(ext)


if sys.platform == "win32":
    args: list[str] = ["/O2", "/fp:precise"]
    libs: list[str] = []
else:
    args = ["-O3", "-g0", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fvisibility=hidden",
            "-std=c99", "-fopenmp"]
    libs = ["pthread"]
link = ["-fopenmp"] if "-fopenmp" in args else []

setup(
    ext_modules=[
        Extension(
            "spikeforge.ops._kernels",
            sources=["spikeforge/ops/_kernels.c"],
            depends=["spikeforge/ops/_kernels_impl.h"],
            extra_compile_args=args,
            extra_link_args=link,
            libraries=libs,
            optional=True,
        )
    ],
    cmdclass={"build_ext": BuildKernels},
)
