"""The README's rules table lists every scan rule, with its current severity."""

from pathlib import Path

from premortem.rules import all_rules

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_rule_is_in_the_readme_table():
    for rule in all_rules():
        assert f"| {rule.id} | {rule.name} | {rule.category} | {rule.severity.label} |" in README, rule.id
