"""``premortem fix --format json``: what was fixed, held back, not fixable or failed, per file with its
diff (credentials masked, as in the text diff), the findings the fixes cause, and counts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from premortem.fix.pipeline import FixRun
from premortem.redact import redact

STATUSES = ("fixed", "held", "not-fixable", "failed")


def fix_json(run: FixRun, written: bool, diff: Callable[[str, str, str], list[str]]) -> dict[str, Any]:
    files = []
    for f in run.files:
        entry: dict[str, Any] = {
            "file": f.name,
            "changed": f.changed,
            "written": written and f.changed,
            "error": f.error,
        }
        if f.changed:
            entry["diff"] = "".join(redact(line) for line in diff(f.name, f.original, f.fixed))
        if f.name == "<stdin>":
            entry["fixed"] = f.fixed
        files.append(entry)
    outcomes = [{**o.finding.to_json(), "status": o.status, "outcome": o.message} for o in run.outcomes]
    counts = Counter(o.status for o in run.outcomes)
    return {
        "files": files,
        "outcomes": outcomes,
        "introduced": [f.to_json() for f in run.introduced],
        "summary": {
            **{status: counts.get(status, 0) for status in STATUSES},
            "files_changed": sum(1 for f in run.files if f.changed),
            "written": written,
            "settled": run.settled,
        },
    }
