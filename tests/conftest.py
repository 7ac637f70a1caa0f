from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from premortem.engine import ScanResult, scan
from premortem.load.reader import load_text
from premortem.rules import all_rules
from premortem.settings import Settings
from premortem.triage import triage

os.environ.setdefault("PREMORTEM_STRICT", "1")  # a crashing rule fails the test instead of a finding

ROOT = Path(__file__).resolve().parent.parent


def run_cli(
    *args: str,
    cwd: Path = ROOT,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """``premortem ARGS`` as users run it: a subprocess in ``cwd`` (default: the repository), with
    ``env`` added to this process's environment."""
    return subprocess.run(
        [sys.executable, "-m", "premortem", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **env} if env else None,
        check=False,
        timeout=timeout,
    )


def scan_yaml(text: str, name: str = "test.yaml", options: dict | None = None) -> ScanResult:
    """Scan ``text`` as the CLI does, suppressions (annotations, comments) included."""
    rules = all_rules()
    result = scan(load_text(text, name), rules, options)
    ran = {k for r in rules for k in (r.id, r.category)}
    result.findings = triage(result.findings, Settings(), result.documents, {name: text}, ran).findings
    return result


def rule_ids(result: ScanResult) -> list[str]:
    return [f.rule for f in result.findings]


def raised_ids(result: ScanResult) -> list[str]:
    """Rules that fired, counting those folded into another rule's finding (one root cause)."""
    return [*rule_ids(result), *(a["rule"] for f in result.findings for a in f.extra.get("absorbed", ()))]


@pytest.fixture
def scan_text():
    return scan_yaml


def object_paths(obj: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into ``obj`` (mapping keys as strings, sequence positions), ``()`` first."""
    out = [prefix]
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += object_paths(value, (*prefix, str(key)))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            out += object_paths(value, (*prefix, index))
    return out


def manifest_objects(keys: Any, scalars: Any, max_leaves: int = 12) -> Any:
    """A hypothesis strategy for small objects: apiVersion, kind and nested data of these keys and
    scalars (for laws about loading, not about Kubernetes semantics)."""
    values = st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3), st.dictionaries(keys, children, max_size=3)
        ),
        max_leaves=max_leaves,
    )
    return st.fixed_dictionaries(
        {"apiVersion": st.just("v1"), "kind": st.sampled_from(["ConfigMap", "Pod"])},
        optional={"data": values, "spec": values, "metadata": st.dictionaries(keys, scalars, max_size=3)},
    )
