"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers.

Locations are relative to the current directory (``%SRCROOT%``; run premortem from the repository
root in CI), each result carries ``partialFingerprints`` (premortem/v1, see triage/fingerprint.py)
so that viewers track it across edits, and suppressed findings are included with ``suppressions``
whose ``justification`` is the reason given.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from premortem import __version__
from premortem.findings import Finding, Severity
from premortem.report.model import Report, doc_section, value_source
from premortem.rules.registry import Rule
from premortem.triage.fingerprint import VERSION, fingerprint
from premortem.triage.suppressions import Suppression

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# SARIF's suppression kinds: in the analysed source (annotation, comment) or outside it (config).
_KIND = {"annotation": "inSource", "comment": "inSource", "config": "external"}


def to_sarif(report: Report, base: str | None = None) -> dict[str, Any]:
    root = os.path.abspath(base or os.getcwd())
    index = {r.id: i for i, r in enumerate(report.rules)}
    results = [_result(f, None, index, root) for f in report.findings]
    results += [_result(f, s, index, root) for f, s in report.suppressed]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "premortem",
                        "version": __version__,
                        "rules": [_rule(r) for r in report.rules],
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": _file_uri(root) + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }


def _rule(rule: Rule) -> dict[str, Any]:
    why = doc_section(rule.doc, "Why it breaks clusters") or rule.title
    fix = doc_section(rule.doc, "Fix")
    return {
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": why},
        "help": {"text": f"{why}\n\nFix: {fix}\n\nMore: premortem explain {rule.id}" if fix else why},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "properties": {"category": rule.category, "severity": rule.severity.label, "tags": [rule.category]},
    }


def _result(f: Finding, suppression: Suppression | None, index: dict[str, int], root: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": f.rule,
        "level": _LEVEL[f.severity],
        "message": {"text": f"{f.message} Fix: {f.fix}" if f.fix else f.message},
        "partialFingerprints": {f"premortem/{VERSION}": fingerprint(f)},
        "properties": {"severity": f.severity.label, "category": f.category, "path": f.path},
    }
    if f.rule in index:
        result["ruleIndex"] = index[f.rule]
    location: dict[str, Any] = {}
    if f.file and f.file != "<stdin>":
        location["physicalLocation"] = {
            "artifactLocation": _artifact(f.file, root),
            "region": {"startLine": f.line or 1},
        }
    if f.object is not None:
        name = f.object.display() + (f" container {f.container}" if f.container else "")
        location["logicalLocations"] = [{"fullyQualifiedName": name, "kind": "object"}]
    if location:
        result["locations"] = [location]
    source = value_source(f)
    if source is not None and source[0] != "--set":
        # The values file and line that set the offending value: where a chart's user makes the change.
        file, line, key, is_set = source
        what = f"{key} is set here" if is_set else f"{key} is set nowhere; add it here"
        result["relatedLocations"] = [
            {
                "id": 1,
                "physicalLocation": {
                    "artifactLocation": _artifact(file, root),
                    "region": {"startLine": line or 1},
                },
                "message": {"text": what},
            }
        ]
    if suppression is not None:
        result["suppressions"] = [
            {
                "kind": _KIND.get(suppression.kind, "external"),
                "status": "accepted",
                "justification": suppression.reason or "(no reason given)",
                "properties": {"source": suppression.kind, "where": suppression.where},
            }
        ]
    return result


def _artifact(path: str, root: str) -> dict[str, Any]:
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute, root)
    if relative.startswith(".."):
        return {"uri": _file_uri(absolute)}
    return {"uri": quote(relative.replace(os.sep, "/")), "uriBaseId": SRCROOT}


def _file_uri(path: str) -> str:
    return "file://" + quote(path.replace(os.sep, "/"))
