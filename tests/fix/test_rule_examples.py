"""Every fixer against its real rule: the rule's documented failing examples are fixed (the rule no
longer fires, a second run changes nothing) or get an explanation; passing examples are not touched."""

from __future__ import annotations

import pytest

from fix.helpers import fix_run, rules_found
from premortem.fix.registry import all_fixers
from premortem.rules import all_rules

FIXABLE = [r for r in all_rules() if r.id in all_fixers()]


@pytest.mark.parametrize("rule", FIXABLE, ids=lambda r: r.id)
def test_failing_examples_are_fixed_or_explained(rule):
    for example in rule.examples()[0]:
        assert rule.id in rules_found(example)
        run = fix_run({"ex.yaml": example}, (rule.id,), unsafe=True)  # other rules' fixers may edit it too
        outcomes = [o for o in run.outcomes if o.finding.rule == rule.id]
        assert outcomes, f"{rule.id}: the fixer said nothing"
        fixed = run.files[0].fixed
        if any(o.status == "fixed" for o in outcomes):
            assert rule.id not in rules_found(fixed), f"{rule.id} still fires after the fix:\n{fixed}"
            again = fix_run({"ex.yaml": fixed}, (rule.id,), unsafe=True)
            assert again.files[0].fixed == fixed, "a second fix run changed the file again"
        else:
            assert fixed == example
            assert all(o.status in ("not-fixable", "held") for o in outcomes)
            assert all(o.message for o in outcomes)


@pytest.mark.parametrize("rule", FIXABLE, ids=lambda r: r.id)
def test_passing_examples_are_not_touched(rule):
    for example in rule.examples()[1]:
        run = fix_run({"ex.yaml": example}, (rule.id,), unsafe=True)
        assert run.files[0].fixed == example
