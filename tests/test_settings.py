"""The settings object and rule parameters: a rule reads its threshold from the scan's settings."""

from __future__ import annotations

from premortem.findings import Severity
from premortem.rules.registry import Param, Rule
from premortem.settings import Settings, current, use_settings


def _rule(**params: Param) -> Rule:
    return Rule(
        id="TST001",
        name="test-rule",
        category="input",
        severity=Severity.LOW,
        title="t",
        doc="",
        check=lambda doc: [],
        scope="object",
        params=dict(params),
    )


def test_param_default_outside_a_scan() -> None:
    rule = _rule(limit=Param(5, "seconds"))
    assert rule.param("limit") == 5


def test_param_from_active_settings_and_restored() -> None:
    rule = _rule(limit=Param(5, "seconds"))
    with use_settings(Settings(params={"TST001": {"limit": 30}})):
        assert rule.param("limit") == 30
    assert rule.param("limit") == 5


def test_default_settings() -> None:
    assert current() == Settings()
