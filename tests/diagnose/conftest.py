from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from premortem.diagnose import Result, diagnose

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., Result]:
    """Diagnose ``text`` written to a file (the name matters only for evidence)."""

    def _run(text: str, name: str = "evidence.log", **kw: object) -> Result:
        path = tmp_path / name
        path.write_text(text)
        return diagnose([str(path)], **kw)  # type: ignore[arg-type]

    return _run
