"""``--write-baseline FILE`` records today's findings; ``--baseline FILE`` reports only the others.

The file is JSON, sorted by file and line so that a reviewer can read its diff: one entry per
finding with its fingerprint (see fingerprint.py) and, for people, the rule, object and message.
A fingerprint recorded n times absorbs n findings with that fingerprint: a second copy of the same
risk is reported.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from premortem import __version__
from premortem.findings import Finding
from premortem.triage.fingerprint import fingerprint

FORMAT = "premortem-baseline"
FORMAT_VERSION = 1


class BaselineError(Exception):
    pass


def baseline_json(findings: Iterable[Finding]) -> dict[str, Any]:
    entries = [
        {
            "fingerprint": fingerprint(f),
            "rule": f.rule,
            "severity": f.severity.label,
            "object": f.object.display() if f.object else None,
            "container": f.container,
            "path": f.path,
            "file": f.file,
            "line": f.line,
            "message": f.message,
        }
        for f in sorted(findings, key=Finding.sort_key)
    ]
    return {"format": FORMAT, "version": FORMAT_VERSION, "premortem": __version__, "findings": entries}


def write_baseline(path: str, findings: Iterable[Finding]) -> int:
    payload = baseline_json(findings)
    try:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(payload, handle, indent=2, ensure_ascii=False)
            handle.write("\n")
    except OSError as exc:
        raise BaselineError(f"cannot write the baseline {path}: {exc.strerror or exc}") from None
    return len(payload["findings"])


def read_baseline(path: str) -> Counter[str]:
    """Fingerprint -> how many findings with it the baseline absorbs."""
    from premortem.load.files import InputError, read_file_text

    try:  # regular files only, under --max-input-bytes: /dev/zero or a FIFO is refused, not read
        data = json.loads(read_file_text(path))
    except FileNotFoundError:
        raise BaselineError(
            f"cannot read the baseline {path}: no such file (record one first: "
            f"premortem scan PATHS --write-baseline {path})"
        ) from None
    except OSError as exc:
        raise BaselineError(f"cannot read the baseline {path}: {exc.strerror or exc}") from None
    except InputError as exc:
        raise BaselineError(f"cannot read the baseline {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise BaselineError(f"{path} is not a premortem baseline (not JSON: {exc})") from None
    except RecursionError:
        raise BaselineError(f"{path} is not a premortem baseline (JSON nested too deeply)") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != FORMAT
        or not isinstance(data.get("findings"), list)
    ):
        raise BaselineError(f"{path} is not a premortem baseline (write one with --write-baseline)")
    if data.get("version") != FORMAT_VERSION:
        raise BaselineError(f"{path}: baseline version {data.get('version')!r} is not {FORMAT_VERSION}")
    counts: Counter[str] = Counter()
    for entry in data["findings"]:
        if isinstance(entry, dict) and isinstance(entry.get("fingerprint"), str):
            counts[entry["fingerprint"]] += 1
    return counts


def split_baselined(findings: list[Finding], known: Counter[str]) -> tuple[list[Finding], list[Finding]]:
    """(new findings, findings the baseline absorbs)."""
    remaining = Counter(known)
    new, old = [], []
    for f in findings:
        key = fingerprint(f)
        if remaining[key] > 0:
            remaining[key] -= 1
            old.append(f)
        else:
            new.append(f)
    return new, old
