"""CAP005: replicas that only one node can run, for every node (CAP002 names the worst loss only)."""

from __future__ import annotations

from capacity_helpers import deployment, node, report

from premortem.analyses.capacity.colocation import colocated
from premortem.analyses.capacity.rules import hits

WEB = "\n      nodeSelector: {pool: web}"
API = "\n      nodeSelector: {pool: api}"


def test_forced_by_node_selectors_on_two_nodes():
    r = report(
        node("a", labels="{pool: web}"),
        node("b", labels="{pool: api}"),
        deployment("web", 3, spec_extra=WEB),
        deployment("api", 2, spec_extra=API),
    )
    found = {c.workload.ref.name: c for c in colocated(r)}
    assert {n: (c.node.name, c.pods, c.why_not_others) for n, c in found.items()} == {
        "web": ("a", 3, "node selector"),
        "api": ("b", 2, "node selector"),
    }
    # CAP002 names what its worst loss leaves down; CAP005 names the other one
    cap002 = " ".join(h.message for h in hits("CAP002", r))
    [hit] = hits("CAP005", r)
    named = "web" if "Deployment web" in hit.message else "api"
    assert f"Deployment {named} would have no running pod" not in cap002
    assert "stays down until" in hit.message


def test_forced_by_taints():
    r = report(
        node("a"),
        node("b", taints="[{key: dedicated, value: gpu, effect: NoSchedule}]"),
        deployment("web", 2),
    )
    [c] = colocated(r)
    assert "untolerated taint" in c.why_not_others


def test_no_room_elsewhere_counts():
    # b has 2Gi: the 1.5Gi filler pinned there leaves 0.5Gi, so both 1Gi web replicas can only go to a.
    r = report(
        node("a", memory="8Gi"),
        node("b", memory="2Gi", labels="{pool: small}"),
        deployment(
            "filler",
            1,
            requests="{cpu: 100m, memory: 1536Mi}",
            spec_extra="\n      nodeSelector: {pool: small}",
        ),
        deployment("web", 2, requests="{cpu: 100m, memory: 1Gi}"),
    )
    [c] = colocated(r)
    assert c.workload.ref.name == "web" and c.why_not_others == "no room left"


def test_sharing_a_node_while_another_has_room_is_not_reported():
    # unequal nodes: the packing puts both replicas on the larger one, the scheduler would spread them
    r = report(
        node("a", memory="16Gi"),
        node("b", memory="4Gi"),
        deployment("web", 2, requests="{cpu: 100m, memory: 1Gi}"),
    )
    assert colocated(r) == []


def test_spread_single_replica_and_daemonsets_are_not_reported():
    r = report(
        node("a"),
        node("b"),
        deployment("web", 2),
        deployment("solo", 1, spec_extra=WEB),
        deployment("agent", kind="DaemonSet"),
    )
    assert colocated(r) == []
