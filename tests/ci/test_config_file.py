"""The config file: discovery, precedence, validation with file:line:key, `premortem config`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from premortem.configfile import ConfigError, build_settings, find_config

from .helpers import POD, premortem, repo


def test_discovered_from_the_scanned_path_up_to_the_repository_root(tmp_path):
    root = repo(tmp_path, {".premortem.yaml": "fail-on: medium\n", "k8s/apps/a.yaml": POD.format(name="a")})
    assert find_config([str(root / "k8s" / "apps" / "a.yaml")]) == str(root / ".premortem.yaml")
    assert find_config([str(root / "k8s")]) == str(root / ".premortem.yaml")


def test_discovery_stops_at_the_repository_root(tmp_path):
    (tmp_path / ".premortem.yaml").write_text("fail-on: low\n")
    inner = repo(tmp_path / "project", {"a.yaml": POD.format(name="a")})
    assert find_config([str(inner / "a.yaml")]) is None


def test_nearest_config_wins_and_yaml_beats_pyproject(tmp_path):
    root = repo(
        tmp_path,
        {
            ".premortem.yaml": "fail-on: low\n",
            "sub/pyproject.toml": "[tool.premortem]\nfail-on = 'medium'\n",
            "sub/x/a.yaml": POD.format(name="a"),
        },
    )
    assert find_config([str(root / "sub" / "x")]) == str(root / "sub" / "pyproject.toml")
    (root / "sub" / ".premortem.yaml").write_text("fail-on: critical\n")
    assert find_config([str(root / "sub" / "x")]) == str(root / "sub" / ".premortem.yaml")


def test_precedence_defaults_file_cli_with_sources(tmp_path):
    root = repo(
        tmp_path, {".premortem.yaml": "fail-on: medium\nignore: [IMG002]\nselect: resources,images\n"}
    )
    settings = build_settings(
        [str(root)], {"fail_on": ("low", "--fail-on"), "ignore": (("PRB005",), "--ignore")}
    )
    assert settings.fail_on == "low"
    assert settings.sources["fail_on"] == "--fail-on"
    assert settings.ignore == ("IMG002", "PRB005")  # --ignore adds to the file's
    assert settings.select == ("resources", "images")  # comma string accepted
    assert settings.sources["select"].endswith(".premortem.yaml:3")
    assert settings.sources["min_severity"] == "default"


def test_pyproject_section(tmp_path):
    root = repo(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\n\n[tool.premortem]\nfail-on = 'critical'\n"
            "[tool.premortem.severity]\nIMG002 = 'low'\n",
        },
    )
    settings = build_settings([str(root)])
    assert settings.fail_on == "critical"
    assert settings.severity == {"IMG002": "low"}
    assert settings.sources["fail_on"].endswith("pyproject.toml:5")


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("select: [RES001]\nfail_on: high\n", 2, "unknown key 'fail_on' (did you mean 'fail-on'?)"),
        ("jobs: many\n", 1, "jobs: expected a whole number"),
        ("severity:\n  RES001: urgent\n", 2, "severity.RES001: unknown severity 'urgent'"),
        ("select:\n  - RES001\n  - NOPE42\n", 3, "select[1]: unknown rule or category 'NOPE42'"),
        ("params:\n  ADM003:\n    nope: 3\n", 3, "ADM003 has no parameter 'nope'"),
        ("kubernetes-version: 1.30\n", 1, 'quote it: "1.3"'),
        ("ignores:\n  - rules: [RES003]\n    paths: [jobs/]\n", 2, "every ignore needs a reason"),
        ("fail-on: [high\n", 2, "not valid YAML"),
    ],
)
def test_bad_config_names_file_line_and_key_and_exits_2(tmp_path, text, line, needle):
    root = repo(tmp_path, {".premortem.yaml": text, "a.yaml": POD.format(name="a")})
    with pytest.raises(ConfigError) as err:
        build_settings([str(root)])
    assert f".premortem.yaml:{line}" in str(err.value)
    assert needle in str(err.value)
    out = premortem("scan", "a.yaml", cwd=root)
    assert out.returncode == 2
    assert f".premortem.yaml:{line}" in out.stderr and "Traceback" not in out.stderr


def test_explicit_config_and_no_config(tmp_path):
    root = repo(tmp_path, {"ci.yaml": "fail-on: never\n", "a.yaml": POD.format(name="a")})
    assert premortem("scan", "a.yaml", cwd=root).returncode == 1
    assert premortem("scan", "a.yaml", "--config", "ci.yaml", cwd=root).returncode == 0
    (root / ".premortem.yaml").write_text("fail-on: never\n")
    assert premortem("scan", "a.yaml", cwd=root).returncode == 0
    assert premortem("scan", "a.yaml", "--no-config", cwd=root).returncode == 1
    missing = premortem("scan", "a.yaml", "--config", "nope.yaml", cwd=root)
    assert missing.returncode == 2 and "no such config file" in missing.stderr


def test_exclude_gitignore_style(tmp_path):
    root = repo(
        tmp_path,
        {
            ".premortem.yaml": "exclude: ['**/.kyverno-test/', 'fixtures/*.yaml']\n",
            "app/a.yaml": POD.format(name="a"),
            "policies/p/.kyverno-test/resource.yaml": POD.format(name="b"),
            "fixtures/c.yaml": POD.format(name="c"),
        },
    )
    data = json.loads(premortem("scan", ".", "--format", "json", cwd=root).stdout)
    assert {f["object"]["name"] for f in data["findings"]} == {"a"}
    assert data["summary"]["files"] == 1
    # explicit files are excluded too (pre-commit passes file names); only excluded files: exit 0
    out = premortem("scan", "fixtures/c.yaml", cwd=root)
    assert out.returncode == 0 and "excluded" in out.stderr


def test_config_verb_prints_effective_settings_and_sources(tmp_path):
    root = repo(
        tmp_path, {".premortem.yaml": "fail-on: medium\nparams:\n  ADM003:\n    max-timeout-seconds: 8\n"}
    )
    out = premortem("config", "--fail-on", "low", cwd=root)
    assert out.returncode == 0, out.stderr
    assert "fail-on: low" in out.stdout and "# --fail-on" in out.stdout
    assert '"max-timeout-seconds": 8' in out.stdout and "max_timeout_seconds" not in out.stdout
    data = json.loads(premortem("config", "--format", "json", cwd=root).stdout)
    assert data["config_file"].endswith(".premortem.yaml")
    assert data["settings"]["fail-on"] == "medium"
    # settings.params keeps the snake_case names JSON consumers have always read; config_params is
    # the same block as the config file spells it.
    assert data["settings"]["params"] == {"ADM003": {"max_timeout_seconds": 8}}
    assert data["config_params"] == {"ADM003": {"max-timeout-seconds": 8}}
    assert data["sources"]["fail-on"].endswith(".premortem.yaml:1")


def test_config_verb_prints_params_a_config_file_accepts(tmp_path):
    """The params line `premortem config` prints, pasted into a config file, sets the same values."""
    given = "params:\n  CAP004: {overcommit-ratio: 2}\n  PRB003:\n    min-start-seconds: 90\n"
    first = premortem("config", cwd=repo(tmp_path / "a", {".premortem.yaml": given}))
    line = next(line for line in first.stdout.splitlines() if line.startswith("params:"))
    copied = repo(tmp_path / "b", {".premortem.yaml": line.split("  # ")[0] + "\n"})
    data = json.loads(premortem("config", "--format", "json", cwd=copied).stdout)
    assert data["settings"]["params"] == {
        "CAP004": {"overcommit_ratio": 2.0},
        "PRB003": {"min_start_seconds": 90},
    }


def test_rule_parameters_change_what_rules_report(tmp_path):
    probe = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: app
          image: r.example.com/app:1@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
          livenessProbe: {httpGet: {path: /livez, port: 8080}, periodSeconds: 5, failureThreshold: 8}
"""
    root = repo(tmp_path, {"d.yaml": probe})

    def rules() -> set[str]:
        out = premortem("scan", "d.yaml", "--select", "PRB003", "--format", "json", cwd=root)
        return {f["rule"] for f in json.loads(out.stdout)["findings"]}

    assert rules() == set()  # 40 s of start budget: above the 30 s default
    (root / ".premortem.yaml").write_text(
        "params:\n  liveness-without-startup-grace:\n    min-start-seconds: 60\n"
    )
    assert rules() == {"PRB003"}


def test_parameters_are_listed_by_rules_and_explain(tmp_path):
    entries = {
        e["id"]: e for e in json.loads(premortem("rules", "--format", "json", cwd=tmp_path).stdout)["rules"]
    }
    assert entries["PRB003"]["params"]["min-start-seconds"]["default"] == 30
    assert entries["NET002"]["params"]["pressure-ratio"]["default"] == 0.75
    page = premortem("explain", "ETC004", cwd=tmp_path).stdout
    assert "## Parameters" in page and "`max-quota-bytes` (default `8589934592`)" in page


def test_every_config_key_is_documented():
    from premortem.configfile.schema import config_fields
    from premortem.settings import Ignore, RenderSettings, Settings

    doc = (Path(__file__).resolve().parent.parent.parent / "docs" / "configuration.md").read_text()
    for cls in (Settings, Ignore, RenderSettings):
        for key in config_fields(cls):
            assert f"`{key}`" in doc, f"docs/configuration.md does not document {cls.__name__} key {key}"


def test_explain_shows_what_this_repository_configures(tmp_path):
    root = repo(
        tmp_path,
        {".premortem.yaml": "params:\n  ADM003: {max-timeout-seconds: 9}\nseverity: {ADM003: high}\n"},
    )
    page = premortem("explain", "ADM003", cwd=root).stdout
    assert "set to `9` by" in page and ".premortem.yaml:1" in page
    assert "sets its severity to high" in page
    assert "set to" not in premortem("explain", "ADM003", "--no-config", cwd=root).stdout


def test_overcommit_ratio_parameter(tmp_path):
    examples = Path(__file__).resolve().parent.parent.parent / "examples"
    root = repo(tmp_path, {})
    shutil.copytree(examples, root / "examples")

    def cap004() -> int:
        out = premortem("scan", "examples", "--select", "CAP004", "--format", "json", cwd=root)
        return sum(1 for f in json.loads(out.stdout)["findings"] if f["rule"] == "CAP004")

    assert cap004() >= 1
    (root / ".premortem.yaml").write_text("params:\n  CAP004: {overcommit-ratio: 100}\n")
    assert cap004() == 0
    out = premortem("capacity", "examples", "--format", "json", cwd=root)
    assert json.loads(out.stdout)["overcommit"]["threshold"] == 100.0
