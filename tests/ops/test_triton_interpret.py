"""Triton kernels on CPU through the triton interpreter (``TRITON_INTERPRET=1`` in a subprocess, since
the variable must be set before triton is imported)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("triton", reason="triton is not importable (install the `gpu` extra)")

ROOT = Path(__file__).resolve().parents[2]


def test_triton_kernels_match_step_loop_under_interpreter():
    path = f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=path)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.ops._triton_check"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "triton parity OK on 72 cases" in proc.stdout
