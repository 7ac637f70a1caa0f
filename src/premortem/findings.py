"""Findings: the one data type every rule, analysis and report shares.

A finding is plain data. Its JSON form (``Finding.to_json``) is a contract with users' CI scripts:
fields may be added, never renamed or removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return _LABELS[self]  # Enum.name is a slow descriptor, and every finding's JSON asks

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r}: use one of {', '.join(SEVERITIES)}") from None


_LABELS = {severity: severity.name.lower() for severity in Severity}

# The rule id of "a rule failed on this object" (rules/input.py; engine.py raises it): exit code 2.
INTERNAL_ERROR = "INP005"

SEVERITIES = tuple(s.label for s in sorted(Severity, reverse=True))

CATEGORIES = (
    "resources",
    "probes",
    "disruption",
    "images",
    "etcd",
    "admission",
    "kubelet",
    "network",
    "capacity",
    "input",
    "workloads",
    "dns",
    "scheduling",
    "api-versions",
)


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """Identity of a Kubernetes object as written in the manifest (namespace may be None)."""

    api_version: str | None
    kind: str | None
    namespace: str | None
    name: str | None

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its constructor's arguments (a frozen dataclass's slots are set one by one
        through Python otherwise)."""
        return ObjectRef, (self.api_version, self.kind, self.namespace, self.name)

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }

    def display(self) -> str:
        """For people: control characters in names are escaped (they would reach the terminal raw)."""
        from premortem.redact import terminal_safe

        name = self.name or "<unnamed>"
        if self.namespace:
            name = f"{self.namespace}/{name}"
        return terminal_safe(f"{self.kind or '<no kind>'} {name}", keep_newlines=False)


@dataclass(slots=True)
class Finding:
    rule: str
    category: str
    severity: Severity
    message: str
    fix: str
    object: ObjectRef | None = None
    container: str | None = None
    file: str | None = None
    line: int | None = None
    path: str = ""
    # Extra, rule-specific data (numbers behind the message, evidence lines...). Serialised as-is.
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The one place every finding's text passes (scan, capacity, etcd, diagnose): credentials are
        # masked and control characters escaped here, so no report can print them.
        from premortem.redact import clean, redact_data, terminal_safe

        self.message = clean(self.message)
        self.fix = clean(self.fix)
        if self.container is not None:
            self.container = terminal_safe(self.container, keep_newlines=False)
        if self.extra:
            self.extra = redact_data(self.extra)

    def __reduce__(self) -> tuple[Any, ...]:
        """Findings cross between processes (judging in two, premortem/fork.py) as their fields,
        restored without ``__post_init__``: their texts were cleaned when they were made. Half the
        time of pickling and unpickling the slots one by one."""
        return _restore, (
            self.rule,
            self.category,
            int(self.severity),
            self.message,
            self.fix,
            self.object,
            self.container,
            self.file,
            self.line,
            self.path,
            self.extra,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "rule": self.rule,
            "category": self.category,
            "severity": self.severity.label,
            "object": self.object.to_json() if self.object else None,
            "container": self.container,
            "file": self.file,
            "line": self.line,
            "path": self.path,
            "message": self.message,
            "fix": self.fix,
        }
        for key, value in self.extra.items():
            out.setdefault(key, value)
        return out

    def sort_key(self) -> tuple[Any, ...]:
        """Report order: by place, then the most severe first, then the rule. Findings that tie on
        those (one kustomization's ``images`` entry reported for each object it rewrites) are ordered
        by the object, the path and container, then the text, so the order is total: the same input
        gives the same bytes whatever PYTHONHASHSEED, ``-j`` or the order the rules ran in. A missing
        value (null in JSON) comes before every written one, the empty string included."""
        ref = self.object
        return (
            self.file or "",
            self.line or 0,
            -int(self.severity),
            self.rule,
            (True, _text(ref.namespace), _text(ref.kind), _text(ref.name), _text(ref.api_version))
            if ref
            else (False,),
            self.path,
            _text(self.container),
            self.message,
            self.fix,
            self.file is not None,
            self.line is not None,
        )


_SEVERITY_BY_VALUE = tuple(sorted(Severity))


def _restore(
    rule: str,
    category: str,
    severity: int,
    message: str,
    fix: str,
    ref: ObjectRef | None,
    container: str | None,
    file: str | None,
    line: int | None,
    path: str,
    extra: dict[str, Any],
) -> Finding:
    """A pickled finding (``Finding.__reduce__``), as it was."""
    finding = object.__new__(Finding)
    finding.rule, finding.category, finding.severity = rule, category, _SEVERITY_BY_VALUE[severity]
    finding.message, finding.fix, finding.object, finding.container = message, fix, ref, container
    finding.file, finding.line, finding.path, finding.extra = file, line, path, extra
    return finding


def sort_findings(findings: list[Finding]) -> None:
    """Sort ``findings`` in place by ``Finding.sort_key``: by place, severity and rule first (a
    small key), and by the whole key only among findings that tie on those (a big report has a
    few hundred thousand findings and few ties; the whole key costs several times more)."""
    findings.sort(key=_place)
    start, count = 0, len(findings)
    while start < count:
        place = _place(findings[start])
        end = start + 1
        while end < count and _place(findings[end]) == place:
            end += 1
        if end - start > 1:
            findings[start:end] = sorted(findings[start:end], key=Finding.sort_key)
        start = end


def _place(finding: Finding) -> tuple[str, int, int, str]:
    """The first fields of ``Finding.sort_key``."""
    return (finding.file or "", finding.line or 0, -finding.severity, finding.rule)


def _text(value: str | None) -> tuple[bool, str]:
    return (value is not None, value or "")


def json_pointer(path: tuple[str | int, ...]) -> str:
    """RFC 6901 pointer for a path of keys and indexes."""
    if not path:
        return ""
    parts = []
    for part in path:
        text = str(part).replace("~", "~0").replace("/", "~1")
        parts.append(text)
    return "/" + "/".join(parts)
