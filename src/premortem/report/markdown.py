"""A Markdown summary for pull-request comments (``--format markdown``): counts, a table of the
findings (the first MAX_ROWS), each rule's explanation once in a collapsed section."""

from __future__ import annotations

from collections import Counter
from typing import TextIO

from premortem.report.model import (
    Report,
    doc_section,
    headline,
    not_reported,
    printable,
    severity_counts,
    value_note,
)

MAX_ROWS = 100
_ICON = {"critical": "🟥", "high": "🔴", "medium": "🟠", "low": "🔵", "info": "⚪"}


def write_markdown(report: Report, out: TextIO) -> None:
    s = report.summary
    total = len(report.findings)
    levels = severity_counts(s)
    out.write(
        f"### premortem: {total} finding{'s' if total != 1 else ''}"
        + (f" ({levels})" if levels else "")
        + "\n\n"
    )
    notes = not_reported(s)
    files, objects = s.get("files"), s.get("objects")
    if files is not None:
        notes.append(f"{files} files, {objects} objects scanned")
    if notes:
        out.write("_" + "; ".join(notes) + "._\n\n")
    if not report.findings:
        out.write("No findings. :tada:\n")
        return
    out.write("| | rule | object | where | finding |\n| --- | --- | --- | --- | --- |\n")
    for f in report.findings[:MAX_ROWS]:
        where = _code(printable(f"{f.file}:{f.line}" if f.line else f"{f.file}"))
        if note := value_note(f):
            where += f"<br>{_cell(note)}"
        subject = f.object.display() if f.object else ""
        if f.container:
            subject += f" ({f.container})"
        out.write(
            f"| {_ICON[f.severity.label]} {f.severity.label} | {f.rule} | {_cell(subject)} | {where} | "
            f"{_cell(headline(f.message))} |\n"
        )
    if total > MAX_ROWS:
        out.write(f"\n_…and {total - MAX_ROWS} more (see the full report)._\n")
    by_id = {r.id: r for r in report.rules}
    out.write("\n<details><summary>Why these break clusters, and the fix</summary>\n\n")
    for rule_id, n in sorted(Counter(f.rule for f in report.findings).items()):
        rule = by_id.get(rule_id)
        if rule is None:
            continue
        out.write(f"**{rule_id} {rule.name}** ({n}): {rule.title}\n\n")
        out.write(f"{doc_section(rule.doc, 'Why it breaks clusters')}\n\n")
        out.write(f"Fix: {doc_section(rule.doc, 'Fix')}\n\n")
    out.write("</details>\n")


# Names and messages are the manifest author's text: in a pull-request comment they must not become
# HTML (an <img> that calls home), links, mentions that notify people, or table cells.
_MARKUP = str.maketrans(
    {"|": "\\|", "&": "&amp;", "<": "&lt;", ">": "&gt;", "`": "\\`", "[": "\\[", "]": "\\]", "@": "&#64;"}
)


def _cell(text: str) -> str:
    return " ".join(text.translate(_MARKUP).split())


def _code(text: str) -> str:
    """A code span (its text is shown as is), unless a backtick in it would end the span early."""
    if "`" in text:
        return _cell(text)
    return "`" + " ".join(text.replace("|", "\\|").split()) + "`"
