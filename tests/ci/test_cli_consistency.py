"""The same options mean the same on every verb; fix keeps its old names; --help is uncut."""

from __future__ import annotations

import json

import pytest

from .helpers import pod, premortem, repo


def test_select_takes_comma_lists_with_categories(tmp_path):
    root = repo(tmp_path, {"a.yaml": pod("a", tagged=True)})
    data = json.loads(
        premortem("scan", "a.yaml", "--select", "probes,images", "--format", "json", cwd=root).stdout
    )
    assert {f["rule"] for f in data["findings"]} == {"IMG002"}
    data = json.loads(
        premortem("scan", "a.yaml", "--ignore", "IMG002,resources", "--format", "json", cwd=root).stdout
    )
    assert not {"IMG002", "RES001"} & {f["rule"] for f in data["findings"]}


def test_fix_select_ignore_and_old_aliases(tmp_path):
    deployment = tmp_path / "d.yaml"
    deployment.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  replicas: 2\n"
        "  selector: {matchLabels: {a: b}}\n  template:\n    metadata: {labels: {a: b}}\n    spec:\n"
        "      containers:\n        - name: c\n          image: x:1\n"
        "          resources: {requests: {memory: 1Gi}, limits: {memory: 2Gi}}\n"
    )
    for args in (["--select", "RES002"], ["--rule", "RES002"], ["--category", "resources"]):
        out = premortem("fix", "d.yaml", "--format", "json", *args, cwd=tmp_path)
        data = json.loads(out.stdout)
        assert [o["rule"] for o in data["outcomes"]] == ["RES002"], args
        assert "+          resources: {requests: {memory: 2Gi}" in data["files"][0]["diff"]
        assert out.returncode == 1  # the diff is not empty
    ignored = json.loads(
        premortem("fix", "d.yaml", "--format", "json", "--ignore", "resources", cwd=tmp_path).stdout
    )
    assert "RES002" not in [o["rule"] for o in ignored["outcomes"]]


@pytest.mark.parametrize("verb", ["scan", "capacity", "fix", "diagnose", "etcd", "config"])
def test_every_verb_reads_the_config_and_reports_its_errors(tmp_path, verb):
    root = repo(tmp_path, {".premortem.yaml": "fail-on: sometimes\n", "a.yaml": pod("a")})
    args = {"etcd": ["--metrics", "a.yaml"], "diagnose": ["a.yaml"]}.get(verb, ["a.yaml"])
    out = premortem(verb, *args, cwd=root)
    assert out.returncode == 2, (verb, out.stdout, out.stderr)
    assert ".premortem.yaml:1: fail-on: unknown severity 'sometimes'" in out.stderr


def test_capacity_honours_suppressions_and_nodes_from_the_config(tmp_path):
    root = repo(tmp_path, {".premortem.yaml": "nodes: 1x1cpu/1Gi\n", "a.yaml": pod("a", guaranteed=True)})
    out = premortem("capacity", "a.yaml", "--format", "json", cwd=root)
    assert out.returncode in (0, 1), out.stderr
    assert "nodes" in json.loads(out.stdout)


def test_help_shows_every_verb_first_line_uncut(tmp_path):
    out = premortem("--help", cwd=tmp_path).stdout
    flat = " ".join(out.split())
    assert "Scan manifests (files, directories, - for stdin; default: the current directory)." in flat
    assert (
        "Simulate scheduling: steady state, losing each node, draining each node, memory overcommit." in flat
    )
    assert "..." not in out.split("Commands:")[1]


def test_python_dash_m(tmp_path):
    assert premortem("--version", cwd=tmp_path).stdout.startswith("premortem ")
