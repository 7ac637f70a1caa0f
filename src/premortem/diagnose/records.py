"""The data that flows through ``premortem diagnose``.

A parser turns input lines into ``Record``s (one log line, one event, one ``kubectl describe`` fact);
a recogniser turns a record into a ``Sighting`` (one occurrence of a known failure); sightings with the
same rule and subject are aggregated into one finding with a count and first/last evidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from premortem.findings import Severity


@dataclass(slots=True)
class Record:
    file: str
    line: int
    text: str  # the input line(s) exactly as read: the evidence
    source: str  # the format that produced it: klog, kernel, etcd-json, events-table, ...
    message: str  # the message part, without timestamps and envelopes
    seq: int = 0  # global input order
    time: datetime | None = None  # absolute time (UTC) when the input says it
    year_guessed: bool = False  # klog / syslog timestamps have no year
    age: float | None = None  # seconds before capture (kubectl get events LAST SEEN), when only that
    level: str | None = None
    host: str | None = None  # journald/syslog host, event source host
    process: str | None = None  # journald/syslog identifier (kubelet, kernel, etcd...)
    fields: dict[str, Any] = field(default_factory=dict)  # structured key/values
    # Kubernetes events (tables, JSON/YAML, describe sections)
    reason: str | None = None
    event_type: str | None = None
    kind: str | None = None  # involved object kind
    name: str | None = None
    namespace: str | None = None
    container: str | None = None
    node: str | None = None
    count: int = 1
    component: str | None = None
    context: list[tuple[int, str]] = field(default_factory=list)  # extra (line, text) evidence

    @property
    def haystack(self) -> str:
        """What recognisers search: the reason and message for events, the message for log lines."""
        if self.reason:
            return f"{self.reason} {self.message}"
        return self.message


@dataclass(slots=True)
class Sighting:
    """One occurrence of a known failure, as a recogniser reads it from one record."""

    rule: str
    key: tuple[Any, ...]  # aggregation key within the rule (subject of the finding)
    message: str
    fix: str
    severity: Severity | None = None  # None: the recogniser's default
    objects: dict[str, str] = field(default_factory=dict)  # pod, namespace, node, container, ...
    prevented_by: tuple[str, ...] = ()
    worst: float | None = None  # a figure whose maximum is worth reporting (seconds, bytes...)
    numbers: dict[str, Any] = field(default_factory=dict)
    # The line states what the other sightings of the same finding leave open (a webhook's
    # "failing open"): its message and severity stand for the whole finding.
    decisive: bool = False


@dataclass(slots=True)
class Evidence:
    file: str
    line: int
    text: str
    time: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "text": self.text,
            "time": self.time.isoformat().replace("+00:00", "Z") if self.time else None,
        }


def number_too_long(exc: ValueError) -> bool:
    """Whether ``exc`` is Python refusing to convert a number of more than 4,300 digits: no count,
    pid or exit code is that long, so the text is not what a parser or recogniser took it for."""
    return "integer string conversion" in str(exc)
