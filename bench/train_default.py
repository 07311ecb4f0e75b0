"""Benchmark of the default command: wall time and test accuracy of `spikeforge train` (no options).

Runs the installed command once in a fresh temporary run directory, as a user would, and prints one
JSON line: wall seconds (process start to exit, including imports, figures and NIR export), the
final test accuracy, the epoch chosen on the validation split as best.pt with its validation and test
accuracy, and the torch thread count. Not a test: timings depend on the machine.

    python bench/train_default.py            # uses .venv/bin/spikeforge when present
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    exe = Path(sys.executable).with_name("spikeforge")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "spikeforge"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        subprocess.run([*cmd, "train", "--out", str(out), "--no-progress"], check=True)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())
        shutil.rmtree(out)
    import torch

    print(json.dumps({"wall_s": round(wall, 2), "test_accuracy": summary["test_accuracy"],
                      "best_epoch": summary["best_epoch"], "best_val_accuracy": summary["best_val_accuracy"],
                      "best_test_accuracy": summary["best_test_accuracy"], "epochs": summary["epochs"],
                      "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
