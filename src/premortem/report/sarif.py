"""SARIF 2.1.0 output, for GitHub code scanning and other SARIF viewers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from premortem import __version__
from premortem.findings import Finding, Severity
from premortem.rules.registry import Rule

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}


def to_sarif(findings: Iterable[Finding], rules: Iterable[Rule]) -> dict[str, Any]:
    rule_list = list(rules)
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule,
            "level": _LEVEL[f.severity],
            "message": {"text": f"{f.message} Fix: {f.fix}" if f.fix else f.message},
            "properties": {"severity": f.severity.label, "category": f.category, "path": f.path},
        }
        if f.file:
            result["locations"] = [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": f.file},
                        "region": {"startLine": f.line or 1},
                    }
                }
            ]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "premortem",
                        "version": __version__,
                        "rules": [
                            {
                                "id": r.id,
                                "name": r.name,
                                "shortDescription": {"text": r.title},
                                "fullDescription": {
                                    "text": r.doc.split("\n## ", 2)[1] if "\n## " in r.doc else r.title
                                },
                                "properties": {"category": r.category, "severity": r.severity.label},
                            }
                            for r in rule_list
                        ],
                    }
                },
                "results": results,
            }
        ],
    }
