"""Unified diffs of fixed files that stay fast on files of a hundred thousand lines.

``difflib.unified_diff`` compares the two files whole; its longest-match search grows much faster
than the file when a big file has edits all over it (a cluster dump with a fix in every object: most
of ``premortem fix``'s time). A fix never adds or removes a document separator (``---``) or a line
that starts an item at column 0 (a ``kind: List`` dump's ``- ``), so both files are cut at those
lines, each pair of pieces is compared on its own (any pairing gives a correct diff; this one gives
difflib's hunks wherever the edits stay inside pieces), and the hunks are formatted as difflib
formats them. Small files, and files with different numbers of cut lines, are compared whole.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from typing import Literal

# Below this many lines (both files together) difflib compares the files whole.
WHOLE_BELOW_LINES = 4000

Opcode = tuple[Literal["replace", "delete", "insert", "equal"], int, int, int, int]


def unified_diff(a: Sequence[str], b: Sequence[str], fromfile: str, tofile: str, n: int = 3) -> Iterator[str]:
    """The lines of a unified diff from ``a`` to ``b`` (lines with their endings), as
    ``difflib.unified_diff`` writes them."""
    if len(a) + len(b) < WHOLE_BELOW_LINES:
        yield from difflib.unified_diff(a, b, fromfile=fromfile, tofile=tofile, n=n)
        return
    matcher = difflib.SequenceMatcher(None, a, b)
    matcher.opcodes = _opcodes(a, b)  # type: ignore[attr-defined]  # get_grouped_opcodes() groups these
    started = False
    for group in matcher.get_grouped_opcodes(n):
        if not started:
            started = True
            yield f"--- {fromfile}\n"
            yield f"+++ {tofile}\n"
        first, last = group[0], group[-1]
        yield f"@@ -{_range(first[1], last[2])} +{_range(first[3], last[4])} @@\n"
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                yield from (" " + line for line in a[i1:i2])
                continue
            if tag in ("replace", "delete"):
                yield from ("-" + line for line in a[i1:i2])
            if tag in ("replace", "insert"):
                yield from ("+" + line for line in b[j1:j2])


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[Opcode]:
    """difflib's opcodes for the whole files, computed piece by piece between the cut lines."""
    cuts_a, cuts_b = _cuts(a), _cuts(b)
    if len(cuts_a) != len(cuts_b):  # (a cut line may change, as a renamed first key: still a pair)
        return difflib.SequenceMatcher(None, a, b).get_opcodes()
    bounds_a, bounds_b = [0, *cuts_a, len(a)], [0, *cuts_b, len(b)]
    out: list[Opcode] = []
    for k in range(len(bounds_a) - 1):
        a0, a1, b0, b1 = bounds_a[k], bounds_a[k + 1], bounds_b[k], bounds_b[k + 1]
        pieces: list[Opcode]
        if a[a0:a1] == b[b0:b1]:
            pieces = [("equal", 0, a1 - a0, 0, b1 - b0)]
        else:
            pieces = difflib.SequenceMatcher(None, a[a0:a1], b[b0:b1]).get_opcodes()
        for tag, i1, i2, j1, j2 in pieces:
            if i1 == i2 and j1 == j2:
                continue
            if tag == "equal" and out and out[-1][0] == "equal":
                previous = out.pop()
                out.append(("equal", previous[1], i2 + a0, previous[3], j2 + b0))
            else:
                out.append((tag, i1 + a0, i2 + a0, j1 + b0, j2 + b0))
    return out or [("equal", 0, 0, 0, 0)]


def _cuts(lines: Sequence[str]) -> list[int]:
    """Lines a fix never adds or removes: document separators, items at column 0."""
    return [i for i, line in enumerate(lines) if line.startswith(("---", "- ")) or line.rstrip("\r\n") == "-"]


def _range(start: int, stop: int) -> str:
    """A hunk's line range as unified diffs write it (1-based start, length unless it is 1)."""
    beginning, length = start + 1, stop - start
    if length == 1:
        return str(beginning)
    if not length:
        beginning -= 1
    return f"{beginning},{length}"
