"""Every output format, validated as its consumer would: SARIF against the SARIF 2.1.0 schema,
JUnit against the Jenkins JUnit XSD, GitHub workflow commands, Markdown, and the text report."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import xmlschema

from .helpers import pod, premortem, repo

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
SUPPRESSED = pod("quiet").replace(
    "  namespace: shop\n", '  namespace: shop\n  annotations:\n    ignore.premortem.dev/RES001: "debug pod"\n'
)


@pytest.fixture
def tree(tmp_path):
    return repo(
        tmp_path,
        {
            "k8s/apps/a.yaml": pod("a", tagged=True),
            "k8s/apps/b.yaml": pod("b"),
            "k8s/with space/q.yaml": SUPPRESSED,
        },
    )


def test_sarif_is_valid_with_relative_uris_fingerprints_and_suppressions(tree):
    out = premortem("scan", "k8s", "--format", "sarif", cwd=tree)
    data = json.loads(out.stdout)
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(data)
    results = data["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert "k8s/apps/a.yaml" in uris and "k8s/with%20space/q.yaml" in uris
    assert all(not u.startswith("/") for u in uris)
    assert all(r["partialFingerprints"]["premortem/v1"] for r in results)
    (quiet,) = [r for r in results if "suppressions" in r]
    assert quiet["suppressions"][0]["justification"] == "debug pod"
    assert quiet["suppressions"][0]["kind"] == "inSource"
    rules = data["runs"][0]["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in results)


def test_sarif_fingerprint_is_stable_across_edits(tree):
    def prints():
        data = json.loads(premortem("scan", "k8s", "--format", "sarif", cwd=tree).stdout)
        return sorted(r["partialFingerprints"]["premortem/v1"] for r in data["runs"][0]["results"])

    before = prints()
    text = (tree / "k8s/apps/a.yaml").read_text()
    (tree / "k8s/apps/a.yaml").write_text("# moved down\n\n\n" + text)
    assert prints() == before


def test_junit_is_valid_against_the_jenkins_schema(tree):
    out = premortem("scan", "k8s", "--format", "junit", cwd=tree)
    assert out.returncode == 1
    schema = xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd"))
    schema.validate(out.stdout)
    doc = schema.to_dict(out.stdout)
    suites = {s["@name"]: s for s in doc["testsuite"]}
    res001 = suites["RES001 best-effort-pod"]
    names = {c["@name"]: c for c in res001["testcase"]}
    assert (
        "failure" in names["Pod shop/a"]
        and "k8s/apps/a.yaml:" in names["Pod shop/a"]["failure"][0]["@message"]
    )
    assert "skipped" in names["Pod shop/quiet"]
    img002 = suites["IMG002 image-tag-not-pinned"]["testcase"]
    assert all("failure" not in c for c in img002)  # info: below --fail-on, not a failure


def test_junit_without_findings_is_valid(tmp_path):
    root = repo(tmp_path, {"a.yaml": pod("a", guaranteed=True)})
    out = premortem("scan", "a.yaml", "--format", "junit", cwd=root)
    assert out.returncode == 0
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(out.stdout)


def test_github_annotations(tree):
    out = premortem("scan", "k8s", "--format", "github", cwd=tree)
    lines = out.stdout.splitlines()
    error = next(line for line in lines if line.startswith("::error "))
    assert "file=k8s/apps/" in error and ",line=" in error and "title=premortem RES001 (high)" in error
    assert any(line.startswith("::notice ") and "IMG002" in line for line in lines)
    assert lines[-2].startswith("premortem: ") and "1 suppressed" in lines[-2]


def test_markdown_summary(tree):
    out = premortem("scan", "k8s", "--format", "markdown", cwd=tree)
    assert out.stdout.startswith("### premortem: ")
    assert "| 🔴 high | RES001 | Pod shop/a |" in out.stdout
    assert "<details>" in out.stdout and "1 suppressed with a reason" in out.stdout


def test_text_report_concise_explains_each_rule_once_summary_last(tree):
    out = premortem("scan", "k8s", "--no-color", cwd=tree)
    text = out.stdout
    lines = text.splitlines()
    assert sum(1 for line in lines if line.startswith("k8s/apps/") and " RES001 " in line) == 2
    assert text.count("more: premortem explain RES001") == 1
    summary = text[text.index("Summary") :]
    assert "by rule:" in summary and "not reported: 1 suppressed" in summary
    assert lines[-1].startswith("scanned 3 files")


def test_quiet_verbose_and_show_suppressed(tree):
    quiet = premortem("scan", "k8s", "-q", "--no-color", cwd=tree).stdout
    assert quiet.lstrip().startswith("Summary") and "k8s/apps/a.yaml:" not in quiet
    verbose = premortem("scan", "k8s", "-v", "--no-color", cwd=tree).stdout
    assert "fix:" in verbose and "Summary" in verbose
    shown = premortem("scan", "k8s", "--show-suppressed", "--no-color", cwd=tree).stdout
    assert "debug pod" in shown


def test_control_characters_are_escaped(tmp_path):
    root = repo(tmp_path, {"a.yaml": pod("a").replace("  name: a\n", '  name: "a\\e]0;pwned\\a"\n')})
    out = premortem("scan", "a.yaml", "--no-color", cwd=root)
    assert "\x1b" not in out.stdout and "\x07" not in out.stdout and "pwned" in out.stdout


def test_capacity_speaks_the_ci_formats_too(tmp_path):
    examples = Path(__file__).resolve().parent.parent.parent / "examples"
    out = premortem("capacity", str(examples), "--format", "junit", "--no-config", cwd=tmp_path)
    assert out.returncode in (0, 1), out.stderr
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(out.stdout)
    sarif = json.loads(
        premortem("capacity", str(examples), "--format", "sarif", "--no-config", cwd=tmp_path).stdout
    )
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    assert {r["ruleId"] for r in sarif["runs"][0]["results"]} <= {
        "CAP001",
        "CAP002",
        "CAP003",
        "CAP004",
        "CAP005",
    }
