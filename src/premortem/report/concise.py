"""The default text report, like ruff's: one line per finding, each rule explained once, a summary
that fits one screen last. ``--verbose`` prints the full grouped form (text.py), ``-q`` the summary."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from collections.abc import Callable
from typing import Any, TextIO

from premortem.findings import Finding, Severity
from premortem.report.model import (
    Report,
    doc_section,
    headline,
    not_reported,
    printable,
    severity_counts,
    value_note,
)

_STYLE: dict[Severity, dict[str, Any]] = {
    Severity.CRITICAL: {"fg": "white", "bg": "red", "bold": True},
    Severity.HIGH: {"fg": "red", "bold": True},
    Severity.MEDIUM: {"fg": "yellow"},
    Severity.LOW: {"fg": "cyan"},
    Severity.INFO: {"dim": True},
}
WIDTH = 100
TOP_FILES = 5


def painter(color: bool) -> Callable[..., str]:
    import click

    def paint(text: str, **style: Any) -> str:
        return click.style(text, **style) if color else text

    return paint


def write_concise(report: Report, out: TextIO, color: bool, show_suppressed: bool = False) -> None:
    paint = painter(color)
    for f in report.findings:
        out.write(finding_line(f, paint) + "\n")
    if show_suppressed and report.suppressed:
        out.write("\n" + paint("suppressed", bold=True) + "\n")
        for f, s in report.suppressed:
            reason = printable(s.reason) or "(no reason)"
            out.write(
                f"{finding_line(f, paint)}\n    {paint(s.kind, dim=True)} {printable(s.where)}: {reason}\n"
            )
    explain_rules(report, out, paint)
    write_summary(report, out, paint)


def finding_line(f: Finding, paint: Callable[..., str]) -> str:
    where = printable(f.file or "<no file>") + (f":{f.line}" if f.line else "")
    subject = printable(f.object.display()) if f.object else ""
    if f.container:
        subject += f" [{printable(f.container)}]"
    level = paint(f"{f.severity.label:<8}", **_STYLE[f.severity])
    note = value_note(f)
    value = paint(f" — {printable(note)}", dim=True) if note else ""
    return (
        f"{paint(where, bold=True)}: {paint(f.rule, bold=True)} {level} {subject} — "
        f"{printable(headline(f.message))}{value}"
    )


def explain_rules(report: Report, out: TextIO, paint: Callable[..., str]) -> None:
    """Each rule that has findings, once: what, why, the fix, where to read more."""
    counts = Counter(f.rule for f in report.findings)
    if not counts:
        return
    by_id = {r.id: r for r in report.rules}
    out.write("\n")
    for rule_id in sorted(
        counts, key=lambda r: (-max(int(f.severity) for f in report.findings if f.rule == r), r)
    ):
        rule = by_id.get(rule_id)
        findings = [f for f in report.findings if f.rule == rule_id]
        title = rule.title if rule else headline(findings[0].message)
        name = f" {rule.name}" if rule else ""
        out.write(f"{paint(rule_id, bold=True)}{name} ({counts[rule_id]}): {title}\n")
        why = doc_section(rule.doc, "Why it breaks clusters") if rule else findings[0].message
        fixes = {f.fix for f in findings}
        fix = (
            next(iter(fixes))
            if len(fixes) == 1
            else (doc_section(rule.doc, "Fix") if rule else findings[0].fix)
        )
        for label, text in (("why", why), ("fix", fix)):
            for index, part in enumerate(printable(text, keep_newlines=True).splitlines()):
                lead = f"  {label}: " if index == 0 else "       "
                out.write(textwrap.fill(part, WIDTH, initial_indent=lead, subsequent_indent=" " * 7) + "\n")
        if rule:
            out.write(paint(f"  more: premortem explain {rule_id}", dim=True) + "\n")


def write_summary(report: Report, out: TextIO, paint: Callable[..., str]) -> None:
    s = report.summary
    total = s.get("findings", len(report.findings))
    levels = severity_counts(s)
    out.write("\n" + paint("Summary", bold=True, underline=True) + "\n")
    line = f"{total} finding{'s' if total != 1 else ''}" + (f": {levels}" if levels else "")
    out.write(paint(line, bold=True) + "\n")
    aside = not_reported(s)
    if aside:
        out.write("  not reported: " + "; ".join(aside) + " (--show-suppressed lists the suppressed)\n")
    by_rule = Counter(f.rule for f in report.findings)
    if by_rule:
        cells = [f"{rule} {n}" for rule, n in sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))]
        out.write(
            textwrap.fill(
                "   ".join(cells), WIDTH, initial_indent="  by rule: ", subsequent_indent="           "
            )
            + "\n"
        )
    by_file = Counter(f.file for f in report.findings if f.file)
    if len(by_file) > 1:
        out.write(f"  most affected files (of {len(by_file)}):\n")
        for file, n in by_file.most_common(TOP_FILES):
            out.write(f"    {n:>5}  {printable(_short_path(file))}\n")
    scanned = f"{report.verb} {_count(s.get('files', 0), 'file')}, {_count(s.get('objects', 0), 'object')}"
    skipped = s.get("documents_skipped", 0)
    if skipped:
        scanned += (
            f"; {skipped} YAML documents were not Kubernetes objects and were skipped (JSON lists them)"
        )
    if s.get("files_excluded"):
        scanned += f"; {s['files_excluded']} files excluded"
    out.write(paint(scanned, dim=True) + "\n")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _short_path(path: str) -> str:
    """Long absolute paths shortened to the part that tells files apart."""
    if len(path) <= 90:
        return path
    parts = path.split(os.sep)
    return "…/" + "/".join(parts[-4:])
