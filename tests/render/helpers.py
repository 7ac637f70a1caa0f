"""Running the CLI on the render fixtures, and finding the real Helm and kubectl the tests use."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REL = os.path.relpath(FIXTURES, ROOT)  # fixture paths as a user in the repository would type them


def tool(name: str) -> str | None:
    """A renderer where the CLI looks for it: on PATH, else beside this Python (make test puts helm
    into .venv/bin)."""
    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if os.access(beside, os.X_OK) else None)


needs_helm = pytest.mark.skipif(
    tool("helm") is None, reason="helm not installed (make test fetches it: scripts/install-render-tools.sh)"
)
needs_kubectl = pytest.mark.skipif(
    tool("kubectl") is None and tool("kustomize") is None,
    reason="neither kubectl nor kustomize installed (make test: scripts/install-render-tools.sh)",
)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=ROOT, stdin=stdin)


def scan_json(*args: str) -> tuple[int, dict[str, Any], str]:
    out = run("scan", *args, "--format", "json")
    assert "Traceback" not in out.stderr, out.stderr
    return out.returncode, json.loads(out.stdout), out.stderr


def findings(report: dict[str, Any], rule: str | None = None) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if rule is None or f["rule"] == rule]
