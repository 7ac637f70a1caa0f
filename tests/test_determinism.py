"""The same input gives the same bytes: report order depends on neither PYTHONHASHSEED (the order
of sets of strings), nor ``-j``, nor the order the rules ran in (``Finding.sort_key`` is total)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import run_cli
from premortem.findings import Finding, ObjectRef, Severity, sort_findings
from premortem.load.reader import load_text
from premortem.model.index import ObjectIndex
from render.helpers import needs_kubectl

SEEDS = ("0", "1", "2", "3", "4")


def _workload(kind: str, name: str, image: str) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "metadata": {"labels": {"app": name}},
        "spec": {"containers": [{"name": name, "image": image}]},
    }
    if kind == "Job":
        pod["spec"]["restartPolicy"] = "Never"
        return {"apiVersion": "batch/v1", "kind": kind, "metadata": {"name": name}, "spec": {"template": pod}}
    spec = {"selector": {"matchLabels": {"app": name}}, "template": pod}
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name}, "spec": spec}


# Kinds in an order that is neither alphabetical nor any set's: findings that tie on file, line,
# severity and rule must still come out in one order.
KINDS = (("StatefulSet", "db"), ("Deployment", "web"), ("DaemonSet", "agent"), ("Job", "migrate"))


def _plain_tree(root: Path) -> Path:
    """A JSON List on one line (every finding of its objects is on line 1) and a YAML file of a
    Service and a disruption budget (cluster rules) over the same workloads."""
    items = [_workload(kind, name, "shop/app") for kind, name in KINDS]
    (root / "workloads.json").write_text(
        json.dumps({"apiVersion": "v1", "kind": "List", "items": items}) + "\n"
    )
    (root / "traffic.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n"
        "  ports: [{port: 80}]\n---\n"
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: everything}\nspec:\n"
        "  maxUnavailable: 0\n  selector: {matchExpressions: [{key: app, operator: Exists}]}\n"
    )
    return root


def _outputs(target: Path, *extra: str, env: dict[str, str]) -> tuple[str, str]:
    reports = []
    for fmt in ("json", "text"):
        done = run_cli("scan", str(target), "--format", fmt, "--no-color", *extra, cwd=target, env=env)
        assert done.returncode in (0, 1), done.stderr
        reports.append(done.stdout)
    return reports[0], reports[1]


def test_plain_scan_is_byte_identical_under_every_hash_seed(tmp_path):
    tree = _plain_tree(tmp_path)
    outputs = {seed: _outputs(tree, env={"PYTHONHASHSEED": seed}) for seed in SEEDS}
    first = outputs[SEEDS[0]]
    assert all(out == first for out in outputs.values())
    # Ties on (file, line, severity, rule) are ordered by the object: kind, then name.
    findings = json.loads(first[0])["findings"]
    tied = [
        f["object"]["kind"]
        for f in findings
        if (f["line"], f["rule"], f["severity"]) == (1, "IMG001", "high")
    ]
    assert tied == ["DaemonSet", "Deployment", "StatefulSet"]


def test_parallel_parse_and_judging_give_the_same_bytes(tmp_path):
    """-j 2 on a small tree, with the size floors at 0: files parsed in workers and the objects
    judged in two processes (fork.py) give what one process gives."""
    tree = _plain_tree(tmp_path)
    serial = _outputs(tree, "-j", "1", env={"PYTHONHASHSEED": "0"})
    split = {"PREMORTEM_PARALLEL_MIN_BYTES": "0", "PREMORTEM_PARALLEL_MIN_OBJECTS": "0"}
    parallel = _outputs(tree, "-j", "2", env={"PYTHONHASHSEED": "3", **split})
    assert serial == parallel


@needs_kubectl
def test_kustomize_builds_are_byte_identical_under_every_hash_seed(tmp_path):
    """The case seen on a real repository: a base's ``images`` entry sets a floating tag on every
    workload, so each overlay's build reports IMG001 for each of them at that one line."""
    base = tmp_path / "base"
    base.mkdir()
    (base / "workloads.yaml").write_text(
        "---\n".join(json.dumps(_workload(kind, name, "shop/app:1.0")) + "\n" for kind, name in KINDS)
    )
    (base / "kustomization.yaml").write_text(
        "resources: [workloads.yaml]\nimages:\n  - name: shop/app\n    newTag: latest\n"
    )
    for overlay in ("dev", "prod"):
        directory = tmp_path / "overlays" / overlay
        directory.mkdir(parents=True)
        (directory / "kustomization.yaml").write_text(f"resources: [../../base]\nnamePrefix: {overlay}-\n")
    outputs = {seed: _outputs(tmp_path, env={"PYTHONHASHSEED": seed}) for seed in SEEDS[:3]}
    first = outputs[SEEDS[0]]
    assert all(out == first for out in outputs.values())
    at_images = [
        f["object"]["name"]
        for f in json.loads(first[0])["findings"]
        if f["rule"] == "IMG001" and f["file"].endswith("kustomization.yaml")
    ]
    # Most severe first, then by kind and name: the Job's finding is medium (it runs to completion).
    assert at_images == [
        *("dev-agent", "prod-agent", "dev-web", "prod-web", "dev-db", "prod-db"),
        *("dev-migrate", "prod-migrate"),
    ]


def test_workloads_come_in_document_order():
    text = "---\n".join(json.dumps(_workload(kind, name, "shop/app:1.0")) + "\n" for kind, name in KINDS)
    index = ObjectIndex.build(load_text(text, "w.yaml").documents)
    assert [doc.ref.name for doc in index.workloads()] == [name for _, name in KINDS]


_texts = st.sampled_from(["", "a", "b"])
_maybe = st.one_of(st.none(), _texts)  # JSON tells null from "": so must the order
_findings = st.builds(
    Finding,
    rule=st.sampled_from(["IMG001", "RES001"]),
    category=st.just("images"),
    severity=st.sampled_from([Severity.HIGH, Severity.LOW]),
    message=_texts,
    fix=_texts,
    object=st.one_of(st.none(), st.builds(ObjectRef, _maybe, _maybe, _maybe, _maybe)),
    container=_maybe,
    file=st.sampled_from([None, "", "a.yaml"]),
    line=st.sampled_from([None, 0, 1]),
    path=_texts,
)


@settings(max_examples=300, deadline=None)
@given(findings=st.lists(_findings, max_size=12), seed=st.integers(0, 2**16))
def test_sort_key_orders_findings_whatever_order_they_come_in(findings, seed):
    """Law: sorting by ``sort_key`` gives one order for every arrangement of the same findings."""
    shuffled = list(findings)
    random.Random(seed).shuffle(shuffled)
    as_json = [f.to_json() for f in sorted(findings, key=Finding.sort_key)]
    assert [f.to_json() for f in sorted(shuffled, key=Finding.sort_key)] == as_json


@settings(max_examples=300, deadline=None)
@given(findings=st.lists(_findings, max_size=30), seed=st.integers(0, 2**16))
def test_sort_findings_is_sorting_by_sort_key(findings, seed):
    """Law: the two-stage sort (place, severity, rule; the whole key among ties) is ``sort_key``'s."""
    shuffled = list(findings)
    random.Random(seed).shuffle(shuffled)
    expected = sorted(shuffled, key=Finding.sort_key)
    sort_findings(shuffled)
    assert [id(f) for f in shuffled] == [id(f) for f in expected]


@pytest.mark.parametrize("fmt", ["sarif", "junit", "github", "markdown"])
def test_every_report_format_is_byte_identical_across_seeds(tmp_path, fmt):
    tree = _plain_tree(tmp_path)
    runs = {
        run_cli("scan", str(tree), "--format", fmt, cwd=tree, env={"PYTHONHASHSEED": seed}).stdout
        for seed in SEEDS[:3]
    }
    assert len(runs) == 1 and next(iter(runs))
