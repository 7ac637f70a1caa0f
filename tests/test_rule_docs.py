"""Every rule's documentation is complete, and its examples are executed: the failing example must
raise the rule, the passing example must not."""

from __future__ import annotations

import pytest

from conftest import raised_ids, scan_yaml
from premortem.findings import CATEGORIES
from premortem.rules import all_rules

RULES = all_rules()
SECTIONS = (
    "## What it checks",
    "## Why it breaks clusters",
    "## Failing example",
    "## Passing example",
    "## Fix",
    "## Source",
)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_documentation_is_complete(rule):
    for section in SECTIONS:
        assert section in rule.doc, f"{rule.id} documentation lacks {section}"
    failing, passing = rule.examples()
    assert failing, f"{rule.id} has no failing example"
    assert passing, f"{rule.id} has no passing example"
    assert rule.category in CATEGORIES


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_failing_example_fires(rule):
    if rule.id == "INP005":
        pytest.skip("raised only when a rule fails (tests/hostile/test_no_silent_loss.py)")
    for example in rule.examples()[0]:
        assert rule.id in raised_ids(scan_yaml(example)), f"{rule.id}: failing example did not fire"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_passing_example_is_clean_for_the_rule(rule):
    for example in rule.examples()[1]:
        result = scan_yaml(example)
        assert rule.id not in raised_ids(result), f"{rule.id}: passing example fired: {result.findings}"


def test_rule_ids_and_names_are_unique():
    assert len({r.id for r in RULES}) == len(RULES)
    assert len({r.name for r in RULES}) == len(RULES)
