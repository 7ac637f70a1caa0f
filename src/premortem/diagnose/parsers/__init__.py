"""One module per input format. Single-line formats expose ``parse(text, rec) -> bool`` (fill the
record, say whether the line is theirs); block formats (tables, documents, describe output) are
driven by ``premortem.diagnose.reader``, which owns the per-file state."""
