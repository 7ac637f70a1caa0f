"""GitHub Actions workflow commands (``--format github``): each finding becomes an annotation on its
file and line in the pull request; the summary is printed after them."""

from __future__ import annotations

from typing import TextIO

from premortem.findings import Severity
from premortem.report.model import Report, headline, printable, value_note

_COMMAND = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def write_github(report: Report, out: TextIO) -> None:
    for f in report.findings:
        props = []
        if f.file and f.file != "<stdin>":
            props.append(f"file={_prop(printable(f.file))}")  # the Actions log renders ANSI escapes
            if f.line:
                props.append(f"line={f.line}")
        subject = f.object.display() if f.object else ""
        props.append(f"title={_prop(f'premortem {f.rule} ({f.severity.label}) {subject}'.strip())}")
        note = value_note(f)
        text = f"{f.message}\n{note[0].upper()}{note[1:]}." if note else f.message
        text = f"{text}\nFix: {f.fix}" if f.fix else text
        out.write(f"::{_COMMAND[f.severity]} {','.join(props)}::{_data(text)}\n")
    s = report.summary
    counts = ", ".join(f"{n} {level}" for level, n in s.get("by_severity", {}).items() if n) or "no findings"
    extra = "".join(
        f", {s[key]} {label}"
        for key, label in (("suppressed", "suppressed"), ("baselined", "in the baseline"))
        if s.get(key)
    )
    out.write(f"premortem: {len(report.findings)} findings ({counts}){extra}\n")
    if report.findings:
        worst = max(report.findings, key=lambda f: f.severity)
        # One line: a newline from a manifest's value would start a line the runner reads as a command.
        out.write(f"premortem: worst: {worst.rule} {' '.join(headline(worst.message).split())}\n")


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
