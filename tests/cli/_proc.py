"""Running ``spikeforge`` in a child process for the fault tests: start it, wait for something it
prints, collect what it printed."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


class Child:
    """A child process whose stdout is read line by line; its stderr goes to a file, or with
    ``terminal`` to a pseudo-terminal (so it draws progress bars) read by a thread. A watchdog kills
    it after ``limit`` seconds so that a hung child fails the test instead of hanging it."""

    def __init__(self, args: list[str], tmp_path: Path, limit: float = 600,
                 python: list[str] | None = None, terminal: bool = False,
                 env: dict[str, str] | None = None) -> None:
        cmd = [sys.executable, *(python or ["-m", "spikeforge"]), *args]
        env = env or ENV
        self.err_path = tmp_path / f"stderr-{len(list(tmp_path.glob('stderr-*')))}.txt"
        self.lines: list[str] = []
        self.screen = ""  # what the child wrote to its terminal
        self._closed = False
        self._seen = threading.Condition()
        if terminal:
            master, slave = os.openpty()
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))  # 200 columns
            self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=slave, text=True,
                                         errors="surrogateescape")
            os.close(slave)
            self._reader = threading.Thread(target=self._read_terminal, args=(master,), daemon=True)
            self._reader.start()
        else:
            with self.err_path.open("w") as err:
                self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=err, text=True,
                                             errors="surrogateescape")
            self._reader = None
        self.watchdog = threading.Timer(limit, self.proc.kill)
        self.watchdog.start()

    def _read_terminal(self, master: int) -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed its end
                chunk = b""
            with self._seen:
                self.screen += chunk.decode("utf-8", "replace")
                self._closed = not chunk
                self._seen.notify_all()
            if not chunk:
                os.close(master)
                return

    def wait_for(self, prefix: str) -> str:
        """Block until the child prints a line starting with ``prefix`` on stdout; returns it."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # blocks until the child writes (no polling)
            self.lines.append(line)
            if line.startswith(prefix):
                return line
        raise AssertionError(f"the child ended without printing {prefix!r}: {self.finish()[1]}")

    def wait_on_terminal(self, pattern: str) -> re.Match[str]:
        """Block until the child's terminal shows ``pattern`` (a regular expression); returns the match."""
        with self._seen:
            while True:
                found = re.search(pattern, self.screen)
                if found or self._closed:
                    break
                self._seen.wait()
        if not found:
            raise AssertionError(f"the child ended without showing {pattern!r}: {self.screen[-2000:]}")
        return found

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        """Wait for the child to end; returns ``(exit status, stderr)`` (stdout lines in ``lines``)."""
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        finally:
            self.watchdog.cancel()
        self.lines += out.splitlines(keepends=True)
        if self._reader is not None:
            self._reader.join(timeout=60)
            return self.proc.returncode, self.screen
        return self.proc.returncode, self.err_path.read_text()
