"""The text of every file read, for comment suppressions (only files that mention premortem are kept)."""

from __future__ import annotations

from premortem.load.document import Document, NodeRef

STDIN_NAME = "<stdin>"
MARK = b"premortem:"


def source_texts(files: list[str], documents: list[Document]) -> dict[str, str]:
    texts: dict[str, str] = {}
    for path in files:
        if path == "-":
            doc = next((d for d in documents if d.file == STDIN_NAME and isinstance(d.node, NodeRef)), None)
            text = doc.node.source.stream_text() if doc is not None else None
            if text and "premortem:" in text:
                texts[STDIN_NAME] = text
            continue
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError:
            continue  # reported by the loader already
        if MARK in raw:
            texts[path] = raw.decode("utf-8-sig", errors="replace")
    return texts
