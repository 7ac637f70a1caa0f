"""Reconstructions of public Kubernetes post-mortems (k8s.af) scanned as a user would.

Each directory beside this file is one story: ``broken/`` holds the configuration as the team
most likely had it, ``fixed/`` the same configuration corrected, ``README.md`` the source and the
reasoning, and ``expect.yaml`` what a competent reviewer expects premortem to say:

    args: [--kubernetes-version, "1.24"]      # extra scan options (optional)
    expect:                                   # findings the broken version must raise
      - rule: DNS001                          # a rule id (absorbed findings count)
        object: Deployment kube-system/coredns
        severity: [high, critical]            # the accepted band
        miss: why premortem cannot see it yet # optional: a known miss (strict xfail)
    must_not:                                 # findings that would be false alarms, in both versions
      - rule: PRB001
        object: Deployment shop/api           # optional: any object when left out

The fixed version must pass: none of the expected findings, and nothing at ``high`` or above.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from premortem.cli.scan import scan

HERE = Path(__file__).parent
STORIES = sorted(p.name for p in HERE.iterdir() if (p / "expect.yaml").is_file())
BLOCKING = {"critical", "high"}


@dataclass(frozen=True)
class Expected:
    rule: str
    object: str | None = None
    severity: tuple[str, ...] = ()
    miss: str | None = None


@dataclass
class Story:
    name: str
    args: list[str] = field(default_factory=list)
    expect: list[Expected] = field(default_factory=list)
    must_not: list[Expected] = field(default_factory=list)


def _expected(raw: dict[str, Any]) -> Expected:
    band = raw.get("severity", ())
    return Expected(
        rule=raw["rule"],
        object=raw.get("object"),
        severity=tuple([band] if isinstance(band, str) else band),
        miss=raw.get("miss"),
    )


@cache
def story(name: str) -> Story:
    raw = yaml.safe_load((HERE / name / "expect.yaml").read_text())
    return Story(
        name=name,
        args=[str(a) for a in raw.get("args", [])],
        expect=[_expected(e) for e in raw.get("expect", [])],
        must_not=[_expected(e) for e in raw.get("must_not", [])],
    )


@cache
def findings(name: str, version: str) -> tuple[dict[str, Any], ...]:
    """The findings of one version of a story, each absorbed finding as one more entry."""
    path = HERE / name / version
    result = CliRunner().invoke(
        scan, [str(path), "--no-config", "--format", "json", "--fail-on", "never", *story(name).args]
    )
    assert result.exit_code == 0, result.output
    out: list[dict[str, Any]] = []
    for finding in json.loads(result.output)["findings"]:
        out.append(finding)
        for absorbed in finding.get("absorbed", ()):
            out.append({**finding, "rule": absorbed["rule"], "severity": finding["severity"]})
    return tuple(out)


def object_name(finding: dict[str, Any]) -> str:
    obj = finding["object"]
    name = obj.get("name") or ""
    if obj.get("namespace"):
        name = f"{obj['namespace']}/{name}"
    return f"{obj['kind']} {name}".strip()


def matches(finding: dict[str, Any], want: Expected) -> bool:
    if finding["rule"] != want.rule and finding["category"] != want.rule:
        return False
    return want.object is None or object_name(finding) == want.object


def show(found: tuple[dict[str, Any], ...]) -> str:
    return "\n".join(f"  {f['rule']} {f['severity']:8} {object_name(f)}" for f in found) or "  (none)"


def expectations() -> list[Any]:
    params = []
    for name in STORIES:
        for want in story(name).expect:
            marks = [pytest.mark.xfail(reason=want.miss, strict=True)] if want.miss else []
            params.append(pytest.param(name, want, marks=marks, id=f"{name}-{want.rule}"))
    return params


def test_every_story_is_complete():
    assert len(STORIES) >= 16
    for name in STORIES:
        for part in ("README.md", "broken", "fixed"):
            assert (HERE / name / part).exists(), f"{name} has no {part}"
        assert story(name).expect, f"{name} expects nothing"


@pytest.mark.parametrize(("name", "want"), expectations())
def test_broken_version_raises_the_expected_finding(name: str, want: Expected):
    found = findings(name, "broken")
    hits = [f for f in found if matches(f, want)]
    assert hits, f"{name}: no {want.rule} on {want.object}; premortem said:\n{show(found)}"
    if want.severity:
        assert any(f["severity"] in want.severity for f in hits), (
            f"{name}: {want.rule} at {[f['severity'] for f in hits]}, expected {want.severity}"
        )


@pytest.mark.parametrize("name", STORIES)
def test_fixed_version_passes(name: str):
    found = findings(name, "fixed")
    for want in story(name).expect:
        if want.miss is None:
            assert not [f for f in found if matches(f, want)], f"{name}: fixed still has {want.rule}"
    blocking = tuple(f for f in found if f["severity"] in BLOCKING)
    assert not blocking, f"{name}: the fixed version still fails CI:\n{show(blocking)}"


@pytest.mark.parametrize("name", STORIES)
@pytest.mark.parametrize("version", ["broken", "fixed"])
def test_no_false_alarm(name: str, version: str):
    found = findings(name, version)
    for want in story(name).must_not:
        wrong = [f for f in found if matches(f, want)]
        assert not wrong, f"{name}/{version}: false alarm\n{show(tuple(wrong))}"


def test_readme_records_the_recall_of_every_story():
    """README.md's recall table names every story, with the "now" column this branch actually has:
    expected findings not marked as misses (the strict xfails above keep the marks honest)."""
    rows = {}
    for line in (HERE / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in STORIES:
            rows[cells[0]] = cells[3]
    assert sorted(rows) == STORIES
    for name in STORIES:
        expected = story(name).expect
        caught = sum(1 for want in expected if want.miss is None)
        assert rows[name] == f"{caught}/{len(expected)}", f"README.md: {name} is {caught}/{len(expected)} now"
