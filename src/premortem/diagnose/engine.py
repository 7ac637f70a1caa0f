"""Recognise records, aggregate repeated sightings, and build the findings.

Repeated lines become one finding with a count and the first and last evidence: 500 liveness
failures of one container are one finding, not 500. Timestamps without a year (klog, syslog) take the
year of the input's own full-date timestamps, or the current year (the previous one when that would
put them in the future).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from premortem.diagnose import recognisers
from premortem.diagnose.records import Evidence, Record, Sighting, number_too_long
from premortem.diagnose.rules import DIAG_RULES
from premortem.diagnose.timeparse import PLACEHOLDER_YEAR, resolve_year
from premortem.findings import Finding, ObjectRef, Severity

_INLINE_DATE = re.compile(r"\b((?:19|20)\d\d)-[01]\d-[0-3]\d[ T]\d\d:")
_POD_AND_UID = re.compile(
    r'pod="([^"/]{1,63}/[^"]{1,253})"[^\n]{0,400}?(?:podUID="|"ID":")([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})'
)


# Findings of kills name every process killed (the first few): a node-wide OOM takes several in turn.
_KILL_RULES = ("DIAG-OOM-SYSTEM", "DIAG-OOM-KILL", "DIAG-OOM-RESERVED")
_PROCESSES_SHOWN = 6


@dataclass
class Aggregate:
    rule: str
    key: tuple[Any, ...]
    first: Sighting
    first_rec: Record
    last_rec: Record
    count: int = 0
    worst: Sighting | None = None
    severity: Severity = Severity.INFO
    objects: dict[str, str] = field(default_factory=dict)
    prevented_by: list[str] = field(default_factory=list)
    context: list[tuple[int, str]] = field(default_factory=list)
    times: list[datetime] = field(default_factory=list)
    seq: int = 0
    decided: bool = False  # a decisive sighting set the message and severity
    processes: list[str] = field(default_factory=list)  # the distinct processes named, the first few
    more_processes: int = 0
    age: float | None = None  # the oldest relative age (kubectl's AGE column) among its records


@dataclass
class Placement:
    """A pod assigned to a node (Scheduled events): the story's "pods moved to the next node"."""

    namespace: str
    pod: str
    node: str
    rec: Record


class Diagnosis:
    def __init__(self, now: datetime | None = None, boot: datetime | None = None) -> None:
        self.now = now  # capture time: turns kubectl relative ages into absolute times
        self.boot = boot  # the node's boot time: turns dmesg seconds-since-boot into times
        self.aggs: dict[tuple[Any, ...], Aggregate] = {}
        self.placements: list[Placement] = []
        self.file_state: dict[str, dict[str, Any]] = {}
        self.years: list[int] = []
        self.starts: list[date] = []
        self.recognised = 0
        self.pod_uids: dict[str, str] = {}  # pod UID -> "namespace/name"

    # ------------------------------------------------------------------ per record
    def note_text(self, text: str) -> None:
        """Kubelet lines name a pod with its UID (``pod="ns/name" podUID="..."``): kernel OOM lines
        name only the UID (in the cgroup path), so this map puts a name on them."""
        m = _POD_AND_UID.search(text)
        if m and len(self.pod_uids) < 100_000:
            self.pod_uids[m.group(2)] = m.group(1)

    def note_year(self, year: int) -> None:
        if 1970 <= year <= 9999 and len(self.years) < 1000:
            self.years.append(year)

    def note_start(self, start: date) -> None:
        """The evidence begins on this day (journald's ``-- Logs begin at``): a yearless timestamp
        falls on or after it."""
        self.note_year(start.year)
        self.starts.append(start)

    def end_file(self, name: str) -> None:
        """What recognisers kept for later (an OOM report without its kill line) becomes findings."""
        state = self.file_state.pop(name, None)
        if not state:
            return
        for finish in recognisers.FINISHERS:
            for sighting, rec in finish(state):
                self.recognised += 1
                self._add(sighting, rec)

    def process(self, rec: Record) -> bool:
        if rec.year_guessed and len(self.years) < 1000:
            stated = _INLINE_DATE.search(rec.text)
            if stated:
                self.note_year(int(stated.group(1)))
        if (
            rec.time is not None
            and not rec.year_guessed
            and rec.time.year != PLACEHOLDER_YEAR
            and len(self.years) < 1000
        ):
            self.years.append(rec.time.year)
        if rec.time is None and rec.age is not None and self.now is not None:
            rec.time = self.now - timedelta(seconds=rec.age)
        if rec.time is None and self.boot is not None and "boot_seconds" in rec.fields:
            rec.time = self.boot + timedelta(seconds=rec.fields["boot_seconds"])
        if rec.reason == "Scheduled" or "Successfully assigned" in rec.message:
            self._placement(rec)
        hay = rec.haystack
        cands = recognisers.candidates(hay)
        if not cands:
            return False
        state = self.file_state.setdefault(rec.file, {})
        for r in cands:
            try:
                result = r.fn(rec, state)
            except ValueError as exc:
                if not number_too_long(exc):
                    raise
                continue  # a 5,000-digit "exit code" is not this recogniser's line
            if result is None:
                continue
            self.recognised += 1
            if isinstance(result, Sighting):
                self._add(result, rec)
            return True
        return False

    def _placement(self, rec: Record) -> None:
        import re

        m = re.search(r"Successfully assigned (\S+)/(\S+) to (\S+)", rec.message)
        if m:
            self.placements.append(Placement(m.group(1), m.group(2), m.group(3), rec))

    def _add(self, s: Sighting, rec: Record) -> None:
        meta = DIAG_RULES[s.rule]
        severity = s.severity if s.severity is not None else meta.severity
        key = (s.rule, *s.key)
        agg = self.aggs.get(key)
        if agg is None:
            agg = self.aggs[key] = Aggregate(s.rule, s.key, s, rec, rec, seq=rec.seq)
            agg.severity = severity
        elif s.decisive or not agg.decided:
            agg.severity = severity if s.decisive and not agg.decided else max(agg.severity, severity)
        agg.count += max(rec.count, 1)
        agg.last_rec = rec
        if rec.age is not None and (agg.age is None or rec.age > agg.age):
            agg.age = rec.age
        if s.decisive:
            agg.decided, agg.worst = True, s
        elif (
            not agg.decided
            and s.worst is not None
            and (agg.worst is None or (agg.worst.worst or 0) < s.worst)
        ):
            agg.worst = s
        for k, v in s.objects.items():
            agg.objects.setdefault(k, v)
        process = s.objects.get("process")
        if process and process not in agg.processes:
            if len(agg.processes) < _PROCESSES_SHOWN:
                agg.processes.append(process)
            else:
                agg.more_processes = 1
        for p in s.prevented_by or ():
            if p not in agg.prevented_by:
                agg.prevented_by.append(p)
        if rec.context and len(agg.context) < 6:
            agg.context.extend(rec.context)
        if rec.time is not None:
            agg.times.append(rec.time)
            if len(agg.times) > 2:
                agg.times = [min(agg.times), max(agg.times)]

    # ------------------------------------------------------------------ results
    def year(self) -> int:
        if self.years:
            return max(set(self.years), key=self.years.count)
        now = datetime.now(UTC)
        return now.year

    def fix_year(self, value: datetime | None) -> datetime | None:
        if value is None or value.year != PLACEHOLDER_YEAR:
            return value
        year = self.year()
        fixed = resolve_year(value, year)
        if not self.years and fixed > datetime.now(UTC) + timedelta(days=1):
            fixed = resolve_year(value, year - 1)
        if self.starts and fixed.date() < min(self.starts):
            fixed = resolve_year(value, year + 1)
        return fixed

    def findings(self, registry_ids: Iterable[tuple[str, str, str, str]] = ()) -> list[Finding]:
        """One finding per aggregate, ordered by time (input order where there is none)."""
        for agg in self.aggs.values():
            for rec in (agg.first_rec, agg.last_rec):
                rec.time = self.fix_year(rec.time)
            agg.times = sorted(t for t in (self.fix_year(t) for t in agg.times) if t is not None)
        self._cross_reference()
        resolved = list(registry_ids)
        out = []
        for agg in sorted(self.aggs.values(), key=order_key):
            out.append(self._finding(agg, resolved))
        return out

    def _cross_reference(self) -> None:
        """Facts one finding lends another: a crash loop's cause, a pod's node from its placement."""
        placed = {(p.namespace, p.pod): p.node for p in self.placements}
        for agg in self.aggs.values():
            uid = agg.objects.get("pod_uid")
            if uid and uid in self.pod_uids and "pod" not in agg.objects:
                ns, _, name = self.pod_uids[uid].rpartition("/")
                agg.objects["pod"], agg.objects["namespace"] = name, ns
        self._merge_evictions()
        by_pod: dict[tuple[str, str], set[str]] = {}
        for agg in self.aggs.values():
            pod = (agg.objects.get("namespace", ""), agg.objects.get("pod", ""))
            if pod[1]:
                by_pod.setdefault(pod, set()).add(agg.rule)
        for agg in self.aggs.values():
            pod = (agg.objects.get("namespace", ""), agg.objects.get("pod", ""))
            if pod[1] and "node" not in agg.objects and pod in placed:
                agg.objects["node"] = placed[pod]
            if agg.rule == "DIAG-CRASHLOOP":
                rules = by_pod.get(pod, set())
                if rules & {"DIAG-OOMKILLED", "DIAG-OOM-CGROUP"}:
                    agg.prevented_by.extend(p for p in ("RES002", "RES003") if p not in agg.prevented_by)
                if rules & {"DIAG-PROBE-LIVENESS", "DIAG-PROBE-RESTART"}:
                    agg.prevented_by.append("@probes:liveness")

    def _merge_evictions(self) -> None:
        """An eviction reported twice, once with its resource (an event, describe) and once without
        (``pod is evicted successfully``, a pods table), is one eviction: keep the named resource."""
        known: dict[str, Aggregate] = {}
        for agg in self.aggs.values():
            if (
                agg.rule.startswith("DIAG-EVICT-")
                and agg.rule != "DIAG-EVICT-UNKNOWN"
                and agg.objects.get("pod")
            ):
                known.setdefault(agg.objects["pod"], agg)
        for key, agg in list(self.aggs.items()):
            if agg.rule != "DIAG-EVICT-UNKNOWN" or not agg.objects.get("pod"):
                continue
            target = known.get(agg.objects["pod"])
            namespaces = (
                {target.objects.get("namespace"), agg.objects.get("namespace")} - {None} if target else set()
            )
            if target is None or len(namespaces) > 1:
                continue
            for k, v in agg.objects.items():
                target.objects.setdefault(k, v)
            if len(target.context) < 6:
                target.context.append((agg.first_rec.line, agg.first_rec.text))
            del self.aggs[key]

    def _finding(self, agg: Aggregate, registry: list[tuple[str, str, str, str]]) -> Finding:
        meta = DIAG_RULES[agg.rule]
        shown = agg.worst or agg.first
        message = shown.message
        if agg.rule in _KILL_RULES and len(agg.processes) > 1:
            named = ", ".join(agg.processes) + (" and others" if agg.more_processes else "")
            message += f" Processes killed: {named}."
        if agg.count > 1:
            span = ""
            if len(agg.times) >= 2 and _clock(agg.times[0]) != _clock(agg.times[-1]):
                span = f" between {_clock(agg.times[0])} and {_clock(agg.times[-1])}"
            message += f" Reported {agg.count} times{span}."
        evidence = [_evidence(agg.first_rec)]
        evidence.extend(Evidence(agg.first_rec.file, line, text) for line, text in agg.context[:4])
        if agg.last_rec is not agg.first_rec:
            evidence.append(_evidence(agg.last_rec))
        prevented = resolve_prevented(agg.prevented_by or list(meta.prevented_by), registry)
        objects = dict(agg.objects)
        obj = None
        if objects.get("pod"):
            obj = ObjectRef("v1", "Pod", objects.get("namespace"), objects["pod"])
        elif objects.get("node") and agg.rule.startswith(("DIAG-NODE", "DIAG-OOM-SYSTEM")):
            obj = ObjectRef("v1", "Node", None, objects["node"])
        first_time = agg.times[0] if agg.times else None
        extra: dict[str, Any] = {
            "title": meta.title,
            "count": agg.count,
            "time": _iso(first_time),
            "last_time": _iso(agg.times[-1] if agg.times else None),
            "evidence": [e.to_json() for e in evidence],
            "objects": objects,
            "prevented_by": prevented,
            "checked_by": list(meta.checked_by),
            "_seq": agg.seq,
            "_age": agg.age,
        }
        numbers = {k: v for k, v in shown.numbers.items() if v is not None}
        if numbers:
            extra["numbers"] = numbers
        return Finding(
            rule=agg.rule,
            category=meta.category,
            severity=agg.severity,
            message=message,
            fix=shown.fix,
            object=obj,
            container=objects.get("container"),
            file=agg.first_rec.file,
            line=agg.first_rec.line,
            extra=extra,
        )


def order_key(agg: Aggregate) -> tuple[Any, ...]:
    first = agg.times[0] if agg.times else None
    return (
        first is None,
        first or datetime.min.replace(tzinfo=UTC),
        agg.age is None,
        -(agg.age or 0),
        agg.seq,
    )


def resolve_prevented(tokens: Iterable[str], registry: list[tuple[str, str, str, str]]) -> list[str]:
    """Rule ids; ``@category:word`` becomes the registered rules of that category mentioning the word."""
    out: list[str] = []
    for token in tokens:
        if token.startswith("@"):
            category, _, word = token[1:].partition(":")
            for rule_id, rule_category, name, title in registry:
                mentions = word in name.lower() or word in title.lower()
                if rule_category == category and mentions and rule_id not in out:
                    out.append(rule_id)
        elif token not in out:
            out.append(token)
    return out


def _evidence(rec: Record) -> Evidence:
    return Evidence(rec.file, rec.line, rec.text, rec.time)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def _clock(value: datetime) -> str:
    return value.strftime("%H:%M:%S")
