"""Charts and kustomizations in the CI features: every report format says where a chart's value is
set, a renderer's error reads whole on the one-line report, the config file's `render:` paths are
checked and relative to it, and premortem's own files (config, baseline) are never inputs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import xmlschema

from conftest import run_cli
from render.helpers import FIXTURES, needs_helm, needs_kubectl

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
pytestmark = needs_helm


def _premortem(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    out = run_cli(*args, cwd=cwd)
    assert "Traceback" not in out.stderr, out.stderr
    return out


def _repo(tmp_path: Path) -> Path:
    (tmp_path / ".git").mkdir()
    shutil.copytree(FIXTURES / "shop", tmp_path / "charts" / "shop")
    return tmp_path


def test_every_format_names_the_values_file_that_sets_the_value(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    values = "charts/shop/ci/prod-values.yaml:6 (resources.requests.memory)"
    args = ("scan", "charts/shop", "-f", "charts/shop/ci/prod-values.yaml", "--no-config")

    text = _premortem(repo, *args).stdout
    (res002,) = [line for line in text.splitlines() if line.startswith("charts/") and " RES002 " in line]
    assert res002.startswith("charts/shop/templates/deployment.yaml:28: RES002")
    assert res002.endswith(f"— value set in {values}")
    assert f"      value set in {values}" in _premortem(repo, *args, "-v").stdout
    github = _premortem(repo, *args, "--format", "github").stdout
    assert f"%0AValue set in {values}.%0AFix:" in github
    assert f"<br>value set in {values}" in _premortem(repo, *args, "--format", "markdown").stdout

    sarif = json.loads(_premortem(repo, *args, "--format", "sarif").stdout)
    schema = json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "RES002"]
    (related,) = result["relatedLocations"]
    assert related["physicalLocation"]["artifactLocation"]["uri"] == "charts/shop/ci/prod-values.yaml"
    assert related["physicalLocation"]["region"]["startLine"] == 6

    junit = _premortem(repo, *args, "--format", "junit", "--fail-on", "low").stdout
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(junit)
    assert f"value set in {values}" in junit


def test_render_failure_headline_keeps_the_renderers_words(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "charts/shop/templates/fail.yaml").write_text('{{ fail "set image.tag for this release" }}\n')
    out = _premortem(repo, "scan", "charts/shop", "--no-config")
    assert out.returncode == 1
    (line,) = [line for line in out.stdout.splitlines() if line.startswith("charts/") and " INP001 " in line]
    assert line.startswith("charts/shop/templates/fail.yaml:1: INP001")
    assert "set image.tag for this release" in line  # not cut at the first ': ' of Helm's message
    (repo / "charts/shop/templates/fail.yaml").unlink()
    silent = _premortem(
        repo, "scan", "charts/shop", "--no-config", "--helm", shutil.which("false") or "/bin/false"
    )
    assert "exited with status 1 and printed nothing" in silent.stdout


@needs_kubectl
def test_render_failure_headline_says_the_cause_and_json_keeps_every_word(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / "charts/shop/templates/bad.yaml").write_text("kind: ConfigMap\n{{ .Values.nope.deeper }}\n")
    shutil.copytree(FIXTURES / "missing-base", repo / "kust")
    out = _premortem(repo, "scan", "charts/shop", "kust", "--no-config")
    lines = [line for line in out.stdout.splitlines() if " INP001 high " in line]
    assert len(lines) == 2, out.stdout
    # The location is the finding's; the cause is what the line says, whole.
    assert lines[0].startswith("charts/shop/templates/bad.yaml:2: INP001")
    assert lines[0].endswith(
        "helm template failed: “<.Values.nope.deeper>: nil pointer evaluating interface {}.deeper”"
    )
    assert lines[1].startswith("kust/kustomization.yaml:")
    assert lines[1].endswith(
        "kustomize failed: “accumulating resources from '../no-such-base': no such file or directory”"
    )
    report = json.loads(_premortem(repo, "scan", "charts/shop", "--no-config", "--format", "json").stdout)
    (finding,) = report["findings"]
    said = 'helm template said: “template: shop/templates/bad.yaml:2:10: executing "shop/templates/bad.yaml"'
    assert said in finding["message"]


def test_config_render_paths_are_checked_and_relative_to_the_config(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    config = repo / ".premortem.yaml"
    config.write_text("render:\n  chart-values:\n    charts/shop: [charts/shop/ci/prod-values.yaml]\n")
    (repo / "elsewhere").mkdir()
    out = _premortem(repo / "elsewhere", "scan", "../charts/shop", "--format", "json")
    report: dict[str, Any] = json.loads(out.stdout)
    (res002,) = [f for f in report["findings"] if f["rule"] == "RES002"]
    # Relative to where premortem runs, as the chart itself is named: a path annotations can use.
    assert res002["rendered_from"]["values_file"] == "../charts/shop/ci/prod-values.yaml"

    for body, message in (
        (
            "render:\n  chart-values:\n    charts/shop: [nope.yaml]\n",
            "3: render.chart-values.charts/shop[0]: no such values file 'nope.yaml'",
        ),
        (
            "render:\n  chart-values:\n    charts/gone: []\n",
            "3: render.chart-values.charts/gone: 'charts/gone' is not a chart directory",
        ),
        (
            "render:\n  values:\n    - charts/shop/ci/prod-values.yaml\n    - x.yaml\n",
            "4: render.values[1]: no such values file 'x.yaml'",
        ),
    ):
        config.write_text(body)
        out = _premortem(repo, "scan", "charts/shop")
        assert out.returncode == 2, out.stdout
        assert f".premortem.yaml:{message}" in out.stderr

    config.write_text("render:\n  values: [charts/shop/ci/prod-values.yaml]\n")
    out = _premortem(repo / "elsewhere", "scan", "../charts/shop", "--format", "json")
    assert [f for f in json.loads(out.stdout)["findings"] if f["rule"] == "RES002"]


def test_config_and_baseline_files_are_not_inputs(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".premortem.yaml").write_text("baseline: .premortem-baseline.json\n")
    assert _premortem(repo, "scan", ".", "--write-baseline", ".premortem-baseline.json").returncode == 0
    (repo / ".premortem.yaml").write_text(
        "baseline: .premortem-baseline.json\n"
        "ignores:\n  - rules: [RES004]\n    paths: [charts/]\n    reason: none of these, reported unused\n"
    )
    out = _premortem(repo, "scan", ".", "--format", "json")
    summary = json.loads(out.stdout)["summary"]
    assert summary["files_excluded"] == 0  # the config file is not "excluded": it is no input at all
    assert summary["skipped"] == []  # nor is the baseline
    assert summary["baselined"] > 0
    # The unused config ignore points at the config file as a repository path, for annotations.
    github = _premortem(repo, "scan", ".", "--format", "github").stdout
    assert "::notice file=.premortem.yaml,line=3," in github


@needs_kubectl
def test_a_tree_named_dot_spells_every_file_the_same(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "shop-kustomize", tmp_path / "kust")
    (tmp_path / "plain.yaml").write_text((FIXTURES / "shop-kustomize/base/deployment.yaml").read_text())
    report = json.loads(_premortem(tmp_path, "scan", ".", "--no-config", "--format", "json").stdout)
    files = {f["file"] for f in report["findings"]}
    assert "./kust/base/deployment.yaml" in files and "./plain.yaml" in files
    assert all(f.startswith("./") for f in files), files


@needs_kubectl
def test_config_excludes_a_chart_and_a_kustomization_by_their_directory(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    shutil.copytree(FIXTURES / "shop-kustomize", repo / "kust")
    (repo / ".premortem.yaml").write_text(
        'exclude: ["charts/shop/", "kust/overlays/dev/"]\n'  # gitignore's directory-only form
        "render:\n  chart-values:\n    charts/shop: [charts/shop/ci/prod-values.yaml]\n"
    )
    for named in (".", "kust"):
        summary = json.loads(_premortem(repo, "scan", named, "--format", "json").stdout)["summary"]
        rendered = [u["path"].removeprefix("./") for u in summary["rendered"]]
        assert "charts/shop" not in rendered and "kust/overlays/dev" not in rendered, named
        assert "kust/overlays/prod" in rendered, named
        assert summary["files_excluded"] == (2 if named == "." else 1), named
    out = _premortem(repo, "scan", "charts")
    assert out.returncode == 0 and "0 findings" in out.stdout  # an empty report, not no report
    assert "every file given is excluded by the settings (1 input(s))" in out.stderr
    # CI uploads what the scan writes: with everything excluded, still a valid (empty) SARIF and JUnit
    sarif = json.loads(_premortem(repo, "scan", "charts", "--format", "sarif").stdout)
    jsonschema.Draft4Validator(json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())).validate(sarif)
    assert sarif["runs"][0]["results"] == []
    junit = _premortem(repo, "scan", "charts", "--format", "junit").stdout
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(junit)
    (repo / ".premortem.yaml").write_text(
        "render:\n  chart-values:\n    charts/shop: [charts/shop/ci/prod-values.yaml]\n"
    )
    report = json.loads(_premortem(repo, "scan", ".", "--format", "json").stdout)
    (res002,) = [f for f in report["findings"] if f["rule"] == "RES002" and "shop" in f["file"]]
    # one spelling per run: the chart is ./charts/shop, so are its templates and its values files
    assert res002["file"] == "./charts/shop/templates/deployment.yaml"
    assert res002["rendered_from"]["values_file"] == "./charts/shop/ci/prod-values.yaml"


def test_an_image_built_from_two_values_names_the_tag(tmp_path: Path) -> None:
    # image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}": the tag is what IMG001/IMG002 judge.
    repo = _repo(tmp_path)
    args = ("scan", "charts/shop", "--no-config", "--format", "json")
    latest = json.loads(_premortem(repo, *args, "--set", "image.tag=latest").stdout)
    (img001,) = [f for f in latest["findings"] if f["rule"] == "IMG001"]
    assert (img001["rendered_from"]["values_file"], img001["rendered_from"]["values_key"]) == (
        "--set",
        "image.tag",
    )
    pinned = json.loads(_premortem(repo, *args).stdout)
    (img002,) = [f for f in pinned["findings"] if f["rule"] == "IMG002" and "shop:" in f["message"]]
    source = img002["rendered_from"]
    assert (source["values_file"], source["values_line"], source["values_key"]) == (
        "charts/shop/values.yaml",
        4,
        "image.tag",
    )


def test_config_binary_paths_are_normalised(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    (repo / ".premortem.yaml").write_text("render:\n  helm: ./bin/helm\n")
    out = _premortem(repo, "scan", "charts/shop")
    assert out.returncode == 2
    assert f"{repo}/bin/helm: not an executable file" in out.stderr
