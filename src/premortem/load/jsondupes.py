"""Keys written twice in a JSON manifest (``INP004``), found without slowing the JSON reader down.

**What clients do.** Go's JSON decoder keeps the last value of a repeated key without a word, and
kubectl reads a JSON manifest with it (``unstructured.UnstructuredJSONScheme`` decodes into a map)
before it sends anything, so the first value is dropped silently. The API server sees the repeat
only in a body sent as written; there, server-side field validation (KEP-2885, on since 1.25)
answers ``duplicate field "spec.replicas"``: a warning by default (``fieldValidation=Warn``), a
refused request with ``fieldValidation=Strict``. premortem reads JSON the same way (last wins) and
reports every repeat with both lines and values.

**How it stays cheap.** The json module's C scanner builds plain dicts and says nothing about
repeats (an ``object_pairs_hook`` would, at a high price). The law used instead: a text holds at
least as many keys as the objects read from it hold entries, the same number exactly when no object
repeats a key. Every key ends with ``":`` (or ``"``, whitespace, ``:``), so the keys are counted with
``str.count`` over the text: a ``":`` inside a string has an escaped quote (an odd run of
backslashes before it) and is subtracted; a quote followed by whitespace and a colon anywhere sends
the text to the exact walk. The entries are counted with one walk over the parsed values. Only when
the counts differ is the text walked key by key (``jsonpos.repeated_keys``), and for a List only the
items whose own counts differ, plus the List's own members.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from premortem.load.jsonpos import JsonDocument, RepeatedKey, member_value, repeated_keys
from premortem.load.limits import InputProblem, duplicate_key_problem
from premortem.redact import MASK, names_secret, shorten

JSON_DUPLICATE_OUTCOME = (
    "Most JSON decoders keep the last value without a word: kubectl's (Go's encoding/json) does, so the "
    "first value is dropped and what runs is not what a reviewer read. The API server flags it only "
    'in a body sent as written ("duplicate field", a warning by default, a refused request with '
    "fieldValidation=Strict)."
)

# A colon after whitespace (searched from the colons, fewer than the quotes), then a quote, whitespace
# and a colon: a key the count of '":' misses.
_SPACED_COLON = re.compile(r":(?<=[ \t\n\r]:)")
_SPACED_KEY = re.compile(r'"[ \t\n\r]+:')


def duplicate_key_problems(text: str, document: JsonDocument) -> list[tuple[int | None, InputProblem]]:
    """One INP004 per key written more than once in an object of ``document`` (read from ``text``),
    each with the index of the List item or array element it is in (None: outside them), by line."""
    value = document.value
    if not _may_repeat(text, document.start, len(text), entries(value)):
        return []
    found: list[tuple[int | None, list[RepeatedKey], bool]] = []
    elements = document.elements
    if elements is None:
        found.append((None, repeated_keys(text, document.start), _is_secret(value)))
    else:
        items = value["items"] if document.in_items else value
        last_end = document.items_span[1] if document.items_span is not None else len(text)
        ends = [*elements[1:], last_end]
        for index, (start, end, item) in enumerate(zip(elements, ends, items, strict=True)):
            if _may_repeat(text, start, end, entries(item)):
                found.append((index, repeated_keys(text, start), _is_secret(item)))
        if document.in_items:  # the List's own members, outside its items
            found.append((None, repeated_keys(text, document.start, document.items_span), False))
    return _problems(text, found)


def entries(value: Any) -> int:
    """The number of members of every object in ``value``."""
    try:
        return _entries((value,))
    except RecursionError:  # nested deeper than Python's stack allows: the same count, with a stack
        return _entries_walk(value)


def _entries(values: Iterable[Any]) -> int:
    # Recursive: calls are cheaper than a stack of pending values (measured on a 100,000-object List).
    total = 0
    for value in values:
        kind = type(value)
        if kind is dict:
            total += len(value) + _entries(value.values())
        elif kind is list:
            total += _entries(value)
    return total


def _entries_walk(value: Any) -> int:
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is dict:
            total += len(item)
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return total


def _may_repeat(text: str, start: int, end: int, entries: int) -> bool:
    """False when ``text[start:end]`` holds exactly ``entries`` keys, the entries of the objects read
    from it, so no object repeats a key; True when it may (then the text is walked key by key)."""
    if _SPACED_COLON.search(text, start, end) and _SPACED_KEY.search(text, start, end):
        return True  # a key not followed directly by ':' (or a string holding '\" :'): not counted
    keys = text.count('":', start, end)
    if keys > entries:  # some '":' may be inside strings: those have an escaped quote
        keys -= _escaped_quote_colons(text, start, end)
    return keys != entries


def _escaped_quote_colons(text: str, start: int, end: int) -> int:
    """How many ``":`` of ``text[start:end]`` have an escaped quote: an odd run of backslashes before
    it (runs of at least 1, minus at least 2, plus at least 3...)."""
    total = 0
    sign = 1
    run = 1
    while True:
        found = text.count("\\" * run + '":', start, end)
        if not found:
            return total
        total += sign * found
        sign = -sign
        run += 1


def _is_secret(value: Any) -> bool:
    return type(value) is dict and value.get("kind") == "Secret"


def _problems(
    text: str, found: list[tuple[int | None, list[RepeatedKey], bool]]
) -> list[tuple[int | None, InputProblem]]:
    repeats = [(index, repeat, secret) for index, repeats, secret in found for repeat in repeats]
    lines = _lines(text, {o for _, r, _ in repeats for o in (r.offsets[0], r.offsets[-1])})
    problems: list[tuple[int | None, InputProblem]] = []
    for index, repeat, secret in repeats:
        first, last = repeat.offsets[0], repeat.offsets[-1]
        hide = secret or names_secret(repeat.key)
        problem = duplicate_key_problem(
            repeat.key,
            len(repeat.offsets),
            (lines[first], MASK if hide else shorten(member_value(text, first), 60)),
            (lines[last], MASK if hide else shorten(member_value(text, last), 60)),
            container="JSON object",
            outcome=JSON_DUPLICATE_OUTCOME,
        )
        problems.append((index, problem))
    problems.sort(key=lambda pair: pair[1].line)
    return problems


def _lines(text: str, offsets: set[int]) -> dict[int, int]:
    """The 1-based line of each offset, counting newlines once over the text."""
    lines: dict[int, int] = {}
    at, line = 0, 1
    for offset in sorted(offsets):
        line += text.count("\n", at, offset)
        at = offset
        lines[offset] = line
    return lines
