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


def run_measured(*args: str, timeout: float = 60) -> tuple[object, float, int]:
    """``premortem ARGS`` in a child of a small wrapper: (process, CPU seconds, peak RSS in bytes) of
    the premortem process alone. CPU time, not wall time: a busy machine must not fail the test."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "elapsed = usage.ru_utime + usage.ru_stime\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "sys.stdout.buffer.write(p.stdout)\n"
        "rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024\n"
        "sys.stderr.write(f'\\n@@measure {elapsed} {rss} {p.returncode}\\n')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, sys.executable, "-m", "premortem", *args],
        capture_output=True,
        cwd=ROOT,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    err = proc.stderr.decode("utf-8", "replace")
    err, _, tail = err.rpartition("\n@@measure ")
    seconds, rss, code = tail.split()
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = err
    proc.returncode = int(code)
    return proc, float(seconds), int(rss)
