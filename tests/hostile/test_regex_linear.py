"""Every regular expression premortem compiles runs in linear time on hostile text.

A pattern that can start a match at every position of a long run and scan to its end (``\\d+x`` on a
million digits) is quadratic: a 40 KB line then takes seconds, a 10 MB one forever. Each module-level
pattern is searched in long runs of the characters such patterns repeat; linear ones take
milliseconds, quadratic ones minutes, so the CPU-time alarm below only trips on a real regression.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import signal

import pytest

import premortem

RUNS = ["a", "0", " ", "-", ":", ".", "/", "=", "@", "a:", "a ", "- ", "{", "[", "'", '"', "\t", "x=", "--",
        "a.", "1.", "a-", "%", "$", "(", "\\", "aA", "0:", "a=", "ab "]  # fmt: skip
LENGTH = 30_000
# Patterns known to be quadratic (none: every pattern premortem compiles must pass).
KNOWN_QUADRATIC: set[str] = set()  # none left: diagnose's patterns were made linear too
# Patterns only ever used with ``.match`` at one position (none today; load/split.py's were rewritten).
MATCH_ONLY: set[str] = set()


def _patterns() -> dict[str, re.Pattern[str]]:
    found: dict[str, re.Pattern[str]] = {}
    for info in pkgutil.walk_packages(premortem.__path__, "premortem."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, re.Pattern) and isinstance(value.pattern, str):
                found[f"{info.name}.{name}"] = value
    return found


PATTERNS = _patterns()


class _TooSlow(Exception):
    pass


@pytest.mark.parametrize("name", sorted(set(PATTERNS) - KNOWN_QUADRATIC))
def test_pattern_is_linear(name):
    pattern = PATTERNS[name]

    def expire(_signum, _frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGPROF, expire)
    try:
        for run in RUNS:
            text = run * (LENGTH // len(run)) + "\x00!"
            signal.setitimer(signal.ITIMER_PROF, 3.0)
            try:
                if name not in MATCH_ONLY:
                    pattern.search(text)
                pattern.match(text)
            except _TooSlow:
                pytest.fail(f"{name} is super-linear on a long run of {run!r}")
            finally:
                signal.setitimer(signal.ITIMER_PROF, 0)
    finally:
        signal.signal(signal.SIGPROF, previous)
