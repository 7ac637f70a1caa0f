"""JSON output: one object on stdout. Field names are a contract: extend, never rename."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO


def write_json(payload: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream or sys.stdout
    json.dump(payload, out, indent=2, ensure_ascii=False, default=str)
    out.write("\n")
