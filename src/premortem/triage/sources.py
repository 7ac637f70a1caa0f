"""The text of every file read, for comment suppressions (only files that mention premortem are kept)."""

from __future__ import annotations

from premortem.load.document import Document, NodeRef
from premortem.load.files import InputError, read_file_text

STDIN_NAME = "<stdin>"
MARK = "premortem:"


def source_texts(files: list[str], documents: list[Document]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in files:
        if path == "-":
            doc = next((d for d in documents if d.file == STDIN_NAME and isinstance(d.node, NodeRef)), None)
            text = doc.node.source.stream_text() if doc is not None else None
            if text and "premortem:" in text:
                texts[STDIN_NAME] = text
            continue
        try:  # the loader's bounded reader: no FIFO is opened, no file beyond the size cap read
            text = read_file_text(path)
        except (OSError, InputError, UnicodeDecodeError):
            continue  # reported by the loader already
        if MARK in text:
            texts[path] = text
    return texts
