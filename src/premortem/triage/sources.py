"""The text of every file read, for comment suppressions (only files that mention premortem are kept)."""

from __future__ import annotations

from collections.abc import Iterable, Set

from premortem.load.document import Document, NodeRef
from premortem.load.files import InputError, read_file_text

STDIN_NAME = "<stdin>"
MARK = "premortem:"


def source_texts(
    files: Iterable[str], documents: list[Document], may_suppress: Set[str] | None = None
) -> dict[str, str]:
    """File -> text of the ``files`` (``-``: stdin) that hold the comment marker. ``may_suppress``:
    the loader's record of the files that may hold a suppression (LoadResult.may_suppress); only
    those are read. Without it, every file is read."""
    texts: dict[str, str] = {}
    for path in files:
        if path == "-":
            if may_suppress is not None and STDIN_NAME not in may_suppress:
                continue
            doc = next((d for d in documents if d.file == STDIN_NAME and isinstance(d.node, NodeRef)), None)
            text = doc.node.source.stream_text() if doc is not None else None
            if text and MARK in text:
                texts[STDIN_NAME] = text
            continue
        if may_suppress is not None and path not in may_suppress:
            continue
        try:  # the loader's bounded reader: no FIFO is opened, no file beyond the size cap read
            text = read_file_text(path)
        except (OSError, InputError, UnicodeDecodeError):
            continue  # reported by the loader already
        if MARK in text:
            texts[path] = text
    return texts
