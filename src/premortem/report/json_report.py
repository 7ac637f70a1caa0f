"""JSON output: one object on stdout. Field names are a contract: extend, never rename."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from premortem.report.model import Report


def write_json(payload: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    json.dump(payload, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")


def scan_json(report: Report) -> dict[str, Any]:
    """``{findings, objects, summary, suppressed}``: each finding with its fingerprint; suppressed
    findings (not in ``findings``, not counted for the exit code) with their ``suppression``."""
    from premortem.triage.fingerprint import fingerprint

    return {
        "findings": [{**f.to_json(), "fingerprint": fingerprint(f)} for f in report.findings],
        "objects": report.objects,
        "summary": report.summary,
        "suppressed": [
            {**f.to_json(), "fingerprint": fingerprint(f), "suppression": s.to_json()}
            for f, s in report.suppressed
        ],
    }
