"""`premortem capacity`: the bundled example outage, exit codes, JSON, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from capacity_helpers import deployment, node

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "premortem", "capacity", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
    )


def test_example_outage_shows_n_minus_1_and_overcommit():
    out = run("examples/", "--no-color")
    assert out.returncode in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    text = out.stdout
    assert "status.allocatable of 3 Node object(s)" in text
    assert "CAP002" in text and "If node worker-" in text and "anti-affinity" in text
    assert "CAP004" in text
    for name in ("worker-1", "worker-2", "worker-3"):
        assert name in text
    assert "if lost:" in text
    assert "\x1b[" not in text  # no colour when not a terminal


def test_example_outage_as_json():
    out = run("examples/", "--format", "json")
    data = json.loads(out.stdout)
    assert {
        "nodes_source",
        "nodes",
        "scenarios",
        "node_loss",
        "drain",
        "overcommit",
        "headroom",
        "notes",
    } <= set(data)
    assert [n["name"] for n in data["nodes"]] == ["worker-1", "worker-2", "worker-3"]
    assert data["scenarios"][0]["fits"] is True
    assert any(not loss["fits"] for loss in data["node_loss"])
    assert data["overcommit"]["ratio"] > 1.5
    assert data["headroom"]["nodes_needed_n_plus_1"] == 4
    rules = {f["rule"] for f in data["findings"]}
    assert {"CAP002", "CAP004"} <= rules


def test_nodes_spec_and_exit_codes(tmp_path):
    (tmp_path / "app.yaml").write_text(deployment("app", replicas=4, requests="{memory: 20Gi}"))
    out = run(str(tmp_path), "--nodes", "2x8cpu/32Gi", "--no-color")
    assert out.returncode == 1  # CAP001 is high
    assert "DOES NOT FIT" in out.stdout and "CAP001" in out.stdout
    out = run(str(tmp_path), "--nodes", "4x8cpu/32Gi", "--format", "json")
    assert out.returncode == 0, out.stdout
    assert json.loads(out.stdout)["scenarios"][0]["fits"] is True


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--nodes", "3x16"], "cannot read '3x16'"),
        (["--nodes", "missing.yaml"], "no such file"),
        ([], "no nodes to simulate"),
        (["node-without-status"], "have no status.allocatable or status.capacity"),
    ],
)
def test_bad_input_exits_2_without_traceback(tmp_path, args, words):
    (tmp_path / "app.yaml").write_text(deployment("app"))
    if args == ["node-without-status"]:
        (tmp_path / "node.yaml").write_text("apiVersion: v1\nkind: Node\nmetadata: {name: n1}\n")
        args = []
    out = run(str(tmp_path), *args)
    assert out.returncode == 2
    assert words in out.stderr
    assert "Traceback" not in out.stderr


def test_html_report_is_written(tmp_path):
    (tmp_path / "in.yaml").write_text("---".join([node("n1"), node("n2"), deployment("app", replicas=3)]))
    target = tmp_path / "report.html"
    out = run(str(tmp_path), "--html", str(target), "--format", "json")
    assert out.returncode == 0, out.stderr
    html = target.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    assert "<svg" in html and "n1" in html and "n2" in html


def test_html_to_an_unwritable_place_exits_2(tmp_path):
    (tmp_path / "in.yaml").write_text("---".join([node("n1"), deployment("app")]))
    out = run(str(tmp_path), "--html", str(tmp_path / "no" / "such" / "dir" / "r.html"))
    assert out.returncode == 2
    assert "cannot write" in out.stderr


def test_inventory_file_through_the_cli(tmp_path):
    (tmp_path / "inventory.yaml").write_text(
        "pools:\n"
        "  - {name: general, count: 2, cpu: 4, memory: 16Gi, labels: {pool: general}}\n"
        "  - {name: db, count: 2, cpu: 8, memory: 64Gi, labels: {pool: db},"
        " taints: [{key: dedicated, value: db, effect: NoSchedule}]}\n"
    )
    manifests = tmp_path / "k8s"
    manifests.mkdir()
    (manifests / "db.yaml").write_text(
        deployment(
            "db",
            requests="{cpu: 2, memory: 32Gi}",
            spec_extra="\n      nodeSelector: {pool: db}\n      tolerations: [{key: dedicated, operator: Exists}]",
        )
    )
    out = run(str(manifests), "--nodes", str(tmp_path / "inventory.yaml"), "--format", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert [n["name"] for n in data["nodes"]] == ["general-1", "general-2", "db-1", "db-2"]
    assert data["scenarios"][0]["fits"] is True
    assert "inventory" in data["nodes_source"]


def test_scan_raises_capacity_findings_from_the_node_objects():
    out = subprocess.run(
        [sys.executable, "-m", "premortem", "scan", "examples/", "--select", "capacity", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    rules = {f["rule"] for f in json.loads(out.stdout)["findings"]}
    assert {"CAP002", "CAP004"} <= rules
    assert "CAP001" not in rules


def test_colour_when_forced():
    out = run("examples/", "--color")
    assert "\x1b[" in out.stdout
