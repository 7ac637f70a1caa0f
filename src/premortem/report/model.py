"""What every report format is written from: the findings to report, the suppressed ones with
their reasons, the rules that ran and the summary. Verbs build one; writers only read it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import Finding
from premortem.rules.registry import Rule
from premortem.triage.suppressions import Suppression


@dataclass
class Report:
    findings: list[Finding]
    summary: dict[str, Any]
    rules: list[Rule] = field(default_factory=list)
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    verb: str = "scanned"
    fail_on: str = "high"  # findings at or above fail the run (JUnit failures, GitHub errors)

    def fails(self, finding: Finding) -> bool:
        from premortem.findings import Severity

        return self.fail_on != "never" and finding.severity >= Severity.parse(self.fail_on)


def printable(text: str, keep_newlines: bool = False) -> str:
    """``text`` safe for a terminal (premortem.redact): control characters escaped, so a manifest's
    value cannot move the cursor, retitle the terminal or hide text when the report is printed."""
    from premortem.redact import terminal_safe

    return terminal_safe(text, keep_newlines=keep_newlines)


def value_source(f: Finding) -> tuple[str, int | None, str, bool] | None:
    """Where the offending value of a rendered chart is set: (values file or "--set", line, key, is
    set), or None when the field does not come from .Values (docs/render.md)."""
    origin = f.extra.get("rendered_from")
    if not isinstance(origin, dict) or not isinstance(origin.get("values_file"), str):
        return None
    line = origin.get("values_line")
    return (
        origin["values_file"],
        line if isinstance(line, int) else None,
        str(origin.get("values_key") or ""),
        origin.get("values_key_is_set") is not False,
    )


def value_note(f: Finding) -> str:
    """``value_source`` as words: "value set in charts/app/values.yaml:12 (resources)", or where to add it."""
    source = value_source(f)
    if source is None:
        return ""
    file, line, key, is_set = source
    if file == "--set":
        return f"value set by --set {key}".rstrip()
    where = f"{file}:{line}" if line else file
    if not is_set:
        return f"value {key} set nowhere: add it under {where}"
    return f"value set in {where}" + (f" ({key})" if key else "")


def doc_section(doc: str, heading: str) -> str:
    """The first paragraph under ``## heading`` of a rule's documentation: one line, or one line per
    item when it is a list."""
    match = re.search(rf"^## {heading}\s*$(.*?)(?=^## |\Z)", doc, re.MULTILINE | re.DOTALL)
    if not match:
        return ""
    paragraph = match.group(1).strip().split("\n\n")[0]
    items = re.split(r"\n(?=\s*[-*] )", paragraph)
    return "\n".join(" ".join(item.split()) for item in items)


def headline(message: str, cap: int = 160) -> str:
    """The specific part of a finding's message (what, with its numbers), without the explanation of
    what the cluster then does: up to the first ': ', '; ' or '. ' outside quotes and brackets that
    follows at least four words (text in “ ”, e.g. a renderer's own error, is kept whole). Capped at
    ``cap`` characters."""
    depth = 0
    quote = ""
    cut = len(message)
    for i, ch in enumerate(message):
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"`" and (i == 0 or not message[i - 1].isalnum()):
            quote = ch
        elif ch in "([{“":
            depth += 1
        elif ch in ")]}”":
            depth = max(0, depth - 1)
        elif (
            depth == 0
            and message[i : i + 2] in (": ", "; ", ". ")
            and message[i - 1] not in "'\"`"
            and len(message[:i].split()) >= 4
        ):
            cut = i
            break
    text = message[:cut].rstrip(" .")
    if len(text) > cap:
        text = text[:cap].rsplit(" ", 1)[0] + "…"
    return text


def severity_counts(summary: dict[str, Any]) -> str:
    """ "3 high, 1 low" from a summary's by_severity (worst first), or ""."""
    from premortem.findings import SEVERITIES

    counts = summary.get("by_severity", {})
    return ", ".join(f"{counts[k]} {k}" for k in SEVERITIES if counts.get(k))


def not_reported(summary: dict[str, Any]) -> list[str]:
    """What the report leaves out and why: suppressed, baselined, below the minimum severity."""
    notes = []
    if summary.get("suppressed"):
        notes.append(f"{summary['suppressed']} suppressed with a reason")
    if summary.get("baselined"):
        notes.append(f"{summary['baselined']} already in the baseline")
    if summary.get("hidden"):
        notes.append(f"{summary['hidden']} below the minimum severity")
    return notes
