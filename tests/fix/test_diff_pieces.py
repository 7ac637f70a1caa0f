"""The diff of a big fixed file is computed piece by piece; it is still a diff that turns the
original into the fixed text (applied here line by line), and small files get difflib's own."""

from __future__ import annotations

import difflib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from premortem.fix import diff


def _patch(a: list[str], hunks: list[str]) -> list[str]:
    """Apply a unified diff (as produced here) to ``a``."""
    out: list[str] = []
    at = 0
    for line in hunks[2:]:
        header = re.match(r"@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@", line)
        if header:
            start = int(header.group(1)) - (0 if header.group(2) == "0" else 1)
            out.extend(a[at:start])
            at = start
        elif line.startswith(" "):
            assert a[at] == line[1:]
            out.append(line[1:])
            at += 1
        elif line.startswith("-"):
            assert a[at] == line[1:]
            at += 1
        elif line.startswith("+"):
            out.append(line[1:])
    return out + a[at:]


def _document(k: int, value: str) -> list[str]:
    return [
        "---\n",
        "apiVersion: v1\n",
        "kind: ConfigMap\n",
        f"metadata: {{name: c{k}}}\n",
        "data:\n",
        f"  a: {value}\n",
    ]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=900), st.booleans())
def test_piecewise_diff_turns_the_original_into_the_fixed_text(changes, as_list):
    a: list[str] = []
    b: list[str] = []
    for k, (changed, added) in enumerate(changes):
        before = _document(k, "1")
        after = _document(k, "2" if changed else "1") + (["  b: new\n"] if added else [])
        if as_list:
            before, after = (
                ["- " + before[1], *("  " + x for x in before[2:])],
                ["- " + after[1], *("  " + x for x in after[2:])],
            )
        a += before
        b += after
    lines = list(diff.unified_diff(a, b, "a/f", "b/f"))
    if a == b:
        assert lines == []
    else:
        assert _patch(a, lines) == b


def test_small_files_get_difflibs_diff():
    a = _document(0, "1") + _document(1, "1")
    b = _document(0, "2") + _document(1, "1")
    assert list(diff.unified_diff(a, b, "a/f", "b/f")) == list(difflib.unified_diff(a, b, "a/f", "b/f"))
