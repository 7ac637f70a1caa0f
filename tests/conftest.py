from __future__ import annotations

import os

import pytest

from premortem.engine import ScanResult, scan
from premortem.load.reader import load_text
from premortem.rules import all_rules
from premortem.settings import Settings
from premortem.triage import triage

os.environ.setdefault("PREMORTEM_STRICT", "1")  # a crashing rule fails the test instead of a finding


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
