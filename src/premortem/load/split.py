"""Where a big ``kind: List`` in block YAML can be cut into batches of items, found in its text.

``kubectl get ... -A -o yaml`` prints one document: a List whose ``items`` hold every object of the
cluster. Composed whole, its node tree weighs several times the objects (2 GB for 100,000 items);
composed a few hundred items at a time, it weighs a batch. This module only reads the layout from
the text with regular expressions (no parsing): the ``items:`` key at the top level, the column of
its ``- `` entries, the line where each entry starts and the line that ends the sequence. The loader
parses each batch on its own and checks that it holds exactly the entries found here, so a layout
read wrong is a fallback to parsing the whole document, never a different answer.

Why cutting at entry lines is sound: in block YAML, a line that starts at the column of a sequence's
``- `` indicators (or further left) ends every block scalar and plain scalar of the entry above it,
whose content must be indented more. Only quoted scalars and flow collections may continue on such a
line, and cutting there leaves an unterminated quote or bracket in the batch before: a parse error.
Documents with directives, several documents, or anchors (an alias may reach across entries, and
Go's alias limits count per document) are not cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Below this size a List is parsed whole (its node tree is small).
SPLIT_MIN_CHARS = 1 << 20
ITEMS_PER_BATCH = 256

# Patterns start with a newline, not ``^`` in MULTILINE mode: a literal prefix lets the regular
# expression engine skip ahead instead of trying every position (five times faster on a dump).
_ITEMS_KEY = re.compile(r"\nitems:[ \t\r]*(?:#[^\n]*)?(?=\n)")
_ITEMS_FIRST_LINE = re.compile(r"items:[ \t\r]*(?:#[^\n]*)?(?=\n)")
_ENTRY_LINE = re.compile(r"(?<! )( *)-(?=[ \t\r\n]|$)")  # (?<! ): linear when searched
_OTHER_DOCUMENTS = re.compile(r"\n(?:%|---|\.\.\.)")
_ANCHOR_BEFORE = frozenset(" \t\n[{,")
_ANCHOR_NAME_END = frozenset(" \t\r\n,[]{}")


@dataclass(frozen=True, slots=True)
class Batch:
    """Entries ``first`` .. ``first + count - 1`` of ``items``: characters [start, end) of the text,
    which begin at (0-based) line ``line``."""

    start: int
    end: int
    line: int
    first: int
    count: int


@dataclass(frozen=True, slots=True)
class ListLayout:
    header: str  # the document with its entries left out: ``items:`` then has no value
    batches: list[Batch]


def list_layout(text: str, per_batch: int | None = None) -> ListLayout | None:
    """The batches of a one-document block-style List (``per_batch`` entries each, default
    ``ITEMS_PER_BATCH``), or None when the text is not one (or when cutting it could change what it
    means)."""
    per_batch = per_batch or ITEMS_PER_BATCH
    if text.startswith("%") or _OTHER_DOCUMENTS.search(text) or _has_anchor(text):
        return None
    # Where the line after ``items:`` starts (the key may be on the first line).
    after_key = [m.end() + 1 for m in _ITEMS_KEY.finditer(text)]
    on_first_line = _ITEMS_FIRST_LINE.match(text)
    if on_first_line is not None:
        after_key.append(on_first_line.end() + 1)
    if len(after_key) != 1:
        return None
    region_start = _first_entry(text, after_key[0])
    if region_start is None:
        return None
    first = _ENTRY_LINE.match(text, region_start)
    assert first is not None
    indent = len(first.group(1))
    entry = re.compile("\n" + " " * indent + r"-(?=[ \t\r\n])")
    ending = re.compile(
        "\n(?:"
        + "".join(" " * k + "[^ \t\r\n#]|" for k in range(indent))
        + " " * indent
        + r"(?:[^ \t\r\n#-]|-[^ \t\r\n]))"
    )
    end_match = ending.search(text, region_start - 1)
    region_end = end_match.start() + 1 if end_match is not None else len(text)
    starts = [region_start] + [m.start() + 1 for m in entry.finditer(text, region_start, region_end)]
    batches: list[Batch] = []
    line = text.count("\n", 0, region_start)
    at = region_start
    for first_entry in range(0, len(starts), per_batch):
        start = starts[first_entry]
        line += text.count("\n", at, start)
        at = start
        following = first_entry + per_batch
        end = starts[following] if following < len(starts) else region_end
        batches.append(Batch(start, end, line, first_entry, min(per_batch, len(starts) - first_entry)))
    return ListLayout(text[:region_start] + text[region_end:], batches)


def _first_entry(text: str, at: int) -> int | None:
    """Where the line of the first ``-`` entry after ``at`` starts (blank and comment lines skipped),
    or None when the next other line is not an entry."""
    while at < len(text):
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        content = text[at:end].strip(" \t\r")
        if content and not content.startswith("#"):
            return at if _ENTRY_LINE.match(text, at) is not None else None
        at = end + 1
    return None


def _has_anchor(text: str) -> bool:
    """An anchor (``&name`` after a space, a line start or a flow indicator) anywhere in the text."""
    at = text.find("&")
    while at >= 0:
        before = text[at - 1] if at else "\n"
        after = text[at + 1 : at + 2]
        if before in _ANCHOR_BEFORE and after and after not in _ANCHOR_NAME_END:
            return True
        at = text.find("&", at + 1)
    return False


# Below this size a multi-document file is parsed by one process (more would cost more than it saves).
PIECES_MIN_CHARS = 4 << 20
_DOCUMENT_START = re.compile(r"\n---(?=[ \t\r\n]|$)")


@dataclass(frozen=True, slots=True)
class Piece:
    """Whole documents of a multi-document stream: characters [start, end) of the text, which begin
    at (0-based) line ``line``."""

    start: int
    end: int
    line: int
    number: int  # of the piece in the file, from 0


def document_pieces(text: str, pieces: int, min_chars: int = PIECES_MIN_CHARS) -> list[Piece] | None:
    """``text`` cut at ``---`` lines into about ``pieces`` pieces of whole documents, to be parsed
    apart; None when it is too small, holds directives, or has no ``---`` line to cut at.

    Why cutting at ``---`` lines is sound: a line that starts with ``---`` followed by a space, a tab
    or the line's end is a document marker wherever it stands (YAML 1.2 section 9.1.1: no scalar may
    hold one at the start of a line), and anchors and aliases never reach across documents. A
    ``%YAML``/``%TAG`` directive applies to the document after it, so a text with one is not cut."""
    if len(text) < min_chars or pieces < 2 or text.startswith("%") or "\n%" in text:
        return None
    cuts: list[int] = []
    for number in range(1, pieces):
        match = _DOCUMENT_START.search(text, max(len(text) * number // pieces, cuts[-1] if cuts else 0))
        if match is None:
            break
        if not cuts or match.start() + 1 > cuts[-1]:
            cuts.append(match.start() + 1)
    if not cuts:
        return None
    out: list[Piece] = []
    line = 0
    at = 0
    for number, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(text)], strict=True)):
        line += text.count("\n", at, start)
        at = start
        out.append(Piece(start, end, line, number))
    return out
