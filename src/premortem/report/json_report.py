"""JSON output: one object on stdout. Field names are a contract: extend, never rename."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from premortem.report.model import Report

# Chunks of the encoder joined per write: json.dump writes each chunk (a key, a comma) on its own,
# which was most of the time of printing 100,000 objects.
_CHUNKS_PER_WRITE = 16384


def write_json(payload: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False, default=str)
    pending: list[str] = []
    for chunk in encoder.iterencode(payload):
        pending.append(chunk)
        if len(pending) >= _CHUNKS_PER_WRITE:
            out.write("".join(pending))
            pending.clear()
    pending.append("\n")
    out.write("".join(pending))


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
