"""Judging in two processes (premortem/fork.py): the same result as one, whatever the child does."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import run_cli
from premortem.engine import scan
from premortem.findings import Severity
from premortem.fork import in_two_processes, worth_splitting
from premortem.load.reader import load_paths
from premortem.rules.registry import ClusterContext, Hit, Rule
from premortem.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


class _Object:
    def __init__(self, name: str) -> None:
        self.name = name


def test_every_item_comes_back_in_order_and_shared_objects_keep_their_identity():
    shared = [_Object(str(i)) for i in range(40)]

    def do(item: int) -> tuple[int, int, _Object]:
        time.sleep(0.002)  # long enough that both processes take items
        return item, os.getpid(), shared[item]

    done = in_two_processes(40, do, shared)
    assert [item for item, _, _ in done] == list(range(40))
    assert all(value is shared[item] for item, _, value in done)  # a reference, not a copy
    assert {pid for _, pid, _ in done} - {os.getpid()}  # the child did some of them


def test_a_result_that_cannot_be_pickled_is_made_again_here():
    done = in_two_processes(20, lambda item: (item, lambda: item), [])
    assert [made() for _, made in done] == list(range(20))


def test_a_child_that_dies_leaves_its_items_to_the_parent():
    parent = os.getpid()

    def do(item: int) -> tuple[int, int]:
        if os.getpid() != parent:
            os._exit(9)  # killed, out of memory...
        time.sleep(0.002)
        return item, os.getpid()

    assert in_two_processes(10, do, []) == [(item, parent) for item in range(10)]


def test_an_item_that_raises_raises_here_too():
    def do(item: int) -> int:
        if item == 3:
            raise ValueError("item three")
        return item

    with pytest.raises(ValueError, match="item three"):
        in_two_processes(6, do, [])


def test_splitting_needs_two_jobs_and_enough_objects(monkeypatch):
    monkeypatch.delenv("PREMORTEM_PARALLEL_MIN_OBJECTS", raising=False)
    assert not worth_splitting(100, 2)
    assert not worth_splitting(1_000_000, 1)
    assert worth_splitting(1_000_000, 2)
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
    assert worth_splitting(1, 2) and not worth_splitting(1, 1)


def test_a_split_scan_equals_one_process(monkeypatch):
    inputs = [str(ROOT / "examples"), str(ROOT / "tests" / "postmortems")]
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
    split = scan(load_paths(inputs), settings=Settings(jobs=2)).to_json()
    alone = scan(load_paths(inputs), settings=Settings(jobs=1)).to_json()
    assert len(alone["findings"]) > 30
    assert split == alone


def test_cli_output_is_the_same_byte_for_byte(tmp_path):
    for name in ("examples", "tests/postmortems"):
        shutil.copytree(ROOT / name, tmp_path / name.replace("/", "-"))
    outputs = []
    for jobs, least in (("1", "1000000"), ("2", "0")):
        env = {**os.environ, "PREMORTEM_PARALLEL_MIN_OBJECTS": least}
        done = run_cli("scan", "-j", jobs, str(tmp_path), "--format", "json", env=env)
        assert done.returncode in (0, 1), done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]


def test_items_below_parent_only_are_done_here():
    def do(item: int) -> tuple[int, int]:
        time.sleep(0.002)
        return item, os.getpid()

    done = in_two_processes(30, do, [], parent_only=5)
    assert [item for item, _ in done] == list(range(30))
    assert all(pid == os.getpid() for _, pid in done[:5])


def _per_workload_rule(fail_on: str | None) -> Rule:
    """A per-workload cluster rule reporting each workload with its place among all of them; it
    raises on the workload named ``fail_on``."""

    def check(context: ClusterContext) -> Iterator[Hit]:
        every = list(context.index.workloads())
        for doc in context.workloads():
            if doc.ref.name == fail_on:
                raise RuntimeError("a malformed workload")
            yield Hit(message=f"workload {every.index(doc)} of {len(every)}", fix="none", doc=doc)

    return Rule(
        "TST900", "test-per-workload", "workloads", Severity.LOW, "t", "", check, "cluster", per_workload=True
    )


@pytest.mark.parametrize("fail_on", [None, "app-000007"])
def test_a_per_workload_rule_in_slices_equals_one_pass(monkeypatch, tmp_path, fail_on):
    """Slices of a per-workload cluster rule, shared by two processes, give what one pass gives; a
    slice that raises makes the rule be judged again whole, with the same fault isolation."""
    for number in range(40):
        (tmp_path / f"app-{number:06d}.yaml").write_text(
            f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app-{number:06d}}}\n"
            "spec:\n  template:\n    spec:\n      containers: [{name: c, image: 'nginx:1.25'}]\n"
        )
    monkeypatch.delenv("PREMORTEM_STRICT", raising=False)  # a failing rule is a finding here
    loaded = load_paths([str(tmp_path)])
    rule = _per_workload_rule(fail_on)
    alone = scan(loaded, rules=[rule], settings=Settings(jobs=1))
    monkeypatch.setenv("PREMORTEM_PARALLEL_MIN_OBJECTS", "0")
    split = scan(load_paths([str(tmp_path)]), rules=[rule], settings=Settings(jobs=2))
    assert [f.to_json() for f in split.findings] == [f.to_json() for f in alone.findings]
    messages = [f.message for f in alone.findings if f.rule == "TST900"]
    assert len(messages) == (40 if fail_on is None else 39)
    if fail_on is not None:
        assert [f.rule for f in alone.findings].count("INP005") == 1  # named, the others judged


def test_per_workload_rules_read_only_the_lookups_they_declare(tmp_path):
    """What a per-workload rule looks up in the index is built once before the fork (``Rule.lookups``):
    a look-up a rule built for itself would be built again in the child, in the child's memory."""
    from premortem.engine import _build_lookups, _work
    from premortem.rules import all_rules

    (tmp_path / "app.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 3\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
        "    spec:\n      containers:\n      - name: web\n        image: nginx\n"
        "        ports: [{containerPort: 80}]\n        resources: {requests: {memory: 1Gi}, limits: {memory: 2Gi, cpu: 100m}}\n"
        "---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}, ports: [{port: 80}]}\n"
        "---\napiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: web}\n"
        "spec: {scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}, minReplicas: 2, maxReplicas: 5}\n"
    )
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [app.yaml]\nimages: [{name: nginx, newTag: '1.25'}]\n"
    )
    work = _work(all_rules(), load_paths([str(tmp_path)]).documents, None)
    assert work.context is not None and work.sliced
    _build_lookups(work)
    index = work.context.index
    built = {key for key, value in vars(index).items() if value is not None}
    hits = 0
    for number in work.sliced:
        context = ClusterContext(index, {}, part=(0, 1))
        hits += len(list(work.cluster_rules[number].check(context)))
    assert hits  # the rules did judge the workload
    assert {key for key, value in vars(index).items() if value is not None} == built


def test_a_finding_pickles_as_it_is():
    """Findings cross from the judging child as their fields (Finding.__reduce__): the same finding,
    with a Severity, an ObjectRef and extra data, equal in every field."""
    import pickle

    from premortem.findings import Finding, ObjectRef

    finding = Finding(
        "RES001", "resources", Severity.HIGH, "no memory limit", "set one",
        ObjectRef("apps/v1", "Deployment", None, "web"), "app", "a.yaml", 7, "/spec", {"n": [1, 2]},
    )  # fmt: skip
    again = pickle.loads(pickle.dumps(finding, protocol=pickle.HIGHEST_PROTOCOL))
    assert again == finding and again is not finding
    assert type(again.severity) is Severity and again.severity is Severity.HIGH
    assert type(again.object) is ObjectRef and again.object == finding.object
    assert again.to_json() == finding.to_json()
