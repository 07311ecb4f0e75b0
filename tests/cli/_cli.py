"""Running ``spikeforge`` in this process in the command-line tests."""

from __future__ import annotations

import pytest

from spikeforge.cli import main


def cli_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``spikeforge ARGV``, which must fail with exit status 2 and one line ``spikeforge: error:
    ...`` on stderr; returns that line (with its newline)."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("spikeforge: error: "), err
    return err
