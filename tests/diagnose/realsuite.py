"""The real-snippet suite: evidence people pasted into public issues, each with the conclusions a
competent SRE draws from it (written before the tool was run on it) and the conclusions it must not
draw. ``tests/diagnose/real/NAME.log`` is the evidence as pasted (markdown quoting removed);
``NAME.yaml`` says where it comes from and what it means:

    source: https://github.com/...            # where it was pasted
    format: what kind of paste it is
    summary: the SRE's reading, in words
    expect:                                   # conclusions the tool must draw
      - rule: DIAG-EVICT-DISK                 # or a list: any of them
        objects: {pod: x, namespace: y}       # the finding names these (subset)
        says: [ephemeral-storage]             # its title, message or fix contains these (any case and spacing)
        count: 5                              # occurrences aggregated
        time: "2021-02-16"                    # its first time starts with this
        severity: high                        # at least this severe
        prevented_by: [IMG001]                # these scan rules are named
      - story: {rules: [DIAG-OOM-CGROUP, ...]}  # one story holds all these
    forbid:                                   # conclusions the evidence contradicts
      - rule: DIAG-EVICT-MEMORY               # any key of an expectation; all given must match
      - severity: medium                      # alone: nothing at or above medium

Every snippet also forbids unreadable placeholders in any message (``?/?``, ``late by ?``, ``0 MiB``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from premortem.diagnose import Result, diagnose
from premortem.findings import Finding, Severity

REAL = Path(__file__).parent / "real"
# A second set, collected later by someone else and scored the same way (the held-out set).
HELDOUT = Path(__file__).parent / "heldout"
EXPECT_KEYS = {"rule", "objects", "says", "count", "time", "severity", "prevented_by", "story"}
SIDECAR_KEYS = {"source", "format", "summary", "expect", "forbid"}
# Text that means a number or a name could not be read and was printed anyway.
PLACEHOLDERS = ("?/?", "/?)", " ?/", "late by ?", " 0 MiB", "took ?", " ? ")


@dataclass
class Snippet:
    name: str
    log: Path
    meta: dict[str, Any]

    @property
    def expect(self) -> list[dict[str, Any]]:
        return list(self.meta.get("expect") or [])

    @property
    def forbid(self) -> list[dict[str, Any]]:
        return list(self.meta.get("forbid") or [])


@dataclass
class Outcome:
    snippet: Snippet
    met: list[dict[str, Any]] = field(default_factory=list)
    missed: list[dict[str, Any]] = field(default_factory=list)
    contradicted: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    error: str | None = None


def snippets(directory: Path = REAL) -> list[Snippet]:
    out = []
    for log in sorted(directory.glob("*.log")):
        meta = yaml.safe_load(log.with_suffix(".yaml").read_text())
        out.append(Snippet(log.stem, log, meta))
    return out


def problems(snippet: Snippet) -> list[str]:
    """What is wrong with a sidecar's shape (empty when it is well-formed)."""
    found = []
    meta = snippet.meta
    if not isinstance(meta, dict):
        return [f"{snippet.name}: the sidecar is not a mapping"]
    unknown = set(meta) - SIDECAR_KEYS
    if unknown:
        found.append(f"{snippet.name}: unknown keys {sorted(unknown)}")
    for key in ("source", "format", "summary"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            found.append(f"{snippet.name}: {key} is missing")
    for kind in ("expect", "forbid"):
        for item in meta.get(kind) or []:
            if not isinstance(item, dict) or not item or set(item) - EXPECT_KEYS:
                found.append(f"{snippet.name}: bad {kind} item {item!r}")
    if not snippet.expect and not snippet.forbid:
        found.append(f"{snippet.name}: neither expect nor forbid")
    return found


def _squeeze(text: str) -> str:
    return "".join(text.lower().split())


def _text(f: Finding) -> str:
    return _squeeze(f"{f.extra.get('title', '')} {f.message} {f.fix}")


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def matches(f: Finding, item: dict[str, Any]) -> bool:
    """Whether one finding carries every fact the item asks for."""
    if "rule" in item and f.rule not in _as_list(item["rule"]):
        return False
    objects = f.extra.get("objects", {})
    for key, value in (item.get("objects") or {}).items():
        if str(objects.get(key)) != str(value):
            return False
    text = _text(f)
    if any(_squeeze(s) not in text for s in _as_list(item.get("says", []))):
        return False
    if "count" in item and f.extra.get("count") != item["count"]:
        return False
    if "time" in item and not str(f.extra.get("time") or "").startswith(str(item["time"])):
        return False
    if "severity" in item and f.severity < Severity.parse(str(item["severity"])):
        return False
    prevented = f.extra.get("prevented_by") or []
    return all(p in prevented for p in _as_list(item.get("prevented_by", [])))


def _story_met(result: Result, rules: list[str]) -> bool:
    for story in result.stories:
        inside = {s.finding.rule for s in story.steps if s.finding is not None}
        if set(rules) <= inside:
            return True
    return False


def judge(snippet: Snippet) -> Outcome:
    outcome = Outcome(snippet)
    try:
        result = diagnose([str(snippet.log)])
    except Exception as exc:  # a crash is an outcome to report, not to raise
        outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.missed = snippet.expect
        return outcome
    for item in snippet.expect:
        if "story" in item:
            met = _story_met(result, list(item["story"].get("rules", [])))
        else:
            met = any(matches(f, item) for f in result.findings)
        (outcome.met if met else outcome.missed).append(item)
    for item in snippet.forbid:
        for f in result.findings:
            if matches(f, item):
                outcome.contradicted.append((item, f"{f.rule}: {f.message}"))
                break
    for f in result.findings:
        for placeholder in PLACEHOLDERS:
            if placeholder in f.message:
                outcome.contradicted.append(({"placeholder": placeholder}, f"{f.rule}: {f.message}"))
    return outcome


def report(outcomes: list[Outcome]) -> str:
    lines = []
    for o in outcomes:
        if o.error:
            lines.append(f"{o.snippet.name}: CRASH {o.error}")
        for item in o.missed:
            lines.append(f"{o.snippet.name}: missed {item}")
        for item, finding in o.contradicted:
            lines.append(f"{o.snippet.name}: CONTRADICTED {item} by {finding[:200]}")
    return "\n".join(lines)
