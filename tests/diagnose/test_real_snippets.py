"""The real-snippet suite (tests/diagnose/real/): evidence pasted into public issues, judged against
the conclusions written for it before the tool was run. See realsuite.py for the sidecar format."""

from __future__ import annotations

import pytest

from .realsuite import problems, snippets


def test_the_suite_has_at_least_sixty_cited_snippets():
    found = snippets()
    assert len(found) >= 60
    assert all(s.meta.get("source") for s in found)


@pytest.mark.parametrize("snippet", snippets(), ids=lambda s: s.name)
def test_sidecar_is_well_formed(snippet):
    assert problems(snippet) == []
