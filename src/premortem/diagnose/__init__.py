"""``premortem diagnose``: read incident evidence (events, describe output, kernel, kubelet, etcd,
API server, drain and Cilium logs), recognise the failures premortem's rules prevent, and chain them
into cause stories on a timeline.

    result = diagnose(["incident.log"])
    result.findings, result.stories, result.summary
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from premortem.diagnose.engine import Diagnosis, Placement
from premortem.diagnose.reader import Stats, read_path
from premortem.diagnose.selection import Selection
from premortem.diagnose.story import Story, build
from premortem.findings import CATEGORIES, SEVERITIES, Finding
from premortem.settings import DEFAULT_MAX_INPUT_BYTES


@dataclass
class Result:
    findings: list[Finding]
    stories: list[Story]
    placements: list[Placement]
    summary: dict[str, Any]
    stats: Stats


def _registry() -> list[tuple[str, str, str, str]]:
    try:
        from premortem.rules import all_rules

        return [(r.id, r.category, r.name.lower(), r.title.lower()) for r in all_rules()]
    except Exception:  # pragma: no cover - a broken rule module must not break diagnosis
        return []


def diagnose(
    paths: Iterable[str],
    now: datetime | None = None,
    boot: datetime | None = None,
    max_input_bytes: int = DEFAULT_MAX_INPUT_BYTES,
    selection: Selection | None = None,
) -> Result:
    """Read ``paths`` (files, directories, ``-``) and diagnose them; ``selection`` keeps the findings of
    some rules only (stories are built from what is kept)."""
    stats = Stats()
    engine = Diagnosis(now=now, boot=boot)
    seq = [0]
    for path in paths:
        read_path(path, engine, stats, seq, max_input_bytes)
    findings = engine.findings(_registry())
    if selection is not None:
        findings = [f for f in findings if selection.keep(f)]
    for p in engine.placements:
        p.rec.time = engine.fix_year(p.rec.time)
    stories = build(findings, engine.placements)
    by_severity = {s: 0 for s in SEVERITIES}
    by_category = {c: 0 for c in CATEGORIES}
    for f in findings:
        by_severity[f.severity.label] += 1
        by_category[f.category] += 1
    summary: dict[str, Any] = {
        "findings": len(findings),
        "by_severity": by_severity,
        "by_category": {k: v for k, v in by_category.items() if v},
        "stories": len(stories),
        "files": stats.files,
        "files_unreadable": stats.files_unreadable,
        "files_skipped": stats.files_skipped,
        "files_truncated": stats.files_truncated,
        "lines": stats.lines,
        "lines_truncated": stats.lines_truncated,
        "lines_recognised": engine.recognised,
        "lines_unknown": stats.unknown_lines,
        "unknown_samples": stats.unknown_samples,
        "formats": {k: v for k, v in sorted(stats.formats.items()) if v > 0},
    }
    return Result(findings, stories, engine.placements, summary, stats)


__all__ = ["Result", "Selection", "diagnose"]
