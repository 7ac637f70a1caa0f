"""Events as ``kubectl get events -o json`` / ``-o yaml``: an EventList or a v1 List of Event, with
core/v1 fields (involvedObject, lastTimestamp, count, source) or events.k8s.io/v1 fields (regarding,
note, deprecatedLastTimestamp, series, reportingController). A single Event object is read too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import yaml

from premortem.diagnose.records import Record
from premortem.diagnose.timeparse import parse_rfc3339

try:  # pragma: no cover
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


def load(text: str, is_json: bool) -> Any:
    """The document, or None when it is not valid JSON/YAML."""
    try:
        if is_json:
            return json.loads(text)
        return yaml.load(text, Loader=_Loader)
    except (ValueError, RecursionError, yaml.YAMLError):
        return None


_CUT_TRIES = 8  # lines dropped from the end, one at a time, looking for a place the cut can close
_CUT_MAX = 1024 * 1024  # a pasted fragment is small; past this a cut document is read line by line


def close_cut(text: str) -> str:
    """JSON cut short (a paste that stops mid-document, or a member pasted without its braces) closed
    where it can be: the last lines that leave a complete value are dropped, a dangling comma removed,
    and the open brackets closed in order. The text as given when nothing helps."""
    if len(text) > _CUT_MAX:
        return text
    body = text.strip()
    if body.startswith('"'):
        body = "{" + body
    lines = body.split("\n")
    for drop in range(min(_CUT_TRIES, len(lines))):
        candidate = "\n".join(lines[: len(lines) - drop]).rstrip().rstrip(",")
        closers = _closers(candidate)
        if closers is None:
            continue
        try:
            json.loads(candidate + closers)
        except ValueError:
            continue
        return candidate + closers
    return text


def _closers(text: str) -> str | None:
    """The brackets that close what ``text`` leaves open; None when it ends inside a string."""
    stack: list[str] = []
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return None if in_string else "".join(reversed(stack))


def is_event(obj: Any) -> bool:
    """An Event, or an object shaped like one (event exporters drop apiVersion and kind)."""
    if not isinstance(obj, dict) or not ("reason" in obj or "note" in obj):
        return False
    return obj.get("kind") == "Event" or (
        "kind" not in obj and ("involvedObject" in obj or "regarding" in obj)
    )


def events(doc: Any) -> Iterator[dict[str, Any]] | None:
    """The Event objects of a document, or None when it holds no events at all (not our format)."""
    if is_event(doc):
        return iter([doc])
    if isinstance(doc, dict) and isinstance(doc.get("items"), list):
        items = [i for i in doc["items"] if is_event(i)]
        if items or (not doc["items"] and doc.get("kind") in ("List", "EventList")):
            return iter(items)  # an empty list of events is still a list of events
    return None


def fill(event: dict[str, Any], rec: Record) -> None:
    obj = event.get("involvedObject") or event.get("regarding") or {}
    if not isinstance(obj, dict):
        obj = {}
    meta = event.get("metadata") or {}
    source = event.get("source") or event.get("deprecatedSource") or {}
    series = event.get("series") or {}
    rec.source = "events-doc"
    rec.reason = str(event.get("reason") or "")
    rec.message = str(event.get("message") or event.get("note") or "")
    rec.event_type = event.get("type")
    rec.kind = obj.get("kind")
    rec.name = obj.get("name")
    rec.namespace = obj.get("namespace") or meta.get("namespace")
    field_path = obj.get("fieldPath") or ""
    if field_path.startswith("spec.containers{"):
        rec.container = field_path[len("spec.containers{") : -1]
    rec.component = (
        source.get("component") or event.get("reportingController") or event.get("reportingComponent")
    )
    rec.host = source.get("host") or None
    count = series.get("count") or event.get("count") or event.get("deprecatedCount") or 1
    rec.count = int(count) if str(count).isdigit() else 1
    for key in (
        "lastTimestamp",
        "deprecatedLastTimestamp",
        "eventTime",
        "firstTimestamp",
        "deprecatedFirstTimestamp",
    ):
        value = event.get(key)
        if key == "eventTime" and series.get("lastObservedTime"):
            value = series["lastObservedTime"]
        if isinstance(value, str) and value:
            rec.time = parse_rfc3339(value)
            if rec.time:
                break
    first = event.get("firstTimestamp") or event.get("deprecatedFirstTimestamp") or event.get("eventTime")
    if isinstance(first, str):
        rec.fields["first_time"] = first


def locate(lines: list[str], message: str, start: int) -> int:
    """Index of the line holding the event's message (the evidence line), searching from ``start``."""
    probe = message[:40]
    if not probe:
        return start
    escaped = json.dumps(probe)[1:-1]
    for i in range(start, len(lines)):
        if probe in lines[i] or escaped in lines[i]:
            return i
    return start
