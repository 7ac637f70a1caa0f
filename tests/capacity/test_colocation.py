"""CAP005: every replica of a workload on one node in the simulated placement."""

from __future__ import annotations

from capacity_helpers import deployment, node, report

from premortem.analyses.capacity.colocation import colocated
from premortem.analyses.capacity.rules import hits
from premortem.findings import Severity

WEB = "\n      nodeSelector: {pool: web}"


def test_forced_by_a_node_selector_is_high():
    r = report(
        node("a", labels="{pool: web}"),
        node("b", labels="{pool: batch}"),
        deployment("web", 3, spec_extra=WEB),
    )
    [c] = colocated(r)
    assert (c.node.name, c.pods, c.forced, c.why_not_others) == ("a", 3, True, "node selector")
    [hit] = hits("CAP005", r)
    assert hit.severity == Severity.HIGH and "stays down until a is back" in hit.message


def test_forced_by_taints():
    r = report(
        node("a"),
        node("b", taints="[{key: dedicated, value: gpu, effect: NoSchedule}]"),
        deployment("web", 2),
    )
    [c] = colocated(r)
    assert c.forced and "untolerated taint" in c.why_not_others


def test_other_nodes_full_is_medium():
    # b has 2Gi: the 1.5Gi filler takes it, so both 1Gi web replicas can only go to a.
    r = report(
        node("a", memory="8Gi"),
        node("b", memory="2Gi"),
        deployment("filler", 1, requests="{cpu: 100m, memory: 1536Mi}"),
        deployment("web", 2, requests="{cpu: 100m, memory: 1Gi}"),
    )
    found = {c.workload.ref.name: c for c in colocated(r)}
    assert set(found) == {"web"} and not found["web"].forced
    [hit] = hits("CAP005", r)
    assert hit.severity is None  # the rule's default, medium


def test_spread_single_replica_and_daemonsets_are_not_reported():
    r = report(
        node("a"),
        node("b"),
        deployment("web", 2),
        deployment("solo", 1, spec_extra=WEB),
        deployment("agent", kind="DaemonSet"),
    )
    assert colocated(r) == []
