"""Fixtures for the fix tests."""

from __future__ import annotations

import os

os.environ.setdefault("PREMORTEM_STRICT", "1")
