"""The YAML key skeleton of a Helm template, for finding the line that produces a rendered field.

A template is not YAML until rendered, but its keys are written at the indentation they render at.
Reading it line by line, keeping a stack of keys by column, gives each key line its key path
(sequence positions dropped, a templated key as ``*``); template actions, comments and the bodies
of block scalars are not keys. Templates holding several documents (``---``) are split into
segments. Best effort by design: a key produced by ``include`` or ``toYaml`` has no line of its own,
and the caller then takes the nearest enclosing key and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_KEY = re.compile(
    r"""^(?P<indent>[ ]*)(?P<dashes>(?:-[ ]+)*)"""
    r"""(?P<key>"[^"]*"|'[^']*'|\{\{.*?\}\}|[^\s:#{'"\-][^:#]*?|-[^\s:#][^:#]*?)[ ]*:(?:[ ]+(?P<value>.*))?$"""
)
_SEPARATOR = re.compile(r"^---(?:\s|$)")
_VALUES_REF = re.compile(r"\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)")
_WITH_VALUES = re.compile(r"\{\{-?\s*(?:with|range)\b")


@dataclass(frozen=True)
class KeyLine:
    line: int  # 1-based line in the template file
    column: int
    keys: tuple[str, ...]  # key path from the document root, "*" for a templated key
    # For each sequence on the way: the position of the item in the template's list, and the line
    # that starts that item (``- name: web``), to match the rendered list index or item name.
    items: tuple[int, ...] = ()
    item_lines: tuple[int, ...] = ()


@dataclass
class Segment:
    """One document of a template file (between ``---`` lines)."""

    start: int  # 1-based line of its first line
    lines: list[str] = field(default_factory=list)
    keys: list[KeyLine] = field(default_factory=list)

    def kind_line(self, kind: str | None) -> int | None:
        for key in self.keys:
            if key.keys == ("kind",) and kind and kind in self.lines[key.line - self.start]:
                return key.line
        return None

    def text_of(self, line: int) -> str:
        return self.lines[line - self.start] if 0 <= line - self.start < len(self.lines) else ""


def index_template(text: str) -> list[Segment]:
    segments = [Segment(start=1)]
    stack: list[_Entry] = []
    items_under: dict[int, int] = {}  # line of a key holding a sequence -> items seen so far
    block_column: int | None = None  # inside a block scalar whose key is at this column
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if _SEPARATOR.match(line):
            segments.append(Segment(start=number + 1))
            stack = []
            block_column = None
            continue
        segment = segments[-1]
        segment.lines.append(raw)
        stripped = line.strip()
        if not stripped:
            continue
        column = len(line) - len(line.lstrip(" "))
        if block_column is not None:
            if column > block_column or stripped.startswith("{{"):
                continue
            block_column = None
        if stripped.startswith("#") or (stripped.startswith("{{") and stripped.endswith("}}")):
            continue
        if stripped == "-" or stripped.startswith("- "):  # a new item: the previous one's keys end
            while stack and stack[-1].column > column:
                stack.pop()
        match = _KEY.match(line)
        if match is None:
            continue
        key_column = len(match.group("indent")) + len(match.group("dashes"))
        key = match.group("key").strip()
        if key.startswith(("'", '"')):
            key = key[1:-1]
        elif "{{" in key:
            key = "*"
        sibling: _Entry | None = None
        while stack and stack[-1].column >= key_column:
            popped = stack.pop()
            if popped.column == key_column:
                sibling = popped
        entry = _Entry(key_column, key, number)
        if match.group("dashes"):  # a new item of the sequence held by the key above
            parent = stack[-1].line if stack else 0
            entry.item = items_under.get(parent, 0)
            entry.item_line = number
            items_under[parent] = entry.item + 1
        elif sibling is not None:  # another key of the same list item
            entry.item, entry.item_line = sibling.item, sibling.item_line
        stack.append(entry)
        starts = [(e.item, e.item_line) for e in stack if e.item is not None]
        segment.keys.append(
            KeyLine(
                number,
                key_column,
                tuple(e.key for e in stack),
                tuple(i for i, _ in starts),
                tuple(n for _, n in starts),
            )
        )
        value = (match.group("value") or "").strip()
        if value[:1] in ("|", ">"):
            block_column = key_column
    return segments


@dataclass
class _Entry:
    column: int
    key: str
    line: int
    item: int | None = None  # position in its sequence when the key belongs to a list item
    item_line: int = 0  # the line that starts that item


@dataclass(frozen=True)
class ValueRefs:
    """The ``.Values`` keys near a template line: on the line itself, in the ``with``/``range`` just
    above it, and in the lines of its block (until a key at its column or left of it)."""

    on_line: tuple[str, ...]
    scope: tuple[str, ...]
    block: tuple[str, ...]
    uses_dot: bool  # the line reads the scope's value: ``{{ toYaml . }}``, ``{{ .repository }}``


def values_refs(segment: Segment, line: int, column: int) -> ValueRefs:
    text = segment.text_of(line)
    on_line = _refs(text)
    block: list[str] = []
    uses_dot = _reads_dot(text)
    for number in range(line + 1, min(line + 16, segment.start + len(segment.lines))):
        below = segment.text_of(number)
        stripped = below.strip()
        if stripped and not stripped.startswith("{{") and len(below) - len(below.lstrip(" ")) <= column:
            break
        block.extend(_refs(below))
        if number == line + 1 and stripped.startswith("{{") and "toYaml ." in stripped:
            uses_dot = True
    scope: list[str] = []
    for number in range(line - 1, max(segment.start - 1, line - 4), -1):
        above = segment.text_of(number)
        if _WITH_VALUES.search(above):
            scope = _refs(above)[:1]
            break
        if not above.strip().startswith("{{"):
            break
    return ValueRefs(tuple(on_line), tuple(scope), tuple(dict.fromkeys(block)), uses_dot)


_ACTION = re.compile(r"\{\{([^{}]*)\}\}")  # linear: no "{{" inside can start a rescan
_DOT = re.compile(r"(?<![\w)\]$.])\.([A-Za-z_]\w*)?")
_BUILTINS = frozenset({"Values", "Release", "Chart", "Capabilities", "Files", "Template", "Subcharts"})


def _reads_dot(text: str) -> bool:
    """Whether a template action on the line reads the current scope (``.`` or ``.field``)."""
    for action in _ACTION.finditer(text):
        for dot in _DOT.finditer(action.group(1)):
            if dot.group(1) not in _BUILTINS:
                return True
    return False


def _refs(text: str) -> list[str]:
    return [m.group(1)[1:] for m in _VALUES_REF.finditer(text)]
