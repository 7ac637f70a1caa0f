"""JSON read with a JSON parser that keeps where objects start: ``kubectl get -o json`` dumps.

Kubernetes reads JSON with a JSON decoder (kubectl sniffs a leading ``{``), so premortem does too,
instead of reading JSON as YAML (slower, and YAML 1.1 reads ``1e3`` as a string). Every value is
parsed by the json module's own C scanner; this module only walks the few levels around it: the keys
of the top-level object and the elements of a List's ``items`` (or of a top-level array), so each
object keeps the offset where it starts. ``line_of_path`` walks a path through the text the same way
(skipping sibling values with the C scanner) to give findings the line of the field they name.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from json.decoder import JSONDecodeError
from typing import Any, cast

# json's C scanner and string scanner (pure Python where _json is missing), with json.loads' defaults.
_scan_once = cast(Callable[[str, int], tuple[Any, int]], json.scanner.make_scanner(json.JSONDecoder()))  # type: ignore[arg-type]
scanstring = cast(Callable[[str, int], tuple[str, int]], json.decoder.scanstring)  # type: ignore[attr-defined]
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass(slots=True)
class JsonDocument:
    """The parsed value, its offset, and the offsets of the elements of its ``items`` (``in_items``)
    or of the value itself when it is an array (``elements`` None when neither)."""

    value: Any
    start: int
    elements: list[int] | None = None
    in_items: bool = False
    items_span: tuple[int, int] | None = None  # where the ``items`` array read starts and ends


def looks_like_json(text: str) -> bool:
    """Whether the text starts (after whitespace) like a JSON object or array, as kubectl decides."""
    start = _WHITESPACE.match(text, 0)
    assert start is not None
    return text[start.end() : start.end() + 1] in ("{", "[")


def parse_json(text: str) -> JsonDocument:
    """One JSON value (the whole text); raises ``JSONDecodeError`` as ``json.loads`` would."""
    pos = _skip(text, 0)
    head = text[pos : pos + 1]
    if head == "{":
        members, items_span, elements, end = _object(text, pos)
        document = JsonDocument(members, pos, elements, elements is not None, items_span)
    elif head == "[":
        values, starts, end = _array(text, pos)
        document = JsonDocument(values, pos, starts)
    else:
        value, end = _value(text, pos)
        document = JsonDocument(value, pos)
    end = _skip(text, end)
    if end != len(text):
        raise JSONDecodeError("Extra data", text, end)
    return document


def line_of_path(
    text: str, start: int, line: int, path: Sequence[str | int], seen: dict[int, Any] | None = None
) -> int:
    """Line of the deepest node of ``path`` that exists in the value at ``start`` (on line ``line``):
    a key's line for object members (the last of duplicate keys, which is the one that counts), an
    element's first line for array elements. The text is not trusted: anything unexpected stops the
    walk at the deepest line found. ``seen`` keeps the members of the objects and arrays walked
    through, by offset, for the next paths into the same value (the findings of one object)."""
    found = start
    pos = start
    seen = {} if seen is None else seen
    try:
        for part in path:
            pos = _skip(text, pos)
            head = text[pos : pos + 1]
            if isinstance(part, str) and head == "{":
                members = seen.get(pos)
                if members is None:
                    members = seen[pos] = _members(text, pos)
                member = members.get(part)
                if member is None:
                    break
                found, pos = member
            elif isinstance(part, int) and head == "[":
                elements = seen.get(pos)
                if elements is None:
                    elements = seen[pos] = _elements(text, pos)
                if not 0 <= part < len(elements):
                    break
                found = pos = elements[part]
            else:
                break
    except (JSONDecodeError, ValueError, IndexError):
        pass
    return line + text.count("\n", start, found)


@dataclass(frozen=True, slots=True)
class RepeatedKey:
    """A key written more than once in one JSON object: the offset of each occurrence's key."""

    key: str
    offsets: tuple[int, ...]


def repeated_keys(text: str, pos: int, skip: tuple[int, int] | None = None) -> list[RepeatedKey]:
    """Every key written more than once in an object of the JSON value at ``pos``, in the order the
    objects close. A value starting at ``skip[0]`` is not looked into (its end is ``skip[1]``).
    Iterative, so any depth the C scanner parsed is walked; raises ``JSONDecodeError`` on bad text."""
    found: list[RepeatedKey] = []
    frames: list[dict[str, list[int]] | None] = []  # an open object's keys, or None for an array
    pos = _skip(text, pos)
    while True:
        head = text[pos : pos + 1]
        if skip is not None and pos == skip[0]:
            pos = skip[1]
        elif head in ("{", "["):
            inner = _skip(text, pos + 1)
            if text[inner : inner + 1] != ("}" if head == "{" else "]"):
                frames.append({} if head == "{" else None)
                pos = _open_member(text, inner, frames[-1])
                continue
            pos = inner + 1
        else:
            _, pos = _value(text, pos)
        while frames:  # past a value: the next member or element, or close the container
            frame = frames[-1]
            more, pos = _after_value(text, pos, "]" if frame is None else "}")
            if more:
                pos = _open_member(text, pos, frame)
                break
            frames.pop()
            if frame is not None:
                found.extend(RepeatedKey(k, tuple(v)) for k, v in frame.items() if len(v) > 1)
        else:
            return found


def _open_member(text: str, pos: int, keys: dict[str, list[int]] | None) -> int:
    """Past the key of the member at ``pos`` (recorded in ``keys``), or at the element (arrays)."""
    if keys is None:
        return pos
    key, after = _key(text, pos)
    keys.setdefault(key, []).append(pos)
    return _skip(text, after)


def member_value(text: str, key_at: int) -> Any:
    """The value of the member whose key is at ``key_at``."""
    _, pos = _key(text, key_at)
    return _value(text, _skip(text, pos))[0]


def _members(text: str, pos: int) -> dict[str, tuple[int, int]]:
    """(offset of the key, offset of the value) of each member of the object at ``pos`` (the last of
    duplicate keys)."""
    members: dict[str, tuple[int, int]] = {}
    pos = _skip(text, pos + 1)
    if text[pos : pos + 1] == "}":
        return members
    while True:
        key_at = pos
        key, pos = _key(text, pos)
        value_at = _skip(text, pos)
        members[key] = (key_at, value_at)
        _, pos = _value(text, value_at)
        more, pos = _after_value(text, pos, "}")
        if not more:
            return members


def _elements(text: str, pos: int) -> list[int]:
    """Offset of each element of the array at ``pos``."""
    elements: list[int] = []
    pos = _skip(text, pos + 1)
    if text[pos : pos + 1] == "]":
        return elements
    while True:
        elements.append(pos)
        _, pos = _value(text, pos)
        more, pos = _after_value(text, pos, "]")
        if not more:
            return elements


def _object(text: str, pos: int) -> tuple[dict[str, Any], tuple[int, int] | None, list[int] | None, int]:
    """The object at ``pos``, the span of its ``items`` array and the offsets of its elements (if
    any), its end."""
    pairs: dict[str, Any] = {}
    items: list[int] | None = None
    span: tuple[int, int] | None = None
    pos = _skip(text, pos + 1)
    if text[pos : pos + 1] == "}":
        return pairs, None, None, pos + 1
    while True:
        key, pos = _key(text, pos)
        pos = _skip(text, pos)
        if key == "items" and text[pos : pos + 1] == "[":
            start = pos
            pairs[key], items, pos = _array(text, pos)
            span = (start, pos)
        else:
            pairs[key], pos = _value(text, pos)
            if key == "items":
                items = span = None  # a later duplicate that is not an array wins
        more, pos = _after_value(text, pos, "}")
        if not more:
            return pairs, span, items, pos


def _array(text: str, pos: int) -> tuple[list[Any], list[int], int]:
    """The array at ``pos``, the offset of each element, its end.

    The elements are scanned one by one for their offsets (and errors), then the array is read
    again in one call: the scanner shares one string per object key within a call only, so values
    read one by one would each hold their own copies of "metadata", "name", "spec"... (100,000
    objects of a ``kubectl get -o json`` dump: 354 MiB instead of 252 MiB, for 0.5 s more)."""
    starts: list[int] = []
    at = _skip(text, pos + 1)
    if text[at : at + 1] == "]":
        return [], starts, at + 1
    while True:
        starts.append(at)
        _, at = _value(text, at)
        more, at = _after_value(text, at, "]")
        if not more:
            break
    values, end = _value(text, pos)
    return values, starts, end


def _after_value(text: str, pos: int, close: str) -> tuple[bool, int]:
    """Past the ',' after a member or element (more follow: True), or past the closing bracket."""
    pos = _skip(text, pos)
    head = text[pos : pos + 1]
    if head == close:
        return False, pos + 1
    if head != ",":
        raise JSONDecodeError("Expecting ',' delimiter", text, pos)
    return True, _skip(text, pos + 1)


def _key(text: str, pos: int) -> tuple[str, int]:
    """The member name at ``pos`` and the offset after its ':'."""
    if text[pos : pos + 1] != '"':
        raise JSONDecodeError("Expecting property name enclosed in double quotes", text, pos)
    key, pos = scanstring(text, pos + 1)
    pos = _skip(text, pos)
    if text[pos : pos + 1] != ":":
        raise JSONDecodeError("Expecting ':' delimiter", text, pos)
    return key, pos + 1


def _value(text: str, pos: int) -> tuple[Any, int]:
    try:
        return _scan_once(text, pos)
    except StopIteration as exc:
        raise JSONDecodeError("Expecting value", text, exc.value) from None


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    assert match is not None
    return match.end()
