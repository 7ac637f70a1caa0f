"""The stage between the rules and the report: severity overrides, suppressions, baseline, the
minimum severity shown. The rules and the engine know nothing of it.

    findings -> severity overrides -> suppressed (with reason) -> SUP001/SUP002 -> baselined -> hidden
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from typing import Any

from premortem.findings import CATEGORIES, SEVERITIES, Finding, Severity, sort_findings
from premortem.load.document import Document
from premortem.render.rendered import definition_start
from premortem.settings import Settings
from premortem.triage.baseline import read_baseline, split_baselined
from premortem.triage.fingerprint import fingerprint
from premortem.triage.suppressions import Suppression, from_annotations, from_comments, from_config

__all__ = ["Triaged", "fingerprint", "selected", "triage"]


@dataclass
class Triaged:
    findings: list[Finding]  # reported: these decide the exit code
    suppressed: list[tuple[Finding, Suppression]] = field(default_factory=list)
    baselined: list[Finding] = field(default_factory=list)
    hidden: list[Finding] = field(default_factory=list)  # below min-severity
    unbaselined: list[Finding] = field(default_factory=list)  # what --write-baseline records

    def summary(self, base: dict[str, Any]) -> dict[str, Any]:
        """``base`` (the engine's summary) with the counts of what is reported, plus what was not."""
        by_severity = Counter(f.severity.label for f in self.findings)
        by_category = Counter(f.category for f in self.findings)
        out = dict(base)
        out["findings"] = len(self.findings)
        out["by_severity"] = {s: by_severity.get(s, 0) for s in SEVERITIES}
        out["by_category"] = {c: by_category.get(c, 0) for c in CATEGORIES}
        out["by_rule"] = dict(sorted(Counter(f.rule for f in self.findings).items()))
        out["suppressed"] = len(self.suppressed)
        out["baselined"] = len(self.baselined)
        out["hidden"] = len(self.hidden)
        return out


def triage(
    findings: Iterable[Finding],
    settings: Settings,
    documents: list[Document] | None = None,
    texts: dict[str, str] | None = None,
    ran: Iterable[str] = (),
    may_suppress: Set[str] | None = None,
) -> Triaged:
    """Apply the settings to the rules' findings. ``documents`` carry annotations, ``texts`` (file ->
    text) comments; ``ran`` are the ids and categories of the rules that ran (a suppression of a
    rule that did not run is not "unused"); ``may_suppress``: the only files whose documents may
    carry annotation suppressions (LoadResult.may_suppress; None: any)."""
    docs = documents or []
    found = [_override(f, settings) for f in findings] if settings.severity else list(findings)
    suppressions = [
        *from_annotations(docs, may_suppress),
        *from_comments(docs, texts or {}),
        *from_config(settings),
    ]
    kept, suppressed = _suppress(found, suppressions) if suppressions else (found, [])
    ran_keys = {k.upper() for k in ran}
    kept += [_override(f, settings) for f in _suppression_findings(suppressions, docs, ran_keys)]
    sort_findings(kept)

    unbaselined = kept
    baselined: list[Finding] = []
    if settings.baseline:
        kept, baselined = split_baselined(kept, read_baseline(settings.baseline))
    threshold = Severity.parse(settings.min_severity)
    shown = [f for f in kept if f.severity >= threshold]
    hidden = [f for f in kept if f.severity < threshold]
    return Triaged(shown, suppressed, baselined, hidden, unbaselined)


def _suppress(
    found: list[Finding], suppressions: list[Suppression]
) -> tuple[list[Finding], list[tuple[Finding, Suppression]]]:
    """(the findings no suppression covers, each other finding with the first one that does)."""
    kept: list[Finding] = []
    suppressed: list[tuple[Finding, Suppression]] = []
    by_file: dict[str | None, list[Suppression]] = {}
    for s in suppressions:  # annotations and comments only match findings of their own file
        by_file.setdefault(None if s.kind == "config" or s.anywhere else s.file, []).append(s)
    everywhere = by_file.get(None, [])
    for f in found:
        candidates = [*by_file.get(f.file, ()), *everywhere] if f.file is not None else everywhere
        hit = next((s for s in candidates if s.covers_rule(f) and s.matches(f)), None)
        _note_absorbed(f, candidates)
        if hit is None:
            kept.append(f)
        else:
            hit.used = max(hit.used, 0) + 1
            suppressed.append((f, hit))
    return kept, suppressed


def selected(findings: Iterable[Finding], settings: Settings) -> list[Finding]:
    """Findings of verbs whose rules are tables, not registered rules (etcd, diagnose): kept when
    their id or category is selected (all when nothing is) and not ignored."""
    wanted = {k.upper() for k in settings.select}
    unwanted = {k.upper() for k in settings.ignore}
    out = []
    for f in findings:
        keys = {f.rule.upper(), f.category.upper()}
        if (not wanted or keys & wanted) and not keys & unwanted:
            out.append(f)
    return out


def _note_absorbed(finding: Finding, candidates: list[Suppression]) -> None:
    """A suppression of a rule folded into this finding (one root cause, one finding: RES001 carries
    ETC001 on a BestEffort etcd pod) matched something: it is not unused."""
    absorbed = finding.extra.get("absorbed")
    if not absorbed:
        return
    for entry in absorbed:
        rule = str(entry.get("rule", "")) if isinstance(entry, dict) else ""
        for s in candidates:
            if not s.used and s.covers_rule(dataclasses.replace(finding, rule=rule)) and s.matches(finding):
                s.used = -1  # not counted as a suppression, only kept from SUP002


def _override(finding: Finding, settings: Settings) -> Finding:
    level = settings.severity.get(finding.rule)
    if level is None:
        return finding
    return dataclasses.replace(finding, severity=Severity.parse(level))


def _suppression_findings(
    suppressions: list[Suppression], documents: list[Document], ran: set[str]
) -> Iterable[Finding]:
    from premortem.rules.registry import lookup

    for s in suppressions:
        rules = ", ".join(s.rules) or "(no rule)"
        if not s.reason:
            yield Finding(
                rule="SUP001",
                category="input",
                severity=Severity.LOW,
                message=f"{s.kind} suppression of {rules} gives no reason: the next reader cannot tell an "
                f"accepted risk from a forgotten one.{f' ({s.note})' if s.note else ''}",
                fix=_REASON_FIX[s.kind],
                object=s.object,
                container=s.container,
                file=s.file,
                line=s.line,
                path=s.path,
                extra=dict(s.extra),
            )
        if s.used:  # > 0 suppressed findings; -1 matched a folded-in finding
            continue
        unknown = [key for key in s.rules if lookup(key) is None and key.lower() not in CATEGORIES]
        if unknown:
            yield _unused(
                s, f"names no rule premortem knows ({', '.join(unknown)}), so it suppresses nothing"
            )
            continue
        if not s.rules:
            yield _unused(s, "names no rule, so it suppresses nothing")
            continue
        if not any(_rule_ran(key, ran) for key in s.rules):
            continue  # the rule was not selected in this run: no verdict
        if s.scope is not None and not any(
            s.scope(file, d.ref) for d in documents for file in {d.file, definition_start(d)[0]}
        ):
            continue  # a config ignore for files or objects not scanned this time (pre-commit: a few files)
        yield _unused(s, f"{rules}: no such finding here any more")


def _rule_ran(key: str, ran: set[str]) -> bool:
    from premortem.rules.registry import lookup

    rule = lookup(key)
    return (rule.id if rule else key).upper() in ran


def _unused(s: Suppression, why: str) -> Finding:
    note = f" ({s.note})" if s.note else ""
    return Finding(
        rule="SUP002",
        category="input",
        severity=Severity.LOW,
        message=f"unused {s.kind} suppression ({why}): stale ignores hide the next real finding of that "
        f"rule on this object.{note}",
        fix="Delete the suppression"
        + ("" if "no rule" not in why else ", or correct the rule id or name")
        + ".",
        object=s.object,
        container=s.container,
        file=s.file,
        line=s.line,
        path=s.path,
        extra=dict(s.extra),
    )


_REASON_FIX = {
    "annotation": 'Give the annotation the reason as its value: ignore.premortem.dev/RES003: "batch job, '
    'an OOM kill only retries it".',
    "comment": "End the comment with the reason: # premortem: ignore RES003 -- batch job, an OOM kill only retries it",
    "config": "Add reason: to the ignore entry.",
}
