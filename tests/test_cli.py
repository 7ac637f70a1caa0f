"""The CLI contract: verbs, exit codes, JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
BEST_EFFORT = """\
apiVersion: v1
kind: Pod
metadata: {name: be, namespace: shop}
spec:
  containers:
    - name: app
      image: registry.example.com/app:1.0.0@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
"""
GUARANTEED = BEST_EFFORT.replace("name: be", "name: g").replace(
    "      image:", "      resources: {limits: {cpu: 100m, memory: 64Mi}}\n      image:"
)


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=ROOT, stdin=stdin)


def test_version():
    out = run("--version")
    assert out.returncode == 0
    assert out.stdout.startswith("premortem ")


def test_json_contract_from_stdin():
    out = run("scan", "-", "--format", "json", stdin=BEST_EFFORT + "---\n" + GUARANTEED)
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert {"findings", "objects", "summary"} <= set(data)  # fields are only ever added
    finding = next(f for f in data["findings"] if f["rule"] == "RES001")
    for key in (
        "rule",
        "category",
        "severity",
        "object",
        "container",
        "file",
        "line",
        "path",
        "message",
        "fix",
    ):
        assert key in finding
    assert finding["object"] == {"apiVersion": "v1", "kind": "Pod", "namespace": "shop", "name": "be"}
    assert finding["file"] == "<stdin>"
    by_name = {o["name"]: o for o in data["objects"]}
    assert by_name["g"]["qos"] == "Guaranteed"
    assert by_name["g"]["requests"] == {"cpu": 100, "memory": 64 * 2**20}
    assert by_name["be"]["qos"] == "BestEffort"
    assert data["summary"]["objects"] == 2
    assert data["summary"]["by_severity"]["high"] >= 1


def test_fail_on_threshold():
    assert run("scan", "-", "--fail-on", "critical", stdin=BEST_EFFORT).returncode == 0
    assert run("scan", "-", "--fail-on", "high", stdin=BEST_EFFORT).returncode == 1
    assert run("scan", "-", "--fail-on", "never", stdin=BEST_EFFORT).returncode == 0


def test_missing_path_is_usage_error():
    out = run("scan", "does/not/exist.yaml")
    assert out.returncode == 2
    assert "no such file" in out.stderr
    assert "Traceback" not in out.stderr


def test_empty_directory_is_usage_error(tmp_path):
    out = run("scan", str(tmp_path))
    assert out.returncode == 2
    assert "no *.yaml" in out.stderr


def test_bad_option_is_usage_error():
    assert run("scan", "--fail-on", "bogus", "-", stdin=BEST_EFFORT).returncode == 2
    out = run("scan", "--select", "NOPE999", "-", stdin=BEST_EFFORT)
    assert out.returncode == 2
    assert "unknown rule" in out.stderr


def test_syntax_error_is_high_and_scan_continues(tmp_path):
    (tmp_path / "a.yaml").write_text("key: [unclosed\n")
    (tmp_path / "b.yaml").write_text(BEST_EFFORT)
    out = run("scan", str(tmp_path), "--format", "json")
    assert out.returncode == 1
    data = json.loads(out.stdout)
    rules = {f["rule"] for f in data["findings"]}
    assert {"INP001", "RES001"} <= rules


def test_text_output_names_file_line_and_fix():
    out = run("scan", "-", "--no-color", stdin=BEST_EFFORT)
    assert "<stdin>:4" in out.stdout
    assert "RES001" in out.stdout
    assert "fix:" in out.stdout


def test_sarif_output():
    out = run("scan", "-", "--format", "sarif", stdin=BEST_EFFORT)
    data = json.loads(out.stdout)
    assert data["version"] == "2.1.0"
    assert data["runs"][0]["results"][0]["ruleId"]


def test_rules_and_explain():
    out = run("rules", "--format", "json")
    ids = {r["id"] for r in json.loads(out.stdout)["rules"]}
    assert {"RES001", "RES002", "INP001"} <= ids
    explained = run("explain", "RES002")
    assert explained.returncode == 0
    assert "## Why it breaks clusters" in explained.stdout
    assert run("explain", "memory-request-below-limit").returncode == 0
    assert run("explain", "NOPE").returncode == 2


@pytest.mark.parametrize("example", sorted((ROOT / "examples").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_scan_without_crashing(example):
    out = run("scan", str(example), "--format", "json")
    assert out.returncode in (0, 1), out.stderr
    json.loads(out.stdout)


def test_rules_of_every_verb_can_be_listed_and_explained():
    out = run("rules", "--source", "all", "--format", "json")
    entries = json.loads(out.stdout)["rules"]
    sources = {e["source"] for e in entries}
    assert sources == {"scan", "diagnose", "etcd"}
    ids = {e["id"] for e in entries}
    assert {"RES001", "DIAG-OOM-CGROUP", "ETM001"} <= ids
    explained = run("explain", "DIAG-OOM-CGROUP")
    assert explained.returncode == 0
    assert "RES002" in explained.stdout
    assert run("explain", "etm001").returncode == 0
    # the default listing stays the scan rules only (CI scripts parse it)
    default = json.loads(run("rules", "--format", "json").stdout)["rules"]
    assert {e["source"] for e in default} == {"scan"}


def test_fixable_flag_follows_the_fixers():
    entries = {e["id"]: e for e in json.loads(run("rules", "--format", "json").stdout)["rules"]}
    assert entries["RES002"]["fixable"] and entries["PDB001"]["fixable"] and entries["KUB001"]["fixable"]
    assert not entries["RES001"]["fixable"]  # no numbers can be invented: a note, not an edit
    assert not entries["PRB001"]["fixable"]


def test_malformed_nodes_spec_is_usage_error():
    out = run("scan", "-", "--nodes", "3xbogus", stdin=GUARANTEED)
    assert out.returncode == 2
    assert "--nodes" in out.stderr
    assert "Traceback" not in out.stderr


def test_the_command_exits_with_the_code_sys_exit_would_give(tmp_path: Path) -> None:
    """``premortem`` ends with os._exit after flushing (no teardown of every object): the code, the
    whole report and the exit handlers are the same as a normal exit's."""
    script = (
        "import atexit, sys; from premortem.cli import run\n"
        "atexit.register(lambda: sys.stderr.write('handler ran\\n'))\n"
        "sys.argv[1:] = sys.argv[2:]\n"
        "run()\n"
    )
    manifest = tmp_path / "app.yaml"
    manifest.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
        "    spec:\n      containers: [{name: web, image: 'nginx:latest'}]\n"
    )
    found = subprocess.run(
        [sys.executable, "-c", script, "premortem", "scan", str(manifest), "--format", "json"],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 1
    assert json.loads(found.stdout)["summary"]["findings"] >= 1
    assert "handler ran" in found.stderr
    missing = subprocess.run(
        [sys.executable, "-c", script, "premortem", "scan", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2
    assert "no such file" in missing.stderr
    message = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; import premortem.cli as c; c.main = lambda: sys.exit('bye'); c.run()",
        ],
        capture_output=True,
        text=True,
    )
    assert (message.returncode, message.stderr) == (1, "bye\n")
