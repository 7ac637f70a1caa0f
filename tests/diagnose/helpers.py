from __future__ import annotations

from premortem.diagnose import Result


def rules(result: Result) -> list[str]:
    return [f.rule for f in result.findings]
