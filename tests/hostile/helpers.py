"""Shared by the hostile-input tests: run the CLI as a user would, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | bytes | None = None, timeout: float = 60, cwd: Path | None = None):
    """``premortem ARGS``; a hang fails the test after ``timeout`` seconds instead of blocking."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        input=data,
        capture_output=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL if data is None else None,
    )
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def no_traceback(proc) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
