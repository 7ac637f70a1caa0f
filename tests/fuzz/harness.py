"""In-process fuzz targets: one input through scan, fix, capacity or diagnose, as the CLI runs it.

An outcome is "ok", "crash" (an exception escaped: the CLI would print a traceback), "hang" (over the
time limit) or "internal" (a rule failed and said so with an internal-error finding: no loss, but a bug
to look at). ``python -m tests.fuzz.mutate`` drives these over a corpus; tests/fuzz/test_fuzz.py runs
them for a short fixed budget in ``make test``.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
import traceback
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

TARGETS = ("scan", "fix", "capacity", "diagnose", "config")
FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")
# Writing six formats costs four scans: one scan input in FORMAT_SAMPLE (chosen by its text, so a
# crasher reproduces) is written in all of them.
FORMAT_SAMPLE = 4


class Hang(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # ok, crash, hang (over 5x the limit), slow (over the limit), internal
    detail: str = ""


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise Hang after ``seconds`` of this process's CPU time (not wall time: eight people share
    two cores here, and a busy machine must not look like a hang)."""

    def expire(_signum: int, _frame: object) -> None:
        raise Hang(f"over {seconds:g} s of CPU")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def _scan(text: str) -> list[str]:
    from premortem.engine import scan
    from premortem.load.reader import load_text

    result = scan(load_text(text, "fuzz.yaml"))
    for finding in result.findings:
        finding.to_json()
    if zlib.crc32(text.encode("utf-8", "surrogatepass")) % FORMAT_SAMPLE == 0:
        _write_every_format(result.findings, result.summary)
    return [f.message for f in result.findings if "internal error" in f.message]


def _write_every_format(findings: list, summary: dict) -> None:
    """Every report format, checked as a CI reads it: SARIF and JSON parse, JUnit is well-formed XML,
    each GitHub line is one workflow command or a premortem summary line, all of it encodes as UTF-8."""
    import io
    import json
    import xml.etree.ElementTree as ET

    from premortem.report.model import Report
    from premortem.report.write import write_report
    from premortem.rules import all_rules

    fired = {f.rule for f in findings}  # rule metadata is not input: only the rules that fired
    report = Report(findings=findings, summary=summary, rules=[r for r in all_rules() if r.id in fired])
    for fmt in FORMATS:
        out = io.StringIO()
        write_report(fmt, report, out=out)
        written = out.getvalue()
        written.encode("utf-8")
        if fmt in ("json", "sarif"):
            json.loads(written)
        elif fmt == "junit":
            ET.fromstring(written.encode("utf-8"))
        elif fmt == "github":
            for line in re.split(r"\r\n|\r|\n", written.rstrip("\n")):  # how the runner reads lines
                if not line.startswith(("::error ", "::warning ", "::notice ", "premortem: ")):
                    raise AssertionError(f"github output line is not ours: {line[:120]!r}")


def _fix(text: str) -> list[str]:
    from premortem.fix.pipeline import fixable_rules, run_fix
    from premortem.fix.registry import FixContext

    run = run_fix({"fuzz.yaml": text}, fixable_rules(), FixContext())
    return [o.message for o in run.outcomes if "internal error" in o.message]


def _capacity(text: str) -> list[str]:
    from premortem.analyses.capacity.rules import CAPACITY_RULES, hits, report_for
    from premortem.load.reader import load_text
    from premortem.model.index import ObjectIndex

    loaded = load_text(text, "fuzz.yaml")
    report = report_for(ObjectIndex.build(loaded.documents), "3x4cpu/16Gi")
    if report is not None:
        for rule in CAPACITY_RULES:
            list(hits(rule.id, report))
    return []


_DIAG_DIR = tempfile.mkdtemp(prefix="premortem-fuzz-")


def _diagnose(text: str) -> list[str]:
    from premortem.diagnose import diagnose

    path = os.path.join(_DIAG_DIR, "incident.log")
    with open(path, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(text)
    diagnose([path])
    return []


def _config(text: str) -> list[str]:
    from premortem.configfile import ConfigError, build_settings

    name = "pyproject.toml" if "[tool" in text else ".premortem.yaml"
    path = os.path.join(_DIAG_DIR, name)
    with open(path, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(text)
    try:
        build_settings(config=path)
    except ConfigError as exc:
        str(exc)
    return []


# Config files to mutate (the corpus holds manifests and logs; these give the config target shapes).
CONFIG_SEEDS = [
    "fail-on: medium\nignore: [IMG002]\nselect: resources,images\nmin-severity: low\n",
    "exclude: ['**/.kyverno-test/', 'fixtures/*.yaml']\nseverity: {IMG002: low}\n"
    "params:\n  ADM003:\n    max-timeout-seconds: 8\nbaseline: base.json\n",
    "render:\n  values: [a.yaml]\n  helm: helm\nkubernetes-version: '1.30'\nmax-input-bytes: 1000\n",
    "[project]\nname = 'x'\n\n[tool.premortem]\nfail-on = 'critical'\nignore = ['RES001']\n"
    "[tool.premortem.severity]\nIMG002 = 'low'\n[tool.premortem.params.ADM003]\nmax-timeout-seconds = 8\n",
]


RUNNERS: dict[str, Callable[[str], list[str]]] = {
    "scan": _scan,
    "fix": _fix,
    "capacity": _capacity,
    "diagnose": _diagnose,
    "config": _config,
}


def run_one(target: str, text: str, limit: float = 2.0) -> Outcome:
    """Feed ``text`` to ``target``; never raises."""
    strict = os.environ.pop("PREMORTEM_STRICT", None)  # as users run it: a failing rule is a finding
    try:
        with time_limit(limit):
            internal = RUNNERS[target](text)
    except Hang as exc:
        if limit < 10:  # slow, or endless? Give it five times longer once
            again = run_one(target, text, limit * 5)
            return again if again.status != "ok" else Outcome("slow", str(exc))
        return Outcome("hang", str(exc))
    except RecursionError as exc:
        return Outcome("crash", f"RecursionError: {exc}")
    except Exception:
        return Outcome("crash", traceback.format_exc(limit=-6))
    finally:
        if strict is not None:
            os.environ["PREMORTEM_STRICT"] = strict
    if internal:
        return Outcome("internal", internal[0])
    return Outcome("ok")
