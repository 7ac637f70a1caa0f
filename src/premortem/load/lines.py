"""Line numbers kept from the first parse: one number per edge of the object, in document order.

A finding names a path (``spec.template.spec.containers[0].resources``) and wants the line of that
key. Keeping the parser's node trees would cost several times the objects; composing a document
again for each document with findings cost an eighth of a scan. So the constructor records, while
it builds the object, the line of every edge in pre-order: for a mapping entry the line of its key,
for a sequence item the line of the item, then the edges inside it. An array of 32-bit numbers per
document (about 400 bytes for a Deployment) is all that is kept.

A path is found by walking the object alongside: the edges of a container's children are contiguous,
each child followed by the edges inside it, so skipping a child skips one plus the number of edges
inside it (counted from the object, remembered per container). The table is only recorded when the
object mirrors the document node for node: every key a string, no key written twice, no alias, no
merge key (else line look-ups compose the document again, as before).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

Table = array  # array("I")


def make_table(lines: list[int], offset: int = 0) -> Table:
    """The table of lines recorded for a document whose marks count from line ``offset``."""
    return array("I", [line + offset for line in lines] if offset else lines)


def inner_edges(value: Any, memo: dict[int, int]) -> int:
    """Edges inside ``value`` (entries and items, at every depth)."""
    children: Iterable[Any]
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, list):
        children = value
    else:
        return 0
    found = memo.get(id(value))
    if found is None:
        found = len(value)  # an edge per entry or item, then the edges inside those that have some
        for child in children:
            if isinstance(child, (dict, list)) and child:  # a tuple: faster than dict | list here
                found += inner_edges(child, memo)
        memo[id(value)] = found
    return found


def item_tables(table: Table, items: list[Any], first: int) -> list[tuple[int, Table]] | None:
    """For each item of a sequence whose first item's edge is at ``first``: (the item's own line,
    the table of the edges inside it); None when the table is too short (it does not mirror)."""
    memo: dict[int, int] = {}
    out: list[tuple[int, Table]] = []
    at = first
    for item in items:
        size = inner_edges(item, memo)
        if at + 1 + size > len(table):
            return None
        out.append((table[at], table[at + 1 : at + 1 + size]))
        at += 1 + size
    return out


def items_start(table: Table, data: dict[str, Any], memo: dict[int, int]) -> int | None:
    """Edge index of the first item of ``data["items"]`` (a List document's table)."""
    at = 0
    for key, value in data.items():
        if key == "items":
            return at + 1
        at += 1 + inner_edges(value, memo)
    return None


def line_of(table: Table, obj: Any, path: Sequence[str | int], line: int, memo: dict[int, int]) -> int | None:
    """Line (1-based) of the deepest node of ``path`` that exists, as composing the document would
    give it (``line``, the object's own, when the path names nothing in it); None when the table
    does not fit the object (then the caller composes the document)."""
    node = obj
    at = 0  # edge index of the current container's first child
    for part in path:
        if isinstance(node, dict) and isinstance(part, str):
            edge = at
            for key, value in node.items():
                if key == part:
                    break
                edge += 1 + inner_edges(value, memo)
            else:
                return line
            child = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            if not 0 <= part < len(node):
                return line
            edge = at
            for value in node[:part]:
                edge += 1 + inner_edges(value, memo)
            child = node[part]
        else:
            return line
        if edge >= len(table):
            return None
        line = table[edge] + 1
        node, at = child, edge + 1
    return line
