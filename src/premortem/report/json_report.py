"""JSON output: one object on stdout. Field names are a contract: extend, never rename.

Written as ``json.dumps(payload, indent=2)`` writes it, with one difference for big reports: a list
of more than ``ONE_PER_LINE_ABOVE`` objects (the findings and objects of a cluster-sized scan) has
each object on one line. json's indenting encoder is pure Python; one line per object is encoded by
its C encoder, several times faster (100,000 objects), and stays easy to grep and to diff.
"""

from __future__ import annotations

import json
import re
import sys
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, TextIO

from premortem.report.model import Report

ONE_PER_LINE_ABOVE = 100
# Pieces of text joined per write (json.dump wrote each small chunk on its own).
_PIECES_PER_WRITE = 4096


# A lone surrogate (an input's "\\ud800" escape) can only sit inside a JSON string; no encoding can
# write it raw, so it is written as the \\u escape JSON allows.
_SURROGATE = re.compile("[\ud800-\udfff]")


def write_json(payload: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    pending: list[str] = []
    for piece in _pieces(payload, ""):
        pending.append(piece)
        if len(pending) >= _PIECES_PER_WRITE:
            out.write(_encodable("".join(pending)))
            pending.clear()
    pending.append("\n")
    out.write(_encodable("".join(pending)))


def _encodable(text: str) -> str:
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) if _SURROGATE.search(text) else text


# json's C encoder, made once: json.dumps makes a new one for every call, which costs as much as
# encoding a finding (ensure_ascii=False, default=str, compact separators as json.dumps writes them).
_ENCODE = (
    c_make_encoder(None, str, encode_basestring, None, ": ", ", ", False, False, True)
    if c_make_encoder is not None
    else None
)


def _compact(value: Any) -> str:
    if _ENCODE is not None:
        try:
            return "".join(_ENCODE(value, 0))
        except RecursionError:  # a value that holds itself: json.dumps says so (ValueError)
            pass
    return json.dumps(value, ensure_ascii=False, default=str)


def _pieces(value: Any, indent: str) -> Any:
    """The text of ``value`` at ``indent``, as json.dumps(indent=2) writes it (see the module doc)."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        yield "{"
        last = len(value) - 1
        for position, (key, item) in enumerate(value.items()):
            yield f"\n{inner}{_compact(_key(key))}: "
            yield from _pieces(item, inner)
            if position < last:
                yield ","
        yield f"\n{indent}}}"
    elif isinstance(value, list | tuple) and value:
        one_per_line = len(value) > ONE_PER_LINE_ABOVE and all(isinstance(v, dict) for v in value)
        yield "["
        last = len(value) - 1
        for position, item in enumerate(value):
            yield f"\n{inner}"
            if one_per_line:
                yield _compact(item)
            else:
                yield from _pieces(item, inner)
            if position < last:
                yield ","
        yield f"\n{indent}]"
    else:
        yield _compact(value)


def _key(key: Any) -> str:
    """A mapping key as json writes it: strings as they are, numbers, booleans and null as text."""
    if isinstance(key, str):
        return key
    if key is True or key is False or key is None:
        return json.dumps(key)
    if isinstance(key, int | float):
        return json.dumps(key) if isinstance(key, float) else str(int(key))
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


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
