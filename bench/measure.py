"""Measuring commands for the benchmark: wall time, CPU time and peak memory of cold runs, medians of
several.

Each command runs as its own process with its output going to a file. Peak memory is the memory of
the whole process tree, sampled from /proc every 10 ms: the sum of the resident sets, less the pages
the processes share (a page that a forked child still shares with its parent counts once, as the
sum of proportional set sizes counts it; see _TreeMemory for how that is read without taking a core
from the command), and never less than GNU time's maximum RSS of the largest single process. CPU time is user
plus system time of the whole tree (the kernel adds a reaped worker's time to its parent's): unlike
wall time, it hardly changes when other work shares the machine.
"""

from __future__ import annotations

import os
import shlex
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SAMPLE_SECONDS = 0.01
MiB = 1024 * 1024
# Measured commands run with bytecode caching on (as after `pip install`, which compiles): a cold
# start then measures starting a process, not compiling premortem's sources on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Runs:
    """Wall seconds, CPU seconds and peak RSS bytes of repeated runs of one command."""

    label: str
    argv: list[str]
    seconds: list[float] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    exit_codes: list[int] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_seconds)

    @property
    def time(self) -> float:
        return statistics.median(self.seconds)

    @property
    def memory(self) -> float:
        return statistics.median(self.rss)

    def time_cell(self) -> str:
        return f"{self.time:.3f} s ({min(self.seconds):.3f}–{max(self.seconds):.3f})"

    def rss_cell(self) -> str:
        return f"{self.memory / MiB:.0f} MiB ({min(self.rss) / MiB:.0f}–{max(self.rss) / MiB:.0f})"

    def command(self) -> str:
        return " ".join(shlex.quote(_display(a)) for a in self.argv)


def _display(arg: str) -> str:
    """Paths relative to the repository where that is shorter, so the commands read as typed."""
    if arg.startswith(ROOT + os.sep):
        return os.path.relpath(arg, ROOT)
    return arg


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, IndexError, ValueError):
        return 0


def _pss(pid: int) -> int | None:
    """The process's proportional set size, or None where the kernel gives none."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return None


def _tree(roots: list[int]) -> list[int]:
    out: list[int] = []
    stack = list(roots)
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(_children(current))
    return out


class _TreeMemory:
    """The memory of a process tree, sampled often and cheaply.

    Resident sets (statm: microseconds) are read at every sample. A process tree with a forked child
    shares pages between them, which a sum of resident sets counts twice; the proportional set size
    (smaps_rollup) counts them once but costs milliseconds per 100 MB to read (20 ms for a 700 MB
    process), so reading it every 10 ms would take a core away from the command measured. It is read
    when the tree has more than one process, at most every ten times as long as the last read took
    (so under a tenth of a core), and between two reads the sum of resident sets is corrected by the
    sharing the last read found."""

    def __init__(self) -> None:
        self.shared = 0  # resident minus proportional, at the last PSS read
        self.next_read = 0.0

    def sample(self, roots: list[int]) -> int:
        pids = _tree(roots)
        resident = sum(_rss(pid) for pid in pids)
        if len(pids) < 2:
            self.shared = 0
            return resident
        now = time.perf_counter()
        if now >= self.next_read:
            sizes = [_pss(pid) for pid in pids]
            took = time.perf_counter() - now
            self.next_read = now + max(SAMPLE_SECONDS, 10 * took)
            if all(size is not None for size in sizes):
                self.shared = max(0, resident - sum(size or 0 for size in sizes))
        return max(0, resident - self.shared)


GNU_TIME = "/usr/bin/time"


def measure(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, int, int, float]:
    """(wall seconds, peak RSS bytes of the process tree, exit code, CPU seconds) of one cold run.

    The command runs under GNU time when it is there: a process forked from this (bigger) script
    would otherwise carry the script's own resident set in its ru_maxrss.
    """
    with tempfile.TemporaryFile() as sink, tempfile.NamedTemporaryFile("r") as maxrss_file:
        wrapped = os.path.exists(GNU_TIME)
        full = [GNU_TIME, "-f", "%M", "-o", maxrss_file.name, *argv] if wrapped else argv
        start = time.perf_counter()
        proc = subprocess.Popen(full, stdout=sink, stderr=subprocess.DEVNULL, env=env or ENV)
        peak = 0
        memory = _TreeMemory()
        while True:
            waited, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if waited:
                elapsed = time.perf_counter() - start
                break
            roots = _children(proc.pid) if wrapped else [proc.pid]
            peak = max(peak, memory.sample(roots))
            time.sleep(SAMPLE_SECONDS)
        proc.returncode = os.waitstatus_to_exitcode(status)
        kib = usage.ru_maxrss
        if wrapped:
            text = maxrss_file.read().strip().splitlines()
            kib = int(text[-1]) if text and text[-1].isdigit() else 0
    return elapsed, max(peak, kib * 1024), proc.returncode, usage.ru_utime + usage.ru_stime


def repeat(label: str, argv: list[str], runs: int, env: dict[str, str] | None = None, ok=(0, 1)) -> Runs:
    result = Runs(label, argv)
    for index in range(runs):
        seconds, rss, code, cpu = measure(argv, env)
        if code not in ok:
            raise SystemExit(f"bench: {label}: `{result.command()}` exited {code}")
        result.seconds.append(seconds)
        result.rss.append(rss)
        result.exit_codes.append(code)
        result.cpu_seconds.append(cpu)
        print(
            f"  {label} run {index + 1}/{runs}: {seconds:.3f} s (CPU {cpu:.3f} s), {rss / MiB:.0f} MiB",
            flush=True,
        )
    return result


def fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least squares y = a + b x: (a, b, r squared)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    b = sxy / sxx if sxx else 0.0
    a = my - b * mx
    ss_tot = sum((y - my) ** 2 for y in ys)
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys, strict=True))
    return a, b, (1 - ss_res / ss_tot) if ss_tot else 1.0


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"
