"""One root cause, one finding: fold the findings a rule absorbs into that rule's finding.

A rule declares ``absorbs=("ID", ...)`` (rules/registry.py) when its finding already names the cause
the other rules describe on the same object: a BestEffort etcd pod is one problem (no requests), not
three (RES001, ETC001, ETC002). When the absorbing rule fires on an object, each absorbed finding on
that object is removed and its facts are appended to the absorbing finding's message and fix; the
severity is the highest of them, and ``absorbed`` (JSON) lists what was folded in. An absorbed rule
still reports on its own where the absorbing rule does not fire.
"""

from __future__ import annotations

from collections.abc import Iterable

from premortem.findings import Finding
from premortem.rules.registry import Rule


def fold_root_causes(findings: list[Finding], rules: Iterable[Rule]) -> list[Finding]:
    absorbs = {rule.id: rule.absorbs for rule in rules if rule.absorbs}
    if not absorbs:
        return findings
    by_object: dict[tuple[object, ...], list[Finding]] = {}
    for finding in findings:
        if finding.object is not None:
            by_object.setdefault((finding.file, finding.object), []).append(finding)
    dropped: set[int] = set()
    for group in by_object.values():
        for finding in group:
            wanted = absorbs.get(finding.rule)
            if not wanted or id(finding) in dropped:
                continue
            for other in group:
                if other is finding or other.rule not in wanted or id(other) in dropped:
                    continue
                _fold(finding, other)
                dropped.add(id(other))
    if not dropped:
        return findings
    return [f for f in findings if id(f) not in dropped]


def _fold(into: Finding, other: Finding) -> None:
    into.message = f"{into.message} Also ({other.rule}): {other.message}"
    if other.fix and other.fix not in into.fix:
        into.fix = f"{into.fix} {other.fix}"
    into.severity = max(into.severity, other.severity)
    into.extra.setdefault("absorbed", []).append(
        {"rule": other.rule, "severity": other.severity.label, "path": other.path, "message": other.message}
    )
